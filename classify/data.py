"""Loading and validating labelled records (JSONL/CSV), label schemas and input text files."""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import io
import json
import math
import numbers
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO

from . import interrupts
from .errors import DataError

DATA_SUFFIXES = (".jsonl", ".csv")
SCHEMA_NAME = "schema.json"


@dataclass(frozen=True)
class Record:
    """One labelled unit of text; ``topics``/``stance`` are None when the data lacks them."""

    text: str
    topics: tuple[str, ...] | None
    stance: str | None
    source: str
    id: str | None = None
    where: str = ""  # "file:line", for messages
    weight: float = 1.0  # how much the record counts in training (its file's weight x its own)
    tune: bool = False  # of the text the model will tag: re-tunes the thresholds (--tune-on)


@dataclass
class Schema:
    """Label sets declared up front: topic name -> one-line description, and stance classes."""

    topics: dict[str, str] = field(default_factory=dict)
    stances: list[str] = field(default_factory=list)
    # the sets are all there is (a model's labels): a label outside them is refused even
    # where a set is empty (a topics-only model takes no stance); else an empty set is open
    closed: bool = False


@dataclass
class Dataset:
    records: list[Record]
    topic_labels: list[str]
    stance_labels: list[str]
    schema: Schema | None
    warnings: list[str]
    files: list[str]
    conflicts: list[tuple[str, str]] = field(default_factory=list)  # (kept, other) places
    weights: dict[str, float] = field(default_factory=dict)  # file -> weight, where not 1
    tune_on: list[str] = field(default_factory=list)  # files whose records re-tune thresholds

    @property
    def weighted(self) -> bool:
        return any(r.weight != 1.0 for r in self.records)

    def weight_summary(self) -> dict:
        """What meta.json records about weights: per-file weights given, and per-record ones."""
        own = sum(r.weight != 1.0 for r in self.records)
        return {"files": dict(self.weights), "weighted_records": own,
                "total_weight": round(math.fsum(r.weight for r in self.records), 4)}

    @property
    def topic_records(self) -> list[Record]:
        return [r for r in self.records if r.topics is not None]

    @property
    def stance_records(self) -> list[Record]:
        return [r for r in self.records if r.stance is not None]

    def sha256(self) -> str:
        return records_sha256(self.records)


