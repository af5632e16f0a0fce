"""Loading labelled data: JSONL, CSV, directories with schema.json, and validation errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import FAST, run_main, write_jsonl

from classify import api
from classify.data import Schema, load_dataset, parse_record
from classify.errors import DataError


def _jsonl(path, lines: list[str]):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _rec(text, topics=None, stance=None, source=None, **extra) -> str:
    d = {"text": text}
    if topics is not None:
        d["topics"] = topics
    if stance is not None:
        d["stance"] = stance
    if source is not None:
        d["source"] = source
    d.update(extra)
    return json.dumps(d)


# ---------------------------------------------------------------- formats


def test_jsonl_records_and_labels(tmp_path):
    f = _jsonl(tmp_path / "d.jsonl", [
        _rec("Smugglers hid cocaine in banana crates.", ["narcotics"], "neutral", "a"),
        _rec("The airline added a route to Lisbon.", ["aviation"], "supportive", "b"),
        _rec("Officials condemned the hijacking of the jet.",
             ["counterterrorism", "aviation"], "critical", "b", id=17),
    ])
    ds = load_dataset([f])
    assert [r.text for r in ds.records] == [
        "Smugglers hid cocaine in banana crates.", "The airline added a route to Lisbon.",
        "Officials condemned the hijacking of the jet."]
    assert ds.records[2].topics == ("counterterrorism", "aviation")
    assert ds.records[2].stance == "critical"
    assert ds.records[2].source == "b"
    assert ds.records[2].id == "17"
    assert ds.records[0].where == f"{f}:1"
    assert ds.topic_labels == ["aviation", "counterterrorism", "narcotics"]
    assert ds.stance_labels == ["critical", "neutral", "supportive"]
    assert ds.files == [str(f)]
    assert ds.warnings == []


def test_jsonl_blank_lines_skipped_but_counted(tmp_path):
    f = tmp_path / "d.jsonl"
    f.write_text(_rec("First sentence here.", [], "neutral") + "\n\n   \n"
                 + _rec("Second sentence here.", ["aviation"], "neutral") + "\n",
                 encoding="utf-8")
    ds = load_dataset([f])
    assert [r.where for r in ds.records] == [f"{f}:1", f"{f}:4"]


def test_a_key_given_twice_is_named_not_overwritten(tmp_path):
    """JSON keeps the last of two "topics": the first would be dropped without a word. A key's
    name inside a text (escaped quotes) is no repeat."""
    ok = _rec('He said "topics" and "text" twice: "topics".', [], "neutral", "b")
    f = _jsonl(tmp_path / "d.jsonl", [
        ok, '{"text": "Police seized heroin.", "topics": ["narcotics"], "topics": [], '
        '"stance": "neutral"}'])
    with pytest.raises(DataError, match=re.escape(f"{f}:2: the key 'topics' is given twice")):
        load_dataset([f])
    assert load_dataset([_jsonl(tmp_path / "ok.jsonl", [ok])]).records[0].text.count("topics") == 2
    escaped = _jsonl(tmp_path / "e.jsonl", [
        '{"text": "Fares rose.", "topics": [], "stance": "neutral", "t\\u0065xt": "Other."}'])
    with pytest.raises(DataError, match="the key 'text' is given twice"):
        load_dataset([escaped])  # the same key, written with an escape
    nested = _jsonl(tmp_path / "n.jsonl", [  # a field's own object is not ours to check
        _rec("Fares rose.", [], "neutral", "b")[:-1] + ', "raw": {"tag": "a", "tag": "b"}}'])
    assert load_dataset([nested]).records[0].text == "Fares rose."


def test_record_without_source_gets_its_location_as_source(tmp_path):
    f = _jsonl(tmp_path / "d.jsonl", [_rec("A plane landed.", ["aviation"], "neutral")])
    assert load_dataset([f]).records[0].source == f"{f}:1"


def test_csv_topics_semicolon_separated(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text(
        "text,topics,stance,source\n"
        '"Heroin was found in luggage at the airport, police said.",narcotics; aviation,'
        "neutral,s1\n"
        "The council fixed the roads.,,supportive,s2\n"
        "Migrants crossed the border.,immigration,,s3\n",
        encoding="utf-8")
    ds = load_dataset([f])
    assert len(ds.records) == 3
    r0, r1, r2 = ds.records
    assert r0.text == "Heroin was found in luggage at the airport, police said."
    assert r0.topics == ("narcotics", "aviation")
    assert r0.stance == "neutral" and r0.source == "s1"
    assert r1.topics == () and r1.stance == "supportive"
    assert r2.topics == ("immigration",) and r2.stance is None
    assert ds.topic_labels == ["aviation", "immigration", "narcotics"]
    assert ds.stance_labels == ["neutral", "supportive"]
    assert r2.where == f"{f}:4"


def test_csv_without_text_column_is_an_error(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("sentence,topics\nHello there.,aviation\n", encoding="utf-8")
    with pytest.raises(DataError, match=re.escape(f"{f}:1")):
        load_dataset([f])


def test_csv_and_jsonl_give_same_hash(tmp_path):
    j = _jsonl(tmp_path / "d.jsonl", [
        _rec("Customs seized opium at the port.", ["narcotics"], "neutral", "x"),
        _rec("The ministry praised the airline.", ["aviation"], "supportive", "y"),
    ])
    c = tmp_path / "d.csv"
    c.write_text("text,topics,stance,source\n"
                 "Customs seized opium at the port.,narcotics,neutral,x\n"
                 "The ministry praised the airline.,aviation,supportive,y\n", encoding="utf-8")
    assert load_dataset([j]).sha256() == load_dataset([c]).sha256()


def test_directory_with_schema(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    (d / "schema.json").write_text(json.dumps({
        "topics": {"narcotics": "illegal drugs", "aviation": "planes", "piracy": "at sea"},
        "stance": ["supportive", "critical", "neutral"]}), encoding="utf-8")
    _jsonl(d / "a.jsonl", [_rec("Heroin seized.", ["narcotics"], "neutral", "s")])
    (d / "sub").mkdir()
    (d / "sub" / "b.csv").write_text("text,topics,stance\nA jet landed.,aviation,supportive\n",
                                     encoding="utf-8")
    (d / "notes.txt").write_text("not data", encoding="utf-8")
    ds = load_dataset([d])
    assert sorted(r.text for r in ds.records) == ["A jet landed.", "Heroin seized."]
    # schema labels are included even when no record carries them
    assert ds.topic_labels == ["aviation", "narcotics", "piracy"]
    assert ds.stance_labels == ["critical", "neutral", "supportive"]
    assert ds.schema is not None and ds.schema.topics["piracy"] == "at sea"
    assert len(ds.files) == 2


def test_unknown_stance_with_schema_names_file_and_line(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    (d / "schema.json").write_text(json.dumps({"stance": ["supportive", "critical",
                                                          "neutral"]}), encoding="utf-8")
    f = _jsonl(d / "a.jsonl", [_rec("Fine sentence.", [], "neutral"),
                               _rec("Bad stance sentence.", [], "angry")])
    with pytest.raises(DataError, match=re.escape(f"{f}:2")) as e:
        load_dataset([d])
    assert "angry" in str(e.value)
    assert "\n" not in str(e.value)


def test_unknown_topic_with_schema(tmp_path):
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps({"topics": ["narcotics"]}), encoding="utf-8")
    f = _jsonl(tmp_path / "a.jsonl", [_rec("x y z.", ["aviation"], "neutral")])
    with pytest.raises(DataError, match=re.escape(f"{f}:1")) as e:
        load_dataset([f], schema)
    assert "aviation" in str(e.value)


def test_without_schema_any_stance_name_is_accepted(tmp_path):
    f = _jsonl(tmp_path / "a.jsonl", [_rec("One.", stance="angry"), _rec("Two.", stance="calm")])
    assert load_dataset([f]).stance_labels == ["angry", "calm"]


# ---------------------------------------------------------------- errors name file:line


@pytest.mark.parametrize("bad, what", [
    ('{"text": "unterminated", "topics": [}', "malformed JSON"),
    ('{"topics": ["aviation"], "stance": "neutral"}', "text"),
    ('{"text": "", "topics": [], "stance": "neutral"}', "text"),
    ('{"text": "   \\t ", "topics": [], "stance": "neutral"}', "text"),
    ('{"text": 42, "topics": [], "stance": "neutral"}', "text"),
    ('{"text": "Planes.", "topics": "aviation", "stance": "neutral"}', "topics"),
    ('{"text": "Planes.", "topics": [1, 2], "stance": "neutral"}', "topics"),
    ('{"text": "Planes.", "topics": [""], "stance": "neutral"}', "topics"),
    ('{"text": "Planes.", "topics": [], "stance": 3}', "stance"),
    ('["text", "topics"]', "object"),
    ('{"text": "Nothing labelled here."}', "neither"),
])
def test_bad_record_error_names_file_and_line(tmp_path, bad, what):
    f = _jsonl(tmp_path / "d.jsonl", [_rec("A good first line.", [], "neutral"), bad,
                                      _rec("A good last line.", [], "neutral")])
    with pytest.raises(DataError) as e:
        load_dataset([f])
    msg = str(e.value)
    assert msg.startswith(f"{f}:2:"), msg
    assert what in msg
    assert "\n" not in msg


def test_bad_record_through_cli_train(tmp_path):
    f = _jsonl(tmp_path / "d.jsonl", [_rec("Fine.", [], "neutral"), "{oops",
                                      _rec("Also fine.", [], "neutral")])
    r = run_main(["train", "--data", str(f), "--model", str(tmp_path / "m"), "--fast",
                  "--quiet"])
    assert r.code != 0
    lines = [ln for ln in r.err.splitlines() if ln.startswith("classify: error")]
    assert len(lines) == 1 and f"{f}:2" in lines[0], r.err
    assert not (tmp_path / "m" / "meta.json").exists()


def test_missing_path_is_an_error(tmp_path):
    with pytest.raises(DataError, match=re.escape(str(tmp_path / "nope.jsonl"))):
        load_dataset([tmp_path / "nope.jsonl"])


def test_directory_without_data_files(tmp_path):
    (tmp_path / "readme.txt").write_text("hi", encoding="utf-8")
    with pytest.raises(DataError, match=re.escape(str(tmp_path))):
        load_dataset([tmp_path])


def test_empty_file_has_no_records(tmp_path):
    f = tmp_path / "empty.jsonl"
    f.write_text("", encoding="utf-8")
    with pytest.raises(DataError, match=re.escape(str(f))):
        load_dataset([f])


# ---------------------------------------------------------------- duplicates


def test_conflicting_duplicate_warns_naming_both_lines(tmp_path):
    f = _jsonl(tmp_path / "d.jsonl", [
        _rec("Police seized heroin.", ["narcotics"], "neutral", "a"),
        _rec("Another sentence.", [], "neutral", "a"),
        _rec("Police   seized heroin.", ["narcotics"], "supportive", "b"),
    ])
    ds = load_dataset([f])
    assert len(ds.records) == 2
    assert ds.records[0].stance == "neutral"  # a stance is one class: the first is kept
    assert len(ds.warnings) == 1
    w = ds.warnings[0]
    assert f"{f}:1" in w and f"{f}:3" in w
    assert ds.conflicts == [(f"{f}:1", f"{f}:3")]


def test_conflicting_duplicate_topics_are_merged(tmp_path):
    """Multi-label topics: a text labelled two ways carries the union of its topics; labels
    one occurrence lacks come from the other."""
    f = _jsonl(tmp_path / "d.jsonl", [
        _rec("Militants hijacked a jet.", ["aviation"], None, "a"),
        _rec("Militants hijacked a jet.", ["counterterrorism", "aviation"], "critical", "b"),
        _rec("Quiet day.", [], None, "c"),
    ])
    ds = load_dataset([f])
    assert len(ds.records) == 2
    first = ds.records[0]
    assert sorted(first.topics) == ["aviation", "counterterrorism"]
    assert first.stance == "critical" and first.where == f"{f}:1"
    assert len(ds.conflicts) == 1


def test_single_label_data_keeps_the_first_topic_of_a_conflict(tmp_path):
    """A union would turn single-label data (one topic per record) multi-label."""
    f = _jsonl(tmp_path / "d.jsonl", [
        _rec("Budget bill passed.", ["economy"], None, "a"),
        _rec("Farm bill passed.", ["agriculture"], None, "b"),
        _rec("Budget  bill passed.", ["defense"], None, "c"),
    ])
    ds = load_dataset([f])
    assert [r.topics for r in ds.records] == [("economy",), ("agriculture",)]
    assert len(ds.conflicts) == 1 and "its first topic (single-label data)" in ds.warnings[0]


def test_many_conflicts_are_one_summary_line(tmp_path):
    stances = ["neutral", "critical"]
    recs = [_rec(f"Sentence {i} about flights.", ["aviation"], stances[i % 2], f"s{i % 5}")
            for i in range(25)]
    recs += [_rec(f"Sentence {i} about flights.", ["narcotics"], stances[i % 2], f"s{i % 5}")
             for i in range(25)]
    recs += [_rec(f"Other sentence {i} on heroin.", ["narcotics"], stances[i % 2], f"s{i % 5}")
             for i in range(25)]
    f = _jsonl(tmp_path / "d.jsonl", recs)
    ds = load_dataset([f])
    assert len(ds.warnings) == 1
    w = ds.warnings[0]
    assert w.startswith("25 text(s) occur more than once with different labels")
    assert f"{f}:1 and {f}:26, {f}:2 and {f}:27, {f}:3 and {f}:28, ..." in w
    assert f"{f}:29" not in w
    r = run_main(["train", "--data", str(f), "--model", str(tmp_path / "m"), "--fast",
                  "--quiet"])
    assert r.code == 0, r.err
    assert len([ln for ln in r.err.splitlines() if "more than once" in ln]) == 1
    assert f"{f}:50" not in r.err
    r = run_main(["train", "--data", str(f), "--model", str(tmp_path / "m"), "--fast",
                  "--quiet", "--verbose"])
    details = [ln for ln in r.err.splitlines() if "labelled differently" in ln]
    assert len(details) == 25 and f"{f}:50: same text as {f}:25" in details[-1], r.err


def test_conflicting_duplicate_across_files(tmp_path):
    a = _jsonl(tmp_path / "a.jsonl", [_rec("Jets were grounded.", ["aviation"], "neutral")])
    b = _jsonl(tmp_path / "b.jsonl", [_rec("Jets were grounded.", [], "neutral")])
    ds = load_dataset([a, b])
    assert len(ds.records) == 1
    assert any(f"{a}:1" in w and f"{b}:1" in w for w in ds.warnings), ds.warnings


def test_exact_duplicate_dropped_without_warning(tmp_path):
    line = _rec("Jets were grounded.", ["aviation"], "neutral", "s")
    f = _jsonl(tmp_path / "d.jsonl", [line, line])
    ds = load_dataset([f])
    assert len(ds.records) == 1 and ds.warnings == []


def test_conflicting_duplicate_warning_reaches_cli(tmp_path):
    recs = [{"text": f"Sentence number {i} about nothing much.", "stance": s,
             "source": f"s{i % 3}"} for i, s in enumerate(["neutral", "critical"] * 6)]
    f = write_jsonl(tmp_path / "d.jsonl", recs)
    with f.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"text": recs[0]["text"], "stance": "critical"}) + "\n")
    r = run_main(["train", "--data", str(f), "--model", str(tmp_path / "m"), "--fast"])
    assert r.code == 0, r.err
    warning = [ln for ln in r.err.splitlines() if f"{f}:13" in ln]
    assert warning and re.search(re.escape(f"{f}:1") + r"\b", warning[0]), r.err


# ---------------------------------------------------------------- partial label sets


def test_topics_only_dataset(tmp_path):
    f = _jsonl(tmp_path / "d.jsonl", [_rec("Heroin seized.", ["narcotics"]),
                                      _rec("Flight delayed.", ["aviation"]),
                                      _rec("Budget approved.", [])])
    ds = load_dataset([f])
    assert ds.stance_labels == []
    assert ds.topic_labels == ["aviation", "narcotics"]
    assert all(r.stance is None for r in ds.records)
    assert len(ds.topic_records) == 3 and ds.stance_records == []


def test_stance_only_dataset(tmp_path):
    f = _jsonl(tmp_path / "d.jsonl", [_rec("We love it.", stance="FAVOR"),
                                      _rec("We hate it.", stance="AGAINST"),
                                      _rec("It exists.", stance="NONE")])
    ds = load_dataset([f])
    assert ds.topic_labels == []
    assert ds.stance_labels == ["AGAINST", "FAVOR", "NONE"]
    assert ds.topic_records == [] and len(ds.stance_records) == 3


def test_no_record_has_a_topic_warns(tmp_path):
    f = _jsonl(tmp_path / "d.jsonl", [_rec("One.", [], "neutral"), _rec("Two.", [], "critical")])
    ds = load_dataset([f])
    assert ds.topic_labels == []
    assert any("topic" in w for w in ds.warnings)


def test_all_records_unlabelled_is_an_error(tmp_path):
    f = _jsonl(tmp_path / "d.jsonl", [_rec("One sentence."), _rec("Two sentence.")])
    with pytest.raises(DataError, match=re.escape(f"{f}:1")):
        load_dataset([f])


MADE_UP = ["zorblat", "quennix", "vashtor", "plimbo", "drennic", "yoltra", "kasmir",
           "feluxo", "grandel", "hoptrix", "ibbleton", "jostra", "krundle", "lumivex",
           "morphet", "nindal", "oxvarn", "pretzal", "quorbin", "rastelle", "sunfrid",
           "tolvane", "umbriq", "vextral", "wimbrel", "xandor", "yestrel", "zephyrn",
           "abralon", "bistrov"]


def made_up_records() -> list[dict]:
    recs = []
    for i, name in enumerate(MADE_UP):
        for j in range(4):
            recs.append({"text": f"The {name} committee met {j + 2} times about {name} "
                                 f"matters in town {i}.",
                         "topics": [name], "source": f"src{(i + j) % 5}"})
    return recs


def test_thirty_made_up_topic_names(tmp_path):
    f = write_jsonl(tmp_path / "d.jsonl", made_up_records())
    ds = load_dataset([f])
    assert ds.topic_labels == sorted(MADE_UP)
    assert ds.stance_labels == []
    res = api.train([f], tmp_path / "m", FAST)
    assert sorted(res.topic_labels) == sorted(MADE_UP)
    assert res.stance_labels == []
    meta = json.loads((tmp_path / "m" / "meta.json").read_text(encoding="utf-8"))
    assert sorted(meta["labels"]["topics"]) == sorted(MADE_UP)
    assert sorted(meta["thresholds"]) == sorted(MADE_UP)
    tags = api.tag_records([{"id": "x", "text": "The zorblat committee met 3 times about "
                                                "zorblat matters in town 0."}],
                           tmp_path / "m")
    assert set(tags[0].topic_scores) == set(MADE_UP)
    assert tags[0].stance is None


# ---------------------------------------------------------------- parse_record directly


def test_parse_record_with_schema_and_dedup_topics():
    schema = Schema(topics={"a": "", "b": ""}, stances=["x", "y"])
    r = parse_record({"text": "t", "topics": ["a", "b", "a"], "stance": "x", "id": 3},
                     "f:9", schema, need_labels=True)
    assert r.topics == ("a", "b") and r.stance == "x" and r.id == "3" and r.where == "f:9"
    with pytest.raises(DataError, match="^f:9: "):
        parse_record({"text": "t", "stance": "z"}, "f:9", schema, need_labels=True)


def test_parse_record_unlabelled_allowed_when_labels_not_needed():
    r = parse_record({"text": "hello"}, "f:1", None, need_labels=False)
    assert r.topics is None and r.stance is None
    with pytest.raises(DataError, match="^f:1: "):
        parse_record({"text": "hello"}, "f:1", None, need_labels=True)


# ---------------------------------------------------------------- encodings of data files


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "cp1252"])
@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_data_file_encodings(tmp_path, encoding, suffix):
    texts = ["Le caf\u00e9 de l'a\u00e9roport a ferm\u00e9.", "Die Z\u00f6llner fanden Heroin."]
    if suffix == ".jsonl":
        body = "".join(json.dumps({"text": t, "topics": ["narcotics"], "stance": "neutral"},
                                  ensure_ascii=False) + "\n" for t in texts)
    else:
        body = "text,topics,stance\n" + "".join(f"{t},narcotics,neutral\n" for t in texts)
    f = tmp_path / f"d{suffix}"
    f.write_bytes(body.encode(encoding))
    ds = load_dataset([f])
    assert [r.text for r in ds.records] == texts
    assert ds.topic_labels == ["narcotics"]


def test_binary_data_file_is_an_error(tmp_path):
    f = tmp_path / "d.jsonl"
    f.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    with pytest.raises(DataError, match=re.escape(str(f))):
        load_dataset([f])


@pytest.mark.parametrize("content", ["{bad json", '{"topics": 5}', "[1, 2]", "{}",
                                     '{"topics": [], "stance": []}',
                                     '{"topics": {"": "blank", "aviation": "planes"}}'])
def test_bad_schema_names_the_schema_file(tmp_path, content):
    d = tmp_path / "data"
    d.mkdir()
    (d / "schema.json").write_text(content, encoding="utf-8")
    _jsonl(d / "a.jsonl", [_rec("Heroin seized.", ["narcotics"], "neutral")])
    with pytest.raises(DataError) as e:
        load_dataset([d])
    assert str(e.value).startswith(str(d / "schema.json"))
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("kind, says", [
    ("directory", "not a regular file"), ("fifo", "not a regular file"),
    ("broken symlink", "a symlink that leads nowhere")])
def test_a_schema_json_that_is_not_a_file_is_refused_not_ignored(tmp_path, model_dir, kind,
                                                                  says):
    """Skipped, the labels it declares would be missing from the model without a word."""
    import os
    import shutil

    d = tmp_path / "data"
    d.mkdir()
    schema = d / "schema.json"
    {"directory": schema.mkdir, "fifo": lambda: os.mkfifo(schema),
     "broken symlink": lambda: schema.symlink_to(tmp_path / "nowhere.json")}[kind]()
    _jsonl(d / "a.jsonl", [_rec("Heroin seized.", ["narcotics"], "neutral")])
    with pytest.raises(DataError) as e:
        load_dataset([d])
    assert str(e.value) == f"{schema}: cannot read schema: {says}" + (
        " (broken, or a loop)" if kind == "broken symlink" else "")
    saved = tmp_path / "m"
    shutil.copytree(model_dir, saved)
    before = {f.name: f.read_bytes() for f in saved.iterdir()}
    r = run_main(["train", "--data", str(d), "--model", str(saved), "--fast", "--quiet"])
    assert r.code == 2 and r.err == f"classify: error: {e.value}\n"
    assert {f.name: f.read_bytes() for f in saved.iterdir()} == before  # left as it was


def test_a_misspelled_field_is_warned_about_and_other_fields_are_not(tmp_path):
    """'topic' for 'topics' used to give a stance-only model without a word; a field of the
    user's own (a URL) is left alone."""
    f = tmp_path / "d.jsonl"
    f.write_text(json.dumps({"text": "Police seized heroin.", "topic": ["narcotics"],
                             "stance": "neutral", "url": "https://example.org"}) + "\n"
                 + json.dumps({"text": "Flights resumed.", "topics": ["aviation"],
                               "stance": "neutral", "Stance": "x", "when": "2004"}) + "\n"
                 + json.dumps({"text": "Fares rose.", "stance": "neutral",
                               "topic": ["aviation"]}) + "\n", encoding="utf-8")
    ds = load_dataset([f])
    assert ds.warnings == [f"{f}:1: field 'topic' is not read (did you mean 'topics'?)"]


