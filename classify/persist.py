"""Saving and loading model directories: atomic, locked, hash-checked.

A model directory holds ``model-<hash>.pkl.gz`` (the pickled model, gzip-compressed; models of
classify 0.1 were ``.joblib`` files and still load) and ``meta.json`` (label
sets, thresholds, data hash, versions, scores, and the SHA-256 of the model file). Saving writes
the new model file under a new name, then replaces ``meta.json`` atomically: that rename is the
single commit point, so a crash or kill at any moment leaves either the old model or the new
one, never a mix. Concurrent writers are serialised by an exclusive lock on ``.lock``.
Loading checks the SHA-256 before unpickling anything.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import hashlib
import io
import json
import os
import pickle
import platform
import tempfile
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from . import __version__, interrupts
from .errors import ModelError
from .model import Model

META = "meta.json"
FORMAT = 2  # 1: joblib files; 2: gzip-compressed pickles (loading them needs no joblib)
MODEL_FILES = ("model-*.pkl.gz", "model-*.joblib")


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


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file and rename; no partial file on failure."""
    path = Path(path)
    with interrupts.deferred():  # an interrupt removes the temp file: register it at once
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent or ".")
        interrupts.temp_files.add(tmp)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes 0600; give the file normal permissions
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
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


def write_output_file(path: str | Path, text: str) -> None:
    """Atomically write a report or other output file, with a one-line error on failure."""
    path = Path(path)
    try:
        if str(path).startswith("/dev/"):  # devices cannot be renamed onto: write directly
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
            return
        atomic_write_bytes(path, text.encode("utf-8"))
    except OSError as e:
        raise ModelError(f"{path}: cannot write: {e.strerror or e}") from None


def save_model(model: Model, directory: str | Path, meta: dict) -> dict:
    """Save ``model`` with ``meta`` into ``directory``; returns the full meta written."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        # mtime=0: the same model gives the same bytes, hence the same hash and file name
        blob = gzip.compress(pickle.dumps(model, protocol=5), compresslevel=3, mtime=0)
        digest = hashlib.sha256(blob).hexdigest()
        name = f"model-{digest[:16]}.pkl.gz"
        full = {"format": FORMAT, **meta, "model_file": name, "model_sha256": digest,
                "versions": library_versions(),
                "created": datetime.now(UTC).isoformat(timespec="seconds")}
        meta_bytes = (json.dumps(full, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
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


def read_meta(directory: str | Path) -> dict:
    directory = Path(directory)
    path = directory / META
    if not directory.is_dir():
        raise ModelError(f"{directory}: no model directory here (train one with "
                         f"'classify train --model {directory}')")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: missing; the model cannot be verified (a partial model "
                         "directory? pass --trust to load an unverified pickle)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelError(f"{path}: unreadable model metadata: {e}") from None
    if not isinstance(meta, dict) or "model_file" not in meta or "model_sha256" not in meta:
        raise ModelError(f"{path}: not a classify model metadata file")
    return meta


def load_model(directory: str | Path, trust: bool = False) -> tuple[Model, dict]:
    """Load and verify a model directory; returns (model, meta).

    With ``trust=True`` a directory without ``meta.json`` is loaded from its single model file
    without any check: only for files from a source you trust (they are pickles).
    """
    directory = Path(directory)
    try:
        meta = read_meta(directory)
    except ModelError:
        if not trust or not directory.is_dir():
            raise
        candidates = _model_files(directory)
        if len(candidates) != 1:
            raise ModelError(f"{directory}: --trust needs exactly one model-*.pkl.gz (or "
                             f".joblib) file here, found {len(candidates)}") from None
        warnings.warn(f"{directory}: loading an unverified model (--trust)", stacklevel=2)
        meta = {"model_file": candidates[0].name, "model_sha256": None}
    path = directory / str(meta["model_file"])
    try:
        blob = path.read_bytes()
    except OSError as e:
        raise ModelError(f"{path}: cannot read model file: {e.strerror or e} (partial model "
                         "directory?)") from None
    if meta["model_sha256"] is not None and \
            hashlib.sha256(blob).hexdigest() != meta["model_sha256"]:
        raise ModelError(f"{path}: SHA-256 does not match {directory / META}; the file was "
                         "modified or corrupted, refusing to load it")
    if isinstance(meta.get("format"), int) and meta["format"] > FORMAT:
        raise ModelError(f"{path}: saved by a newer classify (model format {meta['format']}); "
                         "upgrade classify to load it")
    # The model holds numpy arrays and classify's own classes, no scikit-learn objects; arrays
    # pickled by numpy 2 do not load in numpy 1.
    import numpy

    trained_with = str(meta.get("versions", {}).get("numpy", ""))
    if trained_with.split(".")[0] not in ("", "unknown", numpy.__version__.split(".")[0]):
        warnings.warn(f"{directory}: model saved with numpy {trained_with}, running "
                      f"{numpy.__version__}; retrain if it fails to load or results look wrong",
                      stacklevel=2)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sklearn's own pickle-version warnings
            if path.name.endswith(".joblib"):  # a classify 0.1 model
                import joblib

                model = joblib.load(io.BytesIO(blob))
            else:
                model = pickle.loads(gzip.decompress(blob))
    except Exception as e:  # a pickle can fail in many ways
        raise ModelError(f"{path}: cannot load model: {type(e).__name__}: {e}"[:300]) from None
    if not isinstance(model, Model):
        raise ModelError(f"{path}: not a classify model")
    interrupts.checkpoint("after-load")
    return model, meta

