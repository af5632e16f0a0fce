"""Tagging JSONL batches on a Dask cluster (``classify tag FILES --scheduler tcp://HOST:PORT``).

The client (this process) cuts each input file at line boundaries into byte ranges of about
``partition_bytes``, counting lines on the way, so each partition knows the number of its first
line. A worker reads its range from the shared filesystem (workers must see the input files
and the model directory under the same absolute paths as the client; a ``LocalCluster``
always does) and decodes and tags it with the code of a local run (``data.decoded_part`` and
``api.iter_render_batch``), so records, output bytes and error messages (``file:line``) are
those of a local run. Each worker process loads the model once (``Tagger.load``, SHA-256
check included), cached by (model directory, model SHA-256).

Two ways to collect the output:

* to the client (``output_dir=None``): each partition's JSONL text comes back and is yielded
  in input order, with a bounded number of partitions in flight, so memory stays flat;
* to a directory: each worker writes its partition to ``DIR/part-NNNNN.jsonl`` atomically
  and the client records it in ``DIR/manifest.json`` (atomically, after each partition):
  input file, byte and line range, output file, records, invalid records, SHA-256. A rerun
  skips the partitions whose part file still has its recorded SHA-256; a changed input (size
  or modification time) is started over, and so is everything when the model or the options
  that shape the output differ.

A task that raises is retried (``RETRIES``); a task whose worker dies is rescheduled by Dask.
Invalid records follow the rules of a local run: without ``skip_invalid`` the first one of an
input (in input order) stops that input with its ``file:line`` message; with it, it becomes an
``error`` line and is counted. Dask is imported only when a cluster is used: without it,
``require_dask`` raises the one-line hint to install ``classify[dask]``.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import hashlib
import io
import json
import os
import re
import threading
import uuid
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, BinaryIO

from . import __version__, interrupts
from .data import decoded_part, head_encoding
from .errors import ClassifyError, DataError, ModelError
from .output import jsonl_block
from .persist import atomic_write_bytes, atomic_writer, read_meta
from .tagging import Tagger, _parse_line, batch_item, tag_batch

if TYPE_CHECKING:
    import dask.bag
    import distributed

DEFAULT_PARTITION_BYTES = 64 * 2**20
RETRIES = 2  # a task that raises is run again this many times; a dead worker's is rescheduled
CONNECT_TIMEOUT = "30s"
MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
MAX_EXAMPLES = 5  # invalid-record messages kept per partition and per run
_READ_BLOCK = 1 << 20
_PART_NAME = re.compile(r"part-\d{5,}\.jsonl")


class InvalidRecord(DataError):
    """An invalid record stopped its input (the run was without ``skip_invalid``)."""


def require_dask(what: str = "--scheduler") -> ModuleType:
    """``distributed``, or a one-line ClassifyError with the hint to install the extra."""
    try:
        import dask.bag  # noqa: F401 - part of the extra, checked here once
        import distributed
    except ImportError:
        raise ClassifyError(f"{what} needs Dask: pip install 'classify[dask]'") from None
    return distributed


_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def parse_size(text: str) -> int:
    """A size in bytes: a number with an optional K, M, G or T suffix (powers of 1024; "B" or
    "iB" may follow): "64MB", "512K", "1.5G", "4096"."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([KMGT]?)(?:I?B)?\s*", text, re.IGNORECASE)
    if not m:
        raise ValueError(f"not a size: {text!r} (use bytes, or a K, M or G suffix: 64MB)")
    n = int(float(m[1]) * _UNITS[m[2].upper()])
    if n < 1:
        raise ValueError(f"must be at least 1 byte, got {text!r}")
    return n


# ---------------------------------------------------------------- what travels to workers


@dataclass(frozen=True)
class Partition:
    """A byte range of an input file that starts and ends at line boundaries."""

    index: int  # in the run's plan, across inputs: its part file's number
    input: int  # which input (position in the run's list)
    name: str  # the input as named by the caller: messages and manifest
    path: str  # absolute, read by the worker
    start: int  # bytes [start, end)
    end: int
    first_line: int
    lines: int
    encoding: str | None  # what the file's head said (see data.decoded_part)

    @property
    def output(self) -> str:
        return f"part-{self.index:05d}.jsonl"

    def where(self) -> str:
        last = self.first_line + max(self.lines, 1) - 1
        return f"{self.name}: bytes {self.start}-{self.end} (lines {self.first_line}-{last})"


