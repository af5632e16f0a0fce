"""What to label next: pool items ranked by how much a label would teach the model.

1. The pool: a JSONL (or CSV) batch (each record one item), a text file (an article, split into
   sentences as ``classify tag`` splits it) or a directory of them. Texts occurring twice
   (after white space is normalised) are one item; texts already labelled are left out
   (by default the training data files the model's meta.json names).
2. Uncertainty, per item and label, from the model's scores (``Model.scores``, the tagging
   path):
   - a topic: how near its score lies to the label's stored threshold, measured on the
     model's own linear scale (logit of the score against logit of the threshold):
     ``1 - tanh(|logit(p) - logit(t)| / 2)``, 1 on the threshold and falling off either side;
   - stance: one minus the margin between the two most probable classes.
   An item's priority is its largest uncertainty; ``reason`` names that label.
3. Diversity: greedy maximal marginal relevance over the ``CANDIDATES_PER_PICK * n`` most
   uncertain items: each pick maximises ``priority - diversity * (cosine similarity to the
   most similar item picked so far)`` on the model's TF-IDF features, so near-copies of an
   item already picked fall back behind other uncertain items.

Everything is deterministic: ties go to the earlier item of the pool.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .data import (
    DATA_SUFFIXES,
    STDIN,
    STDIN_NAME,
    data_files,
    input_lines,
    is_batch_file,
    is_stdin,
    item_id,
    item_text,
    iter_raw,
    json_object_line,
    jsonl_values,
    missing,
    open_lines,
    read_text,
)
from .errors import DataError
from .model import Model
from .output import one_line
from .sentences import split_sentences

DIVERSITY = 0.5  # weight of the similarity penalty against the uncertainty
CANDIDATES_PER_PICK = 20  # the MMR runs over at most this many candidates per suggestion
MIN_CANDIDATES = 2000
_EPS = 1e-6

Log = Callable[[str], None]


@dataclass
class PoolItem:
    id: str
    text: str
    source: str


@dataclass
class Suggestion:
    """One item to label, with the model's guess and why it was picked."""

    id: str
    text: str
    source: str
    topics: list[str]
    topic_scores: dict[str, float]
    stance: str | None
    stance_scores: dict[str, float]
    reason: str
    uncertainty: float

    def record(self) -> dict:
        return asdict(self)


@dataclass
class SuggestResult:
    suggestions: list[Suggestion]
    pool: int  # distinct items read
    excluded: int  # of them, already labelled
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def normalise(text: str) -> str:
    """The key under which two texts count as the same (as the data loader's duplicates)."""
    return " ".join(text.split())


# ---------------------------------------------------------------- the pool


def _pool_file(path: Path, name: str) -> Iterator[PoolItem]:
    if path.suffix.lower() == ".csv":
        for lineno, obj in iter_raw(path):
            text = item_text(obj, f"{name}:{lineno}")
            assert isinstance(obj, dict)
            rid = obj.get("id") or f"{name}:{lineno}"
            yield PoolItem(str(rid), text, str(obj.get("source") or name))
        return
    if is_batch_file(path):  # .jsonl, .ndjson, a .json of JSON lines (else an error)
        with open_lines(path) as lines:
            yield from _jsonl_items(lines, name)
        return
    yield from _sentence_items(read_text(path), name)


def _jsonl_items(lines: Iterable[str], name: str) -> Iterator[PoolItem]:
    for lineno, obj in jsonl_values(lines, name):
        where = f"{name}:{lineno}"
        text = item_text(obj, where)
        assert isinstance(obj, dict)
        rid = item_id(obj, where)
        yield PoolItem(where if rid is None else rid, text,
                       item_id(obj, where, "source") or name)


def _sentence_items(text: str, name: str) -> Iterator[PoolItem]:
    for i, s in enumerate(split_sentences(text), 1):
        yield PoolItem(f"{name}#{i}", s.text, name)


def _stdin_items() -> Iterator[PoolItem]:
    """Standard input as a pool: a JSONL batch if its first non-blank line is a JSON object
    (as ``tag -`` decides), else one article."""
    with input_lines(STDIN) as stream:
        lines = list(stream)
    if json_object_line(next((ln for ln in lines if ln.strip()), "")):
        yield from _jsonl_items(lines, STDIN_NAME)
    else:
        yield from _sentence_items("".join(lines), STDIN_NAME)


def read_pool(path: str | Path) -> list[PoolItem]:
    """The items of a JSONL batch, an article or a directory of them (hidden files skipped),
    or of standard input for ``-`` (a JSONL batch or an article), each distinct text once. A
    file that cannot be read stops with its name."""
    if is_stdin(path):
        return _distinct([_stdin_items()], STDIN_NAME)
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file() and not any(
            part.startswith(".") for part in f.relative_to(p).parts))
        if not files:
            raise DataError(f"{p}: directory holds no files")
    elif p.is_file():
        files = [p]
    else:
        raise DataError(f"{p}: " + missing(p) + ("; '-' reads standard input"
                                                   if p.exists() else ""))
    return _distinct((_pool_file(f, str(f)) for f in files), str(p))


