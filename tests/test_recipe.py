"""A data directory's recipe.json: the options it fills in, the weight of files outside its
corpus, refusals of a broken recipe, and labels/recipe.json agreeing with the bundled model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import BUNDLED, ROOT, assert_clean_error, make_records, run_main, write_jsonl

from classify import api
from classify.errors import DataError
from classify.model import TrainOptions
from classify.recipe import RECIPE_NAME, apply_recipe, find_recipe, load_recipe

PARAMS = {"topics": {"ngram_range": [1, 1], "char_ngrams": False, "loss": "hinge", "C": 0.5,
                     "class_weight": None, "word_view": False, "threshold_strategy": "global",
                     "threshold_floor": None},
          "stance": {"C": 2.0, "class_weight": "balanced"}}


def _corpus(tmp_path: Path, **recipe) -> Path:
    """A data directory: corpus.jsonl (the corpus), mine.jsonl (not in it), a recipe."""
    d = tmp_path / "data"
    records = make_records()
    write_jsonl(d / "corpus.jsonl", records[20:])
    write_jsonl(d / "mine.jsonl", records[:20])
    body = {"thresholds": "shrunk", "prevalence": 0.1, "params": PARAMS, "own_weight": 4,
            "corpus": ["corpus.jsonl"], **recipe}
    (d / RECIPE_NAME).write_text(json.dumps({k: v for k, v in body.items() if v is not None}))
    return d


def test_the_recipe_fills_in_open_options_and_weighs_files_outside_its_corpus(tmp_path):
    d = _corpus(tmp_path)
    opts, weights, info = apply_recipe([d], TrainOptions(), None)
    assert (opts.thresholds, opts.prevalence, opts.params) == ("shrunk", 0.1, PARAMS)
    assert weights == {str(d / "mine.jsonl"): 4.0}
    assert info["own_files"] == [str(d / "mine.jsonl")] and info["own_weight"] == 4.0
    # what the user sets stays: a flag of theirs, a weight of theirs, their search
    opts, weights, info = apply_recipe([d], TrainOptions(prevalence=0.3, C=2.0),
                                       {d / "mine.jsonl": 2.0})
    assert (opts.thresholds, opts.prevalence, opts.params, opts.C) == ("shrunk", 0.3, None, 2.0)
    assert weights == {d / "mine.jsonl": 2.0}
    assert set(info["options"]) == {"thresholds"}
    assert apply_recipe([d], TrainOptions(fast=True), None)[0].params is None
    # a directory weight covers the file too; own_weight 1 weighs nothing
    assert apply_recipe([d], TrainOptions(), {d: 3.0})[1] == {d: 3.0}
    assert apply_recipe([_corpus(tmp_path / "b", own_weight=1)], TrainOptions(), None)[1] is None


def test_a_file_given_beside_the_directory_counts_as_your_own(tmp_path):
    d = _corpus(tmp_path)
    extra = write_jsonl(tmp_path / "elsewhere.jsonl", make_records(n_per_topic=3, seed=5))
    _, weights, _ = apply_recipe([d, extra], TrainOptions(), None)
    assert weights == {str(d / "mine.jsonl"): 4.0, str(extra): 4.0}


def test_no_recipe_no_change(tmp_path, data_dir):
    opts = TrainOptions()
    assert apply_recipe([data_dir], opts, None) == (opts, None, {})
    assert api.with_recipe([_corpus(tmp_path)], opts, None, recipe=False) == (opts, None, {})


@pytest.mark.parametrize("body, says", [
    ({"thresholds": "best"}, "'thresholds' must be one of"),
    ({"prevalence": 1.5}, "'prevalence' must lie strictly between 0 and 1"),
    ({"prevalence": True}, "'prevalence' must lie strictly between 0 and 1"),
    ({"own_weight": -2}, "'own_weight' must be a positive number"),
    ({"own_weight": "10"}, "'own_weight' must be a number, got '10'"),
    ({"params": {"topics": {"C": "big"}}}, "'params' cannot be trained with"),
    ({"params": [1]}, "'params' cannot be trained with"),
    ({"corpus": "corpus.jsonl"}, "'corpus' must be a list of data file names"),
    ({"corpus": ["gone.jsonl"]}, "its corpus names gone.jsonl, which is not in"),
    ({"prevalance": 0.1}, "unknown key 'prevalance'"),
])
def test_a_broken_recipe_is_refused_naming_it(tmp_path, body, says):
    d = _corpus(tmp_path)
    (d / RECIPE_NAME).write_text(json.dumps(body))
    with pytest.raises(DataError, match=f"{RECIPE_NAME}: .*{says}"):
        find_recipe([d])


def test_two_recipes_are_refused(tmp_path):
    a, b = _corpus(tmp_path / "a"), _corpus(tmp_path / "b")
    with pytest.raises(DataError, match="two training recipes"):
        find_recipe([a, b])


def test_train_uses_the_recipe_and_records_it(tmp_path):
    d = _corpus(tmp_path)
    r = run_main(["train", "--data", str(d), "--model", str(tmp_path / "m")])
    assert r.code == 0, r
    meta = json.loads((tmp_path / "m" / "meta.json").read_text())
    assert meta["training"]["options"]["prevalence"] == 0.1
    assert meta["training"]["topics"]["params"]["C"] == 0.5  # the recipe's, not a search's
    assert meta["data"]["weights"]["files"] == {str(d / "mine.jsonl"): 4.0}
    assert meta["data"]["recipe"]["file"] == str(d / RECIPE_NAME)
    assert f"recipe {d / RECIPE_NAME}: thresholds shrunk, prevalence 0.1" in r.out
    assert "1 file(s) outside its corpus x4" in r.out

    r = run_main(["train", "--data", str(d), "--model", str(tmp_path / "n"), "--no-recipe",
                  "--fast"])
    assert r.code == 0, r
    meta = json.loads((tmp_path / "n" / "meta.json").read_text())
    assert "recipe" not in meta["data"] and "weights" not in meta["data"]
    assert meta["training"]["options"]["prevalence"] is None
    assert "recipe.json" not in r.out


def test_a_broken_recipe_stops_train_and_evaluate_with_one_line(tmp_path):
    d = _corpus(tmp_path)
    (d / RECIPE_NAME).write_text("{not json")
    for args in (["train", "--model", str(tmp_path / "m")], ["evaluate", "--folds", "2"]):
        r = run_main([*args, "--data", str(d)])
        assert_clean_error(r.code, r.err, RECIPE_NAME)
    assert not (tmp_path / "m").exists()
    # --no-recipe trains without reading it
    r = run_main(["train", "--data", str(d), "--model", str(tmp_path / "m"), "--fast",
                  "--no-recipe"])
    assert r.code == 0, r


def test_labels_recipe_is_the_bundled_models_recipe():
    """A plain `classify train` on labels/ builds the bundled model: the recipe's options are
    the ones meta.json records, and its corpus is the files the model was trained on."""
    recipe = load_recipe(ROOT / "labels" / RECIPE_NAME)
    meta = json.loads((BUNDLED / "meta.json").read_text(encoding="utf-8"))
    opts = meta["training"]["options"]
    assert (recipe.thresholds, recipe.prevalence, recipe.params) == (
        opts["thresholds"], opts["prevalence"], opts["params"])
    assert ["labels/" + c for c in recipe.corpus] == meta["data"]["files"]
    assert recipe.own_weight == api.OWN_LABELS_WEIGHT
    # every data file of labels/ is in the corpus: nothing of ours is weighted as yours
    files = sorted(p.name for p in (ROOT / "labels").glob("*") if p.suffix in (".jsonl", ".csv"))
    assert files == sorted(recipe.corpus)


def test_the_summary_names_the_recipe_only_where_it_set_something(tmp_path):
    d = _corpus(tmp_path)
    r = run_main(["train", "--data", str(d), "--model", str(tmp_path / "m"), "--thresholds",
                  "global", "--prevalence", "0.2", "--fast", "--weight", str(d / "mine.jsonl")])
    assert r.code == 0, r
    assert "recipe.json" not in r.out  # the flags set everything it holds
    r = run_main(["train", "--data", str(d), "--model", str(tmp_path / "n"), "--thresholds",
                  "global", "--fast"])
    assert r.code == 0, r
    assert (f"recipe {d / RECIPE_NAME}: prevalence 0.1; 1 file(s) outside its corpus x4 "
            f"({d / 'mine.jsonl'})") in r.out


def test_evaluate_cross_validates_the_recipe(tmp_path):
    d = _corpus(tmp_path)
    rep = api.evaluate([d], folds=2)
    assert rep.settings["recipe"]["options"]["params"] == PARAMS
    assert "with the fixed parameters the options give" in rep.description
    bare = api.evaluate([d], folds=2, recipe=False)
    assert "recipe" not in bare.settings
    assert "C and per-topic thresholds chosen by CV" in bare.description


def test_train_json_says_what_the_recipe_set(tmp_path):
    d = _corpus(tmp_path)
    r = run_main(["train", "--data", str(d), "--model", str(tmp_path / "m"), "--json"])
    assert r.code == 0, r
    out = json.loads(r.out)
    assert out["recipe"]["options"]["prevalence"] == 0.1
    assert out["recipe"]["own_files"] == [str(d / "mine.jsonl")]
    r = run_main(["train", "--data", str(d), "--model", str(tmp_path / "n"), "--json",
                  "--no-recipe", "--fast"])
    assert json.loads(r.out)["recipe"] is None
