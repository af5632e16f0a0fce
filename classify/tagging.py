"""Tagging: sentences and articles, and batches of records, with scores and reasons."""

from __future__ import annotations

import math
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from itertools import islice, repeat
from pathlib import Path

import numpy as np

from .boilerplate import split_prose
from .contributions import contributions_many
from .data import JSON_SPACE, item_id, item_text, json_line, scan_json, valid_unicode
from .errors import DataError
from .model import Model, whole_number
from .persist import load_model
from .sentences import split_sentences

BATCH = 2000
WHY_WORDS = 3  # words a label's `why` lists


@dataclass(frozen=True)
class ArticleRule:
    """A topic holds for an article when enough of its sentences carry it."""

    min_sentences: int = 2
    short_article: int = 6  # articles this short need only one sentence

    def needed(self, n_sentences: int) -> int:
        return 1 if n_sentences <= self.short_article else self.min_sentences

    def describe(self) -> str:
        return (f"a topic holds for the article when at least {self.min_sentences} of its "
                f"sentences carry it (1 for articles of {self.short_article} sentences or "
                "fewer); article stance is the class with the highest mean sentence probability")


@dataclass(slots=True)
class Tags:
    """Tags for one unit of text (a sentence, or a batch record tagged whole)."""

    text: str
    topics: list[str] | None  # None (with the scores) only for an invalid record
    topic_scores: dict[str, float] | None
    stance: str | None
    stance_scores: dict[str, float] | None
    why: dict[str, list[str]] = field(default_factory=dict)
    id: str | None = None
    start: int | None = None
    end: int | None = None
    error: str | None = None

    @classmethod
    def invalid(cls, item: BatchItem) -> Tags:
        """The place-holder of a batch record that could not be read: it carries the error,
        and None for topics and scores, so it cannot pass for a record without topics."""
        return cls(text="", topics=None, topic_scores=None, stance=None, stance_scores=None,
                   id=item.id, error=item.error)

    def record(self, explain: bool = False) -> dict:
        """The batch output contract: id, topics, topic_scores, stance, stance_scores."""
        out: dict = {"id": self.id, "topics": self.topics, "topic_scores": self.topic_scores,
                     "stance": self.stance, "stance_scores": self.stance_scores}
        if explain and not self.error:
            out["why"] = self.why
        if self.error:
            out["error"] = self.error
        return out

    def to_dict(self) -> dict:
        """Every field (text, offsets and ``why`` too), as the other results give theirs."""
        return asdict(self)


@dataclass
class ArticleTags:
    name: str
    sentences: list[Tags]
    topics: list[str]
    topic_support: dict[str, dict[str, float]]  # label -> sentences, share, max_score
    stance: str | None
    stance_scores: dict[str, float]
    rule: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Scores:
    """A batch's scores as arrays: what every output format is rendered from."""

    topic_labels: list[str]
    stance_labels: list[str]
    P: np.ndarray  # (n, topics) probabilities
    D: np.ndarray  # (n, topics) decisions
    S: np.ndarray  # (n, stance classes) probabilities, rows sum to one

    def chosen(self) -> list[list[int]]:
        """Each row's chosen topics, highest score first."""
        n = len(self.P)
        counts = self.D.sum(axis=1)
        most = int(counts.max()) if n and self.D.shape[1] else 0
        if most == 0:
            return [[] for _ in range(n)]
        order = np.argsort(-np.where(self.D, self.P, -1.0), axis=1, kind="stable")[:, :most]
        return [row[:c] for row, c in zip(order.tolist(), counts.tolist(), strict=True)]

    def stance_index(self) -> list[int | None]:
        if not self.S.shape[1]:
            return [None] * len(self.S)
        return np.argmax(self.S, axis=1).tolist()


def _round(x: float) -> float:
    return round(float(x), 4)


