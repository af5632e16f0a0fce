"""Faults: killed and concurrent training, full disks, unwritable outputs."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import (
    FAST,
    assert_clean_error,
    make_records,
    run_cli,
    run_main,
    write_jsonl,
)

from classify import api
from classify.data import load_dataset
from classify.errors import ModelError
from classify.persist import load_model, write_output_file


def _meta(d: Path) -> dict:
    return json.loads((d / "meta.json").read_text(encoding="utf-8"))


def assert_consistent_model(d: Path) -> dict:
    """The directory holds a complete model: meta names a file whose hash matches; it loads."""
    meta = _meta(d)
    blob = (d / meta["model_file"]).read_bytes()
    assert hashlib.sha256(blob).hexdigest() == meta["model_sha256"]
    model, loaded_meta = load_model(d)
    assert loaded_meta["model_sha256"] == meta["model_sha256"]
    topics = model.topics.labels if model.topics else []
    stances = model.stance.labels if model.stance else []
    assert topics == list(meta["labels"]["topics"])
    assert stances == meta["labels"]["stance"]
    return meta


def _env() -> dict:
    return {k: v for k, v in os.environ.items() if k != "CLASSIFY_MODEL"}


@pytest.fixture(scope="module")
def kill_data(tmp_path_factory):
    base = tmp_path_factory.mktemp("kill")
    # ~1,700 records, trained without --fast (C search): a run of several seconds
    big = write_jsonl(base / "big.jsonl", make_records(n_per_topic=400, n_sources=12, seed=3))
    old = base / "old_model"
    api.train([write_jsonl(base / "small.jsonl", make_records(seed=2))], old, FAST)
    return big, old


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["TERM", "KILL"])
@pytest.mark.parametrize("delay", [0.2, 0.5, 1.0, 2.0])
def test_killed_training_leaves_old_model(kill_data, tmp_path, sig, delay):
    big, old = kill_data
    d = tmp_path / "model"
    shutil.copytree(old, d)
    before = _meta(d)
    proc = subprocess.Popen([sys.executable, "-m", "classify.cli", "train", "--data", str(big),
                             "--model", str(d), "--quiet"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=_env())
    time.sleep(delay)
    if proc.poll() is None:
        proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    stderr = err.decode("utf-8", "replace")
    assert "Traceback" not in stderr, stderr
    if sig == signal.SIGKILL:
        assert proc.returncode in (-signal.SIGKILL, 0), stderr
    else:
        assert proc.returncode in (130, -signal.SIGTERM, 0), (proc.returncode, stderr)
    after = assert_consistent_model(d)
    if proc.returncode != 0:
        assert after["model_sha256"] == before["model_sha256"]
        assert after == before
    # whatever was left behind, the next save into the directory works and cleans up
    api.train([big], d, FAST)
    meta = assert_consistent_model(d)
    assert [p.name for p in d.glob("model-*.pkl.gz")] == [meta["model_file"]]
    assert not list(d.glob(".tmp-*"))


_KILL_DURING_SAVE = r"""
import os, signal, sys
from pathlib import Path
import classify.persist as p
real = p.atomic_write_bytes
when = sys.argv[1]
def write(path, data):
    path = Path(path)
    if path.name == "meta.json" and when == "before-meta":
        os.kill(os.getpid(), signal.SIGKILL)
    if path.name == "meta.json" and when == "half-meta":
        with open(path.parent / ".tmp-partial", "wb") as fh:
            fh.write(data[: len(data) // 2])
            fh.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    real(path, data)
    if path.name == "meta.json" and when == "after-meta":
        os.kill(os.getpid(), signal.SIGKILL)
p.atomic_write_bytes = write
from classify.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize("when", ["before-meta", "half-meta", "after-meta"])
def test_killed_while_saving(kill_data, tmp_path, train_file, when):
    """SIGKILL at fixed points inside save_model: old model or new, never a mix."""
    _, old = kill_data
    d = tmp_path / "model"
    shutil.copytree(old, d)
    before = _meta(d)
    p = subprocess.run([sys.executable, "-c", _KILL_DURING_SAVE, when, "train", "--data",
                        str(train_file), "--model", str(d), "--fast", "--quiet"],
                       capture_output=True, text=True, timeout=120, env=_env())
    assert p.returncode == -signal.SIGKILL, p.stderr
    after = assert_consistent_model(d)
    if when == "after-meta":
        assert after["data"]["sha256"] == load_dataset([train_file]).sha256()
        assert after["model_sha256"] != before["model_sha256"]
    else:
        assert after == before
    api.train([train_file], d, FAST)
    meta = assert_consistent_model(d)
    assert [x.name for x in d.glob("model-*.pkl.gz")] == [meta["model_file"]]
    assert not list(d.glob(".tmp-*"))


def test_concurrent_training_same_dir(tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", make_records(n_per_topic=120, seed=6,
                                                       topics=["aviation", "narcotics"]))
    b = write_jsonl(tmp_path / "b.jsonl", make_records(n_per_topic=120, seed=7,
                                                       topics=["immigration",
                                                               "counterterrorism"]))
    d = tmp_path / "model"
    procs = [subprocess.Popen([sys.executable, "-m", "classify.cli", "train", "--data",
                               str(f), "--model", str(d), "--quiet", "--cv-folds", "2"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
             for f in (a, b, a)]
    for pr in procs:
        _, err = pr.communicate(timeout=180)
        assert pr.returncode == 0, err.decode()
        assert b"Traceback" not in err
    meta = assert_consistent_model(d)
    assert [x.name for x in d.glob("model-*.pkl.gz")] == [meta["model_file"]]
    assert not list(d.glob(".tmp-*"))
    by_sha = {load_dataset([a]).sha256(): ["aviation", "narcotics"],
              load_dataset([b]).sha256(): ["counterterrorism", "immigration"]}
    assert meta["data"]["sha256"] in by_sha
    assert sorted(meta["labels"]["topics"]) == by_sha[meta["data"]["sha256"]]


# ---------------------------------------------------------------- full disks


def test_report_to_dev_full(train_file):
    p = run_cli(["evaluate", "--data", train_file, "--folds", "2", "--fast", "--quiet",
                 "--report", "/dev/full"])
    assert_clean_error(p.returncode, p.stderr, "/dev/full")
    assert "No space left on device" in p.stderr, p.stderr


def test_report_into_missing_directory(train_file, tmp_path):
    target = tmp_path / "no" / "such" / "r.md"
    r = run_main(["evaluate", "--data", str(train_file), "--folds", "2", "--fast", "--quiet",
                  "--report", str(target)])
    assert_clean_error(r.code, r.err, str(target))


@pytest.mark.parametrize("fmt", ["text", "jsonl"])
def test_tag_stdout_to_dev_full(model_dir, tmp_path, fmt):
    art = tmp_path / "a.txt"
    art.write_text("Police seized heroin at the airport. " * 2000, encoding="utf-8")
    with open("/dev/full", "w") as full:
        p = subprocess.run([sys.executable, "-m", "classify.cli", "tag", str(art), "--model",
                            str(model_dir), "--format", fmt], stdout=full,
                           stderr=subprocess.PIPE, text=True, timeout=120, env=_env())
    assert p.returncode != 0
    assert "Traceback" not in p.stderr, p.stderr
    assert [ln for ln in p.stderr.splitlines() if ln.startswith("classify: error")], p.stderr


def _enospc(*_a, **_k):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("fail", ["model-replace", "meta-replace", "fsync", "write"])
def test_save_on_full_disk_keeps_old_model(model_copy, tmp_path, monkeypatch, fail):
    d = model_copy
    before_bytes = (d / "meta.json").read_bytes()
    before_models = sorted(x.name for x in d.glob("model-*.pkl.gz"))
    other = write_jsonl(tmp_path / "other.jsonl", make_records(seed=8))

    real_replace, real_fdopen = os.replace, os.fdopen

    def replace(src, dst, *a, **k):
        name = Path(dst).name
        if (fail == "model-replace" and name.startswith("model-")) or \
                (fail == "meta-replace" and name == "meta.json"):
            _enospc()
        return real_replace(src, dst, *a, **k)

    class FullFile:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, data):
            self.fh.write(data[: len(data) // 3])
            _enospc()

        def __getattr__(self, name):
            return getattr(self.fh, name)

    if fail == "fsync":
        monkeypatch.setattr(os, "fsync", _enospc)
    elif fail == "write":
        monkeypatch.setattr(os, "fdopen", lambda *a, **k: FullFile(real_fdopen(*a, **k)))
    else:
        monkeypatch.setattr(os, "replace", replace)

    with pytest.raises(ModelError) as e:
        api.train([other], d, FAST)
    monkeypatch.undo()
    msg = str(e.value)
    assert str(d) in msg and "\n" not in msg
    assert os.strerror(errno.ENOSPC) in msg
    assert (d / "meta.json").read_bytes() == before_bytes
    assert sorted(x.name for x in d.glob("model-*.pkl.gz")) == before_models
    assert not list(d.glob(".tmp-*")), list(d.iterdir())
    assert_consistent_model(d)


def test_save_on_full_disk_through_cli(model_copy, tmp_path, monkeypatch, train_file):
    before = (model_copy / "meta.json").read_bytes()
    monkeypatch.setattr(os, "replace", _enospc)
    r = run_main(["train", "--data", str(train_file), "--model", str(model_copy), "--fast",
                  "--quiet"])
    monkeypatch.undo()
    assert_clean_error(r.code, r.err, str(model_copy))
    assert (model_copy / "meta.json").read_bytes() == before
    assert not list(model_copy.glob(".tmp-*"))


def test_save_into_new_dir_on_full_disk_leaves_nothing_loadable_half_done(tmp_path,
                                                                         monkeypatch,
                                                                         train_file):
    d = tmp_path / "fresh"
    real_replace = os.replace

    def replace(src, dst, *a, **k):
        if Path(dst).name == "meta.json":
            _enospc()
        return real_replace(src, dst, *a, **k)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(ModelError):
        api.train([train_file], d, FAST)
    monkeypatch.undo()
    assert not (d / "meta.json").exists()
    assert not list(d.glob("model-*.pkl.gz"))
    assert not list(d.glob(".tmp-*"))
    with pytest.raises(ModelError, match="meta.json"):
        load_model(d)


def test_saved_files_respect_umask(tmp_path, train_file):
    """Model and report files get the usual permissions (0644 under umask 022), not 0600."""
    old = os.umask(0o022)
    try:
        api.train([train_file], tmp_path / "m", FAST)
        write_output_file(tmp_path / "r.md", "# report\n")
    finally:
        os.umask(old)
    meta = _meta(tmp_path / "m")
    for f in (tmp_path / "m" / "meta.json", tmp_path / "m" / meta["model_file"],
              tmp_path / "r.md"):
        assert oct(stat.S_IMODE(f.stat().st_mode)) == oct(0o644), f


def test_interrupt_swallowed_by_a_finaliser_is_delivered_again(monkeypatch):
    """SIGTERM can land in a weakref callback or __del__, where Python only prints the
    KeyboardInterrupt; the CLI re-delivers it so the command still stops cleanly."""
    from classify import cli

    class Finalised:
        def __del__(self):
            raise KeyboardInterrupt

    monkeypatch.setattr(sys, "unraisablehook", cli._unraisable)
    old = signal.getsignal(signal.SIGALRM)
    try:
        with pytest.raises(KeyboardInterrupt):
            obj = Finalised()
            del obj
            time.sleep(2)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def test_interrupt_while_parsing_arguments_is_one_line(monkeypatch, capsys):
    """SIGTERM can arrive while the CLI is still building its parser (seen in CI at 0.5 s)."""
    from classify import cli

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    monkeypatch.setattr(sys, "unraisablehook", sys.unraisablehook)
    old = signal.getsignal(signal.SIGTERM)
    try:
        assert cli.main(["tag", "x.txt"]) == 130
    finally:
        signal.signal(signal.SIGTERM, old)
    err = capsys.readouterr().err
    assert "interrupted" in err and "Traceback" not in err
