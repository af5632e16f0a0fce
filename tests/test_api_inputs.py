"""The library API on inputs of the wrong kind: a ClassifyError (or the estimators'
ValueError) that says which argument is wrong, never an AttributeError from deep inside, and
nothing created or changed on the way."""

from __future__ import annotations

import json
import multiprocessing
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import make_records, run_main, write_jsonl

from classify import api
from classify.errors import ClassifyError, DataError, ModelError

LEGACY = Path(__file__).parent / "data" / "legacy-v2"
LINES = [json.dumps({"id": str(i), "text": r["text"]}) for i, r in
         enumerate(make_records()[:40])]


@pytest.mark.parametrize("jobs", ["2", 0, -1, 1.5, None, True])
def test_tagging_jobs_must_be_a_whole_number(model_dir, jobs):
    tagger = api.load_tagger(model_dir)
    with pytest.raises(DataError, match="jobs must be a whole number of at least 1"):
        list(api.iter_tag_batch(LINES, "b.jsonl", tagger, jobs=jobs, model_dir=model_dir))


def test_tagging_jobs_are_capped_at_the_cores(model_dir):
    """More processes asked for than there are cores: no more workers than the cores allow
    (a library call once forked one per job asked, until memory ran out), same output. Three
    over the cores, so that code without the cap forks only a few."""
    tagger = api.load_tagger(model_dir)
    one = [t.record() for t in api.iter_tag_batch(LINES, "b.jsonl", tagger)]
    # only the children this call starts: earlier tests may leave pool workers alive
    before = {p.pid for p in multiprocessing.active_children()}
    most = 0
    many = []
    for t in api.iter_tag_batch(LINES, "b.jsonl", tagger, jobs=api.usable_cores() + 3,
                                  model_dir=model_dir):
        most = max(most, len({p.pid for p in multiprocessing.active_children()} - before))
        many.append(t.record())
    assert many == one
    assert most <= api.usable_cores() - 1


@pytest.mark.parametrize("trust", ["false", "no", 1])
def test_only_true_trusts_a_pickle(tmp_path, trust):
    old = tmp_path / "old"
    shutil.copytree(LEGACY, old)
    with pytest.raises(ModelError, match="trust must be True or False"):
        api.load_model(old, trust=trust)
    with pytest.raises(ModelError, match="trust must be True or False"):
        api.convert_model(old, tmp_path / "new", trust=trust)
    assert not (tmp_path / "new").exists()


def test_word_contributions_take_labels_from_a_generator(model_dir):
    text = "Police seized heroin at the port."
    listed = api.word_contributions(text, labels=["narcotics"], model_dir=model_dir)
    generated = api.word_contributions(text, labels=(x for x in ["narcotics"]),
                                       model_dir=model_dir)
    assert len(listed) == 1 and [c.label for c in generated] == [c.label for c in listed]
    with pytest.raises(DataError, match="text must be a str, got list"):
        api.word_contributions([text], model_dir=model_dir)


@pytest.mark.parametrize("call", [
    lambda m: api.load_data(""),
    lambda m: api.load_data([""]),
    lambda m: api.read_article(""),
    lambda m: api.suggest("", m),
    lambda m: api.import_file("", "prodigy", m),
    lambda m: api.export_items("", "prodigy", m),
], ids=["data", "data-list", "read_article", "suggest", "import", "export"])
def test_an_empty_path_is_refused_not_read_as_here(tmp_path, monkeypatch, model_dir, call):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.jsonl").write_text('{"text": "my notes"}\n', encoding="utf-8")
    with pytest.raises(DataError, match="an empty path"):
        call(model_dir)


@pytest.mark.parametrize("call, says", [
    (lambda m, f: api.load_tagger(m, thresholds=[("aviation", 0.5)]),
     "thresholds must map topics to scores"),
    (lambda m, f: api.train([f], "/nonexistent-dir/m", opts={"fast": True}),
     "opts must be a classify.model.TrainOptions"),
    (lambda m, f: api.evaluate([f], opts="fast"), "opts must be a classify.model.TrainOptions"),
    (lambda m, f: api.load_data([f], weights=[(f, 2.0)]), "weights must map data files"),
    (lambda m, f: api.tag_text("Police seized heroin.", tagger=str(m)),
     "tagger must be a Tagger"),
    (lambda m, f: api.read_article("a.html", input_format="bogus"),
     "input_format must be auto or text"),
    (lambda m, f: api.read_article(None), r"path: a path \(str or Path\), got NoneType"),
    (lambda m, f: api.load_data(5), "a path or a list of paths, got int"),
], ids=["thresholds", "train-opts", "evaluate-opts", "weights", "tagger", "input_format",
        "path-none", "paths-int"])
