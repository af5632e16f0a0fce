"""Training, tagging and evaluating through the command line."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import (
    ARTICLE,
    STANCES,
    TOPICS,
    make_records,
    run_cli,
    run_main,
    stance_records,
    write_jsonl,
)

import classify
from classify import api
from classify.errors import DataError, ModelError
from classify.persist import load_model
from classify.sentences import split_sentences

# ---------------------------------------------------------------- train


@pytest.fixture(scope="session")
def cli_trained(tmp_path_factory, train_file):
    """`classify train --fast` run through the CLI, with its output."""
    d = tmp_path_factory.mktemp("cli_train") / "model"
    r = run_main(["train", "--data", str(train_file), "--model", str(d), "--fast"])
    return d, r


def test_train_cli_writes_verified_model(cli_trained, train_file):
    d, r = cli_trained
    assert r.code == 0, r.err
    assert "Traceback" not in r.err
    assert f"model saved to {d}" in r.out
    n = len(make_records())
    assert f"trained on {n:,} records" in r.out
    meta = json.loads((d / "meta.json").read_text(encoding="utf-8"))
    blob = (d / meta["model_file"]).read_bytes()
    assert hashlib.sha256(blob).hexdigest() == meta["model_sha256"]
    assert meta["model_file"] == f"model-{meta['model_sha256'][:16]}.npz"
    assert sorted(meta["labels"]["topics"]) == TOPICS
    assert meta["labels"]["stance"] == STANCES
    assert meta["data"]["records"] == n
    assert meta["data"]["sha256"] == api.load_data([train_file]).sha256()
    assert meta["training"]["options"]["fast"] is True
    assert [p.name for p in d.glob("model-*.npz")] == [meta["model_file"]]
    assert not list(d.glob(".tmp-*"))
    model, _ = load_model(d)
    assert model.topic_labels == list(meta["labels"]["topics"])
    assert model.stance_labels == meta["labels"]["stance"]


LEGACY = Path(__file__).parent / "data" / "legacy-v2"  # saved by classify 0.2 (a pickle)


def test_old_pickle_model_needs_trust_then_converts(tmp_path):
    """A pickle model of classify 0.2 is refused without --trust (with the hint to convert),
    loads with it to the scores classify 0.2 gave, and `classify convert` re-saves it as data
    that loads with no trust and the same scores."""
    import shutil

    old = tmp_path / "old"
    shutil.copytree(LEGACY, old)
    expected = json.loads((old / "expected.json").read_text(encoding="utf-8"))
    with pytest.raises(ModelError, match="classify convert"):
        load_model(old)
    with pytest.warns(UserWarning, match="convert"):
        model, _ = load_model(old, trust=True)
    texts = expected["texts"]
    P, S = model.scores(texts)
    for i in range(len(texts)):
        assert dict(zip(model.topic_labels, P[i].round(4).tolist(), strict=True)) == \
            pytest.approx(expected["topic_scores"][i], abs=1e-4)
        assert dict(zip(model.stance_labels, S[i].round(4).tolist(), strict=True)) == \
            pytest.approx(expected["stance_scores"][i], abs=1e-4)
    r = run_main(["convert", str(old), "--output", str(tmp_path / "new")])
    assert r.code == 2 and "--trust" in r.err
    r = run_main(["convert", str(old), "--output", str(tmp_path / "new"), "--trust"])
    assert r.code == 0, r.err
    new, meta = load_model(tmp_path / "new")
    assert meta["model_file"].endswith(".npz") and meta["converted_from"]["format"] == 2
    assert np.allclose(new.scores(texts)[0], P) and np.allclose(new.scores(texts)[1], S)
    assert new.topic_labels == model.topic_labels
    before = (tmp_path / "new" / "meta.json").read_bytes()
    r = run_main(["convert", str(tmp_path / "new"), "--trust"])  # already converted
    assert r.code == 2 and "already in today's format" in r.err
    assert (tmp_path / "new" / "meta.json").read_bytes() == before


def test_train_cli_json_summary(tmp_path, train_file):
    r = run_main(["train", "--data", str(train_file), "--model", str(tmp_path / "m"),
                  "--fast", "--json"])
    assert r.code == 0, r.err
    summary = json.loads(r.out)
    assert summary["records"] == len(make_records())
    assert summary["topic_labels"] == TOPICS
    assert summary["stance_labels"] == STANCES
    assert summary["model_dir"] == str(tmp_path / "m")
    assert "meta" not in summary


@pytest.mark.parametrize("strategy", ["global", "tuned"])
def test_train_thresholds_flag_fixes_the_strategy(tmp_path, train_file, strategy):
    r = run_main(["train", "--data", str(train_file), "--model", str(tmp_path / "m"),
                  "--fast", "--quiet", "--thresholds", strategy])
    assert r.code == 0, r.err
    meta = json.loads((tmp_path / "m" / "meta.json").read_text(encoding="utf-8"))
    assert meta["training"]["options"]["thresholds"] == strategy
    assert meta["training"]["topics"]["params"]["threshold_strategy"] == strategy
    tried = {t["threshold_strategy"] for t in meta["training"]["topics"]["trials"]}
    assert tried == {strategy}
    if strategy == "global":
        assert len(set(meta["thresholds"].values())) == 1
    bad = run_main(["train", "--data", str(train_file), "--model", str(tmp_path / "x"),
                    "--thresholds", "median"])
    assert bad.code == 2 and "--thresholds" in bad.err and "Traceback" not in bad.err


def test_train_is_reproducible(tmp_path, train_file):
    shas = []
    for name in ("a", "b"):
        r = run_main(["train", "--data", str(train_file), "--model", str(tmp_path / name),
                      "--fast", "--quiet", "--seed", "3"])
        assert r.code == 0, r.err
        meta = json.loads((tmp_path / name / "meta.json").read_text(encoding="utf-8"))
        shas.append((meta["model_sha256"], meta["model_file"], meta["thresholds"]))
    assert shas[0] == shas[1]


def test_train_reproducible_with_data_as_csv(tmp_path):
    """The same records as JSONL or CSV give the same data hash and the same model."""
    recs = make_records(seed=5)
    j = write_jsonl(tmp_path / "d.jsonl", recs)
    c = tmp_path / "d.csv"
    with c.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "topics", "stance", "source"])
        for r in recs:
            w.writerow([r["text"], ";".join(r["topics"]), r["stance"], r["source"]])
    metas = []
    for f, name in ((j, "mj"), (c, "mc")):
        r = run_main(["train", "--data", str(f), "--model", str(tmp_path / name), "--fast",
                      "--quiet"])
        assert r.code == 0, r.err
        metas.append(json.loads((tmp_path / name / "meta.json").read_text(encoding="utf-8")))
    assert metas[0]["data"]["sha256"] == metas[1]["data"]["sha256"]
    assert metas[0]["model_sha256"] == metas[1]["model_sha256"]


# ---------------------------------------------------------------- tag an article


@pytest.fixture
def article(tmp_path):
    f = tmp_path / "article.txt"
    f.write_text(ARTICLE, encoding="utf-8")
    return f


def _check_sentence(d: dict, text: str, topics=TOPICS, stances=STANCES):
    assert text[d["start"]:d["end"]] == d["text"]
    assert set(d["topic_scores"]) == set(topics)
    assert set(d["topics"]) <= set(topics)
    assert all(0.0 <= v <= 1.0 for v in d["topic_scores"].values())
    assert set(d["stance_scores"]) == set(stances)
    assert d["stance"] == max(d["stance_scores"], key=d["stance_scores"].get)
    assert abs(sum(d["stance_scores"].values()) - 1.0) < 1e-3


def test_tag_article_json(model_dir, article):
    r = run_main(["tag", str(article), "--model", str(model_dir), "--format", "json"])
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert isinstance(data, list) and len(data) == 1
    a = data[0]
    expected = split_sentences(ARTICLE)
    assert a["type"] == "article" and a["article"] == str(article)
    assert a["sentences"] == len(expected) == len(a["sentence_tags"])
    for d, s in zip(a["sentence_tags"], expected, strict=True):
        assert (d["start"], d["end"], d["text"]) == (s.start, s.end, s.text)
        _check_sentence(d, ARTICLE)
    # the article rule: a topic holds when enough sentences carry it (1 for short articles)
    rule = json.loads((model_dir / "meta.json").read_text("utf-8"))["article_rule"]["params"]
    need = 1 if len(expected) <= rule["short_article"] else rule["min_sentences"]
    counts = {t: sum(t in d["topics"] for d in a["sentence_tags"]) for t in TOPICS}
    assert {t: int(v["sentences"]) for t, v in a["topic_support"].items()} == counts
    assert set(a["topics"]) == {t for t, k in counts.items() if k >= need}
    assert a["stance"] in STANCES
    assert a["rule"]


def test_tag_article_jsonl(model_dir, article):
    r = run_main(["tag", str(article), "--model", str(model_dir), "--format", "jsonl"])
    assert r.code == 0, r.err
    rows = [json.loads(line) for line in r.out.splitlines()]
    n = len(split_sentences(ARTICLE))
    assert [row["type"] for row in rows] == ["sentence"] * n + ["article"]
    assert [row["index"] for row in rows[:-1]] == list(range(1, n + 1))
    for row in rows[:-1]:
        _check_sentence(row, ARTICLE)
        assert row["article"] == str(article)
    assert rows[-1]["sentences"] == n


def test_tag_article_csv(model_dir, article):
    r = run_main(["tag", str(article), "--model", str(model_dir), "--format", "csv"])
    assert r.code == 0, r.err
    rows = list(csv.DictReader(io.StringIO(r.out)))
    n = len(split_sentences(ARTICLE))
    assert [row["unit"] for row in rows] == ["sentence"] * n + ["article"]
    header = next(csv.reader(io.StringIO(r.out)))
    assert [h for h in header if h.startswith("p_") and not h.startswith("p_stance_")] == \
        [f"p_{t}" for t in TOPICS]
    assert [h for h in header if h.startswith("p_stance_")] == [f"p_stance_{s}" for s in STANCES]
    for row, s in zip(rows, split_sentences(ARTICLE), strict=False):
        assert row["text"] == s.text
        assert ARTICLE[int(row["start"]):int(row["end"])] == s.text
        assert row["stance"] in STANCES
        for t in filter(None, row["topics"].split(";")):
            assert t in TOPICS
        for t in TOPICS:
            assert 0.0 <= float(row[f"p_{t}"]) <= 1.0


def test_tag_article_text(model_dir, article):
    r = run_main(["tag", str(article), "--model", str(model_dir)])
    assert r.code == 0, r.err
    n = len(split_sentences(ARTICLE))
    assert f"== {article} ({n} sentences)" in r.out
    assert "article topics:" in r.out and "article stance:" in r.out
    numbered = [ln for ln in r.out.splitlines() if re.match(r"\s*\d+\. \[", ln)]
    assert len(numbered) == n
    assert "Mr. J. K. Smith of the U.S. embassy said the inquiry would continue." in r.out


def test_tag_finds_training_topics(model_dir):
    """Sentences the model was trained on get their own topic back."""
    recs = [r for r in make_records() if len(r["topics"]) == 1]
    picked = {}
    for r in recs:
        picked.setdefault(r["topics"][0], r)
    texts = [picked[t]["text"] for t in TOPICS]
    tags = api.tag_records([{"id": t, "text": x} for t, x in zip(TOPICS, texts, strict=True)],
                           model_dir)
    for topic, t in zip(TOPICS, tags, strict=True):
        assert topic in t.topics, (topic, t.text, t.topic_scores)
        assert t.id == topic


def test_tag_stdin_text(model_dir):
    p = run_cli(["tag", "-", "--model", model_dir, "--format", "json"],
                input=b"Customs officers found heroin at the airport. Police said so.\n"
)
    assert p.returncode == 0, p.stderr
    a = json.loads(p.stdout)[0]
    assert a["article"] == "<stdin>" and a["sentences"] == 2


def test_tag_directory_of_articles(model_dir, tmp_path):
    d = tmp_path / "articles"
    d.mkdir()
    (d / "one.txt").write_text("Police seized heroin. The airport was closed.", "utf-8")
    (d / "two.txt").write_text("Migrants crossed the border at night.", "utf-8")
    (d / ".hidden.txt").write_text("Should not be tagged.", "utf-8")
    r = run_main(["tag", str(d), "--model", str(model_dir), "--format", "jsonl"])
    assert r.code == 0, r.err
    arts = [json.loads(x) for x in r.out.splitlines() if '"type":"article"' in x]
    assert [a["article"] for a in arts] == [str(d / "one.txt"), str(d / "two.txt")]


def test_tag_directory_with_a_pipe_tags_the_rest(model_dir, tmp_path):
    """A FIFO among the articles would block a read forever: it is named and left out."""
    import os

    d = tmp_path / "articles"
    d.mkdir()
    (d / "one.txt").write_text("Police seized heroin. The airport was closed.", "utf-8")
    os.mkfifo(d / "pipe.txt")
    r = run_main(["tag", str(d), "--model", str(model_dir), "--format", "jsonl"])
    assert r.code != 0 and f"{d / 'pipe.txt'}: not a regular file" in r.err
    arts = [json.loads(x) for x in r.out.splitlines() if '"type":"article"' in x]
    assert [a["article"] for a in arts] == [str(d / "one.txt")]


# ---------------------------------------------------------------- JSONL batches


def _batch_file(path, n: int = 12):
    recs = []
    for i, r in enumerate(make_records(seed=9)[:n]):
        rec = {"text": r["text"], "id": f"r{i}"}
        if i == 3:
            rec["id"] = 7  # numeric ids come back as strings
        if i == 5:
            del rec["id"]
        if i == 6:
            rec["text"] = "Zöllner fanden Heroin am Flughafen — «ça va» 🚀."
        recs.append(rec)
    write_jsonl(path, recs)
    return recs


def test_tag_jsonl_batch(model_dir, tmp_path):
    recs = _batch_file(tmp_path / "batch.jsonl")
    r = run_main(["tag", str(tmp_path / "batch.jsonl"), "--model", str(model_dir),
                  "--format", "jsonl"])
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert len(lines) == len(recs)
    out = [json.loads(x) for x in lines]
    expected_ids = [None if "id" not in rec else str(rec["id"]) for rec in recs]
    assert [o["id"] for o in out] == expected_ids
    for o in out:
        assert set(o) == {"id", "topics", "topic_scores", "stance", "stance_scores"}
        assert set(o["topic_scores"]) == set(TOPICS)
        assert set(o["topics"]) <= set(TOPICS)
        assert o["stance"] in STANCES
        assert set(o["stance_scores"]) == set(STANCES)


def test_tag_jsonl_batch_matches_api(model_dir, tmp_path):
    recs = _batch_file(tmp_path / "batch.jsonl")
    r = run_main(["tag", str(tmp_path / "batch.jsonl"), "--model", str(model_dir),
                  "--format", "jsonl"])
    via_api = api.tag_records(recs, model_dir)
    assert [json.loads(x) for x in r.out.splitlines()] == [t.record() for t in via_api]


def test_tag_jsonl_batch_from_stdin(model_dir, tmp_path):
    recs = _batch_file(tmp_path / "batch.jsonl", 5)
    p = run_cli(["tag", "-", "--model", model_dir, "--format", "jsonl"],
                input=(tmp_path / "batch.jsonl").read_bytes())
    assert p.returncode == 0, p.stderr
    assert len(p.stdout.splitlines()) == len(recs)


def test_topics_only_model_gives_null_stance(topics_only_model, tmp_path):
    recs = _batch_file(tmp_path / "b.jsonl", 4)
    meta = json.loads((topics_only_model / "meta.json").read_text(encoding="utf-8"))
    assert meta["labels"]["stance"] == []
    r = run_main(["tag", str(tmp_path / "b.jsonl"), "--model", str(topics_only_model),
                  "--format", "jsonl"])
    assert r.code == 0, r.err
    out = [json.loads(x) for x in r.out.splitlines()]
    assert len(out) == len(recs)
    for o in out:
        assert o["stance"] is None and o["stance_scores"] == {}
        assert set(o["topic_scores"]) == set(TOPICS)
    art = tmp_path / "a.txt"
    art.write_text(ARTICLE, encoding="utf-8")
    for fmt in ("text", "csv", "json"):
        r = run_main(["tag", str(art), "--model", str(topics_only_model), "--format", fmt])
        assert r.code == 0, (fmt, r.err)
    a = json.loads(r.out)[0]
    assert a["stance"] is None
    assert all(s["stance"] is None for s in a["sentence_tags"])


def test_stance_only_model(stance_only_model, tmp_path):
    meta = json.loads((stance_only_model / "meta.json").read_text(encoding="utf-8"))
    assert meta["labels"]["topics"] == {}
    assert sorted(meta["labels"]["stance"]) == ["AGAINST", "FAVOR", "NONE"]
    recs = stance_records()
    sample = [recs[0], recs[len(recs) // 2], recs[-1]]
    f = write_jsonl(tmp_path / "s.jsonl", [{"id": str(i), "text": r["text"]}
                                           for i, r in enumerate(sample)])
    r = run_main(["tag", str(f), "--model", str(stance_only_model), "--format", "jsonl"])
    assert r.code == 0, r.err
    out = [json.loads(x) for x in r.out.splitlines()]
    assert [o["stance"] for o in out] == [s["stance"] for s in sample]
    for o in out:
        assert o["topics"] == [] and o["topic_scores"] == {}
        assert set(o["stance_scores"]) == {"AGAINST", "FAVOR", "NONE"}
    art = tmp_path / "a.txt"
    art.write_text("The mayor condemns the tax reform. The union welcomes the water plan.",
                   encoding="utf-8")
    r = run_main(["tag", str(art), "--model", str(stance_only_model)])
    assert r.code == 0, r.err
    assert "article stance:" in r.out


def test_jobs_2_equals_jobs_1(model_dir, tmp_path):
    base = make_records(n_per_topic=60, seed=4)
    recs = [{"id": i, "text": base[i % len(base)]["text"] + f" (copy {i})"}
            for i in range(4500)]  # more than one batch of 2000
    f = write_jsonl(tmp_path / "big.jsonl", recs)
    outs = []
    for jobs in ("1", "2"):
        p = run_cli(["tag", f, "--model", model_dir, "--format", "jsonl", "--jobs", jobs])
        assert p.returncode == 0, p.stderr
        outs.append(p.stdout)
    assert outs[0] == outs[1]
    lines = outs[0].splitlines()
    assert len(lines) == len(recs)
    assert [json.loads(x)["id"] for x in lines[:3]] == ["0", "1", "2"]
    assert json.loads(lines[-1])["id"] == str(len(recs) - 1)
    auto = run_cli(["tag", f, "--model", model_dir, "--format", "jsonl"])  # --jobs auto
    assert auto.returncode == 0, auto.stderr
    assert auto.stdout == outs[0]


def test_auto_jobs_by_input_size(tmp_path, monkeypatch):
    from classify import api

    small = tmp_path / "small.jsonl"
    small.write_text('{"text": "x"}\n', encoding="utf-8")
    big = tmp_path / "big.jsonl"
    with open(big, "wb") as fh:
        fh.truncate(api.AUTO_JOBS_BYTES)
    assert api.auto_jobs(small) == 1
    assert api.auto_jobs(None) == 1  # a stream
    assert api.auto_jobs(tmp_path / "missing.jsonl") == 1
    monkeypatch.setattr(api.os, "sched_getaffinity", lambda _: set(range(8)))
    assert api.auto_jobs(big) == api.AUTO_JOBS_MAX
    monkeypatch.setattr(api.os, "sched_getaffinity", lambda _: {0})
    assert api.auto_jobs(big) == 1


# ---------------------------------------------------------------- evaluate


@pytest.fixture(scope="session")
def cv_json(tmp_path_factory, train_file):
    d = tmp_path_factory.mktemp("cv")
    r = run_main(["evaluate", "--data", str(train_file), "--folds", "3", "--fast", "--quiet",
                  "--json", "--report", str(d / "r.html")])
    return r, d / "r.html"


def _gold_counts():
    recs = make_records()
    topics = {t: sum(t in r["topics"] for r in recs) for t in TOPICS}
    stances = {s: sum(r["stance"] == s for r in recs) for s in STANCES}
    return recs, topics, stances


def test_evaluate_cv_json(cv_json):
    r, _ = cv_json
    assert r.code == 0, r.err
    rep = json.loads(r.out)
    recs, topic_counts, stance_counts = _gold_counts()
    assert rep["mode"] == "cross-validation"
    assert rep["n_records"] == len(recs)
    assert rep["settings"]["folds"] == 3
    assert set(rep["topics"]["labels"]) == set(TOPICS)
    for t, m in rep["topics"]["labels"].items():
        assert m["support"] == topic_counts[t]
        for k in ("precision", "recall", "f1"):
            assert 0.0 <= m[k] <= 1.0
    for avg in ("micro", "macro"):
        assert set(rep["topics"][avg]) == {"precision", "recall", "f1", "f1_ci"}
        lo, hi = rep["topics"][avg]["f1_ci"]
        assert lo <= rep["topics"][avg]["f1"] <= hi
    st = rep["stance"]
    assert set(st["labels"]) == set(STANCES)
    assert {s: m["support"] for s, m in st["labels"].items()} == stance_counts
    cm = st["confusion"]
    assert sorted(cm["labels"]) == STANCES
    matrix = cm["matrix"]
    assert len(matrix) == len(STANCES) and all(len(row) == len(STANCES) for row in matrix)
    assert [sum(row) for row in matrix] == [stance_counts[s] for s in cm["labels"]]
    correct = sum(matrix[i][i] for i in range(len(matrix)))
    assert abs(st["accuracy"] - correct / len(recs)) < 1e-9


def test_evaluate_html_report(cv_json):
    r, html_path = cv_json
    assert r.code == 0, r.err
    html = html_path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    for label in TOPICS + STANCES:
        assert f"<td>{label}</td>" in html, label
    assert "confusion matrix" in html
    _, topic_counts, _ = _gold_counts()
    for t, n in topic_counts.items():
        assert re.search(rf"<td>{t}</td>(<td[^>]*>[0-9.]+</td>){{2}}"
                         rf"<td[^>]*>[0-9.]+ \[[0-9.]+, [0-9.]+\]</td><td class='num'>{n}</td>",
                         html), t


def test_evaluate_markdown_report(tmp_path, train_file):
    rep = tmp_path / "r.md"
    r = run_main(["evaluate", "--data", str(train_file), "--folds", "3", "--fast", "--quiet",
                  "--report", str(rep)])
    assert r.code == 0, r.err
    md = rep.read_text(encoding="utf-8")
    _, topic_counts, stance_counts = _gold_counts()
    f1 = r"[0-9.]+ \[[0-9.]+, [0-9.]+\]"  # with its 95% interval
    for t, n in topic_counts.items():
        assert re.search(rf"^\| {t} \| [0-9.]+ \| [0-9.]+ \| {f1} \| {n} \|$", md, re.M), t
    for s, n in stance_counts.items():
        assert re.search(rf"^\| {s} \| [0-9.]+ \| [0-9.]+ \| {f1} \| {n} \|$", md, re.M), s
    assert "## Stance confusion matrix" in md
    cm_rows = [ln for ln in md.splitlines() if re.match(rf"^\| ({'|'.join(STANCES)}) \| \d+ \|",
                                                        ln)]
    assert len(cm_rows) == len(STANCES)
    assert sum(sum(int(x) for x in row.strip("| ").split(" | ")[1:]) for row in cm_rows) == \
        sum(stance_counts.values())
    # summary lines on stdout
    assert r.out.startswith("topics: micro-F1 ")
    assert "stance: macro-F1 " in r.out


def test_evaluate_text_output(tmp_path, stance_only_model):
    f = write_jsonl(tmp_path / "s.jsonl", stance_records())
    r = run_main(["evaluate", "--data", str(f), "--folds", "3", "--fast", "--quiet"])
    assert r.code == 0, r.err
    for s in ("AGAINST", "FAVOR", "NONE"):
        assert s in r.out
    assert "confusion matrix" in r.out
    assert "Topics (" not in r.out


def test_evaluate_model_on_test_file(model_dir, tmp_path):
    test = make_records(seed=11)[:30]
    f = write_jsonl(tmp_path / "test.jsonl", test)
    r = run_main(["evaluate", "--model", str(model_dir), "--test", str(f), "--json"])
    assert r.code == 0, r.err
    rep = json.loads(r.out)
    assert rep["mode"] == "held-out"
    assert rep["n_records"] == len(test)
    assert rep["settings"]["model"] == str(model_dir)
    assert rep["topics"]["n"] == len(test)
    assert sum(m["support"] for m in rep["stance"]["labels"].values()) == len(test)
    assert sum(map(sum, rep["stance"]["confusion"]["matrix"])) == len(test)
    # and a Markdown report of the same
    r = run_main(["evaluate", "--model", str(model_dir), "--test", str(f), "--report",
                  str(tmp_path / "dev.md")])
    assert r.code == 0, r.err
    assert "held-out" in (tmp_path / "dev.md").read_text(encoding="utf-8")


def test_evaluate_says_when_test_records_are_training_records(model_dir, train_file, tmp_path):
    trained = [json.loads(line) for line in train_file.read_text(encoding="utf-8").splitlines()]
    fresh = [{"text": f"A sentence no model here was trained on, number {i}.", "topics": [],
              "stance": "neutral", "source": f"fresh-{i}"} for i in range(3)]
    f = write_jsonl(tmp_path / "test.jsonl", fresh + trained[:5])
    r = run_main(["evaluate", "--model", str(model_dir), "--test", str(f), "--json"])
    assert r.code == 0, r.err
    note = f"5 of 8 test records are in the model's training data (first: {f}:4)"
    assert note in r.err
    rep = json.loads(r.out)
    assert any(note in n for n in rep["fallbacks"])
    assert "5 of them in its training data" in rep["description"]
    # only fresh records: nothing said
    g = write_jsonl(tmp_path / "fresh.jsonl", fresh)
    r = run_main(["evaluate", "--model", str(model_dir), "--test", str(g), "--json"])
    assert r.code == 0, r.err
    assert "training data" not in r.err
    assert "held-out records" in json.loads(r.out)["description"]


def test_evaluate_folds_in_processes_give_the_same_report(train_file):
    args = ["evaluate", "--data", str(train_file), "--folds", "3", "--fast", "--json"]
    one = run_main([*args, "--jobs", "1"])
    two = run_main([*args, "--jobs", "2"])
    assert one.code == 0 and two.code == 0, (one.err, two.err)
    assert json.loads(one.out) == json.loads(two.out)
    # progress (stderr, without --json): one line per fold either way
    one, two = (run_main([*args[:-1], "--jobs", j]) for j in ("1", "2"))
    assert one.out == two.out
    assert "3 folds in 2 processes" in two.err and "processes" not in one.err
    for k in (1, 2, 3):
        assert f"fold {k}/3: " in one.err and f"fold {k}/3: " in two.err


def test_evaluate_auto_jobs_fit_folds_in_parallel_only_on_large_data(monkeypatch):
    from classify import api
    from classify.evaluate import AUTO_FOLD_CELLS, fold_jobs
    from classify.model import TrainOptions

    monkeypatch.setattr(api, "usable_cores", lambda: 8)
    auto = TrainOptions(jobs="auto")
    assert fold_jobs(auto, 5, AUTO_FOLD_CELLS // 4 - 1, 4) == 1
    assert fold_jobs(auto, 5, AUTO_FOLD_CELLS // 4, 4) == api.AUTO_JOBS_MAX
    assert fold_jobs(auto, 3, AUTO_FOLD_CELLS, 4) == 3  # never more than one a fold
    assert fold_jobs(TrainOptions(jobs=2), 5, 10, 4) == 2  # asked for: whatever the size
    assert fold_jobs(TrainOptions(jobs=1), 5, AUTO_FOLD_CELLS, 4) == 1


def test_evaluate_model_needs_test(model_dir):
    r = run_main(["evaluate", "--model", str(model_dir)])
    assert r.code != 0
    assert "--test" in r.err and "Traceback" not in r.err


def test_evaluate_report_other_extension_is_markdown(tmp_path, train_file):
    r = run_main(["evaluate", "--data", str(train_file), "--folds", "3", "--fast",
                  "--report", str(tmp_path / "r.report")])
    assert r.code == 0, r.err
    text = (tmp_path / "r.report").read_text(encoding="utf-8")
    assert text.startswith("# classify evaluation report") and "| topic |" in text


# ---------------------------------------------------------------- version and help


def test_version():
    p = run_cli(["--version"])
    assert p.returncode == 0
    assert p.stdout.strip() == f"classify {classify.__version__}"


@pytest.mark.parametrize("cmd, flags", [
    ([], ["train", "tag", "evaluate", "--version"]),
    (["train"], ["--data", "--model", "--fast", "--C", "--seed", "--json", "--schema"]),
    (["tag"], ["--model", "--format", "--jobs", "--skip-invalid", "--trust", "INPUT"]),
    (["evaluate"], ["--folds", "--report", "--json", "--model", "--test", "--data"]),
    ([], ["suggest", "label", "export", "import"]),
    (["train"], ["--weight", "--params-from"]),
    (["suggest"], ["--pool", "-n", "--format", "--exclude", "--diversity", "--focus"]),
    (["label"], ["--out", "--guide", "FILE"]),
    (["export"], ["--to", "--out", "--config"]),
    (["import"], ["--from", "--out"]),
])
def test_help(cmd, flags, capsys):
    from classify import cli

    with pytest.raises(SystemExit) as e:
        cli.main([*cmd, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: classify {' '.join(cmd)}".rstrip())
    for flag in flags:
        assert flag in out, flag


def test_no_command_prints_help():
    r = run_main([])
    assert r.code == 2
    assert "usage: classify" in r.out + r.err


def test_unknown_option_is_usage_error():
    r = run_main(["tag", "--no-such-flag", "x.txt"])
    assert r.code == 2
    assert "Traceback" not in r.err and "no-such-flag" in r.err


@pytest.mark.parametrize("fmt", ["csv", "json", "text"])
def test_tag_jsonl_batch_other_formats(model_dir, tmp_path, fmt):
    recs = _batch_file(tmp_path / "batch.jsonl", 6)
    r = run_main(["tag", str(tmp_path / "batch.jsonl"), "--model", str(model_dir),
                  "--format", fmt])
    assert r.code == 0, r.err
    ids = [None if "id" not in rec else str(rec["id"]) for rec in recs]
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(r.out)))
        assert [row["unit"] for row in rows] == ["record"] * len(recs)
        assert [row["id"] or None for row in rows] == ids
        assert [row["text"] for row in rows] == [rec["text"] for rec in recs]
    elif fmt == "json":
        out = json.loads(r.out)
        assert [o["id"] for o in out] == ids
    else:
        lines = r.out.splitlines()
        assert len(lines) == len(recs)
        assert lines[0].startswith("r0\t[")


def test_tag_explain_adds_reasons(model_dir, tmp_path):
    f = tmp_path / "b.jsonl"
    f.write_text(json.dumps({"id": "x", "text": make_records()[0]["text"]}) + "\n", "utf-8")
    r = run_main(["tag", str(f), "--model", str(model_dir), "--format", "jsonl", "--explain"])
    assert r.code == 0, r.err
    o = json.loads(r.out)
    assert set(o) == {"id", "topics", "topic_scores", "stance", "stance_scores", "why"}
    assert set(o["why"]) <= set(o["topics"]) | {o["stance"]}
    assert o["stance"] in o["why"]


def test_jobs_2_with_skip_invalid_equals_jobs_1(model_dir, tmp_path):
    f = tmp_path / "b.jsonl"
    lines = [json.dumps({"id": i, "text": r["text"]}) for i, r in enumerate(make_records()[:40])]
    lines[17] = '{"id": 17, "text": '
    lines[30] = '{"id": 30}'
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    outs = []
    for jobs in ("1", "2"):
        p = run_cli(["tag", f, "--model", model_dir, "--format", "jsonl", "--jobs", jobs,
                     "--skip-invalid"])
        assert "Traceback" not in p.stderr
        assert "skipped 2" in p.stderr, p.stderr
        outs.append(p.stdout)
    assert outs[0] == outs[1]
    out = [json.loads(x) for x in outs[0].splitlines()]
    assert len(out) == 40
    assert [i for i, o in enumerate(out) if "error" in o] == [17, 30]


def test_evaluate_topics_only(tmp_path):
    recs = [{k: v for k, v in r.items() if k != "stance"} for r in make_records(seed=12)]
    f = write_jsonl(tmp_path / "t.jsonl", recs)
    r = run_main(["evaluate", "--data", str(f), "--folds", "3", "--fast", "--quiet", "--json"])
    assert r.code == 0, r.err
    rep = json.loads(r.out)
    assert rep["stance"] is None
    assert set(rep["topics"]["labels"]) == set(TOPICS)
    assert rep["topics"]["n"] == len(recs)


def test_api_tag_text(model_dir):
    a = api.tag_text(ARTICLE, model_dir, name="art")
    assert a.name == "art"
    assert [t.text for t in a.sentences] == [s.text for s in split_sentences(ARTICLE)]
    assert all(ARTICLE[t.start:t.end] == t.text for t in a.sentences)
    assert set(a.topics) <= set(TOPICS) and a.stance in STANCES


def test_batch_jsonl_equals_json_dumps_of_each_record(model_dir):
    """The array-rendered batch output is, line for line, the JSON of Tags.record()."""
    import json

    import numpy as np

    from classify.output import jsonl_block
    from classify.tagging import BatchItem, Chunk, Scores, Tagger, _tag_chunk

    def dumps(t, explain=False) -> str:
        return json.dumps(t.record(explain), ensure_ascii=False,
                          separators=(",", ":")) + "\n"

    tagger = Tagger.load(model_dir)
    texts = [f"{x} report number {i}" for i, x in enumerate(["Heroin seized at the port.",
             "Asylum claims rose.", "Bombers hit the market.", "The airline cut fares.",
             "The weather was mild."] * 3)]
    items = [BatchItem(f"f:{i}", None if i == 2 else f'id "{i}"\n', x)
             for i, x in enumerate(texts)]
    items.insert(4, BatchItem("f:99", "bad", None, "f:99: malformed JSON"))
    good = [it.text for it in items if it.error is None]
    block = jsonl_block(Chunk.of(items), tagger.score_texts(good))
    assert block.splitlines(keepends=True) == [dumps(t) for t in _tag_chunk(tagger, items,
                                                                             False)]
    sc = tagger.score_texts(good)
    explained = jsonl_block(Chunk.of(items), sc, tagger.why(good, sc))
    assert explained.splitlines(keepends=True) == [
        dumps(t, True) for t in _tag_chunk(tagger, items, True)]
    assert '"why":{' in explained
    # labels that need escaping, scores at the rounding edges, no stance model
    sc = Scores(["b%", 'q"uote', "é"], [], np.array([[0.75, 1e-5, 0.99996]]),
                np.array([[True, False, True]]), np.zeros((1, 0)))
    line = jsonl_block(Chunk.of([BatchItem("f:1", "7", "x")]), sc)
    assert json.loads(line) == {"id": "7", "topics": ["é", "b%"],
                                "topic_scores": {"b%": 0.75, 'q"uote': 0.0, "é": 1.0},
                                "stance": None, "stance_scores": {}}


def test_chunk_parse_fast_path_equals_per_record_validation():
    from classify.tagging import Chunk, Lines, _parse_chunk

    ok = ['{"id": 7, "text": "a"}\n', '{"text": "b c"}\n', '{"id": "x", "text": "d"}\n']
    bad = ok + ["  \n", '{"id": 9, "text": "  "}\n', "[1]\n", '{"text": "e"}',
                # each line broken alone, though together they read as two records
                '{"text":"a"},{"text":"b","k":[1\n', "2]}\n"]
    for raw in (ok, bad):
        lines = Lines(1, raw)
        fast, slow = Chunk.parse(lines, "f"), Chunk.of(_parse_chunk(lines, "f"))
        assert (fast.ids, fast.texts) == (slow.ids, slow.texts)
        assert [(p, it.error) for p, it in fast.invalid] == [(p, it.error) for p, it in
                                                             slow.invalid]
    assert Chunk.parse(Lines(1, ok), "f").ids == ["7", None, "x"]
    invalid = Chunk.parse(Lines(1, bad), "f").invalid
    assert [(p, it.where) for p, it in invalid] == [(3, "f:5"), (4, "f:6"), (6, "f:8"),
                                                    (7, "f:9")]


def test_train_jobs_gives_the_same_model_and_a_quiet_exit(tmp_path, train_file):
    """``--jobs`` only spreads the per-label fits over processes: the model file is byte for
    byte that of one process (the number of processes is not stored in it), and the worker
    pool neither leaves warnings about leaked temporary folders on stderr nor holds the
    command's pipes open after it ends (the test would time out waiting for them)."""
    metas = {}
    for jobs in ("1", "2", "auto"):
        p = run_cli(["train", "--data", train_file, "--model", tmp_path / jobs, "--jobs", jobs,
                     "--quiet"], timeout=60)
        assert p.returncode == 0, p.stderr
        assert "Warning" not in p.stderr and "leaked" not in p.stderr, p.stderr
        metas[jobs] = json.loads((tmp_path / jobs / "meta.json").read_text())
    assert metas["1"]["model_sha256"] == metas["2"]["model_sha256"] == \
        metas["auto"]["model_sha256"]
    assert metas["1"]["thresholds"] == metas["2"]["thresholds"]
    assert metas["auto"]["training"]["options"]["jobs"] == "auto"


