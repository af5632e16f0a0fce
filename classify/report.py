"""Rendering evaluation reports: terminal text, Markdown, self-contained HTML and JSON."""

from __future__ import annotations

import html
import json
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .evaluate import EvalReport

HOW_TO_READ = (
    "Precision: of the sentences the model gave a label, the share that truly carry it. "
    "Recall: of the sentences that carry a label, the share the model found. F1 is their "
    "harmonic mean; support is how many gold sentences carry the label. Micro-F1 pools every "
    "decision (dominated by frequent labels); macro-F1 averages the labels equally (a rare "
    "label counts as much as a common one). [low, high] after a score is its 95% bootstrap "
    "interval: the sources (articles) were resampled with replacement 1,000 times and the "
    "score recomputed on the same predictions, so it shows how far the score could move on "
    "another sample of articles like these (a wide interval: too few sources to tell). The "
    "confusion matrix has gold stance classes as rows and predicted classes as columns. The "
    "reliability table bins the scores: a score of 0.7 should come true about 70% of the "
    "time (ECE: the mean gap, weighted by the bins' counts; a linear SVM's scores rank but "
    "are not calibrated). The learning curve (--learning-curve) repeats the cross-validation "
    "with the training folds cut to a share of their sources: if it still climbs at 100%, "
    "labelling more will pay. Worst errors are the mistakes the model was most confident "
    "about: read them to find labelling slips or missing training examples."
)


def _f(x: float) -> str:
    return f"{x:.3f}"


def _fi(x: float, ci: list[float] | None) -> str:
    """A score with its interval: "0.912 [0.884, 0.936]"."""
    return f"{x:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else _f(x)