def test_arguments_of_the_wrong_kind_say_which(model_dir, train_file, call, says):
    with pytest.raises(ClassifyError, match=says):
        call(model_dir, train_file)


def test_label_without_a_terminal_creates_nothing(tmp_path, model_dir):
    items = write_jsonl(tmp_path / "todo.jsonl", [{"text": "Fares rose."}])
    out = tmp_path / "new" / "sub" / "answers.jsonl"
    with pytest.raises(DataError, match="needs a terminal"):
        api.label(items, out, model_dir, fd_in=-1)
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("edit", [
    lambda m: m.__setitem__("training", "x"),
    lambda m: m["training"].__setitem__("options", "x"),
    lambda m: m["training"]["options"].__setitem__("prevalence", "x"),
], ids=["training", "options", "prevalence"])
def test_retrain_hint_of_a_hand_edited_meta_json(model_copy, edit):
    meta_path = model_copy / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    edit(meta)
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    assert api.retrain_command("mine.jsonl", model_copy)[:2] == ["classify", "train"]
    assert "--prevalence" not in api.retrain_flags(model_copy)


@pytest.mark.parametrize("field, value", [
    ("C", 0), ("C", -1.0), ("C", float("nan")), ("cv_folds", 0), ("cv_folds", "3"),
    ("cv_folds", 2.5), ("seed", -1), ("seed", 2**32), ("max_cv_records", -5),
    ("lexicon", "no"), ("fast", 1), ("char_ngrams", "yes"), ("params", "x"),
    ("params", {"stance": {"C": "x"}}),
])
def test_train_options_are_checked_before_training(tmp_path, train_file, field, value):
    """Before: C=0 was taken as 'no C' (the search ran), lexicon='no' as on, params='x'
    ignored yet recorded, seed=-1 a numpy error, C=-1 a scikit-learn one."""
    from dataclasses import replace

    from classify.model import TrainOptions

    opts = replace(TrainOptions(fast=True), **{field: value})
    with pytest.raises(DataError, match=rf"^TrainOptions\.{field} "):
        api.train([train_file], tmp_path / "m", opts)
    assert not (tmp_path / "m").exists()



@pytest.mark.parametrize("field, value, message", [
    ("prevalence", "0.05", "--prevalence must lie strictly between 0 and 1"),
    ("prevalence", True, "--prevalence must lie strictly between 0 and 1"),
    ("jobs", 2.0, "--jobs must be a positive number or auto"),
    ("jobs", np.True_, "--jobs must be a positive number or auto"),
    ("cv_folds", np.float64(3), "TrainOptions.cv_folds must be"),
])
def test_train_options_of_the_wrong_type_are_named(tmp_path, train_file, field, value,
                                                    message):
    """Before: a prevalence given as a string raised a bare TypeError from a comparison."""
    from dataclasses import replace

    from classify.model import TrainOptions

    opts = replace(TrainOptions(fast=True), **{field: value})
    with pytest.raises(DataError, match=re.escape(message)):
        api.train([train_file], tmp_path / "m", opts)
    assert not (tmp_path / "m").exists()


def test_train_options_take_numpy_numbers(tmp_path, train_file):
    """A numpy integer is a whole number for cv_folds, seed, max_cv_records and jobs, and a
    numpy float a number for C and prevalence (before: 'must be a whole number, got 3'); the
    model is the one the Python numbers give, and meta.json records Python numbers."""
    from classify.model import TrainOptions

    py = api.train([train_file], tmp_path / "py", TrainOptions(
        fast=True, cv_folds=3, seed=1, max_cv_records=500, jobs=1, C=2.0, prevalence=0.1))
    npy = api.train([train_file], tmp_path / "np", TrainOptions(
        fast=True, cv_folds=np.int64(3), seed=np.int32(1), max_cv_records=np.int64(500),
        jobs=np.int64(1), C=np.float32(2.0), prevalence=np.float64(0.1)))
    assert npy.meta["model_sha256"] == py.meta["model_sha256"]
    meta = json.loads((tmp_path / "np" / "meta.json").read_text(encoding="utf-8"))
    assert meta["training"]["options"]["seed"] == 1
    assert type(meta["training"]["options"]["cv_folds"]) is int