@dataclass(frozen=True)
class Job:
    """What every task of a run shares."""

    model_dir: str
    model_sha256: str | None
    trust: bool = False
    explain: bool = False
    skip_invalid: bool = False
    output_dir: str | None = None
    thresholds: tuple[tuple[str, float], ...] = ()  # topic threshold overrides (sorted)


@dataclass
class PartResult:
    """What a task sends back: counts, and the text (to the client) or the part file's hash."""

    records: int = 0
    invalid: int = 0
    examples: list[str] = field(default_factory=list)  # the first invalid-record messages
    text: str | None = None
    sha256: str | None = None
    output_bytes: int = 0
    failure: str | None = None  # the input failed in this partition (one line)
    invalid_failure: bool = False  # ... because of an invalid record
    model_error: str | None = None  # the worker could not load the model: the run fails


# ---------------------------------------------------------------- worker side

_TAGGERS: dict[tuple[str, str | None, tuple], Tagger] = {}
_TAGGERS_LOCK = threading.Lock()


def worker_tagger(model_dir: str, model_sha256: str | None, trust: bool = False,
                  thresholds: tuple[tuple[str, float], ...] = ()) -> Tagger:
    """The model of this worker process, loaded once per (directory, SHA-256, threshold
    overrides) with the normal checks; a model whose SHA-256 is not the one the client read
    is refused."""
    key = (model_dir, model_sha256, thresholds)
    with _TAGGERS_LOCK:
        tagger = _TAGGERS.get(key)
        if tagger is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tagger = Tagger.load(model_dir, trust=trust, thresholds=dict(thresholds))
            seen = tagger.meta.get("model_sha256")
            if model_sha256 is not None and seen != model_sha256:
                raise ModelError(f"{model_dir}: a worker sees another model here (SHA-256 "
                                 f"{str(seen)[:12]}...) than the client "
                                 f"({model_sha256[:12]}...); workers must see the same "
                                 "model directory")
            if len(_TAGGERS) >= 4:
                _TAGGERS.clear()
            _TAGGERS[key] = tagger
    return tagger


class _Range(io.RawIOBase):
    """The bytes [start, end) of an unbuffered file, as a readable stream."""

    def __init__(self, fh: BinaryIO, start: int, end: int) -> None:
        super().__init__()
        self.fh = fh
        self.left = end - start
        fh.seek(start)

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = min(len(b), self.left)
        if n <= 0:
            return 0
        got = self.fh.readinto(memoryview(b)[:n]) or 0
        self.left -= got
        return got


@contextlib.contextmanager
def part_lines(part: Partition) -> Iterator[Iterator[str]]:
    """The decoded lines of a partition, read from the shared filesystem."""
    try:
        fh = open(part.path, "rb", buffering=0)  # noqa: SIM115 - closed below
    except OSError as e:
        raise DataError(f"{part.name}: cannot read: {e.strerror or e}") from None
    with fh:
        raw = io.BufferedReader(_Range(fh, part.start, part.end), buffer_size=1 << 16)
        yield decoded_part(raw, part.name, part.encoding, part.first_line)


def tag_partition(part: Partition, job: Job) -> PartResult:
    """The task: tag one partition as a local run would; its JSONL text comes back, or is
    written to ``job.output_dir`` (then only its SHA-256 comes back). An input that fails
    here (an invalid record without ``skip_invalid``, a binary or unreadable file) comes back
    as ``failure``, with no part file; only unexpected errors raise (and are retried)."""
    from .api import iter_render_batch

    try:
        tagger = worker_tagger(job.model_dir, job.model_sha256, job.trust, job.thresholds)
    except ModelError as e:
        return PartResult(model_error=str(e))
    interrupts.checkpoint("mid-partition")
    res = PartResult()

    def invalid(error: str) -> None:
        if not job.skip_invalid:
            raise InvalidRecord(error)
        res.invalid += 1
        if len(res.examples) < MAX_EXAMPLES:
            res.examples.append(error)

    try:
        with part_lines(part) as lines:
            blocks = iter_render_batch(lines, part.name, tagger, jsonl_block,
                                       explain=job.explain, on_invalid=invalid,
                                       first_line=part.first_line)
            if job.output_dir is None:
                texts = []
                for n, block in blocks:
                    res.records += n
                    texts.append(block)
                res.text = "".join(texts)
                return res
            digest = hashlib.sha256()
            with atomic_writer(Path(job.output_dir) / part.output) as fh:
                for n, block in blocks:
                    data = block.encode("utf-8")
                    digest.update(data)
                    fh.write(data)
                    res.records += n
                    res.output_bytes += len(data)
            res.sha256 = digest.hexdigest()
            return res
    except InvalidRecord as e:
        return PartResult(failure=str(e), invalid_failure=True)
    except DataError as e:
        return PartResult(failure=str(e))


