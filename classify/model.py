"""The trained model (a topic and a stance classifier) and how it is trained and scored.

Training, in ``train_model``:
1. Topics: ``selection.select_topics`` chooses the feature set, C (of a linear SVM; logistic
   regression with ``--fast``) and threshold strategy by grouped internal
   cross-validation (groups: the record's source) on the data at hand; a ``TopicClassifier``
   with those parameters is fitted on all of it, its per-label thresholds tuned on internal
   out-of-fold scores.
2. Stance: ``selection.select_stance`` chooses C and class weighting; a ``StanceClassifier``
   is fitted (word 1-2-grams, character n-grams for short texts, sentiment-lexicon features).
3. Where the two parts want the same n-grams they share one ``TextVectorizer`` fitted on all
   texts, so tagging tokenises once.
Nothing falls back silently: each fallback is one line, logged as "warning: ..." and kept in
``Model.info["fallbacks"]`` (meta.json ``training.fallbacks``); what the search tried is in
``Model.info[part]["trials"]``.

Scoring, in ``Model.scores``, is the one path that tagging, evaluation and explanations share.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from . import thresholds
from .data import Record
from .errors import DataError
from .features import Counts, Features, _tfidf
from .thresholds import TUNE_PRIOR

if TYPE_CHECKING:  # scikit-learn (0.7 s to import) is loaded only to train or on request
    from .estimators import StanceClassifier, TopicClassifier

Log = Callable[[str], None]
# fold splits whose stacked out-of-fold scores tune the final thresholds (5, not 3: step 23
# of labels/README.md, a topic's threshold moved by up to 0.03 with the seed alone at 3)
THRESHOLD_REPEATS = 5
REPEAT_MAX_CELLS = 200_000  # ... when records x labels is at most this (else one split)


def _quiet(_: str) -> None:
    pass


@dataclass
class TrainOptions:
    C: float | None = None  # fixed C for topics and stance; None = choose by internal CV
    cv_folds: int = 3
    char_ngrams: bool | None = None  # None = a candidate for short texts of small data
    seed: int = 0
    fast: bool = False  # no search: default parameters, 2-fold threshold tuning on a sample
    max_cv_records: int = 5000
    # processes fitting the per-label models; "auto": ``auto_train_jobs`` (the model is the
    # same whatever the number)
    jobs: int | str = 1
    lexicon: bool = True  # sentiment-lexicon features for stance
    metric: str = "mean-f1"  # what topic selection maximises (selection.METRICS)
    thresholds: str | None = None  # a fixed threshold strategy; None = chosen by internal CV
    # the share of texts each topic is expected to hold for where the model is used; the
    # thresholds are tuned as if the data had it (None: as the data are)
    prevalence: float | None = None
    # no search: the parameters another model's search chose, as its meta.json keeps them
    # ({"topics": training.topics.params, "stance": {"C", "class_weight"}}; see api)
    params: dict | None = None
    # pseudo-positives of the all-data thresholds against those of the records marked tune
    # (--tune-on: the user's own labels of the text the model will tag)
    tune_prior: float = TUNE_PRIOR


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def topic_proba(z: np.ndarray, views: int) -> np.ndarray:
    """Topic scores in [0, 1] from linear scores (intercept included), averaged over views."""
    p = sigmoid(z)
    if views == 1:
        return p
    return p.reshape(len(p), views, p.shape[1] // views).mean(axis=1)


def stance_proba(z: np.ndarray) -> np.ndarray:
    """One-vs-rest logistic probabilities, normalised to sum to one."""
    p = sigmoid(z)
    return p / p.sum(axis=1, keepdims=True)


@dataclass
class Part:
    """A fitted classifier as tagging needs it: weights over a (possibly shared) feature space,
    with no scikit-learn object in it. ``Model.estimators`` turns parts back into fitted
    ``TopicClassifier`` / ``StanceClassifier`` objects."""

    kind: str  # "topics" or "stance"
    classes: list[str]
    features: Features
    vectorizer_params: dict
    params: dict  # the classifier's parameters, without its vectorizer
    coef: np.ndarray  # (views * k, V) float32
    intercept: np.ndarray  # (views * k,)
    thresholds: np.ndarray | None = None  # topics: per-label thresholds on the scores
    cardinality: str | None = None  # topics: "any", "at-least-one" or "exactly-one"
    views: int = 1

    def proba_of(self, z: np.ndarray) -> np.ndarray:
        return topic_proba(z, self.views) if self.kind == "topics" else stance_proba(z)

    @classmethod
    def of(cls, est: TopicClassifier | StanceClassifier) -> Part:
        vec = est.vectorizer_
        # the prior of --tune-on is kept only where it re-tuned something, so a model trained
        # without it is stored as before the option existed
        skip = {"vectorizer"} | ({"tune_prior"} if not getattr(est, "n_tuned_on_", 0) else set())
        params = {k: v for k, v in est.get_params(deep=False).items() if k not in skip}
        if "n_jobs" in params:  # how it was fitted, not what it is: stored as one process
            params["n_jobs"] = 1
        vparams = vec.get_params(deep=False)
        common = dict(classes=[str(c) for c in est.classes_], features=vec.features_,
                      vectorizer_params=vparams, params=params, coef=est.coef_,
                      intercept=est.intercept_)
        if hasattr(est, "thresholds_"):
            return cls("topics", **common, thresholds=est.thresholds_,
                       cardinality=est.cardinality_, views=est.views_)
        return cls("stance", **common)


@dataclass
class Model:
    """A fitted topic part and/or stance part, and what training chose."""

    topics: Part | None
    stance: Part | None
    info: dict = field(default_factory=dict)
    _scorers: list | None = field(default=None, repr=False, compare=False)

    @property
    def topic_labels(self) -> list[str]:
        return list(self.topics.classes) if self.topics is not None else []

    @property
    def stance_labels(self) -> list[str]:
        return list(self.stance.classes) if self.stance is not None else []

    def shape_problem(self) -> str | None:
        """What does not fit together in a model read from files (a hand-edited or damaged
        one): weights, intercepts and thresholds against the classes and features; None if
        all fit."""
        for p in (self.topics, self.stance):
            if p is None:
                continue
            rows = p.views * len(p.classes)
            if p.coef.ndim != 2 or p.coef.shape != (rows, p.features.n_features):
                return (f"{p.kind} weights have shape {p.coef.shape}, expected "
                        f"({rows}, {p.features.n_features})")
            if p.intercept.shape != (rows,):
                return f"{p.kind} intercepts have shape {p.intercept.shape}, expected ({rows},)"
            if p.thresholds is not None and p.thresholds.shape != (len(p.classes),):
                return (f"{p.kind} thresholds have shape {p.thresholds.shape}, expected "
                        f"({len(p.classes)},)")
        return None

    def finite(self) -> bool:
        """Whether every weight, intercept and threshold is a finite number (a fit that
        overflowed leaves NaNs, which must not be saved)."""
        return all(np.isfinite(a).all() for p in (self.topics, self.stance) if p is not None
                   for a in (p.coef, p.intercept, p.thresholds) if a is not None)

    def estimators(self) -> tuple[TopicClassifier | None, StanceClassifier | None]:
        """The fitted scikit-learn estimators (a shared feature space stays one fitted
        ``TextVectorizer`` object)."""
        from .estimators import StanceClassifier, TextVectorizer, TopicClassifier

        vecs: dict[int, TextVectorizer] = {}
        out: list = []
        for part in (self.topics, self.stance):
            if part is None:
                out.append(None)
                continue
            vec = vecs.get(id(part.features))
            if vec is None:
                vec = TextVectorizer(**part.vectorizer_params)
                vec.features_ = part.features
                vec.vocabulary_, vec.idf_ = part.features.word_vocab, part.features.word_idf
                vecs[id(part.features)] = vec
            # the vectorizer parameter is the recipe (unfitted), so clone() and a refit build
            # features as this model did; vectorizer_ is the fitted one
            est = (TopicClassifier if part.kind == "topics" else StanceClassifier)(
                vectorizer=TextVectorizer(**part.vectorizer_params), **part.params)
            est.vectorizer_ = vec
            est.classes_ = np.asarray(part.classes, dtype=object if part.kind == "topics"
                                      else None)
            est.coef_, est.intercept_ = part.coef, part.intercept
            if part.kind == "topics":
                est.thresholds_, est.cardinality_ = part.thresholds, part.cardinality
                est.views_, est.fallbacks_ = part.views, []
                tuned = self.info.get("topics", {}).get("tuned_on") or {}
                base = tuned.get("base_thresholds", {})
                est.n_tuned_on_ = int(tuned.get("records", 0))
                est.base_thresholds_ = np.array([base.get(c, t) for c, t in
                                                 zip(part.classes, part.thresholds, strict=True)])
            out.append(est)
        return out[0], out[1]

    def _parts(self) -> list:
        """(features, scorer, [(part name, rows)]) per distinct feature space."""
        if self._scorers is None:
            groups: dict[int, list] = {}
            for part in (self.topics, self.stance):
                if part is not None:
                    groups.setdefault(id(part.features), []).append(part)
            out = []
            for parts in groups.values():
                coef = np.vstack([p.coef for p in parts])
                icpt = np.concatenate([p.intercept for p in parts])
                out.append((parts[0].features, _Scorer(parts[0].features, coef, icpt),
                            [(p.kind, p.coef.shape[0]) for p in parts]))
            self._scorers = out
        return self._scorers

    def scores(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(topic scores (n, L) in [0, 1], stance probabilities (n, S)) of each text as one
        unit. The fast path: features are counted once per distinct feature space and scored
        without building the TF-IDF matrix of the character n-grams (see ``_Scorer``)."""
        if isinstance(texts, str | bytes):  # not one text per character
            raise DataError(f"texts must be a list of strings, got one {type(texts).__name__}")
        try:
            texts = list(texts)
        except TypeError:
            raise DataError(f"texts must be a list of strings, got {type(texts).__name__}"
                            ) from None
        n = len(texts)
        z: dict[str, np.ndarray] = {}
        for features, scorer, sizes in self._parts():
            try:
                zz = scorer(features.counts(texts))
            except TypeError:  # looked for only here: tagging's texts are checked already
                bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
                if bad is None:
                    raise
                raise DataError(f"texts must be strings: item {bad} is "
                                f"{type(texts[bad]).__name__}") from None
            lo = 0
            for name, k in sizes:
                z[name] = zz[:, lo:lo + k]
                lo += k
        P = self.topics.proba_of(z["topics"]) if self.topics is not None else np.zeros((n, 0))
        S = self.stance.proba_of(z["stance"]) if self.stance is not None else np.zeros((n, 0))
        return P, S

    def decide(self, P: np.ndarray) -> np.ndarray:
        """Which topics each text gets: a boolean (texts x topics) array from the topic
        scores ``P`` of ``scores``."""
        n = len(self.topic_labels)
        if not isinstance(P, np.ndarray) or P.ndim != 2 or P.shape[1] != n:
            raise DataError(f"P must be the (texts x {n}) topic scores of Model.scores, got "
                            f"{getattr(P, 'shape', type(P).__name__)}")
        if self.topics is None:
            return np.zeros(P.shape, dtype=bool)
        return thresholds.decide(P, self.topics.thresholds, self.topics.cardinality)

    def with_thresholds(self, overrides: Mapping[str, float]) -> Model:
        """This model with some topics' decision thresholds replaced (label -> a score in
        [0, 1]; a topic tags a text when its score reaches its threshold). Scores, stance and
        the saved model are unchanged; the overrides so far are kept in
        ``info["threshold_overrides"]``. An unknown label, a value that is not a number in
        [0, 1], or a model whose topics are not decided by thresholds (cardinality
        "exactly-one": the top topic always) raises ``DataError``. With "at-least-one" the
        top topic of a text is kept whatever its threshold."""
        if overrides is not None and not isinstance(overrides, Mapping):
            raise DataError(f"thresholds must map topics to scores (e.g. {{'aviation': 0.6}}), "
                            f"got {type(overrides).__name__}")
        if not overrides:
            return self
        if self.topics is None:
            raise DataError("this model has no topics, so no topic thresholds to set")
        if self.topics.cardinality == "exactly-one":
            raise DataError("this model tags exactly one topic per text (the highest score), "
                            "so thresholds do not decide its topics")
        th = np.array(self.topics.thresholds, dtype=np.float64)
        done = dict(self.info.get("threshold_overrides", {}))
        for label, value in overrides.items():
            if label not in self.topics.classes:
                raise DataError(f"threshold for {label!r}: not a topic of this model (its "
                                f"topics: {', '.join(self.topics.classes)})")
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise DataError(f"threshold for {label!r}: must be a number between 0 and 1, "
                                f"got {value!r}")
            try:
                x = float(value)
            except OverflowError:
                x = float("inf")
            if not 0.0 <= x <= 1.0:
                raise DataError(f"threshold for {label!r}: must lie between 0 and 1 (topic "
                                f"scores do), got {x:g}")
            th[self.topics.classes.index(label)] = x
            done[str(label)] = x
        return replace(self, topics=replace(self.topics, thresholds=th),
                       info={**self.info, "threshold_overrides": done}, _scorers=self._scorers)


