"""Label audit: the records of labelled data most likely to carry a wrong topic or stance.

Method (confident learning, Northcutt et al. 2021, in a few lines of our own):
1. Out-of-fold scores for every record by the grouped cross-validation of ``evaluate`` (each
   source stays in one fold; each fold trains a complete model on the others), so no record
   is scored by a model that saw it.
2. The topic scores (an SVM's are not probabilities) are calibrated per label by a 1-D
   logistic fit of the given labels on the out-of-fold log-odds (Platt scaling); stance
   probabilities are used as they are.
3. Each line of the data gets, per part, the calibrated probability that its given label is
   wrong: for topics the largest over labels of P(label absent) for a given topic and
   P(label present) for a missing one; for stance 1 - P(given class). A line is a finding when
   the labels the model would give (calibrated P >= 0.5; the most probable stance class)
   differ from its own; its confidence is that probability.
4. Data problems beside the model: texts that occur more than once with different labels
   (the line the model doubts more is named, the other place given), near-duplicates across
   files or sources (TF-IDF cosine >= ``NEAR_DUPLICATE``: they leak between folds), and labels
   with too few examples to learn or to cross-validate.
Findings are ranked by confidence: label problems first (topics, stance, conflicting
duplicates), then near-duplicates with equal labels and rare labels.

``benchmarks/audit_flips.py`` measures it: flip 5% of the topic labels in a copy of the data
and count how many flips land among the top 2 x (number of flips) findings; it compares this
ranking with cleanlab's multi-label one.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .data import Dataset, Record, Schema, data_files, iter_raw, parse_record
from .errors import DataError
from .model import TrainOptions, check_options

Log = Callable[[str], None]
NEAR_DUPLICATE = 0.9  # TF-IDF cosine of word 1-2-grams at or above which two texts are near-same
MIN_EXAMPLES = 20  # fewer records than this for a label: too few to learn it
MIN_SOURCES = 5  # ... or fewer sources than this: cross-validation cannot spread it


@dataclass
class Finding:
    """One thing to check in the labelled data."""

    kind: str  # "topics", "stance", "conflicting-duplicate", "near-duplicate", "rare-label"
    where: str  # file:line
    text: str
    current: dict  # {"topics": [...], "stance": ...} as the line has them
    suggested: dict  # what the out-of-fold model (or the finding) suggests instead
    confidence: float  # calibrated probability that the current label is wrong (see module)
    labels: dict[str, str] = field(default_factory=dict)  # label -> the guide's definition
    note: str = ""
    others: list[str] = field(default_factory=list)  # other file:line places involved

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class AuditReport:
    findings: list[Finding]
    n_lines: int
    n_records: int
    settings: dict
    guide: str | None  # the guide the definitions come from (None: schema.json only)
    fallbacks: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return dict(Counter(f.kind for f in self.findings))

    def to_dict(self) -> dict:
        return {**asdict(self), "counts": self.counts()}


# ---------------------------------------------------------------- the guide's definitions


def find_guide(paths: Sequence[str | Path]) -> Path | None:
    """The labelling guide: LABELLING.md in or beside a data directory, or the project's
    shared one (``../shared/LABELLING.md`` from the directory holding ``labels/``)."""
    for p in map(Path, paths):
        base = p if p.is_dir() else p.parent
        for cand in (base / "LABELLING.md", base.parent / "LABELLING.md",
                     base.resolve().parent.parent / "shared" / "LABELLING.md"):
            if cand.is_file():
                return cand
    return None


_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|(.*)\|\s*$")


def guide_definitions(guide: Path | None, schema: Schema | None,
                      given: bool = False) -> dict[str, str]:
    """label -> definition: the guide's table row for it (in scope, and out of scope where the
    table has that column), else the one-line description of schema.json. A guide that cannot
    be read as UTF-8 text, or (``given``: named by the user) has no table row of a label, is
    a DataError naming it."""
    out: dict[str, str] = {}
    if schema:
        out.update({k: v for k, v in schema.topics.items() if v})
    if guide is not None:
        try:  # a guide found beside the data is read as well as it can be
            lines = guide.read_text(encoding="utf-8",
                                    errors="strict" if given else "replace").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            why = e.strerror if isinstance(e, OSError) and e.strerror else \
                "not UTF-8 text" if isinstance(e, UnicodeDecodeError) else str(e)
            raise DataError(f"{guide}: cannot read the labelling guide: {why}") from None
        rows = 0
        for line in lines:
            m = _ROW.match(line.strip())
            if not m:
                continue
            cells = [c.strip() for c in m.group(2).split("|")]
            text = cells[0] if len(cells) == 1 else (
                f"{cells[0]}. Not: {cells[1]}" if len(cells) == 2 else " ".join(cells))
            out[m.group(1)] = text
            rows += 1
        if given and not rows:
            raise DataError(f"{guide}: no label definitions in it (a guide defines each label "
                            "in a table row: | `label` | in scope | out of scope |)")
    return out


# ---------------------------------------------------------------- lines of the data


@dataclass
class Line:
    record: Record
    key: str  # the text with white space normalised, as the loader de-duplicates


def read_lines(paths: Sequence[str | Path], schema: Schema | None) -> list[Line]:
    """Every labelled line of the data files, duplicates included, in file order."""
    files, found = data_files(paths)
    schema = schema or found
    out = []
    for f in files:
        for lineno, obj in iter_raw(f):
            rec = parse_record(obj, f"{f}:{lineno}", schema, need_labels=True)
            out.append(Line(rec, " ".join(rec.text.split())))
    return out


# ---------------------------------------------------------------- scoring


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def calibrate(P: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Per-label Platt scaling of out-of-fold scores ``P`` (n, L) against the given labels
    ``Y``: P(label present | score). A label present on every row or on none is left as is."""
    from sklearn.linear_model import LogisticRegression

    Q = P.astype(float).copy()
    for j in range(P.shape[1]):
        y = Y[:, j]
        if y.min() == y.max():
            continue
        x = _logit(P[:, j]).reshape(-1, 1)
        lr = LogisticRegression(C=1e4, max_iter=1000).fit(x, y)
        Q[:, j] = lr.predict_proba(x)[:, 1]
    return Q


