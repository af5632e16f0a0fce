"""Reliability (calibration) curves: does a score of 0.7 come true 70% of the time?

Scores are cut into equal-width bins over [0, 1]; per bin, the mean score against the share
of cases that were truly positive. Topics: every (record, topic) pair, its topic score and
whether the record carries the topic. Stance: every (record, class) pair, the class's
probability and whether it is the gold class. A calibrated model lies on the diagonal; the
expected calibration error (ECE) is the mean distance from it, weighted by the bins' counts.
A linear SVM's scores (the decision value through the logistic function) are monotone but
not calibrated, so they may lie far from the diagonal and still rank well.
"""

from __future__ import annotations

import numpy as np

BINS = 10


def curve(scores: np.ndarray, outcomes: np.ndarray, bins: int = BINS) -> dict:
    """Bins (lo, hi, count, mean score, observed share; the two means None when the bin is
    empty), the pairs counted and the ECE."""
    p = np.asarray(scores, np.float64).ravel()
    y = np.asarray(outcomes, np.float64).ravel()
    idx = np.minimum((p * bins).astype(np.int64), bins - 1)
    idx = np.clip(idx, 0, bins - 1)
    count = np.bincount(idx, minlength=bins)
    mean = np.bincount(idx, p, minlength=bins)
    hits = np.bincount(idx, y, minlength=bins)
    out = []
    ece = 0.0
    for b in range(bins):
        n = int(count[b])
        row = {"lo": round(b / bins, 4), "hi": round((b + 1) / bins, 4), "count": n,
               "mean_score": None, "observed": None}
        if n:
            row["mean_score"] = round(float(mean[b] / n), 4)
            row["observed"] = round(float(hits[b] / n), 4)
            ece += n * abs(mean[b] / n - hits[b] / n)
        out.append(row)
    total = int(count.sum())
    return {"bins": out, "n": total, "ece": round(float(ece / total), 4) if total else None}
