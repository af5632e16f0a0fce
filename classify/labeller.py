"""A terminal labeller: one sentence at a time, the model's guess pre-selected, single keys.

Input: a suggestions file (``classify suggest``) or any JSONL of texts; an item's ``topics``
and ``stance`` (the model's guess) are pre-selected, and an item without them is tagged by
the model first. Keys (shown on screen): the digits toggle the topics (``t`` then numbers
and Enter for the eleventh and later), a stance class's letter picks it, Enter accepts,
Space skips, Backspace (or ``u``) undoes the last answer of this session, ``?`` shows the
guide's one-line definitions, ``q`` (or Esc, Ctrl-D) quits.

Persistence: every accepted answer is one training record (``text``, ``topics``, ``stance``,
``source``, ``id``), validated like training data and appended to the output file, flushed
and fsynced before the next item shows, so Ctrl-C, SIGTERM or a closed terminal loses
nothing. Skipped items go to ``OUT.skipped`` beside it (not a data file: training ignores
it). A rerun resumes at the first item whose text is in neither. An exclusive lock on the
output keeps two labellers from writing it at once.

The screen is plain text with ANSI clear-screen codes; keys are read from the terminal in
non-canonical mode without echo or signals (Ctrl-C arrives as a key and ends the run like
SIGINT), and the terminal's settings are restored on every way out.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import textwrap
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO

from . import interrupts
from .data import (
    Schema,
    input_lines,
    input_name,
    item_id,
    item_text,
    iter_raw,
    jsonl_values,
    parse_record,
    read_json_file,
)
from .errors import ClassifyError, DataError
from .output import visible
from .suggest import normalise

ACCEPT, SKIP, UNDO, HELP, QUIT, INTERRUPT, TOPIC_PROMPT = (
    "accept", "skip", "undo", "help", "quit", "interrupt", "topic-prompt")
COMMAND_KEYS = {"\r": ACCEPT, "\n": ACCEPT, " ": SKIP, "\x7f": UNDO, "\x08": UNDO,
                "u": UNDO, "?": HELP, "q": QUIT, "\x1b": QUIT, "\x04": QUIT,
                "\x03": INTERRUPT, "t": TOPIC_PROMPT}
CLEAR = "\x1b[H\x1b[2J"


@dataclass
class Item:
    id: str
    text: str
    source: str
    topics: list[str]  # the guess, pre-selected
    stance: str | None
    reason: str = ""
    where: str = ""
    score: float | None = None  # the suggestion's uncertainty, if any


@dataclass
class LabelResult:
    """What a labelling run did."""

    out: str
    items: int
    labelled: int  # answers in the output file for these items (this run and earlier ones)
    skipped: int
    remaining: int
    this_run: int  # answers written (or skips) in this run, less those undone
    quit: str  # "done" (all answered), "quit", "interrupted" (Ctrl-C), "closed" (terminal)

    def to_dict(self) -> dict:
        return asdict(self)


def read_items(path: str | Path) -> list[dict]:
    """The records of a JSONL file of texts (``-``: standard input), each validated (``text``
    required)."""
    out = []
    name = input_name(path)
    with input_lines(path) as lines:
        for lineno, obj in jsonl_values(lines, name):
            where = f"{name}:{lineno}"
            item_text(obj, where)
            assert isinstance(obj, dict)
            item_id(obj, where)  # a string or a number, not a list shown as its repr
            item_id(obj, where, "source")
            obj["_where"] = where
            out.append(obj)
    if not out:
        raise DataError(f"{name}: no items to label")
    return out


def done_texts(path: Path, schema: Schema | None = None) -> list[str]:
    """Normalised texts already answered in ``path``; with ``schema`` each record is
    validated as training data (a broken line stops with its place)."""
    if not path.exists():
        return []
    out = []
    for lineno, obj in iter_raw(path):
        if schema is not None:
            out.append(normalise(parse_record(obj, f"{path}:{lineno}", schema, True).text))
        elif isinstance(obj, dict) and isinstance(obj.get("text"), str):
            out.append(normalise(obj["text"]))
    return out


def guide(path: Path) -> dict[str, str]:
    """Label -> one-line definition from a schema.json (topics and stance as objects)."""
    raw = read_json_file(path, "the label guide")
    if not isinstance(raw, dict):
        raise DataError(f"{path}: a label guide is a schema.json: a JSON object with 'topics' "
                        "and/or 'stance'")
    out: dict[str, str] = {}
    for part in ("topics", "stance", "stances"):
        value = raw.get(part)
        if isinstance(value, dict):
            out.update({str(k): str(v) for k, v in value.items()})
        elif value is not None and not isinstance(value, list):
            raise DataError(f"{path}: '{part}' must be an object (label: definition) or a "
                            f"list of labels, got {type(value).__name__}")
    return out


class AnswerLog:
    """An append-only JSONL file: each line flushed and fsynced at once; the last line this
    session wrote can be taken back (the file is cut back to its length before it)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fh: IO[bytes] | None = None
        self.ends: list[int] = []  # file length before each line this session wrote

    def append(self, record: dict) -> None:
        if self.fh is None:  # opened at the first answer: no empty file without one
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.fh = open(self.path, "ab")  # noqa: SIM115 - closed by close()
        self.fh.seek(0, os.SEEK_END)
        start = size = self.fh.tell()
        try:
            if size and not self._ends_with_newline(size):
                self.fh.write(b"\n")
                size += 1
            self.fh.write((json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
            self.fh.flush()
            os.fsync(self.fh.fileno())
        except OSError as e:  # e.g. a full disk: no cut-off line is left behind
            self._cut_back(start)
            raise ClassifyError(f"{self.path}: cannot save the answer: {e.strerror or e}; the "
                                "answers saved before it are kept") from None
        self.ends.append(size)

    def _cut_back(self, length: int) -> None:
        """The file back to ``length`` bytes, after a write that failed part way."""
        assert self.fh is not None
        with contextlib.suppress(OSError):  # a buffer that cannot be written is dropped
            self.fh.close()
        self.fh = None  # reopened at the next answer
        with contextlib.suppress(OSError):
            os.truncate(self.path, length)

    def _ends_with_newline(self, size: int) -> bool:
        with open(self.path, "rb") as fh:
            fh.seek(size - 1)
            return fh.read(1) == b"\n"

    def undo(self) -> None:
        assert self.fh is not None and self.ends
        self.fh.flush()
        os.truncate(self.path, self.ends.pop())
        os.fsync(self.fh.fileno())

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None


def stance_keys(classes: Sequence[str]) -> dict[str, str]:
    """A letter per stance class: its first letter that is free (not a command key, not
    another class's), else the first free letter of the alphabet."""
    taken = set(COMMAND_KEYS)
    out: dict[str, str] = {}
    for c in classes:
        letters = [ch for ch in c.lower() if ch.isalpha()] + list("abcdefghijklmnoprsvwxyz")
        key = next(ch for ch in letters if ch not in taken)
        taken.add(key)
        out[key] = c
    return out


@dataclass
class Session:
    """The labelling state, separate from the terminal (so it is tested by keys alone)."""

    items: list[Item]
    topic_labels: list[str]
    stance_labels: list[str]
    descriptions: dict[str, str]
    answers: AnswerLog
    skips: AnswerLog
    schema: Schema
    done: set[str] = field(default_factory=set)
    pos: int = 0
    topics: set[str] = field(default_factory=set)
    stance: str | None = None
    history: list[tuple[str, int]] = field(default_factory=list)  # (kind, item index)
    show_help: bool = False
    prompt: str | None = None  # typed topic numbers after 't'
    message: str = ""
    counts: dict[str, int] = field(default_factory=lambda: {"labelled": 0, "skipped": 0})

    def __post_init__(self) -> None:
        self.keys = stance_keys(self.stance_labels)
        self._advance(0)

    @property
    def current(self) -> Item | None:
        return self.items[self.pos] if self.pos < len(self.items) else None

    def _advance(self, start: int) -> None:
        self.pos = start
        while self.pos < len(self.items) and normalise(self.items[self.pos].text) in self.done:
            self.pos += 1
        self._preselect()

    def _preselect(self) -> None:
        it = self.current
        if it is not None:
            self.topics = {t for t in it.topics if t in self.topic_labels}
            self.stance = it.stance if it.stance in self.stance_labels else None

    def record(self) -> dict:
        it = self.current
        assert it is not None
        rec: dict = {"text": it.text, "topics": [t for t in self.topic_labels
                                                  if t in self.topics]}
        if self.stance is not None:
            rec["stance"] = self.stance
        rec["source"] = it.source
        rec["id"] = it.id
        parse_record(rec, f"{self.answers.path} (new record)", self.schema, need_labels=True)
        return rec

    def key(self, k: str) -> str | None:
        """Apply one key; returns QUIT or INTERRUPT when the run should end."""
        self.message = ""
        if self.prompt is not None:
            return self._prompt_key(k)
        action = COMMAND_KEYS.get(k)
        if self.current is None and action not in (UNDO, QUIT, INTERRUPT, HELP):
            return QUIT
        if k.isdigit() and k not in COMMAND_KEYS:
            self._toggle(int(k) if k != "0" else 10)
        elif k in self.keys:
            self.stance = self.keys[k]
        elif action == ACCEPT:
            if self.stance_labels and self.stance is None:
                self.message = "pick a stance first"
                return None
            self.answers.append(self.record())
            self._done("labelled")
        elif action == SKIP:
            it = self.current
            assert it is not None
            self.skips.append({"id": it.id, "text": it.text, "source": it.source})
            self._done("skipped")
        elif action == UNDO:
            self._undo()
        elif action == HELP:
            self.show_help = not self.show_help
        elif action == TOPIC_PROMPT:
            self.prompt = ""
        elif action in (QUIT, INTERRUPT):
            return action
        return None

    def _toggle(self, number: int) -> None:
        if 1 <= number <= len(self.topic_labels):
            self.topics ^= {self.topic_labels[number - 1]}
        else:
            self.message = f"no topic {number}"

    def _prompt_key(self, k: str) -> str | None:
        assert self.prompt is not None
        if k in ("\r", "\n"):
            for part in self.prompt.replace(",", " ").split():
                if part.isdigit():
                    self._toggle(int(part))
            self.prompt = None
        elif k in ("\x7f", "\x08"):
            self.prompt = self.prompt[:-1]
        elif k in ("\x1b", "\x03"):
            self.prompt = None
        elif k.isdigit() or k in " ,":
            self.prompt += k
        return None

    def _done(self, kind: str) -> None:
        it = self.current
        assert it is not None
        self.done.add(normalise(it.text))
        self.history.append((kind, self.pos))
        self.counts[kind] += 1
        self._advance(self.pos + 1)

    def _undo(self) -> None:
        if not self.history:
            self.message = "nothing to undo in this session"
            return
        kind, index = self.history.pop()
        (self.answers if kind == "labelled" else self.skips).undo()
        self.counts[kind] -= 1
        it = self.items[index]
        self.done.discard(normalise(it.text))
        self.pos = index
        self._preselect()
        self.message = f"undone: {'answer' if kind == 'labelled' else 'skip'} taken back"


def render(s: Session, width: int = 80) -> str:
    """The screen for the session's state."""
    width = max(40, width)
    n = len(s.items)
    done = sum(normalise(it.text) in s.done for it in s.items)
    head = (f"classify label: {min(s.pos + 1, n)} of {n}  ({done} answered; this session "
            f"{s.counts['labelled']} labelled, {s.counts['skipped']} skipped)")
    lines = [head, "-" * min(width, 78)]
    it = s.current
    if it is None:
        lines += ["", "All items are answered.", f"Answers: {s.answers.path}", "",
                  "Backspace/u: undo the last answer   q: quit"]
        if s.message:
            lines += ["", s.message]
        return "\n".join(lines) + "\n"
    lines.append(visible(f"id {it.id}   source {it.source}"))
    if it.reason:
        lines.append(visible(f"unsure about {it.reason}"))
    lines.append("")
    lines += textwrap.wrap(visible(it.text), width=min(width, 100) - 2, initial_indent="  ",
                           subsequent_indent="  ") or ["  "]
    lines.append("")
    lines.append("topics (digits toggle; t: type numbers):")
    def definition(label: str) -> list[str]:
        d = s.descriptions.get(label, "")
        if not (s.show_help and d):
            return []
        return textwrap.wrap(d, width=min(width, 100) - 2, initial_indent=" " * 12,
                             subsequent_indent=" " * 12)

    for j, t in enumerate(s.topic_labels, 1):
        mark = "x" if t in s.topics else " "
        key = str(j % 10) if j <= 10 else f"t{j}"
        lines.append(f"  [{mark}] {key:>3} {t}"[:width])
        lines += definition(t)
    if s.stance_labels:
        lines.append("stance (letter picks):")
        for k, c in s.keys.items():
            mark = "*" if c == s.stance else " "
            lines.append(f"  ({mark}) {k:>3} {c}"[:width])
            lines += definition(c)
    lines.append("")
    if s.prompt is not None:
        lines.append(f"toggle topics (numbers, Enter): {s.prompt}_")
    lines.append("Enter accept   Space skip   Backspace/u undo   ? definitions   q quit")
    if s.message:
        lines.append(s.message)
    return "\n".join(lines) + "\n"


def _keys(data: str) -> Iterator[str]:
    """Keys from what a read returned: escape sequences (arrows, ...) and Alt+key (Esc and
    the key in one read) are dropped; Esc alone (or twice) is a key (quit)."""
    i = 0
    while i < len(data):
        ch = data[i]
        if ch == "\x1b" and i + 1 < len(data) and data[i + 1] != "\x1b":
            if data[i + 1] not in "[O":
                i += 2  # Alt+key
                continue
            j = i + 2
            while j < len(data) and not data[j].isalpha() and data[j] != "~":
                j += 1
            i = j + 1
            continue
        yield ch
        i += 1


@contextlib.contextmanager
def terminal(fd: int) -> Iterator[None]:
    """Non-canonical input without echo or signal keys; the old settings come back on every
    way out (an interrupt included, through ``interrupts.cleanups``)."""
    import termios

    old = termios.tcgetattr(fd)
    new = termios.tcgetattr(fd)
    new[3] &= ~(termios.ICANON | termios.ECHO | termios.ISIG | termios.IEXTEN)
    new[6][termios.VMIN] = 1
    new[6][termios.VTIME] = 0

    def restore() -> None:
        termios.tcsetattr(fd, termios.TCSADRAIN, old)

    termios.tcsetattr(fd, termios.TCSADRAIN, new)
    interrupts.cleanups.append(restore)
    try:
        yield
    finally:
        with contextlib.suppress(termios.error, OSError):
            restore()
        interrupts.cleanups.remove(restore)


def run_terminal(s: Session, fd_in: int, write: Callable[[str], None]) -> str:
    """Show the session and apply keys from ``fd_in`` until quit; returns how it ended."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    with terminal(fd_in):
        while True:
            write(CLEAR + render(s, shutil.get_terminal_size((80, 24)).columns))
            try:
                data = os.read(fd_in, 64)
            except OSError:  # the terminal went away
                return "closed"
            if not data:
                return "closed"
            for k in _keys(decoder.decode(data)):
                end = s.key(k)
                if end == INTERRUPT:
                    return "interrupted"
                if end == QUIT:
                    return "done" if s.current is None else "quit"


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on the answers file ``path`` for one session: a lock file beside
    the file the path leads to (a symlink to it takes the same lock)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    real = path.resolve()
    lock = real.with_name(real.name + ".lock")
    with open(lock, "a+b") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataError(f"{path}: another 'classify label' is writing this file") from None
        interrupts.temp_files.add(str(lock))
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                lock.unlink()
            interrupts.temp_files.discard(str(lock))
            fcntl.flock(fh, fcntl.LOCK_UN)


def skipped_path(out: Path) -> Path:
    return out.with_name(out.name + ".skipped")
