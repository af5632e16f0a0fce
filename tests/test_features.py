"""The batch TF-IDF equals a plain, text-by-text computation of the same definition."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classify.features import SEP, Features, batch_tokens, char_ngrams, tokenize, word_ngrams

TRAIN = [
    "Police seized 40 kg of heroin at Karachi airport on Monday.",
    "The airline said flights to Lahore would resume next week.",
    "Asylum seekers crossed the border at night, officials said.",
    "Militants attacked a checkpoint; the army said three soldiers died.",
    "Shares in the drug maker rose after the FDA approved its pill.",
    "Ministers welcomed the new visa rules for students.",
    "Café owners in Zürich complained about the naïve résumé rules.",
    "Don't expect the O'Neill report before the airline's results.",
]


def reference(f: Features, texts: list[str]) -> np.ndarray:
    """Sublinear tf x idf, L2-normalised per part, computed text by text with dicts."""
    out = np.zeros((len(texts), f.n_features))
    nw = len(f.word_vocab)
    for i, text in enumerate(texts):
        toks = tokenize(text, f.abbreviations)
        parts = [(Counter(word_ngrams(toks)), f.word_vocab, f.word_idf, 0)]
        if f.use_char:
            parts.append((Counter(g for w in toks for g in char_ngrams(w)), f.char_vocab,
                          f.char_idf, nw))
        for counts, vocab, idf, offset in parts:
            row = {vocab[g]: (1 + math.log(c)) * idf[vocab[g]]
                   for g, c in counts.items() if g in vocab}
            norm = math.sqrt(sum(v * v for v in row.values())) or 1.0
            for j, v in row.items():
                out[i, offset + j] = v / norm
    return out


def _fitted(char: bool, lexicon: bool = False) -> Features:
    """Features whose vocabularies TextVectorizer fitted (as training does)."""
    from classify.estimators import TextVectorizer

    return TextVectorizer(char_ngrams=char, lexicon=lexicon).fit(TRAIN).features_


@pytest.mark.parametrize("char", [True, False])
def test_transform_equals_reference(char: bool) -> None:
    f = _fitted(char)
    X = f.transform(TRAIN)
    np.testing.assert_allclose(X.toarray(), reference(f, TRAIN), atol=1e-6)
    new = ["Heroin seized at the airport; zorblatt smugglers fled.", "", "résumé résumé",
           "airline airline airline flights", "x\x00y airport", "ΣΊΣΥΦΟΣ at the border",
           "The F.D.A. and the U.S.'s airline rules"]
    np.testing.assert_allclose(f.transform(new).toarray(), reference(f, new), atol=1e-6)


def test_unseen_words_are_remembered_across_batches() -> None:
    f = _fitted(True)
    first = f.transform(["the smugglerz flew"]).toarray()
    again = f.transform(["smugglerz", "the smugglerz flew"]).toarray()
    np.testing.assert_allclose(first[0], again[1], atol=1e-7)
    assert first[0].any()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(), max_size=40)
                | st.text(alphabet="aB. '\x00", max_size=40), max_size=6), st.booleans())
def test_batch_tokens_equal_per_text(texts: list[str], abbreviations: bool) -> None:
    expected: list[str] = []
    for i, t in enumerate(texts):
        expected += ([SEP] if i else []) + tokenize(t, abbreviations)
    assert batch_tokens(texts, abbreviations) == expected


def test_dotted_abbreviations_are_one_word() -> None:
    text = "The F.A.A. and the U.S.'s e.g. U.S.-led E.D.F.Man; he came home.A cat"
    assert tokenize(text, abbreviations=True) == [
        "the", "faa", "and", "the", "us's", "eg", "us", "led", "edf", "man", "he", "came",
        "home", "a", "cat"]
    assert tokenize("The F.A.A.")[1:] == ["f", "a", "a"]  # without the option: letters
    f = _fitted(True)
    assert f.abbreviations  # the vectorizer's default
    X = f.transform(["The F.D.A. approved its pill.", "The FDA approved its pill."])
    np.testing.assert_allclose(X[0].toarray(), X[1].toarray(), atol=1e-7)


def test_a_model_saved_before_the_option_keeps_splitting_abbreviations(tmp_path) -> None:
    """A model whose stored vectorizer lacks ``abbreviations`` tags as it did when it was
    trained (F.D.A. as the letters f, d, a), while a new model reads it as FDA."""
    import json

    from classify.data import Record
    from classify.model import TrainOptions, train_model
    from classify.persist import load_model, save_model

    topics = ["narcotics", "aviation"]
    records = [Record(text=t, topics=[topics[i % 2]], stance="neutral", source=f"s{i}")
               for i, t in enumerate(TRAIN * 3)]
    m = train_model(records, topics, [], TrainOptions(C=4.0, cv_folds=2, fast=True))
    save_model(m, tmp_path / "m", {})
    pair = ["Shares rose after the F.D.A. approved the pill.",
            "Shares rose after the FDA approved the pill."]
    new, _ = load_model(tmp_path / "m")
    P = new.scores(pair)[0]
    np.testing.assert_allclose(P[0], P[1], atol=1e-6)
    meta_path = tmp_path / "m" / "meta.json"
    meta = json.loads(meta_path.read_text())
    assert meta["format"] == 4 and meta["model"]["vectorizers"][0].pop("abbreviations")
    meta["format"] = 3  # as saved before the option
    meta_path.write_text(json.dumps(meta))
    old, _ = load_model(tmp_path / "m")
    assert not old.topics.features.abbreviations
    assert old.estimators()[0].vectorizer_.get_params()["abbreviations"] is False
    P = old.scores(pair)[0]
    assert not np.allclose(P[0], P[1], atol=1e-6)


@pytest.mark.parametrize("char", [True, False])
def test_fast_scores_equal_matrix_product(char: bool, tmp_path) -> None:
    """Model.scores (no TF-IDF matrix for character n-grams) equals the estimators'
    predict_proba (the plain matrix product), before and after a save and load, also for a
    text that repeats its words thousands of times."""
    from classify.data import Record
    from classify.model import TrainOptions, train_model
    from classify.persist import load_model, save_model

    topics = ["narcotics", "aviation", "immigration", "counterterrorism"]
    records = [Record(text=t, topics=[topics[i % 4]], stance=["neutral", "critical"][i % 2],
                      source=f"s{i}") for i, t in enumerate(TRAIN * 3)]
    m = train_model(records, topics, ["critical", "neutral"],
                    TrainOptions(C=4.0, char_ngrams=char, cv_folds=2, fast=True))
    texts = TRAIN + ["the the the airline airline", "zorblatt heroin heroin heroin", "",
                     "résumé of an unseen smugglerz, twice: smugglerz",
                     # repeats by the thousand (float32 sums once lost the score: aviation
                     # 0.907 for 0.961, 0.0 at 100,000)
                     "The airline cut heroin fares at the airport. " * 20000]
    save_model(m, tmp_path / "m", {})
    for model in (m, m, load_model(tmp_path / "m")[0]):
        # the second time unseen words come from appended rows; then from a saved model
        P, S = model.scores(texts)
        topics, stance = model.estimators()
        np.testing.assert_allclose(P, topics.predict_proba(texts), atol=1e-5)
        np.testing.assert_allclose(S, stance.predict_proba(texts), atol=1e-5)
        assert topics.vectorizer_ is stance.vectorizer_  # one shared feature space


@pytest.mark.parametrize("char", [True, False])
def test_lexicon_features_cover_words_unseen_in_training(char: bool) -> None:
    import pickle

    from classify.features import LEXICON_NAMES, sentiment_lexicon

    lex = sentiment_lexicon()
    assert lex["praised"] > 0 > lex["condemned"]
    f = _fitted(char, lexicon=True)
    for feats in (f, pickle.loads(pickle.dumps(f))):
        X = feats.transform(["They praised it warmly.", "They condemned it.", "Plain words."])
        last = X[:, -len(LEXICON_NAMES):].toarray()
        assert last[0, 0] > 0 and last[0, 1] == 0  # positive valence only
        assert last[1, 1] > 0 and last[1, 0] == 0
        assert not last[2].any()


@pytest.mark.parametrize("char", [True, False])
def test_topic_views_average_a_word_only_model(char: bool) -> None:
    """With word_view and character n-grams, topics average a model on all n-grams and one on
    words only; without character n-grams there is one view."""
    from classify.estimators import TextVectorizer, TopicClassifier

    topics = ["narcotics", "aviation", "immigration", "counterterrorism"]
    Y = [[topics[i % 4]] if i % 5 else [] for i in range(len(TRAIN) * 3)]
    clf = TopicClassifier(TextVectorizer(char_ngrams=char), C=4.0, word_view=True, cv=2)
    clf.fit(TRAIN * 3, Y)
    assert clf.views_ == (2 if char else 1)
    X = clf.vectorizer_.transform(TRAIN)
    z = np.asarray(X @ clf.coef_.T) + clf.intercept_
    sig = 1 / (1 + np.exp(-z))
    L = len(topics)
    expected = (sig[:, :L] + sig[:, L:]) / 2 if char else sig
    np.testing.assert_allclose(clf.predict_proba(TRAIN), expected, atol=1e-9)
    if char:  # the word view has no weight on character n-grams
        nw = len(clf.vectorizer_.features_.word_vocab)
        assert not clf.coef_[L:, nw:].any() and clf.coef_[:L, nw:].any()
    assert clf.predict_proba([]).shape == (0, L)