# ---------------------------------------------------------------- cutting inputs


@dataclass(frozen=True)
class _Input:
    input: int
    name: str
    path: str
    size: int
    mtime_ns: int
    encoding: str | None


@dataclass(frozen=True)
class _Failed:
    input: int
    name: str
    message: str
    index: int  # the plan position where it failed (orders failures within an input)


class _LineCounter:
    """Line ends in consecutive pieces of a file: b"\\n" (what a local run's byte lines end
    with), or with ``universal`` also a lone b"\\r" (a UTF-8 file with a byte-order mark is
    read as text, whose lines also end at "\\r")."""

    def __init__(self, universal: bool) -> None:
        self.universal = universal
        self.count = 0
        self.last = b""

    def feed(self, piece: bytes) -> None:
        if not piece:
            return
        self.count += piece.count(b"\n")
        if self.universal:
            self.count += piece.count(b"\r") - piece.count(b"\r\n")
            if self.last == b"\r" and piece[:1] == b"\n":
                self.count -= 1  # a "\r\n" across two pieces is one line end
        self.last = piece[-1:]

    def take(self) -> int:
        n, self.count = self.count, 0
        return n


_WHOLE_FILE = ("utf-16", "utf-32")  # their newlines are not single bytes: never cut


def cut_input(input_no: int, name: str, path: Path, partition_bytes: int, index: int = 0
              ) -> Iterator[_Input | Partition]:
    """The input's facts, then its partitions: byte ranges of at least ``partition_bytes``
    (but the last), each ending after a newline, numbered from ``index``. Reads the file once,
    a block at a time. A file that cannot be read or looks binary is a DataError naming it,
    with the message of a local run."""
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as e:
        raise DataError(f"{name}: cannot read: {e.strerror or e}") from None
    with fh:
        st = os.fstat(fh.fileno())
        enc = head_encoding(fh, name)
        yield _Input(input_no, name, str(path), st.st_size, st.st_mtime_ns, enc)
        if enc in _WHOLE_FILE:
            n = sum(1 for _ in decoded_part(fh, name, enc))  # lines, for the manifest
            yield Partition(index, input_no, name, str(path), 0, st.st_size, 1, n, enc)
            return
        later_enc = "utf-8" if enc == "utf-8-sig" else None
        counter = _LineCounter(universal=enc is not None)
        start, first_line, pos = 0, 1, 0
        while True:
            try:
                block = fh.read(_READ_BLOCK)
            except OSError as e:
                raise DataError(f"{name}: cannot read: {e.strerror or e}") from None
            if not block:
                break
            i = 0
            while True:
                target = start + partition_bytes - 1 - pos  # the cut's earliest newline
                j = block.find(b"\n", max(i, target)) if target < len(block) else -1
                if j < 0:
                    counter.feed(block[i:])
                    break
                counter.feed(block[i:j + 1])
                n = counter.take()
                yield Partition(index, input_no, name, str(path), start, pos + j + 1,
                                first_line, n, enc if start == 0 else later_enc)
                index += 1
                first_line += n
                start, i = pos + j + 1, j + 1
            pos += len(block)
        if start < pos:
            ends = (b"\n", b"\r") if counter.universal else (b"\n",)
            n = counter.take() + (counter.last not in ends)  # a last line without its end
            yield Partition(index, input_no, name, str(path), start, pos, first_line, n,
                            enc if start == 0 else later_enc)


def plan(inputs: Sequence[tuple[str, Path]], partition_bytes: int
         ) -> Iterator[_Input | Partition | _Failed]:
    """Every input's facts and partitions, in input order, lazily (the client reads at most
    a few partitions ahead of the cluster); an input that cannot be cut is a ``_Failed``."""
    index = 0
    for no, (name, path) in enumerate(inputs):
        try:
            for ev in cut_input(no, name, path, partition_bytes, index):
                if isinstance(ev, Partition):
                    index = ev.index + 1
                yield ev
        except DataError as e:
            yield _Failed(no, name, str(e), index)


# ---------------------------------------------------------------- the client side


