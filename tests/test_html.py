"""Annotated HTML pages (``classify tag --format html``) and the word contributions they shade.

The browser tests run when Debian's Chromium is installed (``.ci/run`` installs it): they
render the page headless and check what the browser made of it, not just the HTML text."""

from __future__ import annotations

import html as htmllib
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import ARTICLE, BUNDLED, SEED_ARTICLE, run_main, write_jsonl
from hypothesis import given, settings
from hypothesis import strategies as st

from classify import api
from classify.contributions import contributions, contributions_many, words
from classify.errors import DataError
from classify.features import char_ngrams, tokenize
from classify.model import sigmoid, stance_proba

CHROMIUM = Path("/usr/bin/chromium")


# ---------------------------------------------------------------- word contributions


def _linear(model, part: str, text: str) -> np.ndarray:
    """The labels' linear scores averaged over the views, from the feature matrix."""
    m = model.topics if part == "topics" else model.stance
    X = m.features.transform([text])
    z = np.asarray(X @ m.coef.T.astype(np.float64)).ravel() + m.intercept
    k = len(m.classes)
    return z.reshape(-1, k).mean(axis=0)


@pytest.mark.parametrize("text", [
    "Police in the capital seized a shipment of heroin and praised the excellent work.",
    "Customs found heroin at the airport; heroin, heroin! Critics denounced the failures.",
    "Café owners in Zürich ΟΔΟΣ naïve ﬁnance",
    "...",
])
def test_contributions_add_up_to_the_linear_score(model_dir, text):
    model = api.load_model(model_dir)
    for part in ("topics", "stance"):
        cs = contributions(model, text, part)
        assert [c.label for c in cs] == (model.topic_labels if part == "topics"
                                         else model.stance_labels)
        total = np.array([sum(c.values) + c.bias for c in cs])
        assert np.allclose(total, _linear(model, part, text), atol=1e-4)
        for c in cs:
            assert len(c.values) == len(c.words)


def _reference_contributions(model, text: str, part: str) -> np.ndarray:
    """(words x labels) contributions by the module docstring's rules, one occurrence and one
    feature at a time: the slow, plain reading that the batched code must agree with."""
    m = model.topics if part == "topics" else model.stance
    f, k = m.features, len(m.classes)
    tokens = tokenize(text, f.abbreviations)
    X = f.transform([text])
    x = dict(zip(X.indices.tolist(), X.data.tolist(), strict=True))
    parts: dict[int, list[tuple[int, float]]] = {}  # column -> [(occurrence, weight)]
    for i, tok in enumerate(tokens):
        parts.setdefault(f.word_vocab.get(tok, -1), []).append((i, 1.0))
        if i + 1 < len(tokens):
            c = f.word_vocab.get(f"{tok} {tokens[i + 1]}", -1)
            parts.setdefault(c, []).extend([(i, 0.5), (i + 1, 0.5)])
        for g in char_ngrams(tok) if f.use_char else []:
            if g in f.char_vocab:
                parts.setdefault(len(f.word_vocab) + f.char_vocab[g], []).append((i, 1.0))
        v = (f.lexicon or {}).get(tok, 0.0)
        if f.n_lexicon and v:
            first = f.n_features - f.n_lexicon
            for col in (first, first + 2) if v > 0 else (first + 1, first + 3):
                parts.setdefault(col, []).append((i, abs(v)))
    w = np.asarray(m.coef, dtype=np.float64).reshape(-1, k, m.coef.shape[1]).mean(axis=0)
    out = np.zeros((len(tokens), k))
    for c, items in parts.items():
        total = sum(wt for _, wt in items)
        for i, wt in items:
            if c >= 0:
                out[i] += wt / total * x.get(c, 0.0) * w[:, c]
    return out


def test_contributions_follow_the_sharing_rules_in_a_batch(model_dir):
    """Each word's share, computed for a batch at once, is what the rules give text by text
    (repeated words and n-grams, unknown words, a word of the lexicon, accents, empty text)."""
    model = api.load_model(model_dir)
    texts = ["Police seized heroin; heroin, heroin! Critics denounced the excellent raid.",
             "", "Zürich café owners fly ﬁrst class to the U.S. airport",
             "Unheard-of zzyzx qwertyuiop words", "terror " * 3 + "terrible terrific"]
    parts = ["topics", "stance"]
    batch = contributions_many(model, texts, [[(p, None) for p in parts]] * len(texts))
    for text, cs in zip(texts, batch, strict=True):
        for part in parts:
            got = np.column_stack([c.values for c in cs if c.part == part])
            assert np.allclose(got, _reference_contributions(model, text, part), atol=1e-9)
            alone = np.column_stack([c.values for c in contributions(model, text, part)])
            assert np.allclose(alone, got)