class Tagger:
    """A loaded model plus the article rule; tags texts, articles and record batches."""

    def __init__(self, model: Model, meta: dict,
                 thresholds: Mapping[str, float] | None = None) -> None:
        """``thresholds``: topic label -> decision threshold, replacing the model's own for
        those topics (``Model.with_thresholds``), e.g. a higher bar for a topic that is rare
        in the stream being tagged."""
        self.model = model.with_thresholds(thresholds or {})
        self.meta = meta
        self.rule = ArticleRule(**meta.get("article_rule", {}).get("params", {}))

    @classmethod
    def load(cls, directory: str | Path, trust: bool = False,
             thresholds: Mapping[str, float] | None = None) -> Tagger:
        return cls(*load_model(directory, trust=trust), thresholds=thresholds)

    @property
    def thresholds(self) -> dict[str, float]:
        """Every threshold override the model carries (also one made before it came here):
        what worker processes that load the model themselves apply."""
        return dict(self.model.info.get("threshold_overrides", {}))

    @property
    def topic_labels(self) -> list[str]:
        return self.model.topic_labels

    @property
    def stance_labels(self) -> list[str]:
        return self.model.stance_labels

    def score_texts(self, texts: Sequence[str]) -> Scores:
        """Scores and decisions for each text as one unit, as arrays (``Model.scores``: the
        one scoring path of tagging, evaluation and explanations)."""
        P, S = self.model.scores(texts)
        return Scores(self.topic_labels, self.stance_labels, P, self.model.decide(P), S)

    def tag_texts(self, texts: Sequence[str], explain: bool = False) -> list[Tags]:
        """Tag each text as one unit."""
        if not texts:
            return []
        sc = self.score_texts(texts)
        tl, sl = sc.topic_labels, sc.stance_labels
        P_list = np.round(sc.P, 4).tolist()
        S_list = np.round(sc.S, 4).tolist()
        whys = self.why(texts, sc) if explain else [{} for _ in texts]
        out = []
        for i, (text, chosen, stance_i) in enumerate(zip(texts, sc.chosen(), sc.stance_index(),
                                                         strict=True)):
            out.append(Tags(
                text=text, topics=[tl[j] for j in chosen],
                topic_scores=dict(zip(tl, P_list[i], strict=True)),
                stance=sl[stance_i] if stance_i is not None else None,
                stance_scores=dict(zip(sl, S_list[i], strict=True)), why=whys[i]))
        return out

    def why(self, texts: Sequence[str], sc: Scores) -> list[dict[str, list[str]]]:
        """For each text, the words that pushed each chosen topic and the chosen stance most:
        each word's share of the label's linear score (``contributions``, what the HTML page
        shades), summed over the word's repeats, largest first, at most ``WHY_WORDS``."""
        asks: list[list[tuple[str, list[int] | None]]] = []
        for chosen, stance_i in zip(sc.chosen(), sc.stance_index(), strict=True):
            ask: list[tuple[str, list[int] | None]] = [("topics", list(chosen))] if chosen else []
            if stance_i is not None:
                ask.append(("stance", [stance_i]))
            asks.append(ask)
        return [{c.label: [w for w, _ in c.top(WHY_WORDS)] for c in cs}
                for cs in contributions_many(self.model, list(texts), asks)]

    def tag_article(self, text: str, name: str = "<text>", explain: bool = False,
                    keep_all: bool = True) -> ArticleTags:
        """Split into sentences, tag each, and decide the article's topics and stance.
        ``keep_all=False`` first drops the lines that are not prose (``boilerplate``)."""
        sents = split_sentences(text) if keep_all else split_prose(text)
        if not sents:
            if not keep_all and text.strip():
                raise DataError(f"{name}: no prose lines to tag (every line looks like page "
                                "furniture: navigation, dates, banners; --keep-all tags them)")
            raise DataError(f"{name}: empty input, nothing to tag")
        tags = []
        for lo in range(0, len(sents), BATCH):
            chunk = sents[lo:lo + BATCH]
            for s, t in zip(chunk, self.tag_texts([s.text for s in chunk], explain),
                            strict=True):
                t.start, t.end = s.start, s.end
                tags.append(t)
        return self.aggregate(name, tags)

    def aggregate(self, name: str, tags: list[Tags]) -> ArticleTags:
        n = len(tags)
        need = self.rule.needed(n)
        support: dict[str, dict[str, float]] = {}
        topics = []
        for label in self.topic_labels:
            k = sum(label in t.topics for t in tags)
            support[label] = {"sentences": k, "share": _round(k / n),
                              "max_score": max(t.topic_scores[label] for t in tags)}
            if k >= need:
                topics.append(label)
        topics.sort(key=lambda lab: (-support[lab]["sentences"], -support[lab]["max_score"]))
        sl = self.stance_labels
        scores = {s: _round(math.fsum(t.stance_scores[s] for t in tags) / n) for s in sl}
        stance = max(sl, key=lambda s: scores[s]) if sl else None
        rule = self.rule.describe()
        bars = self.thresholds
        if bars:  # say so wherever the article's tags are shown or stored
            rule += "; topic thresholds set for this run: " + ", ".join(
                f"{k} {v:g}" for k, v in bars.items())
        return ArticleTags(name=name, sentences=tags, topics=topics, topic_support=support,
                           stance=stance, stance_scores=scores, rule=rule)


# ---------------------------------------------------------------- batches (JSONL records)