def records_sha256(records: Iterable[Record]) -> str:
    """A hash of the labelled content, independent of file format and paths (a record's
    weight counts only where it is not 1, and its ``tune`` mark only where set, so unweighted,
    unmarked data hashes as it always did)."""
    h = hashlib.sha256()
    for r in records:
        row = [r.text, sorted(r.topics) if r.topics is not None else None, r.stance, r.source]
        if r.weight != 1.0:
            row.append(r.weight)
        if r.tune:
            row.append("tune")
        h.update(json.dumps(row, ensure_ascii=False).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


# ---------------------------------------------------------------- schema


MAX_JSON_FILE = 16 * 2**20  # bytes: a schema or guide is a few kB; /dev/zero is endless
BROKEN_LINK = "a symlink that leads nowhere (broken, or a loop)"  # why it cannot be read


def read_json_file(path: Path, what: str) -> object:
    """The JSON value of a small file such as a schema (UTF-8, a BOM allowed); a one-line
    error naming the file if it is not a regular file, is larger than ``MAX_JSON_FILE``, or
    does not hold one JSON value."""
    try:
        if not path.is_file():
            raise DataError(f"{path}: cannot read {what}: " + (
                "not a regular file" if path.exists() else
                BROKEN_LINK if path.is_symlink() else
                "no such file"))
        if path.stat().st_size > MAX_JSON_FILE:
            raise DataError(f"{path}: cannot read {what}: larger than "
                            f"{MAX_JSON_FILE // 2**20} MB")
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read {what}: {_one_line(e)}") from None
    return parse_json(text, f"{path}")


def parse_json(text: str, where: str) -> object:
    """``json.loads``, with every way it can fail as a one-line DataError naming ``where``."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f"{where}: malformed JSON: {e.msg} (line {e.lineno} column {e.colno})"
                        ) from None
    except RecursionError:
        raise DataError(f"{where}: malformed JSON: nested too deeply") from None
    except ValueError as e:  # e.g. an integer of more than 4,300 digits
        raise DataError(f"{where}: malformed JSON: {_one_line(e)}") from None


def load_schema(path: Path) -> Schema:
    raw = read_json_file(path, "schema")
    if not isinstance(raw, dict):
        raise DataError(f"{path}: schema must be a JSON object with 'topics' and/or 'stance'")
    topics = raw.get("topics", {})
    stances = raw.get("stance", raw.get("stances", []))
    if isinstance(topics, list):
        topics = {str(t): "" for t in topics}
    if isinstance(stances, dict):
        stances = list(stances)
    if not isinstance(topics, dict) or not isinstance(stances, list):
        raise DataError(f"{path}: 'topics' must be an object or list, 'stance' a list")
    if not topics and not stances:  # it would check nothing, silently
        raise DataError(f"{path}: the schema declares no label: give 'topics' and/or "
                        "'stance'")
    if any(not str(k).strip() for k in [*topics, *stances]):  # no record could carry it
        raise DataError(f"{path}: a label name is empty")
    return Schema(topics={str(k): str(v) for k, v in topics.items()},
                  stances=[str(s) for s in stances])


# ---------------------------------------------------------------- records


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def parse_record(obj: object, where: str, schema: Schema | None, need_labels: bool) -> Record:
    """Validate one decoded record; raise DataError naming ``where`` (file:line)."""
    text = item_text(obj, where)
    assert isinstance(obj, dict)
    topics = obj.get("topics")
    if topics is not None:
        if not isinstance(topics, list) or not all(isinstance(t, str) and t for t in topics):
            raise DataError(f"{where}: 'topics' must be a list of label names, got {topics!r:.60}")
        if schema and (schema.topics or schema.closed):
            unknown = [t for t in topics if t not in schema.topics]
            if unknown:
                raise DataError(f"{where}: unknown topic {unknown[0]!r} ("
                                + (f"schema has: {', '.join(schema.topics)})" if schema.topics
                                   else "the model has no topics)"))
        topics = tuple(dict.fromkeys(topics))
    stance = obj.get("stance")
    if stance is not None:
        if not isinstance(stance, str) or not stance:
            raise DataError(f"{where}: 'stance' must be a label name, got {stance!r:.60}")
        if schema and (schema.stances or schema.closed) and stance not in schema.stances:
            raise DataError(f"{where}: unknown stance {stance!r} ("
                            + (f"schema has: {', '.join(schema.stances)})" if schema.stances
                               else "the model has no stance classes)"))
    if need_labels and topics is None and stance is None:
        raise DataError(f"{where}: record has neither 'topics' nor 'stance'")
    source = item_id(obj, where, "source") or where
    weight = obj.get("weight")
    if weight is not None:
        weight = parse_weight(weight, f"{where}: 'weight'")
    return Record(text=text, topics=topics, stance=stance, source=source,
                  id=item_id(obj, where), where=where,
                  weight=1.0 if weight is None else weight)


MAX_WEIGHT = 1000.0  # a record counts at most this many times (file weight x its own)


def parse_weight(value: object, what: str) -> float:
    """A training weight: a number > 0 and at most ``MAX_WEIGHT`` (a string of one, as CSV
    cells are); larger weights overflow the fits' sums into a model of NaNs."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = float(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value <= 0 \
            or (not isinstance(value, numbers.Integral) and math.isnan(value)):
        raise DataError(f"{what} must be a positive number, got {value!r:.60}")
    if value > MAX_WEIGHT:  # an int too large for a float compares exactly
        raise DataError(f"{what} must be at most {MAX_WEIGHT:g}, got {value!r:.20}")
    return float(value)


def _iter_jsonl(path: Path) -> Iterator[tuple[int, object]]:
    with open_lines(path) as lines:
        yield from jsonl_values(lines, str(path))


def jsonl_values(lines: Iterable[str], name: str) -> Iterator[tuple[int, object]]:
    """(line number, decoded value) for each line of a JSONL stream called ``name`` that holds
    more than JSON whitespace (a line of other spaces is malformed JSON, named by its line)."""
    for lineno, line in enumerate(lines, 1):
        if line.strip(JSON_SPACE):
            where = f"{name}:{lineno}"
            obj = json_line(line, where)
            if isinstance(obj, dict) and ("\\u" in line
                                          or any(line.count(f'"{k}"') > 1 for k in obj)):
                _no_repeated_key(line, where)  # only then: a key may be there twice
            yield lineno, obj


def _no_repeated_key(line: str, where: str) -> None:
    """A DataError if the record on ``line`` gives one of its own (top-level) keys twice,
    compared as decoded names: JSON keeps the last value, so a merge that left two "topics"
    would silently drop the first. Objects nested in a record's fields are not ours to
    check."""
    repeated: dict[int, str] = {}  # id of an object -> its first repeated key

    def pairs(items: list[tuple[str, object]]) -> dict:
        d = dict(items)
        if len(d) < len(items):
            seen: set[str] = set()
            repeated[id(d)] = next(k for k, _ in items if k in seen or seen.add(k))
        return d

    top = json.loads(line, object_pairs_hook=pairs)
    if id(top) in repeated:
        raise DataError(f"{where}: the key {repeated[id(top)]!r} is given twice (JSON would "
                        "keep only the last)")


def item_text(obj: object, where: str) -> str:
    """The text of a record: ``obj`` must be a JSON object with a non-empty string ``text``;
    otherwise a DataError naming ``where`` (file:line)."""
    if not isinstance(obj, dict):
        raise DataError(f"{where}: record must be a JSON object, got {type(obj).__name__}")
    text = obj.get("text")
    if text is not None and not isinstance(text, str):
        raise DataError(f"{where}: 'text' must be a string, got {json_kind(text)}")
    if text is None or not text.strip():
        raise DataError(f"{where}: missing or empty 'text'")
    if not text.isascii() and not valid_unicode(text):
        at = next(i for i, c in enumerate(text) if "\ud800" <= c <= "\udfff")
        raise DataError(f"{where}: 'text' is not valid Unicode: a lone surrogate "
                        f"{text[at]!r} at character {at + 1}")
    return text


def json_kind(value: object) -> str:
    """What a decoded JSON value is, as messages name it: "a list", "true or false", ..."""
    return {bool: "true or false", int: "a number", float: "a number", list: "a list",
            dict: "an object", str: "a string", type(None): "null"}.get(
                type(value), type(value).__name__)


def item_id(obj: Mapping[str, object], where: str, key: str = "id") -> str | None:
    """A record's id (``obj[key]``; also its ``source``) as a string, None where it has none:
    a string as it is, a number (or any other scalar a library caller passes) written as one;
    a list, an object, true/false, bytes or a complex number is a DataError naming ``where``,
    not its Python repr in the output. (``tagging.Chunk`` takes the JSON scalars on its fast
    path: keep in step.)"""
    rid = obj.get(key)
    if rid is None:
        return None
    if isinstance(rid, (bool, list, tuple, dict, set, bytes, bytearray, complex)):
        # (numpy numbers etc. are kept; bytes would be written as "b'...'")
        raise DataError(f"{where}: {key!r} must be a string or a number, got {json_kind(rid)}")
    if isinstance(rid, numbers.Real) and not isinstance(rid, numbers.Integral):
        if math.isnan(rid):  # pandas' "no value": no id, not the id "nan" of every such row
            return None
        if math.isinf(rid):  # 1e400 in JSON
            raise DataError(f"{where}: {key!r} must be a finite number, got {rid}")
    rid = rid if isinstance(rid, str) else str(rid)
    if not rid.isascii() and not valid_unicode(rid):
        raise DataError(f"{where}: {key!r} is not valid Unicode (a lone surrogate)")
    return rid


def valid_unicode(text: str) -> bool:
    """Whether ``text`` can be written as UTF-8: JSON can escape a lone surrogate
    ("\\ud800"), which is half of a character and cannot."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


CSV_FIELD_LIMIT = 2**24  # characters in a cell (Python's default, 131,072, is a short article)


def _iter_csv(path: Path) -> Iterator[tuple[int, object]]:
    csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))
    with open_lines(path) as lines:
        # strict: a quote never closed is an error, not the rest of the file in one cell
        reader = csv.DictReader(lines, strict=True)
        try:
            fields = reader.fieldnames
        except csv.Error as e:
            raise DataError(f"{path}:1: malformed CSV header: {e}") from None
        if not fields or "text" not in fields:
            raise DataError(f"{path}:1: CSV needs a header with a 'text' column")
        if len(set(fields)) != len(fields):
            twice = sorted({f for f in fields if fields.count(f) > 1})
            raise DataError(f"{path}:1: column(s) named twice in the header: {', '.join(twice)}")
        try:
            for row in reader:
                where = f"{path}:{reader.line_num}"
                if None in row or any(v is None for v in row.values()):
                    n = len(row.get(None) or []) + sum(v is not None for k, v in row.items()
                                                        if k is not None)
                    raise DataError(f"{where}: {n} cells; the header has {len(fields)}")
                obj: dict[str, object] = dict(row)
                if "topics" in obj:
                    cell = obj["topics"] or ""
                    obj["topics"] = [t.strip() for t in str(cell).split(";") if t.strip()]
                    odd = next((t for t in obj["topics"] if "," in t or "|" in t), None)
                    if odd is not None:
                        raise DataError(f"{where}: topic {odd!r}: in a CSV file topics are "
                                        "separated by ';'")
                if obj.get("stance") == "":
                    obj["stance"] = None
                if obj.get("weight") == "":
                    obj["weight"] = None
                yield reader.line_num, obj
        except csv.Error as e:
            # the reader counts the lines of whole records: the one that failed starts after
            msg = str(e)
            if "new-line character seen in unquoted field" in msg:
                msg = "a line break (a lone \\r) inside a cell that is not in quotes"
            elif "unexpected end of data" in msg:
                msg = "a quote opened in this record is never closed"
            raise DataError(f"{path}:{reader.line_num + 1}: malformed CSV: {msg}") from None


def iter_raw(path: Path) -> Iterator[tuple[int, object]]:
    """(line number, decoded object) for each record of a JSONL or CSV file."""
    if path.suffix.lower() == ".csv":
        return _iter_csv(path)
    return _iter_jsonl(path)


def data_files(paths: Iterable[str | Path], schema_too: bool = True
               ) -> tuple[list[Path], Schema | None]:
    """Expand files and directories into data files; pick up a schema.json in a directory
    (not read with ``schema_too=False``, for callers that need only the texts)."""
    files: list[Path] = []
    schema: Schema | None = None
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.suffix.lower() in DATA_SUFFIXES
                           and f.is_file())
            if not found:
                raise DataError(f"{p}: no .jsonl or .csv files in this directory")
            files.extend(found)
            declared = declared_schema(p)
            if schema_too and declared:  # its labels count
                schema = _merge_schema(schema, load_schema(declared))
        elif p.is_file():
            files.append(p)
        else:
            raise DataError(f"{p}: " + missing(p))
    return files, schema


def declared_schema(directory: Path, name: str = SCHEMA_NAME) -> Path | None:
    """The schema.json (or other file ``name``, e.g. a recipe) of a data directory if anything
    stands at that name: a directory or a broken link there too, so that reading it says why
    it cannot be read instead of the file being left out without a word."""
    declared = directory / name
    try:
        return declared if declared.exists() or declared.is_symlink() else None
    except OSError as e:  # a directory that cannot be searched (no x permission)
        raise DataError(f"{directory}: cannot read the directory: {e.strerror or e}") from None


def missing(p: Path) -> str:
    """Why a path that is neither a regular file nor a directory cannot be read as data."""
    if p.exists():
        return "not a regular file or directory (a pipe or device: save it to a file first)"
    if p.is_symlink():
        return BROKEN_LINK
    return "no such file or directory"


def _merge_schema(a: Schema | None, b: Schema) -> Schema:
    if a is None:
        return b
    return Schema(topics={**a.topics, **b.topics},
                  stances=list(dict.fromkeys([*a.stances, *b.stances])))


def _merge(first: Record, other: Record, union: bool) -> tuple[Record, bool]:
    """The record kept for a text that occurs twice, and whether the two labels conflict.

    Multi-label topics (``union``): the union is kept, as a sentence labelled "aviation" in
    one place and "aviation, narcotics" in another carries both. Single-label data (every
    record has exactly one topic) keeps the first occurrence's topic, as a union would make it
    multi-label. A stance can only be one class: the first occurrence's is kept. Labels one
    occurrence lacks are taken from the other.
    """
    topics, stance = first.topics, first.stance
    conflict = False
    if other.topics is not None:
        if topics is None:
            topics = other.topics
        elif set(topics) != set(other.topics):
            conflict = True
            if union:
                topics = tuple(dict.fromkeys(topics + other.topics))
    if other.stance is not None:
        if stance is None:
            stance = other.stance
        elif stance != other.stance:
            conflict = True
    weight = max(first.weight, other.weight)  # a weighted copy keeps its weight
    tune = first.tune or other.tune  # ... and a marked one its mark
    if (topics, stance, weight, tune) == (first.topics, first.stance, first.weight, first.tune):
        return first, conflict
    return replace(first, topics=topics, stance=stance, weight=weight, tune=tune), conflict


def files_under(files: list[Path], path: str | Path, flag: str) -> list[Path]:
    """The data files ``path`` (a file or directory) names; none is a DataError naming
    ``flag`` (a typo would otherwise change nothing)."""
    if not str(path).strip():
        raise DataError(f"{flag} needs a data file or directory, got an empty path")
    where = Path(path).resolve()
    hit = [f for f in files if (r := f.resolve()) == where or where in r.parents]
    if not hit:
        raise DataError(f"{path}: {flag} names no data file given with --data "
                        f"({len(files)} file(s))")
    return hit


def file_weights(files: list[Path], weights: Mapping[str | Path, float] | None
                 ) -> dict[Path, float]:
    """Each data file's weight from ``weights`` (a file or directory -> weight; the most
    specific path that holds the file wins); files not named get 1. A path that names no
    data file is a DataError (a typo would otherwise weigh nothing)."""
    out = {f: 1.0 for f in files}
    if weights is not None and not isinstance(weights, Mapping):
        raise DataError(f"weights must map data files or directories to weights (e.g. "
                        f"{{'labels/mine.jsonl': 3}}), got {type(weights).__name__}")
    if not weights:
        return out
    specific: dict[Path, int] = {}
    for raw, w in weights.items():
        where = Path(raw).resolve()
        hit = files_under(files, raw, "--weight")
        depth = len(where.parts)
        for f in hit:
            if depth >= specific.get(f, -1):
                specific[f] = depth
                out[f] = parse_weight(w, f"--weight {raw}")
    return out


RECORD_FIELDS = frozenset({"text", "topics", "stance", "source", "id", "weight"})


def _meant_field(key: str) -> str | None:
    """The record field an unread field name looks like a slip for ("topic", "Topics",
    "stances"), if any; other extra fields (a URL, a date) are the user's own."""
    import difflib

    low = key.strip().lower()
    if low in RECORD_FIELDS:
        return low
    close = difflib.get_close_matches(low, sorted(RECORD_FIELDS), n=1, cutoff=0.8)
    return close[0] if close else None