#: From this many occurrences of one character n-gram in a text, its row is scored by the
#: plain TF-IDF sums instead: D @ per_word and the repeats' correction R @ char are large and
#: nearly cancel, and float32 sums of a word repeated thousands of times lost the difference
#: (an airline sentence repeated 10,000 times scored aviation 0.907 instead of 0.961, 100,000
#: times 0.0). Below it the fast path is off by less than 1e-5 (measured); no Reuters
#: document reaches it, so the fast path keeps its speed.
EXACT_COUNT = 256


class _Scorer:
    """Linear scores ``X @ coef.T + intercept`` straight from raw counts: see ``Model.scores``."""

    def __init__(self, features: Features, coef: np.ndarray, intercept: np.ndarray) -> None:
        f = self.features = features
        coef = coef.T.astype(np.float32)  # (V, K)
        nw = len(f.word_vocab)
        nc = len(f.char_vocab) if f.use_char else 0
        self.word = np.ascontiguousarray(coef[:nw])
        self.char = np.ascontiguousarray(coef[nw:nw + nc] * f.char_idf[:, None])
        self.lex = np.ascontiguousarray(coef[nw + nc:])
        self.bias = np.asarray(intercept, dtype=np.float64)
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
            exact = np.unique(rows[cnt >= EXACT_COUNT])
            if len(exact):  # D @ per_word and R @ char nearly cancel there: the plain sums
                T = C[exact].astype(np.float64)
                T.data = 1.0 + np.log(T.data)  # tf; self.char holds idf x weight
                raw[exact] = T @ self.char.astype(np.float64)
                T.data *= idf[T.indices]
                sq[exact] = np.asarray(T.multiply(T).sum(axis=1)).ravel()
        norm = np.sqrt(np.maximum(sq, 0.0))
        norm[norm < 1e-12] = 1.0
        return raw / norm[:, None]



