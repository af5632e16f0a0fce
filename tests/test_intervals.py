"""Evaluation you can trust at a glance: bootstrap intervals over sources, the learning
curve, reliability curves, and the report's charts."""

from __future__ import annotations

import json
import re
import sys

import numpy as np
import pytest
from conftest import FAST, make_records, run_main, stance_records, write_jsonl

from classify import api, bootstrap, reliability
from classify.data import load_dataset
from classify.evaluate import CURVE_FRACTIONS, predict, topic_matrix
from classify.report import render

F1_WITH_INTERVAL = r"\d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]"


@pytest.fixture(scope="module")
def curve_data(tmp_path_factory):
    """Invented records over 20 sources, so that the training folds can be cut."""
    return write_jsonl(tmp_path_factory.mktemp("curve") / "train.jsonl",
                       make_records(n_sources=20))


@pytest.fixture(scope="module")
def cv(curve_data, tmp_path_factory):
    """``classify evaluate --learning-curve --json --report r.html`` (3 folds, --fast)."""
    d = tmp_path_factory.mktemp("cvreport")
    r = run_main(["evaluate", "--data", str(curve_data), "--folds", "3", "--fast", "--quiet",
                  "--learning-curve", "--json", "--report", str(d / "r.html")])
    assert r.code == 0, r.err
    return json.loads(r.out), d / "r.html"


def _intervals(rep: dict) -> list[tuple[float, list[float]]]:
    """(score, interval) of every F1 (and the stance accuracy) of a JSON report."""
    out = []
    t, s = rep["topics"], rep["stance"]
    out += [(m["f1"], m["f1_ci"]) for m in t["labels"].values()]
    out += [(t[a]["f1"], t[a]["f1_ci"]) for a in ("micro", "macro")]
    out += [(m["f1"], m["f1_ci"]) for m in s["labels"].values()]
    out += [(s["macro_f1"], s["macro_f1_ci"]), (s["accuracy"], s["accuracy_ci"])]
    return out


# ---------------------------------------------------------------- intervals


def test_every_f1_has_an_interval_around_it(cv):
    rep, _ = cv
    pairs = _intervals(rep)
    assert len(pairs) == 4 + 2 + 3 + 2
    for score, (lo, hi) in pairs:
        assert 0.0 <= lo <= hi <= 1.0
        assert lo - 1e-4 <= score <= hi + 1e-4, (score, lo, hi)
    assert any(hi - lo > 0.01 for _, (lo, hi) in pairs)  # 20 sources: not degenerate
    assert rep["settings"]["bootstrap"]["resamples"] == bootstrap.RESAMPLES
    assert rep["settings"]["bootstrap"]["unit"] == "source"
    assert rep["topics"]["sources"] == rep["stance"]["sources"] == 20


def test_same_seed_same_report_and_the_api_agrees(cv, curve_data):
    rep, _ = cv
    again = api.evaluate([curve_data], folds=3, opts=FAST, learning_curve=True).to_dict()
    assert json.loads(json.dumps(again)) == rep


@pytest.fixture(scope="module")
def held_out(model_dir):
    """Real predictions of the session model on records it was not trained on."""
    data = load_dataset([write_jsonl(model_dir.parent / "held.jsonl",
                                     make_records(seed=11, n_sources=12))])
    pred = predict(api.load_model(model_dir), data.records)
    Y = topic_matrix(data.records, pred.topic_labels)
    gold = np.array([pred.stance_labels.index(r.stance) for r in data.records])
    guess = pred.stance_proba.argmax(axis=1)
    return Y, pred.topic_pred, gold, guess, [r.source for r in data.records]


def _width(ci: dict) -> float:
    return ci["macro"][1] - ci["macro"][0]


def test_resampling_is_by_source_not_by_sentence(held_out):
    """Each sentence repeated 3 times within its source: resampling sources gives the same
    intervals (every source's counts scale alike); resampling sentences would narrow them,
    and does, as the second half shows."""
    Y, D, gold, guess, sources = held_out
    k = 3
    rep = np.repeat(np.arange(len(Y)), k)
    once = bootstrap.topic_intervals(Y, D, sources, seed=4)
    thrice = bootstrap.topic_intervals(Y[rep], D[rep], [sources[i] for i in rep], seed=4)
    assert thrice == once
    s_once = bootstrap.class_intervals(gold, guess, 3, 3, sources, seed=4)
    s_thrice = bootstrap.class_intervals(gold[rep], guess[rep], 3, 3,
                                         [sources[i] for i in rep], seed=4)
    assert s_thrice == s_once
    # had sentences been the unit, the copies would count as evidence
    by_sentence = bootstrap.topic_intervals(Y, D, range(len(Y)), seed=4)
    by_sentence_thrice = bootstrap.topic_intervals(Y[rep], D[rep], range(len(rep)), seed=4)
    assert _width(by_sentence_thrice) < 0.75 * _width(by_sentence)