@dataclass
class BatchItem:
    where: str
    id: str | None
    text: str | None
    error: str | None = None


@dataclass
class Lines:
    """A chunk of a JSONL batch: decoded lines, the first numbered ``start``. Blank lines are
    kept here and skipped when parsed."""

    start: int
    raw: list[str]


def line_chunks(lines: Iterable[str], chunk: int = BATCH, first_line: int = 1,
                name: str = "<lines>") -> Iterator[Lines]:
    """Cut the lines of a JSONL batch into chunks of ``chunk`` lines; the first is line
    ``first_line`` (of the file, when ``lines`` are a part of it). A line that is not a str
    (a library caller's list) is a DataError naming ``name:line``."""
    it = iter(lines)
    start = first_line
    while buf := list(islice(it, chunk)):
        if not all(map(isinstance, buf, repeat(str))):
            i = next(i for i, x in enumerate(buf) if not isinstance(x, str))
            raise DataError(f"{name}:{start + i}: a line must be a str, got "
                            f"{type(buf[i]).__name__}")
        yield Lines(start, buf)
        start += len(buf)


def iter_batch(lines: Iterable[str], name: str, chunk: int = BATCH) -> Iterator[BatchItem]:
    """Decode a JSONL batch, each line on its own; invalid lines become items with an error
    naming the line."""
    for buf in line_chunks(lines, chunk, name=name):
        yield from _parse_chunk(buf, name)


def _parse_chunk(lines: Lines, name: str) -> list[BatchItem]:
    return [_parse_line(raw, f"{name}:{lines.start + i}") for i, raw in enumerate(lines.raw)
            if raw.strip(JSON_SPACE)]


def _parse_line(raw: str, where: str) -> BatchItem:
    try:
        return batch_item(json_line(raw, where), where)
    except DataError as e:
        return BatchItem(where, None, None, str(e))


def batch_item(obj: object, where: str) -> BatchItem:
    """Validate one decoded batch record: a JSON object with a non-empty ``text``."""
    rid = None
    try:
        rid = item_id(obj, where) if isinstance(obj, dict) else None
        return BatchItem(where, rid, item_text(obj, where))
    except DataError as e:
        return BatchItem(where, rid, None, str(e))


def _tag_chunk(tagger: Tagger, items: list[BatchItem], explain: bool) -> list[Tags]:
    good = [it for it in items if it.error is None]
    tagged = iter(tagger.tag_texts([it.text or "" for it in good], explain))
    out = []
    for it in items:
        if it.error is None:
            t = next(tagged)
            t.id = it.id
        else:
            t = Tags.invalid(it)
        out.append(t)
    return out


@dataclass
class Chunk:
    """The records of a chunk of a batch file: ids and texts of the valid ones, in order, and
    the invalid ones with their positions in the chunk."""

    ids: list[str | None]
    texts: list[str]
    invalid: list[tuple[int, BatchItem]]

    def __len__(self) -> int:
        return len(self.ids) + len(self.invalid)

    @classmethod
    def of(cls, items: list[BatchItem]) -> Chunk:
        good = [it for it in items if it.error is None]
        return cls([it.id for it in good], [it.text or "" for it in good],
                   [(i, it) for i, it in enumerate(items) if it.error is not None])

    @classmethod
    def parse(cls, lines: Lines, name: str) -> Chunk:
        """Like ``Chunk.of(_parse_chunk(...))``, without an object per valid record."""
        ids: list[str | None] = []
        texts: list[str] = []
        invalid: list[tuple[int, BatchItem]] = []
        scan = scan_json
        for i, raw in enumerate(lines.raw):
            body = raw.strip(JSON_SPACE)
            if not body:
                continue
            try:
                obj, end = scan(body, 0)
            except (StopIteration, ValueError, RecursionError):
                end = -1
            if end == len(body) and type(obj) is dict:
                text = obj.get("text")
                rid = obj.get("id")  # the JSON scalars data.item_id takes (keep in step)
                if type(text) is str and text and not text.isspace() \
                        and (text.isascii() or valid_unicode(text)) \
                        and (type(rid) in (type(None), str, int)
                             or type(rid) is float and math.isfinite(rid)) \
                        and (type(rid) is not str or rid.isascii() or valid_unicode(rid)):
                    ids.append(rid if rid is None or type(rid) is str else str(rid))
                    texts.append(text)
                    continue
            item = _parse_line(raw, f"{name}:{lines.start + i}")
            if item.error is None:  # valid after all: an id the fast path leaves to item_id
                ids.append(item.id)  # (a NaN id is no id)
                texts.append(item.text or "")
                continue
            invalid.append((len(ids) + len(invalid), item))
        return cls(ids, texts, invalid)