# ---------------------------------------------------------------- training


AUTO_TRAIN_CELLS = 100_000  # records x labels from which --jobs auto fits in parallel


def auto_train_jobs(n_records: int, n_labels: int, cells: int = AUTO_TRAIN_CELLS) -> int:
    """Processes for ``jobs="auto"``: one per core this process may use (at most
    ``api.AUTO_JOBS_MAX``, as for tagging) when records x labels reach ``cells``
    (``AUTO_TRAIN_CELLS`` for training's per-label fits), else 1. Starting worker processes
    costs more than it saves on smaller data. Measured on 2 cores (wall time of ``classify
    train``): 2,000 sentences x 4 labels 11.1 s in one process, 14.5 s in two; ``labels/``
    (13,910 x 4) with the bundled recipe 23.5 s, 20.0 s; 10,000 headlines x 27 labels 75 s,
    45 s."""
    from .api import AUTO_JOBS_MAX, usable_cores  # api imports this module

    if n_records * max(n_labels, 1) < cells:
        return 1
    return max(1, min(AUTO_JOBS_MAX, usable_cores()))


def threshold_repeats(n_records: int, n_labels: int, opts: TrainOptions) -> int:
    """Fold splits for the final thresholds: one split's thresholds swing with its seed on
    small data, so ``THRESHOLD_REPEATS`` are stacked there; on large data (records x labels
    over ``REPEAT_MAX_CELLS``, e.g. Reuters: 7,770 x 90) one split has rows enough and the
    extra fits would cost more than the training budget allows."""
    if opts.fast or n_records * n_labels > REPEAT_MAX_CELLS:
        return 1
    return THRESHOLD_REPEATS


