"""Saving and loading model directories: data, not pickles; atomic, locked, hash-checked.

A model directory holds ``model-<hash>.npz`` and ``meta.json``. The ``.npz`` holds arrays only
(weights, intercepts, thresholds, idf, the token tables of the fast transform) and the
vocabularies as UTF-8 text (newline-joined terms in column order, stored as bytes); it is
loaded with ``allow_pickle=False``. ``meta.json`` holds everything else: label sets,
parameters, what training chose and tried, the data hash, versions, and the SHA-256 of the
model file. Loading never unpickles anything. Models of classify 0.1-0.2 were pickles
(``model-*.pkl.gz``, ``model-*.joblib``): they load only with ``trust=True`` (``--trust``),
with a hint to convert them (``classify convert``).

Saving writes the new model file under a new name, then replaces ``meta.json`` atomically:
that rename is the single commit point, so a crash or kill at any moment leaves either the old
model or the new one, never a mix. Concurrent writers are serialised by an exclusive lock on
``.lock``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import math
import os
import platform
import stat
import tempfile
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import numpy as np

from . import __version__, interrupts
from .errors import ModelError
from .model import Model
from .modelfile import model_from_npz, model_to_npz

META = "meta.json"
# 1: joblib pickles; 2: gzip-compressed pickles; 3: .npz arrays + meta.json; 4: as 3, read
# with dotted abbreviations joined (the vectorizer's `abbreviations`), so a classify that
# tokenises otherwise refuses it instead of tagging with other features
FORMAT = 4
MODEL_FILES = ("model-*.npz", "model-*.pkl.gz", "model-*.joblib")


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version  # only when saving

    try:
        return version(dist)
    except PackageNotFoundError:
        return "unknown"


def library_versions() -> dict[str, str]:
    """Versions that matter for unpickling, read without importing the libraries."""
    return {"classify": __version__, "python": platform.python_version(),
            **{d: _version(d) for d in ("scikit-learn", "numpy", "scipy", "joblib")}}


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    with open(directory / ".lock", "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_writer(path: Path) -> Iterator[BinaryIO]:
    """A binary file whose content becomes ``path`` when the block ends without an error: it
    is written to a temporary file in the same directory, synced and renamed over ``path``;
    an error or an interrupt removes the temporary file, so there is never a partial file."""
    path = Path(path)
    with interrupts.deferred():  # an interrupt removes the temp file: register it at once
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent or ".")
        interrupts.temp_files.add(tmp)
    try:
        try:  # a file replaced keeps its permissions
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except OSError:  # a new file gets the usual ones (mkstemp makes 0600)
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        with interrupts.deferred():
            os.replace(tmp, path)
            interrupts.temp_files.discard(tmp)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        interrupts.temp_files.discard(tmp)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file and rename; no partial file on failure."""
    with atomic_writer(path) as fh:
        fh.write(data)


def write_output_file(path: str | Path, text: str) -> None:
    """Atomically write a report or other output file, with a one-line error on failure."""
    write_output_files([(path, text)])


def _written_in_place(path: Path) -> bool:
    """A device or a pipe (``/dev/stdout``, a FIFO): nothing can be renamed onto it."""
    return str(path).startswith("/dev/") or (path.exists() and not path.is_file()
                                             and not path.is_dir())


def write_output_files(files: Sequence[tuple[str | Path, str]]) -> None:
    """Write several output files all or none: each is written to a temporary file first,
    and they are renamed into place only once every one is written, so a failure (a
    directory in the way, no such directory, a full disk) leaves every old file as it was.
    Devices and pipes are written in place, last before the renames."""
    paths = [(Path(p), text) for p, text in files]
    in_place = [(path, text) for path, text in paths if _written_in_place(path)]
    current: Path | None = None
    try:
        with contextlib.ExitStack() as stack:
            for current, text in paths:
                if _written_in_place(current):
                    continue
                if current.is_dir():
                    raise IsADirectoryError(21, "Is a directory")
                fh = stack.enter_context(atomic_writer(current))
                fh.write(text.encode("utf-8"))
                fh.flush()  # every byte on disk before any rename: only renames remain
                os.fsync(fh.fileno())
            for current, text in in_place:
                with open(current, "w", encoding="utf-8") as dev:
                    dev.write(text)
            current = None  # the renames, on leaving the block
    except OSError as e:
        raise ModelError(f"{current or e.filename or 'output'}: cannot write: "
                         f"{e.strerror or e}") from None


