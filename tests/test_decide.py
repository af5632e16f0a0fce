"""The arithmetic of benchmarks/decide.py, against scikit-learn and cases with known answers."""

import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import f1_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import decide  # noqa: E402


def test_topic_f1_equals_sklearn_per_column():
    rng = np.random.default_rng(1)
    gold = rng.random((200, 4)) < 0.2
    pred = rng.random((200, 4)) < 0.25
    gold[:, 3] = False  # a topic with no positives
    pred[:, 3] = False  # ... and no predictions: F1 0, as sklearn's zero_division=0
    expected = [f1_score(gold[:, j], pred[:, j], zero_division=0) for j in range(4)]
    np.testing.assert_allclose(decide.topic_f1(gold, pred), expected)


def test_stance_macro_equals_sklearn():
    """decide.py reads stance with metrics.class_scores over the classes seen."""
    gold = ["critical", "neutral", "neutral", "supportive", "critical", "neutral"]
    pred = ["critical", "neutral", "critical", "neutral", "critical", "supportive"]
    assert decide.class_scores(gold, pred, sorted(set(gold) | set(pred)))["macro_f1"] == \
        pytest.approx(f1_score(gold, pred, average="macro"))


def test_bootstrap_counts_only_real_gains():
    rng = np.random.default_rng(2)
    gold = rng.random((300, 2)) < 0.3
    noisy = gold ^ (rng.random((300, 2)) < 0.2)
    same = decide.bootstrap(gold, [noisy], [noisy.copy()], resamples=50)
    assert same["macro"] == 0 and same["per_topic"] == [0, 0]  # no gain is not a gain
    assert same["macro_below"] == 0  # ... nor a loss
    better = decide.bootstrap(gold, [noisy, noisy], [gold, gold], resamples=50)
    assert better["macro"] == 1 and better["per_topic"] == [1, 1]
    assert better["macro_below"] == 0
    worse = decide.bootstrap(gold, [gold], [noisy], resamples=50)
    assert worse["macro"] == 0 and worse["macro_below"] == 1


def test_bootstrap_sees_a_one_item_loss_in_some_resamples_only():
    """A single item turned wrong among many is a loss in the resamples that drew it and no
    change in the others: the share below zero sits strictly between 0 and 1."""
    gold = np.zeros((400, 1), bool)
    gold[:40] = True
    cand = gold.copy()
    cand[0] = False  # one missed positive
    below = decide.bootstrap(gold, [gold], [cand], resamples=200)["macro_below"]
    assert 0.3 < below < 0.9  # drawn at least once with probability 1 - (1 - 1/400)**400


def test_runs_find_a_shared_twelve_word_stretch():
    a = ("GAZA (Reuters) - Israeli troops pulled out of the camp on Friday after a raid that "
         "lasted four days, witnesses said.")
    b = ("Witnesses said Israeli troops pulled out of the camp on Friday after a raid that "
         "lasted four days.")
    c = "Israeli troops pulled out of the town on Friday after a raid that lasted four days."
    assert decide.runs(a) & decide.runs(b)
    assert not decide.runs(a) & decide.runs(c)
    assert decide.runs("too short to hold a run") == set()
