"""Thresholds re-tuned on the records of the text a model will tag (train --tune-on PATH)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import FAST, make_records, run_main, write_jsonl

from classify import api
from classify.data import load_dataset
from classify.estimators import TextVectorizer, TopicClassifier
from classify.thresholds import blend_thresholds

# Own records whose narcotics sentences carry no drug words the bulk data knows (their scores
# are low, though above those of the own records without a topic: the threshold of such text
# should come down) ...
FAINT = [{"text": t, "topics": ["narcotics"], "stance": "neutral", "source": f"faint-{i}"}
         for i, t in enumerate(["Harbour pilots logged lantern signals off the reef at dawn.",
                                "A fishing crew passed sealed parcels to a speedboat.",
                                "Couriers swallowed pellets before boarding the ferry.",
                                "Growers hid greenhouses of plants behind a sawmill."])]
FAINT += [{"text": t, "topics": [], "stance": "neutral", "source": f"plain-{i}"}
          for i, t in enumerate(["The choir rehearsed carols in the chapel.",
                                 "A bakery opened a second shop on the high street.",
                                 "The chess club elected a new treasurer.",
                                 "Gardeners planted tulips along the promenade."])]
# ... and own records full of drug words that are not narcotics by the guide (a film, a
# novel): their scores are high, so the threshold of such text should go up.
LOOKALIKE = [{"text": f"The {what} about a heroin shipment and a cocaine cartel {verb}.",
              "topics": [], "stance": "neutral", "source": f"look-{i}"}
             for i, (what, verb) in enumerate([("film", "opened on Friday"),
                                               ("novel", "won a prize"),
                                               ("play", "toured the north"),
                                               ("series", "ended its run"),
                                               ("opera", "sold out"),
                                               ("podcast", "topped the charts")])]
LOOKALIKE += [{"text": f"Police in the capital seized a shipment of heroin {tail}.",
               "topics": ["narcotics"], "stance": "neutral", "source": f"hit-{i}"}
              for i, tail in enumerate(["at the port", "near the station", "on a lorry"])]


def _fit(records: list[dict], tune_on=None, prior: float = 5.0) -> TopicClassifier:
    return TopicClassifier(TextVectorizer(), threshold_strategy="tuned", threshold_floor=None,
                           tune_prior=prior).fit(
        [r["text"] for r in records], [r["topics"] for r in records],
        groups=[r["source"] for r in records],
        classes=["aviation", "counterterrorism", "immigration", "narcotics"], tune_on=tune_on)


def test_blend_weighs_the_marked_optimum_by_its_positives():
    # two marked positives score 0.8 and 0.9, two negatives 0.6 and 0.5: the F1-optimal cut
    # is 0.7; the second label has no marked positive and keeps its base threshold
    P = np.array([[0.9, 0.2], [0.8, 0.3], [0.6, 0.9], [0.5, 0.1]])
    Y = np.array([[1, 0], [1, 0], [0, 0], [0, 0]], dtype=bool)
    base = np.array([0.4, 0.45])
    np.testing.assert_allclose(blend_thresholds(P, Y, base, prior=2.0), [0.55, 0.45])
    np.testing.assert_allclose(blend_thresholds(P, Y, base, prior=0.0), [0.7, 0.45])
    # the same records stacked from two fold splits are still two positives
    two = blend_thresholds(np.vstack([P, P]), np.vstack([Y, Y]), base, 2.0, repeats=2)
    np.testing.assert_allclose(two, [0.55, 0.45])


def test_no_marked_record_changes_nothing():
    recs = make_records() + FAINT
    plain = _fit(recs)
    unmarked = _fit(recs, tune_on=[False] * len(recs))
    np.testing.assert_array_equal(plain.thresholds_, unmarked.thresholds_)
    np.testing.assert_array_equal(plain.base_thresholds_, plain.thresholds_)
    np.testing.assert_array_equal(plain.coef_, unmarked.coef_)


@pytest.mark.parametrize("own, direction", [(FAINT, -1), (LOOKALIKE, +1)])
def test_marked_records_move_their_topics_threshold_their_way(own, direction):
    """Faint positives pull narcotics' threshold down, scoring look-alikes push it up; the
    weights and the other topics' thresholds stay; a larger prior moves it less."""
    recs = make_records() + own
    mark = [False] * (len(recs) - len(own)) + [True] * len(own)
    plain, tuned = _fit(recs), _fit(recs, mark, prior=0.0)
    narc = list(tuned.classes_).index("narcotics")
    np.testing.assert_array_equal(tuned.coef_, plain.coef_)
    np.testing.assert_array_equal(tuned.base_thresholds_, plain.thresholds_)
    moved = tuned.thresholds_[narc] - plain.thresholds_[narc]
    assert np.sign(moved) == direction
    others = [j for j in range(4) if j != narc]
    np.testing.assert_array_equal(tuned.thresholds_[others], plain.thresholds_[others])
    damped = _fit(recs, mark, prior=20.0).thresholds_[narc] - plain.thresholds_[narc]
    assert np.sign(damped) == direction and abs(damped) < abs(moved)