Render = Callable[[Chunk, Scores, "list[dict] | None"], str]


def _render_chunk(tagger: Tagger, lines: Lines, arg: tuple[str, Render, bool]
                  ) -> tuple[int, str, list[str]]:
    name, render, explain = arg
    chunk = Chunk.parse(lines, name)
    errors = [it.error or "" for _, it in chunk.invalid]
    sc = tagger.score_texts(chunk.texts)
    why = tagger.why(chunk.texts, sc) if explain else None
    return len(chunk), render(chunk, sc, why), errors


_WORKER: Tagger | None = None


def _init_worker(model_dir: str, trust: bool, thresholds: dict[str, float]) -> None:
    global _WORKER
    if _WORKER is not None:  # forked from the parent, which set it: already loaded
        return
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _WORKER = Tagger.load(model_dir, trust=trust, thresholds=thresholds)


def _in_worker(fn: Callable, chunk: list, arg: object) -> object:
    assert _WORKER is not None
    return fn(_WORKER, chunk, arg)


def _chunks(items: Iterable[BatchItem], size: int) -> Iterator[list[BatchItem]]:
    chunk: list[BatchItem] = []
    for it in items:
        chunk.append(it)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _map_chunks(tagger: Tagger, chunks: Iterable[list], fn: Callable, arg: object,
                jobs: int, model_dir: str | None, trust: bool) -> Iterator:
    """``fn(tagger, chunk, arg)`` for each chunk, in order.

    With ``jobs > 1`` the parent process and ``jobs - 1`` worker processes share the chunks:
    every ``jobs``-th chunk is done here, the others by the workers (forked workers inherit
    the loaded model; others load it from ``model_dir``). At most ``2 * jobs`` chunks are in
    flight at once, so memory stays flat. ``jobs`` is capped at the cores this process may
    use (more processes would only compete for them).
    """
    if not whole_number(jobs) or jobs < 1:
        raise DataError(f"jobs must be a whole number of at least 1, got {jobs!r:.40}")
    jobs = min(int(jobs), usable_cores())
    if jobs <= 1 or model_dir is None:
        for chunk in chunks:
            yield fn(tagger, chunk, arg)
        return
    from concurrent.futures import Future, ProcessPoolExecutor  # only when parallel

    global _WORKER
    _WORKER = tagger
    try:
        with ProcessPoolExecutor(max_workers=jobs - 1, initializer=_init_worker,
                                 initargs=(model_dir, trust, tagger.thresholds)) as pool:
            pending: deque[Future | tuple[object]] = deque()
            for i, chunk in enumerate(chunks):
                if i % jobs == jobs - 1:
                    pending.append((fn(tagger, chunk, arg),))
                else:
                    pending.append(pool.submit(_in_worker, fn, chunk, arg))
                while pending and (len(pending) >= 2 * jobs or isinstance(pending[0], tuple)
                                   or pending[0].done()):
                    head = pending.popleft()
                    yield head[0] if isinstance(head, tuple) else head.result()
            for head in pending:
                yield head[0] if isinstance(head, tuple) else head.result()
    finally:
        _WORKER = None


def tag_batch(tagger: Tagger, items: Iterable[BatchItem], explain: bool = False,
              jobs: int = 1, model_dir: str | None = None, trust: bool = False,
              batch_size: int = BATCH) -> Iterator[Tags]:
    """Tag records in input order, streaming in batches (memory stays flat)."""
    for tags in _map_chunks(tagger, _chunks(items, batch_size), _tag_chunk, explain, jobs,
                            model_dir, trust):
        yield from tags


def render_batch(tagger: Tagger, lines: Iterable[bytes], name: str, render: Render,
                 jobs: int = 1, model_dir: str | None = None, trust: bool = False,
                 batch_size: int = BATCH, explain: bool = False, first_line: int = 1
                 ) -> Iterator[tuple[int, str, list[str]]]:
    """Tag the raw lines of a JSONL batch file and render each chunk to text straight from its
    score arrays with ``render(items, scores, why)`` (module-level, so workers can run it;
    ``why`` is None unless ``explain``).

    Yields (records in the chunk, text, errors of its invalid records); invalid records are in
    the text as ``error`` lines. With ``jobs > 1`` the workers parse, tag and render, so the
    parent only reads and writes. This is the fast path of ``classify tag``. ``first_line``
    numbers the first line (for a part of a file, so errors name the file's line).
    """
    yield from _map_chunks(tagger, line_chunks(lines, batch_size, first_line, name), _render_chunk,
                           (name, render, explain), jobs, model_dir, trust)