def load_dataset(paths: Iterable[str | Path], schema_path: str | Path | None = None,
                 weights: Mapping[str | Path, float] | None = None,
                 tune_on: str | Path | Iterable[str | Path] | None = None) -> Dataset:
    """Load labelled records from files/directories, validating every line.

    A text that occurs more than once (after whitespace is normalised) is kept once, with
    labels merged by ``_merge``; where the occurrences disagree, ``Dataset.conflicts`` lists
    the pairs of places and one warning sums them up. ``weights`` (file or directory ->
    weight, see ``file_weights``) multiplies each record's own ``weight`` (default 1). The
    records of the files or directories ``tune_on`` names are marked ``tune``.
    """
    files, schema = data_files(paths)
    files = list(dict.fromkeys(files))  # a file named twice (a dir and a file in it) is read once
    fweight = file_weights(files, weights)
    tune_paths = [tune_on] if isinstance(tune_on, str | Path) else list(tune_on or ())
    marked = {f for p in tune_paths for f in files_under(files, p, "--tune-on")}
    if schema_path is not None:
        schema = _merge_schema(schema, load_schema(Path(schema_path)))
    records: list[Record] = []
    seen: dict[str, int] = {}
    repeats: list[tuple[int, Record]] = []  # later occurrences, merged once all are read
    warnings: list[str] = []
    empty: list[str] = []
    untopical: list[str] = []  # --tune-on files without a topic record: nothing to re-tune
    checked: set[str] = set()  # fields of records other than RECORD_FIELDS, seen once
    for f in files:
        before = len(records) + len(repeats)
        topical = False
        for lineno, obj in iter_raw(f):
            rec = parse_record(obj, f"{f}:{lineno}", schema, need_labels=True)
            topical = topical or rec.topics is not None
            assert isinstance(obj, dict)  # parse_record checked it
            for key in obj.keys() - RECORD_FIELDS - checked:
                checked.add(key)
                meant = _meant_field(key)
                if meant and meant not in obj:
                    warnings.append(f"{f}:{lineno}: field {key!r} is not read (did you mean "
                                    f"{meant!r}?)")
            if fweight[f] != 1.0 or f in marked:
                rec = replace(rec, weight=rec.weight * fweight[f], tune=f in marked)
            key = " ".join(rec.text.split())
            i = seen.get(key)
            if i is None:
                seen[key] = len(records)
                records.append(rec)
            else:
                repeats.append((i, rec))
        if len(records) + len(repeats) == before:
            empty.append(str(f))
        elif f in marked and not topical:
            untopical.append(str(f))
    if empty and len(empty) < len(files):  # all empty: the error below says so
        warnings.append(f"{', '.join(empty[:3])}{', ...' if len(empty) > 3 else ''}: no "
                        f"records in {'this file' if len(empty) == 1 else 'these files'}")
    if untopical:
        warnings.append(f"{', '.join(untopical[:3])}{', ...' if len(untopical) > 3 else ''}: "
                        "--tune-on re-tunes topic thresholds, and no record here carries "
                        "'topics': it has no effect")
    union = any(len(r.topics) != 1 for r in records + [r for _, r in repeats]
                if r.topics is not None)
    conflicts: list[tuple[str, str]] = []
    for i, rec in repeats:
        records[i], conflict = _merge(records[i], rec, union)
        if conflict:
            conflicts.append((records[i].where, rec.where))
    if conflicts:
        pairs = ", ".join(f"{a} and {b}" for a, b in conflicts[:3])
        kept = "the union of its topics" if union else "its first topic (single-label data)"
        warnings.append(f"{len(conflicts)} text(s) occur more than once with different labels "
                        f"({pairs}{', ...' if len(conflicts) > 3 else ''}): each is kept once, "
                        f"with {kept} and its first stance"
                        + ("; --verbose lists them all" if len(conflicts) > 3 else ""))
    if not records:
        raise DataError(f"{', '.join(map(str, files))}: no labelled records")
    topic_labels = sorted({t for r in records if r.topics for t in r.topics}
                          | set(schema.topics if schema else ()))
    stance_labels = sorted({r.stance for r in records if r.stance is not None}
                           | set(schema.stances if schema else ()))
    if schema is None:  # a schema names the labels; without one a typo is a new class
        warnings += _label_typos(records)
    has_topics = any(r.topics is not None for r in records)
    if has_topics and not topic_labels:
        warnings.append("no record carries any topic: the topic model is skipped")
    interrupts.checkpoint("after-load")
    return Dataset(records=records, topic_labels=topic_labels if has_topics else [],
                   stance_labels=stance_labels, schema=schema, warnings=warnings,
                   files=[str(f) for f in files], conflicts=conflicts,
                   weights={str(f): w for f, w in fweight.items() if w != 1.0},
                   tune_on=[str(f) for f in files if f in marked])