def test_intervals_narrow_with_more_sources(held_out):
    """Four times as many sources (copies of the sources under new names): about half as
    wide."""
    Y, D, _, _, sources = held_out
    rep = np.tile(np.arange(len(Y)), 4)
    more = [f"{sources[i]}#{c}" for c, i in zip(np.repeat(range(4), len(Y)), rep, strict=True)]
    few = bootstrap.topic_intervals(Y, D, sources)
    many = bootstrap.topic_intervals(Y[rep], D[rep], more)
    assert 0.3 * _width(few) < _width(many) < 0.7 * _width(few)


def test_intervals_are_seeded(held_out):
    Y, D, _, _, sources = held_out
    a = bootstrap.topic_intervals(Y, D, sources, seed=1)
    assert bootstrap.topic_intervals(Y, D, sources, seed=1) == a
    assert bootstrap.topic_intervals(Y, D, sources, seed=2) != a


def test_f1_formula_matches_scikit_learn(held_out):
    """With every source drawn once, the resampled F1 is the plain one."""
    from sklearn.metrics import f1_score

    Y, D, *_ = held_out
    tp, fp, fn = ((Y & D).sum(0), (~Y & D).sum(0), (Y & ~D).sum(0))
    assert np.allclose(bootstrap._f1(tp, fp, fn), f1_score(Y, D, average=None,
                                                           zero_division=0))


# ---------------------------------------------------------------- learning curve


def test_learning_curve_has_five_growing_sizes(cv):
    rep, _ = cv
    curve = rep["learning_curve"]
    pts = curve["points"]
    assert [p["fraction"] for p in pts] == list(CURVE_FRACTIONS) and len(pts) == 5
    records = [p["train_records"] for p in pts]
    sources = [p["train_sources"] for p in pts]
    assert records == sorted(records) and len(set(records)) == 5
    assert sources == sorted(sources) and len(set(sources)) == 5
    assert sources[-1] == pytest.approx(20 * 2 / 3, abs=1)  # 3 folds: 2/3 of the sources
    for p in pts:
        for part, key in (("topics", "macro_f1"), ("topics", "micro_f1"), ("stance", "macro_f1")):
            lo, hi = p[part][key + "_ci"]
            assert lo - 1e-4 <= p[part][key] <= hi + 1e-4
    # the full share is the cross-validation itself
    assert pts[-1]["topics"]["macro_f1"] == rep["topics"]["macro"]["f1"]
    assert pts[-1]["stance"]["macro_f1"] == rep["stance"]["macro_f1"]
    # invented topic words: more training data helps topics
    assert pts[-1]["topics"]["macro_f1"] > pts[0]["topics"]["macro_f1"]


def test_learning_curve_needs_cross_validation(model_dir, tmp_path):
    f = write_jsonl(tmp_path / "t.jsonl", make_records(seed=3)[:20])
    r = run_main(["evaluate", "--model", str(model_dir), "--test", str(f), "--learning-curve"])
    assert r.code == 2 and "--learning-curve needs cross-validation" in r.err
    assert "Traceback" not in r.err


# ---------------------------------------------------------------- reliability


def test_reliability_bins():
    scores = np.array([0.05, 0.05, 0.25, 0.25, 0.25, 0.25, 0.95])
    truth = np.array([0, 0, 1, 0, 0, 0, 1])
    c = reliability.curve(scores, truth)
    assert c["n"] == 7 and sum(b["count"] for b in c["bins"]) == 7
    b = c["bins"][2]
    assert (b["lo"], b["hi"], b["count"], b["mean_score"], b["observed"]) == (0.2, 0.3, 4,
                                                                              0.25, 0.25)
    assert c["bins"][5]["mean_score"] is None
    assert c["ece"] == pytest.approx((2 * 0.05 + 0 + 1 * 0.05) / 7, abs=1e-4)
    assert reliability.curve(np.array([1.0]), np.array([1]))["bins"][-1]["count"] == 1


