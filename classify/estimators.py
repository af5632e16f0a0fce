"""The scikit-learn-shaped core: a text vectorizer and the topic and stance classifiers.

- ``TextVectorizer``: word n-gram TF-IDF (1-grams or 1-2-grams), optionally character 2-5-grams
  of words and four sentiment-lexicon features. Vocabularies and idf are fitted by
  scikit-learn's ``TfidfVectorizer`` (``vocabulary_``, ``idf_`` are its own); the batch
  transform is classify's fast one (``features.Features``), which gives the same matrix.
- ``TopicClassifier`` (multi-label): one binary linear model per label (L2 logistic regression
  or linear SVM), per-label thresholds tuned on internal out-of-fold scores
  (``classify.thresholds``), and a cardinality rule.
- ``StanceClassifier`` (multi-class): one-vs-rest logistic regression, probabilities
  normalised over the classes.

Both classifiers take raw texts, keep every hyper-parameter in ``__init__`` and work with
``clone``, ``Pipeline``, ``cross_val_score`` and ``GridSearchCV`` (give the topic classifier
its labels as an indicator matrix there, e.g. from ``MultiLabelBinarizer``: scikit-learn's
model selection refuses lists of label lists). A fitted ``TextVectorizer`` passed as
``vectorizer`` is used as it is, the very object (so topics and stance can share one and
tagging tokenises once: refit it and the classifiers change with it); an unfitted one is cloned
and fitted on the training texts, and ``clone`` of a classifier always gives an unfitted one,
so cross-validation refits the vocabulary per fold.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial, wraps

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from . import interrupts, thresholds
from .errors import worker_lost
from .features import Features, char_ngrams, sentiment_lexicon, tokenize, word_ngrams
from .model import finite_number, stance_proba, topic_proba, whole_number

LIBLINEAR_MAX_ITER = 1000
SGD_MIN_RECORDS = 20_000  # above this, averaged SGD instead of liblinear (cost grows with n)
LOSSES = ("log", "hinge")


def _texts(X: object) -> list[str]:
    """Raw texts from a list, tuple, 1-D array, Series or other iterable of strings."""
    if isinstance(X, str):
        raise ValueError("expected an iterable of texts, got a single string")
    if X is None or isinstance(X, dict | set | frozenset) or not (
            hasattr(X, "__iter__") or hasattr(X, "__array__")):  # no order, or no texts
        raise ValueError(f"expected a sequence of texts (a list, say), got "
                         f"{type(X).__name__}")
    if sp.issparse(X):
        raise ValueError("expected raw texts, got a sparse matrix: classify's estimators "
                         "vectorize their texts themselves (put no vectorizer before them)")
    if not hasattr(X, "__len__") and not hasattr(X, "__array__"):
        X = list(X)  # type: ignore[call-overload]  # a generator or other iterable
    arr = np.asarray(X, dtype=object)
    if arr.ndim == 2 and arr.shape[1] == 1:  # one text column (e.g. from a ColumnTransformer)
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"expected a 1-D sequence of texts, got shape {arr.shape}")
    out = arr.tolist()
    for x in out:
        if not isinstance(x, str):
            raise ValueError("expected texts (str), got "
                             + ("None (a missing text)" if x is None else type(x).__name__))
    return out


def _all_or_nothing(fit):
    """``fit`` that leaves the estimator as it was when it raises: a refit refused (or
    interrupted) half way must not leave the classes of one fit beside the weights of another."""
    @wraps(fit)
    def wrapper(self, *args, **kwargs):
        saved = dict(self.__dict__)
        try:
            return fit(self, *args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise
    return wrapper


def _missing(v: object) -> bool:
    """None, NaN (also numpy's) or pandas' NA: a label nobody gave."""
    return v is None or type(v).__name__ == "NAType" or (
        isinstance(v, numbers.Real) and not isinstance(v, numbers.Integral) and math.isnan(v))


def _check_flags(est: object, *names: str) -> None:
    """A ValueError for the first of ``names`` that is not True or False ("no" would be
    taken as True without a word)."""
    for name in names:
        if not isinstance(getattr(est, name), (bool, np.bool_)):
            raise ValueError(f"{name} must be True or False, got {getattr(est, name)!r}")


def _check_random_state(random_state: object) -> None:
    """As scikit-learn takes it: None, a ``RandomState`` or an int in [0, 2**32 - 1]."""
    if random_state is None or isinstance(random_state, np.random.RandomState):
        return
    if not whole_number(random_state) or not 0 <= random_state < 2 ** 32:  # type: ignore[operator]
        raise ValueError(f"random_state must be None, a RandomState or an integer in "
                         f"[0, 2**32 - 1], got {random_state!r}")


def _check_vectorizer(vectorizer: object) -> None:
    if vectorizer is not None and not isinstance(vectorizer, TextVectorizer):
        raise ValueError(f"vectorizer must be None or a classify TextVectorizer (the models "
                         f"score its word and character parts apart), got "
                         f"{type(vectorizer).__name__}")


# ---------------------------------------------------------------- vectorizer


def _words_1(text: str, abbreviations: bool = False) -> list[str]:
    return tokenize(text, abbreviations)


def _words_12(text: str, abbreviations: bool = False) -> list[str]:
    return word_ngrams(tokenize(text, abbreviations))


_CHAR_CACHE: dict[str, list[str]] = {}


def _chars(text: str, abbreviations: bool = False) -> list[str]:
    out: list[str] = []
    for w in tokenize(text, abbreviations):
        grams = _CHAR_CACHE.get(w)
        if grams is None:
            grams = char_ngrams(w)
            if len(_CHAR_CACHE) < 200_000:
                _CHAR_CACHE[w] = grams
        out.extend(grams)
    return out


class TextVectorizer(TransformerMixin, BaseEstimator):
    """TF-IDF features of raw texts (sublinear tf, smoothed idf, L2 norm per part).

    ``ngram_range``: (1, 1) word unigrams or (1, 2) unigrams and bigrams. ``char_ngrams``: add
    character 2-5-grams of words (they carry over to unseen word forms). ``lexicon``: add four
    sentiment-lexicon features (summed positive and negative VADER valence, and whether any).
    ``abbreviations``: write dotted abbreviations as one word before tokenising (F.A.A. ->
    faa, as copy that writes FAA has it); models saved before the option read False.
    ``min_df``, ``max_df``, ``max_features`` and ``max_char_features`` are
    ``TfidfVectorizer``'s (invalid values raise its ``InvalidParameterError``); where
    ``min_df`` and ``max_df`` would leave no term at all, the vocabulary is built without them.
    """

    def __init__(self, ngram_range: tuple[int, int] = (1, 2), char_ngrams: bool = False,
                 lexicon: bool = False, min_df: int = 1, max_df: float = 0.9,
                 max_features: int = 400_000, max_char_features: int = 300_000,
                 abbreviations: bool = True) -> None:
        self.ngram_range = ngram_range
        self.char_ngrams = char_ngrams
        self.lexicon = lexicon
        self.abbreviations = abbreviations
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features
        self.max_char_features = max_char_features

    @_all_or_nothing
    def fit(self, X: Iterable[str], y: object = None) -> TextVectorizer:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.utils._param_validation import InvalidParameterError

        texts = _texts(X)
        try:
            ngrams = tuple(self.ngram_range)
        except TypeError:
            ngrams = None
        if ngrams not in ((1, 1), (1, 2)):
            raise ValueError(f"ngram_range must be (1, 1) or (1, 2), got {self.ngram_range!r}")
        _check_flags(self, "char_ngrams", "lexicon", "abbreviations")
        max_df = self.max_df if len(texts) >= 10 else 1.0

        def fitted(analyzer, max_features):
            v = TfidfVectorizer(analyzer=analyzer, min_df=self.min_df, max_df=max_df,
                                max_features=max_features, sublinear_tf=True,
                                dtype=np.float32)
            try:
                return v.fit(texts)
            except InvalidParameterError:  # e.g. max_features=0: the user's to mend
                raise
            except ValueError:  # no term left (empty texts, or pruned by min_df/max_df)
                v = TfidfVectorizer(analyzer=analyzer, sublinear_tf=True, dtype=np.float32)
                try:
                    return v.fit(texts)
                except ValueError:
                    raise ValueError("the texts hold no words to build features from"
                                     ) from None

        abbr = bool(self.abbreviations)
        words = fitted(partial(_words_12 if tuple(self.ngram_range) == (1, 2) else _words_1,
                               abbreviations=abbr), self.max_features)
        f = Features(bool(self.char_ngrams), lexicon=sentiment_lexicon() if self.lexicon
                     else None, abbreviations=abbr)
        f.word_vocab = {str(k): int(v) for k, v in words.vocabulary_.items()}
        f.word_idf = words.idf_.astype(np.float32)
        interrupts.checkpoint("mid-fit")
        if self.char_ngrams:
            chars = fitted(partial(_chars, abbreviations=abbr), self.max_char_features)
            f.char_vocab = {str(k): int(v) for k, v in chars.vocabulary_.items()}
            f.char_idf = chars.idf_.astype(np.float32)
        self.vocabulary_ = f.word_vocab
        self.idf_ = f.word_idf
        self.features_ = f
        return self

    def transform(self, X: Iterable[str]) -> sp.csr_matrix:
        check_is_fitted(self, "features_")
        return self.features_.transform(_texts(X))

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        check_is_fitted(self, "features_")
        return np.asarray(self.features_.names, dtype=object)

    @property
    def n_ngram_columns(self) -> int:
        """Columns before the lexicon features (the word and character n-grams)."""
        check_is_fitted(self, "features_")
        return self.features_.n_features - self.features_.n_lexicon

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        return tags


def seed_of(random_state: int | np.random.RandomState | None) -> int:
    """An int seed from ``random_state`` as scikit-learn takes it: an int is used as it is
    (the same seed, the same model); None or a ``RandomState`` draws one."""
    if isinstance(random_state, numbers.Integral):
        return int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def _fitted_vectorizer(vectorizer: TextVectorizer | None, texts: list[str],
                       default: TextVectorizer) -> TextVectorizer:
    if vectorizer is not None and hasattr(vectorizer, "features_"):
        return vectorizer  # fitted already: shared, used as it is
    return clone(vectorizer if vectorizer is not None else default).fit(texts)


# ---------------------------------------------------------------- linear models


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
                class_weight: str | None = None, sgd: bool = False, loss: str = "log",
                sample_weight: np.ndarray | None = None) -> _Fit:
    """L2 logistic regression; liblinear, or averaged SGD on the same objective for big data.
    ``sample_weight`` scales each record's loss (liblinear: its C); None is weight 1 each.

    Solver warnings are caught and returned with the fit (it may run in a worker process),
    for ``FitLog`` to report."""
    interrupts.checkpoint("label-fit")  # in a worker process with --jobs N (else in this one)
    pos = int(y.sum())
    if pos == 0 or pos == len(y):  # nothing to separate: constant log-odds
        if sample_weight is None:
            p = (pos + 0.5) / (len(y) + 1.0)
        else:
            p = (float(sample_weight[y.astype(bool)].sum()) + 0.5) / (
                float(sample_weight.sum()) + 1.0)
        return _Fit(np.zeros(X.shape[1], dtype=np.float32), math.log(p / (1 - p)),
                    constant=-1 if pos == 0 else 1)
    if loss == "hinge":
        from sklearn.svm import LinearSVC

        # dual coordinate descent: on sparse text it is far faster than the primal solver that
        # dual="auto" picks when records outnumber features (0.3 s against 7 s a label on
        # 100,000 headlines)
        svm = LinearSVC(C=C, class_weight=class_weight, random_state=seed, dual=True,
                        max_iter=LIBLINEAR_MAX_ITER)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", category=UserWarning)
            svm.fit(X, y, sample_weight=sample_weight)
        unconverged, other = _caught(caught)
        return _Fit(svm.coef_[0].astype(np.float32), float(svm.intercept_[0]),
                    unconverged=unconverged, warnings=other)
    if sgd:
        from sklearn.linear_model import SGDClassifier

        # C * sum(loss) + |w|^2 / 2  ==  n * C * (mean(loss) + alpha * |w|^2 / 2), alpha = 1/(nC)
        m = SGDClassifier(loss="log_loss", alpha=1.0 / (C * X.shape[0]), max_iter=5, tol=None,
                          average=True, class_weight=class_weight, random_state=seed)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", category=UserWarning)
            m.fit(X, y, sample_weight=sample_weight)
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
        lr.fit(X, y, sample_weight=sample_weight)
    unconverged, other = _caught(caught)
    return _Fit(lr.coef_[0].astype(np.float32), float(lr.intercept_[0]),
                unconverged=unconverged, warnings=other)


def fit_linear(X: sp.csr_matrix, Y: np.ndarray, labels: Sequence[str], loss: str, C: float,
               class_weight: str | None, seed: int, jobs: int | None = 1,
               fitlog: FitLog | None = None, sample_weight: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """One binary linear model per column of ``Y``: (coef (L, V) float32, intercept (L,)),
    each record's loss scaled by ``sample_weight`` (None: 1 each); ``jobs`` as scikit-learn's
    ``n_jobs`` (None: 1; -1: every core)."""
    if jobs is None or jobs < 0:
        from joblib import effective_n_jobs

        jobs = effective_n_jobs(jobs)
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    sgd = X.shape[0] > SGD_MIN_RECORDS
    if X.dtype != np.float64 or not X.has_canonical_format:
        # liblinear and SGD take float64 CSR with sorted indices: scikit-learn otherwise makes
        # that copy (and sorts it) once per fit, a quarter of a model search's time; here it is
        # made once for all the labels, and the solvers see the same numbers either way
        X = X.astype(np.float64)
        X.sum_duplicates()
    if jobs > 1 and Y.shape[1] > 1:
        from concurrent.futures.process import BrokenProcessPool

        from .tagging import usable_cores

        jobs = min(jobs, Y.shape[1], usable_cores())  # more processes would only wait

        from joblib import Parallel, delayed

        try:
            # processes, not threads: liblinear draws from C's global rand(), which threads
            # would interleave, and the same data and seed must give the same model
            res = Parallel(n_jobs=jobs)(
                delayed(_fit_binary)(X, Y[:, j], C, seed, class_weight, sgd, loss,
                                     sample_weight)
                for j in range(Y.shape[1]))
        except BrokenProcessPool:  # a worker killed, e.g. by the system for want of memory
            # (joblib's TerminatedWorkerError is one; so is a result lost mid-transfer)
            raise worker_lost("fitting per-label models") from None
        interrupts.checkpoint("mid-pool")  # the pool's workers are up, idle
    else:
        res = [_fit_binary(X, Y[:, j], C, seed, class_weight, sgd, loss, sample_weight)
               for j in range(Y.shape[1])]
    if fitlog is not None:
        for label, r in zip(labels, res, strict=True):
            fitlog.add(str(label), r)
    coef = np.vstack([r.coef for r in res]) if res else np.zeros((0, X.shape[1]), np.float32)
    return coef, np.array([r.intercept for r in res], dtype=np.float64)


def _pad(coef: np.ndarray, width: int) -> np.ndarray:
    return np.hstack([coef, np.zeros((len(coef), width - coef.shape[1]), np.float32)])


@dataclass
class TopicLinear:
    """The fitted linear part of a topic classifier over a vectorizer's columns: one block of
    L rows of weights per view, averaged in probability."""

    coef: np.ndarray  # (views * L, V)
    intercept: np.ndarray  # (views * L,)
    views: int = 1

    def proba_of(self, z: np.ndarray) -> np.ndarray:
        """Scores in [0, 1] from linear scores (intercept included), averaged over views."""
        return topic_proba(z, self.views)

    def proba(self, X: sp.csr_matrix) -> np.ndarray:
        return self.proba_of(np.asarray(X @ self.coef.T) + self.intercept)


def fit_topic_linear(X: sp.csr_matrix, Y: np.ndarray, labels: Sequence[str], loss: str,
                     C: float, class_weight: str | None, seed: int, ngram_cols: int,
                     word_cols: int | None, jobs: int | None = 1,
                     fitlog: FitLog | None = None,
                     sample_weight: np.ndarray | None = None) -> TopicLinear:
    """The topic weights on the n-gram columns of ``X`` (the first ``ngram_cols``; lexicon
    columns get zero weight), plus, when ``word_cols`` is given, a second view on the word
    n-gram columns only. The two views err differently (character n-grams catch unseen word
    forms but also fire on look-alikes), so their averaged score is steadier than either."""
    width = X.shape[1]
    coef, icpt = fit_linear(X[:, :ngram_cols], Y, labels, loss, C, class_weight, seed, jobs,
                            fitlog, sample_weight)
    coef = _pad(coef, width)
    if word_cols is None:
        return TopicLinear(coef, icpt)
    wcoef, wicpt = fit_linear(X[:, :word_cols], Y, labels, loss, C, class_weight, seed, jobs,
                              fitlog, sample_weight)
    return TopicLinear(np.vstack([coef, _pad(wcoef, width)]), np.concatenate([icpt, wicpt]),
                       views=2)


def label_indicator(Y: object, classes: Sequence[str] | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(classes, boolean indicator matrix) from a list of label lists or an indicator matrix
    (whose classes are 0..k-1 unless given). As in scikit-learn (``type_of_target``), nested
    lists of equal length (2 or more) holding only 0 and 1 are an indicator matrix, not label
    lists. Label lists get columns in the order of ``classes`` when given (a label not among
    them is an error), else sorted by name."""
    if sp.issparse(Y):
        Y = Y.toarray()  # type: ignore[union-attr]
    seq = _label_lists(Y)
    if seq is not None:
        for i, r in enumerate(seq):
            for t in r:
                if _missing(t):
                    raise ValueError(f"y row {i}: a label is missing ({t!r})")
        found = sorted({str(t) for r in seq for t in r})
        names = list(classes) if classes is not None else found
        index = {str(t): j for j, t in enumerate(names)}
        M = np.zeros((len(seq), len(names)), dtype=bool)
        for i, r in enumerate(seq):
            for t in r:
                if str(t) not in index:
                    raise ValueError(f"label {t!r} is not among the classes")
                M[i, index[str(t)]] = True
        return np.asarray(names, dtype=object), M
    rows = (list, tuple, set, frozenset, np.ndarray)
    odd = [] if not isinstance(Y, (list, tuple)) or not any(isinstance(r, rows) for r in Y) \
        else [(i, r) for i, r in enumerate(Y) if not isinstance(r, rows)]
    if odd:  # label lists with a row that is none (numpy's "inhomogeneous shape" else)
        i, r = odd[0]
        raise ValueError(f"y row {i}: expected a list of labels (label lists), got "
                         f"{type(r).__name__} {r!r:.40}")
    arr = np.asarray(Y)
    if arr.ndim != 2:
        raise ValueError("Y must be a binary indicator matrix or a list of label lists")
    if not np.isin(arr, (0, 1)).all():
        raise ValueError("an indicator matrix holds only 0 and 1")
    names_arr = np.asarray(classes if classes is not None else np.arange(arr.shape[1]))
    return names_arr, arr.astype(bool)


def _label_lists(Y: object) -> list | None:
    """``Y``'s rows if it is a list of label lists (not an indicator matrix), else None."""
    if isinstance(Y, np.ndarray) or sp.issparse(Y) or isinstance(Y, str):
        return None
    seq = list(Y)  # type: ignore[call-overload]
    if all(isinstance(r, (list, tuple, set, frozenset)) for r in seq) and \
            not _nested_indicator(seq):
        return seq
    return None


def _check_C_and_weighting(C: object, class_weight: object) -> None:
    """The linear models' two shared parameters, as both classifiers' ``_check_params``
    check them."""
    if not (finite_number(C) and C > 0):  # type: ignore[operator]
        raise ValueError(f"C must be a positive number, got {C!r:.40}")
    if class_weight not in (None, "balanced"):
        raise ValueError(f'class_weight must be None or "balanced", got {class_weight!r}')


def _nested_indicator(rows: list) -> bool:
    """Whether label rows are an indicator matrix written as nested lists (scikit-learn's
    "multilabel-indicator": rows of one length, at least 2, holding only 0 and 1)."""
    if not rows or not all(isinstance(r, (list, tuple)) for r in rows):
        return False
    width = len(rows[0])
    return width >= 2 and all(len(r) == width for r in rows) and all(
        isinstance(t, (numbers.Integral, np.bool_)) and t in (0, 1) for r in rows for t in r)


def check_weights(sample_weight: object, n: int) -> np.ndarray | None:
    """Sample weights as a float array of ``n`` positive finite numbers; None stays None (every
    record counts once, the unweighted fit exactly)."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError(f"sample_weight must have one weight per text ({n}), got shape "
                         f"{w.shape}")
    if not (np.isfinite(w).all() and (w > 0).all()):
        raise ValueError("sample_weight must hold positive finite numbers")
    return w


def _cardinality(setting: str, Y: np.ndarray) -> str:
    if setting != "auto":
        if setting not in thresholds.CARDINALITIES:
            raise ValueError(f"cardinality must be 'auto' or one of "
                             f"{thresholds.CARDINALITIES}, got {setting!r}")
        return setting
    counts = Y.sum(axis=1)
    if len(counts) and counts.min() == 1 and counts.max() == 1:
        return "exactly-one"
    if len(counts) and counts.min() >= 1:
        return "at-least-one"
    return "any"


def internal_folds(Y: np.ndarray, groups: Sequence | None, k: int, seed: int
                   ) -> list[tuple[np.ndarray, np.ndarray]]:
    """k grouped, label-stratified folds (see ``splits.group_folds``); [] if impossible."""
    from .splits import group_folds

    g = np.arange(len(Y)) if groups is None else np.asarray(groups)
    k = min(k, len(np.unique(g)))
    if k < 2:
        return []
    return group_folds(Y, g, k, seed)


class TopicClassifier(ClassifierMixin, BaseEstimator):
    """Multi-label topic classifier on raw texts.

    Parameters: ``vectorizer`` (a ``TextVectorizer``; default word 1-2-grams), ``loss``
    ("log": logistic regression, scores are probabilities; "hinge": linear SVM, scores are
    its decision values squashed by the logistic function), ``C`` and ``class_weight``
    (None or "balanced") of the per-label models, ``word_view`` (with character n-grams,
    average with a model on word n-grams only), ``threshold_strategy`` ("tuned", "shrunk",
    "global") and ``threshold_floor`` (the lowest threshold "tuned" may give, or None),
    ``target_prevalence`` (None, or the share of texts each topic is expected to hold for
    where the model will be used: the thresholds are tuned as if the training data had it,
    see ``thresholds.prevalence_weights``), ``cardinality`` ("auto": from the training
    data; or "any", "at-least-one", "exactly-one"), ``cv`` (internal folds whose out-of-fold
    scores tune the thresholds) and ``threshold_repeats`` (fold splits of different seeds
    whose scores are stacked for it), ``tune_prior`` (how many positives the thresholds of
    all the data weigh against those of the records ``fit``'s ``tune_on`` marks, see
    ``thresholds.blend_thresholds``), ``random_state`` (``seed_of``) and ``n_jobs``.

    ``fit(texts, Y, groups=None)``: ``Y`` is a binary indicator matrix or a list of label
    lists; ``groups`` (e.g. the article of each sentence) keeps a group in one internal fold;
    ``tune_on`` (a boolean mask, one per text) marks the records of the kind of text the model
    will tag (a user's own labels of their news): each label's threshold is then re-tuned on
    their out-of-fold scores and blended with the threshold of all the data.
    Fitted: ``classes_``, ``vectorizer_``, ``coef_``, ``intercept_``, ``thresholds_``,
    ``base_thresholds_`` (before ``tune_on``; equal to ``thresholds_`` without it),
    ``n_tuned_on_`` (how many marked records re-tuned the thresholds; 0 when none did),
    ``cardinality_``, ``views_``, ``fallbacks_``. The marked records' own optimum is taken on
    their scores as they are (no record or prevalence weights: they are a sample of the text
    the model will tag), and the blend is held above ``threshold_floor``.
    """

    def __init__(self, vectorizer: TextVectorizer | None = None, loss: str = "log",
                 C: float = 8.0, class_weight: str | None = None, word_view: bool = False,
                 threshold_strategy: str = "tuned", threshold_floor: float | None = 0.3,
                 target_prevalence: float | None = None, cardinality: str = "auto",
                 cv: int = 3, threshold_repeats: int = 1,
                 tune_prior: float = thresholds.TUNE_PRIOR,
                 random_state: int | np.random.RandomState | None = 0,
                 n_jobs: int = 1) -> None:
        self.vectorizer = vectorizer
        self.loss = loss
        self.C = C
        self.class_weight = class_weight
        self.word_view = word_view
        self.threshold_strategy = threshold_strategy
        self.threshold_floor = threshold_floor
        self.target_prevalence = target_prevalence
        self.cardinality = cardinality
        self.cv = cv
        self.threshold_repeats = threshold_repeats
        self.tune_prior = tune_prior
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _linear(self, X: sp.csr_matrix, Y: np.ndarray, fitlog: FitLog | None,
                sample_weight: np.ndarray | None, seed: int) -> TopicLinear:
        v = self.vectorizer_
        word_cols = len(v.features_.word_vocab) if (self.word_view and v.features_.use_char) \
            else None
        return fit_topic_linear(X, Y, [str(c) for c in self.classes_], self.loss, self.C,
                                self.class_weight, seed, v.n_ngram_columns,
                                word_cols, self.n_jobs, fitlog, sample_weight)

    def _check_params(self) -> None:
        """A ValueError naming the first parameter that cannot be fitted with (checked at
        ``fit``, as scikit-learn does, not in ``__init__``)."""
        def bad(name: str, want: str) -> ValueError:
            return ValueError(f"{name} must be {want}, got {getattr(self, name)!r}")

        def count(x: object, least: int) -> bool:
            return whole_number(x) and x >= least  # type: ignore[operator]

        if self.loss not in LOSSES:
            raise bad("loss", f"one of {LOSSES}")
        _check_C_and_weighting(self.C, self.class_weight)
        if not isinstance(self.word_view, (bool, np.bool_)):
            raise bad("word_view", "True or False")
        if self.threshold_strategy not in thresholds.STRATEGIES:
            raise bad("threshold_strategy", f"one of {thresholds.STRATEGIES}")
        if self.threshold_floor is not None and not (
                finite_number(self.threshold_floor) and 0 <= self.threshold_floor < 1):
            raise bad("threshold_floor", "None or a number in [0, 1)")
        if self.target_prevalence is not None and not (
                finite_number(self.target_prevalence) and 0 < self.target_prevalence < 1):
            raise bad("target_prevalence", "None or a number strictly between 0 and 1")
        if self.cardinality != "auto" and self.cardinality not in thresholds.CARDINALITIES:
            raise bad("cardinality", f"'auto' or one of {thresholds.CARDINALITIES}")
        if not count(self.cv, 2):
            raise bad("cv", "an integer of at least 2")
        if not count(self.threshold_repeats, 1):
            raise bad("threshold_repeats", "an integer of at least 1")
        if self.n_jobs is not None and not (whole_number(self.n_jobs) and self.n_jobs != 0):
            raise bad("n_jobs", "None, a positive integer or a negative one (-1: every core)")
        _check_random_state(self.random_state)
        _check_vectorizer(self.vectorizer)
        thresholds.check_prior(self.tune_prior)  # used only with tune_on, checked always

    @_all_or_nothing
    def fit(self, X: Iterable[str], y: object, groups: Sequence | None = None,
            fitlog: FitLog | None = None, sample_weight: object = None,
            classes: Sequence | None = None, tune_on: object = None) -> TopicClassifier:
        """``y``: a binary indicator matrix (n texts x k labels) or a list of label lists;
        ``classes``: the names of an indicator matrix's columns (default 0..k-1), or the
        column order for label lists (default: sorted); ``tune_on``: see the class. Inputs
        are checked before the estimator changes: a refused fit leaves it as it was."""
        texts = _texts(X)
        self._check_params()
        if y is None:
            raise ValueError("TopicClassifier needs y: an indicator matrix or label lists")
        classes_, Yb = label_indicator(y, classes)
        if classes is not None and len(classes) != Yb.shape[1]:
            raise ValueError(f"{len(classes)} class names for {Yb.shape[1]} columns")
        if len(Yb) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(Yb)} label rows")
        if not texts:
            raise ValueError("no texts to fit")
        if not Yb.shape[1]:
            raise ValueError("no labels to fit: every label list is empty")
        if groups is not None and len(groups) != len(texts):
            raise ValueError(f"groups must have one entry per text ({len(texts)}), got "
                             f"{len(groups)}")
        w = check_weights(sample_weight, len(texts))
        mark = None if tune_on is None else np.asarray(tune_on, dtype=bool)
        if mark is not None and mark.shape != (len(texts),):
            raise ValueError(f"tune_on must have one flag per text ({len(texts)}), got shape "
                             f"{mark.shape}")
        if mark is not None and not mark.any():
            mark = None
        cardinality = _cardinality(self.cardinality, Yb)
        self.classes_ = classes_ if classes is None else np.asarray(classes, dtype=object)
        self.n_tuned_on_ = 0
        self.vectorizer_ = _fitted_vectorizer(self.vectorizer, texts, TextVectorizer())
        M = self.vectorizer_.transform(texts)
        self.cardinality_ = cardinality
        self.fallbacks_: list[str] = []
        seed = seed_of(self.random_state)
        lin = self._linear(M, Yb, fitlog, w, seed)
        base = None  # the thresholds of all the data, when tune_on re-tunes them
        if self.cardinality_ == "exactly-one":
            th = np.full(Yb.shape[1], 0.5)
            if self.target_prevalence is not None:
                self.fallbacks_.append("topics: the target prevalence has no effect: every "
                                       "record has exactly one topic, so the top one decides")
        else:
            # out-of-fold scores of ``threshold_repeats`` fold splits, stacked: one split's
            # thresholds swing with its seed
            stacked = []
            for r in range(max(1, self.threshold_repeats)):
                folds = internal_folds(Yb, groups, self.cv, seed + r)
                if not folds:
                    break
                P = np.zeros(Yb.shape)
                for tr, te in folds:
                    P[te] = self._linear(M[tr], Yb[tr], None, None if w is None else w[tr],
                                         seed).proba(M[te])
                stacked.append(P)
            if stacked:
                Ys = np.vstack([Yb] * len(stacked))
                ws = None if w is None else np.tile(w, len(stacked))
                if self.target_prevalence is not None:
                    ws = thresholds.prevalence_weights(Ys, self.target_prevalence, ws)
                Ps = np.vstack(stacked)
                th = thresholds.fit_thresholds(Ps, Ys, self.threshold_strategy,
                                               self.threshold_floor, self.cardinality_, ws)
                base = th
                if mark is not None:
                    marks = np.tile(mark, len(stacked))
                    th = thresholds.blend_thresholds(Ps[marks], Ys[marks], th,
                                                     self.tune_prior, len(stacked))
                    if self.threshold_floor is not None:
                        th = np.maximum(th, self.threshold_floor)
                    self.n_tuned_on_ = int(mark.sum())
            else:
                th = np.full(Yb.shape[1], 0.5)
                self.fallbacks_.append("topics: too few groups for internal cross-validation: "
                                       "thresholds 0.5 are used untuned")
        self.coef_, self.intercept_, self.views_ = lin.coef, lin.intercept, lin.views
        if mark is not None and not self.n_tuned_on_:
            self.fallbacks_.append("topics: --tune-on has no effect: the thresholds are not "
                                   "tuned here (" + ("the top topic decides" if
                                                     self.cardinality_ == "exactly-one" else
                                                     "too few groups for internal CV") + ")")
        self.thresholds_ = th
        self.base_thresholds_ = (th if base is None else base).copy()
        return self

    @property
    def linear_(self) -> TopicLinear:
        check_is_fitted(self, "coef_")
        return TopicLinear(self.coef_, self.intercept_, self.views_)

    def predict_proba(self, X: Iterable[str]) -> np.ndarray:
        """(n, k) scores in [0, 1], one column per class (probabilities with loss="log")."""
        check_is_fitted(self, "coef_")
        return self.linear_.proba(self.vectorizer_.transform(X))

    def decide(self, P: np.ndarray) -> np.ndarray:
        """Boolean decisions from scores, by the stored thresholds and cardinality rule."""
        check_is_fitted(self, "thresholds_")
        return thresholds.decide(P, self.thresholds_, self.cardinality_)

    def predict(self, X: Iterable[str]) -> np.ndarray:
        """(n, k) 0/1 indicator matrix."""
        return self.decide(self.predict_proba(X)).astype(int)

    def score(self, X: Iterable[str], y: object, sample_weight: object = None) -> float:
        """Micro-F1 on (X, y), each record counted ``sample_weight`` times if given. Labels of
        label lists that the model was not fitted on count as missed (false negatives)."""
        check_is_fitted(self, "thresholds_")
        texts = _texts(X)
        names = list(self.classes_)
        if isinstance(y, str | bytes) or not hasattr(y, "__iter__"):
            raise ValueError(f"y must be the texts' label lists or an indicator matrix, got "
                             f"{type(y).__name__}")
        if not isinstance(y, np.ndarray) and not sp.issparse(y):
            y = list(y)  # type: ignore[call-overload]  # read once, even from a generator
        rows = _label_lists(y)
        extra = [] if rows is None else sorted(
            {str(t) for r in rows for t in r} - {str(c) for c in names})
        if extra and len(extra) == len({str(t) for r in rows for t in r}):
            raise ValueError(f"none of y's labels ({', '.join(extra[:3])}) is one the model was "
                             f"fitted on ({', '.join(map(str, names[:4]))}); fitted on an "
                             "indicator matrix, it is scored with one")
        _, Yb = label_indicator(y, names + extra)
        if Yb.shape != (len(texts), len(names) + len(extra)):
            raise ValueError(f"y must have {len(texts)} rows of {len(names)} labels, got shape "
                             f"{Yb.shape}")
        w = None
        if sample_weight is not None:
            w = np.asarray(sample_weight, dtype=float)
            if w.shape != (len(texts),) or not (np.isfinite(w).all() and (w >= 0).all()):
                raise ValueError(f"sample_weight must hold one finite number >= 0 per text "
                                 f"({len(texts)}), got shape {w.shape}")
        pred = np.hstack([self.predict(texts).astype(bool),
                          np.zeros((len(texts), len(extra)), dtype=bool)])
        return thresholds.f1(Yb, pred, "micro", w)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        check_is_fitted(self, "vectorizer_")
        return self.vectorizer_.get_feature_names_out()

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.target_tags.multi_output = True
        tags.classifier_tags.multi_label = True
        return tags


class StanceClassifier(ClassifierMixin, BaseEstimator):
    """Multi-class stance classifier on raw texts: one-vs-rest L2 logistic regression,
    probabilities normalised over the classes.

    Parameters: ``vectorizer`` (default word 1-2-grams, character n-grams and the lexicon
    features), ``C``, ``class_weight`` (None or "balanced"), ``random_state`` (``seed_of``).
    Fitted: ``classes_``, ``vectorizer_``, ``coef_``, ``intercept_``.
    """

    def __init__(self, vectorizer: TextVectorizer | None = None, C: float = 4.0,
                 class_weight: str | None = None,
                 random_state: int | np.random.RandomState | None = 0) -> None:
        self.vectorizer = vectorizer
        self.C = C
        self.class_weight = class_weight
        self.random_state = random_state

    @_all_or_nothing
    def fit(self, X: Iterable[str], y: Sequence, fitlog: FitLog | None = None,
            sample_weight: object = None) -> StanceClassifier:
        from sklearn.utils.multiclass import check_classification_targets

        texts = _texts(X)
        if y is None:
            raise ValueError("StanceClassifier needs y: one stance label per text")
        y_arr = np.asarray(y)
        if y_arr.ndim != 1 or len(y_arr) != len(texts):
            raise ValueError(f"{len(texts)} texts need as many stance labels, got shape "
                             f"{y_arr.shape}")
        raw = y.tolist() if hasattr(y, "tolist") else list(y)  # before numpy makes all str
        if any(_missing(v) for v in raw):
            raise ValueError("a stance label is missing (None or NaN)")
        kinds = {"names" if isinstance(v, str) else "numbers" if isinstance(v, numbers.Number)
                 else type(v).__name__ for v in raw}
        if len(kinds) > 1:
            raise ValueError(f"stance labels must all be of one kind (names, say), got "
                             f"{' and '.join(sorted(kinds))}")
        check_classification_targets(y_arr)  # no NaN, no continuous values
        classes, codes = np.unique(y_arr, return_inverse=True)
        if len(classes) < 2:
            raise ValueError("stance needs at least two classes in the data, found only "
                             f"{classes.tolist()!r}")
        self._check_params()
        weights = check_weights(sample_weight, len(texts))
        self.classes_ = classes
        self.vectorizer_ = _fitted_vectorizer(
            self.vectorizer, texts, TextVectorizer(char_ngrams=True, lexicon=True))
        M = self.vectorizer_.transform(texts)
        Y = np.eye(len(self.classes_), dtype=bool)[codes]
        self.coef_, self.intercept_ = fit_linear(
            M, Y, [str(c) for c in self.classes_], "log", self.C, self.class_weight,
            seed_of(self.random_state), fitlog=fitlog, sample_weight=weights)
        return self

    def _check_params(self) -> None:
        """A ValueError naming the first parameter that cannot be fitted with."""
        _check_C_and_weighting(self.C, self.class_weight)
        _check_random_state(self.random_state)
        _check_vectorizer(self.vectorizer)

    proba_of = staticmethod(stance_proba)

    def predict_proba(self, X: Iterable[str]) -> np.ndarray:
        check_is_fitted(self, "coef_")
        M = self.vectorizer_.transform(X)
        return self.proba_of(np.asarray(M @ self.coef_.T) + self.intercept_)

    def predict(self, X: Iterable[str]) -> np.ndarray:
        P = self.predict_proba(X)
        return self.classes_[np.argmax(P, axis=1)]

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        return tags