def topic_matrix(records: Sequence[Record], labels: Sequence[str]) -> np.ndarray:
    index = {t: j for j, t in enumerate(labels)}
    Y = np.zeros((len(records), len(labels)), dtype=bool)
    for i, r in enumerate(records):
        for t in r.topics or ():
            Y[i, index[t]] = True
    return Y


def check_options(opts: object) -> TrainOptions:
    """``opts`` if it is a ``TrainOptions`` (None: the defaults) whose fields can be trained
    with, else a DataError naming the first that cannot (every entry point checks here)."""
    if opts is None:
        return TrainOptions()
    if not isinstance(opts, TrainOptions):
        raise DataError(f"opts must be a classify.model.TrainOptions, got "
                        f"{type(opts).__name__}")
    from .selection import METRICS

    if opts.metric not in METRICS:
        raise DataError(f"--metric must be one of {', '.join(METRICS)}, got {opts.metric!r}")
    if opts.prevalence is not None and not (finite_number(opts.prevalence)
                                            and 0.0 < opts.prevalence < 1.0):
        raise DataError(f"--prevalence must lie strictly between 0 and 1, got "
                        f"{opts.prevalence!r:.40}")
    try:
        thresholds.check_prior(opts.tune_prior)
    except (TypeError, ValueError, OverflowError) as e:
        raise DataError(str(e)) from None
    if opts.thresholds is not None and opts.thresholds not in thresholds.STRATEGIES:
        raise DataError(f"--thresholds must be one of {', '.join(thresholds.STRATEGIES)}, got "
                        f"{opts.thresholds!r}")

    def bad(name: str, want: str) -> DataError:
        return DataError(f"TrainOptions.{name} must be {want}, got {getattr(opts, name)!r:.40}")

    if opts.C is not None and not (finite_number(opts.C) and opts.C > 0):
        raise bad("C", "None (chosen by internal CV) or a positive number")
    if not whole_number(opts.cv_folds) or opts.cv_folds < 2:
        raise bad("cv_folds", "a whole number of at least 2")
    if not whole_number(opts.seed) or not 0 <= opts.seed < 2**32:
        raise bad("seed", "a whole number from 0 to 2**32 - 1")
    if not whole_number(opts.max_cv_records) or opts.max_cv_records < 1:
        raise bad("max_cv_records", "a whole number of at least 1")
    if opts.jobs != "auto" and (not whole_number(opts.jobs) or opts.jobs < 1):
        raise DataError(f"--jobs must be a positive number or auto, got {opts.jobs!r:.40}")
    for name in ("fast", "lexicon"):
        if not isinstance(getattr(opts, name), bool):
            raise bad(name, "True or False")
    if opts.char_ngrams is not None and not isinstance(opts.char_ngrams, bool):
        raise bad("char_ngrams", "None (chosen by the data), True or False")
    if opts.params is not None:
        if not isinstance(opts.params, dict):
            raise bad("params", "None or a dict of fixed parameters (api.model_params)")
        unknown = sorted(map(str, set(opts.params) - {"topics", "stance"}))
        if unknown:
            raise bad("params", f"a dict with the keys 'topics' and/or 'stance' (not "
                      f"{', '.join(map(repr, unknown))})")
        try:
            check_fixed_params(opts.params)
        except (ValueError, TypeError, KeyError) as e:
            raise DataError(f"TrainOptions.params cannot be trained with: {e}") from None
        if opts.C is not None and "topics" in opts.params:  # else C was recorded, not used
            raise DataError("--C and --params-from both fix the topic model's C "
                            "(TrainOptions.C and .params['topics']): give one")
    # numpy numbers pass as Python's own, so that meta.json can record them
    return replace(opts, cv_folds=int(opts.cv_folds), seed=int(opts.seed),
                   max_cv_records=int(opts.max_cv_records),
                   jobs=opts.jobs if opts.jobs == "auto" else int(opts.jobs),
                   C=None if opts.C is None else float(opts.C),
                   prevalence=None if opts.prevalence is None else float(opts.prevalence),
                   tune_prior=float(opts.tune_prior))


