"""The probe sets of benchmarks/probes.py keep ids and labels only: no public text enters the
project, and every label is one the guide allows."""

import hashlib
import json
import re
import sys
from dataclasses import replace
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data"
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT / "benchmarks"))

import probes  # noqa: E402

TOPICS = {"counterterrorism", "immigration", "narcotics", "aviation"}
STANCES = {"supportive", "critical", "neutral"}


ALL = sorted([*probes.SETS, *probes.REST])
PUBLIC = [n for n in ALL if probes.parent(n) in probes.PUBLIC]
DOWNLOADED = [n for n in ALL if probes.parent(n) in probes.DOWNLOADED]


def _ids(name: str) -> list[str]:
    return [json.loads(line)["id"]
            for line in probes.labels_path(name).read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("name", ALL)
def test_probe_labels_hold_ids_and_labels_only(name):
    lines = probes.labels_path(name).read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(rows) >= 200
    ids = [r["id"] for r in rows]
    assert len(set(ids)) == len(ids)
    for r in rows:
        assert set(r) - {"sha256"} == {"id", "stratum", "topics", "stance"}, r
        assert isinstance(r["id"], str) and r["stratum"] in {"A", "A2", "B", "C", "R"}
        assert set(r["topics"]) <= TOPICS and r["stance"] in STANCES, r


@pytest.mark.parametrize("name", sorted(probes.REST))
def test_a_stance_set_holds_only_items_its_topic_set_left_out(name):
    """A stance set is drawn from what its topic set (and its other stance sets) did not
    take, so no item is scored twice when they are read together."""
    assert not set(_ids(name)) & set(_ids(probes.parent(name)))
    for other in probes.REST:
        if other != name and probes.parent(other) == probes.parent(name):
            assert not set(_ids(name)) & set(_ids(other)), other


@pytest.mark.skipif(not (SHARED / "public").is_dir(), reason="../shared/public not beside the repo")
@pytest.mark.parametrize("name", PUBLIC)
def test_probe_ids_resolve_to_public_items_outside_the_dev_sets(name):
    rows = probes.load(name, SHARED)
    assert all(r["text"].strip() for r in rows)
    dev = {json.loads(line)["text"].strip().lower()
           for f in ("news_dev.jsonl", "news_dev2.jsonl")
           for line in (SHARED / "devset" / f).read_text(encoding="utf-8").splitlines()
           if line.strip()}
    assert not [r["id"] for r in rows if r["text"].strip().lower() in dev]


def test_a_sentence_that_is_not_the_one_labelled_stops_the_run(tmp_path, monkeypatch):
    """BBC labels carry a digest of the sentence they label: if the splitter ever cuts the
    story differently, the run stops instead of scoring labels against other sentences."""
    story = {"id": "x/1", "text": "One sentence here. Another one there."}
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "bbc.jsonl").write_text(json.dumps(story) + "\n", encoding="utf-8")
    good = probes.sentences(story)
    assert [i for i, _ in good] == ["x/1#0", "x/1#1"]
    first, second = (hashlib.sha256(t.encode("utf-8")).hexdigest()[:12] for _, t in good)
    label = {"id": "x/1#0", "stratum": "A", "topics": [], "stance": "neutral", "sha256": second}
    (tmp_path / "labels.jsonl").write_text(json.dumps(label) + "\n", encoding="utf-8")
    monkeypatch.setattr(probes, "DATA", tmp_path)
    monkeypatch.setitem(probes.SETS, "t", ("labels.jsonl", "bbc.jsonl", probes.sentences))
    with pytest.raises(SystemExit, match="is not the one labelled"):
        probes.load("t", tmp_path)
    label["sha256"] = first
    (tmp_path / "labels.jsonl").write_text(json.dumps(label) + "\n", encoding="utf-8")
    assert probes.load("t", tmp_path)[0]["text"] == good[0][1]


def test_lede_is_title_and_first_sentence():
    assert probes.lede("ACME TO BUY ZETA\nAcme Corp said it\nwill buy Zeta.  Terms were not "
                       "disclosed.") == "ACME TO BUY ZETA Acme Corp said it will buy Zeta."


@pytest.mark.parametrize("name", DOWNLOADED)
def test_downloaded_sets_label_csv_rows_and_carry_the_digest_of_their_text(name):
    """A downloaded set's texts come from a file the user fetches, so each label carries the
    digest of its text, and its id names a row of that CSV."""
    dl = probes.DOWNLOADED[probes.parent(name)]
    for line in probes.labels_path(name).read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        assert re.fullmatch(rf"{re.escape(dl.prefix)}-[1-9][0-9]*", r["id"]), r
        assert re.fullmatch(r"[0-9a-f]{12}", r.get("sha256", "")), r


@pytest.mark.parametrize("name", DOWNLOADED)
def test_downloaded_set_texts_match_their_digests_and_are_not_dev_items(name):
    """With the downloaded file in place, every label finds its row and its text (``load``
    stops on a digest that differs), and no text is a dev-set item."""
    dl = probes.DOWNLOADED[probes.parent(name)]
    if not dl.path.is_file() or not (SHARED / "devset").is_dir():
        pytest.skip(f"{dl.path} not downloaded, or no ../shared/devset")
    rows = probes.load(name, SHARED)
    assert len(rows) == len(_ids(name))
    norm = [re.sub(r"[^a-z0-9]", "", r["text"].lower()) for r in rows]
    dev = {re.sub(r"[^a-z0-9]", "", json.loads(line)["text"].lower())
           for f in ("news_dev.jsonl", "news_dev2.jsonl")
           for line in (SHARED / "devset" / f).read_text(encoding="utf-8").splitlines()
           if line.strip()}
    assert not [r["id"] for r, n in zip(rows, norm, strict=True) if n in dev]