def topic_doubt(Y: np.ndarray, Q: np.ndarray, method: str = "own") -> np.ndarray:
    """Per row, how likely its topic labels are wrong (higher = more suspect).

    ``own``: the largest over labels of P(given label is wrong) under the calibrated
    scores. ``cleanlab``: 1 - cleanlab's multi-label label quality score (self-confidence per
    label, pooled by its exponential moving average)."""
    if method == "cleanlab":
        from cleanlab.multilabel_classification.rank import get_label_quality_scores

        labels = [list(np.flatnonzero(row)) for row in Y]
        return 1.0 - get_label_quality_scores(labels, Q)
    return np.where(Y, 1.0 - Q, Q).max(axis=1) if Y.shape[1] else np.zeros(len(Y))


def audit(data: Dataset, paths: Sequence[str | Path], folds: int = 5,
          opts: TrainOptions | None = None, guide: str | Path | None = None,
          method: str = "own", log: Log = lambda _: None, oof=None) -> AuditReport:
    """Audit the labelled data ``data`` (loaded from ``paths``): see the module docstring.
    ``oof`` may pass precomputed ``evaluate.out_of_fold`` results (the benchmark reuses
    them for both ranking methods)."""
    from .evaluate import out_of_fold

    opts = check_options(opts)
    lines = read_lines(paths, data.schema)
    guide_path = Path(guide) if guide else find_guide(paths)
    defs = guide_definitions(guide_path, data.schema, given=bool(guide))  # before the CV
    if oof is None:
        log(f"out-of-fold predictions: {folds}-fold grouped cross-validation on "
            f"{len(data.records):,} records ...")
        oof = out_of_fold(data, folds, opts, log)
    pred, n_folds, fallbacks = oof
    index = {" ".join(r.text.split()): i for i, r in enumerate(data.records)}
    rows = np.array([index[ln.key] for ln in lines], dtype=int)
    findings: list[Finding] = []
    doubt: dict[str, float] = {}  # where -> max doubt, for naming a conflicting duplicate

    def current(r: Record) -> dict:
        return {"topics": list(r.topics) if r.topics is not None else None,
                "stance": r.stance}

    # topics
    tl = pred.topic_labels
    t_lines = [k for k, ln in enumerate(lines) if ln.record.topics is not None]
    if tl and t_lines:
        Y = np.zeros((len(t_lines), len(tl)), dtype=bool)
        for a, k in enumerate(t_lines):
            for t in lines[k].record.topics or ():
                if t in tl:
                    Y[a, tl.index(t)] = True
        Q = calibrate(pred.topic_proba[rows[t_lines]], Y)
        score = topic_doubt(Y, Q, method)
        for a, k in enumerate(t_lines):
            r = lines[k].record
            want = [tl[j] for j in np.flatnonzero(Q[a] >= 0.5)]
            if pred.topic_pred.shape[1] and not want and _at_least_one(pred):
                want = [tl[int(np.argmax(Q[a]))]]
            doubt[r.where] = float(score[a])
            if set(want) == set(r.topics or ()):
                continue
            changed = sorted(set(want) ^ set(r.topics or ()))
            findings.append(Finding(
                "topics", r.where, r.text, current(r),
                {"topics": want, "stance": r.stance}, round(float(score[a]), 4),
                {t: defs.get(t, "") for t in changed},
                "; ".join(f"{t}: P={Q[a, tl.index(t)]:.2f}" for t in changed if t in tl)))
    # stance
    sl = pred.stance_labels
    for k, ln in enumerate(lines):
        r = ln.record
        if r.stance is None or not sl or r.stance not in sl:
            continue
        p = pred.stance_proba[rows[k]]
        best = sl[int(np.argmax(p))]
        wrong = 1.0 - float(p[sl.index(r.stance)])
        doubt[r.where] = max(doubt.get(r.where, 0.0), wrong)
        if best != r.stance:
            findings.append(Finding(
                "stance", r.where, r.text, current(r), {"topics": current(r)["topics"],
                                                        "stance": best},
                round(wrong, 4), {s: defs.get(s, "") for s in (r.stance, best)},
                ", ".join(f"{s} {v:.2f}" for s, v in zip(sl, p, strict=True))))
    findings += _conflicts(lines, findings, doubt, defs, current)
    findings.sort(key=lambda f: -f.confidence)
    extra = _near_duplicates(lines, defs, current) + _rare_labels(data, defs)
    report = AuditReport(
        findings=findings + extra, n_lines=len(lines), n_records=len(data.records),
        settings={"folds": n_folds, "seed": opts.seed, "fast": opts.fast, "method": method,
                  "data": data.files, "data_sha256": data.sha256(),
                  "near_duplicate": NEAR_DUPLICATE, "min_examples": MIN_EXAMPLES,
                  "min_sources": MIN_SOURCES},
        guide=str(guide_path) if guide_path else None, fallbacks=fallbacks)
    return report


