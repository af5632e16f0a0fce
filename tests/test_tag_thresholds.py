"""``classify tag --threshold TOPIC=SCORE``: a topic's decision threshold replaced at tagging
time, in every tagging path (one process, worker processes, articles), scores untouched."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import ARTICLE, assert_clean_error, make_records, run_cli, run_main, write_jsonl

from classify import api, tagging
from classify.errors import DataError


def _texts() -> list[str]:
    return [r["text"] for r in make_records(n_per_topic=10, seed=7)]


def test_with_thresholds_moves_decisions_not_scores(model_dir):
    model = api.load_model(model_dir)
    labels = model.topic_labels
    before = model.topics.thresholds.copy()
    texts = _texts()
    P, S = model.scores(texts)
    D = model.decide(P)
    never, always = labels[0], labels[1]
    other = model.with_thresholds({never: 1.0, always: 0.0})
    P2, S2 = other.scores(texts)
    D2 = other.decide(P2)
    assert np.array_equal(P, P2) and np.array_equal(S, S2)
    assert D[:, 0].any() and not D2[:, 0].any()
    assert not D[:, 1].all() and D2[:, 1].all()
    assert np.array_equal(D[:, 2:], D2[:, 2:])
    assert np.array_equal(model.topics.thresholds, before)  # the loaded model is not changed
    assert other.topics.thresholds[0] == 1.0 and other.topics.thresholds[2] == before[2]


@pytest.mark.parametrize("overrides, message", [
    ({"piracy": 0.5}, "'piracy': not a topic of this model"),
    ({"aviation": 1.5}, "must lie between 0 and 1"),
    ({"aviation": -0.1}, "must lie between 0 and 1"),
])
def test_an_unknown_topic_or_a_score_outside_0_1_is_refused(model_dir, overrides, message):
    with pytest.raises(DataError, match=message):
        api.load_tagger(model_dir, thresholds=overrides)


def test_a_worker_process_loads_the_same_overrides(model_dir, monkeypatch):
    """Workers that do not inherit the parent's tagger load the model themselves: they apply
    the parent's overrides too."""
    monkeypatch.setattr(tagging, "_WORKER", None)
    label = api.load_model(model_dir).topic_labels[0]
    tagging._init_worker(str(model_dir), False, {label: 0.99})
    assert tagging._WORKER.thresholds == {label: 0.99}
    assert tagging._WORKER.model.topics.thresholds[0] == 0.99


def test_cli_batch_with_a_threshold_and_two_processes(model_dir, tmp_path):
    base = make_records(n_per_topic=60, seed=4)
    recs = [{"id": i, "text": base[i % len(base)]["text"] + f" (copy {i})"}
            for i in range(4500)]  # more than one batch of 2000: the worker gets some
    f = write_jsonl(tmp_path / "big.jsonl", recs)
    label = api.load_model(model_dir).topic_labels[0]
    plain = run_cli(["tag", f, "--model", model_dir, "--format", "jsonl", "--jobs", "1"])
    outs = [run_cli(["tag", f, "--model", model_dir, "--format", "jsonl", "--jobs", jobs,
                     "--threshold", f"{label}=1"]) for jobs in ("1", "2")]
    assert plain.returncode == 0 and all(p.returncode == 0 for p in outs), outs[1].stderr
    assert outs[0].stdout == outs[1].stdout
    before = [json.loads(x) for x in plain.stdout.splitlines()]
    after = [json.loads(x) for x in outs[0].stdout.splitlines()]
    assert sum(label in r["topics"] for r in before) > 100
    assert not any(label in r["topics"] for r in after)
    assert [r["topic_scores"] for r in after] == [r["topic_scores"] for r in before]
    assert [[t for t in r["topics"] if t != label] for r in before] == \
        [r["topics"] for r in after]


def test_cli_article_topics_follow_the_sentences(model_dir, tmp_path):
    art = tmp_path / "a.txt"
    art.write_text(ARTICLE, encoding="utf-8")
    plain = run_main(["tag", str(art), "--model", str(model_dir), "--format", "json"])
    assert plain.code == 0, plain.err
    doc = json.loads(plain.out)[0]
    label = doc["topics"][0]
    high = run_main(["tag", str(art), "--model", str(model_dir), "--format", "json",
                     "--threshold", f"{label}=1.0"])
    assert high.code == 0, high.err
    doc2 = json.loads(high.out)[0]
    assert label not in doc2["topics"]
    assert doc2["topic_support"][label]["sentences"] == 0
    assert doc2["topic_support"][label]["max_score"] == doc["topic_support"][label]["max_score"]
    assert doc2["rule"] == doc["rule"] + f"; topic thresholds set for this run: {label} 1"
    text = run_main(["tag", str(art), "--model", str(model_dir), "--threshold", f"{label}=0.9"])
    assert f"topic thresholds set for this run: {label} 0.9" in text.out