@dataclass
class ClusterRun:
    """What a run on a cluster did. With output to the client, ``blocks`` yields the JSONL
    text in input order, and the counts are final once it is exhausted; with ``output_dir``
    everything is done when ``tag_on_cluster`` returns."""

    inputs: list[str]
    output_dir: str | None = None
    partitions: int = 0  # planned
    done: int = 0  # tagged by this run
    skipped: int = 0  # done and verified by an earlier run (output_dir)
    records: int = 0  # in the done and skipped partitions; blank lines are not records
    invalid: int = 0  # of those, invalid (error lines; only with skip_invalid)
    invalid_examples: list[str] = field(default_factory=list)  # the first, in input order
    failures: list[str] = field(default_factory=list)  # one line per input that failed
    complete: bool = False
    blocks: Iterator[str] = field(default_factory=lambda: iter(()), repr=False)
    # (partition index, position, message) of the first invalid records so far, in input
    # order whatever order the partitions finish in, as a local run reports them
    _first_invalid: list[tuple[int, int, str]] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict:
        # field by field: asdict() would deep-copy the blocks generator, which cannot be
        return {f.name: copy.deepcopy(getattr(self, f.name)) for f in fields(self)
                if f.name not in ("blocks", "_first_invalid")}

    def _add(self, part: Partition, res: PartResult) -> None:
        self.records += res.records
        self.invalid += res.invalid
        self._first_invalid = sorted(self._first_invalid + [
            (part.index, k, msg) for k, msg in enumerate(res.examples)])[:MAX_EXAMPLES]
        self.invalid_examples = [msg for _, _, msg in self._first_invalid]


OnFailure = Callable[[DataError], None]


def _connect(target: Any) -> tuple[distributed.Client, bool]:
    """(client, whether this run opened it and must close it)."""
    distributed = require_dask()
    if not isinstance(target, str | os.PathLike):
        return target, False
    try:
        _handshake(str(target))
        return distributed.Client(str(target), timeout=CONNECT_TIMEOUT,
                                  set_as_default=False), True
    except TimeoutError:
        raise ClassifyError(f"{target}: cannot connect to the Dask scheduler: no answer as a "
                            f"Dask scheduler within {CONNECT_TIMEOUT}") from None
    except (OSError, ValueError, TypeError) as e:
        raise ClassifyError(f"{target}: cannot connect to the Dask scheduler: "
                            f"{' '.join(str(e).split())[:200]}") from None
    except MemoryError:  # the address answers, but not as Dask does (e.g. an SSH server)
        raise ClassifyError(f"{target}: cannot connect to the Dask scheduler: what answers "
                            "there does not speak Dask's protocol") from None


def _handshake(address: str) -> None:
    """Open a connection to ``address`` and exchange Dask's handshake, all within
    ``CONNECT_TIMEOUT`` (``TimeoutError`` otherwise). ``Client``'s own timeout covers the
    connection but not the handshake, so a server that accepts and never answers would keep it
    waiting for ever."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from dask.utils import parse_timedelta
    from distributed.comm import connect
    from distributed.security import Security

    seconds = parse_timedelta(CONNECT_TIMEOUT)
    _reachable(address, seconds)
    # the credentials Client would use for this address (tls:// needs them): the configured
    # security loader's, else those of dask's configuration
    try:
        from distributed.client import _maybe_call_security_loader

        security = _maybe_call_security_loader(address) or Security()
    except ImportError:  # a distributed without the loader
        security = Security()
    args = security.get_connection_args("client")

    async def probe() -> None:
        comm = await asyncio.wait_for(connect(address, timeout=seconds, **args), seconds)
        await comm.close()

    # on a thread of its own: the caller may be inside a running event loop (a notebook)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, probe()).result()


def _reachable(address: str, seconds: float) -> None:
    """For a tcp:// or tls:// address: a port out of range is a ValueError and a refused
    connection an OSError at once (Dask's own connect retries those until its timeout)."""
    import socket

    scheme, sep, rest = address.partition("://")
    if not sep or scheme not in ("tcp", "tls"):
        return
    if rest.startswith("["):  # an IPv6 address: [::1]:8786
        host, _, after = rest[1:].partition("]")
        port = after[1:] if after.startswith(":") else ""
    else:
        host, _, port = rest.rpartition(":")
    if not host or not port:
        return  # no port given: Dask says so (or uses its default)
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"invalid port {port!r} (1 to 65535)")
    with socket.create_connection((host, int(port)), timeout=seconds):
        pass


def _limit(client: distributed.Client) -> int:
    """Partitions in flight: two per worker thread (one running, one waiting)."""
    try:
        threads = sum(client.nthreads().values())
    except Exception:  # noqa: BLE001 - an answer of the scheduler we cannot read: be modest
        threads = 1
    return max(2, 2 * threads)


