"""classify suggest: ranking unlabelled items by what a label would teach the model."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from conftest import ARTICLE, FAST, error_lines, make_records, run_main, write_jsonl

from classify import api
from classify.errors import DataError
from classify.suggest import diverse_top, normalise, uncertainty

KEYS = {"id", "text", "source", "topics", "topic_scores", "stance", "stance_scores", "reason",
        "uncertainty"}

NEW = ["The ferry operator postponed crossings after the harbour strike on Friday.",
       "Lawmakers argued over the airport tax in a late-night session.",
       "The consulate said it would review work permits for seasonal pickers.",
       "Detectives found white powder in the glovebox of a hire car.",
       "The mayor praised volunteers who cleared the flooded underpass.",
       "Investigators traced the ransom payments to a shell company.",
       "A chartered plane carrying returned asylum seekers landed at dawn.",
       "Troops guarded the pipeline after threats by armed groups."]


@pytest.fixture
def pool(tmp_path, train_file):
    """New texts plus every training text: only the new ones may be suggested."""
    known = [{"text": r["text"], "id": f"old{i}"} for i, r in enumerate(make_records())]
    fresh = [{"text": t, "id": f"new{i}"} for i, t in enumerate(NEW)]
    return write_jsonl(tmp_path / "pool.jsonl", known[:30] + fresh + known[30:60])


def test_suggest_leaves_out_training_texts(pool, model_dir):
    res = api.suggest(pool, model_dir, n=50)
    assert res.pool == 68 and res.excluded == 60
    assert sorted(s.text for s in res.suggestions) == sorted(NEW)
    assert res.warnings == []
    for s in res.suggestions:
        assert set(s.record()) == KEYS
        assert s.id.startswith("new") and s.source == str(pool)
        assert 0 <= s.uncertainty <= 1 and s.reason


def test_suggest_without_diversity_is_uncertainty_order(pool, model_dir):
    res = api.suggest(pool, model_dir, n=5, diversity=0)
    u = [s.uncertainty for s in res.suggestions]
    assert u == sorted(u, reverse=True) and len(u) == 5
    again = api.suggest(pool, model_dir, n=5, diversity=0)
    assert [s.record() for s in again.suggestions] == [s.record() for s in res.suggestions]


def test_uncertainty_is_highest_at_the_threshold(model_dir):
    model = api.load_model(model_dir)
    th = np.asarray(model.topics.thresholds)
    P = np.vstack([th, np.clip(th + 0.3, 0, 1), np.clip(th - 0.3, 0, 1)])
    S = np.array([[0.9, 0.05, 0.05]] * 3)
    U, reasons = uncertainty(model, P, S)
    assert U[0] == pytest.approx(1.0) and U[1] < 1 and U[2] < 1
    assert reasons[0].startswith("topic ")
    S2 = np.array([[0.34, 0.33, 0.33]])
    U2, r2 = uncertainty(model, np.clip(th[None, :] + 0.4, 0, 1), S2)
    assert r2[0].startswith("stance: ") and U2[0] > 0.9


def test_diversity_skips_near_copies():
    """Ten near-copies of the most uncertain item: MMR takes one, then moves on."""
    import scipy.sparse as sp

    rng = np.random.default_rng(1)
    base = rng.random(50)
    copies = np.tile(base, (10, 1)) + rng.random((10, 50)) * 0.01
    others = rng.random((10, 50)) * (rng.random((10, 50)) > 0.8)
    X = sp.csr_matrix(np.vstack([copies, others]))
    priority = np.concatenate([np.full(10, 0.95) - np.arange(10) * 1e-3, np.full(10, 0.8)])
    assert set(diverse_top(priority, X, 5, diversity=0)) <= set(range(10))
    picks = diverse_top(priority, X, 5, diversity=0.5)
    assert picks[0] == 0
    assert sum(p < 10 for p in picks) == 1, picks


def test_suggest_from_a_directory_of_articles(tmp_path, model_dir):
    d = tmp_path / "articles"
    d.mkdir()
    (d / "a.txt").write_text(ARTICLE, encoding="utf-8")
    (d / "b.txt").write_text("\n".join(NEW[:4]) + "\n", encoding="utf-8")
    (d / ".hidden.txt").write_text("Never read.", encoding="utf-8")
    res = api.suggest(d, model_dir, n=3)
    assert len(res.suggestions) == 3
    for s in res.suggestions:
        name, _, k = s.id.rpartition("#")
        assert s.source == name and name in (str(d / "a.txt"), str(d / "b.txt"))
        assert int(k) >= 1
    assert (res.pool, res.excluded) == (5 + 4, 0)  # the article: headline + 4 sentences


def test_exclude_and_missing_training_files_warning(tmp_path, model_copy, pool):
    meta_path = model_copy / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["data"]["files"] = ["nowhere/train.jsonl"]
    del meta["data"]["files_from_model"]  # as a model saved before it was recorded
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    res = api.suggest(pool, model_copy, n=100)
    assert res.excluded == 0 and len(res.suggestions) == 68
    assert len(res.warnings) == 1 and "nowhere/train.jsonl" in res.warnings[0]
    done = write_jsonl(tmp_path / "done.jsonl", [{"text": "  " + NEW[0] + " "},
                                                 {"text": NEW[1], "topics": []}])
    res = api.suggest(pool, model_copy, n=100, exclude=[done])
    assert res.warnings == [] and res.excluded == 2
    assert normalise(NEW[0]) not in {normalise(s.text) for s in res.suggestions}


def test_cli_suggest_jsonl_and_text(pool, model_dir):
    r = run_main(["suggest", "--pool", str(pool), "--model", str(model_dir), "-n", "3"])
    assert r.code == 0, r.err
    rows = [json.loads(x) for x in r.out.splitlines()]
    assert len(rows) == 3 and all(set(x) == KEYS for x in rows)
    assert "3 suggestion(s) from 68 distinct pool item(s) (60 already labelled" in r.err
    r = run_main(["suggest", "--pool", str(pool), "--model", str(model_dir), "-n", "2",
                  "--format", "text", "--quiet"])
    assert r.code == 0 and r.err == ""
    assert r.out.count("unsure about") == 2 and r.out.startswith("  1. [")


def test_cli_suggest_reads_a_pipe(pool, model_dir):
    """``--pool -``: a JSONL batch or an article on standard input, named <stdin>."""
    data = pool.read_bytes()
    r = run_main(["suggest", "--pool", "-", "--model", str(model_dir), "-n", "50"], stdin=data)
    assert r.code == 0, r.err
    rows = [json.loads(x) for x in r.out.splitlines()]
    assert sorted(x["text"] for x in rows) == sorted(NEW)  # training texts still left out
    assert {x["source"] for x in rows} == {"<stdin>"} and all(x["id"].startswith("new")
                                                              for x in rows)
    r = run_main(["suggest", "--pool", "-", "--model", str(model_dir), "-n", "50"],
                 stdin=" ".join(NEW[:3]).encode())
    assert r.code == 0, r.err
    rows = [json.loads(x) for x in r.out.splitlines()]
    assert sorted(x["id"] for x in rows) == ["<stdin>#1", "<stdin>#2", "<stdin>#3"]
    assert sorted(x["text"] for x in rows) == sorted(NEW[:3])


def test_cli_suggest_pipe_of_text_opening_with_a_brace(model_dir):
    """A piped article whose first line starts with "{" but is no JSON object is an article,
    as it is for 'tag -' and for a file."""
    text = "{Updated} " + NEW[1]
    r = run_main(["suggest", "--pool", "-", "--model", str(model_dir)], stdin=text.encode())
    assert r.code == 0, r.err
    assert [json.loads(x)["text"] for x in r.out.splitlines()] == [text]


def test_a_file_named_dash_is_a_file(tmp_path, monkeypatch, pool, model_dir):
    """Only the command-line argument '-' means standard input: data found at a path named
    '-' (here an --exclude file) is read from that file."""
    monkeypatch.chdir(tmp_path)
    write_jsonl(tmp_path / "-", [{"text": NEW[0]}])
    r = run_main(["suggest", "--pool", str(pool), "--model", str(model_dir), "--exclude", "-"],
                 stdin=b'{"text": "from the pipe"}\n')
    assert r.code == 0, r.err
    assert "(61 already labelled" in r.err
    assert NEW[0] not in {json.loads(x)["text"] for x in r.out.splitlines()}


@pytest.mark.parametrize("stdin, message", [
    (b"", "<stdin>: no text to suggest from"),
    (b'{"text": "fine"}\n{broken\n', "<stdin>:2: malformed JSON"),
])
def test_cli_suggest_bad_pipe(model_dir, stdin, message):
    r = run_main(["suggest", "--pool", "-", "--model", str(model_dir)], stdin=stdin)
    assert r.code == 2 and "Traceback" not in r.err
    assert message in r.err and r.err.count("\n") == 1, r.err


@pytest.mark.parametrize("content, message", [
    (None, "no such file or directory"),
    ('{"text": "fine"}\n{"id": 3}\n', "pool.jsonl:2: missing or empty 'text'"),
    ('{"text": "fine"}\n{broken\n', "pool.jsonl:2: malformed JSON"),
])
def test_cli_suggest_bad_pool(tmp_path, model_dir, content, message):
    p = tmp_path / "pool.jsonl"
    if content is not None:
        p.write_text(content, encoding="utf-8")
    r = run_main(["suggest", "--pool", str(p), "--model", str(model_dir)])
    assert r.code == 2 and "Traceback" not in r.err
    assert message in r.err and r.err.count("\n") == 1, r.err


def test_focus_limits_the_labels_considered(pool, model_dir):
    for focus, prefix in (("topics", "topic "), ("stance", "stance: ")):
        res = api.suggest(pool, model_dir, n=8, focus=focus)
        assert all(s.reason.startswith(prefix) for s in res.suggestions), focus
    with pytest.raises(Exception, match="focus must be one of"):
        api.suggest(pool, model_dir, n=2, focus="everything")


@pytest.mark.parametrize("model, focus", [("topics_only_model", "stance"),
                                          ("stance_only_model", "topics")])
def test_focus_on_a_part_the_model_lacks_is_an_error(request, pool, model, focus):
    """It used to exit 0 with every suggestion's reason "" and uncertainty 0, in pool order."""
    model_dir = request.getfixturevalue(model)
    with pytest.raises(DataError, match=f"the model has no {focus} "):
        api.suggest(pool, model_dir, n=2, focus=focus)
    r = run_main(["suggest", "--pool", str(pool), "--model", str(model_dir), "--focus", focus])
    assert r.code == 2 and r.out == "" and "Traceback" not in r.err
    assert error_lines(r.err) == [f"classify: error: {model_dir}: the model has no {focus} "
                                  f"(trained without "
                                  f"{focus} labels), so focus {focus!r} has nothing to rank "
                                  f"by: use focus {'stance' if focus == 'topics' else 'topics'!r}"
                                  " or 'all'"], r.err
    other = "topics" if focus == "stance" else "stance"
    assert api.suggest(pool, model_dir, n=2, focus=other).suggestions[0].reason


