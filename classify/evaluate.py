"""Honest quality estimates: grouped cross-validation, and scoring a model on held-out data.

In cross-validation every outer fold trains a complete model on the other folds with
``train_model`` (its own vocabulary, its own internal CV for C and thresholds) and scores the
held-out fold, so no threshold or hyper-parameter ever sees the records it is scored on.

Every F1 comes with a 95% bootstrap interval over sources (``bootstrap``), and topic scores
and stance probabilities with a reliability curve (``reliability``). The learning curve
(``learning_curve=True``) repeats the cross-validation with the training folds cut to a
share of their sources, so one sees whether labelling more would pay.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field, replace

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from . import bootstrap, interrupts, reliability
from .data import Dataset, Record
from .errors import DataError, worker_lost
from .model import (
    Model,
    TrainOptions,
    auto_train_jobs,
    check_options,
    topic_matrix,
    train_model,
)
from .splits import METHOD, grouped_folds

N_ERRORS = 20
CURVE_FRACTIONS = (0.1, 0.25, 0.5, 0.75, 1.0)  # shares of the training folds' sources
FEW_SOURCES = 10  # below this many sources, intervals are said to be rough
AUTO_FOLD_CELLS = 40_000  # records x labels of a fold's training part from which --jobs auto
# fits the folds in parallel


@dataclass
class Predictions:
    """Per-record predictions aligned with ``records``."""

    records: list[Record]
    topic_labels: list[str]
    stance_labels: list[str]
    topic_proba: np.ndarray  # (n, L)
    topic_pred: np.ndarray  # (n, L) bool
    stance_proba: np.ndarray  # (n, S)


@dataclass
class EvalReport:
    mode: str  # "cross-validation" or "held-out"
    n_records: int
    description: str
    topics: dict | None = None
    stance: dict | None = None
    errors: list[dict] = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    fallbacks: list[str] = field(default_factory=list)  # one line each, also logged as warnings
    learning_curve: dict | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def predict(model: Model, records: Sequence[Record]) -> Predictions:
    """Scores and decisions by ``Model.scores``, the scoring path tagging uses too."""
    P, S = model.scores([r.text for r in records])
    return Predictions(list(records), model.topic_labels, model.stance_labels, P,
                       model.decide(P), S)


def _topic_metrics(records: Sequence[Record], pred: Predictions,
                   resamples: int = bootstrap.RESAMPLES, seed: int = 0) -> dict | None:
    idx = [i for i, r in enumerate(records) if r.topics is not None]
    if not idx or not pred.topic_labels:
        return None
    labels = pred.topic_labels
    Y = topic_matrix([records[i] for i in idx], labels) if all(
        t in labels for i in idx for t in records[i].topics or ()) else \
        _lenient_topic_matrix([records[i] for i in idx], labels)
    D = pred.topic_pred[idx]
    p, r, f, s = _label_prf(Y, D)
    mp, mr, mf = (float(v[0]) for v in _label_prf(Y.reshape(-1, 1), D.reshape(-1, 1))[:3])
    Mp, Mr, Mf = (float(np.mean(v)) for v in (p, r, f))
    groups = [records[i].source for i in idx]
    ci = bootstrap.topic_intervals(Y, D, groups, resamples, seed)
    return {
        "n": len(idx),
        "sources": len(set(groups)),
        "labels": {lab: {"precision": float(p[j]), "recall": float(r[j]), "f1": float(f[j]),
                         "f1_ci": ci["labels"][j], "support": int(s[j])}
                   for j, lab in enumerate(labels)},
        "micro": {"precision": float(mp), "recall": float(mr), "f1": float(mf),
                  "f1_ci": ci["micro"]},
        "macro": {"precision": float(Mp), "recall": float(Mr), "f1": float(Mf),
                  "f1_ci": ci["macro"]},
        "exact_match": float((Y == D).all(axis=1).mean()),
        "reliability": reliability.curve(pred.topic_proba[idx], Y),
    }


def _label_prf(Y: np.ndarray, D: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per column of gold ``Y`` and decisions ``D`` (n, L): precision, recall, F1 (0 where
    undefined, as scikit-learn's zero_division=0) and support. Counted here, not by
    scikit-learn, which scores a single column as two classes (the topic and its absence)."""
    Yb, Db = np.asarray(Y, dtype=bool), np.asarray(D, dtype=bool)
    tp = (Yb & Db).sum(axis=0).astype(np.float64)
    true, decided = Yb.sum(axis=0).astype(np.float64), Db.sum(axis=0).astype(np.float64)

    def ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.divide(a, b, out=np.zeros_like(a), where=b > 0)

    return (ratio(tp, decided), ratio(tp, true), ratio(2 * tp, true + decided),
            true.astype(int))