def _label_typos(records: Sequence[Record]) -> list[str]:
    """Warnings for labels that look like typos of others: names that differ only in case,
    spaces, hyphens or underscores ("Supportive" beside "supportive"), and a stance held by a
    single record beside stances of many. Each is trained as a class of its own."""
    out = []
    for kind in ("topic", "stance"):
        count: dict[str, int] = {}
        where: dict[str, str] = {}
        for r in records:
            names = (r.topics or []) if kind == "topic" else \
                ([] if r.stance is None else [r.stance])
            for x in names:
                count[x] = count.get(x, 0) + 1
                where.setdefault(x, r.where)
        groups: dict[str, list[str]] = {}
        for x in sorted(count):
            groups.setdefault(re.sub(r"[\s_-]+", " ", x).strip().casefold(), []).append(x)
        named: set[str] = set()
        for same in groups.values():
            if len(same) > 1:
                named.update(same)
                out.append(f"{kind} labels that differ only in case or spacing are trained as "
                           f"different classes: " + ", ".join(
                               f"{x!r} ({count[x]} record(s), first {where[x]})"
                               for x in same))
        if kind == "stance" and len(count) > 2:
            most = max(count.values())
            for x in sorted(count):
                if count[x] == 1 and most >= 10 and x not in named:
                    out.append(f"{where[x]}: stance {x!r} is held by this record only, beside "
                               f"{', '.join(repr(y) for y in sorted(count) if y != x)}: "
                               "a typo? (a schema.json names the stances)")
    return out


