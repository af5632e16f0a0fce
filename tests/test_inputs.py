"""Inputs as analysts have them: HTML pages and scraped plain-text pages."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT, assert_clean_error, run_main

from classify import api
from classify.boilerplate import line_verdicts, split_prose
from classify.errors import DataError
from classify.webpage import looks_like_html

SCRAPED = ROOT / "seeds" / "002_01799f4d18c26965.txt"

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Customs seize heroin on Lahore flight</title></head>
<body><header><nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a>
</nav></header>
<main><article><h1>Customs seize heroin on Lahore flight</h1>
<p>Customs officers seized 40 kilograms of heroin at Heathrow airport on Tuesday, the Home
Office said in a statement.</p>
<p>The drugs were hidden in the lining of suitcases on a flight from Lahore. Two passengers
were arrested. Police said the haul had a street value of four million pounds.</p>
</article></main>
<footer><p>Download our app</p><p>Copyright 2025 The Daily Planet. All rights reserved.</p>
</footer></body></html>
"""


def test_scraped_page_keeps_prose_only():
    text = SCRAPED.read_text(encoding="utf-8")
    kept = [v.text for v in line_verdicts(text) if v.reason is None]
    assert kept[0].startswith("Pakistan, UK discuss counterterrorism")
    assert kept[1].startswith("ISLAMABAD:")
    assert len(kept) == 2  # the headline once, and the article body
    dropped = {v.text.strip(): v.reason for v in line_verdicts(text) if v.reason}
    assert dropped["logo"] and dropped["#"] and dropped["time18-04-2025"]
    assert dropped["DOWNLOAD THE APP"] == "page furniture"
    assert dropped["• Politics"]
    for s in split_prose(text):
        assert text[s.start:s.end] == s.text


def test_clean_article_loses_nothing():
    text = (ROOT / "seeds" / "000_f5626b0ffdcc9b6c.txt").read_text(encoding="utf-8")
    assert all(v.reason is None for v in line_verdicts(text))


@pytest.mark.parametrize("line, dropped", [
    ("Updated 18 April 2025, 10:32 GMT", True),
    ("April 18, 2025", True),
    ("Share on Facebook", True),
    ("Read more: Pakistan and UK sign new pact", True),
    ("| \u2022 |", True),
    ("Sport", True),
    ("Heroin Seized At Heathrow Airport", False),
    ("On 18 April 2025 police seized two tonnes of cocaine in Karachi.", False),
    ("Apple said its App Store rules would change in the EU next month.", False),
])
def test_line_rule(line, dropped):
    (v,) = line_verdicts(line)
    assert (v.reason is not None) == dropped, v


def test_api_keep_all_and_offsets(model_dir):
    text = SCRAPED.read_text(encoding="utf-8")
    art = api.tag_text(text, model_dir)
    every = api.tag_text(text, model_dir, keep_all=True)
    assert len(art.sentences) < len(every.sentences)
    assert not any(s.text == "logo" for s in art.sentences)
    assert any(s.text == "logo" for s in every.sentences)
    for s in art.sentences:
        assert text[s.start:s.end] == s.text


def test_cli_keep_all(model_dir):
    plain = run_main(["tag", str(SCRAPED), "--model", str(model_dir), "--format", "jsonl"])
    every = run_main(["tag", str(SCRAPED), "--model", str(model_dir), "--format", "jsonl",
                      "--keep-all"])
    assert plain.code == every.code == 0
    assert '"text":"logo"' not in plain.out.replace(" ", "")
    assert '"text":"logo"' in every.out.replace(" ", "")


def test_only_furniture_is_an_error(model_dir, tmp_path):
    f = tmp_path / "nav.txt"
    f.write_text("Home\nNews\nSport\n#\n")
    r = run_main(["tag", str(f), "--model", str(model_dir)])
    assert_clean_error(r.code, r.err, "nav.txt")
    assert "--keep-all" in r.err
    assert run_main(["tag", str(f), "--model", str(model_dir), "--keep-all"]).code == 0