def _at_least_one(pred) -> bool:
    """Does the data give every record a topic (so a suggestion must have one)?"""
    return bool(len(pred.records)) and all(r.topics for r in pred.records
                                           if r.topics is not None)


def _conflicts(lines: list[Line], findings: list[Finding], doubt: dict[str, float],
               defs: dict[str, str], current) -> list[Finding]:
    """Texts that occur more than once with different labels: the place the model doubts more
    is named; if it already has a finding, the other place is added to it instead."""
    groups: dict[str, list[Record]] = defaultdict(list)
    for ln in lines:
        groups[ln.key].append(ln.record)
    by_where = {f.where: f for f in findings}
    out = []
    for recs in groups.values():
        if len(recs) < 2:
            continue
        labels = {(frozenset(r.topics) if r.topics is not None else None, r.stance)
                  for r in recs}
        if len(labels) < 2:
            continue
        recs = sorted(recs, key=lambda r: -doubt.get(r.where, 0.0))
        worst, rest = recs[0], recs[1:]
        others = [r.where for r in rest]
        note = "same text as " + ", ".join(
            f"{r.where} (topics {list(r.topics or [])}, stance {r.stance})" for r in rest)
        f = by_where.get(worst.where)
        if f is not None:
            f.others += others
            f.note = (f.note + "; " if f.note else "") + note
            continue
        changed = {t for r in recs for t in (r.topics or ())} ^ set(worst.topics or ())
        out.append(Finding(
            "conflicting-duplicate", worst.where, worst.text, current(worst),
            current(rest[0]), round(max(doubt.get(worst.where, 0.0), 0.5), 4),
            {t: defs.get(t, "") for t in sorted(changed | {s for s in (worst.stance,
                                                                         rest[0].stance) if s})},
            note, others))
    return out