def test_auto_train_jobs_uses_the_cores_only_for_large_data(monkeypatch):
    from classify import api
    from classify.model import AUTO_TRAIN_CELLS, auto_train_jobs

    monkeypatch.setattr(api, "usable_cores", lambda: 8)
    assert auto_train_jobs(AUTO_TRAIN_CELLS // 4 - 1, 4) == 1  # small: one process
    assert auto_train_jobs(AUTO_TRAIN_CELLS // 4, 4) == 4  # large: the cores, at most 4
    monkeypatch.setattr(api, "usable_cores", lambda: 2)
    assert auto_train_jobs(10_000, 27) == 2
    assert auto_train_jobs(10_000, 0) == 1


def test_tag_file_tags_a_path_as_the_cli_does(tmp_path, model_dir):
    """api.tag_file: an article file gives the article the CLI prints; a .jsonl file one
    Tags per record (invalid records raise, or come out with an error when skipped)."""
    art = tmp_path / "a.txt"
    art.write_text("Police seized heroin at the airport.\n\nThe minister praised them.\n",
                   encoding="utf-8")
    r = run_main(["tag", str(art), "--model", str(model_dir), "--format", "json"])
    assert r.code == 0, r.err
    printed = json.loads(r.out)[0]
    got = api.tag_file(art, model_dir)
    assert got.to_dict()["topics"] == printed["topics"]
    assert [s.text for s in got.sentences] == [s["text"] for s in printed["sentence_tags"]]

    batch = tmp_path / "b.jsonl"
    batch.write_text('{"id": "1", "text": "Police seized heroin."}\n{"id": 2}\n'
                     '{"id": "3", "text": "Fares rose."}\n', encoding="utf-8")
    with pytest.raises(DataError, match=rf"{batch}:2: missing or empty 'text'"):
        api.tag_file(batch, model_dir)
    tags = api.tag_file(batch, model_dir, skip_invalid=True)
    assert [t.id for t in tags] == ["1", "2", "3"] and tags[1].error and not tags[0].error
    as_text = api.tag_file(batch, model_dir, input_format="text", keep_all=True)
    assert len(as_text.sentences) >= 1
    (tmp_path / "empty.txt").write_text("  \n", encoding="utf-8")
    with pytest.raises(DataError, match="empty input"):
        api.tag_file(tmp_path / "empty.txt", model_dir)


def test_control_characters_of_the_data_do_not_reach_the_terminal(tmp_path, model_dir):
    """An escape sequence in a text (clear the screen, retitle the window) is shown escaped in
    text output and on the labelling screen; JSON output keeps the text exactly."""
    from test_labeller import _session

    from classify.labeller import Item, render

    nasty = "Police seized heroin.\x1b[2J\x1b]0;PWNED\x07 Fares\x00 rose."
    f = write_jsonl(tmp_path / "b.jsonl", [{"id": "x\x1b[31m", "text": nasty}])
    r = run_main(["tag", str(f), "--model", str(model_dir)])
    assert r.code == 0, r.err
    assert "\x1b" not in r.out and "\x07" not in r.out and "\x00" not in r.out
    assert "\\x1b[2J" in r.out
    r = run_main(["tag", str(f), "--model", str(model_dir), "--format", "jsonl"])
    assert json.loads(r.out)["id"] == "x\x1b[31m"
    s = _session(tmp_path, items=[Item("i\x1b[0m", nasty, "src\x07", [], "neutral")])
    screen = render(s, 80)
    assert "\x1b[2J" not in screen and "\x07" not in screen and "\x1b[0m" not in screen
    assert "\\x1b[2J" in screen and "\\x07" in screen


def test_train_table_shows_the_digits_the_progress_log_shows(tmp_path, train_file,
                                                              monkeypatch):
    """A score just over a rounding edge (0.66751) must read the same in the progress log
    and in the candidates table: once the table printed 0.667 from a row stored to 4 places
    while the log printed 0.668 from the raw score."""
    from classify import selection

    real = selection.best_thresholds

    def on_the_edge(*args, **kwargs):
        th, _, _, score = real(*args, **kwargs)
        return th, 0.66751, 0.33349, score

    monkeypatch.setattr(selection, "best_thresholds", on_the_edge)
    r = run_main(["train", "--data", str(train_file), "--model", str(tmp_path / "m"),
                  "--C", "1"])
    assert r.code == 0, r.err
    logged = re.findall(r"topics .*: internal CV micro-F1 (\S+) macro-F1 (\S+)", r.err)
    table = re.findall(r"^[* ] (?:words|char).*?\s(\d\.\d+)\s+(\d\.\d+)\s+\d+\.\d$", r.out,
                       re.MULTILINE)
    assert logged and table, (r.out, r.err)
    assert set(logged) == set(table) == {("0.6675", "0.3335")}