def test_sniffing():
    assert looks_like_html(b"\n  <!DOCTYPE html>\n<html>")
    assert looks_like_html(b"\xef\xbb\xbf<html lang='en'>")
    assert looks_like_html(b"<!-- saved page -->\n<html>")
    assert not looks_like_html(b"Police said <html> tags were found.")
    assert not looks_like_html(b'{"text": "<html>"}')
    # XHTML: an XML declaration first (before: tagged as one sentence of markup)
    assert looks_like_html(b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html PUBLIC>')
    assert looks_like_html(b"<?xml version='1.0'?><html xmlns='http://www.w3.org/1999/xhtml'>")
    assert not looks_like_html(b'<?xml version="1.0"?>\n<rss version="2.0">')


def test_html_file_title_first(model_dir, tmp_path):
    pytest.importorskip("trafilatura")
    f = tmp_path / "page.html"
    f.write_text(PAGE)
    art = api.tag_text(PAGE, model_dir, html=True)
    texts = [s.text for s in art.sentences]
    assert texts[0] == "Customs seize heroin on Lahore flight"
    assert any(t.startswith("Customs officers seized 40 kilograms") for t in texts)
    assert not any(t == "Home" or "Download" in t or "rights reserved" in t for t in texts)
    r = run_main(["tag", str(f), "--model", str(model_dir), "--format", "jsonl"])
    assert r.code == 0, r
    assert "Customs seize heroin on Lahore flight" in r.out


@pytest.mark.parametrize("suffix", [".ndjson", ".json"])
def test_json_lines_under_other_names_are_batches(model_dir, tmp_path, suffix):
    """Before: each raw JSON line was tagged as a sentence of one article, exit 0."""
    lines = ['{"id": "a", "text": "Police seized heroin at the airport."}',
             '{"id": "b", "text": "The airline cut fares."}']
    f = tmp_path / f"batch{suffix}"
    f.write_text("\n".join(lines) + "\n")
    r = run_main(["tag", str(f), "--model", str(model_dir), "--format", "jsonl"])
    assert r.code == 0, r
    assert [json.loads(x)["id"] for x in r.out.splitlines()] == ["a", "b"]
    assert [t.id for t in api.tag_file(f, model_dir)] == ["a", "b"]



@pytest.mark.parametrize("form", ["blank first line", "utf-16", "huge first record"])
def test_json_lines_are_told_as_the_reader_reads_them(model_dir, tmp_path, form):
    """The .json check decodes as the batch reader does. Before: these valid JSON Lines files
    were called "a JSON document"."""
    text = "x " * 600_000 if form == "huge first record" else "Police seized heroin."
    body = json.dumps({"id": "a", "text": text}) + "\n"
    f = tmp_path / "batch.json"
    if form == "blank first line":
        f.write_text("\n \n" + body)
    elif form == "utf-16":
        f.write_bytes(body.encode("utf-16"))
    else:
        f.write_text(body)
    r = run_main(["tag", str(f), "--model", str(model_dir), "--format", "jsonl"])
    assert r.code == 0, r.err
    assert [json.loads(x)["id"] for x in r.out.splitlines()] == ["a"]


def test_an_empty_json_file_is_empty_input(model_dir, tmp_path):
    f = tmp_path / "e.json"
    f.write_text(" \n")
    r = run_main(["tag", str(f), "--model", str(model_dir), "--format", "jsonl"])
    assert_clean_error(r.code, r.err, f"{f}: empty input")


@pytest.mark.parametrize("name, content, says", [
    ("records.json", '[{"text": "Police seized heroin."}]', "a JSON document, not JSON Lines"),
    ("records.json", '{\n  "text": "Police seized heroin."\n}', "a JSON document, not JSON"),
    ("records.csv", "text\nPolice seized heroin.\n", "reads JSONL batches, not CSV"),
])
def test_json_documents_and_csv_are_not_read_as_prose(model_dir, tmp_path, name, content,
                                                      says):
    """Before: tagged as an article whose sentences were the markup, exit 0. Now one line
    saying what to do; --input-format text still tags the file as an article."""
    f = tmp_path / name
    f.write_text(content)
    r = run_main(["tag", str(f), "--model", str(model_dir), "--format", "jsonl"])
    assert_clean_error(r.code, r.err, says)
    assert name in r.err
    with pytest.raises(DataError, match=says):
        api.tag_file(f, model_dir)
    assert run_main(["tag", str(f), "--model", str(model_dir), "--input-format", "text"]
                    ).code == 0


def test_html_on_stdin(model_dir):
    pytest.importorskip("trafilatura")
    r = run_main(["tag", "-", "--model", str(model_dir), "--format", "jsonl"],
                 stdin=PAGE.encode())
    assert r.code == 0, r
    assert "<html" not in r.out and "Customs seize heroin on Lahore flight" in r.out


def test_page_without_article_is_reported(model_dir, tmp_path):
    pytest.importorskip("trafilatura")
    bad = tmp_path / "index.htm"
    bad.write_text("<html><head><title>Site</title></head><body><nav><a href='/'>Home</a>"
                   "<a href='/news'>News</a></nav></body></html>")
    good = tmp_path / "good.html"
    good.write_text(PAGE)
    r = run_main(["tag", str(bad), str(good), "--model", str(model_dir), "--format", "jsonl"])
    assert_clean_error(r.code, r.err, "index.htm")
    assert "no article text" in r.err
    assert "Customs seize heroin" in r.out  # the other input is still tagged


def test_missing_trafilatura_hint(monkeypatch, model_dir, tmp_path):
    import builtins

    real = builtins.__import__

    def no_trafilatura(name, *a, **k):
        if name == "trafilatura":
            raise ImportError(name)
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_trafilatura)
    f = tmp_path / "page.html"
    f.write_text(PAGE)
    r = run_main(["tag", str(f), "--model", str(model_dir)])
    assert_clean_error(r.code, r.err, "page.html")
    assert "pip install 'classify[html]'" in r.err


def test_every_reader_of_jsonl_texts_treats_a_line_alike(tmp_path):
    """train, tag, suggest and label read a JSONL file the same way: a line of no-break
    spaces is not blank in JSON's sense, so each names it as malformed at its line; a line
    that is not an object names its type."""
    from classify import data, labeller, suggest, tagging

    good = '{"text": "Police seized heroin.", "topics": [], "stance": "neutral"}\n'
    for body, line, says in (("\u00a0\u00a0\n", 2, "malformed JSON"),
                             ("[1, 2]\n", 2, "record must be a JSON object, got list")):
        f = tmp_path / "x.jsonl"
        f.write_text(good + body, encoding="utf-8")
        where = f"{f}:{line}: {says}"
        for read, arg in ((data.load_dataset, [f]), (labeller.read_items, f),
                          (suggest.read_pool, f)):
            with pytest.raises(DataError) as e:
                read(arg)
            assert str(e.value).startswith(where)
        items = list(tagging.iter_batch(f.read_text(encoding="utf-8").splitlines(True),
                                        str(f)))
        assert items[0].error is None and items[1].error.startswith(where)
