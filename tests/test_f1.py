"""How F1 is counted: in the model search and threshold tuning (classify/thresholds.py) and in
`classify evaluate` (classify/evaluate.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.metrics import f1_score, precision_recall_fscore_support

from classify import evaluate, thresholds
from classify.data import Record


@pytest.mark.parametrize("weighted", [False, True])
def test_f1_equals_scikit_learns_for_several_labels(weighted):
    rng = np.random.default_rng(7)
    for case in range(300):
        n, L = int(rng.integers(1, 40)), int(rng.integers(2, 7))
        Y = rng.random((n, L)) < rng.random()
        D = rng.random((n, L)) < rng.random()
        if case % 3 == 0:  # a label nobody has and nobody predicts
            Y[:, 0] = D[:, 0] = False
        w = rng.choice([1.0, 3.0, 0.7, 1 / 3], size=n) if weighted else None
        for average in ("micro", "macro"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                expected = f1_score(Y, D, average=average, zero_division=1.0, sample_weight=w)
            assert thresholds.f1(Y, D, average, w) == float(expected)


def test_f1_of_a_single_label_is_the_f1_of_its_positives():
    # one hit, one false alarm, no miss: 2 * 1 / (2 * 1 + 1 + 0); scikit-learn would score
    # the column as two classes (accuracy 0.75 for micro)
    Y = np.array([[1], [0], [0], [0]], dtype=bool)
    D = np.array([[1], [1], [0], [0]], dtype=bool)
    for average in ("micro", "macro"):
        assert thresholds.f1(Y, D, average) == pytest.approx(2 / 3)
    # a record of weight 3 on the false alarm: 2 / (2 + 3)
    assert thresholds.f1(Y, D, "micro", np.array([1.0, 3.0, 1.0, 1.0])) == pytest.approx(0.4)


def test_f1_counts_a_label_with_nothing_to_find_as_perfect():
    Y = np.array([[1, 0], [0, 0]], dtype=bool)
    D = np.array([[0, 0], [0, 0]], dtype=bool)
    assert thresholds.f1(Y, D, "macro") == pytest.approx(0.5)  # (0 + 1) / 2
    assert thresholds.f1(np.zeros((3, 2), bool), np.zeros((3, 2), bool), "micro") == 1.0
    with pytest.raises(ValueError, match="average"):
        thresholds.f1(Y, D, "weighted")


def _scored(gold: list[tuple[str, ...]], decided: np.ndarray, labels: list[str]) -> dict:
    records = [Record(f"text {i}", g, None, f"s{i}") for i, g in enumerate(gold)]
    P = decided.astype(float)
    pred = evaluate.Predictions(records, labels, [], P, decided.astype(bool),
                                np.zeros((len(gold), 0)))
    topics, _, _ = evaluate.score(records, pred, resamples=50)
    return topics


def test_evaluate_scores_a_single_topic_by_its_positives():
    # 4 positives: 3 found, 1 missed; 2 false alarms among the 3 negatives (scikit-learn's
    # first class would be the topic's absence: precision 1/2, recall 1/3, support 3)
    gold = [("narcotics",)] * 4 + [()] * 3
    decided = np.array([[1], [1], [1], [0], [1], [1], [0]])
    t = _scored(gold, decided, ["narcotics"])
    m = t["labels"]["narcotics"]
    assert m["support"] == 4
    assert (m["precision"], m["recall"]) == pytest.approx((3 / 5, 3 / 4))
    assert m["f1"] == pytest.approx(2 / 3)  # 2 * 3 / (2 * 3 + 2 + 1)
    for average in ("micro", "macro"):
        assert t[average]["f1"] == pytest.approx(2 / 3)


def test_evaluate_equals_scikit_learn_for_several_topics():
    rng = np.random.default_rng(3)
    labels = ["a", "b", "c"]
    Y = rng.random((40, 3)) < 0.3
    D = rng.random((40, 3)) < 0.3
    gold = [tuple(lab for lab, y in zip(labels, row, strict=True) if y) for row in Y]
    t = _scored(gold, D, labels)
    p, r, f, s = precision_recall_fscore_support(Y, D, average=None, zero_division=0)
    for j, lab in enumerate(labels):
        got = t["labels"][lab]
        assert (got["precision"], got["recall"], got["f1"], got["support"]) == (
            float(p[j]), float(r[j]), float(f[j]), int(s[j]))
    for average in ("micro", "macro"):
        expected = precision_recall_fscore_support(Y, D, average=average, zero_division=0)
        got = t[average]
        assert (got["precision"], got["recall"], got["f1"]) == tuple(map(float, expected[:3]))
