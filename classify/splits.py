"""Cross-validation folds that keep each source in one fold and stratify the labels.

Method: every source (article) becomes one unit whose label vector counts, per topic and per
stance class, how many of its sentences carry that label. Those units are split with iterative
stratification for multi-label data (Sechidis et al., 2011; ``MultilabelStratifiedKFold`` from
the iterative-stratification package), so each fold gets a similar share of every label while
no source is split across folds. When every record is its own source this reduces to plain
multi-label stratification.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
from iterstrat.ml_stratifiers import MultilabelStratifiedKFold

from .data import Record
from .errors import DataError

METHOD = ("grouped multi-label stratified k-fold: each source stays in one fold; sources are "
          "assigned by iterative stratification (Sechidis et al. 2011) on their per-label "
          "sentence counts, so every topic and stance class is spread evenly over the folds")


def label_matrix(records: Sequence[Record], topics: Sequence[str],
                 stances: Sequence[str]) -> np.ndarray:
    cols = {name: i for i, name in enumerate(topics)}
    offset = len(topics)
    cols.update({f"stance:{name}": offset + i for i, name in enumerate(stances)})
    y = np.zeros((len(records), len(cols)), dtype=np.int32)
    for i, r in enumerate(records):
        for t in r.topics or ():
            if t in cols:
                y[i, cols[t]] = 1
        if r.stance is not None and f"stance:{r.stance}" in cols:
            y[i, cols[f"stance:{r.stance}"]] = 1
    return y


def n_sources(records: Sequence[Record]) -> int:
    return len({r.source for r in records})


def grouped_folds(records: Sequence[Record], topics: Sequence[str], stances: Sequence[str],
                  k: int, seed: int = 0, warn: Callable[[str], None] | None = None
                  ) -> list[tuple[np.ndarray, np.ndarray]]:
    """k (train_idx, test_idx) pairs over ``records``; raises DataError if k > #sources.

    A fold that comes out empty (or with nothing left to train on) is dropped, and said so in
    one line to ``warn`` (default: a Python ``UserWarning``)."""
    groups = sorted({r.source for r in records})
    if k < 2:
        raise DataError(f"--folds must be at least 2, got {k}")
    if k > len(groups):
        raise DataError(f"--folds {k} is more than the {len(groups)} sources in the data; "
                        f"use --folds {len(groups)} or fewer" if len(groups) >= 2 else
                        "cross-validation needs records from at least 2 sources")
    gindex = {g: i for i, g in enumerate(groups)}
    rec_group = np.array([gindex[r.source] for r in records])
    folds = group_folds(label_matrix(records, topics, stances), rec_group, k, seed)
    kept = [f for f in folds if len(f[1]) and len(f[0])]
    if len(kept) < k:
        msg = (f"{k - len(kept)} of {k} folds came out empty (or with nothing to "
               f"train on) and were dropped: {len(kept)} folds remain")
        if warn is not None:
            warn(msg)
        else:
            warnings.warn(msg, UserWarning, stacklevel=2)
    return kept


def group_folds(y: np.ndarray, groups: np.ndarray, k: int, seed: int = 0
                ) -> list[tuple[np.ndarray, np.ndarray]]:
    """k (train_idx, test_idx) pairs over the rows of the label matrix ``y`` (n, labels): each
    group (an integer or string per row) stays in one fold, and groups are assigned by
    iterative stratification on their per-label counts plus a size bucket. Folds that come
    out empty are left out."""
    _, rec_group = np.unique(np.asarray(groups), return_inverse=True)
    n_groups = int(rec_group.max()) + 1 if len(rec_group) else 0
    y = np.asarray(y, dtype=np.int64).reshape(len(rec_group), -1)
    gy = np.zeros((n_groups, y.shape[1] + 1), dtype=np.int64)
    np.add.at(gy, rec_group, np.hstack([y, np.ones((len(y), 1), dtype=np.int64)]))
    # The stratifier wants a 0/1 matrix; give it presence plus a size-bucket column.
    g_bin = (gy[:, :-1] > 0).astype(int)
    g_bin = np.hstack([g_bin, (gy[:, -1:] > np.median(gy[:, -1])).astype(int)])
    splitter = MultilabelStratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    folds = []
    for _, g_test in splitter.split(np.zeros(n_groups), g_bin):
        test_mask = np.isin(rec_group, g_test)
        folds.append((np.flatnonzero(~test_mask), np.flatnonzero(test_mask)))
    return [f for f in folds if len(f[1]) and len(f[0])]