def _lenient_topic_matrix(records: Sequence[Record], labels: Sequence[str]) -> np.ndarray:
    """Gold matrix over the model's labels; gold topics the model does not know are dropped."""
    known = set(labels)
    trimmed = [Record(r.text, tuple(t for t in r.topics or () if t in known), r.stance,
                      r.source, r.id, r.where) for r in records]
    return topic_matrix(trimmed, labels)


def _stance_metrics(records: Sequence[Record], pred: Predictions,
                    resamples: int = bootstrap.RESAMPLES, seed: int = 0) -> dict | None:
    idx = [i for i, r in enumerate(records) if r.stance is not None]
    if not idx or not pred.stance_labels:
        return None
    labels = pred.stance_labels
    gold_names = [records[i].stance for i in idx]
    all_labels = labels + sorted({g for g in gold_names if g not in labels})
    gold = np.array([all_labels.index(g) for g in gold_names])
    guess = np.argmax(pred.stance_proba[idx], axis=1)
    ids = list(range(len(all_labels)))
    p, r, f, s = precision_recall_fscore_support(gold, guess, labels=ids, zero_division=0)
    cm = confusion_matrix(gold, guess, labels=ids)
    groups = [records[i].source for i in idx]
    ci = bootstrap.class_intervals(gold, guess, len(all_labels), len(labels), groups,
                                   resamples, seed)
    onehot = np.zeros((len(idx), len(labels)))
    known = gold < len(labels)
    onehot[np.flatnonzero(known), gold[known]] = 1
    return {
        "n": len(idx),
        "sources": len(set(groups)),
        "labels": {lab: {"precision": float(p[j]), "recall": float(r[j]), "f1": float(f[j]),
                         "f1_ci": ci["labels"][j], "support": int(s[j])}
                   for j, lab in enumerate(all_labels)},
        "macro_f1": float(np.mean(f[:len(labels)])),
        "macro_f1_ci": ci["macro"],
        "accuracy": float((gold == guess).mean()),
        "accuracy_ci": ci["accuracy"],
        "confusion": {"labels": all_labels, "matrix": cm.tolist(),
                      "note": "rows are gold classes, columns predicted"},
        "reliability": reliability.curve(pred.stance_proba[idx], onehot),
    }


def _worst_errors(records: Sequence[Record], pred: Predictions, k: int = N_ERRORS
                  ) -> list[dict]:
    """The k most confident mistakes (a wrong topic or stance, by the model's own score)."""
    rows = []
    tl, sl = pred.topic_labels, pred.stance_labels
    for i, r in enumerate(records):
        severity = 0.0
        predicted = [tl[j] for j in np.flatnonzero(pred.topic_pred[i])] if tl else []
        if r.topics is not None and tl:
            gold = set(r.topics)
            for j, lab in enumerate(tl):
                if pred.topic_pred[i, j] and lab not in gold:
                    severity = max(severity, float(pred.topic_proba[i, j]))
                elif not pred.topic_pred[i, j] and lab in gold:
                    severity = max(severity, 1 - float(pred.topic_proba[i, j]))
            topic_wrong = set(predicted) != gold
        else:
            topic_wrong = False
        guess = sl[int(np.argmax(pred.stance_proba[i]))] if sl else None
        stance_wrong = r.stance is not None and guess is not None and guess != r.stance
        if stance_wrong:
            severity = max(severity, float(pred.stance_proba[i].max()))
        if topic_wrong or stance_wrong:
            rows.append({"text": r.text, "source": r.source, "where": r.where,
                         "gold_topics": list(r.topics or []), "pred_topics": predicted,
                         "gold_stance": r.stance, "pred_stance": guess,
                         "severity": round(severity, 4)})
    rows.sort(key=lambda row: -row["severity"])
    return rows[:k]


def score(records: Sequence[Record], pred: Predictions, resamples: int = bootstrap.RESAMPLES,
          seed: int = 0) -> tuple[dict | None, dict | None, list[dict]]:
    """Topic and stance metrics (with bootstrap intervals over sources and reliability
    curves), and the worst errors."""
    return (_topic_metrics(records, pred, resamples, seed),
            _stance_metrics(records, pred, resamples, seed), _worst_errors(records, pred))