def test_cli_unknown_topic_is_one_line(model_dir, tmp_path):
    art = tmp_path / "a.txt"
    art.write_text(ARTICLE, encoding="utf-8")
    r = run_main(["tag", str(art), "--model", str(model_dir), "--threshold", "piracy=0.5"])
    assert_clean_error(r.code, r.err, "'piracy'")
    assert "aviation, counterterrorism" in r.err and not r.out


@pytest.mark.parametrize("value, says", [("aviation", "give TOPIC=SCORE"),
                                         ("=0.5", "give TOPIC=SCORE"),
                                         ("aviation=2", "must lie between 0 and 1"),
                                         ("aviation=x", "not a number: 'x'")])
def test_cli_malformed_threshold_is_a_usage_error(value, says):
    r = run_main(["tag", "a.txt", "--threshold", value])
    lines = r.err.strip().splitlines()
    assert r.code == 2 and len(lines) == 1, r.err
    assert lines[0].startswith("classify tag: error: argument --threshold") and says in lines[0]


def test_evaluate_scores_the_model_at_the_given_bar(model_dir, tmp_path):
    """``evaluate --model --test --threshold`` measures what tagging with that bar would do,
    so a user can choose it on a labelled sample of their stream."""
    test = write_jsonl(tmp_path / "t.jsonl", make_records(n_per_topic=8, seed=11))
    label = api.load_model(model_dir).topic_labels[0]
    plain = api.evaluate_on(model_dir, [test])
    never = api.evaluate_on(model_dir, [test], thresholds={label: 1.0})
    assert plain.topics["labels"][label]["recall"] > 0
    assert never.topics["labels"][label]["recall"] == 0
    others = [t for t in plain.topics["labels"] if t != label]
    assert [plain.topics["labels"][t] for t in others] == \
        [never.topics["labels"][t] for t in others]
    assert never.settings["thresholds"] == {label: 1.0} and "thresholds" not in plain.settings
    r = run_main(["evaluate", "--model", str(model_dir), "--test", str(test), "--json",
                  "--threshold", f"{label}=1"])
    assert r.code == 0, r.err
    assert json.loads(r.out)["topics"]["labels"][label]["recall"] == 0


def test_evaluate_threshold_needs_a_trained_model(train_file):
    r = run_main(["evaluate", "--data", str(train_file), "--fast", "--threshold",
                  "aviation=0.5"])
    assert_clean_error(r.code, r.err, "--threshold")
    assert "--model" in r.err


def test_a_model_that_tags_exactly_one_topic_refuses_a_bar(tmp_path):
    """Thresholds do not decide an exactly-one model's topics (the top score does): an
    override there would be silently ignored, so it is refused."""
    from conftest import FAST

    recs = make_records(n_per_topic=12, seed=3)
    for r in recs:
        r["topics"] = r["topics"][:1] or ["aviation"]
    d = tmp_path / "one"
    api.train([write_jsonl(tmp_path / "one.jsonl", recs)], d, FAST)
    model = api.load_model(d)
    assert model.topics.cardinality == "exactly-one"
    with pytest.raises(DataError, match="exactly one topic per text"):
        model.with_thresholds({"aviation": 1.0})
    art = tmp_path / "a.txt"
    art.write_text(ARTICLE, encoding="utf-8")
    r = run_main(["tag", str(art), "--model", str(d), "--threshold", "aviation=1"])
    assert_clean_error(r.code, r.err, "exactly one topic")


def test_a_topic_given_twice_is_refused(model_dir, tmp_path):
    art = tmp_path / "a.txt"
    art.write_text(ARTICLE, encoding="utf-8")
    label = api.load_model(model_dir).topic_labels[0]
    r = run_main(["tag", str(art), "--model", str(model_dir), "--threshold", f"{label}=0.6",
                  "--threshold", f"{label}=0.5"])
    assert_clean_error(r.code, r.err, f"--threshold {label}")
    assert "given twice" in r.err and not r.out


@pytest.mark.parametrize("value", ["0.5", None, True])
def test_a_bar_that_is_not_a_number_is_refused(model_dir, value):
    label = api.load_model(model_dir).topic_labels[0]
    with pytest.raises(DataError, match="must be a number between 0 and 1"):
        api.load_tagger(model_dir, thresholds={label: value})


def test_overrides_travel_with_the_model(model_dir, tmp_path):
    """A tagger built on a model overridden beforehand hands the overrides to worker
    processes that load the model themselves (spawn), and a numpy value is kept as a float
    that reports can write."""
    model, meta = api.load_model(model_dir), json.loads((model_dir / "meta.json").read_text())
    label = model.topic_labels[0]
    tagger = tagging.Tagger(model.with_thresholds({label: np.float32(0.75)}), meta)
    assert tagger.thresholds == {label: 0.75} and type(tagger.thresholds[label]) is float
    test = write_jsonl(tmp_path / "t.jsonl", make_records(n_per_topic=4, seed=12))
    rep = api.evaluate_on(model_dir, [test], thresholds={label: np.float32(0.75)})
    assert json.loads(json.dumps(rep.settings))["thresholds"] == {label: 0.75}