def test_cli_suggest_text_shows_control_characters_escaped(tmp_path, model_dir):
    """Terminal escapes in a pool's text, id or source (retitling the window, clearing the
    screen, a bell) are shown escaped, as 'tag --format text' and 'label' show them, and a
    line break in a text or id does not break the two lines per suggestion."""
    f = write_jsonl(tmp_path / "pool.jsonl", [
        {"id": "a\nb\u001b[31m", "source": "src\u001b[2J",
         "text": "Customs found heroin \u001b]0;title\u0007 at the airport.\n\u001b[2JNext."},
        {"id": "plain", "text": "The minister praised the new border agency."}])
    r = run_main(["suggest", "--pool", str(f), "--model", str(model_dir), "--format", "text",
                  "--quiet"])
    assert r.code == 0 and r.err == "", r.err
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", r.out), repr(r.out)
    lines = r.out.splitlines()
    assert len(lines) == 4 and r.out.count("unsure about") == 2
    assert ("Customs found heroin \\x1b]0;title\\x07 at the airport. \\x1b[2JNext."
            in r.out)
    assert any(x.endswith("; id a\\nb\\x1b[31m") for x in lines), lines


def test_training_files_are_found_from_the_model_not_the_working_directory(
        tmp_path, pool, monkeypatch):
    """Trained with a relative path; suggest run elsewhere, where a file of the same name is
    something else (here malformed), still reads the model's own file."""
    project = tmp_path / "project"
    write_jsonl(project / "train.jsonl", make_records())
    monkeypatch.chdir(project)
    api.train(["train.jsonl"], "m", FAST)
    meta = json.loads((project / "m" / "meta.json").read_text(encoding="utf-8"))
    assert meta["data"]["files"] == ["train.jsonl"]
    assert meta["data"]["files_from_model"] == ["../train.jsonl"]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "train.jsonl").write_text('{"text": "my unrelated notes\n', encoding="utf-8")
    monkeypatch.chdir(elsewhere)
    res = api.suggest(pool, project / "m", n=50)
    assert res.excluded == 60 and res.warnings == []
    # the model's own file, now malformed: a warning naming it, not an error
    (project / "train.jsonl").write_text('{"text": "cut off\n', encoding="utf-8")
    res = api.suggest(pool, project / "m", n=50)
    assert res.excluded == 0 and len(res.warnings) == 1
    assert "train.jsonl:1" in res.warnings[0] and "not excluded" in res.warnings[0]


def test_an_ndjson_pool_is_a_batch_not_an_article(tmp_path, model_dir):
    """Before: each raw JSON line was split into sentences and suggested as text."""
    f = tmp_path / "pool.ndjson"
    f.write_text("\n".join(json.dumps({"id": f"p{i}", "text": t}) for i, t in enumerate(
        ["Police seized heroin at the airport.", "The airline cut fares."])) + "\n")
    res = api.suggest(f, model_dir, n=2)
    assert sorted(s.id for s in res.suggestions) == ["p0", "p1"]
    assert not any("{" in s.text for s in res.suggestions)