# ---------------------------------------------------------------- decoding


# Byte-order marks, the longer first (a UTF-32-LE mark begins with the UTF-16-LE one).
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))


def _looks_binary(sample: bytes) -> bool:
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    return b"\x00" in sample or (bool(sample) and controls / len(sample) > 0.05)


def _legacy(line: bytes) -> str:
    try:
        return line.decode("cp1252")
    except UnicodeDecodeError:  # the five bytes cp1252 leaves undefined
        return line.decode("latin-1")


def decoded_lines(raw: BinaryIO, name: str) -> Iterator[str]:
    """The one text decoder: lines (with their line endings) of a byte stream of unknown
    encoding, streaming. Every input (articles, JSONL and CSV, for ``tag``, ``train`` and
    ``evaluate``) is read through it.

    A byte-order mark decides (UTF-8, UTF-16 or UTF-32); without one, each line is UTF-8 or,
    failing that, Windows-1252 (Latin-1 for the five bytes cp1252 leaves undefined). Content
    that looks binary (a NUL byte, or many control characters in the first 64 KB) is refused
    with a DataError naming ``name``.
    """
    if not hasattr(raw, "peek"):
        raw = io.BufferedReader(raw)  # type: ignore[arg-type]
    yield from decoded_part(raw, name, head_encoding(raw, name))


