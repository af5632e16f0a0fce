"""Features and linear models: TF-IDF n-grams, one-vs-rest topics, multi-class stance.

Training, in ``train_model``:
1. One TF-IDF vocabulary over all training texts: word 1-2-grams, plus character 2-5-grams of
   words for small data of short texts (at most 8,000 records of mean length at most 500
   characters), where they carry over to unseen word forms; on long documents and big data
   they cost much more than they add.
2. Internal cross-validation (grouped by source, stratified; see ``splits``) on at most
   ``max_cv_records`` records picks the regularisation strength C from a grid and gives
   out-of-fold probabilities. Models are L2 logistic regressions fitted by liblinear; above
   20,000 records by averaged SGD on the same objective (5 epochs), whose cost grows linearly
   with the data instead of with data x iterations.
3. Per-topic thresholds are tuned on those out-of-fold probabilities: the F1-best threshold of
   each topic is shrunk toward the single best global threshold in proportion to how few
   positives the topic has, so rare topics do not get a threshold fitted to noise.
4. Cardinality from the data: if every training record has a topic, a prediction always has at
   least one (the topic closest to its threshold); if every record has exactly one, exactly one.
5. Stance: one-vs-rest logistic regression over the classes, probabilities normalised; C and
   class weighting (none or balanced, for skewed classes) are chosen by out-of-fold macro-F1.
The fitted weights are kept as plain arrays, so prediction is one sparse matrix product.

Nothing falls back silently: too few sources for internal CV, a fold dropped or lacking a
class, a label fitted as a constant, a solver that did not converge: each is one line, logged
as "warning: ..." and kept in ``Model.info["fallbacks"]`` (meta.json ``training.fallbacks``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .data import Record
from .errors import DataError
from .features import Counts, Features, _tfidf, sentiment_lexicon

TOPIC_C_GRID = (2.0, 8.0, 32.0)
STANCE_C_GRID = (1.0, 4.0, 16.0)
DEFAULT_C = 8.0
DEFAULT_STANCE_C = 4.0
SGD_MIN_RECORDS = 20_000  # above this, averaged SGD instead of liblinear (cost grows with n)
CHAR_MAX_RECORDS = 8_000  # character n-grams pay on small data of short texts ...
CHAR_MAX_MEAN_CHARS = 500  # ... (sentences, headlines, tweets), not on long documents
THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.025), 3)
SHRINK_PRIOR = 10  # pseudo-positives pulling a topic's threshold toward the global one
THRESHOLD_REPEATS = 3  # fold splits whose out-of-fold probabilities tune the thresholds
LIBLINEAR_MAX_ITER = 1000

Log = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass
class TrainOptions:
    C: float | None = None  # fixed C for topics and stance; None = choose by internal CV
    cv_folds: int = 3
    char_ngrams: bool | None = None  # None = auto: short texts and <= CHAR_MAX_RECORDS records
    seed: int = 0
    fast: bool = False  # no C search, 2-fold threshold tuning on a subsample
    max_cv_records: int = 5000
    jobs: int = 1
    lexicon: bool = True  # sentiment-lexicon features (see features.Features)


# ---------------------------------------------------------------- linear parts


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


@dataclass
class TopicModel:
    labels: list[str]
    coef: np.ndarray  # (views * L, V) float32: one block of L rows per view
    intercept: np.ndarray  # (views * L,)
    thresholds: np.ndarray  # (L,)
    min_topics: int = 0
    max_topics: int | None = None
    C: float = DEFAULT_C
    views: int = 1  # 2: a model on all n-grams and one on word n-grams only, averaged

    def proba(self, X: sp.csr_matrix) -> np.ndarray:
        return self.proba_of(np.asarray(X @ self.coef.T) + self.intercept)

    def proba_of(self, z: np.ndarray) -> np.ndarray:
        """Probabilities from linear scores (intercept included), averaged over the views."""
        p = _sigmoid(z)
        if self.views == 1:
            return p
        return p.reshape(len(p), self.views, len(self.labels)).mean(axis=1)

    def label_coef(self, j: int) -> np.ndarray:
        """Label ``j``'s weights, averaged over the views (for explanations)."""
        L = len(self.labels)
        return self.coef[j::L].mean(axis=0)

    def decide(self, P: np.ndarray) -> np.ndarray:
        return decide_topics(P, self.thresholds, self.min_topics, self.max_topics)