def _tables(rep: EvalReport) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) for each table of the report."""
    out = []
    if rep.topics:
        tp = rep.topics
        rows = [[lab, _f(m["precision"]), _f(m["recall"]), _fi(m["f1"], m.get("f1_ci")),
                 str(m["support"])] for lab, m in tp["labels"].items()]
        for avg in ("micro", "macro"):
            m = tp[avg]
            rows.append([f"**{avg}**", _f(m["precision"]), _f(m["recall"]),
                         _fi(m["f1"], m.get("f1_ci")), ""])
        out.append((f"Topics ({tp['n']} records{_sources(tp)})",
                    ["topic", "precision", "recall", "F1 [95% interval]", "support"], rows))
    if rep.stance:
        st = rep.stance
        rows = [[lab, _f(m["precision"]), _f(m["recall"]), _fi(m["f1"], m.get("f1_ci")),
                 str(m["support"])] for lab, m in st["labels"].items()]
        rows.append(["**macro**", "", "", _fi(st["macro_f1"], st.get("macro_f1_ci")), ""])
        rows.append(["accuracy", "", "", _fi(st["accuracy"], st.get("accuracy_ci")), ""])
        out.append((f"Stance ({st['n']} records{_sources(st)})",
                    ["stance", "precision", "recall", "F1 [95% interval]", "support"], rows))
        cm = rep.stance["confusion"]
        out.append(("Stance confusion matrix (rows gold, columns predicted)",
                    ["gold \\ predicted", *cm["labels"]],
                    [[g, *map(str, row)] for g, row in zip(cm["labels"], cm["matrix"],
                                                          strict=True)]))
    if rep.learning_curve:
        out.append(_curve_table(rep.learning_curve))
    rel = _reliability_table(rep)
    if rel:
        out.append(rel)
    if rep.errors:
        out.append(("Worst errors (most confident mistakes)",
                    ["sentence", "gold topics", "predicted topics", "gold stance",
                     "predicted stance", "score"],
                    [[e["text"], ", ".join(e["gold_topics"]) or "-",
                      ", ".join(e["pred_topics"]) or "-", e["gold_stance"] or "-",
                      e["pred_stance"] or "-", _f(e["severity"])] for e in rep.errors]))
    return out


def _sources(m: dict) -> str:
    return f", {m['sources']} sources" if "sources" in m else ""


def _rough(m: dict) -> str:
    return "; intervals rough: few sources" if m.get("interval_note") else ""


LEARNING_TITLE = "Learning curve (cross-validation with a share of the training sources)"
RELIABILITY_TITLE = "Reliability (score bins: mean score and how often the label was true)"


def _curve_table(curve: dict) -> tuple[str, list[str], list[list[str]]]:
    rows = []
    for p in curve["points"]:
        row = [f"{p['fraction']:.0%}", f"{p['train_sources']:g}", f"{p['train_records']:g}"]
        if "error" in p:
            rows.append([*row, f"not trained: {p['error']}", "", ""])
            continue
        t, s = p.get("topics"), p.get("stance")
        rows.append([*row, _fi(t["micro_f1"], t["micro_f1_ci"]) if t else "-",
                     _fi(t["macro_f1"], t["macro_f1_ci"]) if t else "-",
                     _fi(s["macro_f1"], s["macro_f1_ci"]) if s else "-"])
    return (LEARNING_TITLE, ["share", "training sources", "training records",
                             "topics micro-F1", "topics macro-F1", "stance macro-F1"], rows)


def _reliability_table(rep: EvalReport) -> tuple[str, list[str], list[list[str]]] | None:
    curves = [(name, m["reliability"]) for name, m in (("topics", rep.topics),
                                                          ("stance", rep.stance))
              if m and m.get("reliability")]
    if not curves:
        return None
    header = ["score bin"]
    for name, c in curves:
        ece = f", ECE {c['ece']:.3f}" if c["ece"] is not None else ""
        header += [f"{name}: pairs{ece}", f"{name}: mean score", f"{name}: observed"]
    rows = []
    for b in range(len(curves[0][1]["bins"])):
        first = curves[0][1]["bins"][b]
        row = [f"{first['lo']:.1f}-{first['hi']:.1f}"]
        for _, c in curves:
            x = c["bins"][b]
            row += [str(x["count"]), "-" if x["mean_score"] is None else _f(x["mean_score"]),
                    "-" if x["observed"] is None else _f(x["observed"])]
        rows.append(row)
    return RELIABILITY_TITLE, header, rows


def summary_lines(rep: EvalReport) -> list[str]:
    lines = []
    if rep.topics:
        tp = rep.topics
        lines.append(f"topics: micro-F1 {_fi(tp['micro']['f1'], tp['micro'].get('f1_ci'))}  "
                     f"macro-F1 {_fi(tp['macro']['f1'], tp['macro'].get('f1_ci'))}  "
                     f"({tp['n']} records{_sources(tp)}){_rough(tp)}")
    if rep.stance:
        st = rep.stance
        lines.append(f"stance: macro-F1 {_fi(st['macro_f1'], st.get('macro_f1_ci'))}  "
                     f"accuracy {_fi(st['accuracy'], st.get('accuracy_ci'))}  "
                     f"({st['n']} records{_sources(st)}){_rough(st)}")
    if rep.learning_curve:
        pts = [p for p in rep.learning_curve["points"] if "error" not in p]
        for part in ("topics", "stance"):
            seq = [f"{p['fraction']:.0%} {p[part]['macro_f1']:.3f}" for p in pts if part in p]
            if seq:
                lines.append(f"learning curve, {part} macro-F1 by share of the training "
                             f"sources: {', '.join(seq)}")
    return lines


def to_text(rep: EvalReport) -> str:
    lines = [f"{rep.mode}: {rep.description}", ""]
    for title, header, rows in _tables(rep):
        if title.startswith("Worst"):
            rows = [[r[0][:70], *r[1:]] for r in rows[:8]]
        widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
        lines.append(title)
        for row in [header, *rows]:
            lines.append("  " + "  ".join(str(c).replace("**", "").ljust(w)
                                          for c, w in zip(row, widths, strict=True)))
        lines.append("")
    return "\n".join(lines + summary_lines(rep)) + "\n"


def _md_cell(s: str) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def to_markdown(rep: EvalReport) -> str:
    lines = ["# classify evaluation report", "", f"**Mode:** {rep.mode}. {rep.description}",
             "", "**Summary:** " + "; ".join(summary_lines(rep)), "",
             f"**Settings:** `{json.dumps(rep.settings, ensure_ascii=False)}`", "",
             "## How to read this report", "", HOW_TO_READ, ""]
    for title, header, rows in _tables(rep):
        lines += [f"## {title}", "", "| " + " | ".join(header) + " |",
                  "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
        lines.append("")
    return "\n".join(lines)


_CSS = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;"
        "color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
        "padding:.3em .6em;text-align:left;vertical-align:top}th{background:#f3f3f3}"
        "td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
        "code{font-size:.85em}figure{margin:1em 0}.hint{color:#555;font-style:italic}")
_NUMERIC = re.compile(r"[0-9.]+( \[[0-9.]+, [0-9.]+\])?")


def _charts(rep: EvalReport) -> dict[str, str]:
    """Table title -> the chart drawn above that table (inline SVG); empty without
    matplotlib."""
    from . import charts

    if not charts.available():
        return {}
    out = {}
    if rep.learning_curve:
        out[LEARNING_TITLE] = charts.learning_curve(rep.learning_curve)
    if rep.stance:
        out["Stance confusion matrix (rows gold, columns predicted)"] = charts.confusion(
            rep.stance["confusion"])
    curves = [(name, m["reliability"]) for name, m in (("topics", rep.topics),
                                                          ("stance", rep.stance))
              if m and m.get("reliability") and m["reliability"]["n"]]
    if curves:
        out[RELIABILITY_TITLE] = charts.reliability(curves)
    return out


def to_html(rep: EvalReport) -> str:
    from .charts import HINT, available

    esc = html.escape
    drawn = _charts(rep)
    parts = ["<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
             "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
             "style-src 'unsafe-inline'; img-src data:\">",
             "<title>classify evaluation report</title>", f"<style>{_CSS}</style></head><body>",
             "<h1>classify evaluation report</h1>",
             f"<p><b>Mode:</b> {esc(rep.mode)}. {esc(rep.description)}</p>",
             "<p><b>Summary:</b> " + "<br>".join(map(esc, summary_lines(rep))) + "</p>",
             f"<p><b>Settings:</b> <code>{esc(json.dumps(rep.settings, ensure_ascii=False))}"
             "</code></p>", "<h2>How to read this report</h2>", f"<p>{esc(HOW_TO_READ)}</p>"]
    if not available():
        parts.append(f"<p class='hint'>No charts: {esc(HINT, quote=False)}.</p>")
    for title, header, rows in _tables(rep):
        parts.append(f"<h2>{esc(title)}</h2>")
        if title in drawn:
            parts.append(f"<figure>{drawn[title]}</figure>")
        parts.append("<table><thead><tr>"
                     + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr></thead><tbody>")
        for row in rows:
            cells = []
            for c in row:
                bold = c.startswith("**")
                text = esc(c.replace("**", ""))
                cls = " class='num'" if _NUMERIC.fullmatch(c) else ""
                cells.append(f"<td{cls}>{'<b>' + text + '</b>' if bold else text}</td>")
            parts.append("<tr>" + "".join(cells) + "</tr>")
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def to_json(rep: EvalReport) -> str:
    return json.dumps(rep.to_dict(), indent=2, ensure_ascii=False) + "\n"


def render(rep: EvalReport, fmt: str) -> str:
    return {"text": to_text, "md": to_markdown, "html": to_html, "json": to_json}[fmt](rep)
