"""classify label: the terminal labeller, driven through a pseudo-terminal, and its state."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from conftest import run_main, write_jsonl

from classify import api
from classify.data import Schema, load_dataset
from classify.labeller import AnswerLog, Item, Session, _keys, render, stance_keys

TEXTS = ["The ferry operator postponed crossings after the harbour strike on Friday.",
         "Detectives found white powder in the glovebox of a hire car.",
         "A chartered plane carrying returned asylum seekers landed at dawn.",
         "The mayor praised volunteers who cleared the flooded underpass."]
DEADLINE = 60.0  # seconds to wait for a screen: generous, never a measure of speed


class Pty:
    """``python -m classify ARGS`` on a pseudo-terminal: type keys, read the screen."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        self.master, slave = os.openpty()
        termios.tcsetattr(slave, termios.TCSANOW, termios.tcgetattr(slave))
        self.slave_attrs = termios.tcgetattr(slave)
        env = {k: v for k, v in os.environ.items() if k != "CLASSIFY_MODEL"}
        env.update(COLUMNS="100", LINES="40")
        self.proc = subprocess.Popen([sys.executable, "-m", "classify", *map(str, args)],
                                     stdin=slave, stdout=slave, stderr=slave, cwd=cwd,
                                     env=env, close_fds=True)
        self.slave = slave
        self.out = ""

    def expect(self, text: str) -> str:
        """Read until ``text`` shows on the last screen (after its last clear) and the screen
        is whole (down to its line of keys); returns that screen."""
        end = time.monotonic() + DEADLINE
        while True:
            screen = self.out.rsplit("\x1b[2J", 1)[-1]
            if text in screen and "quit" in screen:
                return screen
            left = end - time.monotonic()
            assert left > 0 and self.proc.poll() is None or text in screen, \
                f"{text!r} never showed; last screen:\n{screen}"
            r, _, _ = select.select([self.master], [], [], min(left, 0.5))
            if r:
                with contextlib.suppress(OSError):
                    self.out += os.read(self.master, 65536).decode("utf-8", "replace")

    def send(self, keys: str) -> None:
        os.write(self.master, keys.encode("utf-8"))

    def finish(self) -> tuple[int, str]:
        """Wait for the end, reading the rest of the output."""
        end = time.monotonic() + DEADLINE
        while self.proc.poll() is None and time.monotonic() < end:
            r, _, _ = select.select([self.master], [], [], 0.2)
            if r:
                try:
                    self.out += os.read(self.master, 65536).decode("utf-8", "replace")
                except OSError:
                    break
        code = self.proc.wait(timeout=DEADLINE)
        while select.select([self.master], [], [], 0.1)[0]:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                break
            if not chunk:
                break
            self.out += chunk.decode("utf-8", "replace")
        return code, self.out

    def close(self) -> None:
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def guide(tmp_path):
    """A label guide with one-line definitions (the session model's data has none)."""
    g = tmp_path / "schema.json"
    g.write_text(json.dumps({"topics": {"narcotics": "illegal drugs and their trade"},
                             "stance": {"critical": "criticism, condemnation"}}),
                 encoding="utf-8")
    return g


@pytest.fixture
def todo(tmp_path, model_dir):
    pool = write_jsonl(tmp_path / "pool.jsonl", [{"text": t, "id": f"n{i}", "source": "art"}
                                                 for i, t in enumerate(TEXTS)])
    res = api.suggest(pool, model_dir, n=4, diversity=0)
    return write_jsonl(tmp_path / "todo.jsonl", [s.record() for s in res.suggestions])


