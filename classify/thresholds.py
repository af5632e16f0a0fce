"""From per-label scores to decisions: per-label thresholds and the cardinality rule.

Scores are in [0, 1] (``predict_proba`` of a topic classifier). Thresholds are tuned on
out-of-fold scores, by one of three strategies:

- ``tuned``: each label's F1-optimal threshold (the midpoint between two scores), never
  below ``floor``: a rare label's optimum is often a very low threshold fitted to a handful
  of examples, and the floor (chosen by cross-validation) stops that.
- ``shrunk``: each label's F1-optimal threshold pulled toward the single best global one in
  proportion to how few positives the label has (``SHRINK_PRIOR`` pseudo-positives).
- ``global``: one threshold for every label, the micro-F1-optimal one.

Target prevalence: the labelled data are usually denser in every label than the stream a
model will tag, and thresholds tuned on them then fire too often there. With a target
prevalence ``q`` the out-of-fold records are reweighted, per label, as if the label held for a
share ``q`` of texts (``prevalence_weights``), and the thresholds are tuned on that.

Thresholds of one kind of text: the records of the text a model will tag (a user's own labels
of their news, among thousands of other records) may be marked; each label's threshold is then
also tuned on their out-of-fold scores alone and the two are blended, the marked records'
threshold weighing as many positives as they hold against ``TUNE_PRIOR`` for the threshold of
all the data (``blend_thresholds``).

Cardinality: ``any`` (a text may get no label), ``at-least-one`` (a text with no label over
its threshold gets its highest-scoring one), ``exactly-one`` (the highest-scoring label).
"""

from __future__ import annotations

import numpy as np

STRATEGIES = ("tuned", "shrunk", "global")
METRICS = ("mean-f1", "macro-f1", "micro-f1")  # what model selection may maximise
CARDINALITIES = ("any", "at-least-one", "exactly-one")
SHRINK_PRIOR = 10
TUNE_PRIOR = 10.0  # pseudo-positives of the all-data threshold against the marked records'
GLOBAL_GRID = np.round(np.arange(0.05, 0.951, 0.025), 3)