def test_contributions_explain_the_tagging_scores_of_the_bundled_model():
    """Single-view parts: the logistic function of (words + intercept) is the score that
    tagging reports (``Model.scores``)."""
    model = api.load_model(BUNDLED)
    sentences = [s for s in SEED_ARTICLE.read_text(encoding="utf-8").splitlines() if s][:6]
    P, S = model.scores(sentences)
    for text, p, s in zip(sentences, P, S, strict=True):
        if model.topics.views == 1:
            z = [sum(c.values) + c.bias for c in contributions(model, text, "topics")]
            assert np.allclose(sigmoid(np.array(z)), p, atol=1e-5)
        z = [sum(c.values) + c.bias for c in contributions(model, text, "stance")]
        assert np.allclose(stance_proba(np.array([z]))[0], s, atol=1e-5)


def test_words_point_into_the_original_text():
    text = "Zürich’s CAFÉ re-opened; ΟΔΟΣ 😀 naïve ﬁnance İstanbul"
    ws = words(text)
    assert [text[w.start:w.end] for w in ws] == [
        "Zürich", "s", "CAFÉ", "re", "opened", "ΟΔΟΣ", "naïve", "ﬁnance", "İstanbul"]
    assert [w.token for w in ws][:3] == ["zurich", "s", "cafe"]
    text = "Zürich’s F.B.I. and U.S.'s CAFÉ"
    ws = words(text, abbreviations=True)
    assert [text[w.start:w.end] for w in ws] == ["Zürich", "s", "F.B.I", "and", "U.S.'s", "CAFÉ"]
    assert [w.token for w in ws] == ["zurich", "s", "fbi", "and", "us's", "cafe"]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(), max_size=60)
       | st.text(alphabet="aBé. '’Σς-", max_size=60), st.booleans())
def test_words_are_the_tokens_and_slice_the_text(text, abbreviations):
    """The explained words are the tokens the model reads, each the slice of the original
    text it was read from (a dotted abbreviation spans its dots)."""
    if "σ" in text.lower() or "ς" in text.lower():
        return  # a final sigma's case depends on its neighbours: see words()
    ws = words(text, abbreviations)
    assert [w.token for w in ws] == tokenize(text, abbreviations)
    for w in ws:
        assert 0 <= w.start < w.end <= len(text)
        # (one character can normalise to several tokens: "¼" is 1⁄4)
        assert w.token in tokenize(text[w.start:w.end], abbreviations)


def test_word_with_a_topic_pushes_toward_it(model_dir):
    """The topic word of an invented sentence is among the words that push it most."""
    [c] = api.word_contributions("Police seized a shipment of heroin on Tuesday.",
                                 labels=["narcotics"], model_dir=model_dir)
    assert c.label == "narcotics" and c.part == "topics"
    assert "heroin" in [w for w, _ in c.top(3)]
    as_dict = c.to_dict("Police seized a shipment of heroin on Tuesday.")
    assert [w["text"] for w in as_dict["words"]][:2] == ["Police", "seized"]


def test_why_lists_the_words_that_push_each_label_most(model_dir):
    """``why`` names whole words of the sentence (never character n-grams), the same words
    and order as the contributions the page shades."""
    text = ("Police seized a shipment of heroin at the airport. "
            "Leaders praised the excellent work of the customs officers.")
    article = api.tag_text(text, model_dir=model_dir)
    assert any(s.topics for s in article.sentences)
    for s in article.sentences:
        assert set(s.why) == set(s.topics) | {s.stance}
        tokens = tokenize(s.text)
        for label, listed in s.why.items():
            [c] = api.word_contributions(s.text, part="topics" if label in s.topics
                                         else "stance", labels=[label], model_dir=model_dir)
            assert listed == [w for w, _ in c.top(3)]
            assert listed and all(w in tokens for w in listed)
    assert "praised" in article.sentences[1].why[article.sentences[1].stance] or \
        "excellent" in article.sentences[1].why[article.sentences[1].stance]


def test_word_contributions_unknown_label(model_dir):
    with pytest.raises(DataError, match="unknown topics label"):
        api.word_contributions("text", labels=["weather"], model_dir=model_dir)


# ---------------------------------------------------------------- the page


def _data(page: str) -> dict:
    m = re.search(r"<script type='application/json' id='data'>(.*?)</script>", page, re.S)
    assert m, "no data block"
    return json.loads(m.group(1))