def _note_few_sources(topics: dict | None, stance: dict | None,
                      log: Callable[[str], None] = lambda _: None) -> None:
    """Mark (``interval_note``) and log metrics whose intervals rest on few sources."""
    for name, m in (("topics", topics), ("stance", stance)):
        if m is not None and m["sources"] < FEW_SOURCES:
            m["interval_note"] = (f"only {m['sources']} sources: the bootstrap intervals "
                                  "over sources are rough")
            log(f"note: {name}: {m['interval_note']}")


def _out_of_fold(data: Dataset, splits: list[tuple[np.ndarray, np.ndarray]],
                 opts: TrainOptions, note: Callable[[str], None],
                 log: Callable[[str], None], fraction: float = 1.0) -> Predictions:
    """Predictions of each record by the model trained on the other folds, with each
    training part cut to the first ``fraction`` of its sources in a seeded order (nested:
    a smaller share is part of every larger one)."""
    records = data.records
    n = len(records)
    topic_labels = list(data.topic_labels)
    P = np.zeros((n, len(topic_labels)))
    D = np.zeros((n, len(topic_labels)), dtype=bool)
    S = np.zeros((n, len(data.stance_labels)))
    stance_labels = list(data.stance_labels)
    stance_index = {s: j for j, s in enumerate(stance_labels)}
    parts = [_first_sources(records, train_idx, fraction, [opts.seed, k])
             for k, (train_idx, _) in enumerate(splits, 1)]
    procs = fold_jobs(opts, len(splits), max((len(p) for p in parts), default=0),
                      len(topic_labels))
    if procs > 1:
        from joblib import Parallel, delayed

        log(f"{len(splits)} folds in {procs} processes")
        inner = replace(opts, jobs=1)
        done = Parallel(n_jobs=procs, return_as="generator")(
            delayed(_fold)(records, train_idx, test_idx, topic_labels, stance_labels, inner)
            for train_idx, (_, test_idx) in zip(parts, splits, strict=True))
    else:
        done = (_fold(records, train_idx, test_idx, topic_labels, stance_labels, opts,
                      log=lambda m, k=k: log(f"fold {k}/{len(splits)}: {m}"))
                for k, (train_idx, (_, test_idx)) in enumerate(zip(parts, splits, strict=True),
                                                               1))
    try:
        for k, (fallbacks, fold) in enumerate(done, 1):
            test_idx = splits[k - 1][1]
            if procs > 1:
                log(f"fold {k}/{len(splits)}: trained on {len(parts[k - 1])} records, scored "
                    f"{len(test_idx)}")
            for msg in fallbacks:
                note(f"fold {k}/{len(splits)}: {msg}")
            for j, lab in enumerate(fold.topic_labels):
                jj = topic_labels.index(lab)
                P[test_idx, jj] = fold.topic_proba[:, j]
                D[test_idx, jj] = fold.topic_pred[:, j]
            for j, lab in enumerate(fold.stance_labels):
                S[test_idx, stance_index[lab]] = fold.stance_proba[:, j]
            interrupts.checkpoint("mid-evaluate")
    except BrokenProcessPool:  # a worker killed, e.g. by the system for want of memory
        raise worker_lost("fitting cross-validation folds") from None
    return Predictions(records, topic_labels, stance_labels, P, D, S)


def fold_jobs(opts: TrainOptions, folds: int, records: int, labels: int) -> int:
    """Processes for the folds of a cross-validation, at most one a fold: ``opts.jobs`` (each
    fold then trains in one process), or for "auto" ``auto_train_jobs`` with a fold's training
    part against ``AUTO_FOLD_CELLS`` records x labels (below that, starting the workers costs
    more than a fold's training)."""
    want = auto_train_jobs(records, labels, AUTO_FOLD_CELLS) if opts.jobs == "auto" \
        else int(opts.jobs)
    return max(1, min(want, folds))


def _fold(records: Sequence[Record], train_idx: np.ndarray, test_idx: np.ndarray,
          topic_labels: list[str], stance_labels: list[str], opts: TrainOptions,
          log: Callable[[str], None] = lambda _: None) -> tuple[list[str], Predictions]:
    """One fold: the model trained on ``train_idx`` (its fallback lines) and its predictions
    of ``test_idx``; run in a worker process when the folds are fitted in parallel."""
    log(f"training on {len(train_idx)} records, scoring {len(test_idx)}")
    train = [records[i] for i in train_idx]
    tlabels = topic_labels if any(r.topics for r in train) else []
    model = train_model(train, tlabels, stance_labels, opts)
    return (list(model.info.get("fallbacks", [])),
            predict(model, [records[i] for i in test_idx]))