def check_model_dir(directory: str | Path) -> Path:
    """The directory a model may be saved into: new, empty, or a classify model directory
    (its meta.json ours, nothing else in it but model files and our lock and temporary
    files). Saving replaces a model's files, so any other directory is refused with a
    ModelError: training into a project folder would overwrite its meta.json and delete its
    files."""
    directory = model_path(directory)
    _no_dangling_link(directory)
    if not directory.exists():
        return directory
    if not directory.is_dir():
        raise ModelError(f"{directory}: not a directory; a model is saved into a directory")
    ours = {META, ".lock"}
    others = sorted(p.name for p in directory.iterdir() if p.name not in ours
                    and not p.name.startswith(".tmp-")
                    and not any(p.match(pattern) for pattern in MODEL_FILES))
    if others or ((directory / META).exists() and not _our_meta(directory)):
        what = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "") if others \
            else f"a {META} that is not a classify model's"
        raise ModelError(f"{directory}: not a classify model directory (it holds {what}); "
                         "saving would replace its files: choose a new or empty directory")
    return directory


def _no_dangling_link(directory: Path) -> None:
    """A ModelError for a model directory given as a symlink that leads nowhere: it cannot be
    read, nor saved into, and "train one there" would fail the same way."""
    if directory.is_symlink() and not directory.exists():
        raise ModelError(f"{directory}: a symlink that leads nowhere (a loop, or its target is "
                         "gone): give a model directory")


def _our_meta(directory: Path) -> bool:
    try:
        read_meta(directory)
    except ModelError:
        return False
    return True


def _plain(x: object) -> object:
    """A numpy number or array in meta.json as Python's own (options a library caller gave
    as numpy values); anything else is json's TypeError, as before."""
    if isinstance(x, np.generic | np.ndarray):
        return x.tolist()
    raise TypeError(f"Object of type {type(x).__name__} is not JSON serializable")


def save_model(model: Model, directory: str | Path, meta: dict) -> dict:
    """Save ``model`` with ``meta`` into ``directory`` (``check_model_dir``); returns the full
    meta written."""
    directory = check_model_dir(directory)
    blob, layout = model_to_npz(model)
    digest = hashlib.sha256(blob).hexdigest()
    name = f"model-{digest[:16]}.npz"
    full = {"format": FORMAT, **meta, "model": layout, "model_file": name,
            "model_sha256": digest,
            "versions": library_versions(),
            "created": datetime.now(UTC).isoformat(timespec="seconds")}
    # before the directory is made: a meta that cannot be written leaves nothing behind
    meta_bytes = (json.dumps(full, indent=2, ensure_ascii=False, default=_plain)
                  + "\n").encode("utf-8")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with _locked(directory):
            # Until meta.json names it, a new model file is a temporary one: an interrupt
            # removes it (an identical file already there is the current model: kept).
            model_path = str(directory / name)
            if not (directory / name).exists():
                interrupts.temp_files.add(model_path)
            try:
                atomic_write_bytes(directory / name, blob)
                interrupts.checkpoint("mid-save")
                with interrupts.deferred():
                    atomic_write_bytes(directory / META, meta_bytes)
                    interrupts.temp_files.discard(model_path)
                    interrupts.committed = f"the model was saved whole in {directory}"
            except BaseException:
                interrupts.temp_files.discard(model_path)
                _remove_unless_current(directory, name)
                raise
            _fsync_dir(directory)
            for old in _model_files(directory):
                if old.name != name:
                    old.unlink(missing_ok=True)
            for tmp in directory.glob(".tmp-*"):
                tmp.unlink(missing_ok=True)
    except OSError as e:
        raise ModelError(f"{directory}: cannot save model: {e.strerror or e}") from None
    interrupts.checkpoint("after-save")
    return full


def _model_files(directory: Path) -> list[Path]:
    return sorted(p for pattern in MODEL_FILES for p in directory.glob(pattern))


def _remove_unless_current(directory: Path, name: str) -> None:
    try:
        current = json.loads((directory / META).read_text(encoding="utf-8")).get("model_file")
    except (OSError, ValueError):
        current = None
    if current != name:
        (directory / name).unlink(missing_ok=True)


def model_path(directory: object) -> Path:
    """A model directory argument as a Path: a str or path-like, not empty (a ModelError
    for anything else, not a TypeError from deep inside)."""
    if not isinstance(directory, (str, os.PathLike)):
        raise ModelError(f"a model directory must be a path (str or Path), got "
                         f"{directory!r:.60}")
    if not str(directory).strip():
        raise ModelError("an empty path: name the model directory (e.g. --model models/mine)")
    return Path(directory)