def test_tune_on_must_match_the_texts():
    recs = make_records()
    with pytest.raises(ValueError, match="one flag per text"):
        _fit(recs, tune_on=[True, False])


def test_load_marks_the_named_files_records_only(tmp_path):
    base = write_jsonl(tmp_path / "data" / "base.jsonl", make_records())
    own = write_jsonl(tmp_path / "data" / "own.jsonl",
                      FAINT + [{**make_records()[0], "source": "again"}])  # a duplicate
    ds = load_dataset([base, own], tune_on=[own])
    marked = [r for r in ds.records if r.tune]
    assert {r.text for r in marked} == {r["text"] for r in FAINT} | {make_records()[0]["text"]}
    assert ds.tune_on == [str(own)]
    plain = load_dataset([base, own])
    assert not any(r.tune for r in plain.records)
    assert plain.sha256() != ds.sha256()
    assert load_dataset([base]).sha256() == load_dataset([base], tune_on=[]).sha256()
    whole_dir = load_dataset([tmp_path / "data"], tune_on=[tmp_path / "data"])
    assert all(r.tune for r in whole_dir.records)


def test_train_records_the_retuning_in_meta(tmp_path):
    base = write_jsonl(tmp_path / "base.jsonl", make_records())
    own = write_jsonl(tmp_path / "own.jsonl", LOOKALIKE)
    res = api.train([base, own], tmp_path / "m", FAST, tune_on=[own])
    tuned = res.meta["training"]["topics"]["tuned_on"]
    assert res.meta["data"]["tune_on"] == [str(own)]
    assert tuned["records"] == len(LOOKALIKE)
    assert tuned["positives"] == {"aviation": 0, "counterterrorism": 0, "immigration": 0,
                                  "narcotics": 3}
    assert tuned["base_thresholds"]["aviation"] == pytest.approx(
        res.meta["thresholds"]["aviation"], abs=1e-4)
    assert res.meta["thresholds"]["narcotics"] > tuned["base_thresholds"]["narcotics"]
    # the saved model gives back the fitted estimator's re-tuning attributes
    topics = api.load_model(tmp_path / "m").estimators()[0]
    assert topics.n_tuned_on_ == len(LOOKALIKE)
    j = list(topics.classes_).index("narcotics")
    assert topics.base_thresholds_[j] == pytest.approx(tuned["base_thresholds"]["narcotics"])
    assert topics.thresholds_[j] > topics.base_thresholds_[j]
    plain = api.train([base, own], tmp_path / "p", FAST)
    untuned = api.load_model(tmp_path / "p").estimators()[0]
    assert untuned.n_tuned_on_ == 0
    np.testing.assert_array_equal(untuned.base_thresholds_, untuned.thresholds_)
    assert "tune_on" not in plain.meta["data"]
    assert "tuned_on" not in plain.meta["training"]["topics"]


def test_cli_tune_on_reports_the_moved_thresholds(tmp_path):
    base = write_jsonl(tmp_path / "base.jsonl", make_records())
    own = write_jsonl(tmp_path / "own.jsonl", LOOKALIKE)
    r = run_main(["train", "--data", str(base), "--data", str(own), "--tune-on", str(own),
                  "--fast", "--quiet", "--model", str(tmp_path / "m")])
    assert r.code == 0, r.err
    line = next(x for x in r.out.splitlines() if x.startswith("thresholds re-tuned"))
    assert f"on {len(LOOKALIKE)} records of {own}" in line and "narcotics" in line
    meta = json.loads((tmp_path / "m" / "meta.json").read_text(encoding="utf-8"))
    assert meta["data"]["tune_on"] == [str(own)]