def assert_self_contained(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert not re.search(r"https?://", page), "a URL in the page"
    assert not re.search(r"\s(src|srcset|action)\s*=", page, re.I)
    assert re.findall(r"href=['\"]([^'\"]*)", page) == [
        h for h in re.findall(r"href=['\"]([^'\"]*)", page) if h.startswith("#")]
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert "default-src 'none'" in page  # CSP: the browser fetches nothing


def test_article_page_cli(model_dir, tmp_path):
    f = tmp_path / "article.txt"
    f.write_text(ARTICLE, encoding="utf-8")
    r = run_main(["tag", str(f), "--model", str(model_dir), "--format", "html"])
    assert r.code == 0, r.err
    page = r.out
    assert_self_contained(page)
    a = api.tag_text(ARTICLE, model_dir, name=str(f))
    data = _data(page)
    assert len(data["units"]) == len(a.sentences)
    assert [t[0] for t in data["topics"]] == api.load_model(model_dir).topic_labels
    # the article's topics, stance and rule at the top
    summary = page[page.index("Article topics"):page.index("class='text'")]
    for t in a.topics:
        assert f">{t} <small>" in summary
    assert f"<b>{a.stance}</b>" in summary and htmllib.escape(a.rule) in summary
    # every sentence highlighted by its topics, behind its stance marker
    for i, (s, u) in enumerate(zip(a.sentences, data["units"], strict=True), 1):
        span = re.search(rf"<span class='u[^']*' id='d1s{i}'[^>]*>", page).group(0)
        assert ("linear-gradient" in span) == bool(s.topics)
        assert u["text"] == s.text
        assert {x[0] for x in u["topics"] if x[3]} == set(s.topics)
        assert [x[0] for x in u["stance"] if x[2]] == [s.stance]
        for label, score, *_ in u["topics"]:
            assert score == s.topic_scores[label]
        # contributions of each explained label, one per word, words slicing the text
        assert {x[0] for x in u["why"]} >= set(s.topics) | {s.stance}
        offsets = u["w"]
        # a word, or a dotted abbreviation read as one word (U.S, F.B.I)
        assert all(re.fullmatch(r"\w+(?:'\w+)?|(?:[A-Za-z]\.)+[A-Za-z](?:'\w+)?",
                                s.text[a_:b_])
                   for a_, b_ in zip(offsets[::2], offsets[1::2], strict=True))
        assert all(len(x[3]) == len(offsets) // 2 for x in u["why"])
    # paragraphs of the source are kept: the headline is a paragraph of its own
    assert page.count("</p><p>") >= 1


def test_article_page_api_equals_cli(model_dir, tmp_path):
    f = tmp_path / "a.txt"
    f.write_text(ARTICLE, encoding="utf-8")
    r = run_main(["tag", str(f), "--model", str(model_dir), "--format", "html"])
    assert r.out == api.article_html(ARTICLE, model_dir, name=str(f))


def test_batch_page_has_an_index_of_records(model_dir, tmp_path):
    recs = [{"id": "r1", "text": "Police seized a shipment of heroin."},
            {"id": "r2", "text": "The airline </script><b>cut</b> fares 😀 on Monday."},
            {"text": "Militants attacked the border post."}]
    f = write_jsonl(tmp_path / "b.jsonl", recs)
    with f.open("a", encoding="utf-8") as fh:
        fh.write("not json\n")
    r = run_main(["tag", str(f), "--model", str(model_dir), "--format", "html"])
    assert r.code != 0 and f"{f}:4" in r.err  # an invalid line stops the run, as elsewhere
    r = run_main(["tag", str(f), "--model", str(model_dir), "--format", "html",
                  "--skip-invalid"])
    assert r.code == 0, r.err
    page = r.out
    assert_self_contained(page)
    assert "<b>cut</b>" not in page and "&lt;/script&gt;" in page
    data = _data(page)
    assert [u["text"] for u in data["units"]] == [x["text"] for x in recs]
    index = page[page.index("<table class='records'>"):page.index("</table>",
                                                                   page.index("class='records'"))]
    for i in (1, 2, 3):
        assert f"href='#d1r{i}'" in index and f"id='d1r{i}'" in page
    assert f"{f}:4: malformed JSON" in index
    tags = api.tag_records(recs, model_dir)
    for t, u in zip(tags, data["units"], strict=True):
        assert {x[0] for x in u["topics"] if x[3]} == set(t.topics)
    # the emoji counts as two UTF-16 units in the offsets the script slices with
    u = data["units"][1]
    ends = u["w"][1::2]
    assert ends[-1] == len(recs[1]["text"].encode("utf-16-le")) // 2 - 1  # before the "."
    # and the API gives the same page
    assert api.records_html(recs, model_dir, name=str(f)).count("class='u") == 3


def test_directory_gives_one_page_with_an_index(model_dir, tmp_path):
    d = tmp_path / "articles"
    d.mkdir()
    (d / "a.txt").write_text(ARTICLE, encoding="utf-8")
    (d / "b.txt").write_text("Coastal guards rescued refugees at sea.\n", encoding="utf-8")
    r = run_main(["tag", str(d), "--model", str(model_dir), "--format", "html"])
    assert r.code == 0, r.err
    assert_self_contained(r.out)
    index = r.out[r.out.index("<section class='index'>"):]
    assert f"href='#d1'>{d / 'a.txt'}<" in index and f"href='#d2'>{d / 'b.txt'}<" in index
    assert "id='d1s1'" in r.out and "id='d2s1'" in r.out


def test_page_for_stance_only_and_topics_only_models(stance_only_model, topics_only_model):
    text = "The mayor strongly supports the new tram line."
    page = api.article_html(text, stance_only_model)
    assert_self_contained(page)
    u = _data(page)["units"][0]
    assert u["topics"] == [] and u["stance"] and u["why"]
    page = api.article_html("Police seized heroin at the airport.", topics_only_model)
    u = _data(page)["units"][0]
    assert u["stance"] == [] and u["topics"]


# ---------------------------------------------------------------- in a real browser

needs_browser = pytest.mark.skipif(not CHROMIUM.exists(),
                                   reason="needs Debian's chromium (apt-get install chromium)")


def chromium(tmp_path: Path, url: str, *args: str, timeout: float = 90) -> str:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--no-first-run", f"--user-data-dir={profile}", *args, url]
    p = subprocess.run(cmd, capture_output=True, timeout=timeout, text=True)
    shutil.rmtree(profile, ignore_errors=True)
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout


@pytest.fixture(scope="module")
def seed_page(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("page")
    page = d / "seed.html"
    page.write_text(api.article_html(SEED_ARTICLE.read_text(encoding="utf-8"), BUNDLED,
                                     name="seeds/000_f5626b0ffdcc9b6c.txt"), encoding="utf-8")
    return page


@needs_browser
def test_browser_runs_the_page(seed_page, tmp_path):
    """After the scripts ran: every sentence highlighted, the panel filled for the sentence
    named in the address, its words shaded, nothing broken."""
    data = _data(seed_page.read_text(encoding="utf-8"))
    unit = next(i for i, u in enumerate(data["units"]) if any(x[3] for x in u["topics"]))
    dom = chromium(tmp_path, seed_page.as_uri() + f"#d1s{unit + 1}", "--dump-dom")
    assert 'data-ready="1"' in dom  # the script ran to its end
    assert len(re.findall(r'<span class="u[ "]', dom)) == len(data["units"])
    assert "linear-gradient" in dom
    panel = dom[dom.index('id="panel-body"'):]
    assert f"<h3>Sentence {unit + 1} of " in panel
    assert f'id="d1s{unit + 1}"' in dom and "pinned" in dom
    u = data["units"][unit]
    shaded = panel.count('class="why"')
    assert shaded == len(u["why"])
    first = panel[panel.index('class="why"'):panel.index("</div>", panel.index('class="why"'))]
    spans = re.findall(r'<span class="w"[^>]*data-c="([-0-9.e]+)"[^>]*>([^<]*)</span>', first)
    assert [w for _, w in spans] == [u["text"][a:b] for a, b in zip(u["w"][::2], u["w"][1::2],
                                                                    strict=True)]
    assert [float(c) for c, _ in spans] == u["why"][0][3]
    assert "rgba(26, 150, 65" in first  # green: a word pushed toward the label


@needs_browser
def test_browser_fetches_nothing(seed_page, tmp_path):
    """The page's Content-Security-Policy stops any request, even for a URL smuggled into it
    (checked in the browser's network log; a page without the policy does fetch it)."""
    probe = "<img src='https://probe.example.invalid/x.png'>"
    bare = tmp_path / "bare.html"
    bare.write_text(f"<!DOCTYPE html><html><body>{probe}</body></html>", encoding="utf-8")
    smuggled = tmp_path / "smuggled.html"
    smuggled.write_text(seed_page.read_text(encoding="utf-8").replace("</main>",
                                                                      probe + "</main>"),
                        encoding="utf-8")
    for page, fetched in ((bare, True), (smuggled, False)):
        log = tmp_path / f"{page.stem}.netlog.json"
        chromium(tmp_path, page.as_uri(), f"--log-net-log={log}", "--dump-dom")
        assert ("probe.example.invalid" in log.read_text(encoding="utf-8")) == fetched, page


@needs_browser
def test_browser_screenshot(seed_page, tmp_path):
    shot = tmp_path / "shot.png"
    chromium(tmp_path, seed_page.as_uri(), f"--screenshot={shot}", "--window-size=1200,900",
             "--hide-scrollbars")
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1200, 900)
    assert len(png) > 20_000  # text and colours, not a blank page