def _regular(path: Path) -> None:
    """A ModelError unless ``path`` is missing or a regular file: a FIFO would block the
    read, and a device such as /dev/zero would fill the memory."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return  # missing or unreadable: the read says which
    if not stat.S_ISREG(mode):
        raise ModelError(f"{path}: not a regular file (a model directory holds files)")


def read_meta(directory: str | Path) -> dict:
    directory = model_path(directory)
    path = directory / META
    if directory.exists() and not directory.is_dir():  # training there would fail too
        raise ModelError(f"{directory}: not a model directory (a model is a directory holding "
                         "meta.json and its model file)")
    _no_dangling_link(directory)
    if not directory.is_dir():
        raise ModelError(f"{directory}: no model directory here (train one with "
                         f"'classify train --model {directory}')")
    _regular(path)
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if not _model_files(directory):  # --trust would find nothing either
            raise ModelError(f"{directory}: no model here (no {META}, no model file): train "
                             f"one with 'classify train --model {directory}'") from None
        raise ModelError(f"{path}: missing; the model cannot be verified (a partial model "
                         "directory? pass --trust to load an unverified pickle)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelError(f"{path}: unreadable model metadata: {e}") from None
    except RecursionError:
        raise ModelError(f"{path}: unreadable model metadata: JSON nested too deeply"
                         ) from None
    if not isinstance(meta, dict) or "model_file" not in meta or "model_sha256" not in meta:
        raise ModelError(f"{path}: not a classify model metadata file")
    return meta


def load_model(directory: str | Path, trust: bool = False) -> tuple[Model, dict]:
    """Load and verify a model directory; returns (model, meta).

    With ``trust=True`` a directory without ``meta.json`` is loaded from its single model file
    without any check: only for files from a source you trust (they are pickles).
    """
    if not isinstance(trust, bool):  # "false" is truthy: only True opens the gate
        raise ModelError(f"trust must be True or False, got {trust!r:.40}")
    directory = model_path(directory)
    try:
        meta = read_meta(directory)
    except ModelError:
        if not trust or not directory.is_dir():
            raise
        candidates = _model_files(directory)
        if len(candidates) != 1:
            raise ModelError(f"{directory}: --trust needs exactly one model-* file here, found "
                             f"{len(candidates)}") from None
        warnings.warn(f"{directory}: loading an unverified model (--trust)", stacklevel=2)
        meta = {"model_file": candidates[0].name, "model_sha256": None}
    name = str(meta["model_file"])
    if not name or Path(name).name != name or name in (".", ".."):
        raise ModelError(f"{directory / META}: model_file must name a file in the model "
                         f"directory, got {name!r}")
    path = directory / name
    _regular(path)
    try:
        blob = path.read_bytes()
    except OSError as e:
        raise ModelError(f"{path}: cannot read model file: {e.strerror or e} (partial model "
                         "directory?)") from None
    if meta["model_sha256"] is None and not trust:
        raise ModelError(f"{directory / META}: model_sha256 is null, so {name} cannot be "
                         "verified; pass --trust to load it unverified")
    if meta["model_sha256"] is not None and \
            hashlib.sha256(blob).hexdigest() != meta["model_sha256"]:
        raise ModelError(f"{path}: SHA-256 does not match {directory / META}; the file was "
                         "modified or corrupted, refusing to load it")
    fmt = meta.get("format", 1)  # a model saved before the key was written is format 1
    if isinstance(fmt, bool) or not isinstance(fmt, int) or fmt < 1:
        raise ModelError(f"{directory / META}: 'format' must be a whole number from 1, got "
                         f"{fmt!r:.40}")
    if fmt > FORMAT:
        raise ModelError(f"{path}: saved by a newer classify (model format {fmt}); "
                         "upgrade classify to load it")
    if path.suffix == ".npz":
        if not blob.startswith(b"PK"):
            raise ModelError(f"{path}: not a classify model file (not an .npz archive)")
        try:
            model = model_from_npz(blob, meta)
        except (zipfile.BadZipFile, EOFError) as e:
            raise ModelError(f"{path}: not a readable model file (truncated or corrupt: {e})"
                             ) from None
        except ValueError as e:
            if "pickle" in str(e):  # numpy's advice to load it unsafely does not apply here
                raise ModelError(f"{path}: not a classify model file (it holds pickled "
                                 "objects, which a classify .npz never does)") from None
            raise ModelError(f"{path}: cannot load model: {type(e).__name__}: {e}"[:300]
                             ) from None
        except (KeyError, TypeError, IndexError, AttributeError, OSError) as e:
            # also what a hand-edited meta.json "model" section gives
            raise ModelError(f"{path}: cannot load model (or {META} does not fit it): "
                             f"{type(e).__name__}: {e}"[:300]) from None
    else:
        model = _load_pickle(directory, path, blob, meta, trust)
    problem = model.shape_problem()
    if problem:
        raise ModelError(f"{path}: not a usable model: {problem}")
    _check_rule(meta, directory / META)
    _warn_if_edited(meta, model, directory / META)
    interrupts.checkpoint("after-load")
    return model, meta


def _warn_if_edited(meta: dict, model: Model, path: Path) -> None:
    """A warning when meta.json's record of the topic thresholds or of the label names no
    longer matches the model file: a hand edit there changes nothing (the verified model file
    decides), and it used to be ignored without a word."""
    recorded = meta.get("thresholds")
    if isinstance(recorded, dict) and model.topics is not None:
        actual = dict(zip(model.topic_labels, map(float, model.topics.thresholds), strict=True))
        moved = [t for t in sorted(set(recorded) | set(actual))
                 if not (isinstance(recorded.get(t), int | float)
                         and not isinstance(recorded.get(t), bool)
                         and abs(recorded[t] - actual.get(t, math.inf)) < 5e-4)]
        if moved:
            warnings.warn(f"{path}: 'thresholds' ({', '.join(moved[:3])}) differ from the "
                          "model file's, which decide: meta.json records them and does not "
                          "set them (--threshold TOPIC=X sets one for a run)", stacklevel=3)
    labels = meta.get("labels")
    if isinstance(labels, dict):
        named = {"topics": labels.get("topics"), "stances": labels.get("stance")}
        have = {"topics": model.topic_labels, "stances": model.stance_labels}
        for kind, given in named.items():
            names = sorted(given) if isinstance(given, dict | list) else None
            if names is not None and names != sorted(have[kind]):
                warnings.warn(f"{path}: 'labels' name other {kind} ({', '.join(names[:4])}) "
                              f"than the model file ({', '.join(have[kind][:4])}), whose "
                              "names are used: meta.json only describes them", stacklevel=3)


def _check_rule(meta: dict, path: Path) -> None:
    """meta.json's article rule (hand-editable: the hash covers the model file only) must be
    ``{"params": {"min_sentences": int, "short_article": int}, ...}`` or absent."""
    rule = meta.get("article_rule", {})
    params = rule.get("params", {}) if isinstance(rule, dict) else None
    if not isinstance(params, dict) or not all(
            k in ("min_sentences", "short_article") and type(v) is int
            and v >= (1 if k == "min_sentences" else 0)  # 0 sentences: every topic holds
            for k, v in params.items()):
        raise ModelError(f"{path}: 'article_rule' must be {{\"params\": {{\"min_sentences\": "
                         f"N, \"short_article\": N}}}} with whole numbers (min_sentences at "
                         f"least 1), got {rule!r:.80}")



def _load_pickle(directory: Path, path: Path, blob: bytes, meta: dict, trust: bool) -> Model:
    """A model of classify 0.1-0.2 (a pickle): only with ``trust``, converted on load."""
    if not trust:
        raise ModelError(f"{path}: an old pickle model (model format {meta.get('format', 1)}): "
                         f"loading it could run code; if you trust it, pass --trust, or "
                         f"convert it once with 'classify convert {directory} --trust'")
    # Arrays pickled by numpy 2 do not load in numpy 1.
    import numpy

    from .legacy import load_pickle

    trained_with = str(meta.get("versions", {}).get("numpy", ""))
    if trained_with.split(".")[0] not in ("", "unknown", numpy.__version__.split(".")[0]):
        warnings.warn(f"{directory}: model saved with numpy {trained_with}, running "
                      f"{numpy.__version__}; retrain if it fails to load or results look wrong",
                      stacklevel=3)
    warnings.warn(f"{directory}: an old pickle model, loaded because of --trust; convert it "
                  f"with 'classify convert {directory} --trust'", stacklevel=3)
    try:
        return load_pickle(blob, joblib_file=path.name.endswith(".joblib"))
    except Exception as e:  # a pickle can fail in many ways
        raise ModelError(f"{path}: cannot load model: {type(e).__name__}: {e}"[:300]) from None