def _distinct(sources: Iterable[Iterable[PoolItem]], name: str) -> list[PoolItem]:
    seen: set[str] = set()
    out: list[PoolItem] = []
    for items in sources:
        for item in items:
            key = normalise(item.text)
            if key not in seen:
                seen.add(key)
                out.append(item)
    if not out:
        raise DataError(f"{name}: no text to suggest from")
    return out


# ---------------------------------------------------------------- already labelled


def texts_of(paths: Iterable[str | Path]) -> set[str]:
    """Normalised texts of labelled data (JSONL/CSV files or directories of them; labels are
    not needed, so a suggestions file excludes what it lists)."""
    files, _ = data_files(paths, schema_too=False)
    out: set[str] = set()
    for f in files:
        for lineno, obj in iter_raw(f):
            if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                raise DataError(f"{f}:{lineno}: not a record with a 'text' string (the "
                                "labelled data to leave out holds records)")
            out.add(normalise(obj["text"]))
    return out


def training_files(meta: dict, model_dir: str | Path) -> tuple[list[Path], list[str]]:
    """The training data files meta.json names, each found where it was relative to the
    model directory (``files_from_model``, recorded since models remember it), else as
    recorded (relative to the working directory), else relative to the project the model
    directory sits in (``models/NAME`` -> two levels up); and the ones found nowhere."""
    found, missing = [], []
    data = meta.get("data") if isinstance(meta.get("data"), dict) else {}
    home = Path(model_dir).resolve()
    names = data.get("files", [])
    near = data.get("files_from_model")
    near = near if isinstance(near, list) and len(near) == len(names) else [None] * len(names)
    for name, rel in zip(names, near, strict=True):
        cands = ([home / str(rel)] if rel is not None else []) + [Path(name),
                                                                  home.parent.parent / name]
        for cand in cands:
            if cand.is_file() and cand.suffix.lower() in DATA_SUFFIXES:
                found.append(cand)
                break
        else:
            missing.append(str(name))
    return found, missing


# ---------------------------------------------------------------- ranking


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


FOCUS = ("all", "topics", "stance")


def check_focus(model: Model, focus: str, model_dir: str | Path | None = None) -> None:
    """A one-line error for a ``focus`` that is not one of ``FOCUS`` or names a part the
    model lacks (its suggestions would all be "no reason", in pool order); it names
    ``model_dir`` if given."""
    if focus not in FOCUS:
        raise DataError(f"focus must be one of {', '.join(FOCUS)}, got {focus!r}")
    if focus != "all" and not (model.topic_labels if focus == "topics" else
                               model.stance_labels):
        other = "stance" if focus == "topics" else "topics"
        raise DataError((f"{model_dir}: " if model_dir else "") + f"the model has no {focus} "
                        f"(trained without {focus} labels), so focus {focus!r} has nothing to "
                        f"rank by: use focus {other!r} or 'all'")


def uncertainty(model: Model, P: np.ndarray, S: np.ndarray, focus: str = "all"
                ) -> tuple[np.ndarray, list[str]]:
    """Each item's largest uncertainty over its labels (see the module) and which label;
    ``focus`` "topics" or "stance" looks at that part only."""
    check_focus(model, focus)
    n = len(P)
    cols: list[np.ndarray] = []
    names: list[tuple[str, int]] = []
    if model.topics is not None and P.shape[1] and focus != "stance":
        th = np.asarray(model.topics.thresholds, dtype=np.float64)
        d = np.abs(_logit(P) - _logit(th)[None, :])
        cols.append(1.0 - np.tanh(d / 2))
        names += [("topic", j) for j in range(P.shape[1])]
    if model.stance is not None and S.shape[1] >= 2 and focus != "topics":
        top2 = -np.sort(-S, axis=1)[:, :2]
        cols.append((1.0 - (top2[:, 0] - top2[:, 1]))[:, None])
        names.append(("stance", -1))
    if not cols:
        return np.zeros(n), [""] * n
    U = np.hstack(cols)
    best = np.argmax(U, axis=1)
    reasons = []
    tl, sl = model.topic_labels, model.stance_labels
    for i, b in enumerate(best.tolist()):
        kind, j = names[b]
        if kind == "topic":
            t = float(model.topics.thresholds[j])  # type: ignore[union-attr]
            reasons.append(f"topic {tl[j]}: score {P[i, j]:.3f}, threshold {t:.3f}")
        else:
            order = np.argsort(-S[i], kind="stable")
            reasons.append(f"stance: {sl[order[0]]} {S[i, order[0]]:.3f} against "
                           f"{sl[order[1]]} {S[i, order[1]]:.3f}")
    return U[np.arange(n), best], reasons


