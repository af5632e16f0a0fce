"""Target prevalence: topic thresholds tuned as if each topic were as rare as in the stream
the model will tag (classify train --prevalence, TopicClassifier(target_prevalence=...))."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import ROOT, make_records, run_main, write_jsonl
from sklearn.base import clone

from classify import thresholds
from classify.estimators import TopicClassifier


def _meta(model) -> dict:
    return json.loads((model / "meta.json").read_text(encoding="utf-8"))


def test_prevalence_weights_give_each_label_the_target_share():
    rng = np.random.default_rng(3)
    Y = rng.random((400, 3)) < [0.4, 0.2, 0.6]
    w = rng.uniform(0.5, 2.0, 400)
    for q, rec in ((0.05, None), (0.3, w)):
        W = thresholds.prevalence_weights(Y, q, rec)
        np.testing.assert_allclose((W * Y).sum(axis=0) / W.sum(axis=0), q)
        base = np.ones(400) if rec is None else rec
        np.testing.assert_allclose(W.sum(axis=0), base.sum())  # the total mass is kept
    # NaN leaves a label as it is; a label with no positive keeps its weights
    W = thresholds.prevalence_weights(Y, np.array([0.05, np.nan, 0.05]))
    np.testing.assert_array_equal(W[:, 1], 1.0)
    Z = Y.copy()
    Z[:, 0] = False
    np.testing.assert_array_equal(thresholds.prevalence_weights(Z, 0.05)[:, 0], 1.0)
    for bad in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="strictly between 0 and 1"):
            thresholds.prevalence_weights(Y, bad)


def test_rarer_target_raises_the_thresholds():
    """Scores that overlap: weighting the negatives up (a rarer topic) can only move each
    label's F1-optimal threshold up, and with a target above the data's share down."""
    rng = np.random.default_rng(5)
    Y = rng.random((600, 2)) < 0.3
    P = np.clip(0.35 + 0.3 * Y + rng.normal(0, 0.15, Y.shape), 0, 1)
    plain = thresholds.fit_thresholds(P, Y, "tuned", None, "any")
    rare = thresholds.fit_thresholds(P, Y, "tuned", None, "any",
                                     thresholds.prevalence_weights(Y, 0.05))
    dense = thresholds.fit_thresholds(P, Y, "tuned", None, "any",
                                      thresholds.prevalence_weights(Y, 0.6))
    assert (rare > plain).all() and (dense < plain).all(), (rare, plain, dense)


def test_topic_classifier_target_prevalence_is_a_parameter():
    texts = [r["text"] for r in make_records()]
    Y = [r["topics"] for r in make_records()]
    groups = [r["source"] for r in make_records()]
    plain = TopicClassifier(threshold_strategy="tuned", threshold_floor=None)
    rare = clone(plain).set_params(target_prevalence=0.02)
    assert rare.get_params()["target_prevalence"] == 0.02
    plain.fit(texts, Y, groups=groups)
    rare.fit(texts, Y, groups=groups)
    np.testing.assert_array_equal(plain.coef_, rare.coef_)  # only the thresholds move
    assert (rare.thresholds_ >= plain.thresholds_).all()
    assert (rare.thresholds_ > plain.thresholds_).any()
    assert rare.predict(texts).sum() <= plain.predict(texts).sum()


def test_cli_prevalence_is_stored_and_bad_values_are_one_line_errors(tmp_path):
    data = write_jsonl(tmp_path / "train.jsonl", make_records())
    plain, rare = tmp_path / "plain", tmp_path / "rare"
    for model, extra in ((plain, []), (rare, ["--prevalence", "0.02"])):
        r = run_main(["train", "--data", str(data), "--model", str(model), "--fast",
                      "--quiet", *extra])
        assert r.code == 0, r.err
    meta = _meta(rare)
    assert meta["training"]["options"]["prevalence"] == 0.02
    assert meta["training"]["topics"]["target_prevalence"] == 0.02
    assert _meta(plain)["training"]["options"]["prevalence"] is None
    assert all(meta["thresholds"][t] >= _meta(plain)["thresholds"][t] for t in meta["thresholds"])
    for bad in ("0", "1.5", "-0.2"):
        r = run_main(["train", "--data", str(data), "--model", str(tmp_path / "bad"), "--fast",
                      "--quiet", "--prevalence", bad])
        assert r.code == 2 and "Traceback" not in r.err
        assert "--prevalence must lie strictly between 0 and 1" in r.err
        assert r.err.count("\n") == 1, r.err
        assert not (tmp_path / "bad").exists()


def test_retrain_hint_keeps_the_models_recipe(tmp_path, model_dir):
    """`classify label` tells how to retrain with the answers; the flags that shaped the model
    in use (threshold strategy, target prevalence, its fixed parameters) come with it, so a
    retrain keeps them."""
    from classify import api

    bundled = api.bundled_model_dir()
    assert api.retrain_flags(bundled) == ["--thresholds", "shrunk", "--prevalence", "0.05",
                                          "--params-from", str(bundled)]
    assert api.retrain_flags(model_dir) == []  # trained with --fast and no such flags
    assert api.retrain_flags(tmp_path / "nothing-here") == []


def test_prevalence_on_single_label_data_says_it_has_no_effect(tmp_path):
    recs = [{"text": f"note {i} on {t} matters and {t} plans", "topics": [t],
             "source": f"s{i % 12}"} for i, t in enumerate(["rail", "port", "farm"] * 20)]
    data = write_jsonl(tmp_path / "single.jsonl", recs)
    r = run_main(["train", "--data", str(data), "--model", str(tmp_path / "m"), "--fast",
                  "--prevalence", "0.05"])
    assert r.code == 0, r.err
    assert "target prevalence has no effect" in r.err + r.out
    assert set(_meta(tmp_path / "m")["thresholds"].values()) == {0.5}


def test_retrain_command_is_the_readme_hint_and_quotes_paths(tmp_path, monkeypatch):
    """The hint `classify label` prints is `api.retrain_command`, shell-quoted: in a checkout
    it is the line the README shows, and a path with a space survives a paste."""
    import shlex

    from classify import api

    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("CLASSIFY_MODEL", raising=False)
    line = "retrain with: " + shlex.join(api.retrain_command("labels/mine.jsonl"))
    assert line in (ROOT / "README.md").read_text(encoding="utf-8")
    odd = tmp_path / "my labels" / "new.jsonl"
    cmd = api.retrain_command(odd, api.bundled_model_dir())
    assert cmd[:6] == ["classify", "train", "--data", "labels", "--data", str(odd)]
    assert shlex.split(shlex.join(cmd)) == cmd and "'" in shlex.join(cmd)