def _submit(client: distributed.Client, token: str, part: Partition, job: Job
            ) -> distributed.Future:
    return client.submit(tag_partition, part, job, key=f"classify-tag-{token}-{part.index:05d}",
                         retries=RETRIES, pure=False)


def _result(fut: distributed.Future, part: Partition) -> PartResult:
    """A task's result; a task that failed for good is a failure of its input, one line."""
    from concurrent.futures import CancelledError

    try:
        return fut.result()
    except ClassifyError:
        raise
    except CancelledError:
        raise ClassifyError(f"{part.where()}: the Dask scheduler cancelled the task (did the "
                            "scheduler stop?)") from None
    except Exception as e:  # noqa: BLE001 - whatever a worker raised, after its retries
        what = " ".join(str(e).split())[:200]
        return PartResult(failure=f"{part.where()}: the cluster could not tag this partition: "
                                  f"{type(e).__name__}: {what}")


def _failure(message: str, invalid: bool) -> DataError:
    return InvalidRecord(message) if invalid else DataError(message)


def _absolute(paths: Iterable[str | Path]) -> list[tuple[str, Path]]:
    return [(str(p), Path(p).resolve()) for p in paths]


def model_sha256(model_dir: Path, trust: bool = False) -> str | None:
    """The model's SHA-256 as its ``meta.json`` records it (None for an unverified
    directory, which only ``trust`` accepts). Workers check the file against it."""
    try:
        sha = read_meta(model_dir).get("model_sha256")
    except ModelError:
        if trust and model_dir.is_dir():
            return None
        raise
    return None if sha is None else str(sha)


def checked_thresholds(model_dir: Path, trust: bool, thresholds: Mapping[str, float] | None
                       ) -> tuple[tuple[str, float], ...]:
    """Threshold overrides checked against the model on the client (an unknown topic or a
    value outside [0, 1] fails here, before any work is sent), as a hashable sorted tuple."""
    if not thresholds:
        return ()
    return tuple(sorted(Tagger.load(model_dir, trust=trust, thresholds=thresholds)
                        .thresholds.items()))


def tag_on_cluster(paths: Sequence[str | Path], client_or_address: Any,
                   model_dir: str | Path, *, output_dir: str | Path | None = None,
                   skip_invalid: bool = False,
                   partition_bytes: int = DEFAULT_PARTITION_BYTES, explain: bool = False,
                   trust: bool = False, on_failure: OnFailure | None = None,
                   log: Callable[[str], None] = lambda _: None,
                   thresholds: Mapping[str, float] | None = None) -> ClusterRun:
    """Tag JSONL batch files on a Dask cluster (see the module docstring); ``api`` has the
    documented entry point."""
    require_dask("tag_on_cluster")
    if isinstance(partition_bytes, bool) or not isinstance(partition_bytes, int) \
            or partition_bytes < 1:
        raise ClassifyError(f"partition size must be a whole number of bytes (at least 1), "
                            f"got {partition_bytes!r:.40} (the CLI's --partition-size takes "
                            "64MB; from Python give 64 * 2**20)")
    mdir = Path(model_dir).resolve()
    job = Job(str(mdir), model_sha256(mdir, trust), trust, explain, skip_invalid,
              None if output_dir is None else str(Path(output_dir).resolve()),
              checked_thresholds(mdir, trust, thresholds))
    inputs = _absolute(paths)
    run = ClusterRun(inputs=[name for name, _ in inputs], output_dir=job.output_dir)
    events = plan(inputs, partition_bytes)

    def fail(err: DataError) -> None:
        run.failures.append(str(err))
        if on_failure is None:
            raise err
        on_failure(err)

    if job.output_dir is None:
        run.blocks = _to_client(client_or_address, events, job, run, fail)
        return run
    out = Path(job.output_dir)
    _check_output_dir(out)
    client, own = _connect(client_or_address)  # first: a cluster out of reach leaves no trace
    try:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ClassifyError(f"{out}: cannot create the output directory: "
                                f"{e.strerror or e}") from None
        with _dir_lock(out):
            _to_dir(client, events, job, run, fail, log, partition_bytes)
    finally:
        if own:
            client.close()
    return run


