"""Writing tagging results as text, JSON, JSONL or CSV, streaming; or as one annotated HTML
page (``html.Page``), written at the end."""

from __future__ import annotations

import csv
import json
import re
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import TextIO

import numpy as np

from .tagging import ArticleTags, Chunk, Scores, Tagger, Tags

FORMATS = ("text", "json", "jsonl", "csv", "html")


def _dumps(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


_KEYS: dict[str, str] = {}


def _key(name: str) -> str:
    """JSON string literal for a label name, cached (label sets are small)."""
    lit = _KEYS.get(name)
    if lit is None:
        lit = _KEYS[name] = encode_basestring(name)
    return lit


_FRAGMENTS: dict[tuple[tuple[str, ...], tuple[str, ...]], list[str]] = {}
_NUMBERS: np.ndarray | None = None


def _numbers() -> np.ndarray:
    """repr of every score rounded to 4 decimals, "0.0" ... "1.0", indexed by score x 10^4."""
    global _NUMBERS
    if _NUMBERS is None:
        _NUMBERS = np.array([repr(i / 10_000) for i in range(10_001)], dtype=object)
    return _NUMBERS


def _record_fragments(topic_labels: list[str], stance_labels: list[str]) -> list[str]:
    """The constant pieces of a JSONL record of this label set, between its values (cached)."""
    key = (tuple(topic_labels), tuple(stance_labels))
    frags = _FRAGMENTS.get(key)
    if frags is None:
        frags = ['{"id":', ',"topics":[', '],"topic_scores":{']
        for i, lab in enumerate(topic_labels):
            frags[-1] += ("," if i else "") + _key(lab) + ":"
            frags.append("")
        frags[-1] += '},"stance":'
        frags.append(',"stance_scores":{')
        for i, lab in enumerate(stance_labels):
            frags[-1] += ("," if i else "") + _key(lab) + ":"
            frags.append("")
        frags[-1] += "}}\n"
        _FRAGMENTS[key] = frags
    return frags


def _topic_lists(scores: Scores) -> np.ndarray:
    """The inside of each row's JSON list of chosen topics (highest score first)."""
    n = len(scores.P)
    out = np.full(n, "", dtype=object)
    if not n or not scores.D.shape[1]:
        return out
    lits = np.array([_key(x) for x in scores.topic_labels], dtype=object)
    counts = scores.D.sum(axis=1)
    one = counts == 1
    out[one] = lits[np.argmax(scores.D[one], axis=1)]
    many = np.flatnonzero(counts > 1)
    if len(many):
        sub = Scores(scores.topic_labels, [], scores.P[many], scores.D[many], scores.S[:0])
        out[many] = [",".join(lits[row].tolist()) for row in sub.chosen()]
    return out


def jsonl_block(chunk: Chunk, scores: Scores, why: list[dict] | None = None) -> str:
    """The JSONL lines of a chunk of records, rendered straight from its score arrays: the
    one serialiser of batch records (``--format jsonl`` writes these lines, ``--format json``
    the same lines as an array).

    Equal, line for line, to ``json.dumps`` of each record's ``Tags.record()`` (the same
    contract as a dict, for the Python API): scores are rounded to 4 decimals the same way
    (``np.round``) and written as Python's shortest repr, which is what ``json.dumps``
    writes. The values and the constant pieces between them are laid out in one object array
    and joined once. ``why`` (one dict per valid record) adds the explanations. Invalid
    records get their ``error`` line.
    """
    tl, sl = scores.topic_labels, scores.stance_labels
    n, L = len(scores.P), len(tl)
    frags = _record_fragments(tl, sl)
    cells = np.empty((n, 2 * len(frags) - 1), dtype=object)
    cells[:, 0::2] = frags
    cells[:, 1] = ["null" if i is None else encode_basestring(i) for i in chunk.ids]
    cells[:, 3] = _topic_lists(scores)
    nums = _numbers()
    cells[:, 5:5 + 2 * L:2] = nums[np.rint(scores.P * 10_000).astype(np.intp)]
    if sl:
        cells[:, 5 + 2 * L] = np.array([_key(x) for x in sl], dtype=object)[
            np.argmax(scores.S, axis=1)]
    else:
        cells[:, 5 + 2 * L] = "null"
    cells[:, 7 + 2 * L::2] = nums[np.rint(scores.S * 10_000).astype(np.intp)]
    if why is not None:
        cells[:, -1] = ['},"why":' + _dumps(w) + "}\n" for w in why]
    if not chunk.invalid:
        return "".join(cells.ravel().tolist())
    lines = ["".join(row) for row in cells.tolist()]
    for pos, it in chunk.invalid:  # positions ascend, so earlier inserts stay in place
        lines.insert(pos, _dumps(Tags.invalid(it).record()) + "\n")
    return "".join(lines)


def sentence_dict(article: str, index: int, t: Tags, explain: bool) -> dict:
    d = {"type": "sentence", "article": article, "index": index, "start": t.start,
         "end": t.end, "text": t.text, "topics": t.topics, "topic_scores": t.topic_scores,
         "stance": t.stance, "stance_scores": t.stance_scores}
    if explain:
        d["why"] = t.why
    return d


def article_dict(a: ArticleTags) -> dict:
    return {"type": "article", "article": a.name, "sentences": len(a.sentences),
            "topics": a.topics, "topic_support": a.topic_support, "stance": a.stance,
            "stance_scores": a.stance_scores, "rule": a.rule}


class Writer:
    """Streams results to ``out`` in one of ``FORMATS``."""

    def __init__(self, out: TextIO, fmt: str, topic_labels: list[str],
                 stance_labels: list[str], explain: bool = False,
                 tagger: Tagger | None = None) -> None:
        self.out, self.fmt, self.explain = out, fmt, explain
        self.topic_labels, self.stance_labels = topic_labels, stance_labels
        self.count = 0
        self.csv: csv.writer | None = None  # type: ignore[valid-type]
        self.page = None
        if fmt == "html":  # the page needs the model for its word contributions
            from .html import Page

            if tagger is None:
                raise ValueError("the html format needs the tagger")
            self.page = Page(tagger)

    def begin(self) -> None:
        if self.fmt == "json":
            self.out.write("[")
        elif self.fmt == "csv":
            self.csv = csv.writer(self.out, lineterminator="\n")
            self.csv.writerow(["input", "unit", "index", "id", "start", "end", "text", "topics",
                               "stance", *(f"p_{t}" for t in self.topic_labels),
                               *(f"p_stance_{s}" for s in self.stance_labels), "error"])

    def _json_item(self, obj: dict) -> None:
        self.out.write(("\n" if self.count == 0 else ",\n") + _dumps(obj))
        self.count += 1

    def _csv_row(self, name: str, unit: str, index: int | str, t: Tags | ArticleTags) -> None:
        assert self.csv is not None
        ident = getattr(t, "id", None)
        start = getattr(t, "start", None)
        end = getattr(t, "end", None)
        text = t.text if isinstance(t, Tags) else ""
        ts = (t.topic_scores or {}) if isinstance(t, Tags) else {
            k: v["max_score"] for k, v in t.topic_support.items()}
        self.csv.writerow([name, unit, index, ident if ident is not None else "",
                           "" if start is None else start, "" if end is None else end, text,
                           ";".join(t.topics or ()), t.stance or "",
                           *(ts.get(k, "") for k in self.topic_labels),
                           *((t.stance_scores or {}).get(k, "") for k in self.stance_labels),
                           getattr(t, "error", None) or ""])

    def article(self, a: ArticleTags, text: str | None = None) -> None:
        """One tagged article (``text``: its source, which keeps line breaks in html)."""
        if self.page is not None:
            self.page.add_article(a, text)
        elif self.fmt == "jsonl":
            for i, t in enumerate(a.sentences, 1):
                self.out.write(_dumps(sentence_dict(a.name, i, t, self.explain)) + "\n")
            self.out.write(_dumps(article_dict(a)) + "\n")
        elif self.fmt == "json":
            d = article_dict(a)
            d["sentence_tags"] = [sentence_dict(a.name, i, t, self.explain)
                                  for i, t in enumerate(a.sentences, 1)]
            self._json_item(d)
        elif self.fmt == "csv":
            for i, t in enumerate(a.sentences, 1):
                self._csv_row(a.name, "sentence", i, t)
            self._csv_row(a.name, "article", "", a)
        else:
            self.out.write(render_article_text(a, self.topic_labels) + "\n")

    @property
    def renderer(self):  # noqa: ANN201 - a module-level function, picklable for workers
        """The function (chunk, scores, why) -> JSONL lines that renders whole batches of
        records for the JSON formats, or None (CSV and text go record by record)."""
        return jsonl_block if self.fmt in ("jsonl", "json") else None

    def records(self, block: str) -> None:
        """Write a rendered block of JSONL record lines (see ``renderer``)."""
        if self.fmt == "jsonl":
            self.out.write(block)
            return
        for line in block.splitlines():
            self.out.write(("\n" if self.count == 0 else ",\n") + line)
            self.count += 1

    def record(self, name: str, index: int, t: Tags) -> None:
        """One batch record, for the formats without a ``renderer`` (CSV, text, html)."""
        if self.fmt == "csv":
            self._csv_row(name, "record", index, t)
        elif self.page is not None:
            self.page.add_record(name, index, t)
        else:
            label = one_line(t.id if t.id is not None else f"{name}#{index}")
            if t.error:
                self.out.write(f"{label}\tERROR {one_line(t.error)}\n")
            else:
                self.out.write(f"{label}\t{_tag_summary(t)}\t{_snippet(t.text, 80)}\n")

    def end(self) -> None:
        if self.page is not None:
            self.out.write(self.page.render())
        elif self.fmt == "json":
            self.out.write("\n]\n" if self.count else "]\n")
        self.out.flush()


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def visible(text: str) -> str:
    """``text`` safe to print on a terminal: control characters (ESC, which starts the
    sequences that clear a screen or retitle a window, NUL, bell, backspace, C1 codes) are
    shown escaped (``\\x1b``); tabs and line breaks are kept."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def one_line(text: str) -> str:
    """``visible``, with tabs and line breaks escaped too: a field of a one-line-per-record
    output (an id, a file name), which an id of "2\\n3" would otherwise split in two."""
    return (visible(text).replace("\t", "\\t").replace("\n", "\\n")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))  # line separators


def _snippet(text: str, n: int) -> str:
    text = visible(" ".join(text.split()))
    return text if len(text) <= n else text[: n - 1] + "…"


def _tag_summary(t: Tags) -> str:
    topics = ", ".join(f"{lab} {t.topic_scores[lab]:.2f}" for lab in t.topics) or "no topic"
    stance = f" | {t.stance} {t.stance_scores[t.stance]:.2f}" if t.stance else ""
    return f"[{topics}{stance}]"


def render_article_text(a: ArticleTags, topic_labels: list[str]) -> str:
    n = len(a.sentences)
    lines = [f"== {one_line(a.name)} ({n} sentence{'s' if n != 1 else ''})"]
    if topic_labels:
        tops = ", ".join(f"{lab} ({int(a.topic_support[lab]['sentences'])} sentences)"
                         for lab in a.topics) or "none"
        lines.append(f"article topics: {tops}")
    if a.stance:
        scores = ", ".join(f"{k} {v:.2f}" for k, v in a.stance_scores.items())
        lines.append(f"article stance: {a.stance} ({scores})")
    lines.append(f"rule: {a.rule}")
    lines.append("")
    for i, t in enumerate(a.sentences, 1):
        lines.append(f"{i:3d}. {_tag_summary(t)} {_snippet(t.text, 110)}")
        reasons = "; ".join(f"{lab} <- {', '.join(ws)}" for lab, ws in t.why.items() if ws)
        if reasons:
            lines.append(f"       why: {reasons}")
    return "\n".join(lines) + "\n"