def _answers(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def test_label_through_a_pty(tmp_path, todo, model_dir, guide):
    out = tmp_path / "labels" / "mine.jsonl"
    items = [json.loads(x) for x in todo.read_text(encoding="utf-8").splitlines()]
    topics = api.load_model(model_dir).topic_labels
    t = Pty(["label", todo, "--out", out, "--model", model_dir, "--guide", guide], tmp_path)
    try:
        screen = t.expect("1 of 4")
        assert items[0]["text"][:40] in screen and "Enter accept" in screen
        for j, name in enumerate(topics, 1):  # the guess is pre-selected
            mark = "x" if name in items[0]["topics"] else " "
            assert f"[{mark}]   {j} {name}" in screen
        t.send("?")
        assert "illegal drugs" not in screen
        t.expect("illegal drugs")  # the guide's one-line definitions, on demand
        t.send("1")  # toggle the first topic
        want1 = sorted(set(items[0]["topics"]) ^ {topics[0]}, key=topics.index)
        t.send("c\r")  # stance critical, accept
        t.expect("2 of 4")
        assert _answers(out) == [{"text": items[0]["text"], "topics": want1,
                                  "stance": "critical", "source": "art",
                                  "id": items[0]["id"]}]  # on disk before the next key
        t.send(" ")  # skip
        t.expect("3 of 4")
        assert [r["text"] for r in _answers(out.with_name("mine.jsonl.skipped"))] == \
            [items[1]["text"]]
        t.send("\x7f")  # undo the skip
        t.expect("undone: skip taken back")
        assert _answers(out.with_name("mine.jsonl.skipped")) == []
        t.send("s\r")
        t.expect("3 of 4")
        t.send("\x03")  # Ctrl-C
        code, text = t.finish()
        assert code == 130 and "interrupted" in text and "Traceback" not in text
    finally:
        t.close()
    answers = _answers(out)
    assert [a["text"] for a in answers] == [items[0]["text"], items[1]["text"]]
    assert answers[1]["stance"] == "supportive"
    assert not out.with_name("mine.jsonl.lock").exists()
    ds = load_dataset([out])  # the output is training data as it stands
    assert len(ds.records) == 2

    t = Pty(["label", todo, "--out", out, "--model", model_dir], tmp_path)
    try:
        screen = t.expect("3 of 4")  # resumes at the first unanswered item
        assert items[2]["text"][:40] in screen
        t.send("\r")
        t.expect("4 of 4")
        t.send("\x7f")  # undo the last answer of this session
        t.expect("3 of 4")
        assert len(_answers(out)) == 2
        t.send("q")
        code, text = t.finish()
        assert code == 0, text
        assert "2 of 4 items labelled, 0 skipped, 2 left" in text
        assert f"classify train --weight {out}" in text  # out is inside ./labels
    finally:
        t.close()


def test_terminal_settings_come_back_and_sigterm_keeps_answers(tmp_path, todo, model_dir):
    out = tmp_path / "mine.jsonl"
    t = Pty(["label", todo, "--out", out, "--model", model_dir], tmp_path)
    try:
        t.expect("1 of 4")
        t.send("\r")
        t.expect("2 of 4")
        raw = termios.tcgetattr(t.slave)
        assert not raw[3] & termios.ECHO  # keys are read without echo while labelling
        t.proc.send_signal(signal.SIGTERM)
        code, _ = t.finish()
        assert code == 143
        assert termios.tcgetattr(t.slave)[3] == t.slave_attrs[3]
    finally:
        t.close()
    assert len(_answers(out)) == 1


def test_closed_terminal_loses_nothing(tmp_path, todo, model_dir):
    out = tmp_path / "mine.jsonl"
    t = Pty(["label", todo, "--out", out, "--model", model_dir], tmp_path)
    try:
        t.expect("1 of 4")
        t.send("\r")
        t.expect("2 of 4")
        os.close(t.master)
        os.close(t.slave)
        assert t.proc.wait(timeout=DEADLINE) in (0, 1, 129, -signal.SIGHUP)
    finally:
        t.close()
    assert len(_answers(out)) == 1


def test_items_without_a_guess_get_the_models(tmp_path, model_dir):
    plain = write_jsonl(tmp_path / "plain.jsonl", [{"text": TEXTS[1]}])
    out = tmp_path / "mine.jsonl"
    t = Pty(["label", plain, "--out", out, "--model", model_dir], tmp_path)
    try:
        t.expect("1 of 1")
        t.send("\r")
        t.expect("All items are answered")
        t.send("q")
        assert t.finish()[0] == 0
    finally:
        t.close()
    guess = api.tag_records([{"text": TEXTS[1]}], model_dir)[0]
    [a] = _answers(out)
    assert (a["topics"], a["stance"]) == (guess.topics, guess.stance)
    assert a["source"] == str(plain) and a["id"] == f"{plain}:1"


def test_label_needs_a_terminal(tmp_path, todo, model_dir):
    r = run_main(["label", str(todo), "--out", str(tmp_path / "o.jsonl"), "--model",
                  str(model_dir)], stdin=b"")
    assert r.code == 2 and "needs a terminal" in r.err and "Traceback" not in r.err


def test_broken_output_file_is_named_before_labelling(tmp_path, todo, model_dir):
    out = write_jsonl(tmp_path / "o.jsonl", [{"text": "Fine.", "topics": [],
                                               "stance": "neutral"}])
    with out.open("a", encoding="utf-8") as fh:
        fh.write('{"text": "Bad.", "topics": ["no-such-topic"], "stance": "neutral"}\n')
    with pytest.raises(Exception, match=rf"{out}:2: unknown topic 'no-such-topic'"):
        api.label(todo, out, model_dir, fd_in=os.open(os.devnull, os.O_RDONLY))


def test_a_pipe_as_the_answers_file_is_refused_at_once(tmp_path, todo, model_dir):
    """Resuming reads the answers file first: a FIFO there used to block before the screen."""
    out = tmp_path / "o.jsonl"
    os.mkfifo(out)
    r = run_main(["label", str(todo), "--out", str(out), "--model", str(model_dir)], stdin=b"")
    assert r.code == 2 and f"{out}: not a regular file" in r.err


@pytest.mark.parametrize("out, says", [("-", "answers are appended to a file"),
                                       ("o.csv", "answers are written as JSONL")])
def test_answers_go_to_a_jsonl_file(tmp_path, todo, model_dir, monkeypatch, out, says):
    """--out - used to write a file named '-' (and a retrain command reading stdin); a .csv
    got a JSON line and then refused every rerun."""
    monkeypatch.chdir(tmp_path)
    r = run_main(["label", str(todo), "--out", out, "--model", str(model_dir)], stdin=b"")
    assert r.code == 2 and says in r.err and "Traceback" not in r.err
    assert not (tmp_path / out).exists()


def test_a_symlink_to_the_answers_file_takes_the_same_lock(tmp_path):
    from classify.errors import DataError
    from classify.labeller import locked

    real = tmp_path / "a.jsonl"
    link = tmp_path / "link.jsonl"
    link.symlink_to(real)
    with locked(real), pytest.raises(DataError, match="another 'classify label'"), \
            locked(link):
        pass


# ---------------------------------------------------------------- the state, key by key


def _session(tmp_path, items=None, done=()):
    its = items or [Item(f"i{k}", t, "src", ["narcotics"] if k == 1 else [], "neutral")
                    for k, t in enumerate(TEXTS)]
    labels = ["aviation", "counterterrorism", "immigration", "narcotics"]
    return Session(its, labels, ["critical", "neutral", "supportive"], {"aviation": "planes"},
                   AnswerLog(tmp_path / "a.jsonl"), AnswerLog(tmp_path / "a.jsonl.skipped"),
                   Schema({t: "" for t in labels}, ["critical", "neutral", "supportive"]),
                   done=set(done))


def test_escape_sequences_and_alt_keys_are_not_keys():
    """An arrow or Alt+key (Esc and a key in one read) does nothing; Esc alone quits."""
    assert list(_keys("1\x1b[A2\x1bOB\x1b[5~3")) == ["1", "2", "3"]
    assert list(_keys("\x1bq\x1b1c")) == ["c"]  # Alt+q, Alt+1
    assert list(_keys("\x1b")) == ["\x1b"]
    assert list(_keys("\x1b\x1b"))[0] == "\x1b"  # Esc pressed twice quickly still quits


def test_stance_keys_avoid_command_keys():
    assert stance_keys(["critical", "neutral", "supportive"]) == {
        "c": "critical", "n": "neutral", "s": "supportive"}
    keys = stance_keys(["quiet", "quaint", "unsure", "FAVOR", "AGAINST", "NONE"])
    assert not set(keys) & {"q", "u", "t", " ", "?"}
    assert sorted(keys.values()) == sorted(["quiet", "quaint", "unsure", "FAVOR", "AGAINST",
                                            "NONE"])


def test_session_keys(tmp_path):
    s = _session(tmp_path, done={TEXTS[0]})
    assert s.pos == 1 and s.topics == {"narcotics"}  # resumed past the answered item
    s.key("4")
    s.key("2")
    s.key("t")
    for k in "1, 3\r":
        s.key(k)
    assert s.topics == {"counterterrorism", "aviation", "immigration"}
    s.key("c")
    s.key("\r")
    assert _answers(tmp_path / "a.jsonl") == [{
        "text": TEXTS[1], "topics": ["aviation", "counterterrorism", "immigration"],
        "stance": "critical", "source": "src", "id": "i1"}]
    s.key("9")
    assert s.message == "no topic 9"
    s.key("u")
    assert s.pos == 1 and _answers(tmp_path / "a.jsonl") == []
    s.key("u")
    assert s.message == "nothing to undo in this session"
    assert "?" not in render(s) or "planes" not in render(s)
    s.key("?")
    assert "planes" in render(s)
    for _ in range(3):
        s.key(" ")
    assert s.current is None and "All items are answered" in render(s)
    assert s.key("\r") == "quit"


def test_a_full_disk_leaves_no_cut_off_answer(tmp_path, monkeypatch):
    """A write that fails part way (a full disk) is cut back: the file keeps whole lines
    only, the error names it, and the next answer (space freed) is appended as usual."""
    import errno

    import classify.labeller as lb
    from classify.errors import ClassifyError

    log = AnswerLog(tmp_path / "a.jsonl")
    log.append({"text": "first", "topics": []})
    real_fsync = os.fsync

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(lb.os, "fsync", full)
    with pytest.raises(ClassifyError, match=r"a\.jsonl: cannot save the answer: No space"):
        log.append({"text": "second " * 500, "topics": []})
    assert (tmp_path / "a.jsonl").read_text(encoding="utf-8").splitlines() == [
        json.dumps({"text": "first", "topics": []})]
    monkeypatch.setattr(lb.os, "fsync", real_fsync)
    log.append({"text": "third", "topics": []})
    log.undo()  # undo takes back the third, not the lost second
    log.close()
    assert [json.loads(x)["text"] for x in
            (tmp_path / "a.jsonl").read_text(encoding="utf-8").splitlines()] == ["first"]


def test_answers_cannot_go_into_the_items_file(todo, model_dir):
    before = todo.read_bytes()
    r = run_main(["label", str(todo), "--out", str(todo), "--model", str(model_dir)],
                 stdin=b"")
    assert r.code == 2 and f"--out {todo}: that is an input file" in r.err
    assert todo.read_bytes() == before


@pytest.mark.parametrize("content, says", [
    ("[1, 2]", "a label guide is a schema.json"),
    ('{"topics": "x"}', "'topics' must be an object (label: definition) or a list"),
])
def test_a_guide_of_the_wrong_shape_is_refused(tmp_path, todo, model_dir, content, says):
    g = tmp_path / "guide.json"
    g.write_text(content, encoding="utf-8")
    out = tmp_path / "t.json"
    r = run_main(["export", str(todo), "--to", "label-studio", "--out", str(out), "--guide",
                  str(g), "--model", str(model_dir)])
    assert r.code == 2 and f"{g}: {says}" in r.err and not out.exists()