def _near_duplicates(lines: list[Line], defs: dict[str, str], current) -> list[Finding]:
    """Pairs of distinct texts from different files or sources with TF-IDF cosine >=
    ``NEAR_DUPLICATE`` (computed 2,000 rows at a time)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    first: dict[str, int] = {}
    for k, ln in enumerate(lines):
        first.setdefault(ln.key, k)
    uniq = sorted(first.values())
    if len(uniq) < 2:
        return []
    X = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform(
        [lines[k].key.lower() for k in uniq])
    out = []
    for lo in range(0, len(uniq), 2000):
        sims = (X[lo:lo + 2000] @ X.T).tocoo()
        for a, b, v in zip(sims.row, sims.col, sims.data, strict=True):
            i, j = lo + int(a), int(b)
            if j <= i or v < NEAR_DUPLICATE:
                continue
            ri, rj = lines[uniq[i]].record, lines[uniq[j]].record
            if ri.source == rj.source and ri.where.rsplit(":", 1)[0] == \
                    rj.where.rsplit(":", 1)[0]:
                continue
            same = current(ri) == current(rj)
            changed = sorted(set(ri.topics or ()) ^ set(rj.topics or ()))
            out.append(Finding(
                "near-duplicate", rj.where, rj.text, current(rj), current(ri),
                round(float(v), 4), {t: defs.get(t, "") for t in changed},
                f"cosine {v:.2f} with {ri.where}" + ("" if same else
                                                      ", labelled differently")
                + ("; different sources, so it can sit in another fold"
                   if ri.source != rj.source else ""), [ri.where]))
    out.sort(key=lambda f: -f.confidence)
    return out


def _rare_labels(data: Dataset, defs: dict[str, str]) -> list[Finding]:
    """Topic labels and stance classes with fewer than ``MIN_EXAMPLES`` records or
    ``MIN_SOURCES`` sources (all of the schema's labels are counted, unused ones too)."""
    count: Counter = Counter()
    sources: dict[str, set] = defaultdict(set)
    where: dict[str, str] = {}
    for r in data.records:
        for lab in [*(r.topics or ()), *([f"stance:{r.stance}"] if r.stance else [])]:
            count[lab] += 1
            sources[lab].add(r.source)
            where.setdefault(lab, r.where)
    names = list(data.topic_labels) + [f"stance:{s}" for s in data.stance_labels]
    out = []
    for lab in names:
        n, ns = count[lab], len(sources[lab])
        if n >= MIN_EXAMPLES and ns >= MIN_SOURCES:
            continue
        name = lab.removeprefix("stance:")
        out.append(Finding(
            "rare-label", where.get(lab, data.files[0] if data.files else ""), "",
            {"label": name, "records": n, "sources": ns},
            {"records": max(MIN_EXAMPLES, n), "sources": max(MIN_SOURCES, ns)},
            round(1.0 - min(n / MIN_EXAMPLES, ns / MIN_SOURCES), 4),
            {name: defs.get(name, "")},
            f"{name!r} has {n} record(s) from {ns} source(s): label at least "
            f"{MIN_EXAMPLES} from {MIN_SOURCES} sources to learn and cross-validate it"))
    return out


# ---------------------------------------------------------------- rendering

FORMATS = ("md", "jsonl", "html")
HOW_TO_READ = (
    "Each finding names the line (file:line), its current labels, what the out-of-fold model "
    "suggests instead and a confidence: the calibrated probability that the current label is "
    "wrong. The guide's definition of each label in question is given beside it: read the "
    "sentence on its own against it before changing anything. Label problems come first, "
    "most confident first; then near-duplicates (they leak between cross-validation folds) "
    "and labels with too few examples.")


def _labels(d: dict) -> str:
    if "label" in d:
        return f"{d['label']}: {d['records']} records, {d['sources']} sources"
    if "records" in d:
        return f"{d['records']} records from {d['sources']} sources"
    topics = d.get("topics")
    parts = []
    if topics is not None:
        parts.append("topics " + (", ".join(topics) or "none"))
    if d.get("stance"):
        parts.append(f"stance {d['stance']}")
    return "; ".join(parts) or "-"


def summary(rep: AuditReport) -> str:
    counts = ", ".join(f"{n} {k}" for k, n in rep.counts().items()) or "nothing"
    return (f"{len(rep.findings)} findings in {rep.n_lines:,} lines ({counts}); "
            f"{rep.settings['folds']}-fold out-of-fold predictions"
            + (" (fast settings)" if rep.settings.get("fast") else ""))


def to_jsonl(rep: AuditReport) -> str:
    import json

    return "".join(json.dumps({"rank": i, **f.to_dict()}, ensure_ascii=False) + "\n"
                   for i, f in enumerate(rep.findings, 1))


def to_markdown(rep: AuditReport) -> str:
    out = ["# classify label audit", "", f"**Summary:** {summary(rep)}.", "",
           f"**Definitions from:** {rep.guide or 'schema.json (no LABELLING.md found)'}", "",
           HOW_TO_READ, ""]
    for i, f in enumerate(rep.findings, 1):
        out.append(f"## {i}. `{f.where}` {f.kind}, confidence {f.confidence:.2f}")
        out.append("")
        if f.text:
            out.append(f"> {' '.join(f.text.split())}")
            out.append("")
        out.append(f"- current: {_labels(f.current)}")
        out.append(f"- suggested: {_labels(f.suggested)}")
        if f.note:
            out.append(f"- why: {f.note}")
        for lab, d in f.labels.items():
            out.append(f"- guide, `{lab}`: {d or '(no definition)'}")
        out.append("")
    return "\n".join(out)


def to_html(rep: AuditReport) -> str:
    import html

    esc = html.escape
    rows = []
    for i, f in enumerate(rep.findings, 1):
        defs = "<br>".join(f"<b>{esc(k)}</b>: {esc(v or '(no definition)')}"
                           for k, v in f.labels.items())
        rows.append(f"<tr><td class='num'>{i}</td><td><code>{esc(f.where)}</code></td>"
                    f"<td>{esc(f.kind)}</td><td>{esc(f.text)}</td>"
                    f"<td>{esc(_labels(f.current))}</td><td>{esc(_labels(f.suggested))}</td>"
                    f"<td class='num'>{f.confidence:.2f}</td><td>{esc(f.note)}</td>"
                    f"<td>{defs}</td></tr>")
    css = ("body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:"
           "collapse}td,th{border:1px solid #ccc;padding:.3em .5em;vertical-align:top;"
           "text-align:left}th{background:#f3f3f3}td.num{text-align:right}")
    return "\n".join([
        "<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
        f"<title>classify label audit</title><style>{css}</style></head><body>",
        "<h1>classify label audit</h1>", f"<p><b>Summary:</b> {esc(summary(rep))}.</p>",
        f"<p><b>Definitions from:</b> {esc(rep.guide or 'schema.json')}</p>",
        f"<p>{esc(HOW_TO_READ)}</p>",
        "<table><thead><tr><th>#</th><th>where</th><th>kind</th><th>text</th><th>current</th>"
        "<th>suggested</th><th>confidence</th><th>why</th><th>guide</th></tr></thead><tbody>",
        *rows, "</tbody></table></body></html>"]) + "\n"


def render(rep: AuditReport, fmt: str) -> str:
    return {"md": to_markdown, "jsonl": to_jsonl, "html": to_html}[fmt](rep)
