"""Loading and validating labelled records (JSONL/CSV), label schemas and input text files."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

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


@dataclass
class Schema:
    """Label sets declared up front: topic name -> one-line description, and stance classes."""

    topics: dict[str, str] = field(default_factory=dict)
    stances: list[str] = field(default_factory=list)


@dataclass
class Dataset:
    records: list[Record]
    topic_labels: list[str]
    stance_labels: list[str]
    schema: Schema | None
    warnings: list[str]
    files: list[str]

    @property
    def topic_records(self) -> list[Record]:
        return [r for r in self.records if r.topics is not None]

    @property
    def stance_records(self) -> list[Record]:
        return [r for r in self.records if r.stance is not None]

    def sha256(self) -> str:
        return records_sha256(self.records)


def records_sha256(records: Iterable[Record]) -> str:
    """A hash of the labelled content, independent of file format and paths."""
    h = hashlib.sha256()
    for r in records:
        row = [r.text, sorted(r.topics) if r.topics is not None else None, r.stance, r.source]
        h.update(json.dumps(row, ensure_ascii=False).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


# ---------------------------------------------------------------- schema


def load_schema(path: Path) -> Schema:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataError(f"{path}: cannot read schema: {_one_line(e)}") from None
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
    return Schema(topics={str(k): str(v) for k, v in topics.items()},
                  stances=[str(s) for s in stances])


# ---------------------------------------------------------------- records


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def _str_or_none(value: object) -> str | None:
    if value is None:
        return None
    return str(value)


def parse_record(obj: object, where: str, schema: Schema | None, need_labels: bool) -> Record:
    """Validate one decoded record; raise DataError naming ``where`` (file:line)."""
    if not isinstance(obj, dict):
        raise DataError(f"{where}: record must be a JSON object, got {type(obj).__name__}")
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        raise DataError(f"{where}: missing or empty 'text'")
    topics = obj.get("topics")
    if topics is not None:
        if not isinstance(topics, list) or not all(isinstance(t, str) and t for t in topics):
            raise DataError(f"{where}: 'topics' must be a list of label names, got {topics!r:.60}")
        if schema and schema.topics:
            unknown = [t for t in topics if t not in schema.topics]
            if unknown:
                raise DataError(f"{where}: unknown topic {unknown[0]!r} (schema has: "
                                f"{', '.join(schema.topics)})")
        topics = tuple(dict.fromkeys(topics))
    stance = obj.get("stance")
    if stance is not None:
        if not isinstance(stance, str) or not stance:
            raise DataError(f"{where}: 'stance' must be a label name, got {stance!r:.60}")
        if schema and schema.stances and stance not in schema.stances:
            raise DataError(f"{where}: unknown stance {stance!r} (schema has: "
                            f"{', '.join(schema.stances)})")
    if need_labels and topics is None and stance is None:
        raise DataError(f"{where}: record has neither 'topics' nor 'stance'")
    source = _str_or_none(obj.get("source")) or where
    return Record(text=text, topics=topics, stance=stance, source=source,
                  id=_str_or_none(obj.get("id")), where=where)


def _iter_jsonl(path: Path) -> Iterator[tuple[int, object]]:
    with open_text(path) as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield lineno, json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{path}:{lineno}: malformed JSON: {e.msg} "
                                f"(column {e.colno})") from None


def _iter_csv(path: Path) -> Iterator[tuple[int, object]]:
    with open_text(path) as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or "text" not in reader.fieldnames:
            raise DataError(f"{path}:1: CSV needs a header with a 'text' column")
        try:
            for row in reader:
                obj: dict[str, object] = {k: v for k, v in row.items() if k is not None}
                if "topics" in obj:
                    cell = obj["topics"] or ""
                    obj["topics"] = [t.strip() for t in str(cell).split(";") if t.strip()]
                if obj.get("stance") == "":
                    obj["stance"] = None
                yield reader.line_num, obj
        except csv.Error as e:
            raise DataError(f"{path}:{reader.line_num}: malformed CSV: {e}") from None


def iter_raw(path: Path) -> Iterator[tuple[int, object]]:
    """(line number, decoded object) for each record of a JSONL or CSV file."""
    if path.suffix.lower() == ".csv":
        return _iter_csv(path)
    return _iter_jsonl(path)


def data_files(paths: Iterable[str | Path]) -> tuple[list[Path], Schema | None]:
    """Expand files and directories into data files; pick up a schema.json in a directory."""
    files: list[Path] = []
    schema: Schema | None = None
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.suffix.lower() in DATA_SUFFIXES
                           and f.is_file())
            if not found:
                raise DataError(f"{p}: no .jsonl or .csv files in this directory")
            files.extend(found)
            if (p / SCHEMA_NAME).is_file():
                schema = _merge_schema(schema, load_schema(p / SCHEMA_NAME))
        elif p.is_file():
            files.append(p)
        else:
            raise DataError(f"{p}: no such file or directory")
    return files, schema


def _merge_schema(a: Schema | None, b: Schema) -> Schema:
    if a is None:
        return b
    return Schema(topics={**a.topics, **b.topics},
                  stances=list(dict.fromkeys([*a.stances, *b.stances])))


def _labels(r: Record) -> tuple[frozenset[str] | None, str | None]:
    return (None if r.topics is None else frozenset(r.topics)), r.stance


def load_dataset(paths: Iterable[str | Path], schema_path: str | Path | None = None) -> Dataset:
    """Load labelled records from files/directories, validating every line.

    Exact duplicates are dropped; a sentence labelled two different ways is kept once (first
    occurrence) with a warning naming both places.
    """
    files, schema = data_files(paths)
    if schema_path is not None:
        schema = _merge_schema(schema, load_schema(Path(schema_path)))
    records: list[Record] = []
    seen: dict[str, Record] = {}
    warnings: list[str] = []
    for f in files:
        for lineno, obj in iter_raw(f):
            rec = parse_record(obj, f"{f}:{lineno}", schema, need_labels=True)
            key = " ".join(rec.text.split())
            first = seen.get(key)
            if first is not None:
                if _labels(first) != _labels(rec):
                    warnings.append(f"{rec.where}: same sentence as {first.where} but labelled "
                                    "differently; keeping the first")
                continue
            seen[key] = rec
            records.append(rec)
    if not records:
        raise DataError(f"{', '.join(map(str, files))}: no labelled records")
    topic_labels = sorted({t for r in records if r.topics for t in r.topics}
                          | set(schema.topics if schema else ()))
    stance_labels = sorted({r.stance for r in records if r.stance is not None}
                           | set(schema.stances if schema else ()))
    has_topics = any(r.topics is not None for r in records)
    if has_topics and not topic_labels:
        warnings.append("no record carries any topic: the topic model is skipped")
    return Dataset(records=records, topic_labels=topic_labels if has_topics else [],
                   stance_labels=stance_labels, schema=schema, warnings=warnings,
                   files=[str(f) for f in files])


# ---------------------------------------------------------------- input text


def decode_bytes(data: bytes, name: str) -> str:
    """Decode text of unknown encoding: BOMs, then UTF-8, then Windows-1252, then Latin-1.

    Raises DataError for content that looks binary (NUL bytes or many control characters).
    """
    for bom, enc in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF32_LE, "utf-32-le"),
                     (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                     (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(enc)
            except UnicodeDecodeError as e:
                raise DataError(f"{name}: invalid {enc} after byte-order mark at byte "
                                f"{e.start + len(bom)}") from None
    sample = data[:65536]
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    if b"\x00" in sample or (sample and controls / len(sample) > 0.05):
        raise DataError(f"{name}: looks like a binary file, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def batch_lines(raw: io.BufferedIOBase, name: str) -> Iterator[bytes]:
    """Lines of a JSONL batch as UTF-8-compatible bytes, streaming.

    UTF-16/32 input (with a byte-order mark) is decoded and re-encoded as UTF-8 line by line;
    anything else is passed through for ``json.loads`` to decode (UTF-8, or per line cp1252).
    """
    head = raw.peek(4)[:4] if hasattr(raw, "peek") else b""
    for bom, enc in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                     (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if head.startswith(bom):
            text = io.TextIOWrapper(raw, encoding=enc, newline="")  # type: ignore[arg-type]
            try:
                for line in text:
                    yield line.encode("utf-8")
            except UnicodeDecodeError as e:
                raise DataError(f"{name}: invalid {enc} text: {e.reason}") from None
            finally:
                text.detach()
            return
    yield from raw


def read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot read: {e.strerror or _one_line(e)}") from None
    return decode_bytes(data, str(path))


class open_text:
    """Open a data file as text with the same encoding detection as ``read_text``, streaming.

    UTF-8 (with or without BOM) and UTF-16 with BOM are streamed; anything else is decoded whole.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fh: io.TextIOBase | None = None

    def __enter__(self) -> io.TextIOBase:
        try:
            raw = open(self.path, "rb")  # noqa: SIM115 - closed in __exit__
        except OSError as e:
            raise DataError(f"{self.path}: cannot read: {e.strerror or _one_line(e)}") from None
        head = raw.read(4)
        raw.seek(0)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and \
                not head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
            self.fh = io.TextIOWrapper(raw, encoding="utf-16", newline="")
        elif b"\x00" in head:
            raw.close()
            raise DataError(f"{self.path}: looks like a binary file, not text")
        else:
            self.fh = _Utf8Fallback(raw, str(self.path))
        return self.fh

    def __exit__(self, *exc: object) -> None:
        if self.fh is not None:
            self.fh.close()


class _Utf8Fallback(io.TextIOBase):
    """Line iterator over a binary file: UTF-8 (BOM stripped), falling back per line to cp1252."""

    def __init__(self, raw: io.BufferedReader, name: str) -> None:
        self.raw = raw
        self.name = name
        self.first = True

    def __iter__(self) -> Iterator[str]:  # type: ignore[override]
        for line in self.raw:
            if self.first:
                self.first = False
                line = line.removeprefix(codecs.BOM_UTF8)
            if b"\x00" in line:
                raise DataError(f"{self.name}: looks like a binary file, not text")
            try:
                yield line.decode("utf-8")
            except UnicodeDecodeError:
                yield line.decode("cp1252", errors="replace")

    def readline(self, size: int | None = -1) -> str:  # pragma: no cover - csv uses iteration
        return next(iter(self), "")

    def close(self) -> None:
        self.raw.close()
        super().close()
