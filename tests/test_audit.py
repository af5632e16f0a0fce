"""classify audit: flipped labels, duplicates and rare labels are found, by API and CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FAST, make_records, run_main, write_jsonl

from classify import api
from classify.audit import find_guide, guide_definitions
from classify.data import Schema
from classify.errors import DataError

pytest.importorskip("sklearn")

# Lines whose topic is replaced by an unrelated one: (index in make_records, wrong topic).
FLIPS = {5: ["narcotics"], 45: ["aviation"], 85: ["counterterrorism"], 125: ["immigration"]}


@pytest.fixture(scope="module")
def noisy(tmp_path_factory):
    d = tmp_path_factory.mktemp("audit")
    recs = make_records(n_per_topic=40)
    wrong = {}
    for i, topics in FLIPS.items():
        assert recs[i]["topics"] and recs[i]["topics"] != topics
        recs[i] = {**recs[i], "topics": topics}
    recs.append({**recs[10], "topics": ["immigration"]})  # same text, other topic
    half = len(recs) // 2
    write_jsonl(d / "a.jsonl", recs[:half])
    write_jsonl(d / "b.jsonl", recs[half:])
    for i in FLIPS:
        wrong[i] = f"{d / 'a.jsonl'}:{i + 1}" if i < half else f"{d / 'b.jsonl'}:{i - half + 1}"
    (d / "schema.json").write_text(json.dumps({
        "topics": {t: f"about {t}" for t in ["aviation", "counterterrorism", "immigration",
                                             "narcotics", "shipping"]},
        "stance": ["critical", "neutral", "supportive"]}))
    (d / "LABELLING.md").write_text(
        "| topic | in scope | out of scope |\n|---|---|---|\n"
        "| `narcotics` | illegal drugs and their trade | medicines |\n")
    return d, wrong, len(recs)


@pytest.fixture(scope="module")
def report(noisy):
    d, _, _ = noisy
    return api.audit([d], folds=3, opts=FAST)


def test_flipped_topics_rank_first(noisy, report):
    _, wrong, _ = noisy
    top = report.findings[:2 * len(wrong)]
    named = {w for f in top for w in [f.where, *f.others]}
    assert len(set(wrong.values()) & named) >= len(wrong) - 1, [f.where for f in top]
    for f in report.findings:
        if f.where in wrong.values() and f.kind == "topics":
            assert f.suggested["topics"] != f.current["topics"]
            assert 0.5 < f.confidence <= 1


def test_findings_carry_places_labels_and_definitions(noisy, report):
    d, _, n = noisy
    assert report.n_lines == n
    kinds = report.counts()
    assert kinds.get("topics", 0) >= 1
    problems = [f for f in report.findings if f.kind in ("topics", "stance",
                                                         "conflicting-duplicate")]
    assert [f.confidence for f in problems] == sorted((f.confidence for f in problems),
                                                      reverse=True)
    for f in problems:
        path, line = f.where.rsplit(":", 1)
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        assert json.loads(lines[int(line) - 1])["text"] == f.text
        assert f.labels
    narcotics = [f for f in report.findings if "narcotics" in f.labels]
    assert narcotics and narcotics[0].labels["narcotics"].startswith("illegal drugs")
    assert report.guide == str(d / "LABELLING.md")


def test_duplicate_with_other_topic_is_named(noisy, report):
    d, _, n = noisy
    last = f"{d / 'b.jsonl'}:{n - n // 2}"  # the appended copy of line 11 of a.jsonl
    first = f"{d / 'a.jsonl'}:11"
    assert any({first, last} <= {f.where, *f.others} for f in report.findings)


def test_rare_label_is_reported(report):
    rare = [f for f in report.findings if f.kind == "rare-label"]
    assert [f.current["label"] for f in rare] == ["shipping"]
    assert rare[0].current["records"] == 0


def test_guide_table_rows_become_definitions(tmp_path):
    guide = tmp_path / "LABELLING.md"
    guide.write_text("| stance | when |\n|---|---|\n| `critical` | criticism, protest |\n")
    defs = guide_definitions(guide, Schema(topics={"aviation": "airlines"}))
    assert defs == {"aviation": "airlines", "critical": "criticism, protest"}
    (tmp_path / "labels").mkdir()
    assert find_guide([tmp_path / "labels"]) == guide


@pytest.mark.parametrize("content, says", [
    (bytes(range(128, 256)) * 8, "cannot read the labelling guide: not UTF-8 text"),
    (b"Just notes, no table.\n", "no label definitions in it")])
def test_a_guide_given_that_defines_nothing_stops_before_the_work(noisy, tmp_path, content,
                                                                   says):
    """A binary --guide used to give exit 0 and a report citing it, with no definitions."""
    d, _, _ = noisy
    guide, out = tmp_path / "guide.md", tmp_path / "audit.md"
    guide.write_bytes(content)
    r = run_main(["audit", "--data", str(d), "--fast", "--folds", "3", "--quiet",
                  "--guide", str(guide), "--report", str(out)])
    assert r.code == 2 and f"{guide}: {says}" in r.err and not out.exists()


def test_a_guide_found_beside_the_data_is_read_as_well_as_it_can_be(tmp_path):
    """Only a guide the user names must be clean UTF-8; one picked up beside the data (here
    saved as Windows-1252) still gives its definitions, as before."""
    guide = tmp_path / "LABELLING.md"
    guide.write_bytes("| `critical` | \u201cprotest\u201d |\n".encode("cp1252"))
    defs = guide_definitions(guide, None)
    assert defs["critical"].endswith("protest\ufffd")
    with pytest.raises(DataError, match="not UTF-8 text"):
        guide_definitions(guide, None, given=True)


@pytest.mark.parametrize("fmt", ["jsonl", "md", "html"])
def test_cli_formats(noisy, tmp_path, fmt):
    d, wrong, _ = noisy
    out = tmp_path / f"audit.{fmt}"
    r = run_main(["audit", "--data", str(d), "--fast", "--folds", "3", "--quiet",
                  "--report", str(out)])
    assert r.code == 0, r
    text = out.read_text()
    first = next(iter(wrong.values()))
    assert first in text
    if fmt == "jsonl":
        rows = [json.loads(line) for line in text.splitlines()]
        assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
        assert {"where", "text", "current", "suggested", "confidence", "labels"} <= set(rows[0])
    elif fmt == "html":
        assert text.startswith("<!DOCTYPE html>")
    else:
        assert text.startswith("# classify label audit")


def test_cli_markdown_to_stdout_and_bad_data(noisy, tmp_path):
    d, _, _ = noisy
    r = run_main(["audit", "--data", str(d), "--fast", "--folds", "3", "--quiet"])
    assert r.code == 0 and r.out.startswith("# classify label audit")
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"text": "x", "topics": "aviation"}])
    r = run_main(["audit", "--data", str(bad), "--fast"])
    assert r.code == 2 and "bad.jsonl:1" in r.err and "Traceback" not in r.err


def test_audit_trains_its_folds_with_the_weights(tmp_path, monkeypatch):
    """--weight reaches the out-of-fold models of the audit, as it does in train/evaluate."""
    import classify.audit

    data = write_jsonl(tmp_path / "mine.jsonl", make_records(n_per_topic=6, seed=2))
    seen = []
    real = classify.audit.audit

    def spy(dataset, *args, **kwargs):
        seen.append({r.weight for r in dataset.records})
        return real(dataset, *args, **kwargs)

    monkeypatch.setattr(classify.audit, "audit", spy)
    api.audit([data], 2, api.TrainOptions(fast=True), weights={data: 3.0})
    r = run_main(["audit", "--data", str(data), "--weight", f"{data}=3", "--fast",
                  "--folds", "2"])
    assert r.code == 0, r.err
    assert seen == [{3.0}, {3.0}]