def _first_sources(records: Sequence[Record], idx: np.ndarray, fraction: float,
                   seed: list[int]) -> np.ndarray:
    """The records of ``idx`` whose source is among the first ``ceil(fraction x sources)``
    of ``idx``'s sources in a seeded order (at least one), in their original order."""
    if fraction >= 1.0:
        return idx
    sources = sorted({records[i].source for i in idx})
    order = np.random.default_rng(seed).permutation(len(sources))
    keep = {sources[j] for j in order[:max(1, math.ceil(fraction * len(sources)))]}
    return np.array([i for i in idx if records[i].source in keep], dtype=idx.dtype)


def cross_validate(data: Dataset, folds: int = 5, opts: TrainOptions | None = None,
                   log: Callable[[str], None] = lambda _: None, *,
                   learning_curve: bool = False, resamples: int = bootstrap.RESAMPLES
                   ) -> EvalReport:
    """k-fold grouped, stratified cross-validation of the full training procedure; with
    ``learning_curve``, again at each of ``CURVE_FRACTIONS`` of the training sources."""
    opts = check_options(opts)
    records = data.records
    splits, pred, fallbacks, note = _cross_fitted(data, folds, opts, log)
    topics, stance, errors = score(records, pred, resamples, opts.seed)
    _note_few_sources(topics, stance, log)
    curve = (_learning_curve(data, splits, opts, pred, note, log, resamples)
             if learning_curve else None)
    return EvalReport(
        mode="cross-validation", n_records=len(records),
        description=f"{len(splits)}-fold {METHOD}. Each fold trains a full model ("
                    + ("vocabulary and per-topic thresholds fitted inside the training folds "
                       "only, with the fixed parameters the options give"
                       if opts.params or opts.fast or opts.C else
                       "vocabulary, C and per-topic thresholds chosen by CV inside the "
                       "training folds only")
                    + ") and scores the held-out fold.",
        topics=topics, stance=stance, errors=errors,
        settings={"folds": len(splits), "seed": opts.seed, "data": data.files,
                  "data_sha256": data.sha256(),
                  "bootstrap": bootstrap.settings(resamples, opts.seed)},
        fallbacks=fallbacks, learning_curve=curve)


def out_of_fold(data: Dataset, folds: int = 5, opts: TrainOptions | None = None,
                log: Callable[[str], None] = lambda _: None
                ) -> tuple[Predictions, int, list[str]]:
    """Out-of-fold predictions for every record of ``data`` (grouped, stratified k-fold; each
    fold trains a complete model on the others), the number of folds kept, and the fallback
    lines (each also logged as a warning)."""
    splits, pred, fallbacks, _ = _cross_fitted(data, folds, check_options(opts), log)
    return pred, len(splits), fallbacks


def _cross_fitted(data: Dataset, folds: int, opts: TrainOptions, log: Callable[[str], None]
                  ) -> tuple[list, Predictions, list[str], Callable[[str], None]]:
    """The grouped folds, the out-of-fold predictions, the fallback lines so far and the
    function that adds one (also logged as a warning)."""
    fallbacks: list[str] = []

    def note(msg: str) -> None:
        fallbacks.append(msg)
        log(f"warning: {msg}")

    splits = grouped_folds(data.records, data.topic_labels, data.stance_labels, folds,
                           opts.seed, warn=lambda m: note(f"cross-validation: {m}"))
    return splits, _out_of_fold(data, splits, opts, note, log), fallbacks, note