def head_encoding(raw: BinaryIO, name: str) -> str | None:
    """What the head of a stream (a buffered one: it is peeked at, not read) says about its
    encoding: the codec its byte-order mark names, or None (each line UTF-8, else
    Windows-1252). Content that looks binary is a DataError naming ``name``."""
    head = raw.peek(4)[:4]  # type: ignore[attr-defined]
    for bom, enc in _BOMS:
        if head.startswith(bom):
            return enc
    if _looks_binary(raw.peek(65536)[:65536]):  # type: ignore[attr-defined]
        raise DataError(f"{name}: looks like a binary file, not text")
    return None


def decoded_part(raw: BinaryIO, name: str, encoding: str | None, first_line: int = 1
                 ) -> Iterator[str]:
    """The lines of a stream whose ``encoding`` its file's head decided (``head_encoding``):
    the whole file, or a part of it cut at a line boundary (``classify.cluster``) whose first
    line is line ``first_line`` of the file. A part after the first of a file with a UTF-8
    byte-order mark is decoded as "utf-8" (the mark is only at the file's start)."""
    if encoding is not None:
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        try:
            # not "yield from": a reader that stops early would close the wrapper, and with
            # it the caller's file, before the detach below
            for line in text:
                yield line
        except UnicodeDecodeError as e:
            raise DataError(f"{name}: invalid {encoding.removesuffix('-sig')} text after the "
                            f"byte-order mark: {e.reason}") from None
        finally:
            text.detach()
        return
    for lineno, line in enumerate(raw, first_line):
        if b"\x00" in line:
            raise DataError(f"{name}:{lineno}: NUL byte: looks like a binary file, not text")
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError:
            yield _legacy(line)


