"""The estimators follow scikit-learn's conventions: clone, get/set_params, Pipeline,
cross_val_score and GridSearchCV with groups, fitted attributes, NotFittedError.

scikit-learn's ``check_estimator`` runs only ``check_estimator_cloneable`` on them: every
other check of its suite feeds 2-D numeric arrays, and these estimators take raw texts
(their tags say so: ``input_tags.string``, not ``two_d_array``). The API checks that need no
data are run one by one below, and the data checks that matter are re-done here on texts.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from conftest import STANCES, TOPICS, make_records
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils import estimator_checks as ec

from classify import StanceClassifier, TextVectorizer, TopicClassifier
from classify.selection import select_topics

RECS = make_records()
TEXTS = [r["text"] for r in RECS]
LABELS = [r["topics"] for r in RECS]
STANCE = np.array([r["stance"] for r in RECS])
GROUPS = [r["source"] for r in RECS]
ESTIMATORS = [TextVectorizer(), TopicClassifier(cv=2), StanceClassifier()]
API_CHECKS = ["check_estimator_cloneable", "check_estimator_repr",
              "check_no_attributes_set_in_init", "check_get_params_invariance",
              "check_set_params", "check_parameters_default_constructible",
              "check_do_not_raise_errors_in_init_or_set_params", "check_mixin_order",
              "check_estimator_tags_renamed", "check_valid_tag_types"]


@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("check", API_CHECKS)
def test_scikit_learn_api_checks(est, check):
    getattr(ec, check)(type(est).__name__, clone(est))


def _fit(est):
    if isinstance(est, TopicClassifier):
        return est.fit(TEXTS, LABELS, groups=GROUPS)
    if isinstance(est, StanceClassifier):
        return est.fit(TEXTS, STANCE)
    return est.fit(TEXTS)


def test_topic_score_weighs_records():
    """A weight of 0 leaves a record out of ``score``; whole-number weights count it that
    many times."""
    est = _fit(TopicClassifier(cv=2))
    X, Y = TEXTS[:40], LABELS[1:41]  # labels of the next record: some right, many wrong
    w = np.array([0.0 if i % 3 else 1.0 for i in range(40)])
    assert est.score(X, Y, sample_weight=w) == est.score(X[::3], Y[::3])
    twice = np.where(w > 0, 2.0, 1.0)
    assert est.score(X, Y, sample_weight=twice) == pytest.approx(
        est.score(X + X[::3], Y + Y[::3]))
    assert est.score(X, Y, sample_weight=w) != est.score(X, Y)


@pytest.mark.parametrize("rs", [None, np.random.RandomState(0)], ids=["None", "RandomState"])
@pytest.mark.parametrize("cls", [TopicClassifier, StanceClassifier])
def test_random_state_takes_what_scikit_learn_allows(cls, rs):
    """None or a RandomState draws a seed, as in scikit-learn; the model still fits."""
    est = _fit(cls(random_state=rs))
    assert est.predict_proba(TEXTS[:3]).shape[0] == 3


@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_fit_returns_self_keeps_params_and_is_idempotent(est):
    est = clone(est)
    params = est.get_params()
    assert _fit(est) is est
    assert est.get_params() == params  # fit sets attributes ending in _, not parameters
    fitted = [k for k in vars(est) if k.endswith("_")]
    assert fitted
    out1 = est.transform(TEXTS[:5]).toarray() if isinstance(est, TextVectorizer) else \
        est.predict_proba(TEXTS[:5])
    _fit(est)
    out2 = est.transform(TEXTS[:5]).toarray() if isinstance(est, TextVectorizer) else \
        est.predict_proba(TEXTS[:5])
    np.testing.assert_array_equal(out1, out2)
    again = pickle.loads(pickle.dumps(est))
    out3 = again.transform(TEXTS[:5]).toarray() if isinstance(est, TextVectorizer) else \
        again.predict_proba(TEXTS[:5])
    np.testing.assert_array_equal(out1, out3)


@pytest.mark.parametrize("est", ESTIMATORS[1:], ids=lambda e: type(e).__name__)
def test_unfitted_raises_not_fitted(est):
    with pytest.raises(NotFittedError):
        clone(est).predict(TEXTS[:2])


def test_topic_classifier_outputs():
    clf = TopicClassifier(cv=2).fit(TEXTS, LABELS, groups=GROUPS)
    assert list(clf.classes_) == TOPICS
    P = clf.predict_proba(TEXTS)
    D = clf.predict(TEXTS)
    assert P.shape == D.shape == (len(TEXTS), len(TOPICS))
    assert ((P >= 0) & (P <= 1)).all() and set(np.unique(D)) <= {0, 1}
    np.testing.assert_array_equal(D, (clf.thresholds_ <= P).astype(int))  # cardinality "any"
    names = clf.get_feature_names_out()
    assert len(names) == clf.coef_.shape[1] and "heroin" in set(names)
    # a binary indicator matrix gives the same model as label lists
    Y = np.array([[t in r for t in TOPICS] for r in LABELS], dtype=int)
    other = TopicClassifier(cv=2).fit(TEXTS, Y, groups=GROUPS)
    np.testing.assert_allclose(other.predict_proba(TEXTS), P)
    np.testing.assert_array_equal(other.classes_, np.arange(len(TOPICS)))
    # subset and order invariance of predictions
    np.testing.assert_allclose(clf.predict_proba(TEXTS[::-1]), P[::-1])
    np.testing.assert_allclose(clf.predict_proba(TEXTS[3:7]), P[3:7])


def test_cardinality_rules():
    Y1 = [[r[0]] if r else ["aviation"] for r in LABELS]  # exactly one label each
    clf = TopicClassifier(cv=2).fit(TEXTS, Y1, groups=GROUPS)
    assert clf.cardinality_ == "exactly-one"
    assert (clf.predict(TEXTS).sum(axis=1) == 1).all()
    Y2 = [r + ["aviation"] if len(r) == 0 else r for r in LABELS]  # at least one
    clf = TopicClassifier(cv=2).fit(TEXTS, Y2, groups=GROUPS)
    assert clf.cardinality_ == "at-least-one"
    assert (clf.predict(["zzz qqq", "the"]).sum(axis=1) >= 1).all()


def test_stance_classifier_outputs():
    clf = StanceClassifier().fit(TEXTS, STANCE)
    assert list(clf.classes_) == STANCES
    P = clf.predict_proba(TEXTS)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    assert set(clf.predict(TEXTS)) <= set(STANCES)
    assert (clf.predict(TEXTS) == STANCE).mean() > 0.9
    with pytest.raises(ValueError, match="two classes"):
        StanceClassifier().fit(TEXTS[:3], ["a", "a", "a"])


def test_pipeline_and_cross_val_score_with_groups():
    pipe = Pipeline([("lower", FunctionTransformer(lambda xs: [x.lower() for x in xs])),
                     ("stance", StanceClassifier())])
    scores = cross_val_score(pipe, TEXTS, STANCE, groups=GROUPS, cv=GroupKFold(3))
    assert len(scores) == 3 and scores.min() > 0.5
    topic_scores = cross_val_score(TopicClassifier(cv=2), TEXTS, LABELS, groups=GROUPS,
                                   cv=GroupKFold(3))
    assert len(topic_scores) == 3 and topic_scores.min() > 0.5


def test_grid_search_over_the_estimators():
    grid = GridSearchCV(StanceClassifier(), {"C": [0.5, 8.0], "class_weight": [None,
                                                                               "balanced"]},
                        cv=GroupKFold(3))
    grid.fit(TEXTS, STANCE, groups=GROUPS)
    assert grid.best_params_["C"] in (0.5, 8.0)
    assert len(grid.cv_results_["mean_test_score"]) == 4
    assert set(grid.predict(TEXTS[:4])) <= set(STANCES)
    tgrid = GridSearchCV(TopicClassifier(cv=2),
                         {"vectorizer": [TextVectorizer(ngram_range=(1, 1)),
                                         TextVectorizer(char_ngrams=True)],
                          "threshold_strategy": ["tuned", "global"]},
                         cv=GroupKFold(3))
    tgrid.fit(TEXTS, LABELS, groups=GROUPS)
    assert len(tgrid.cv_results_["mean_test_score"]) == 4
    assert tgrid.best_estimator_.predict(TEXTS[:3]).shape == (3, len(TOPICS))


def test_fitted_vectorizer_is_shared_and_clone_refits():
    vec = TextVectorizer(char_ngrams=True, lexicon=True).fit(TEXTS)
    topics = TopicClassifier(vectorizer=vec, cv=2).fit(TEXTS, LABELS, groups=GROUPS)
    stance = StanceClassifier(vectorizer=vec).fit(TEXTS, STANCE)
    assert topics.vectorizer_ is vec and stance.vectorizer_ is vec
    fresh = clone(topics)
    assert not hasattr(fresh.vectorizer, "features_")  # clone gives an unfitted one
    fresh.fit(TEXTS[:40], LABELS[:40])
    assert fresh.vectorizer_ is not vec
    assert len(fresh.vectorizer_.vocabulary_) < len(vec.vocabulary_)


def test_vectorizer_is_scikit_learns_tfidf():
    """vocabulary_ and idf_ are what TfidfVectorizer fits, and the fast transform gives
    TfidfVectorizer's matrix."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from classify.estimators import _words_12

    vec = TextVectorizer().fit(TEXTS)
    ref = TfidfVectorizer(analyzer=_words_12, sublinear_tf=True, max_df=0.9).fit(TEXTS)
    assert vec.vocabulary_ == ref.vocabulary_
    np.testing.assert_allclose(vec.idf_, ref.idf_, rtol=1e-6)
    texts = TEXTS[:20] + ["unseen words only", ""]
    np.testing.assert_allclose(vec.transform(texts).toarray(), ref.transform(texts).toarray(),
                               atol=1e-6)


