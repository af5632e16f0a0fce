"""The shipped training corpus in labels/: coverage, format and no near-duplicates (issue 3)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from classify.data import load_dataset
from classify.estimators import TextVectorizer

ROOT = Path(__file__).resolve().parents[1]
TOPICS = ("counterterrorism", "immigration", "narcotics", "aviation")
STANCES = ("supportive", "critical", "neutral")
# Vocabulary that a topic shares with out-of-scope news: a no-topic sentence using one of these
# words is a hard negative (pharmaceutical "drug", space "launch", software "migration", ...).
TRAPS = re.compile(
    r"\b(drugs?|drugmakers?|pharma\w*|medicines?|doping|flights?|flying|aircraft|air ?strikes?|"
    r"rockets?|launch\w*|satellites?|carriers?|migrat\w*|visas?|borders?|travell?ers?|tourists?|"
    r"hijack\w*|bomb\w*|attack\w*|militant\w*|extremis\w*|terror\w*|raids?|ambush\w*|"
    r"cartels?|smuggl\w*|traffick\w*|security|crime|criminals?|war|strikes?|capital flight)\b",
    re.IGNORECASE)


@pytest.fixture(scope="module")
def corpus():
    return load_dataset([ROOT / "labels"])


def test_corpus_size_and_labels_follow_the_guide(corpus):
    assert len(corpus.records) >= 2500
    assert corpus.topic_labels == sorted(TOPICS)
    assert set(corpus.stance_labels) == set(STANCES)
    assert not corpus.warnings, corpus.warnings[:3]
    for r in corpus.records:
        assert r.topics is not None and r.stance is not None, r.where
        assert r.source, r.where


def test_coverage_per_label(corpus):
    topic_counts = Counter(t for r in corpus.records for t in r.topics or ())
    for t in TOPICS:
        assert topic_counts[t] >= 350, (t, topic_counts[t])
    assert sum(len(r.topics or ()) >= 2 for r in corpus.records) >= 200
    no_topic = [r for r in corpus.records if not r.topics]
    assert len(no_topic) >= 800
    hard = [r for r in no_topic if TRAPS.search(r.text)]
    assert len(hard) >= 400, len(hard)
    stance_counts = Counter(r.stance for r in corpus.records)
    for s in STANCES:
        assert stance_counts[s] >= 450, (s, stance_counts[s])


def test_articles_have_3_to_12_sentences(corpus):
    sizes = Counter(r.source for r in corpus.records if r.source.startswith("corpus/"))
    assert len(sizes) >= 300
    bad = {s: n for s, n in sizes.items() if not 3 <= n <= 12}
    assert not bad, bad


def test_every_seed_sentence_is_labelled(corpus):
    from classify.sentences import split_sentences

    texts = {" ".join(r.text.split()) for r in corpus.records}
    for seed in sorted((ROOT / "seeds").glob("*.txt")):
        for s in split_sentences(seed.read_text(encoding="utf-8")):
            assert " ".join(s.text.split()) in texts, (seed.name, s.text)


def test_no_near_duplicates(corpus):
    """No two records are near-identical (TF-IDF cosine above 0.9), except boilerplate lines
    repeated inside one seed article (e.g. 'Arab News' and '• Arab News')."""
    texts = [r.text for r in corpus.records]
    X = TextVectorizer().fit_transform(texts)
    sims = (X @ X.T).tocoo()
    pairs = [(i, j) for i, j, v in zip(sims.row, sims.col, sims.data, strict=True)
             if i < j and v > 0.9
             and not (corpus.records[i].source == corpus.records[j].source
                      and corpus.records[i].source.startswith("seeds/"))]
    assert not pairs, [(corpus.records[i].where, corpus.records[j].where) for i, j in pairs[:5]]
    assert np.isfinite(sims.data).all()


def test_a_source_names_one_article_in_one_file(corpus):
    """Grouped cross-validation keeps a source's sentences in one fold, so two articles in
    different files must not share a source id (they would be grouped as one article)."""
    files: dict[str, set[str]] = {}
    for r in corpus.records:
        files.setdefault(r.source, set()).add(r.where.split(":")[0])
    shared = {s: sorted(f) for s, f in files.items() if len(f) > 1}
    assert not shared, list(shared.items())[:3]