def decode_bytes(data: bytes, name: str) -> str:
    """Text of unknown encoding, decoded whole by ``decoded_lines``."""
    return "".join(decoded_lines(io.BytesIO(data), name))


def read_text(path: Path) -> str:
    with open_lines(path) as lines:
        return "".join(lines)


#: the name that stands for standard input, and how errors name it
STDIN, STDIN_NAME = "-", "<stdin>"


def stdin_bytes() -> BinaryIO:
    """Standard input as bytes; a one-line error if it is closed or a terminal (nothing piped)."""
    if sys.stdin is None:
        raise DataError("-: standard input is closed; pipe text in or name a file")
    if sys.stdin.isatty():
        raise DataError("-: standard input is a terminal; pipe text in or name a file")
    return sys.stdin.buffer


def is_stdin(path: str | Path) -> bool:
    """Whether a command-line input names standard input: the string ``-`` (a ``Path`` is
    always a file, so ``./-`` stays one)."""
    return isinstance(path, str) and path == STDIN


def input_name(path: str | Path) -> str:
    """How messages and records name an input: ``<stdin>`` for ``-``, else the path."""
    return STDIN_NAME if is_stdin(path) else str(path)


def json_object_line(line: str | bytes) -> bool:
    """Whether a line is one JSON object (how a piped JSONL batch is told from an article)."""
    try:
        text = line.decode("utf-8") if isinstance(line, bytes) else line
    except UnicodeDecodeError:
        return False
    body = text.lstrip("\ufeff \t\r\n")
    if not body.startswith("{"):
        return False
    try:
        return isinstance(json.loads(body), dict)
    except (ValueError, RecursionError):
        return False