@pytest.mark.parametrize("loss", ["log", "hinge"])
def test_parallel_fit_of_a_large_matrix_with_unsorted_indices(loss):
    """With ``jobs`` > 1 joblib hands the workers a large X (over its 1 MB threshold)
    memory-mapped read-only; a TF-IDF matrix with character n-grams has unsorted indices,
    which scikit-learn would sort in place there ("WRITEBACKIFCOPY base is read-only"). The
    parallel fit must work and equal the one-process fit."""
    import scipy.sparse as sp

    from classify.estimators import fit_linear

    rng = np.random.default_rng(0)
    X = sp.random(3000, 20000, density=0.006, format="csr", random_state=0, dtype=np.float32)
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    order = np.lexsort((-X.indices, rows))  # each row's columns in descending order
    U = sp.csr_matrix((X.data[order], X.indices[order], X.indptr), shape=X.shape)
    assert not U.has_canonical_format and U.data.nbytes > 1_000_000
    Y = rng.random((X.shape[0], 2)) < 0.3
    one = fit_linear(X, Y, ["a", "b"], loss, 1.0, None, 0, jobs=1)
    two = fit_linear(U, Y, ["a", "b"], loss, 1.0, None, 0, jobs=2)
    assert np.allclose(one[0], two[0], atol=1e-6) and np.allclose(one[1], two[1])


