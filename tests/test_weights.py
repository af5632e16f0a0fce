"""Training weights: per record ('weight') and per file or directory (--weight PATH=W)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import FAST, make_records, run_main, write_jsonl

from classify import api
from classify.data import load_dataset
from classify.errors import DataError
from classify.estimators import (
    StanceClassifier,
    TextVectorizer,
    TopicClassifier,
    _fit_binary,
)
from classify.model import TrainOptions
from classify.selection import select_topics

# A few "own" sentences whose wording the bulk data never ties to their topic.
OWN = [
    {"text": "The harbour pilots reported lantern signals off the reef at dawn.",
     "topics": ["narcotics"], "stance": "neutral", "source": "own-1"},
    {"text": "Lantern signals near the reef were logged again by harbour pilots.",
     "topics": ["narcotics"], "stance": "neutral", "source": "own-2"},
    {"text": "Pilots at the harbour saw more lantern signals by the reef.",
     "topics": ["narcotics"], "stance": "neutral", "source": "own-3"},
]


def _meta(model: str) -> dict:
    with open(f"{model}/meta.json", encoding="utf-8") as fh:
        return json.load(fh)


@pytest.fixture(scope="module")
def base_and_own(tmp_path_factory):
    d = tmp_path_factory.mktemp("weights")
    return write_jsonl(d / "base.jsonl", make_records()), write_jsonl(d / "own.jsonl", OWN)


def test_weight_one_everywhere_gives_the_same_model(tmp_path, base_and_own):
    """An explicit weight of 1 (per file and per record) changes nothing: same model file."""
    base, own = base_and_own
    ones = write_jsonl(tmp_path / "own1.jsonl", [{**r, "weight": 1} for r in OWN])
    plain = api.train([base, own], tmp_path / "a", FAST)
    weighted = api.train([base, ones], tmp_path / "b", FAST, weights={base: 1, ones: 1.0})
    assert plain.meta["model_sha256"] == weighted.meta["model_sha256"]
    assert plain.meta["data"]["sha256"] == weighted.meta["data"]["sha256"]
    assert "weights" not in weighted.meta["data"]


def test_weighted_code_paths_with_unit_weights_equal_unweighted():
    """Weights of 1 through the weighted arithmetic (fits, threshold tuning, internal CV
    scores) give what the unweighted path gives."""
    recs = make_records()
    texts = [r["text"] for r in recs]
    topics = [r["topics"] for r in recs]
    groups = [r["source"] for r in recs]
    ones = np.ones(len(texts))
    params = dict(loss="hinge", C=1.0, threshold_strategy="shrunk", threshold_floor=None)
    a = TopicClassifier(TextVectorizer(), **params).fit(texts, topics, groups=groups)
    b = TopicClassifier(TextVectorizer(), **params).fit(texts, topics, groups=groups,
                                                        sample_weight=ones)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-6)
    np.testing.assert_allclose(a.thresholds_, b.thresholds_, atol=1e-9)
    s1 = StanceClassifier(TextVectorizer()).fit(texts, [r["stance"] for r in recs])
    s2 = StanceClassifier(TextVectorizer()).fit(texts, [r["stance"] for r in recs],
                                                sample_weight=ones)
    np.testing.assert_allclose(s1.coef_, s2.coef_, atol=1e-6)
    Y = np.array([[t in r for t in a.classes_] for r in topics])
    sel_a = select_topics(texts, Y, groups, "any", fast=True)
    sel_b = select_topics(texts, Y, groups, "any", fast=True, sample_weight=ones)
    assert [(t.params, round(t.score, 9)) for t in sel_a.trials] == \
        [(t.params, round(t.score, 9)) for t in sel_b.trials]


def test_threshold_weights_per_label_equal_record_weights_column_by_column():
    """Threshold tuning takes record weights (n,) or weights per record and label (n, L):
    repeating the record weights in every column gives the same thresholds, and a column
    weighted on its own moves that label's threshold only (what benchmarks/prevalence.py
    does to one topic)."""
    from classify import thresholds

    rng = np.random.default_rng(1)
    P = rng.random((300, 3))
    Y = (P + rng.normal(0, 0.3, P.shape) > 0.7).astype(int)
    w = rng.uniform(0.5, 3.0, 300)
    for strategy in thresholds.STRATEGIES:
        by_record = thresholds.fit_thresholds(P, Y, strategy, None, "any", w)
        by_label = thresholds.fit_thresholds(P, Y, strategy, None, "any",
                                             np.repeat(w[:, None], 3, axis=1))
        np.testing.assert_array_equal(by_record, by_label)
    W = np.ones_like(P)
    W[:, 2] = np.where(Y[:, 2] == 1, 0.2, 1.5)  # label 2 as if it were much rarer
    plain = thresholds.best_f1_thresholds(P, Y)
    moved = thresholds.best_f1_thresholds(P, Y, W)
    np.testing.assert_array_equal(plain[:2], moved[:2])
    assert moved[2] > plain[2]


def test_integer_weight_acts_like_copies():
    """A record of weight 3 pulls a fit as three copies of it would (liblinear's objective
    is the same)."""
    rng = np.random.default_rng(0)
    import scipy.sparse as sp

    X = sp.csr_matrix(rng.random((40, 6)))
    y = (np.arange(40) % 3 == 0).astype(int)
    w = np.ones(40)
    w[:5] = 3.0
    copies = sp.vstack([X] + [X[:5]] * 2).tocsr()
    yc = np.concatenate([y, y[:5], y[:5]])
    for loss in ("log", "hinge"):
        fw = _fit_binary(X, y, 1.0, 0, loss=loss, sample_weight=w)
        fc = _fit_binary(copies, yc, 1.0, 0, loss=loss)
        np.testing.assert_allclose(fw.coef, fc.coef, atol=0.02)
        unweighted = _fit_binary(X, y, 1.0, 0, loss=loss)
        assert np.abs(unweighted.coef - fc.coef).max() > 0.02


def test_weight_pulls_the_model_toward_own_labels(tmp_path, base_and_own):
    base, own = base_and_own
    texts = [r["text"] for r in OWN]
    plain = api.train([base, own], tmp_path / "plain", FAST)
    heavy = api.train([base, own], tmp_path / "heavy", FAST, weights={own: 10})
    j = plain.topic_labels.index("narcotics")
    p_plain = api.load_model(plain.model_dir).scores(texts)[0][:, j]
    p_heavy = api.load_model(heavy.model_dir).scores(texts)[0][:, j]
    assert (p_heavy > p_plain).all(), (p_plain, p_heavy)
    w = heavy.meta["data"]["weights"]
    assert w["files"] == {str(own): 10.0}
    assert w["weighted_records"] == len(OWN)
    assert w["total_weight"] == len(make_records()) + 10 * len(OWN)
    assert heavy.meta["data"]["sha256"] != plain.meta["data"]["sha256"]


def test_record_weight_times_file_weight_and_most_specific_path(tmp_path):
    d = tmp_path / "data"
    write_jsonl(d / "a.jsonl", [{"text": "One.", "topics": [], "weight": 2}])
    write_jsonl(d / "sub" / "b.jsonl", [{"text": "Two.", "topics": []}])
    ds = load_dataset([d], weights={d: 3, d / "sub": 0.5})
    assert {r.text: r.weight for r in ds.records} == {"One.": 6.0, "Two.": 0.5}
    assert ds.weights == {str(d / "a.jsonl"): 3.0, str(d / "sub" / "b.jsonl"): 0.5}


def test_duplicate_text_keeps_the_larger_weight(tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", [{"text": "Same text.", "topics": ["x"]}])
    b = write_jsonl(tmp_path / "b.jsonl", [{"text": "Same  text.", "topics": ["x"]}])
    ds = load_dataset([a, b], weights={b: 4})
    assert len(ds.records) == 1 and ds.records[0].weight == 4.0


def test_data_directory_and_file_in_it_read_once(tmp_path):
    d = tmp_path / "labels"
    write_jsonl(d / "base.jsonl", [{"text": "One.", "topics": []}])
    own = write_jsonl(d / "mine.jsonl", [{"text": "Two.", "topics": ["y"]}])
    ds = load_dataset([d, own], weights={own: 5})
    assert ds.files == [str(d / "base.jsonl"), str(own)]
    assert [r.weight for r in ds.records] == [1.0, 5.0]


@pytest.mark.parametrize("value", [0, -1, "heavy", True, None, [2], 1001, 1e308, 10**400])
def test_bad_record_weight_names_file_and_line(tmp_path, value):
    f = write_jsonl(tmp_path / "d.jsonl", [{"text": "Fine.", "topics": []},
                                           {"text": "Bad.", "topics": [], "weight": value}])
    if value is None:  # null means "no weight given": 1
        assert load_dataset([f]).records[1].weight == 1.0
        return
    most = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
    with pytest.raises(DataError, match=rf"{f}:2: 'weight' must be "
                       + ("at most 1000" if most else "a positive number")):
        load_dataset([f])


def test_csv_weight_column(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("text,topics,weight\nOne.,a,2.5\nTwo.,b,\n", encoding="utf-8")
    assert [r.weight for r in load_dataset([f]).records] == [2.5, 1.0]


def test_cli_weight_flag(tmp_path, base_and_own):
    base, own = base_and_own
    m = tmp_path / "m"
    r = run_main(["train", "--data", str(base), "--data", str(own), "--weight", str(own),
                  "--model", str(m), "--fast", "--quiet"])
    assert r.code == 0, r.err
    assert _meta(str(m))["data"]["weights"]["files"] == {str(own): api.OWN_LABELS_WEIGHT}
    r = run_main(["train", "--data", str(base), "--data", str(own), "--weight", str(own),
                  "--model", str(m), "--fast"])
    assert f"weighted: {len(OWN)} records ({own} x{api.OWN_LABELS_WEIGHT:g})" in r.out
    r = run_main(["train", "--data", str(base), "--data", str(own), "--weight", f"{own}=2.5",
                  "--model", str(m), "--fast", "--quiet"])
    assert r.code == 0, r.err
    assert _meta(str(m))["data"]["weights"]["files"] == {str(own): 2.5}


@pytest.mark.parametrize("spec, message", [
    ("{own}=x", "the weight after '=' must be a number"),
    ("{own}=-2", "must be a positive number"),
    ("{tmp}/nope.jsonl=2", "names no data file given with --data"),
    ("{own}=1e300", "must be at most 1000"),
])
def test_cli_bad_weight_is_one_line_error(tmp_path, base_and_own, spec, message):
    base, own = base_and_own
    spec = spec.format(own=own, tmp=tmp_path)
    r = run_main(["train", "--data", str(base), "--data", str(own), "--weight", spec,
                  "--model", str(tmp_path / "m"), "--fast", "--quiet"])
    assert r.code == 2
    assert "Traceback" not in r.err
    assert message in r.err and r.err.count("\n") == 1, r.err
    assert not (tmp_path / "m").exists()


def test_cli_weight_given_twice_for_one_path_is_an_error(tmp_path, base_and_own):
    base, own = base_and_own
    r = run_main(["train", "--data", str(base), "--data", str(own), "--weight", f"{own}=2",
                  "--weight", f"{own}=5", "--model", str(tmp_path / "m"), "--fast", "--quiet"])
    assert r.code == 2 and "has a weight already" in r.err and r.err.count("\n") == 1, r.err
    assert not (tmp_path / "m").exists()


def test_params_from_reuses_the_chosen_parameters(tmp_path, model_dir, train_file):
    m = tmp_path / "again"
    r = run_main(["train", "--data", str(train_file), "--model", str(m),
                  "--params-from", str(model_dir)])
    assert r.code == 0, r.err
    progress = r.out + r.err  # what the user sees while it trains: no search is announced
    assert "no model search" in progress and "choosing the model" not in progress, progress
    src, new = _meta(str(model_dir))["training"], _meta(str(m))["training"]
    assert new["topics"]["params"] == src["topics"]["params"]
    assert (new["stance"]["C"], new["stance"]["class_weight"]) == \
        (src["stance"]["C"], src["stance"]["class_weight"])
    assert new["topics"]["trials"] == [] and new["stance"]["trials"] == []


def test_params_from_without_params_is_an_error(tmp_path, model_dir):
    bad = tmp_path / "bad"
    bad.mkdir()
    meta = _meta(str(model_dir))
    meta["training"] = {}
    (bad / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(Exception, match="records no chosen parameters"):
        api.model_params(bad)


def test_evaluate_takes_weights(tmp_path, base_and_own):
    base, own = base_and_own
    rep = api.evaluate([base, own], folds=3, opts=TrainOptions(fast=True),
                       weights={own: 5})
    assert rep.n_records == len(make_records()) + len(OWN)


def test_a_fit_that_overflowed_is_not_saved(tmp_path, base_and_own, monkeypatch):
    """A model holding NaN is refused before saving: the model already in the directory is
    kept byte for byte."""
    base, _ = base_and_own
    m = tmp_path / "m"
    api.train([base], m, FAST)
    before = {p.name: p.read_bytes() for p in m.iterdir()}
    real = api.train_model

    def overflowed(*args, **kwargs):
        model = real(*args, **kwargs)
        model.topics.coef[0, 0] = np.nan
        return model

    monkeypatch.setattr(api, "train_model", overflowed)
    with pytest.raises(DataError, match="not numbers .NaN or infinity., so nothing was saved"):
        api.train([base], m, FAST)
    assert {p.name: p.read_bytes() for p in m.iterdir()} == before