def whole_number(x: object) -> bool:
    """An integer, not a bool (numpy's included): what a count parameter takes."""
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def finite_number(x: object) -> bool:
    """A finite real number, not a bool (numpy's included; an int too large for a float is
    not finite): what a numeric parameter takes."""
    if not isinstance(x, numbers.Real) or isinstance(x, bool):
        return False
    try:
        return math.isfinite(x)
    except OverflowError:
        return False


def sample_weights(records: Sequence[Record]) -> np.ndarray | None:
    """The records' training weights, or None when every one is 1 (the unweighted fit)."""
    if all(r.weight == 1.0 for r in records):
        return None
    return np.array([r.weight for r in records], dtype=np.float64)


TOPIC_PARAMS = ("ngram_range", "char_ngrams", "loss", "C", "class_weight", "word_view",
                "threshold_strategy", "threshold_floor")


def fixed_topic_params(params: dict) -> dict:
    """Topic parameters as meta.json keeps them (``training.topics.params``), checked."""
    missing = [k for k in TOPIC_PARAMS if k not in params]
    if missing:
        raise DataError(f"fixed topic parameters lack {', '.join(missing)}")
    out = {k: params[k] for k in TOPIC_PARAMS}
    out["ngram_range"] = tuple(out["ngram_range"])
    return out