@dataclass
class StanceModel:
    labels: list[str]
    coef: np.ndarray  # (S, V)
    intercept: np.ndarray  # (S,)
    C: float = DEFAULT_STANCE_C
    class_weight: str | None = None

    def proba(self, X: sp.csr_matrix) -> np.ndarray:
        return self.proba_of(np.asarray(X @ self.coef.T) + self.intercept)

    @staticmethod
    def proba_of(z: np.ndarray) -> np.ndarray:
        """One-vs-rest logistic probabilities, normalised to sum to one."""
        p = _sigmoid(z)
        return p / p.sum(axis=1, keepdims=True)


@dataclass
class Model:
    features: Features
    topics: TopicModel | None
    stance: StanceModel | None
    info: dict = field(default_factory=dict)
    _scorer: _Scorer | None = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_scorer": None}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update({**state, "_scorer": None})

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        return self.features.transform(list(texts))

    def scores(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Linear scores (topics, stance), equal to ``X @ coef.T + intercept`` of each part.

        The fast path of tagging: the character n-gram part is never weighted into a matrix.
        With counts c_g and idf_g, its TF-IDF value is (1 + log c_g) idf_g / norm, and
        1 + log c = c - (c - 1 - log c), where the second term is zero unless c >= 2. So its
        score is (D @ S - R @ Wc) / norm: D counts each text's words, S holds each word's
        summed n-gram weights (computed once per word), and R has entries only for n-grams
        repeated within a text. That is a few words per text instead of a hundred n-grams.
        """
        if self._scorer is None:
            self._scorer = _Scorer(self)
        z = self._scorer(self.features.counts(list(texts)))
        k = self.topics.coef.shape[0] if self.topics is not None else 0
        return z[:, :k], z[:, k:]

    def explain(self, X_row: sp.csr_matrix, part: str, label: int, k: int = 3,
                text: str | None = None) -> list[str]:
        """The k features that push row ``X_row`` most toward ``label`` (weight x value).

        The lexicon features count as one reason per polarity, named by the sentence's words
        that carry it (from ``text``), e.g. "praised/successful (lexicon +)".
        """
        m = self.topics if part == "topics" else self.stance
        if m is None or X_row.nnz == 0:
            return []
        f = self.features
        weights = m.label_coef(label) if isinstance(m, TopicModel) else m.coef[label]
        contrib = X_row.data * weights[X_row.indices]
        names = [str(x) for x in f.names[X_row.indices]]
        first_lex = f.n_features - f.n_lexicon
        lexicon_reason = {}
        for sign in "+-" if f.n_lexicon else "":
            words = "/".join(f.lexicon_words(text or "", sign)[:3]) or "evaluative words"
            lexicon_reason[sign] = f"{words} (lexicon {sign})"
        merged: dict[str, float] = {}
        for name, col, c in zip(names, X_row.indices.tolist(), contrib.tolist(), strict=True):
            if col >= first_lex:  # columns: +sum, -sum, +any, -any
                name = lexicon_reason["+" if (col - first_lex) % 2 == 0 else "-"]
            merged[name] = merged.get(name, 0.0) + c
        best = sorted(merged.items(), key=lambda kv: -kv[1])[:k]
        return [name for name, c in best if c > 0]


class _Scorer:
    """Linear scores straight from raw counts: see ``Model.scores``."""

    def __init__(self, model: Model) -> None:
        f = self.features = model.features
        parts = [m for m in (model.topics, model.stance) if m is not None]
        coef = np.vstack([m.coef for m in parts]).T.astype(np.float32)  # (V, K)
        nw = len(f.word_vocab)
        nc = len(f.char_vocab) if f.use_char else 0
        self.word = np.ascontiguousarray(coef[:nw])
        self.char = np.ascontiguousarray(coef[nw:nw + nc] * f.char_idf[:, None])
        self.lex = np.ascontiguousarray(coef[nw + nc:])
        self.bias = np.concatenate([m.intercept for m in parts])
        # per row of tables.chars: the word's summed n-gram weights S, and q (last column)
        self.per_word = np.zeros((0, coef.shape[1] + 1), np.float32)
        self.generation = -1

    def __call__(self, c: Counts) -> np.ndarray:
        f = self.features
        z = np.asarray(_tfidf(c.W, f.word_idf) @ self.word, dtype=np.float64)
        if c.C is not None and c.D is not None:
            z += self._char_part(c)
        if c.lex is not None:
            z += c.lex @ self.lex
        return z + self.bias

    def _char_part(self, c: Counts) -> np.ndarray:
        """(D @ S - R @ Wc) / norm, where the squared norm, sum of ((1 + log c) idf)^2, is
        likewise D @ q (q: each word's sum of c idf^2) plus a correction for repeats."""
        idf = self.features.char_idf
        tab = c.tables
        if self.generation != tab.generation:  # appended words were dropped
            self.per_word = self.per_word[:tab.base]
            self.generation = tab.generation
        have = self.per_word.shape[0]
        if have < tab.chars.shape[0]:
            new = tab.chars[have:]
            self.per_word = np.vstack([self.per_word, np.column_stack([
                np.asarray(new @ self.char), np.asarray(new @ (idf.astype(np.float64) ** 2))
            ]).astype(np.float32)])
        k = self.per_word.shape[1] - 1
        both = np.asarray(c.D @ self.per_word, dtype=np.float64)
        raw, sq = both[:, :k], both[:, k]
        C = c.C
        assert C is not None
        n = C.shape[0]
        rep = np.flatnonzero(C.data > 1)
        if len(rep):
            cnt = C.data[rep].astype(np.float64)
            tf = 1.0 + np.log(cnt)
            cols = C.indices[rep]
            rows = np.searchsorted(C.indptr, rep, side="right") - 1
            sq += np.bincount(rows, (tf * tf - cnt) * idf[cols].astype(np.float64) ** 2,
                              minlength=n)
            R = sp.csr_matrix((cnt - tf, cols, np.concatenate(
                [[0], np.cumsum(np.bincount(rows, minlength=n))])), shape=C.shape)
            raw -= R @ self.char
        norm = np.sqrt(np.maximum(sq, 0.0))
        norm[norm < 1e-12] = 1.0
        return raw / norm[:, None]


def decide_topics(P: np.ndarray, thresholds: np.ndarray, min_topics: int,
                  max_topics: int | None) -> np.ndarray:
    """Boolean (n, L) decisions from probabilities, thresholds and the cardinality rule."""
    if max_topics == 1:
        out = np.zeros_like(P, dtype=bool)
        if P.shape[1]:
            out[np.arange(len(P)), np.argmax(P / thresholds, axis=1)] = True
        return out
    out = thresholds <= P
    if min_topics and P.shape[1]:
        empty = ~out.any(axis=1)
        if empty.any():
            best = np.argmax(P[empty] / thresholds, axis=1)
            out[np.flatnonzero(empty), best] = True
    return out


@dataclass
class _Fit:
    """One binary fit: weights, intercept, and what it fell back on."""

    coef: np.ndarray
    intercept: float
    constant: int = 0  # -1: no positives, 1: all positive (a constant model), 0: fitted
    unconverged: bool = False
    warnings: tuple[str, ...] = ()  # other solver warnings (one line each)


@dataclass
class FitLog:
    """Tallies the binary fits of one part (topics or stance), stage by stage, so what they
    fell back on is reported once per part instead of once per fit (or not at all)."""

    part: str
    solver: str = "liblinear"
    stage: str = "final model"  # set by the caller before each group of fits
    fits: dict[str, int] = field(default_factory=dict)  # stage -> fits
    unconverged: dict[str, int] = field(default_factory=dict)  # stage -> fits not converged
    constant: dict[str, dict[str, int]] = field(default_factory=dict)  # stage -> label -> +-1
    other: dict[str, int] = field(default_factory=dict)  # other solver warning -> count

    def add(self, label: str, fit: _Fit) -> None:
        self.fits[self.stage] = self.fits.get(self.stage, 0) + 1
        if fit.unconverged:
            self.unconverged[self.stage] = self.unconverged.get(self.stage, 0) + 1
        if fit.constant:
            self.constant.setdefault(self.stage, {})[label] = fit.constant
        for w in fit.warnings:
            self.other[w] = self.other.get(w, 0) + 1

    def lines(self) -> list[str]:
        """One line per kind of fallback; empty when every fit went as planned."""
        out = []
        final = self.constant.get("final model", {})
        for label, kind in final.items():
            out.append(f"{self.part}: {label!r} is in "
                       + ("no training record: a constant model never predicts it"
                          if kind < 0 else "every training record: it is always predicted"))
        in_cv = sorted({lab for stage, labs in self.constant.items() if stage != "final model"
                        for lab in labs} - set(final))
        if in_cv:
            names = ", ".join(map(repr, in_cv[:5])) + (f" (+{len(in_cv) - 5} more)"
                                                       if len(in_cv) > 5 else "")
            out.append(f"{self.part}: {names} lack positives (or negatives) in the training part "
                       "of some internal CV folds: a constant model scores those folds")
        bad = sum(self.unconverged.values())
        if bad:
            where = "; ".join(f"{stage}: {n} of {self.fits[stage]}"
                              for stage, n in self.unconverged.items())
            out.append(f"{self.part}: {self.solver} did not converge in {bad} of "
                       f"{sum(self.fits.values())} fits ({where}); results may be slightly off")
        for msg, n in self.other.items():
            out.append(f"{self.part}: solver warning in {n} fit(s): {msg}")
        return out


_REEMITTED: dict = {}  # warnings registry: a re-emitted warning shows once, as Python's would


def _caught(caught: list[warnings.WarningMessage]) -> tuple[bool, tuple[str, ...]]:
    """(any ConvergenceWarning, other UserWarnings as one-line texts) of a fit; warnings of
    other categories (deprecations) are passed on as usual."""
    from sklearn.exceptions import ConvergenceWarning

    unconverged, other = False, []
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            unconverged = True
        elif issubclass(w.category, UserWarning):
            text = " ".join(str(w.message).split())
            if text not in other:
                other.append(text)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno,
                                   registry=_REEMITTED)
    return unconverged, tuple(other)


def _fit_binary(X: sp.csr_matrix, y: np.ndarray, C: float, seed: int,
                class_weight: str | None = None, sgd: bool = False) -> _Fit:
    """L2 logistic regression; liblinear, or averaged SGD on the same objective for big data.

    Solver warnings are caught and returned with the fit (it may run in a worker process),
    for ``FitLog`` to report."""
    pos = int(y.sum())
    if pos == 0 or pos == len(y):  # nothing to separate: constant log-odds
        p = (pos + 0.5) / (len(y) + 1.0)
        return _Fit(np.zeros(X.shape[1], dtype=np.float32), math.log(p / (1 - p)),
                    constant=-1 if pos == 0 else 1)
    if sgd:
        from sklearn.linear_model import SGDClassifier

        # C * sum(loss) + |w|^2 / 2  ==  n * C * (mean(loss) + alpha * |w|^2 / 2), alpha = 1/(nC)
        m = SGDClassifier(loss="log_loss", alpha=1.0 / (C * X.shape[0]), max_iter=5, tol=None,
                          average=True, class_weight=class_weight, random_state=seed)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", category=UserWarning)
            m.fit(X, y)
        unconverged, other = _caught(caught)
        return _Fit(m.coef_[0].astype(np.float32), float(m.intercept_[0]),
                    unconverged=unconverged, warnings=other)
    from sklearn.linear_model import LogisticRegression

    # The dual problem is much faster when features outnumber records (typical for text).
    lr = LogisticRegression(C=C, solver="liblinear", dual=X.shape[1] > X.shape[0], tol=1e-3,
                            class_weight=class_weight, random_state=seed,
                            max_iter=LIBLINEAR_MAX_ITER)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", category=UserWarning)  # ConvergenceWarning included
        lr.fit(X, y)
    unconverged, other = _caught(caught)
    return _Fit(lr.coef_[0].astype(np.float32), float(lr.intercept_[0]),
                unconverged=unconverged, warnings=other)


def fit_topics(X: sp.csr_matrix, Y: np.ndarray, labels: list[str], C: float, seed: int,
               jobs: int, sgd: bool = False, fitlog: FitLog | None = None) -> TopicModel:
    from joblib import Parallel, delayed

    res = Parallel(n_jobs=jobs)(
        delayed(_fit_binary)(X, Y[:, j], C, seed, None, sgd) for j in range(Y.shape[1]))
    if fitlog is not None:
        for label, r in zip(labels, res, strict=True):
            fitlog.add(label, r)
    coef = np.vstack([r.coef for r in res]) if res else np.zeros((0, X.shape[1]), np.float32)
    return TopicModel(labels=list(labels), coef=coef,
                      intercept=np.array([r.intercept for r in res], dtype=np.float64),
                      thresholds=np.full(len(labels), 0.5), C=C)


def fit_topic_views(X: sp.csr_matrix, Y: np.ndarray, labels: list[str], C: float, seed: int,
                    jobs: int, sgd: bool, word_cols: int | None, width: int,
                    fitlog: FitLog | None = None) -> TopicModel:
    """The topic model on all columns of ``X``, plus, when ``word_cols`` is given, a second one
    on the word n-gram columns only; coefficients padded with zeros to ``width`` columns.

    The two views err differently (character n-grams catch unseen word forms but also fire
    on look-alikes such as "hijacked" computers or "drug" makers), so their averaged
    probability is steadier than either, which is what per-topic thresholds of multi-label
    data need."""
    def padded(m: TopicModel) -> TopicModel:
        m.coef = np.hstack([m.coef, np.zeros((len(m.coef), width - m.coef.shape[1]),
                                             np.float32)])
        return m

    full = padded(fit_topics(X, Y, labels, C, seed, jobs, sgd, fitlog))
    if word_cols is None:
        return full
    words = padded(fit_topics(X[:, :word_cols], Y, labels, C, seed, jobs, sgd, fitlog))
    full.coef = np.vstack([full.coef, words.coef])
    full.intercept = np.concatenate([full.intercept, words.intercept])
    full.views = 2
    return full


def fit_stance(X: sp.csr_matrix, y: np.ndarray, labels: list[str], C: float,
               class_weight: str | None, seed: int, sgd: bool = False,
               fitlog: FitLog | None = None) -> StanceModel:
    # One-vs-rest liblinear (dual when features outnumber records): an order of magnitude
    # faster than multinomial lbfgs on sparse text; probabilities are normalised over classes.
    fits = [_fit_binary(X, (y == k).astype(int), C, seed, class_weight, sgd)
            for k in range(len(labels))]
    if fitlog is not None:
        for label, f in zip(labels, fits, strict=True):
            fitlog.add(label, f)
    coef = np.vstack([f.coef for f in fits])
    intercept = np.array([f.intercept for f in fits])
    return StanceModel(labels=list(labels), coef=coef, intercept=intercept, C=C,
                       class_weight=class_weight)


# ---------------------------------------------------------------- metrics


def f1_scores(Y: np.ndarray, pred: np.ndarray) -> tuple[float, float, np.ndarray]:
    """micro-F1, macro-F1 and per-label F1 for boolean (n, L) arrays."""
    tp = (Y & pred).sum(0).astype(float)
    fp = (~Y & pred).sum(0).astype(float)
    fn = (Y & ~pred).sum(0).astype(float)
    denom = 2 * tp + fp + fn
    per = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    d = 2 * tp.sum() + fp.sum() + fn.sum()
    micro = float(2 * tp.sum() / d) if d else 0.0
    # A label with no gold and no predicted positives is perfect, not zero.
    per = np.where(denom == 0, 1.0, per)
    return micro, float(per.mean()) if len(per) else 0.0, per


def tune_thresholds(P: np.ndarray, Y: np.ndarray, min_topics: int,
                    max_topics: int | None) -> np.ndarray:
    """Per-label thresholds from out-of-fold probabilities, shrunk toward a global one."""
    L = P.shape[1]
    if max_topics == 1 or L == 0:
        return np.full(L, 0.5)  # top-1 decisions: thresholds only break ties
    scores = []
    per_label = []
    for t in THRESHOLD_GRID:
        pred = decide_topics(P, np.full(L, t), min_topics, max_topics)
        micro, _, per = f1_scores(Y, pred)
        scores.append(micro)
        per_label.append(per)
    t_global = float(THRESHOLD_GRID[int(np.argmax(scores))])
    per_label_arr = np.array(per_label)  # (T, L)
    n_pos = Y.sum(0)
    out = np.empty(L)
    for j in range(L):
        col = per_label_arr[:, j]
        best = np.flatnonzero(col >= col.max() - 1e-9)
        # among ties take the threshold closest to the global one
        t_best = float(THRESHOLD_GRID[best[np.argmin(np.abs(THRESHOLD_GRID[best] - t_global))]])
        out[j] = (n_pos[j] * t_best + SHRINK_PRIOR * t_global) / (n_pos[j] + SHRINK_PRIOR)
    return out


def stance_macro_f1(y: np.ndarray, pred: np.ndarray, n_classes: int) -> float:
    Y = np.eye(n_classes, dtype=bool)[y]
    Pd = np.eye(n_classes, dtype=bool)[pred]
    return f1_scores(Y, Pd)[1]


# ---------------------------------------------------------------- training


def topic_matrix(records: Sequence[Record], labels: Sequence[str]) -> np.ndarray:
    index = {t: j for j, t in enumerate(labels)}
    Y = np.zeros((len(records), len(labels)), dtype=bool)
    for i, r in enumerate(records):
        for t in r.topics or ():
            Y[i, index[t]] = True
    return Y


def _cv_subset(records: Sequence[Record], opts: TrainOptions) -> np.ndarray:
    idx = np.arange(len(records))
    limit = opts.max_cv_records if not opts.fast else min(opts.max_cv_records, 2000)
    if len(idx) > limit:
        idx = np.sort(np.random.default_rng(opts.seed).permutation(idx)[:limit])
    return idx


def _folds(records: Sequence[Record], topics: Sequence[str], stances: Sequence[str],
           opts: TrainOptions, note: Log, part: str, untuned: str
           ) -> list[tuple[np.ndarray, np.ndarray]]:
    """The internal CV folds of ``part``; each fallback is one ``note`` (``untuned`` says what
    is used when there are no folds)."""
    from .splits import grouped_folds, n_sources

    wanted = 2 if opts.fast else opts.cv_folds
    sources = n_sources(records)
    k = min(wanted, sources)
    if k < 2:
        note(f"{part}: too few sources for internal cross-validation ({sources}; it needs 2): "
             f"{untuned}")
        return []
    if k < wanted:
        note(f"{part}: internal cross-validation uses {k} folds instead of {wanted}: the data "
             f"has only {sources} sources")
    try:
        folds = grouped_folds(records, topics, stances, k, opts.seed,
                              warn=lambda m: note(f"{part}: internal CV: {m}"))
    except DataError as e:
        note(f"{part}: no internal cross-validation ({e}): {untuned}")
        return []
    if not folds:
        note(f"{part}: no usable internal CV fold: {untuned}")
    return folds


def _warn_to(log: Log) -> Log:
    return lambda msg: log(f"warning: {msg}")


def train_topics(X: sp.csr_matrix, records: Sequence[Record], labels: list[str],
                 opts: TrainOptions, log: Log, word_cols: int | None = None,
                 width: int | None = None, note: Log | None = None
                 ) -> tuple[TopicModel, dict]:
    """``note`` gets one line per fallback (default: ``log`` as a warning)."""
    note = note or _warn_to(log)
    Y = topic_matrix(records, labels)
    sgd = len(records) > SGD_MIN_RECORDS
    counts = Y.sum(1)
    min_topics = 1 if counts.min() >= 1 else 0
    max_topics = 1 if counts.max() == 1 and counts.min() == 1 else None
    if max_topics == 1:
        # Single-label data is decided by the top label, not thresholds: the word-only view
        # only dilutes that ranking (it cost 0.006-0.02 F1 on two public single-label sets).
        word_cols = None
    sub = _cv_subset(records, opts)
    sub_records = [records[i] for i in sub]
    grid = [opts.C] if opts.C is not None else ([DEFAULT_C] if opts.fast else TOPIC_C_GRID)
    folds = _folds(sub_records, labels, [], opts, note, "topics",
                   f"C={opts.C or DEFAULT_C:g} and thresholds 0.5 are used untuned")
    fitlog = FitLog("topics", "SGD" if sgd else "liblinear")
    best: tuple[float, float, np.ndarray, dict, np.ndarray] | None = None
    Xs, Ys = X[sub], Y[sub]

    width = width or X.shape[1]

    def fit(Xf: sp.csr_matrix, Yf: np.ndarray, C: float) -> TopicModel:
        return fit_topic_views(Xf, Yf, labels, C, opts.seed, opts.jobs, sgd, word_cols,
                               X.shape[1], fitlog)

    def out_of_fold(C: float, splits: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        P = np.zeros(Ys.shape)
        for tr, te in splits:
            P[te] = fit(Xs[tr], Ys[tr], C).proba(Xs[te])
        return P

    for C in grid if folds else []:
        fitlog.stage = f"internal CV C={C:g}"
        P = out_of_fold(C, folds)
        th = tune_thresholds(P, Ys, min_topics, max_topics)
        micro, macro, _ = f1_scores(Ys, decide_topics(P, th, min_topics, max_topics))
        score = (micro + macro) / 2
        log(f"  topics C={C:g}: internal CV micro-F1 {micro:.3f} macro-F1 {macro:.3f}")
        if best is None or score > best[0] + 1e-9:
            best = (score, C, th, {"micro_f1": micro, "macro_f1": macro}, P)
    if best is None:
        C, th, cv = (opts.C or DEFAULT_C), np.full(len(labels), 0.5), {}
    else:
        _, C, th, cv, P = best
        if not opts.fast and THRESHOLD_REPEATS > 1 and max_topics != 1:  # 1: top-1 decides
            # Thresholds from one fold split swing with it (+-0.05 on a topic was seen):
            # tune them on the out-of-fold probabilities of several splits, stacked.
            from .splits import grouped_folds

            stacked = [P]
            fitlog.stage = "threshold splits"
            for r in range(1, THRESHOLD_REPEATS):
                split = grouped_folds(
                    sub_records, labels, [], len(folds), opts.seed + r,
                    warn=lambda m, r=r: note(f"topics: threshold split {r + 1}: {m}"))
                if split:
                    stacked.append(out_of_fold(C, split))
            Pr, Yr = np.vstack(stacked), np.vstack([Ys] * len(stacked))
            th = tune_thresholds(Pr, Yr, min_topics, max_topics)
            micro, macro, _ = f1_scores(Yr, decide_topics(Pr, th, min_topics, max_topics))
            cv = {"micro_f1": micro, "macro_f1": macro, "threshold_splits": len(stacked)}
    fitlog.stage = "final model"
    model = fit_topic_views(X, Y, labels, C, opts.seed, opts.jobs, sgd, word_cols, width,
                            fitlog)
    model.thresholds, model.min_topics, model.max_topics = th, min_topics, max_topics
    for line in fitlog.lines():
        note(line)
    return model, {"C": C, **cv, "folds": len(folds), "cv_records": int(len(sub)),
                   "views": model.views}


def train_stance(X: sp.csr_matrix, records: Sequence[Record], labels: list[str],
                 opts: TrainOptions, log: Log, note: Log | None = None
                 ) -> tuple[StanceModel, dict]:
    """``note`` gets one line per fallback (default: ``log`` as a warning)."""
    note = note or _warn_to(log)
    index = {s: i for i, s in enumerate(labels)}
    sgd = len(records) > SGD_MIN_RECORDS
    y = np.array([index[r.stance] for r in records])
    present = sorted(set(y.tolist()))
    if len(present) < 2:
        raise DataError(f"stance needs at least two classes in the data, found only "
                        f"{labels[present[0]]!r}")
    labels = [labels[i] for i in present]  # schema classes absent from the data are dropped
    remap = {old: new for new, old in enumerate(present)}
    y = np.array([remap[v] for v in y])
    sub = _cv_subset(records, opts)
    untuned = f"C={opts.C or DEFAULT_STANCE_C:g} and class_weight=balanced are used untuned"
    folds = _folds([records[i] for i in sub], [], labels, opts, note, "stance", untuned)
    Cs = [opts.C] if opts.C is not None else ([DEFAULT_STANCE_C] if opts.fast else STANCE_C_GRID)
    best: tuple[float, float, str | None] | None = None
    Xs, ys = X[sub], y[sub]
    fitlog = FitLog("stance", "SGD" if sgd else "liblinear")
    # A fold whose training part lacks a class cannot be scored fairly (its rows of that class
    # can never be right): it is left out, and its rows with it, rather than scored as class 0.
    usable, scored = [], np.zeros(len(ys), dtype=bool)
    for i, (tr, te) in enumerate(folds, 1):
        missing = [labels[c] for c in range(len(labels)) if not np.any(ys[tr] == c)]
        if missing:
            note(f"stance: internal CV fold {i} of {len(folds)} lacks class "
                 f"{', '.join(map(repr, missing))} in its training part; its {len(te)} rows are "
                 "left out of the choice of C and class weight")
        else:
            usable.append((tr, te))
            scored[te] = True
    if folds and not usable:
        note(f"stance: no internal CV fold has every class to train on: {untuned}")
    for C in Cs if usable else []:
        for cw in (None, "balanced"):
            fitlog.stage = f"internal CV C={C:g} class_weight={cw}"
            pred = np.zeros(len(ys), dtype=int)
            for tr, te in usable:
                m = fit_stance(Xs[tr], ys[tr], labels, C, cw, opts.seed, sgd, fitlog)
                pred[te] = np.argmax(m.proba(Xs[te]), axis=1)
            f1 = stance_macro_f1(ys[scored], pred[scored], len(labels))
            log(f"  stance C={C:g} class_weight={cw}: internal CV macro-F1 {f1:.3f}")
            if best is None or f1 > best[0] + 1e-9:
                best = (f1, C, cw)
    if best is None:
        f1, C, cw = float("nan"), (opts.C or DEFAULT_STANCE_C), "balanced"
    else:
        f1, C, cw = best
    fitlog.stage = "final model"
    model = fit_stance(X, y, labels, C, cw, opts.seed, sgd, fitlog)
    for line in fitlog.lines():
        note(line)
    cv = {"macro_f1": f1} if best is not None else {}
    return model, {"C": C, "class_weight": cw, **cv, "folds": len(folds)}


def train_model(records: Sequence[Record], topic_labels: list[str], stance_labels: list[str],
                opts: TrainOptions | None = None, log: Log = _quiet) -> Model:
    """Fit features, the topic part (if the data has topics) and the stance part (if stance).

    ``info["fallbacks"]`` lists, one line each, everything training fell back on; each line is
    also logged as "warning: ..."."""
    opts = opts or TrainOptions()
    topic_recs = [r for r in records if r.topics is not None] if topic_labels else []
    stance_recs = [r for r in records if r.stance is not None] if stance_labels else []
    if not topic_recs and not stance_recs:
        raise DataError("no labelled records to train on: every record lacks topics and stance")
    char = opts.char_ngrams
    if char is None:
        mean_chars = sum(len(r.text) for r in records) / len(records)
        char = len(records) <= CHAR_MAX_RECORDS and mean_chars <= CHAR_MAX_MEAN_CHARS
    features = Features(char, min_df=2 if len(records) >= 2000 else 1,
                        lexicon=sentiment_lexicon() if opts.lexicon else None)
    X = features.fit_transform([r.text for r in records])
    log(f"features: {X.shape[1]:,} n-grams ({'words and characters' if char else 'words'}) "
        f"from {len(records):,} records"
        + ("; averaged SGD solver (large data)" if len(records) > SGD_MIN_RECORDS else ""))
    row = {id(r): i for i, r in enumerate(records)}
    fallbacks: list[str] = []

    def note(msg: str) -> None:
        fallbacks.append(msg)
        log(f"warning: {msg}")

    info: dict = {}
    topics = stance = None
    if topic_recs:
        # Topics see the n-grams only: the lexicon features are for stance, and as weak
        # topic cues ("has a negative word") they only add false positives.
        # With character n-grams, a second topic model sees the word n-grams only.
        n_grams = X.shape[1] - features.n_lexicon
        Xt = X[[row[id(r)] for r in topic_recs]][:, :n_grams]
        topics, info["topics"] = train_topics(
            Xt, topic_recs, topic_labels, opts, log,
            word_cols=len(features.word_vocab) if char else None, width=X.shape[1],
            note=note)
    if stance_recs:
        Xs = X[[row[id(r)] for r in stance_recs]]
        stance, info["stance"] = train_stance(Xs, stance_recs, stance_labels, opts, log, note)
    info["features"] = {"char_ngrams": char, "lexicon": opts.lexicon,
                        "n_features": int(X.shape[1]),
                        "solver": "sgd" if len(records) > SGD_MIN_RECORDS else "liblinear"}
    info["fallbacks"] = fallbacks
    return Model(features=features, topics=topics, stance=stance, info=info)
