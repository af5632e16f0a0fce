"""Model selection by grouped internal cross-validation on the data at hand.

Topics (``select_topics``), a budgeted coordinate search, each step measured:
1. feature set: word 1-grams, word 1-2-grams, and (for small data of short texts, where they
   pay) word 1-2-grams with character n-grams; linear SVM (C = 1). Logistic regression (C = 8)
   was a candidate too: never chosen in 18 searches (labels/ and four public sets, 200 to
   10,000 records), up to half of the search's time (README, "Dropped from the topic search");
   ``TopicClassifier(loss="log")`` is still there, and ``--fast`` still uses it;
2. C over a grid around the best (x4 steps) that extends while the best value lies at an edge;
3. with character n-grams, the word-only second view. Class weighting ("balanced") was a
   step too: held out it was worth nothing on average (-0.005 to +0.005 macro-F1 where it
   changed the model) and took more than half of the search's time on 10,000 headlines of 27
   classes (README, as above); ``TopicClassifier(class_weight="balanced")`` is still there.
   With several topics a text, each label's tuned threshold already absorbs much of what class
   weighting shifts.
Every candidate's out-of-fold scores are then decided by every threshold strategy (per label
tuned with each floor of ``FLOORS``, shrunk, global), cross-fitted: the thresholds that decide
fold k are tuned on the other folds' scores only. A candidate's score is its best strategy's
``metric`` over the pooled out-of-fold decisions (scikit-learn's F1).

Stance (``select_stance``): C (a grid that extends at its edges) x class weighting, scored by
macro-F1 of the out-of-fold predictions; a fold whose training part lacks a class is reported
and its rows are left out of the score (never scored as some default class).

To keep this fast the vocabulary is fitted once on the selection data (not per fold), and at
most ``max_records`` records (a seeded sample) take part; the chosen model is then fitted on
all the data.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from . import thresholds
from .estimators import (
    FitLog,
    StanceClassifier,
    TextVectorizer,
    fit_linear,
    fit_topic_linear,
    internal_folds,
)
from .thresholds import METRICS

FLOORS = (None, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
START_C = 1.0  # the SVM's C where the search starts
FAST_LEARNER = ("log", 8.0)  # --fast, and data too small for internal CV
STANCE_START_C = 4.0
C_STEP = 4.0
MAX_EXTENSIONS = 2
CHAR_MAX_RECORDS = 20_000  # character n-grams pay on small data of short texts ...
CHAR_MAX_MEAN_CHARS = 500  # ... (sentences, headlines, tweets), not on long documents

Log = Callable[[str], None]


def metric_value(metric: str, micro: float, macro: float) -> float:
    if metric == "micro-f1":
        return micro
    if metric == "macro-f1":
        return macro
    if metric == "mean-f1":
        return (micro + macro) / 2
    raise ValueError(f"unknown metric {metric!r}; one of {METRICS}")


@dataclass
class Trial:
    """One candidate of the search and what internal CV gave it."""

    part: str
    params: dict
    micro_f1: float
    macro_f1: float
    score: float
    seconds: float
    chosen: bool = False

    def row(self) -> dict:
        # scores to 4 places, as the progress log prints them: the train table shows these
        # rows, and a second rounding (to 3 places) could disagree with the log by 0.001
        return {"part": self.part, **self.params, "micro_f1": round(self.micro_f1, 4),
                "macro_f1": round(self.macro_f1, 4), "score": round(self.score, 4),
                "seconds": round(self.seconds, 2), "chosen": self.chosen}


@dataclass
class Selection:
    params: dict
    trials: list[Trial] = field(default_factory=list)
    fallbacks: list[str] = field(default_factory=list)


def char_allowed(texts: Sequence[str]) -> bool:
    """Character n-grams are a candidate for small data of short texts only (elsewhere they
    cost far more than they can add)."""
    mean = sum(map(len, texts)) / max(len(texts), 1)
    return len(texts) <= CHAR_MAX_RECORDS and mean <= CHAR_MAX_MEAN_CHARS


def _sample(n: int, limit: int, seed: int) -> np.ndarray:
    idx = np.arange(n)
    if n > limit:
        idx = np.sort(np.random.default_rng(seed).permutation(idx)[:limit])
    return idx


def best_thresholds(P: np.ndarray, Y: np.ndarray, folds: list, cardinality: str,
                    metric: str, strategy: str | None = None, w: np.ndarray | None = None
                    ) -> tuple[dict, float, float, float]:
    """The best threshold strategy for out-of-fold scores ``P``, cross-fitted over ``folds``:
    (params, micro, macro, score). ``strategy`` restricts the choice to one strategy (for
    "tuned", its floor is still chosen). Tuned and scored with record weights ``w`` if
    given."""
    options: list[dict] = ([{"threshold_strategy": "tuned", "threshold_floor": f}
                            for f in FLOORS]
                           + [{"threshold_strategy": "shrunk", "threshold_floor": None},
                              {"threshold_strategy": "global", "threshold_floor": None}])
    if strategy is not None:
        options = [o for o in options if o["threshold_strategy"] == strategy]
    if cardinality == "exactly-one":
        options = [{"threshold_strategy": "global", "threshold_floor": None}]
    best: tuple[dict, float, float, float] | None = None
    for opt in options:
        D = np.zeros(Y.shape, dtype=bool)
        for tr, te in folds:
            th = thresholds.fit_thresholds(P[tr], Y[tr], opt["threshold_strategy"],
                                           opt["threshold_floor"], cardinality,
                                           None if w is None else w[tr])
            D[te] = thresholds.decide(P[te], th, cardinality)
        micro, macro = thresholds.f1(Y, D, "micro", w), thresholds.f1(Y, D, "macro", w)
        score = metric_value(metric, micro, macro)
        if best is None or score > best[3] + 1e-9:
            best = (opt, micro, macro, score)
    assert best is not None
    return best


def select_topics(texts: Sequence[str], Y: np.ndarray, groups: Sequence, cardinality: str,
                  *, metric: str = "mean-f1", k: int = 3, seed: int = 0, fast: bool = False,
                  max_records: int = 5000, jobs: int = 1, char: bool | None = None,
                  fixed_C: float | None = None, threshold_strategy: str | None = None,
                  fitlog: FitLog | None = None, sample_weight: np.ndarray | None = None,
                  labels: Sequence[str] | None = None, log: Log = lambda _: None) -> Selection:
    """The topic classifier's parameters (TopicClassifier and its TextVectorizer), chosen by
    internal CV (see the module docstring). ``fixed_C`` and ``threshold_strategy`` take
    those choices out of the search; with ``sample_weight`` every fit, threshold and score
    of the search is weighted; ``labels`` names ``Y``'s columns in ``fitlog``'s notes."""
    sub = _sample(len(texts), min(max_records, 2000) if fast else max_records, seed)
    tx = [texts[i] for i in sub]
    Ys = Y[sub]
    ws = None if sample_weight is None else sample_weight[sub]
    gs = np.asarray(groups, dtype=object)[sub]
    folds = internal_folds(Ys, gs, 2 if fast else k, seed)
    use_char = char_allowed(texts) if char is None else char
    default = {"ngram_range": (1, 2), "char_ngrams": use_char, "loss": FAST_LEARNER[0],
               "C": fixed_C or FAST_LEARNER[1],
               "class_weight": None, "word_view": use_char and cardinality != "exactly-one",
               "threshold_strategy": threshold_strategy or "shrunk",
               "threshold_floor": 0.3 if threshold_strategy == "tuned" else None}
    sel = Selection(dict(default))
    if not folds:
        sel.fallbacks.append("topics: too few sources for internal cross-validation: default "
                             "parameters, thresholds 0.5 untuned")
        return sel
    if fast:
        feature_sets = [(default["ngram_range"], use_char)]
        learner = (default["loss"], default["C"])
    else:
        feature_sets = [((1, 1), False), ((1, 2), False)] + ([((1, 2), True)] if use_char
                                                               else [])
        learner = ("hinge", fixed_C or START_C)
    matrices = {}
    for ngram, ch in feature_sets:
        vec = TextVectorizer(ngram_range=ngram, char_ngrams=ch,
                             min_df=2 if len(tx) >= 2000 else 1).fit(tx)
        matrices[(ngram, ch)] = (vec, vec.transform(tx))
    fitlog = fitlog or FitLog("topics")
    fitlog.stage = "internal CV"
    names = [str(x) for x in labels] if labels is not None else [str(j) for j in
                                                                  range(Y.shape[1])]
    cache: dict[tuple, Trial] = {}

    def trial(params: dict) -> Trial:
        key = tuple(sorted((k2, str(v)) for k2, v in params.items()))
        if key in cache:
            return cache[key]
        t0 = time.perf_counter()
        vec, M = matrices[(params["ngram_range"], params["char_ngrams"])]
        word_cols = len(vec.features_.word_vocab) if params["word_view"] else None
        P = np.zeros(Ys.shape)
        for tr, te in folds:
            lin = fit_topic_linear(M[tr], Ys[tr], names, params["loss"], params["C"],
                                   params["class_weight"], seed, vec.n_ngram_columns,
                                   word_cols, jobs, fitlog, None if ws is None else ws[tr])
            P[te] = lin.proba(M[te])
        th, micro, macro, score = best_thresholds(P, Ys, folds, cardinality, metric,
                                                  threshold_strategy, ws)
        t = Trial("topics", {**params, **th}, micro, macro, score, time.perf_counter() - t0)
        log(f"  topics {describe(t.params)}: internal CV micro-F1 {micro:.4f} "
            f"macro-F1 {macro:.4f} ({t.seconds:.1f} s)")
        cache[key] = t
        sel.trials.append(t)
        return t

    base = {"word_view": False, "class_weight": None}
    trials = [trial({**base, "ngram_range": ng, "char_ngrams": ch, "loss": learner[0],
                     "C": learner[1]}) for ng, ch in feature_sets]
    best = max(trials, key=lambda t: t.score)
    if not fast:
        if fixed_C is None:
            best = _search_C(best, trial, lambda p, C: {**_core(p), "C": C})
        if best.params["char_ngrams"] and cardinality != "exactly-one":
            best = max([best, trial({**_core(best.params), "word_view": True})],
                       key=lambda t: t.score)
    best.chosen = True
    sel.params = dict(best.params)
    fitlog.stage = "final model"
    return sel


_CORE = ("ngram_range", "char_ngrams", "loss", "C", "class_weight", "word_view")


def _core(params: dict) -> dict:
    return {k: params[k] for k in _CORE}


def _search_C(best: Trial, trial: Callable[[dict], Trial],
              with_C: Callable[[dict, float], dict]) -> Trial:
    """Best over C/4, C, 4C around ``best``; while the best lies at an edge of what was
    tried, extend that way (at most ``MAX_EXTENSIONS`` times)."""
    C0 = best.params["C"]
    tried = {C0: best}
    for C in (C0 / C_STEP, C0 * C_STEP):
        tried[C] = trial(with_C(best.params, C))
    for _ in range(MAX_EXTENSIONS):
        top = max(tried.values(), key=lambda t: t.score)
        Cs = sorted(tried)
        C_best = top.params["C"]
        if C_best == Cs[0]:
            C_new = Cs[0] / C_STEP
        elif C_best == Cs[-1]:
            C_new = Cs[-1] * C_STEP
        else:
            break
        tried[C_new] = trial(with_C(top.params, C_new))
    return max(tried.values(), key=lambda t: t.score)


def describe(params: dict) -> str:
    """A candidate's parameters in a few words (for the table ``classify train`` prints)."""
    if "loss" not in params:  # stance
        return f"logistic C={params['C']:g}" + (f" {params['class_weight']}"
                                                if params.get("class_weight") else "")
    feats = "words 1" + ("-2" if tuple(params.get("ngram_range", (1, 2))) == (1, 2) else "")
    if params.get("char_ngrams"):
        feats += " + chars"
    if params.get("word_view"):
        feats += " (+ word view)"
    out = f"{feats}, {params.get('loss', 'log')} C={params['C']:g}"
    if params.get("class_weight"):
        out += f" {params['class_weight']}"
    if "threshold_strategy" in params:
        out += f", thresholds {params['threshold_strategy']}"
        if params.get("threshold_floor") is not None:
            out += f" floor {params['threshold_floor']:g}"
    return out