def _unit_rows(X: sp.csr_matrix) -> sp.csr_matrix:
    X = sp.csr_matrix(X, dtype=np.float64)
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ X)


def diverse_top(priority: np.ndarray, X: sp.csr_matrix, n: int, diversity: float = DIVERSITY
                ) -> list[int]:
    """Greedy maximal marginal relevance: ``n`` row indices, each maximising ``priority -
    diversity * max cosine similarity to the rows picked before`` (over the most uncertain
    ``max(CANDIDATES_PER_PICK * n, MIN_CANDIDATES)`` rows)."""
    m = len(priority)
    n = min(n, m)
    if n <= 0:
        return []
    k = min(m, max(CANDIDATES_PER_PICK * n, MIN_CANDIDATES))
    cand = np.argsort(-priority, kind="stable")[:k]
    if diversity <= 0:
        return cand[:n].tolist()
    Xc = _unit_rows(X[cand])
    pr = priority[cand].astype(np.float64)
    closest = np.zeros(k)  # each candidate's similarity to its most similar pick
    taken = np.zeros(k, dtype=bool)
    picks: list[int] = []
    for _ in range(n):
        gain = np.where(taken, -np.inf, pr - diversity * closest)
        i = int(np.argmax(gain))
        taken[i] = True
        picks.append(int(cand[i]))
        # a dense vector: the same products summed in the same order as the sparse
        # product Xc @ Xc[i].T, so the same similarities, about ten times faster
        np.maximum(closest, Xc @ Xc[i].toarray().ravel(), out=closest)
    return picks


def rank(model: Model, texts: Sequence[str], n: int, diversity: float = DIVERSITY,
         focus: str = "all"
         ) -> tuple[list[int], np.ndarray, list[str], np.ndarray, np.ndarray]:
    """(picked indices best first, uncertainty, reasons, topic scores, stance scores)."""
    P, S = model.scores(texts)
    U, reasons = uncertainty(model, P, S, focus)
    feats = (model.topics or model.stance).features  # type: ignore[union-attr]
    picks = diverse_top(U, feats.transform(list(texts)), n, diversity) if len(texts) else []
    return picks, U, reasons, P, S


def suggest(pool: Sequence[PoolItem], model: Model, n: int = 50,
            exclude: set[str] | None = None, diversity: float = DIVERSITY,
            focus: str = "all") -> tuple[list[Suggestion], int]:
    """The ``n`` items of ``pool`` most worth labelling (see the module), best first, and how
    many pool items ``exclude`` (normalised texts) removed."""
    check_focus(model, focus)  # before scoring the pool
    exclude = exclude or set()
    items = [it for it in pool if normalise(it.text) not in exclude]
    texts = [it.text for it in items]
    picks, U, reasons, P, S = rank(model, texts, n, diversity, focus)
    D = model.decide(P)
    tl, sl = model.topic_labels, model.stance_labels
    out = []
    for i in picks:
        it = items[i]
        order = np.argsort(-np.where(D[i], P[i], -1.0), kind="stable")
        out.append(Suggestion(
            id=it.id, text=it.text, source=it.source,
            topics=[tl[j] for j in order if D[i, j]],
            topic_scores={t: round(float(P[i, j]), 4) for j, t in enumerate(tl)},
            stance=sl[int(np.argmax(S[i]))] if len(sl) else None,
            stance_scores={s: round(float(S[i, j]), 4) for j, s in enumerate(sl)},
            reason=reasons[i], uncertainty=round(float(U[i]), 4)))
    return out, len(pool) - len(items)


def render_text(suggestions: Sequence[Suggestion]) -> str:
    """A human-readable list: rank, reason, the model's guess, the text (its white space
    collapsed, as ``classify tag --format text`` shows it); two lines per suggestion whatever
    the pool's texts and ids hold."""
    lines = []
    for k, s in enumerate(suggestions, 1):
        guess = ", ".join(s.topics) or "no topic"
        lines.append(one_line(f"{k:3}. [{guess} | {s.stance}] {' '.join(s.text.split())}"))
        lines.append(one_line(f"       unsure about {s.reason} (uncertainty "
                               f"{s.uncertainty:.2f}); id {s.id}"))
    return "\n".join(lines) + ("\n" if lines else "")


def render_jsonl(suggestions: Sequence[Suggestion]) -> str:
    return "".join(json.dumps(s.record(), ensure_ascii=False) + "\n" for s in suggestions)