def test_the_topic_search_tries_svms_and_fast_training_logistic_regression():
    """The search's candidates are unweighted linear SVMs (logistic regression never won a
    search and class weighting was worth nothing held out, and each cost up to half its time;
    README, "Dropped from the topic search"), starting at C=1 for every feature set and then
    moving C; ``fast`` fits one logistic model at C=8, and ``fixed_C`` holds C."""
    recs = make_records(n_per_topic=12, n_sources=6)
    texts = [r["text"] for r in recs]
    groups = [r["source"] for r in recs]
    names = sorted({t for r in recs for t in r["topics"]})
    Y = np.array([[t in r["topics"] for t in names] for r in recs])
    full = select_topics(texts, Y, groups, "any")
    assert {t.params["loss"] for t in full.trials} == {"hinge"}
    assert {t.params["class_weight"] for t in full.trials} == {None}
    first = [t for t in full.trials if t.params["C"] == 1.0 and not t.params["class_weight"]
             and not t.params["word_view"]]
    assert {(tuple(t.params["ngram_range"]), t.params["char_ngrams"]) for t in first} == {
        ((1, 1), False), ((1, 2), False), ((1, 2), True)}
    assert len({t.params["C"] for t in full.trials}) >= 3  # C searched around 1
    fast = select_topics(texts, Y, groups, "any", fast=True)
    assert [(t.params["loss"], t.params["C"]) for t in fast.trials] == [("log", 8.0)]
    fixed = select_topics(texts, Y, groups, "any", fixed_C=2.0)
    assert {t.params["C"] for t in fixed.trials} == {2.0}


# ---------------------------------------------------------------- inputs scikit-learn users give

INDICATOR = np.array([[t in r for t in TOPICS] for r in LABELS], dtype=int)