def _csv_set(tmp_path, monkeypatch, rows: list[str], column: int, label: dict):
    (tmp_path / "ag.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (tmp_path / "labels.jsonl").write_text(json.dumps(label) + "\n", encoding="utf-8")
    monkeypatch.setattr(probes, "DATA", tmp_path)
    dl = probes.Download("https://example.org/ag.csv", tmp_path / "ag.csv", label["id"].rsplit(
        "-", 1)[0], column, "--t-csv")
    monkeypatch.setitem(probes.SETS, "t", ("labels.jsonl", dl, probes._whole))
    monkeypatch.setattr(probes, "DOWNLOADED", {"t": dl})
    return dl


def test_a_downloaded_set_reads_its_csv_rows_and_checks_the_digest(tmp_path, monkeypatch):
    """An id names a row of the CSV (no header; here ``text,label`` as ag-wire's), and a
    label whose digest is not its row's text stops the run."""
    text = "Police seize heroin, city says"
    label = {"id": "ag-train-2", "stratum": "A", "topics": ["narcotics"], "stance": "neutral",
             "sha256": probes.digest(text)}
    _csv_set(tmp_path, monkeypatch,
             ['"Jets land  late, airline says",3', f'"{text}",0'], 0, label)
    assert [r["text"] for r in probes.load("t", tmp_path, tmp_path / "ag.csv")] == [text]
    label["id"] = "ag-train-1"  # another row: its text is not the one labelled
    (tmp_path / "labels.jsonl").write_text(json.dumps(label) + "\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="is not the one labelled"):
        probes.load("t", tmp_path, tmp_path / "ag.csv")


def test_a_downloaded_set_reads_the_text_from_its_column(tmp_path, monkeypatch):
    """ag-wire-2's file is ``label,text``: the text is the second column, whitespace (a tab
    between sentences) collapsed; a file without that column stops with its path and row."""
    text = "Police seize heroin .\tThe haul was large ."
    label = {"id": "ag-keaml-1", "stratum": "A", "topics": ["narcotics"], "stance": "neutral",
             "sha256": probes.digest(" ".join(text.split()))}
    _csv_set(tmp_path, monkeypatch, [f'0,"{text}"'], 1, label)
    assert [r["text"] for r in probes.load("t", tmp_path)] == [
        "Police seize heroin . The haul was large ."]
    (tmp_path / "one.csv").write_text("only one column\n", encoding="utf-8")
    with pytest.raises(SystemExit, match=r"one\.csv:1: 1 column"):
        probes.load("t", tmp_path, tmp_path / "one.csv")


def test_a_downloaded_set_with_a_header_numbers_rows_after_it(tmp_path, monkeypatch):
    """AG's full test file starts with ``title,description,class``: its rows are numbered
    from the first one after that line (as the dev sets' ``ag/test-<row>`` sources are), and
    a short row is reported by its line in the file."""
    text = "Police seize heroin in the port."
    label = {"id": "ag-testd-2", "stratum": "A", "topics": ["narcotics"], "stance": "neutral",
             "sha256": probes.digest(text)}
    dl = _csv_set(tmp_path, monkeypatch, ["title,description,class", "Jets,Jets land late.,3",
                                          f"Heroin,{text},1"], 1, label)
    monkeypatch.setitem(probes.DOWNLOADED, "t", replace(dl, header=True))
    monkeypatch.setitem(probes.SETS, "t", ("labels.jsonl", probes.DOWNLOADED["t"], probes._whole))
    assert [r["text"] for r in probes.load("t", tmp_path)] == [text]
    (tmp_path / "ag.csv").write_text("title,description,class\nshort\n", encoding="utf-8")
    with pytest.raises(SystemExit, match=r"ag\.csv:2: 1 column"):
        probes.load("t", tmp_path)


def test_probes_skips_a_missing_download_unless_asked_for_it(tmp_path, monkeypatch, capsys):
    """Without ``--set`` or its flag a missing downloaded file skips that set with a note
    naming where to get it; asked for by name or path, the run stops naming the file."""
    dl = _csv_set(tmp_path, monkeypatch, ["0,x"], 1, {"id": "ag-keaml-1", "stratum": "C",
                                                    "topics": [], "stance": "neutral"})
    (tmp_path / "ag.csv").unlink()
    monkeypatch.setattr(probes, "SETS", {"t": probes.SETS["t"]})
    monkeypatch.setattr(probes, "REST", {})
    monkeypatch.setattr(probes, "evaluate", lambda models, names, *a: {n: None for n in names})
    monkeypatch.setattr(probes, "markdown", lambda res: f"sets {sorted(res)}")
    probes.main([])
    out = capsys.readouterr()
    assert "sets []" in out.out and f"skipping t: {dl.path} not found" in out.err
    assert "--t-csv" in out.err
    with pytest.raises(SystemExit, match="ag.csv not found"):
        probes.main(["--set", "t"])
    with pytest.raises(SystemExit, match="nope.csv not found"):
        probes.main(["--t-csv", str(tmp_path / "nope.csv")])