def test_results_serialise_as_json(tmp_path, model_dir, train_file):
    """Every result the API returns has to_dict(), and it goes through json.dumps."""
    tags = api.tag_records([{"id": "a", "text": "Police seized heroin."}], model_dir)
    items = write_jsonl(tmp_path / "items.jsonl", [{"text": "Police seized heroin."}])
    exported = api.export_items(items, "prodigy", model_dir)
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("".join(json.dumps({**json.loads(x), "answer": "accept"}) + "\n"
                             for x in exported.text.splitlines()), encoding="utf-8")
    imported = api.import_file(tasks, "prodigy", model_dir)
    for result in (tags[0], exported, imported):
        back = json.loads(json.dumps(result.to_dict(), allow_nan=False))
        assert back and isinstance(back, dict)
    assert tags[0].to_dict()["text"] == "Police seized heroin."
    assert imported.to_dict()["records"][0]["text"] == "Police seized heroin."


@pytest.mark.parametrize("size", ["64MB", 1.5, None, 0, True])
def test_partition_size_must_be_whole_bytes(model_dir, train_file, size):
    with pytest.raises(ClassifyError, match="partition size must be a whole number of bytes"):
        api.tag_on_cluster([train_file], "tcp://127.0.0.1:1", model_dir, partition_bytes=size)


