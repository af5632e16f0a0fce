"""No silent fallbacks: training says what it fell back on (a warning line and meta.json
``training.fallbacks``), and ``api.tag_records`` never passes a bad record off as "no topic"."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from conftest import FAST, make_records, run_main, stance_records, write_jsonl

from classify import api, estimators, splits
from classify.data import Record, load_dataset
from classify.errors import DataError
from classify.evaluate import cross_validate
from classify.model import TrainOptions


def _meta(model_dir) -> dict:
    return json.loads((model_dir / "meta.json").read_text(encoding="utf-8"))


def _rare_favor_records() -> list[dict]:
    """Stance data where every FAVOR record comes from one source: the internal CV fold that
    holds that source has no FAVOR record to train on."""
    recs = stance_records()
    for r in recs:
        if r["stance"] == "FAVOR":
            r["source"] = "doc-favor"
    return recs


def test_normal_training_records_no_fallback(model_dir):
    assert _meta(model_dir)["training"]["fallbacks"] == []


def test_single_source_trains_and_says_so(tmp_path):
    recs = [dict(r, source="only-one") for r in make_records()]
    f = write_jsonl(tmp_path / "one.jsonl", recs)
    r = run_main(["train", "--data", str(f), "--model", str(tmp_path / "m"), "--fast",
                  "--quiet"])
    assert r.code == 0, r.err
    fallbacks = _meta(tmp_path / "m")["training"]["fallbacks"]
    assert any(fb.startswith("topics: too few sources") for fb in fallbacks), fallbacks
    assert any(fb.startswith("stance: too few sources") for fb in fallbacks), fallbacks
    warned = [ln for ln in r.err.splitlines() if "too few sources" in ln]
    assert len(warned) == 2 and all(ln.startswith("classify: warning: ") for ln in warned), r.err
    assert all("\n" not in fb for fb in fallbacks)


SEARCH = TrainOptions(cv_folds=3)  # a real search (not --fast): stance folds are scored


def test_stance_fold_lacking_a_class_is_reported_and_not_scored(tmp_path, monkeypatch):
    import sklearn.metrics

    scored: list[np.ndarray] = []
    real = sklearn.metrics.f1_score

    def spy(y, pred, *a, **k):
        scored.append(np.asarray(y).copy())
        return real(y, pred, *a, **k)

    monkeypatch.setattr(sklearn.metrics, "f1_score", spy)
    logs: list[str] = []
    f = write_jsonl(tmp_path / "rare.jsonl", _rare_favor_records())
    res = api.train([f], tmp_path / "m", SEARCH, log=logs.append)
    monkeypatch.undo()
    assert res.stance_labels == ["AGAINST", "FAVOR", "NONE"]
    fallbacks = _meta(tmp_path / "m")["training"]["fallbacks"]
    lacking = [fb for fb in fallbacks if "lacks class 'FAVOR'" in fb]
    assert len(lacking) == 1, fallbacks
    assert f"warning: {lacking[0]}" in logs
    left_out = int(re.search(r"; its (\d+) rows", lacking[0]).group(1))
    n = len(_rare_favor_records())
    stance_scored = [y for y in scored if len(y) == n - left_out]
    assert stance_scored, "the stance C choice was not scored without the skipped fold"
    for y in stance_scored:
        # Before: the fold was skipped but its rows stayed in, all predicted as class 0.
        assert 1 not in set(y.tolist()), "rows of the skipped fold (all FAVOR) were scored"


def test_convergence_warning_is_one_summary_line_per_part(tmp_path, monkeypatch):
    monkeypatch.setattr(estimators, "LIBLINEAR_MAX_ITER", 1)
    logs: list[str] = []
    f = write_jsonl(tmp_path / "d.jsonl", make_records())
    api.train([f], tmp_path / "m", FAST, log=logs.append)
    lines = [ln for ln in logs if "did not converge" in ln]
    assert len(lines) == 2, logs
    assert lines[0].startswith("warning: topics: liblinear did not converge in ")
    assert lines[1].startswith("warning: stance: liblinear did not converge in ")
    fallbacks = _meta(tmp_path / "m")["training"]["fallbacks"]
    assert [fb for fb in fallbacks if "did not converge" in fb] == \
        [ln.removeprefix("warning: ") for ln in lines]


def test_empty_folds_are_reported(monkeypatch):
    class OneEmptyFold:
        def __init__(self, n_splits, shuffle, random_state):
            self.k = n_splits

        def split(self, X, y):
            n = len(X)
            yield np.arange(n // 2, n), np.arange(n // 2)
            yield np.arange(n // 2), np.arange(n // 2, n)
            yield np.arange(n), np.arange(0)

    monkeypatch.setattr(splits, "MultilabelStratifiedKFold", OneEmptyFold)
    recs = [Record(f"text {i}", (), None, f"s{i % 4}") for i in range(12)]
    said: list[str] = []
    folds = splits.grouped_folds(recs, [], [], 3, warn=said.append)
    assert len(folds) == 2
    assert said == ["1 of 3 folds came out empty (or with nothing to train on) and were "
                    "dropped: 2 folds remain"]
    with pytest.warns(UserWarning, match="1 of 3 folds came out empty"):
        splits.grouped_folds(recs, [], [], 3)


def test_cross_validation_collects_fold_fallbacks(tmp_path):
    f = write_jsonl(tmp_path / "rare.jsonl", _rare_favor_records())
    data = load_dataset([f])
    logs: list[str] = []
    rep = cross_validate(data, folds=2, opts=SEARCH, log=logs.append)
    assert any("stance: internal CV fold" in fb and "lacks class 'FAVOR'" in fb
               for fb in rep.fallbacks), rep.fallbacks
    assert all(fb.startswith("fold ") for fb in rep.fallbacks)
    assert [f"warning: {fb}" for fb in rep.fallbacks] == \
        [ln for ln in logs if ln.startswith("warning:")]
    assert rep.to_dict()["fallbacks"] == rep.fallbacks


@pytest.mark.parametrize("bad, where, what", [
    ({"id": "b"}, "record 2", "missing or empty 'text'"),
    ({"text": "   "}, "record 2", "missing or empty 'text'"),
    ("just a string", "record 2", "must be a JSON object"),
])
def test_tag_records_raises_on_a_bad_record(model_dir, bad, where, what):
    with pytest.raises(DataError) as e:
        api.tag_records([{"text": "Police seized heroin."}, bad,
                         {"text": "Migrants crossed."}], model_dir)
    assert str(e.value).startswith(f"{where}: ") and what in str(e.value)


def test_tag_records_skip_invalid_gives_an_error_not_empty_tags(model_dir):
    tags = api.tag_records([{"id": "a", "text": "Police seized a shipment of heroin."},
                            {"id": "b"}, 42], model_dir, skip_invalid=True)
    assert len(tags) == 3
    good, missing, not_dict = tags
    assert good.error is None and isinstance(good.topics, list) and good.stance is not None
    for t, where in ((missing, "record 2"), (not_dict, "record 3")):
        assert t.error and t.error.startswith(f"{where}: ")
        assert t.topics is None and t.stance is None
        assert t.topic_scores is None and t.stance_scores is None
    assert missing.id == "b"
    rec = missing.record()
    assert rec["topics"] is None and rec["error"].startswith("record 2: ")


def test_iter_tag_batch_streams_and_reports_invalid_lines(model_dir):
    lines = ['{"id": "a", "text": "Police seized heroin at the airport."}\n', "\n",
             '{"id": "b"}\n', '{"text": "Jets were grounded."}\n']
    tagger = api.load_tagger(model_dir)
    with pytest.raises(DataError, match=r"^b\.jsonl:3: missing or empty 'text'"):
        list(api.iter_tag_batch(lines, "b.jsonl", tagger))
    seen: list[str] = []
    tags = list(api.iter_tag_batch(lines, "b.jsonl", tagger, on_invalid=seen.append))
    assert [t.id for t in tags] == ["a", "b", None]
    assert seen == [tags[1].error] and tags[1].topics is None
    assert tags[0].error is None and isinstance(tags[0].topics, list)