def test_nested_lists_of_0_and_1_are_an_indicator_matrix():
    """``Y.tolist()`` is what ``type_of_target`` calls "multilabel-indicator": the same model
    as the array, not label lists named '0' and '1'."""
    a = TopicClassifier(cv=2).fit(TEXTS, INDICATOR, groups=GROUPS)
    b = TopicClassifier(cv=2).fit(TEXTS, INDICATOR.tolist(), groups=GROUPS)
    np.testing.assert_array_equal(b.classes_, np.arange(len(TOPICS)))
    np.testing.assert_allclose(b.predict_proba(TEXTS), a.predict_proba(TEXTS))
    assert a.score(TEXTS, INDICATOR.tolist()) == a.score(TEXTS, INDICATOR)


def test_classes_order_the_columns_of_label_lists():
    order = TOPICS[::-1]
    named = TopicClassifier(cv=2).fit(TEXTS, LABELS, groups=GROUPS, classes=order)
    plain = TopicClassifier(cv=2).fit(TEXTS, LABELS, groups=GROUPS)
    assert list(named.classes_) == order
    np.testing.assert_allclose(named.predict_proba(TEXTS), plain.predict_proba(TEXTS)[:, ::-1])
    with pytest.raises(ValueError, match="not among the classes"):
        TopicClassifier(cv=2).fit(TEXTS, LABELS, classes=order[1:])


def test_y_by_keyword_and_missing_y():
    clf = TopicClassifier(cv=2).fit(TEXTS, y=LABELS, groups=GROUPS)
    assert 0 < clf.score(TEXTS, y=LABELS) <= 1
    for est in (TopicClassifier(cv=2), StanceClassifier()):
        with pytest.raises(ValueError, match="needs y"):
            est.fit(TEXTS, None)


@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_missing_texts_and_feature_matrices_are_clear_errors(est):
    import scipy.sparse as sp

    fitted = _fit(clone(est))
    with pytest.raises(ValueError, match="None"):
        (fitted.transform if isinstance(est, TextVectorizer) else fitted.predict)(
            [TEXTS[0], None])
    with pytest.raises(ValueError, match="sparse matrix"):
        (fitted.transform if isinstance(est, TextVectorizer) else fitted.predict)(
            sp.csr_matrix(np.ones((2, 3))))
    # any iterable of texts, a generator too, gives what the list gives
    out = (fitted.transform if isinstance(est, TextVectorizer) else fitted.predict)
    np.testing.assert_array_equal(np.asarray(out(t for t in TEXTS[:4]).todense()
                                             if isinstance(est, TextVectorizer)
                                             else out(t for t in TEXTS[:4])),
                                  np.asarray(out(TEXTS[:4]).todense()
                                             if isinstance(est, TextVectorizer)
                                             else out(TEXTS[:4])))


def test_invalid_vectorizer_parameters_raise():
    from sklearn.utils._param_validation import InvalidParameterError

    for params in ({"max_features": 0}, {"min_df": -1}, {"max_df": 5.0}):
        with pytest.raises(InvalidParameterError):
            TextVectorizer(**params).fit(TEXTS)
    # valid but pruning every term: the vocabulary is built without min_df (documented)
    assert len(TextVectorizer(min_df=10_000).fit(TEXTS).vocabulary_) > 0


@pytest.mark.parametrize("params, name", [
    ({"C": -1.0}, "C"), ({"C": float("nan")}, "C"), ({"loss": "squared"}, "loss"),
    ({"cv": 1}, "cv"), ({"cv": "x"}, "cv"), ({"threshold_repeats": 0}, "threshold_repeats"),
    ({"threshold_floor": 2}, "threshold_floor"), ({"word_view": "a"}, "word_view"),
    ({"n_jobs": "x"}, "n_jobs"), ({"n_jobs": 0}, "n_jobs"),
    ({"threshold_strategy": "best"}, "threshold_strategy"),
    ({"target_prevalence": 1.0}, "target_prevalence"), ({"class_weight": "even"},
                                                        "class_weight"),
    ({"tune_prior": "x"}, r"the prior of the re-tuning \(tune_prior\)"),
    ({"tune_prior": -1}, r"the prior of the re-tuning \(tune_prior\)")])
def test_topic_parameters_are_checked_at_fit(params, name):
    with pytest.raises(ValueError, match=f"^{name} must be"):
        TopicClassifier(**params).fit(TEXTS, LABELS, groups=GROUPS)