def _to_client(target: Any, events: Iterator[_Input | Partition | _Failed], job: Job,
               run: ClusterRun, fail: Callable[[DataError], None]) -> Iterator[str]:
    """Partitions' text in input order; a bounded number in flight."""
    client, own = _connect(target)
    token = uuid.uuid4().hex[:8]
    pending: deque[tuple[Partition | _Failed, Any]] = deque()
    failed: set[int] = set()  # inputs that failed: their later partitions are dropped
    limit = _limit(client)

    def fill() -> None:
        while len(pending) < limit:
            ev = next(events, None)
            if ev is None:
                return
            if isinstance(ev, _Failed):
                pending.append((ev, None))
            elif isinstance(ev, Partition):
                run.partitions += 1
                if ev.input not in failed:
                    pending.append((ev, _submit(client, token, ev, job)))

    try:
        fill()
        while pending:
            ev, fut = pending.popleft()
            if isinstance(ev, _Failed):
                failed.add(ev.input)
                fail(DataError(ev.message))
            elif ev.input in failed:
                fut.cancel()
            else:
                res = _result(fut, ev)
                fut.release()
                if res.model_error:
                    raise ModelError(res.model_error)
                if res.failure:
                    failed.add(ev.input)
                    for other, f in pending:
                        if f is not None and other.input == ev.input:
                            f.cancel()
                    fail(_failure(res.failure, res.invalid_failure))
                else:
                    run.done += 1
                    run._add(ev, res)
                    if res.text:
                        yield res.text
            fill()
        run.complete = not run.failures
    finally:
        for _, f in pending:
            if f is not None:
                f.cancel()
        if own:
            client.close()


# ---------------------------------------------------------------- output directory


def _check_output_dir(out: Path) -> None:
    """An --output-dir must be new, empty, or one that a run of ``classify tag --scheduler``
    wrote (its manifest, part files, lock and temporary files only): a run replaces what is
    there, so anything else is refused before any work (DataError)."""
    if not out.is_dir():
        if out.exists():
            raise DataError(f"{out}: not a directory (--output-dir names a directory)")
        return
    names = [p.name for p in out.iterdir()]
    others = sorted(n for n in names if n not in (MANIFEST, ".lock")
                    and not _PART_NAME.fullmatch(n) and not n.startswith(".tmp-"))
    ours = False
    if MANIFEST in names:
        try:
            old = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
            ours = isinstance(old, dict) and old.get("format") == MANIFEST_FORMAT
        except (OSError, UnicodeDecodeError, ValueError):
            ours = False
    if others or (not ours and any(n != ".lock" for n in names)):
        what = (", ".join(others[:3]) + (", ..." if len(others) > 3 else "")) if others \
            else (f"a {MANIFEST} that is not a classify run's" if MANIFEST in names
                  else f"part files without a {MANIFEST}")
        raise DataError(f"{out}: not the output of a 'classify tag --scheduler' run (it holds "
                        f"{what}); a run replaces its files: choose a new or empty "
                        "--output-dir")


@contextlib.contextmanager
def _dir_lock(out: Path) -> Iterator[None]:
    """One run at a time writes into an output directory."""
    try:
        fh = open(out / ".lock", "a+b")  # noqa: SIM115 - closed below
    except OSError as e:
        raise ClassifyError(f"{out}: cannot write here: {e.strerror or e}") from None
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ClassifyError(f"{out}: another classify run is writing into this directory "
                                f"(it holds {out / '.lock'})") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(_READ_BLOCK):
            h.update(block)
    return h.hexdigest()