def test_a_data_directory_that_cannot_be_searched_is_named(tmp_path, monkeypatch):
    """Without search permission, looking for its schema.json or recipe.json raised a bare
    PermissionError (exit 1, no 'error:' line); it is a data error naming the directory."""
    from classify.data import declared_schema

    d = tmp_path / "ud"
    d.mkdir()
    real = Path.exists

    def exists(self, *a, **k):
        if self.parent == d:  # what stat() gives root-less users on a mode-000 directory
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *a, **k)

    monkeypatch.setattr(Path, "exists", exists)
    with pytest.raises(DataError, match=re.escape(f"{d}: cannot read the directory: "
                                                  "Permission denied")):
        declared_schema(d, "recipe.json")


def test_labels_that_look_like_typos_are_warned_about(tmp_path):
    """Before: "Supportive" beside "supportive" became a fourth stance class without a word."""
    lines = [_rec(f"Sentence number {i} about fares.", ["aviation"],
                  ["supportive", "critical", "neutral"][i % 3], f"s{i}") for i in range(30)]
    lines[4] = _rec("They welcomed the new route.", ["Aviation "], "Supportive", "s4")
    lines[7] = _rec("They liked it.", ["aviation"], "positive", "s7")
    f = _jsonl(tmp_path / "d.jsonl", lines)
    ds = load_dataset([f])
    assert "Supportive" in ds.stance_labels  # still trained as given: a warning, not a guess
    text = "\n".join(ds.warnings)
    assert re.search(r"stance labels that differ only in case.*'Supportive' \(1 record\(s\), "
                     rf"first {re.escape(str(f))}:5\), 'supportive'", text), text
    assert re.search(r"topic labels that differ only in case.*'Aviation '.*'aviation'", text)
    assert f"{f}:8: stance 'positive' is held by this record only" in text
    assert "'Supportive' is held" not in text  # named once, by the first warning
    clean = _jsonl(tmp_path / "c.jsonl", [_rec(f"Sentence number {i} about fares.",
                                               ["aviation"], ["supportive", "neutral"][i % 2],
                                               f"s{i}") for i in range(30)])
    assert load_dataset([clean]).warnings == []