def _per_label(w: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Weights ``w`` as an (n, L) matrix: record weights (n,) repeat for every label; an
    (n, L) matrix weighs each record differently per label."""
    return np.broadcast_to(w[:, None] if w.ndim == 1 else w, shape)


def prevalence_weights(Y: np.ndarray, q: float | np.ndarray, w: np.ndarray | None = None
                       ) -> np.ndarray:
    """(n, L) weights that give label ``j`` a weighted share ``q`` of positives (one ``q``
    for every label, or one per label, NaN where a label keeps its share): its positives
    count ``q / p_j`` and its negatives ``(1 - q) / (1 - p_j)``, where ``p_j`` is its
    (weighted) share in ``Y``; times the record weights ``w`` if given. A label that holds
    for every record or none keeps its weights."""
    qs = np.broadcast_to(np.asarray(q, dtype=float), (Y.shape[1],))
    given = ~np.isnan(qs)
    if not ((qs[given] > 0) & (qs[given] < 1)).all():
        raise ValueError(f"target prevalence must lie strictly between 0 and 1, got {q!r}")
    base = np.ones(Y.shape) if w is None else np.array(_per_label(w, Y.shape), dtype=float)
    total = base.sum(axis=0)
    p = np.divide((base * Y).sum(axis=0), total, out=np.zeros(Y.shape[1]), where=total > 0)
    ok = given & (p > 0) & (p < 1)
    # a label left as it is gets q = p = 1/2, so both its factors are 1
    q_ok, p_ok = np.where(ok, qs, 0.5), np.where(ok, p, 0.5)
    return base * np.where(Y.astype(bool), q_ok / p_ok, (1 - q_ok) / (1 - p_ok))


def best_f1_thresholds(P: np.ndarray, Y: np.ndarray, w: np.ndarray | None = None
                       ) -> np.ndarray:
    """Each label's F1-optimal threshold on scores ``P`` (n, L) for gold ``Y`` (n, L): the
    midpoint between the last score taken and the next. A label without positives gets 1.0
    (never predicted by its threshold). With weights ``w`` (per record (n,), or per record
    and label (n, L)) the F1 is weighted (a record of weight 3 counts as three)."""
    n, L = P.shape
    out = np.ones(L)
    W = None if w is None else _per_label(w, P.shape)
    for j in range(L):
        y = Y[:, j].astype(bool)
        pos = int(y.sum())
        if pos == 0 or n == 0:
            continue
        order = np.argsort(-P[:, j], kind="stable")
        s = P[order, j]
        if W is None:
            tp = np.cumsum(y[order])
            f1 = 2 * tp / (np.arange(1, n + 1) + pos)
        else:
            wj = W[:, j]
            wo = wj[order]
            tp = np.cumsum(wo * y[order])
            f1 = 2 * tp / (np.cumsum(wo) + float(wj[y].sum()))
        f1[:-1][s[:-1] == s[1:]] = -1.0  # cut only between different scores
        b = int(np.argmax(f1))
        out[j] = (s[b] + s[b + 1]) / 2 if b + 1 < n else s[b] * (1 - 1e-6)
    return out


def global_threshold(P: np.ndarray, Y: np.ndarray, cardinality: str,
                     w: np.ndarray | None = None) -> float:
    """The one threshold (of ``GLOBAL_GRID``) with the best micro-F1 over all labels (counted
    directly here: this search runs often, and micro-F1 is three sums), weighted by ``w``
    (per record, or per record and label) if given."""
    Yb = Y.astype(bool)
    if w is None:
        n_gold = int(Yb.sum())
    else:
        Wm = _per_label(w, Yb.shape)
        n_gold = float(Wm[Yb].sum())
    best, best_t = -1.0, 0.5
    for t in GLOBAL_GRID:
        D = decide(P, np.full(P.shape[1], t), cardinality)
        if w is None:
            denom = n_gold + int(D.sum())
            f = 2 * int(np.logical_and(Yb, D).sum()) / denom if denom else 1.0
        else:
            denom = n_gold + float(Wm[D].sum())
            f = 2 * float(Wm[np.logical_and(Yb, D)].sum()) / denom if denom else 1.0
        if f > best + 1e-12:
            best, best_t = f, float(t)
    return best_t


def fit_thresholds(P: np.ndarray, Y: np.ndarray, strategy: str, floor: float | None,
                   cardinality: str, w: np.ndarray | None = None) -> np.ndarray:
    """Per-label thresholds from out-of-fold scores by ``strategy`` (see the module); with
    weights ``w`` (per record (n,), or per record and label (n, L)), every F1 and count of
    positives behind them is weighted."""
    L = P.shape[1]
    if cardinality == "exactly-one" or L == 0:
        return np.full(L, 0.5)  # the top label decides: thresholds play no part
    if strategy == "global":
        return np.full(L, global_threshold(P, Y, cardinality, w))
    best = best_f1_thresholds(P, Y, w)
    if strategy == "shrunk":
        g = global_threshold(P, Y, cardinality, w)
        n_pos = Y.sum(axis=0) if w is None else (_per_label(w, Y.shape) * Y).sum(axis=0)
        best = shrink(best, n_pos, g, SHRINK_PRIOR)
    elif strategy != "tuned":
        raise ValueError(f"unknown threshold strategy {strategy!r}; one of {STRATEGIES}")
    return np.maximum(best, floor) if floor is not None else best


def shrink(own: np.ndarray, n_pos: np.ndarray, toward: np.ndarray | float, prior: float
           ) -> np.ndarray:
    """Each label's threshold ``own`` pulled toward ``toward`` in proportion to how few
    positives ``n_pos`` it rests on: ``(n_pos x own + prior x toward) / (n_pos + prior)``; a
    label without positives gets ``toward``."""
    toward = np.broadcast_to(np.asarray(toward, dtype=float), np.shape(own))
    blended = (n_pos * own + prior * toward) / np.maximum(n_pos + prior, 1e-12)
    return np.where(n_pos > 0, blended, toward)


def check_prior(prior: float) -> float:
    """``prior`` as a float, or a ValueError unless it is a finite number >= 0."""
    try:
        value = float(prior)
    except (TypeError, ValueError, OverflowError):
        value = float("nan")
    if isinstance(prior, bool | str) or not (np.isfinite(value) and value >= 0):
        raise ValueError(f"the prior of the re-tuning (tune_prior) must be a finite number "
                         f">= 0, got {prior!r:.40}")
    return value


def blend_thresholds(P: np.ndarray, Y: np.ndarray, base: np.ndarray, prior: float,
                     repeats: int = 1) -> np.ndarray:
    """Each label's F1-optimal threshold on the scores ``P`` of the marked records (gold
    ``Y``), pulled toward ``base`` (the thresholds of all the data): ``(n_pos x own + prior x
    base) / (n_pos + prior)``, where ``n_pos`` counts the label's distinct positive records
    (``P`` stacks ``repeats`` fold splits of each). A label without positives among them keeps
    its ``base``."""
    check_prior(prior)
    if len(P) == 0:
        return np.asarray(base, dtype=float).copy()
    return shrink(best_f1_thresholds(P, Y), Y.sum(axis=0) / max(1, repeats),
                  np.asarray(base, dtype=float), prior)


def decide(P: np.ndarray, thresholds: np.ndarray, cardinality: str) -> np.ndarray:
    """Boolean (n, L) decisions from scores, thresholds and the cardinality rule."""
    n, L = P.shape
    if cardinality == "exactly-one":
        out = np.zeros((n, L), dtype=bool)
        if L:
            out[np.arange(n), np.argmax(P, axis=1)] = True
        return out
    out = thresholds <= P
    if cardinality == "at-least-one" and L:
        empty = np.flatnonzero(~out.any(axis=1))
        out[empty, np.argmax(P[empty], axis=1)] = True
    return out


def _column_sums(M: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """Per column, the number (or the summed weights ``w``) of the rows where ``M`` holds."""
    if w is None:
        return M.sum(axis=0).astype(np.float64)
    rows, cols = np.nonzero(M)  # row by row, as scikit-learn's sparse counts add them up
    return np.bincount(cols, weights=np.asarray(w, dtype=np.float64)[rows],
                       minlength=M.shape[1])


def f1(Y: np.ndarray, D: np.ndarray, average: str, w: np.ndarray | None = None) -> float:
    """Micro- or macro-F1 of indicator matrices ``Y`` (gold) and ``D`` (decided), (n, L),
    weighted by record weights ``w`` if given; a label with no gold and no predicted positives
    counts as perfect (nothing to find, nothing found).

    The values of scikit-learn's ``f1_score(Y, D, average=..., zero_division=1.0,
    sample_weight=w)`` for two or more labels, added up in the same order, at a fraction of
    its cost (this runs for every candidate and fold of a model search). Unlike it, a single
    label is scored as a label (the F1 of its positives), not as a two-class problem."""
    if average not in ("micro", "macro"):
        raise ValueError(f"average must be 'micro' or 'macro', got {average!r}")
    Yb, Db = np.asarray(Y, dtype=bool), np.asarray(D, dtype=bool)
    tp = _column_sums(Yb & Db, w)
    # scikit-learn goes through the confusion matrix: true = tp + fn, predicted = tp + fp
    true = tp + (_column_sums(Yb, w) - tp)
    pred = tp + (_column_sums(Db, w) - tp)
    if average == "micro":
        tp, true, pred = (np.array([np.sum(a)]) for a in (tp, true, pred))
    denom = true + pred
    empty = denom == 0.0
    f = 2.0 * tp / np.where(empty, 1.0, denom)
    f[empty] = 1.0
    return float(f.mean()) if len(f) else 1.0