def test_report_reliability_counts_every_pair(cv):
    rep, _ = cv
    n = rep["n_records"]
    assert rep["topics"]["reliability"]["n"] == n * 4
    assert rep["stance"]["reliability"]["n"] == n * 3
    for part in ("topics", "stance"):
        for b in rep[part]["reliability"]["bins"]:
            if b["count"]:
                assert b["lo"] <= b["mean_score"] <= b["hi"] and 0 <= b["observed"] <= 1


# ---------------------------------------------------------------- reports


def test_html_report_draws_charts(cv):
    pytest.importorskip("matplotlib")
    rep, path = cv
    page = path.read_text(encoding="utf-8")
    assert page.count("<svg") == 3  # learning curve, confusion heat map, reliability
    for title in ("Learning curve", "Stance confusion matrix", "Reliability"):
        assert title in page
    assert "pip install 'classify[report]'" not in page
    assert not re.search(r"https?://", page)  # no namespace or metadata URLs either
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))  # the charts' element ids do not collide
    assert re.search(rf"<td class='num'>{F1_WITH_INTERVAL}</td>", page)
    from classify.evaluate import EvalReport

    assert render(EvalReport(**rep), "html") == page  # same numbers, same bytes
    # the tables stay, with the learning curve's points
    assert page.count("<table>") >= 6


def test_html_report_without_matplotlib_keeps_tables_and_says_how(cv, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    from classify.evaluate import EvalReport

    rep, _ = cv
    page = render(EvalReport(**rep), "html")
    assert "<svg" not in page
    assert "charts need matplotlib: pip install 'classify[report]'" in page
    assert "<h2>Learning curve" in page and "<h2>Reliability" in page
    r = run_main(["evaluate", "--data", str(write_jsonl(tmp_path / "s.jsonl",
                                                         stance_records())),
                  "--folds", "3", "--fast", "--report", str(tmp_path / "r.html")])
    assert r.code == 0 and "no charts in the report: charts need matplotlib" in r.err


def test_markdown_and_text_show_intervals(cv):
    from classify.evaluate import EvalReport

    rep = EvalReport(**cv[0])
    md = render(rep, "md")
    assert re.search(rf"^\| \*\*macro\*\* \| [0-9.]+ \| [0-9.]+ \| {F1_WITH_INTERVAL} \|  \|$",
                     md, re.M)
    assert "## Learning curve" in md and "## Reliability" in md
    lc_rows = re.findall(rf"^\| \d+% \| [0-9.]+ \| [0-9.]+ \| {F1_WITH_INTERVAL} \| "
                         rf"{F1_WITH_INTERVAL} \| {F1_WITH_INTERVAL} \|$", md, re.M)
    assert len(lc_rows) == 5
    text = render(rep, "text")
    assert re.search(rf"topics: micro-F1 {F1_WITH_INTERVAL}  macro-F1 {F1_WITH_INTERVAL}", text)
    assert re.search(rf"stance: macro-F1 {F1_WITH_INTERVAL}", text)
    assert "learning curve, topics macro-F1 by share of the training sources: 10%" in text


def test_held_out_evaluation_has_intervals(model_dir, tmp_path):
    f = write_jsonl(tmp_path / "test.jsonl", make_records(seed=11, n_sources=12))
    r = run_main(["evaluate", "--model", str(model_dir), "--test", str(f), "--json"])
    assert r.code == 0, r.err
    rep = json.loads(r.out)
    for score, (lo, hi) in _intervals(rep):
        assert lo - 1e-4 <= score <= hi + 1e-4
    assert rep["topics"]["sources"] == 12
    assert rep["topics"]["reliability"]["n"] == len(make_records(seed=11)) * 4


def test_learning_curve_point_that_cannot_train(tmp_path):
    """At 10% of the sources a training part holds one stance class: that point says why,
    the others are scored, and every report format still renders."""
    recs = [dict(r, source=f"doc-{r['stance']}-{i % 3}")
            for i, r in enumerate(stance_records())]  # each source: one class
    f = write_jsonl(tmp_path / "s.jsonl", recs)
    logs: list[str] = []
    rep = api.evaluate([f], folds=3, opts=FAST, learning_curve=True, log=logs.append)
    pts = rep.learning_curve["points"]
    assert len(pts) == 5
    assert "error" in pts[0] and "at least two classes" in pts[0]["error"]
    assert all("error" not in p and "stance" in p for p in pts[2:])
    assert any(ln.startswith("warning: learning curve at 10%: not trained") for ln in logs)
    assert "not trained:" in render(rep, "md")
    for fmt in ("text", "json", "html"):
        assert render(rep, fmt)