def _learning_curve(data: Dataset, splits: list[tuple[np.ndarray, np.ndarray]],
                    opts: TrainOptions, full: Predictions, note: Callable[[str], None],
                    log: Callable[[str], None], resamples: int) -> dict:
    """Scores of the cross-validation with each training part cut to a share of its
    sources (the full share is the cross-validation already run)."""
    records = data.records
    points = []
    for fraction in CURVE_FRACTIONS:
        sizes = [_first_sources(records, tr, fraction, [opts.seed, k])
                 for k, (tr, _) in enumerate(splits, 1)]
        point: dict = {
            "fraction": fraction,
            "train_sources": round(float(np.mean([len({records[i].source for i in s})
                                                  for s in sizes])), 1),
            "train_records": round(float(np.mean([len(s) for s in sizes])), 1)}
        if fraction >= 1.0:
            pred = full
        else:
            log(f"learning curve: {fraction:.0%} of the training sources")
            lines: list[str] = []
            try:
                pred = _out_of_fold(data, splits, opts, lines.append, lambda _: None,
                                    fraction)
            except DataError as e:
                note(f"learning curve at {fraction:.0%}: not trained: {e}")
                points.append({**point, "error": str(e)})
                continue
            if lines:
                note(f"learning curve at {fraction:.0%}: {len(lines)} training fallback(s), "
                     f"e.g. {lines[0]}")
        topics, stance = (_topic_metrics(records, pred, resamples, opts.seed),
                          _stance_metrics(records, pred, resamples, opts.seed))
        if topics:
            point["topics"] = {"micro_f1": topics["micro"]["f1"],
                               "micro_f1_ci": topics["micro"]["f1_ci"],
                               "macro_f1": topics["macro"]["f1"],
                               "macro_f1_ci": topics["macro"]["f1_ci"]}
        if stance:
            point["stance"] = {"macro_f1": stance["macro_f1"],
                               "macro_f1_ci": stance["macro_f1_ci"]}
        points.append(point)
    return {"fractions": list(CURVE_FRACTIONS), "points": points,
            "note": "grouped cross-validation with the same folds and options, each training "
                    "part cut to the first share of its sources in a seeded order; intervals "
                    "are bootstrap intervals over sources"}


def unknown_labels(records: Sequence[Record], model: Model) -> list[str]:
    """One line for each label of held-out data that the model does not have: what the
    scores do with it (an unknown topic is left out; a record of an unknown stance class
    counts as missed), with how many records and the first place."""
    out = []
    for part, known, labels_of, effect in (
            ("topic", set(model.topic_labels), lambda r: r.topics or (),
             "left out of the topic scores"),
            ("stance", set(model.stance_labels), lambda r: [r.stance] if r.stance else [],
             "those records count as missed")):
        if not known:
            continue
        seen: dict[str, list] = {}
        for r in records:
            for lab in labels_of(r):
                if lab not in known:
                    seen.setdefault(lab, [0, r.where])[0] += 1
        for lab, (n, where) in seen.items():
            out.append(f"test data: {part} {lab!r} is not one of the model's "
                       f"({', '.join(sorted(known))}); {n} record(s), first at {where}: "
                       f"{effect}")
    return out


def in_training_data(records: Sequence[Record], meta: dict, model_dir: str) -> list[Record]:
    """The records whose text is in the model's own training data (the files its meta.json
    names, where they are found; texts compared as ``suggest`` compares them): scores on them
    are not held-out. Empty when there is nothing to compare with."""
    from .suggest import normalise, texts_of, training_files

    found, _ = training_files(meta, model_dir)
    try:
        trained = texts_of(found) if found else set()
    except DataError:  # a training file changed since: nothing to compare with
        return []
    return [r for r in records if normalise(r.text) in trained]


def evaluate_model(model: Model, meta: dict, data: Dataset, model_dir: str,
                   resamples: int = bootstrap.RESAMPLES, seed: int = 0,
                   log: Callable[[str], None] = lambda _: None) -> EvalReport:
    """Score a trained model on held-out labelled data; labels it does not have
    (``unknown_labels``) and records of its own training data (``in_training_data``) are
    noted in ``fallbacks``, and logged as warnings."""
    notes = unknown_labels(data.records, model)
    seen = in_training_data(data.records, meta, model_dir)
    if seen:
        notes.append(f"{len(seen)} of {len(data.records)} test records are in the model's "
                     f"training data (first: {seen[0].where or seen[0].id}): on them the "
                     "scores are not held-out")
    for msg in notes:
        log(f"warning: {msg}")
    pred = predict(model, data.records)
    topics, stance, errors = score(data.records, pred, resamples, seed)
    _note_few_sources(topics, stance)
    return EvalReport(
        mode="held-out", n_records=len(data.records),
        description=f"model {model_dir} (trained on {meta.get('data', {}).get('records', '?')} "
                    f"records) scored on {len(data.records)} "
                    + (f"records, {len(seen)} of them in its training data" if seen
                       else "held-out records"),
        topics=topics, stance=stance, errors=errors,
        settings={"model": model_dir, "data": data.files, "data_sha256": data.sha256(),
                  "bootstrap": bootstrap.settings(resamples, seed)},
        fallbacks=notes)