class Manifest:
    """``manifest.json`` of an output directory: what is done, to resume from."""

    def __init__(self, out: Path, job: Job, partition_bytes: int,
                 log: Callable[[str], None]) -> None:
        self.out, self.job, self.partition_bytes, self.log = out, job, partition_bytes, log
        self.inputs: dict[int, dict] = {}
        self.done: dict[int, dict] = {}  # partition index -> entry
        self.planned = 0
        self.planning_done = False
        self.failures: dict[int, str] = {}
        old = self._read_old()
        self.old_parts: dict[tuple[str, int, int], dict] = {}
        self.old_inputs: dict[str, dict] = {}
        self.old_outputs: set[str] = set()
        if old is not None:
            self.old_outputs = {str(e.get("output")) for e in old.get("partitions", [])}
            same = (old.get("model_sha256") == job.model_sha256
                    and old.get("explain") == job.explain
                    and old.get("thresholds", {}) == dict(job.thresholds)
                    and old.get("partition_bytes") == partition_bytes)
            if not same:
                log(f"{out / MANIFEST}: made with another model, --explain, --threshold or "
                    "partition size: starting over")
            else:
                self.old_inputs = {str(i.get("path")): i for i in old.get("inputs", [])}
                for e in old.get("partitions", []):
                    with contextlib.suppress(KeyError, TypeError, ValueError):
                        self.old_parts[(str(e["path"]), int(e["bytes"][0]),
                                        int(e["bytes"][1]))] = e
        for tmp in out.glob(".tmp-*"):  # left by a worker killed while writing
            tmp.unlink(missing_ok=True)

    def _read_old(self) -> dict | None:
        path = self.out / MANIFEST
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError, ValueError) as e:
            self.log(f"{path}: unreadable ({' '.join(str(e).split())[:100]}): starting over")
            return None
        if not isinstance(old, dict) or old.get("format") != MANIFEST_FORMAT:
            self.log(f"{path}: not a manifest of this classify: starting over")
            return None
        return old

    def add_input(self, ev: _Input) -> None:
        self.inputs[ev.input] = {"input": ev.name, "path": ev.path, "size": ev.size,
                                 "mtime_ns": ev.mtime_ns, "encoding": ev.encoding}
        prev = self.old_inputs.get(ev.path)
        if prev is not None and (prev.get("size"), prev.get("mtime_ns")) != (ev.size,
                                                                             ev.mtime_ns):
            self.log(f"{ev.name}: changed since the last run (size or modification time): "
                     "starting it over")
            self.old_parts = {k: v for k, v in self.old_parts.items() if k[0] != ev.path}

    def reusable(self, part: Partition) -> dict | None:
        """The earlier run's entry of this partition, if its part file is still what it
        wrote (same SHA-256) and it suits this run (no error lines without skip_invalid)."""
        e = self.old_parts.get((part.path, part.start, part.end))
        if e is None or e.get("output") != part.output:
            return None
        if not self.job.skip_invalid and e.get("invalid"):
            return None
        path = self.out / part.output
        try:
            ok = (path.stat().st_size == e.get("output_bytes")
                  and file_sha256(path) == e.get("sha256"))
        except OSError:
            ok = False
        if not ok:
            self.log(f"{path}: missing or changed since the last run: tagging it again")
            return None
        return e

    def record(self, part: Partition, records: int, invalid: int, sha256: str | None,
               output_bytes: int) -> dict:
        last = part.first_line + max(part.lines, 1) - 1
        entry = {"input": part.name, "path": part.path, "bytes": [part.start, part.end],
                 "lines": [part.first_line, last], "output": part.output, "records": records,
                 "invalid": invalid, "output_bytes": output_bytes, "sha256": sha256}
        self.done[part.index] = entry
        return entry

    def save(self, complete: bool = False) -> None:
        parts = [self.done[i] for i in sorted(self.done)]
        inputs = []
        for no in sorted(self.inputs):
            mine = [e for e in parts if e["path"] == self.inputs[no]["path"]]
            inputs.append({**self.inputs[no], "done": len(mine),
                           "records": sum(e["records"] for e in mine),
                           "invalid": sum(e["invalid"] for e in mine),
                           "failed": self.failures.get(no)})
        head = {"format": MANIFEST_FORMAT, "classify": __version__,
                "model_dir": self.job.model_dir, "model_sha256": self.job.model_sha256,
                "explain": self.job.explain, "skip_invalid": self.job.skip_invalid,
                "thresholds": dict(self.job.thresholds),
                "partition_bytes": self.partition_bytes, "complete": complete,
                "totals": {"inputs": len(self.inputs),
                           "partitions": self.planned if self.planning_done else None,
                           "done": len(parts), "records": sum(e["records"] for e in parts),
                           "invalid": sum(e["invalid"] for e in parts)},
                "inputs": inputs}
        text = json.dumps(head, indent=2, ensure_ascii=False)[:-2]  # without "\n}"
        body = ",\n    ".join(json.dumps(e, ensure_ascii=False) for e in parts)
        text += f',\n  "partitions": [\n    {body}\n  ]\n}}\n' if parts else \
            ',\n  "partitions": []\n}\n'
        try:
            atomic_write_bytes(self.out / MANIFEST, text.encode("utf-8"))
        except OSError as e:
            raise ClassifyError(f"{self.out / MANIFEST}: cannot write: "
                                f"{e.strerror or e}") from None

    def remove_stale(self) -> None:
        """Part files an earlier run listed that this run's plan does not have."""
        current = {e["output"] for e in self.done.values()}
        planned = {f"part-{i:05d}.jsonl" for i in range(self.planned)}
        for name in self.old_outputs - current - planned:
            if _PART_NAME.fullmatch(name):
                (self.out / name).unlink(missing_ok=True)