def _tree(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_an_empty_output_path_does_not_convert_in_place(tmp_path):
    """Before: ``convert_model(old, "")`` took "" as "no output" and replaced the old pickle
    model with the converted one."""
    old = tmp_path / "old"
    shutil.copytree(LEGACY, old)
    before = _tree(old)
    with pytest.raises(DataError, match="output: an empty path"):
        api.convert_model(old, "", trust=True)
    assert _tree(old) == before


def test_an_empty_list_of_data_is_not_the_default_corpus(tmp_path):
    """Before: ``train([])`` trained on all of labels/ (None means that; [] is a mistake)."""
    from classify.model import TrainOptions

    with pytest.raises(DataError, match=r"data: an empty list of paths \(None means labels/\)"):
        api.train([], tmp_path / "m", TrainOptions(fast=True), recipe=False)
    with pytest.raises(DataError, match="an empty list of paths"):
        api.load_data([])
    assert not (tmp_path / "m").exists()


def test_numpy_values_in_tune_prior_and_params_are_saved(tmp_path, train_file):
    """Before: training ran, then json.dumps failed on the numpy values and left an empty
    model directory behind (created before the meta was written)."""
    from classify.model import TrainOptions

    res = api.train([train_file], tmp_path / "a" / "b", TrainOptions(
        fast=True, tune_prior=np.float32(2), params={"stance": {"C": np.float32(1)}}))
    meta = json.loads((tmp_path / "a" / "b" / "meta.json").read_text(encoding="utf-8"))
    assert meta["training"]["options"]["tune_prior"] == 2.0
    assert meta["training"]["stance"]["C"] == 1.0
    assert res.meta["model_sha256"] == meta["model_sha256"]


def test_unknown_keys_of_fixed_params_are_named(tmp_path, train_file):
    """Before: a typo ('topic') was ignored, the search ran, and the typo was recorded."""
    from classify.model import TrainOptions

    with pytest.raises(DataError, match=r"^TrainOptions\.params .*\(not 'topic'\)"):
        api.train([train_file], tmp_path / "m", TrainOptions(fast=True, params={"topic": {}}))
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("texts, message", [
    ([None], "texts must be strings: item 0 is NoneType"),
    (["fine", 5], "texts must be strings: item 1 is int"),
    (None, "texts must be a list of strings, got NoneType"),
    (5, "texts must be a list of strings, got int"),
])
def test_model_scores_name_what_is_not_a_text(model_dir, texts, message):
    with pytest.raises(DataError, match=re.escape(message)):
        api.load_model(model_dir).scores(texts)


def test_numbers_too_large_for_a_float_are_named(tmp_path, model_dir, train_file):
    """Before: OverflowError from float() or math.isfinite deep inside."""
    from classify.estimators import TopicClassifier
    from classify.model import TrainOptions

    huge = 10**400
    with pytest.raises(DataError, match="threshold for 'narcotics': must lie between 0 and 1"):
        api.load_tagger(model_dir, thresholds={"narcotics": huge})
    with pytest.raises(DataError, match=r"^TrainOptions\.C "):
        api.train([train_file], tmp_path / "m", TrainOptions(fast=True, C=huge))
    with pytest.raises(DataError, match=r"tune_prior\) must be a finite number"):
        api.train([train_file], tmp_path / "m", TrainOptions(fast=True, tune_prior=huge))
    with pytest.raises(DataError, match="diversity must be a finite number"):
        api.suggest(train_file, model_dir, diversity=huge)
    with pytest.raises(ValueError, match="C must be a positive number"):
        TopicClassifier(C=huge).fit(["a b", "c d"], [["x"], ["y"]])
    assert not (tmp_path / "m").exists()


def test_numpy_numbers_count_as_numbers(tmp_path, model_dir, train_file):
    """Before: 'n must be a whole number ..., got np.int64(2)' and the like, while the
    string "5" passed as a weight."""
    pool = write_jsonl(tmp_path / "pool.jsonl", [
        {"text": t} for t in ("Customs officers found cocaine in a shipping container.",
                              "The airline cancelled flights after the storm.",
                              "Border guards turned back migrants at the crossing.")])
    picked = api.suggest(pool, model_dir, n=np.int64(2), diversity=np.float32(0.5))
    assert len(picked.suggestions) == 2
    tagger = api.load_tagger(model_dir)
    assert len(list(api.iter_tag_batch(LINES[:3], "b.jsonl", tagger, jobs=np.int64(1)))) == 3
    ds = api.load_data([train_file], weights={train_file: np.int64(3)})
    assert {r.weight for r in ds.records} == {3.0}


@pytest.mark.parametrize("call, message", [
    (lambda m, f: api.evaluate([f], schema=123), "schema: a path (str or Path), got int"),
    (lambda m, f: api.load_data([f], schema=b"s.json"), "schema: a path (str or Path), got bytes"),
    (lambda m, f: api.audit([f], guide=123), "guide: a path (str or Path), got int"),
    (lambda m, f: api.export_items(f, "prodigy", m, guide=123),
     "guide: a path (str or Path), got int"),
])
def test_schema_and_guide_must_be_paths(model_dir, train_file, call, message):
    """Before: a TypeError from pathlib deep inside."""
    with pytest.raises(DataError, match=re.escape(message)):
        call(model_dir, train_file)


def _tagger_of(m):
    return api.load_tagger(m)


@pytest.mark.parametrize("call, message", [
    (lambda m: list(api.iter_tag_batch(LINES, "b.jsonl", None)), "tagger must be a Tagger"),
    (lambda m: list(api.iter_tag_batch(LINES[0], "b.jsonl", _tagger_of(m))),
     "b.jsonl: lines must be an iterable of str lines"),
    (lambda m: list(api.iter_tag_batch([*LINES[:2], 7], "b.jsonl", _tagger_of(m))),
     "b.jsonl:3: a line must be a str, got int"),
    (lambda m: list(api.iter_tag_batch(["{"], "b.jsonl", _tagger_of(m), on_invalid=5)),
     "on_invalid must be None or a function, got int"),
    (lambda m: list(api.iter_render_batch(LINES, "b.jsonl", None, lambda *a: "")),
     "tagger must be a Tagger"),
    (lambda m: list(api.iter_render_batch(LINES, "b.jsonl", _tagger_of(m), None)),
     "render must be a function, got NoneType"),
    (lambda m: list(api.iter_render_batch([b"{}"], "b.jsonl", _tagger_of(m), lambda *a: "",
                                          first_line=5)),
     "b.jsonl:5: a line must be a str, got bytes"),
    (lambda m: api.word_contributions("Police seized heroin.", labels=5, model_dir=m),
     "labels must be None, a label or a list of labels, got int"),
    (lambda m: api.article_text(None), "the page must be a str, got NoneType"),
    (lambda m: api.load_model(m).decide(None), "P must be the"),
    (lambda m: api.load_model(m).decide(np.zeros((2, 1))), r"got \(2, 1\)"),
    (lambda m: api.tag_bag(None, m), "bag must be a dask.bag.Bag"),
    (lambda m: api.tag_on_cluster([m / "meta.json"], None, m),
     "client_or_address must be a scheduler address"),
    (lambda m: api.label("items.jsonl", "out.jsonl", m, fd_in="0"),
     "fd_in must be None .standard input. or a file descriptor"),
], ids=["batch-tagger", "batch-lines-str", "batch-line-int", "on_invalid", "render-tagger",
        "render-none", "render-line-bytes", "contrib-labels", "article_text", "decide-none",
        "decide-shape", "tag_bag", "cluster-client", "label-fd"])
def test_more_arguments_of_the_wrong_kind_say_which(model_dir, call, message):
    """Before: AttributeError or TypeError from deep inside (and tag_on_cluster with no
    client returned an empty run as if done)."""
    if "bag" in message or "client" in message:
        pytest.importorskip("dask")
    with pytest.raises(DataError, match=message):
        call(model_dir)


@pytest.mark.parametrize("call", [
    lambda t: api.tag_text("A plane landed.", tagger=t, explain="no"),
    lambda t: api.tag_text("A plane landed.", tagger=t, keep_all="false"),
    lambda t: api.tag_records([{"text": "A plane landed."}], tagger=t, skip_invalid="no"),
    lambda t: list(api.iter_tag_batch(LINES, "b.jsonl", t, explain=b"yes")),
], ids=["explain", "keep_all", "skip_invalid", "batch-explain"])
def test_flags_must_be_true_or_false(model_dir, call):
    """A string such as "no" is truthy: it used to switch the flag on."""
    with pytest.raises(DataError, match="must be True or False"):
        call(api.load_tagger(model_dir))


def test_numpy_bools_and_numbers_are_flags(model_dir):
    t = api.load_tagger(model_dir)
    for on, off in ((1, 0), (True, None)):
        assert api.tag_text("A plane landed.", tagger=t, explain=on).sentences[0].why
        assert not api.tag_text("A plane landed.", tagger=t, explain=off).sentences[0].why
    on = api.tag_text("Police seized heroin at the airport.", tagger=t, explain=np.bool_(True))
    off = api.tag_text("Police seized heroin at the airport.", tagger=t, explain=np.bool_(False))
    assert on.sentences[0].why and not off.sentences[0].why


@pytest.mark.parametrize("rid", [b"x", 1j])
def test_ids_as_bytes_or_complex_are_refused(model_dir, rid):
    """Before: written as "b'x'" and "1j"."""
    with pytest.raises(DataError, match="record 1: 'id' must be a string or a number"):
        api.tag_records([{"text": "A plane landed.", "id": rid}], model_dir)


def test_topic_estimator_score_without_y(model_dir):
    topics, _ = api.load_model(model_dir).estimators()
    with pytest.raises(ValueError, match="y must be the texts' label lists"):
        topics.score(["A plane landed."], None)


def test_training_jobs_beyond_the_cores_are_capped(tmp_path, train_file):
    """Before: OverflowError from joblib for jobs=10**30; the model is the one of jobs=1."""
    from classify.model import TrainOptions

    big = api.train([train_file], tmp_path / "big", TrainOptions(jobs=10**30, fast=True))
    one = api.train([train_file], tmp_path / "one", TrainOptions(jobs=1, fast=True))
    assert big.meta["model_sha256"] == one.meta["model_sha256"]


def test_C_and_fixed_topic_params_conflict(tmp_path, model_dir, train_file):
    """Before: trained with the fixed params' C and recorded C=3 in meta.json as if used."""
    from classify.model import TrainOptions

    opts = TrainOptions(C=3.0, params=api.model_params(model_dir))
    with pytest.raises(DataError, match="--C and --params-from both fix the topic model's C"):
        api.train([train_file], tmp_path / "m", opts)
    assert not (tmp_path / "m").exists()
    r = run_main(["train", "--data", str(train_file), "--model", str(tmp_path / "m"),
                  "--params-from", str(model_dir), "--C", "3"])
    assert r.code == 2 and "--C and --params-from" in r.err and not (tmp_path / "m").exists()
