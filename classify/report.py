"""Rendering evaluation reports: terminal text, Markdown, self-contained HTML and JSON."""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .evaluate import EvalReport

HOW_TO_READ = (
    "Precision: of the sentences the model gave a label, the share that truly carry it. "
    "Recall: of the sentences that carry a label, the share the model found. F1 is their "
    "harmonic mean; support is how many gold sentences carry the label. Micro-F1 pools every "
    "decision (dominated by frequent labels); macro-F1 averages the labels equally (a rare "
    "label counts as much as a common one). The confusion matrix has gold stance classes as "
    "rows and predicted classes as columns. Worst errors are the mistakes the model was most "
    "confident about: read them to find labelling slips or missing training examples."
)


def _f(x: float) -> str:
    return f"{x:.3f}"


def _tables(rep: EvalReport) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) for each table of the report."""
    out = []
    if rep.topics:
        rows = [[lab, _f(m["precision"]), _f(m["recall"]), _f(m["f1"]), str(m["support"])]
                for lab, m in rep.topics["labels"].items()]
        rows.append(["**micro**", _f(rep.topics["micro"]["precision"]),
                     _f(rep.topics["micro"]["recall"]), _f(rep.topics["micro"]["f1"]), ""])
        rows.append(["**macro**", _f(rep.topics["macro"]["precision"]),
                     _f(rep.topics["macro"]["recall"]), _f(rep.topics["macro"]["f1"]), ""])
        out.append((f"Topics ({rep.topics['n']} records)",
                    ["topic", "precision", "recall", "F1", "support"], rows))
    if rep.stance:
        rows = [[lab, _f(m["precision"]), _f(m["recall"]), _f(m["f1"]), str(m["support"])]
                for lab, m in rep.stance["labels"].items()]
        rows.append(["**macro**", "", "", _f(rep.stance["macro_f1"]), ""])
        rows.append(["accuracy", "", "", _f(rep.stance["accuracy"]), ""])
        out.append((f"Stance ({rep.stance['n']} records)",
                    ["stance", "precision", "recall", "F1", "support"], rows))
        cm = rep.stance["confusion"]
        out.append(("Stance confusion matrix (rows gold, columns predicted)",
                    ["gold \\ predicted", *cm["labels"]],
                    [[g, *map(str, row)] for g, row in zip(cm["labels"], cm["matrix"],
                                                          strict=True)]))
    if rep.errors:
        out.append(("Worst errors (most confident mistakes)",
                    ["sentence", "gold topics", "predicted topics", "gold stance",
                     "predicted stance", "score"],
                    [[e["text"], ", ".join(e["gold_topics"]) or "-",
                      ", ".join(e["pred_topics"]) or "-", e["gold_stance"] or "-",
                      e["pred_stance"] or "-", _f(e["severity"])] for e in rep.errors]))
    return out


def summary_lines(rep: EvalReport) -> list[str]:
    lines = []
    if rep.topics:
        lines.append(f"topics: micro-F1 {_f(rep.topics['micro']['f1'])}  macro-F1 "
                     f"{_f(rep.topics['macro']['f1'])}  ({rep.topics['n']} records)")
    if rep.stance:
        lines.append(f"stance: macro-F1 {_f(rep.stance['macro_f1'])}  accuracy "
                     f"{_f(rep.stance['accuracy'])}  ({rep.stance['n']} records)")
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
        "td.num{text-align:right;font-variant-numeric:tabular-nums}code{font-size:.85em}")


def to_html(rep: EvalReport) -> str:
    esc = html.escape
    parts = ["<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
             "<title>classify evaluation report</title>", f"<style>{_CSS}</style></head><body>",
             "<h1>classify evaluation report</h1>",
             f"<p><b>Mode:</b> {esc(rep.mode)}. {esc(rep.description)}</p>",
             "<p><b>Summary:</b> " + "<br>".join(map(esc, summary_lines(rep))) + "</p>",
             f"<p><b>Settings:</b> <code>{esc(json.dumps(rep.settings, ensure_ascii=False))}"
             "</code></p>", "<h2>How to read this report</h2>", f"<p>{esc(HOW_TO_READ)}</p>"]
    for title, header, rows in _tables(rep):
        parts.append(f"<h2>{esc(title)}</h2><table><thead><tr>"
                     + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr></thead><tbody>")
        for row in rows:
            cells = []
            for c in row:
                bold = c.startswith("**")
                text = esc(c.replace("**", ""))
                cls = " class='num'" if c.replace(".", "", 1).isdigit() else ""
                cells.append(f"<td{cls}>{'<b>' + text + '</b>' if bold else text}</td>")
            parts.append("<tr>" + "".join(cells) + "</tr>")
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def to_json(rep: EvalReport) -> str:
    return json.dumps(rep.to_dict(), indent=2, ensure_ascii=False) + "\n"


def render(rep: EvalReport, fmt: str) -> str:
    return {"text": to_text, "md": to_markdown, "html": to_html, "json": to_json}[fmt](rep)