def test_cli_tune_on_a_path_outside_the_data_is_a_one_line_error(tmp_path):
    base = write_jsonl(tmp_path / "base.jsonl", make_records())
    other = write_jsonl(tmp_path / "other.jsonl", FAINT)
    r = run_main(["train", "--data", str(base), "--tune-on", str(other), "--fast", "--quiet",
                  "--model", str(tmp_path / "m")])
    assert r.code != 0
    assert r.err.strip().count("\n") == 0
    assert str(other) in r.err and "--tune-on names no data file" in r.err
    assert not (tmp_path / "m").exists()


def test_blend_stays_above_the_floor_and_refuses_a_bad_prior():
    recs = make_records() + FAINT
    mark = [False] * (len(recs) - len(FAINT)) + [True] * len(FAINT)
    floored = TopicClassifier(TextVectorizer(), threshold_strategy="tuned",
                              threshold_floor=0.3, tune_prior=0.0).fit(
        [r["text"] for r in recs], [r["topics"] for r in recs],
        groups=[r["source"] for r in recs], tune_on=mark)
    assert (floored.thresholds_ >= 0.3).all() and floored.n_tuned_on_ == len(FAINT)
    for bad in (-1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="tune_prior"):
            _fit(recs, mark, prior=bad)
        with pytest.raises(ValueError, match="tune_prior"):
            blend_thresholds(np.ones((2, 1)), np.ones((2, 1), dtype=bool), np.ones(1), bad)


def test_no_retuning_where_thresholds_are_not_tuned(tmp_path):
    """Single-label data (the top topic decides) has no thresholds to re-tune: the model says
    so and meta.json records no re-tuning."""
    recs = [{**r, "topics": r["topics"][:1]} for r in make_records() if r["topics"]]
    base = write_jsonl(tmp_path / "base.jsonl", recs[10:])
    own = write_jsonl(tmp_path / "own.jsonl", recs[:10])
    r = run_main(["train", "--data", str(base), "--data", str(own), "--tune-on", str(own),
                  "--fast", "--model", str(tmp_path / "m")])
    assert r.code == 0, r.err
    assert "--tune-on has no effect" in r.err and "thresholds re-tuned" not in r.out
    meta = json.loads((tmp_path / "m" / "meta.json").read_text(encoding="utf-8"))
    assert "tuned_on" not in meta["training"]["topics"]


@pytest.mark.parametrize("args, message", [
    (["--tune-on", ""], "--tune-on: an empty path"),
    (["--tune-on", "own.jsonl", "--fast"], "names no data file"),
])
def test_cli_bad_tune_on_is_a_one_line_error(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    write_jsonl(tmp_path / "base.jsonl", make_records())
    r = run_main(["train", "--data", "base.jsonl", *args, "--quiet", "--model", "m"])
    assert r.code != 0 and "Traceback" not in r.err
    assert message in r.err and r.err.strip().count("\n") == 0
    assert not (tmp_path / "m").exists()


def test_an_untuned_model_stores_no_prior(tmp_path):
    """Without --tune-on a model is stored as before the option existed (no tune_prior among
    its parameters), so its bytes do not change."""
    base = write_jsonl(tmp_path / "base.jsonl", make_records())
    own = write_jsonl(tmp_path / "own.jsonl", LOOKALIKE)
    api.train([base, own], tmp_path / "p", FAST)
    api.train([base, own], tmp_path / "t", FAST, tune_on=[own])
    assert "tune_prior" not in api.load_model(tmp_path / "p").topics.params
    assert api.load_model(tmp_path / "t").topics.params["tune_prior"] == 10.0


def test_tune_on_a_file_without_topics_warns(tmp_path):
    base = write_jsonl(tmp_path / "base.jsonl", make_records())
    stance_only = write_jsonl(tmp_path / "mine.jsonl", [
        {"text": f"The council welcomed plan {k}.", "stance": "supportive"} for k in range(3)])
    ds = load_dataset([base, stance_only], tune_on=[stance_only])
    assert [w for w in ds.warnings if "--tune-on" in w] == [
        f"{stance_only}: --tune-on re-tunes topic thresholds, and no record here carries "
        "'topics': it has no effect"]
    assert not any("--tune-on" in w for w in load_dataset([base], tune_on=[base]).warnings)