def test_groups_must_match_the_texts():
    with pytest.raises(ValueError, match="groups must have one entry per text"):
        TopicClassifier(cv=2).fit(TEXTS, LABELS, groups=GROUPS[:4])


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
@pytest.mark.parametrize("y", [[0.0, 1.0] * 29 + [0.0, float("nan")],
                               list(np.linspace(0, 1, 60)),
                               ["a", "b"] * 29 + ["a", None]], ids=["nan", "continuous", "none"])
def test_stance_targets_are_checked(y):
    n = len(y)
    with pytest.raises(ValueError):
        StanceClassifier().fit(TEXTS[:n], y)


def test_a_refused_refit_leaves_the_estimator_as_it_was():
    topics = TopicClassifier(cv=2).fit(TEXTS, LABELS, groups=GROUPS)
    stance = StanceClassifier().fit(TEXTS, STANCE)
    P, S = topics.predict_proba(TEXTS[:5]), stance.predict_proba(TEXTS[:5])
    with pytest.raises(ValueError):
        topics.fit(TEXTS, [["a"], ["b"], ["c"]])
    with pytest.raises(ValueError):
        stance.fit(TEXTS[:3], ["x", "x", "x"])
    assert list(topics.classes_) == TOPICS and list(stance.classes_) == STANCES
    np.testing.assert_array_equal(topics.predict_proba(TEXTS[:5]), P)
    np.testing.assert_array_equal(stance.predict_proba(TEXTS[:5]), S)


