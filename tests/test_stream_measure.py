"""benchmarks/stream_measure.py: which stream items steps 31 and 33 label, and their scores."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import fresh_pool  # noqa: E402
import stream_measure as si  # noqa: E402

CLASSES = ["aviation", "counterterrorism", "immigration", "narcotics"]
BARS = np.array([0.45, 0.45, 0.442, 0.467])


def _pool(tmp_path: Path, rows: list[tuple[str, str, float]], monkeypatch, col: int = 2
          ) -> dict:
    """A pool of (id, text, score in topic column ``col``) and a stand-in for the bundled
    model (immigration by default)."""
    with (tmp_path / "pool.jsonl").open("w", encoding="utf-8") as fh:
        for rid, text, _ in rows:
            fh.write(json.dumps({"id": rid, "text": text}) + "\n")
    score = {text: s for _, text, s in rows}

    def fake(texts):
        P = np.zeros((len(texts), 4))
        P[:, col] = [score.get(t, 0.0) for t in texts]
        return P, BARS, CLASSES

    monkeypatch.setattr(si, "model_scores", fake)
    monkeypatch.setattr(si, "model_stance", lambda texts: ["neutral"] * len(texts))
    return score


def test_select_takes_near_the_bar_or_the_net_and_leaves_labelled_items_out(
        tmp_path, monkeypatch):
    _pool(tmp_path, [("r-1", "Ministers met in Brussels.", 0.10),       # neither
                     ("r-2", "A quiet budget speech.", 0.41),           # near the bar
                     ("r-3", "Asylum seekers landed on Lampedusa.", 0.05),  # the net
                     ("r-4", "Police deported two men.", 0.60),         # labelled already
                     ("r-5", "The visa office reopened.", 0.70)], monkeypatch)
    done = tmp_path / "done.jsonl"
    done.write_text(json.dumps({"id": "r-4", "topics": ["immigration"], "stance": "neutral"})
                    + "\n")
    si.main(["select", "--topic", "immigration", "--dir", str(tmp_path), "--exclude", str(done)])
    rows = fresh_pool.read_jsonl(tmp_path / "to_label_31.jsonl")
    assert sorted(r["id"] for r in rows) == ["r-2", "r-3", "r-5"]
    assert all(set(r) == {"id", "text"} for r in rows)  # no score shown to labellers


def test_score_refuses_a_label_whose_text_changed(tmp_path, monkeypatch):
    _pool(tmp_path, [("r-1", "The visa office reopened.", 0.70)], monkeypatch)
    labels = tmp_path / "labels.jsonl"
    labels.write_text(json.dumps({"id": "r-1", "topics": [], "stance": "neutral",
                                  "sha256": "000000000000"}) + "\n")
    with pytest.raises(SystemExit, match="the text of r-1 is not the one labelled"):
        si.main(["score", "--topic", "immigration", "--dir", str(tmp_path), "--labels",
                 str(labels)])
    labels.write_text(json.dumps({"id": "r-9", "topics": [], "stance": "neutral"}) + "\n")
    with pytest.raises(SystemExit, match="labels.jsonl: 1 ids not in the pool, e.g. r-9"):
        si.main(["score", "--topic", "immigration", "--dir", str(tmp_path), "--labels",
                 str(labels)])


def test_the_raised_bar_gains_a_removed_false_alarm_and_loses_twice_a_removed_hit():
    gold = np.array([False, True, True])
    base = np.array([True, True, True])
    assert si.u_topic(gold, base, np.array([False, True, True])) == 1
    assert si.u_topic(gold, base, np.array([True, False, True])) == -2


def test_narcotics_has_its_own_floor_and_net_and_a_topic_of_its_own_table(
        tmp_path, monkeypatch, capsys):
    _pool(tmp_path, [("r-1", "Police seized cocaine in Lagos.", 0.10),   # the net
                     ("r-2", "Shares rose in Tokyo.", 0.43),             # over narcotics' floor
                     ("r-3", "Asylum seekers landed.", 0.41),            # immigration's net only
                     ("r-4", "Rain fell in Leeds.", 0.41)], monkeypatch, col=3)
    done = tmp_path / "none.jsonl"
    done.write_text("")
    si.main(["select", "--topic", "narcotics", "--seed", "33", "--dir", str(tmp_path),
             "--exclude", str(done)])
    rows = fresh_pool.read_jsonl(tmp_path / "to_label_33.jsonl")
    assert sorted(r["id"] for r in rows) == ["r-1", "r-2"]
    labels = tmp_path / "labels.jsonl"
    labels.write_text("".join(json.dumps({"id": rid, "topics": t, "stance": "neutral"}) + "\n"
                              for rid, t in (("r-1", ["narcotics"]), ("r-2", []))))
    si.main(["score", "--topic", "narcotics", "--dir", str(tmp_path), "--labels", str(labels)])
    out = capsys.readouterr().out
    # r-2's 0.43 is over narcotics' floor (0.42), so it was labelled, but under its bar
    # (0.467), so nothing is flagged; the keyword list finds the cocaine
    assert "| bundled model (bar 0.467) | 0 | 0 |" in out
    assert "| keyword list | 1 | 1 | 1.00 | 1.00 | 1.000 |" in out
    # both labelled items are neutral, and so is every guess (the stand-in): neutral's F1 is
    # 1, the two classes with no item and no guess score 0
    assert ("stance on the 2 labelled items (chosen by the topic nets, not a sample of the "
            "stream): macro-F1 0.333 (critical 0.00, neutral 1.00, supportive 0.00)") in out
    with pytest.raises(SystemExit, match="--raised reads one topic's bar"):
        si.main(["score", "--topic", "narcotics", "--topic", "immigration", "--raised", "0.5",
                 "--dir", str(tmp_path), "--labels", str(labels)])
