"""95% bootstrap intervals of F1 scores, resampling sources (articles), not sentences.

Sentences of one article share its topic, its author and its wording, so they are not
independent draws: resampling sentences would make the intervals too narrow. Each resample
draws as many sources as the data has, with replacement (seeded), and weights every record by
how often its source was drawn; the scores are recomputed from the same predictions (the
out-of-fold predictions of cross-validation, or a model's predictions on held-out data),
nothing is refitted. The interval is the 2.5th to 97.5th percentile of the resampled scores.

It says how much a score would move with another sample of articles like these; it does not
include the variation of retraining on other data.

Vectorised: the per-source counts of true positives, false positives and false negatives are
summed once, and every resample is a product of how often each source was drawn with them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

RESAMPLES = 1000
LEVEL = 0.95
MAX_CELLS = 4_000_000  # resamples x sources drawn at once (bounds memory on large data)


def _groups(groups: Sequence) -> tuple[np.ndarray, int]:
    _, codes = np.unique(np.asarray([str(g) for g in groups], dtype=object),
                         return_inverse=True)
    return codes.ravel(), int(codes.max()) + 1 if len(codes) else 0


def _per_source(codes: np.ndarray, n_sources: int, values: np.ndarray) -> np.ndarray:
    """(sources, k) sums of the rows of ``values`` (n, k) by source."""
    n = len(codes)
    M = sp.csr_matrix((np.ones(n), (codes, np.arange(n))), shape=(n_sources, n))
    return np.asarray(M @ values.astype(np.float64))


def _resampled(stats: np.ndarray, resamples: int, seed: int | Sequence[int]
               ) -> np.ndarray:
    """(resamples, k) sums of ``stats`` (sources, k) over bootstrap samples of sources.

    Each chunk of resamples draws source indices uniformly with replacement, counts them per
    source, and sums the sources' statistics as a sparse-dense product (a source's row is
    mostly zeros when sources are single records), so 100,000 sources take seconds."""
    G, k = stats.shape
    rng = np.random.default_rng(seed)
    out = np.empty((resamples, k))
    if G == 0:
        out[:] = 0.0
        return out
    S = sp.csr_matrix(stats.T)  # (k, G)
    step = max(1, MAX_CELLS // G)
    for lo in range(0, resamples, step):
        b = min(resamples, lo + step) - lo
        draws = rng.integers(0, G, size=(b, G)) + (np.arange(b) * G)[:, None]
        counts = np.bincount(draws.ravel(), minlength=b * G).reshape(b, G)
        out[lo:lo + b] = (S @ counts.T.astype(np.float64)).T
    return out


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    """F1 = 2 tp / (2 tp + fp + fn), 0 where there is nothing (sklearn's zero_division=0)."""
    denom = 2 * tp + fp + fn
    return np.divide(2 * tp, denom, out=np.zeros_like(denom, dtype=np.float64),
                     where=denom > 0)


def _interval(samples: np.ndarray, level: float = LEVEL) -> np.ndarray:
    """(2, ...) percentile interval along the first axis, rounded to 4 decimals."""
    tail = 100 * (1 - level) / 2
    return np.round(np.percentile(samples, [tail, 100 - tail], axis=0), 4)


def topic_intervals(Y: np.ndarray, D: np.ndarray, groups: Sequence,
                    resamples: int = RESAMPLES, seed: int = 0) -> dict:
    """Intervals of each label's F1, micro-F1 and macro-F1 of multi-label decisions ``D``
    against gold ``Y`` (both (n, L) boolean), resampling the sources ``groups``."""
    Y, D = np.asarray(Y, bool), np.asarray(D, bool)
    codes, G = _groups(groups)
    L = Y.shape[1]
    stats = _per_source(codes, G, np.hstack([Y & D, ~Y & D, Y & ~D]))
    s = _resampled(stats, resamples, [seed, 1])
    tp, fp, fn = s[:, :L], s[:, L:2 * L], s[:, 2 * L:]
    per_label = _f1(tp, fp, fn)
    micro = _f1(tp.sum(axis=1), fp.sum(axis=1), fn.sum(axis=1))
    macro = per_label.mean(axis=1) if L else np.zeros(resamples)
    lab = _interval(per_label)
    return {"labels": [[float(lab[0, j]), float(lab[1, j])] for j in range(L)],
            "micro": _interval(micro).tolist(), "macro": _interval(macro).tolist()}


def class_intervals(gold: np.ndarray, guess: np.ndarray, n_classes: int, n_scored: int,
                    groups: Sequence, resamples: int = RESAMPLES, seed: int = 0) -> dict:
    """Intervals of each class's F1, macro-F1 (over the first ``n_scored`` classes, those
    the model knows) and accuracy of single-label predictions (class indices)."""
    codes, G = _groups(groups)
    K = n_classes
    cells = np.zeros((len(gold), K * K))
    cells[np.arange(len(gold)), np.asarray(gold) * K + np.asarray(guess)] = 1
    s = _resampled(_per_source(codes, G, cells), resamples, [seed, 2]).reshape(-1, K, K)
    tp = np.diagonal(s, axis1=1, axis2=2)
    fp = s.sum(axis=1) - tp
    fn = s.sum(axis=2) - tp
    f1 = _f1(tp, fp, fn)
    total = s.sum(axis=(1, 2))
    accuracy = np.divide(tp.sum(axis=1), total, out=np.zeros_like(total), where=total > 0)
    lab = _interval(f1)
    return {"labels": [[float(lab[0, j]), float(lab[1, j])] for j in range(K)],
            "macro": _interval(f1[:, :n_scored].mean(axis=1)).tolist(),
            "accuracy": _interval(accuracy).tolist()}


def settings(resamples: int = RESAMPLES, seed: int = 0) -> dict:
    """How the intervals were made, for the report."""
    return {"resamples": resamples, "level": LEVEL, "unit": "source", "seed": seed,
            "method": "percentile, on the predictions scored (no refitting)"}