@pytest.mark.parametrize("late", ["random_state", "vectorizer"])
def test_a_refit_that_fails_late_leaves_the_estimator_as_it_was(late):
    """A refit refused only once the new classes were set (by LogisticRegression or the
    TF-IDF vectorizer) used to leave new classes beside old weights: wrong predictions, or an
    IndexError. Now such values are refused at the start, and whatever fails later (here a
    vectorizer that raises inside its own fit) rolls the estimator back."""
    topics = TopicClassifier(cv=2).fit(TEXTS, LABELS, groups=GROUPS)
    stance = StanceClassifier().fit(TEXTS, STANCE)
    P, S = topics.predict_proba(TEXTS[:5]), stance.predict_proba(TEXTS[:5])
    bad = {"random_state": -1} if late == "random_state" else \
        {"vectorizer": TextVectorizer(max_features=0)}
    for est, y in ((topics, [["x"] if i % 2 else [] for i in range(len(TEXTS))]),
                   (stance, ["a", "b"] * (len(TEXTS) // 2))):
        est.set_params(**bad)
        with pytest.raises(ValueError):
            est.fit(TEXTS, y)
    assert list(topics.classes_) == TOPICS and list(stance.classes_) == STANCES
    np.testing.assert_array_equal(topics.predict_proba(TEXTS[:5]), P)
    np.testing.assert_array_equal(stance.predict_proba(TEXTS[:5]), S)


@pytest.mark.parametrize("cls", [TopicClassifier, StanceClassifier])
@pytest.mark.parametrize("params, says", [
    ({"random_state": -1}, "random_state must be"), ({"random_state": 2 ** 40},
                                                     "random_state must be"),
    ({"random_state": "0"}, "random_state must be"),
    ({"vectorizer": "tfidf"}, "vectorizer must be None or a classify TextVectorizer")])
def test_random_state_and_vectorizer_are_checked_at_fit(cls, params, says):
    y = LABELS if cls is TopicClassifier else STANCE
    with pytest.raises(ValueError, match=says):
        cls(**params).fit(TEXTS, y)


def test_a_scikit_learn_vectorizer_is_refused_by_name():
    from sklearn.feature_extraction.text import TfidfVectorizer

    with pytest.raises(ValueError, match="got TfidfVectorizer"):
        TopicClassifier(vectorizer=TfidfVectorizer()).fit(TEXTS, LABELS)


@pytest.mark.parametrize("params, says", [
    ({"lexicon": "no"}, "lexicon must be True or False"),
    ({"abbreviations": "False"}, "abbreviations must be True or False"),
    ({"char_ngrams": "yes"}, "char_ngrams must be True or False"),
    ({"ngram_range": 2}, "ngram_range must be")])
def test_vectorizer_flags_are_checked_not_taken_as_true(params, says):
    with pytest.raises(ValueError, match=says):
        TextVectorizer(**params).fit(TEXTS)


@pytest.mark.parametrize("X", [None, 5, {"a": "t1"}, {"t1", "t2"}], ids=type)
def test_texts_that_are_no_sequence_are_named(X):
    """They gave "'NoneType' object is not iterable" or "got shape ()"."""
    with pytest.raises(ValueError, match=f"expected a sequence of texts .*got {type(X).__name__}"):
        TopicClassifier().fit(X, [["a"], []])


def test_stance_labels_of_one_kind_in_several_types_are_fine():
    """ints beside numpy ints, or beside floats, are numbers alike (scikit-learn takes them)."""
    codes = [STANCES.index(s) for s in STANCE]
    for y in ([np.int64(v) if i % 2 else v for i, v in enumerate(codes)],
              [float(v) if i % 2 else v for i, v in enumerate(codes)]):
        assert len(StanceClassifier().fit(TEXTS, y).classes_) == 3


def test_ngram_range_as_an_array_is_fine():
    assert TextVectorizer(ngram_range=np.array([1, 2])).fit(TEXTS).vocabulary_


@pytest.mark.parametrize("y, says", [
    (list(STANCE[:-1]) + [float("nan")], "missing"),
    (list(STANCE[:-1]) + [1], "of one kind")])
def test_stance_labels_missing_or_of_mixed_kinds(y, says):
    """NaN used to become a class 'nan', and an int among names the class '1'."""
    with pytest.raises(ValueError, match=says):
        StanceClassifier().fit(TEXTS, y)


@pytest.mark.parametrize("last, says", [
    (None, "expected a list of labels"), ("aviation", "expected a list of labels"),
    ([None], "a label is missing")])
def test_label_lists_with_a_row_or_label_missing(last, says):
    """A None row gave numpy's "inhomogeneous shape"; a None label became a topic 'None'."""
    with pytest.raises(ValueError, match=f"y row {len(TEXTS) - 1}: {says}"):
        TopicClassifier(cv=2).fit(TEXTS, [list(r) for r in LABELS[:-1]] + [last])


def test_scoring_with_label_lists_a_model_fitted_on_an_indicator_matrix_says_so():
    """Its classes are 0..k-1, so every named label was 'never seen': the score was 0.0."""
    clf = TopicClassifier(cv=2).fit(TEXTS, INDICATOR, groups=GROUPS)
    assert clf.score(TEXTS, INDICATOR) > 0
    with pytest.raises(ValueError, match="none of y's labels"):
        clf.score(TEXTS, LABELS)


def test_score_counts_labels_the_model_never_saw_as_missed():
    from sklearn.metrics import f1_score
    from sklearn.preprocessing import MultiLabelBinarizer

    clf = TopicClassifier(cv=2).fit(TEXTS, LABELS, groups=GROUPS)
    Y = [list(r) for r in LABELS]
    Y[0] = Y[0] + ["rare"]
    Y[1] = ["rare"]
    mlb = MultiLabelBinarizer(classes=TOPICS + ["rare"]).fit(Y)
    pred = np.hstack([clf.predict(TEXTS), np.zeros((len(TEXTS), 1), dtype=int)])
    assert clf.score(TEXTS, Y) == pytest.approx(
        f1_score(mlb.transform(Y), pred, average="micro"))
    assert clf.score(TEXTS, Y) < clf.score(TEXTS, LABELS)
    with pytest.raises(ValueError, match="rows of"):
        clf.score(TEXTS, INDICATOR[:-1])


@pytest.mark.parametrize("n_jobs", [None, -1])
def test_n_jobs_as_scikit_learn_means_it(n_jobs):
    one = TopicClassifier(cv=2, n_jobs=1).fit(TEXTS, LABELS, groups=GROUPS)
    other = TopicClassifier(cv=2, n_jobs=n_jobs).fit(TEXTS, LABELS, groups=GROUPS)
    np.testing.assert_array_equal(other.coef_, one.coef_)


def test_estimators_of_a_saved_model_carry_its_feature_recipe():
    """``vectorizer`` is the saved model's recipe (unfitted), so a clone refits features as
    that model built them."""
    from classify import api

    topics, stance = api.load_model(api.bundled_model_dir()).estimators()
    for est in (topics, stance):
        recipe = est.get_params()["vectorizer"]
        assert not hasattr(recipe, "features_")
        assert recipe.get_params() == est.vectorizer_.get_params()
    refit = clone(topics).set_params(cv=2).fit(TEXTS, LABELS, groups=GROUPS)
    assert refit.vectorizer_.get_params() == topics.vectorizer_.get_params()
    assert refit.vectorizer_.get_params()["char_ngrams"] is True