def select_stance(texts: Sequence[str], y: np.ndarray, classes: Sequence[str],
                  groups: Sequence, vectorizer: TextVectorizer, *, k: int = 3,
                  seed: int = 0, fast: bool = False, max_records: int = 5000,
                  fixed_C: float | None = None, fitlog: FitLog | None = None,
                  sample_weight: np.ndarray | None = None,
                  log: Log = lambda _: None) -> Selection:
    """C and class weighting of the stance classifier by internal grouped CV (macro-F1,
    weighted by ``sample_weight`` if given, as are the fits)."""
    sub = _sample(len(texts), min(max_records, 2000) if fast else max_records, seed)
    ys = y[sub]
    ws = None if sample_weight is None else sample_weight[sub]
    Yind = np.eye(len(classes), dtype=bool)[ys]
    sel = Selection({"C": fixed_C or STANCE_START_C, "class_weight": "balanced"})
    folds = internal_folds(Yind, np.asarray(groups, dtype=object)[sub], 2 if fast else k,
                           seed)
    if not folds:
        sel.fallbacks.append("stance: too few sources for internal cross-validation: C=4, "
                             "class_weight=balanced untuned")
        return sel
    if fast:
        return sel
    M = vectorizer.transform([texts[i] for i in sub])
    fitlog = fitlog or FitLog("stance")
    fitlog.stage = "internal CV"
    lacking: dict[int, str] = {}  # fold -> the one-line note

    def trial(params: dict) -> Trial:
        t0 = time.perf_counter()
        pred = np.full(len(ys), -1)
        for i, (tr, te) in enumerate(folds):
            missing = sorted(set(range(len(classes))) - set(np.unique(ys[tr]).tolist()))
            if missing:
                lacking[i] = (f"stance: internal CV fold {i + 1} of {len(folds)} lacks class"
                              f"{'es' if len(missing) > 1 else ''} "
                              f"{', '.join(repr(str(classes[j])) for j in missing)} in its "
                              f"training part; its {len(te)} rows are left out of the choice "
                              "of C and class weighting")
                continue
            coef, icpt = fit_linear(M[tr], Yind[tr], list(classes), "log", params["C"],
                                    params["class_weight"], seed, fitlog=fitlog,
                                    sample_weight=None if ws is None else ws[tr])
            pred[te] = np.argmax(StanceClassifier.proba_of(
                np.asarray(M[te] @ coef.T) + icpt), axis=1)
        scored = pred >= 0
        from sklearn.metrics import f1_score

        wsc = None if ws is None else ws[scored]
        macro = float(f1_score(ys[scored], pred[scored], labels=list(range(len(classes))),
                               average="macro", zero_division=1.0, sample_weight=wsc)
                      ) if scored.any() else 0.0
        micro = float(np.average(ys[scored] == pred[scored], weights=wsc)) \
            if scored.any() else 0.0
        t = Trial("stance", params, micro, macro, macro, time.perf_counter() - t0)
        log(f"  stance C={params['C']:g} class_weight={params['class_weight']}: internal CV "
            f"macro-F1 {macro:.4f} ({t.seconds:.1f} s)")
        sel.trials.append(t)
        return t

    best = None
    for cw in (None, "balanced"):
        t = trial({"C": fixed_C or STANCE_START_C, "class_weight": cw})
        if fixed_C is None:
            t = _search_C(t, trial, lambda p, C: {**p, "C": C})
        if best is None or t.score > best.score + 1e-9:
            best = t
    assert best is not None
    best.chosen = True
    sel.params = dict(best.params)
    sel.fallbacks.extend(lacking[i] for i in sorted(lacking))
    fitlog.stage = "final model"
    return sel

