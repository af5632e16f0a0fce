"""The probe sets of benchmarks/probes.py keep ids and labels only: no public text enters the
project, and every label is one the guide allows."""

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
        assert set(r) == {"id", "stratum", "topics", "stance"}, r
        assert isinstance(r["id"], str) and r["stratum"] in {"A", "B", "C"}
        assert set(r["topics"]) <= TOPICS and r["stance"] in STANCES, r


@pytest.mark.skipif(not (SHARED / "public").is_dir(), reason="../shared/public not beside the repo")
@pytest.mark.parametrize("name", sorted(probes.SETS))
def test_probe_ids_resolve_to_public_items_outside_the_dev_sets(name):
    rows = probes.load(name, SHARED)
    assert all(r["text"].strip() for r in rows)
    dev = {json.loads(line)["text"].strip().lower()
           for f in ("news_dev.jsonl", "news_dev2.jsonl")
           for line in (SHARED / "devset" / f).read_text(encoding="utf-8").splitlines()
           if line.strip()}
    assert not [r["id"] for r in rows if r["text"].strip().lower() in dev]


def test_lede_is_title_and_first_sentence():
    assert probes.lede("ACME TO BUY ZETA\nAcme Corp said it\nwill buy Zeta.  Terms were not "
                       "disclosed.") == "ACME TO BUY ZETA Acme Corp said it will buy Zeta."