def check_fixed_params(fixed: dict) -> None:
    """A ValueError (or TypeError, DataError) unless fixed parameters, as
    ``TrainOptions.params`` takes them, can be trained with."""
    from .estimators import StanceClassifier, TopicClassifier

    if "topics" in fixed:
        p = fixed_topic_params(fixed["topics"])
        if p["ngram_range"] not in ((1, 1), (1, 2)):
            raise ValueError(f"ngram_range must be [1, 1] or [1, 2], got {p['ngram_range']!r}")
        if not isinstance(p["char_ngrams"], bool):
            raise ValueError(f"char_ngrams must be true or false, got {p['char_ngrams']!r}")
        TopicClassifier(loss=p["loss"], C=p["C"], class_weight=p["class_weight"],
                        word_view=p["word_view"], threshold_strategy=p["threshold_strategy"],
                        threshold_floor=p["threshold_floor"])._check_params()
    if "stance" in fixed:
        StanceClassifier(C=fixed["stance"]["C"],
                         class_weight=fixed["stance"].get("class_weight"))._check_params()


def _table(trials: list) -> list[dict]:
    return [t.row() for t in trials]


def train_model(records: Sequence[Record], topic_labels: list[str], stance_labels: list[str],
                opts: TrainOptions | None = None, log: Log = _quiet) -> Model:
    """Select and fit the topic part (if the data has topics) and the stance part (if
    stance): see the module docstring."""
    from .estimators import (
        FitLog,
        StanceClassifier,
        TextVectorizer,
        TopicClassifier,
        _cardinality,
    )
    from .selection import (
        Selection,
        char_allowed,
        describe,
        select_stance,
        select_topics,
    )

    opts = check_options(opts)
    topic_recs = [r for r in records if r.topics is not None] if topic_labels else []
    stance_recs = [r for r in records if r.stance is not None] if stance_labels else []
    if not topic_recs and not stance_recs:
        raise DataError("no labelled records to train on: every record lacks topics and stance")
    if opts.jobs == "auto":
        opts = replace(opts, jobs=auto_train_jobs(len(topic_recs), len(topic_labels)))
    fallbacks: list[str] = []

    def note(msg: str) -> None:
        fallbacks.append(msg)
        log(f"warning: {msg}")

    n_sources = len({r.source for r in records})
    if opts.cv_folds > max(n_sources, TrainOptions.cv_folds):
        # a fold holds whole sources: more folds than sources cannot be made (and the
        # default's 3 on smaller data falls back quietly, as it always has)
        note(f"--cv-folds {opts.cv_folds} is more than the {n_sources} sources (articles) in "
             f"the data: {n_sources} folds are used")
        opts = replace(opts, cv_folds=max(n_sources, 2))
    all_texts = [r.text for r in records]
    if opts.params is not None and "topics" in opts.params and opts.char_ngrams is None:
        use_char = bool(opts.params["topics"].get("char_ngrams"))
    else:
        use_char = char_allowed(all_texts) if opts.char_ngrams is None else opts.char_ngrams
    fixed = opts.params or {}
    min_df = 2 if len(records) >= 2000 else 1
    info: dict = {}
    topics = stance = None
    topic_sel = None
    if topic_recs:
        texts = [r.text for r in topic_recs]
        Y = topic_matrix(topic_recs, topic_labels)
        cardinality = _cardinality("auto", Y)
        topic_log = FitLog("topics")
        tw = sample_weights(topic_recs)
        if "topics" in fixed:
            log("topics: parameters given (--params-from or the data's recipe), no model search")
            topic_sel = Selection(fixed_topic_params(fixed["topics"]))
        else:
            log(f"topics: choosing the model by {opts.cv_folds if not opts.fast else 2}-fold "
                f"internal CV on {min(len(texts), opts.max_cv_records):,} records "
                f"(metric {opts.metric}) ...")
            topic_sel = select_topics(texts, Y, [r.source for r in topic_recs], cardinality,
                                      metric=opts.metric, k=opts.cv_folds, seed=opts.seed,
                                      fast=opts.fast, max_records=opts.max_cv_records,
                                      jobs=opts.jobs, char=use_char, fixed_C=opts.C,
                                      threshold_strategy=opts.thresholds,
                                      fitlog=topic_log, sample_weight=tw,
                                      labels=topic_labels, log=log)
        for msg in topic_sel.fallbacks:
            note(msg)
    stance_vec_params = {"ngram_range": (1, 2), "char_ngrams": use_char}
    shared = None
    if topic_sel is not None:
        tp = topic_sel.params
        if stance_recs and {"ngram_range": tuple(tp["ngram_range"]),
                            "char_ngrams": tp["char_ngrams"]} == stance_vec_params:
            shared = TextVectorizer(**stance_vec_params, lexicon=opts.lexicon, min_df=min_df
                                    ).fit(all_texts)
    if topic_sel is not None:
        tp = topic_sel.params
        vec = shared or TextVectorizer(ngram_range=tuple(tp["ngram_range"]),
                                       char_ngrams=tp["char_ngrams"], min_df=min_df)
        topics = TopicClassifier(
            vectorizer=vec, loss=tp["loss"], C=tp["C"], class_weight=tp["class_weight"],
            word_view=tp["word_view"], threshold_strategy=tp["threshold_strategy"],
            threshold_floor=tp["threshold_floor"], target_prevalence=opts.prevalence,
            cv=2 if opts.fast else opts.cv_folds,
            threshold_repeats=threshold_repeats(len(topic_recs), len(topic_labels), opts),
            tune_prior=opts.tune_prior, random_state=opts.seed, n_jobs=opts.jobs,
        ).fit([r.text for r in topic_recs], topic_matrix(topic_recs, topic_labels),
              groups=[r.source for r in topic_recs], fitlog=topic_log, sample_weight=tw,
              classes=topic_labels, tune_on=[r.tune for r in topic_recs])
        for msg in topics.fallbacks_ + topic_log.lines():
            note(msg)
        best = next((t for t in topic_sel.trials if t.chosen), None)
        log(f"topics: chose {describe(tp)}")
        retuned = None if not topics.n_tuned_on_ else tuned_on(topic_recs, topic_labels,
                                                                topics, opts.tune_prior)
        info["topics"] = {"params": jsonable(tp), "C": tp["C"],
                          "target_prevalence": opts.prevalence,
                          "cardinality": topics.cardinality_, "metric": opts.metric,
                          **({"micro_f1": best.micro_f1, "macro_f1": best.macro_f1}
                             if best else {}),
                          "trials": _table(topic_sel.trials), "views": topics.views_,
                          **({"tuned_on": retuned} if retuned is not None else {})}
    if stance_recs:
        texts = [r.text for r in stance_recs]
        vec = shared or TextVectorizer(**stance_vec_params, lexicon=opts.lexicon,
                                       min_df=min_df).fit(texts)
        classes = sorted({r.stance for r in stance_recs})
        if len(classes) < 2:
            files = list(dict.fromkeys(r.where.rpartition(":")[0] or r.where
                                       for r in stance_recs))
            raise DataError(f"{', '.join(files[:3])}{', ...' if len(files) > 3 else ''}: "
                            f"stance needs at least two classes in the data, found only "
                            f"{classes[0]!r} (drop 'stance' to train topics alone)")
        index = {s: i for i, s in enumerate(classes)}
        y = np.array([index[r.stance] for r in stance_recs])
        fitlog = FitLog("stance")
        sw = sample_weights(stance_recs)
        if "stance" in fixed:
            sel = Selection({"C": float(fixed["stance"]["C"]),
                             "class_weight": fixed["stance"].get("class_weight")})
        else:
            sel = select_stance(texts, y, classes, [r.source for r in stance_recs], vec,
                                k=opts.cv_folds, seed=opts.seed, fast=opts.fast,
                                max_records=opts.max_cv_records, fixed_C=opts.C,
                                fitlog=fitlog, sample_weight=sw, log=log)
        for msg in sel.fallbacks:
            note(msg)
        stance = StanceClassifier(vectorizer=vec, C=sel.params["C"],
                                  class_weight=sel.params["class_weight"],
                                  random_state=opts.seed
                                  ).fit(texts, [r.stance for r in stance_recs], fitlog=fitlog,
                                        sample_weight=sw)
        for msg in fitlog.lines():
            note(msg)
        best = next((t for t in sel.trials if t.chosen), None)
        info["stance"] = {"C": sel.params["C"], "class_weight": sel.params["class_weight"],
                          **({"macro_f1": best.macro_f1} if best else {}),
                          "trials": _table(sel.trials)}
    feats = [m.vectorizer_ for m in (topics, stance) if m is not None]
    info["features"] = {"shared": shared is not None,
                        "n_features": [int(v.features_.n_features) for v in
                                       dict.fromkeys(feats)]}
    info["fallbacks"] = fallbacks
    return Model(topics=Part.of(topics) if topics is not None else None,
                 stance=Part.of(stance) if stance is not None else None, info=info)


def tuned_on(records: Sequence[Record], labels: Sequence[str], topics, prior: float) -> dict:
    """What meta.json records of a re-tuning on marked records (``--tune-on``)."""
    marked = [r for r in records if r.tune]
    return {"records": len(marked), "prior": prior,
            "positives": {t: sum(t in (r.topics or ()) for r in marked) for t in labels},
            "base_thresholds": {t: round(float(v), 6)
                                for t, v in zip(labels, topics.base_thresholds_, strict=True)}}


def jsonable(params: dict) -> dict:
    """Parameters as JSON has them (tuples as lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}
