"""The probe sets of benchmarks/probes.py keep ids and labels only: no public text enters the
project, and every label is one the guide allows."""

import hashlib
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data"
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT / "benchmarks"))

import probes  # noqa: E402

TOPICS = {"counterterrorism", "immigration", "narcotics", "aviation"}
STANCES = {"supportive", "critical", "neutral"}


@pytest.mark.parametrize("name", sorted(probes.SETS))
def test_probe_labels_hold_ids_and_labels_only(name):
    lines = (DATA / probes.SETS[name][0]).read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(rows) > 400
    ids = [r["id"] for r in rows]
    assert len(set(ids)) == len(ids)
    for r in rows:
        assert set(r) - {"sha256"} == {"id", "stratum", "topics", "stance"}, r
        assert isinstance(r["id"], str) and r["stratum"] in {"A", "A2", "B", "C"}
        assert set(r["topics"]) <= TOPICS and r["stance"] in STANCES, r


@pytest.mark.skipif(not (SHARED / "public").is_dir(), reason="../shared/public not beside the repo")
@pytest.mark.parametrize("name", sorted(probes.PUBLIC))
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


@pytest.mark.parametrize("name", sorted(probes.DOWNLOADED))
def test_downloaded_sets_label_csv_rows_and_carry_the_digest_of_their_text(name):
    """A downloaded set's texts come from a file the user fetches, so each label carries the
    digest of its text, and its id names a row of that CSV."""
    dl = probes.DOWNLOADED[name]
    for line in (DATA / probes.SETS[name][0]).read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        assert "sha256" in r and r["id"].rsplit("-", 1)[0] == dl.prefix, r


def test_a_downloaded_set_reads_its_csv_rows_and_checks_the_digest(tmp_path, monkeypatch):
    """An id names a row of the CSV (no header; here ``text,label`` as ag-wire's), and a
    label whose digest is not its row's text stops the run."""
    rows = ['"Jets land  late, airline says",3', '"Police seize heroin, city says",0']
    (tmp_path / "ag.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    text = "Police seize heroin, city says"
    label = {"id": "ag-train-2", "stratum": "A", "topics": ["narcotics"], "stance": "neutral",
             "sha256": probes.digest(text)}
    (tmp_path / "labels.jsonl").write_text(json.dumps(label) + "\n", encoding="utf-8")
    monkeypatch.setattr(probes, "DATA", tmp_path)
    dl = probes.Download("https://example.org/ag.csv", tmp_path / "missing.csv", "ag-train", 0,
                         "--t-csv")
    monkeypatch.setitem(probes.SETS, "t", ("labels.jsonl", dl, probes._whole))
    assert [r["text"] for r in probes.load("t", tmp_path, tmp_path / "ag.csv")] == [text]
    label["id"] = "ag-train-1"  # another row: its text is not the one labelled
    (tmp_path / "labels.jsonl").write_text(json.dumps(label) + "\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="is not the one labelled"):
        probes.load("t", tmp_path, tmp_path / "ag.csv")