def _to_dir(client: distributed.Client, events: Iterator[_Input | Partition | _Failed],
            job: Job, run: ClusterRun, fail: Callable[[DataError], None],
            log: Callable[[str], None], partition_bytes: int) -> None:
    """Each partition into its part file, recorded in the manifest as it completes."""
    from distributed import as_completed

    out = Path(str(job.output_dir))
    manifest = Manifest(out, job, partition_bytes, log)
    token = uuid.uuid4().hex[:8]
    in_flight: dict[Any, Partition] = {}
    failed: dict[int, tuple[int, str, bool]] = {}  # input -> (partition index, message, invalid)
    limit = _limit(client)
    completed = as_completed(loop=client.loop)  # not distributed.wait: it needs a default client

    def stop_input(no: int, index: int, message: str, invalid: bool) -> None:
        if no in failed and failed[no][0] <= index:
            return
        failed[no] = (index, message, invalid)
        for f, p in list(in_flight.items()):  # later partitions of the input are not needed
            if p.input == no and p.index > index:
                f.cancel()
                del in_flight[f]

    def fill() -> None:
        while len(in_flight) < limit:
            ev = next(events, None)
            if ev is None:
                manifest.planning_done = True
                return
            if isinstance(ev, _Input):
                manifest.add_input(ev)
            elif isinstance(ev, _Failed):
                stop_input(ev.input, ev.index, ev.message, False)
            else:
                run.partitions += 1
                manifest.planned = run.partitions
                if ev.input in failed:
                    continue
                entry = manifest.reusable(ev)
                if entry is not None:
                    manifest.done[ev.index] = entry
                    run.skipped += 1
                    run.records += int(entry.get("records", 0))
                    run.invalid += int(entry.get("invalid", 0))
                    continue
                fut = _submit(client, token, ev, job)
                in_flight[fut] = ev
                completed.add(fut)

    try:
        fill()
        while in_flight:
            fut = next(completed)
            part = in_flight.pop(fut, None)
            if part is None:  # cancelled meanwhile
                continue
            res = _result(fut, part)
            fut.release()
            if res.model_error:
                raise ModelError(res.model_error)
            if res.failure:
                stop_input(part.input, part.index, res.failure, res.invalid_failure)
            else:
                run.done += 1
                run._add(part, res)
                manifest.record(part, res.records, res.invalid, res.sha256, res.output_bytes)
                manifest.save()
                interrupts.checkpoint("mid-tag")
            fill()
    finally:
        for fut in in_flight:
            fut.cancel()
    for no in sorted(failed):
        manifest.failures[no] = failed[no][1]
    run.complete = manifest.planning_done and not failed and \
        len(manifest.done) == manifest.planned
    manifest.save(complete=run.complete)
    manifest.remove_stale()
    for no in sorted(failed):
        _, message, invalid = failed[no]
        fail(_failure(message, invalid))


# ---------------------------------------------------------------- dask.bag


def _tag_bag_partition(records: Iterable[Any], index: list[int], job: Job) -> list[dict]:
    """One partition of a bag of records (dicts, or JSON strings) tagged as a batch; the
    results follow ``Tags.record()``. Invalid records: see ``tag_bag``."""
    (p,) = index
    items = []
    for i, r in enumerate(records, 1):
        where = f"partition {p} record {i}"
        if isinstance(r, bytes):
            r = r.decode("utf-8", "replace")
        items.append(_parse_line(r, where) if isinstance(r, str) else batch_item(r, where))
    if not job.skip_invalid:
        bad = next((it for it in items if it.error is not None), None)
        if bad is not None:
            raise DataError(bad.error or bad.where)
    if not items:
        return []
    tagger = worker_tagger(job.model_dir, job.model_sha256, job.trust, job.thresholds)
    return [t.record(job.explain) for t in tag_batch(tagger, items, job.explain)]


def tag_bag(bag: dask.bag.Bag, model_dir: str | Path, skip_invalid: bool = False, *,
            explain: bool = False, trust: bool = False,
            thresholds: Mapping[str, float] | None = None) -> dask.bag.Bag:
    """A bag of records mapped to a bag of result dicts, a partition at a time (see
    ``api.tag_bag``)."""
    require_dask("tag_bag")
    import dask.bag as db

    mdir = Path(model_dir).resolve()
    job = Job(str(mdir), model_sha256(mdir, trust), trust, explain, skip_invalid,
              thresholds=checked_thresholds(mdir, trust, thresholds))
    n = bag.npartitions
    index = db.from_sequence(range(n), npartitions=n)
    return bag.map_partitions(_tag_bag_partition, index, job)