BATCH_SUFFIXES = (".jsonl", ".ndjson")


def is_batch_file(path: str | Path, hint: str = "") -> bool:
    """Whether ``classify tag PATH`` (and ``suggest --pool``) reads the file as a JSONL batch
    (``input_format`` "auto"): a .jsonl or .ndjson file, or a .json file whose first line
    that is not blank, decoded as the batch reader decodes it, is one JSON object (JSON
    Lines under another name; an empty one is a batch with no record, and a pipe is not read
    ahead). A .json document of another shape and a .csv file are a DataError that says what
    to do, with ``hint`` (the caller's way to read a file as one article): read as prose,
    their markup would be tagged as sentences."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in BATCH_SUFFIXES:
        return True
    if suffix == ".json":
        if not path.is_file():  # a pipe: reading ahead would lose what it holds
            return True
        try:
            with open_lines(path) as lines:
                try:
                    first = next((ln for ln in lines if ln.strip(JSON_SPACE)), None)
                finally:
                    lines.close()  # while the file is open: the decoder cleans up
        except DataError:
            return True  # the reader names the problem (unreadable, binary)
        if first is None or json_object_line(first):
            return True
        raise DataError(f"{path}: a JSON document, not JSON Lines: classify reads batches "
                        "of one {\"text\": ...} object a line (e.g. jq -c '.[]' FILE.json > "
                        f"FILE.jsonl){hint}")
    if suffix == ".csv":
        raise DataError(f"{path}: classify tag reads JSONL batches, not CSV: write one "
                        f"{{\"text\": ...}} object a line{hint}")
    return False


@contextlib.contextmanager
def input_lines(path: str | Path) -> Iterator[Iterator[str]]:
    """The decoded lines of a command-line input: standard input for ``-`` (``is_stdin``),
    else the file (``open_lines``)."""
    if is_stdin(path):
        yield decoded_lines(stdin_bytes(), STDIN_NAME)
    else:
        with open_lines(Path(path)) as lines:
            yield lines


@contextlib.contextmanager
def open_lines(path: Path) -> Iterator[Iterator[str]]:
    """The decoded lines of a file (see ``decoded_lines``); a one-line error if unreadable."""
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as e:
        raise DataError(f"{path}: cannot read: {e.strerror or _one_line(e)}") from None
    with fh:
        yield decoded_lines(fh, str(path))


JSON_SPACE = " \t\r\n"
scan_json = json.JSONDecoder().scan_once


def json_line(line: str, where: str) -> object:
    """One line of a JSONL file, parsed on its own: a line that is not one whole JSON value is
    a DataError naming ``where`` (file:line), whatever the lines around it hold."""
    body = line.strip(JSON_SPACE)
    lead = len(line) - len(line.lstrip(JSON_SPACE))
    try:
        obj, end = scan_json(body, 0)
    except StopIteration:
        raise DataError(f"{where}: malformed JSON: expecting a value (column {lead + 1})"
                        ) from None
    except json.JSONDecodeError as e:
        raise DataError(f"{where}: malformed JSON: {e.msg} (column {lead + e.colno})") from None
    except RecursionError:
        raise DataError(f"{where}: malformed JSON: nested too deeply") from None
    except ValueError as e:  # e.g. an integer of more than 4,300 digits
        raise DataError(f"{where}: malformed JSON: {_one_line(e)}") from None
    if end != len(body):
        raise DataError(f"{where}: malformed JSON: extra data after the value "
                        f"(column {lead + end + 1})")
    return obj
