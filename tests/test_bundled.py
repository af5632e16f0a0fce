"""The bundled default model in models/default: present, verified, in sync with labels/."""

from __future__ import annotations

import json

import pytest
from conftest import BUNDLED, ROOT, SEED_ARTICLE, run_cli

from classify import api
from classify.data import load_dataset
from classify.persist import load_model


@pytest.fixture(scope="module")
def seed_tags():
    p = run_cli(["tag", SEED_ARTICLE, "--model", BUNDLED, "--format", "json"])
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    return json.loads(p.stdout)[0]


def test_bundled_model_loads():
    model, meta = load_model(BUNDLED)
    assert sorted(meta["labels"]["topics"]) == ["aviation", "counterterrorism", "immigration",
                                                "narcotics"]
    assert sorted(meta["labels"]["stance"]) == ["critical", "neutral", "supportive"]
    assert model.topic_labels == list(meta["labels"]["topics"])


def test_bundled_model_is_the_package_default():
    assert api.bundled_model_dir().resolve() == BUNDLED.resolve()


def test_bundled_model_in_sync_with_labels(monkeypatch):
    monkeypatch.chdir(ROOT)
    meta = json.loads((BUNDLED / "meta.json").read_text(encoding="utf-8"))
    assert meta["data"]["sha256"] == load_dataset(["labels"]).sha256()


def test_bundled_model_trained_with_the_documented_command():
    """The bundled model's options: per-label shrunk thresholds and a 5% target prevalence
    (chosen on the dev sets' tuning half and the probe sets) and the parameters the AG-wire
    decision was made on; labels/recipe.json gives them to a plain `classify train`."""
    meta = json.loads((BUNDLED / "meta.json").read_text(encoding="utf-8"))
    opts = meta["training"]["options"]
    assert opts["thresholds"] == "shrunk" and opts["prevalence"] == 0.05
    # the parameters of labels/README.md step 13, not whatever a search picks next
    topics, stance = meta["training"]["topics"]["params"], meta["training"]["stance"]
    assert (topics["loss"], topics["C"], topics["class_weight"]) == ("hinge", 0.25, None)
    assert topics["char_ngrams"] and topics["ngram_range"] == [1, 2]
    assert (stance["C"], stance["class_weight"]) == (4.0, "balanced")
    assert opts["params"] == {"topics": topics, "stance": {"C": stance["C"],
                                                           "class_weight": stance["class_weight"]}}
    # labels/README.md documents a plain `classify train`: labels/recipe.json holds the options
    # (test_recipe.py checks they are these)
    assert "\n    classify train\n" in (ROOT / "labels" / "README.md").read_text(encoding="utf-8")


def test_seed_article_narcotics_sentence(seed_tags):
    hits = [s for s in seed_tags["sentence_tags"] if "anti-narcotics operation" in s["text"]]
    assert len(hits) == 1, [s["text"] for s in seed_tags["sentence_tags"]]
    assert "narcotics" in hits[0]["topics"], hits[0]


def test_seed_article_topics(seed_tags):
    assert "counterterrorism" in seed_tags["topics"], seed_tags["topics"]
    text = SEED_ARTICLE.read_text(encoding="utf-8")
    for s in seed_tags["sentence_tags"]:
        assert text[s["start"]:s["end"]] == s["text"]


def test_default_model_used_without_model_flag(tmp_path, seed_tags):
    """From a directory with no ./models/default and no $CLASSIFY_MODEL: the bundled model."""
    p = run_cli(["tag", SEED_ARTICLE, "--format", "json"], cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)[0] == seed_tags


def test_classify_model_env_var(tmp_path, stance_only_model):
    art = tmp_path / "a.txt"
    art.write_text("The mayor condemns the tax reform.", encoding="utf-8")
    p = run_cli(["tag", art, "--format", "json"], cwd=tmp_path,
                env={"CLASSIFY_MODEL": str(stance_only_model)})
    assert p.returncode == 0, p.stderr
    sent = json.loads(p.stdout)[0]["sentence_tags"][0]
    assert sent["topic_scores"] == {}
    assert set(sent["stance_scores"]) == {"AGAINST", "FAVOR", "NONE"}


def test_readme_examples_are_what_the_bundled_model_prints():
    """The README's worked example (its first text block) and its batch example are real
    output: each line shown is a line the tool prints now."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = readme.split("```text\n", 1)[1].split("```", 1)[0].splitlines()
    p = run_cli(["tag", "seeds/000_f5626b0ffdcc9b6c.txt", "--model", BUNDLED], cwd=ROOT)
    assert p.returncode == 0, p.stderr
    printed = set(p.stdout.splitlines())
    lines = [x for x in shown if x.strip() not in ("", "...")]
    assert len(lines) >= 10 and any("why: " in x for x in lines)
    assert [x for x in lines if x not in printed] == []

    record = '{"id": "1", "text": "The airline cut fares on its Lahore route."}'
    assert record in readme
    p = run_cli(["tag", "-", "--input-format", "jsonl", "--format", "jsonl", "--model", BUNDLED],
                input=record.encode())
    assert p.returncode == 0, p.stderr
    assert f"```json\n{p.stdout.strip()}\n```" in readme
