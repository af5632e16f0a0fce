"""benchmarks/fresh_pool.py: the score it reads a candidate by, and which items it asks to label."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import fresh_pool  # noqa: E402

CLASSES = ["aviation", "counterterrorism", "immigration", "narcotics"]


def test_utility_counts_a_hit_twice_and_a_false_alarm_once():
    gold = np.array([[1, 0, 0, 0], [0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]], bool)
    base = np.array([[0, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]], bool)
    cand = np.array([[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 0]], bool)
    # aviation: a hit gained (+2), a false alarm removed (+1); counterterrorism: a hit lost
    # (-2); immigration: a false alarm added (-1); narcotics: nothing moves
    assert fresh_pool.utility(gold, base, cand).tolist() == [3, -2, -1, 0]
    assert fresh_pool.utility(gold, base, base).tolist() == [0, 0, 0, 0]


def _f1(gold: np.ndarray, pred: np.ndarray) -> float:
    tp = int((pred & gold).sum())
    return 2 * tp / max(2 * tp + int((pred ^ gold).sum()), 1)


def test_utility_has_the_sign_of_the_f1_change_for_one_changed_item():
    """Where one item flips, U's sign is F1's (the first-order claim the step's rule makes)."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        gold = rng.random((60, 1)) < 0.3
        base = gold ^ (rng.random((60, 1)) < 0.2)
        cand = base.copy()
        k = rng.integers(60)
        cand[k] = ~cand[k]

        u = int(fresh_pool.utility(gold, base, cand)[0])
        assert np.sign(u) == np.sign(round(_f1(gold, cand) - _f1(gold, base), 12))


def _arms(out: Path, ids: list[str], arms: dict[str, dict[str, list[list[str]]]]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with (out / "pool.jsonl").open("w", encoding="utf-8") as fh:
        for rid in ids:
            fh.write(json.dumps({"id": rid, "text": f"text of {rid}"}) + "\n")
    for name, topics in arms.items():
        (out / f"{name}.json").write_text(json.dumps(
            {"arm": name, "candidate": [], "seeds": [int(s) for s in topics],
             "classes": CLASSES, "ids": ids, "topics": topics}))


def test_select_asks_only_for_items_where_a_candidate_differs(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(fresh_pool, "OUT", tmp_path)
    ids = ["r-1", "r-2", "r-3", "r-4", "r-5"]
    _arms(tmp_path, ids, {
        "base": {"0": [[], ["aviation"], [], [], []], "1": [[], ["aviation"], [], [], []]},
        "a": {"0": [[], ["aviation"], ["immigration"], [], []],
              "1": [[], ["aviation"], [], [], ["narcotics"]]},
        "b": {"0": [[], [], [], [], []], "1": [[], ["aviation"], [], [], []]},
    })
    done = tmp_path / "done.jsonl"
    done.write_text(json.dumps({"id": "r-5", "topics": [], "stance": "neutral"}) + "\n")
    fresh_pool.main(["select", "--arms", "base,a,b", "--exclude", str(done)])
    rows = fresh_pool.read_jsonl(tmp_path / "to_label.jsonl")
    assert sorted(r["id"] for r in rows) == ["r-2", "r-3"]  # r-5 was labelled already
    assert all(set(r) == {"id", "text"} for r in rows)  # no model output shown to labellers


def test_score_reads_the_labels_and_refuses_unknown_ids(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(fresh_pool, "OUT", tmp_path)
    ids = ["r-1", "r-2", "r-3"]
    _arms(tmp_path, ids, {
        "base": {"0": [["immigration"], [], ["immigration"]]},
        "a": {"0": [[], ["immigration"], ["immigration"]]},
    })
    labels = tmp_path / "labels.jsonl"
    labels.write_text("".join(json.dumps({"id": rid, "topics": t, "stance": "neutral"}) + "\n"
                              for rid, t in (("r-1", []), ("r-2", ["immigration"]))))
    fresh_pool.main(["score", "--arms", "base,a", "--labels", str(labels), "--resamples", "20"])
    out = capsys.readouterr().out
    # a false alarm removed (+1) and a hit gained (+2) on immigration
    assert "| a | 0 | +0 | +0 | +3 | +0 | +3 |" in out
    labels.write_text(json.dumps({"id": "r-9", "topics": [], "stance": "neutral"}) + "\n")
    with pytest.raises(SystemExit, match="labels.jsonl: 1 ids not in the pool"):
        fresh_pool.main(["score", "--arms", "base,a", "--labels", str(labels)])


def test_missing_or_broken_files_stop_with_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(fresh_pool, "OUT", tmp_path)
    with pytest.raises(SystemExit, match=r"pool.jsonl: no such file \(run the pool step"):
        fresh_pool.main(["select", "--arms", "base,a"])
    _arms(tmp_path, ["r-1"], {"base": {"0": [[]]}, "a": {"0": [[]]}})
    bad = tmp_path / "labels.jsonl"
    bad.write_text('{"id": "r-1", "topics": [], "stance": "neutral"}\n{oops\n')
    with pytest.raises(SystemExit, match="labels.jsonl:2: not JSON"):
        fresh_pool.main(["score", "--arms", "base,a", "--labels", str(bad)])


def test_a_stream_row_enters_as_its_description():
    assert fresh_pool.description("Kerry Wins Vote . BOSTON (AP) - Senator John Kerry won."
                                  ) == "BOSTON (AP) - Senator John Kerry won."
    # only the first " . " parts title from description; dots inside words stay
    assert fresh_pool.description("SEC Seen to OK IPO After 4 P.M. .  WASHINGTON - A. B . C"
                                  ) == "WASHINGTON - A. B . C"
    # no separator, or nothing after it: the row as it is
    assert fresh_pool.description("No title here.") == "No title here."
    assert fresh_pool.description("Title only . ") == "Title only . "


def test_dir_keeps_one_pool_apart_from_another(tmp_path, monkeypatch):
    monkeypatch.setattr(fresh_pool, "OUT", tmp_path / "default")
    other = tmp_path / "step30"
    _arms(other, ["r-1", "r-2"], {"base": {"0": [[], []]}, "a": {"0": [["aviation"], []]}})
    fresh_pool.main(["select", "--arms", "base,a", "--dir", str(other)])
    assert [r["id"] for r in fresh_pool.read_jsonl(other / "to_label.jsonl")] == ["r-1"]
    assert not (tmp_path / "default" / "to_label.jsonl").exists()


def test_a_missing_stream_file_stops_with_one_line_naming_it(tmp_path, monkeypatch):
    monkeypatch.setattr(fresh_pool, "OUT", tmp_path)
    missing = tmp_path / "nowhere.csv"
    with pytest.raises(SystemExit, match=r"nowhere.csv: no such file \(download it from https"):
        fresh_pool.main(["pool", "--stream", "--stream-csv", str(missing)])
    assert not (tmp_path / "pool.jsonl").exists()


def test_also_reads_two_pools_as_one_set(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(fresh_pool, "OUT", tmp_path / "default")
    one, two = tmp_path / "one", tmp_path / "two"
    _arms(one, ["r-1", "r-2"], {"base": {"0": [["immigration"], []]},
                                "a": {"0": [[], ["immigration"]]}})
    _arms(two, ["s-1"], {"base": {"0": [[]]}, "a": {"0": [["aviation"]]}})
    for d, rows in ((one, (("r-1", []), ("r-2", ["immigration"]))), (two, (("s-1", []),))):
        (d / "labels.jsonl").write_text("".join(
            json.dumps({"id": rid, "topics": t, "stance": "neutral"}) + "\n" for rid, t in rows))
    fresh_pool.main(["score", "--arms", "base,a", "--dir", str(one), "--resamples", "20",
                     "--labels", str(one / "labels.jsonl"),
                     "--also", f"{two}={two / 'labels.jsonl'}"])
    out = capsys.readouterr().out
    assert "3 labelled items" in out
    # the first pool's immigration +3, the second pool's aviation false alarm -1
    assert "| a | 0 | -1 | +0 | +3 | +0 | +2 |" in out
    with pytest.raises(SystemExit, match="--also takes DIR=LABELS"):
        fresh_pool.main(["score", "--arms", "base,a", "--dir", str(one),
                         "--labels", str(one / "labels.jsonl"), "--also", str(two)])


def test_pool_builds_one_stream_at_a_time(tmp_path, monkeypatch):
    monkeypatch.setattr(fresh_pool, "OUT", tmp_path)
    with pytest.raises(SystemExit, match="one stream at a time"):
        fresh_pool.main(["pool", "--stream", "--stream3"])
    # a later stream needs the earlier ones' files too: they are what it leaves out
    first, missing = tmp_path / "first.csv", tmp_path / "nowhere.csv"
    first.write_text("label,gt,text,group\n")
    with pytest.raises(SystemExit, match=r"nowhere.csv: no such file \(download it from https"):
        fresh_pool.main(["pool", "--stream3", "--stream-csv", str(first),
                         "--stream2-csv", str(missing)])


def test_the_rows_seen_while_checking_a_file_stay_out_of_its_stream(tmp_path):
    """Step 35's rule: the first rows of a file that were shown before the rule stay out."""
    path = tmp_path / "ub_train.csv"
    path.write_text("".join(f"2,row number {n} of the file .\n" for n in range(1, 6)))
    seen = fresh_pool.SEEN[fresh_pool.STREAM4.prefix]
    rows = fresh_pool.stream_rows(fresh_pool.STREAM4, path)
    assert [text for _, text in rows] == [f"row number {n} of the file ." for n in
                                          range(seen + 1, 6)]
    assert rows[0][0] == f"ag-kub-{seen + 1}"
    # a file with nothing seen keeps every row
    three = tmp_path / "dev.csv"
    three.write_text("label,text\n" + "".join(f"1,row {n}\n" for n in range(1, 4)))
    assert len(fresh_pool.stream_rows(fresh_pool.STREAM3, three)) == 3


def test_step_35s_stream_needs_both_its_files(tmp_path, monkeypatch):
    monkeypatch.setattr(fresh_pool, "OUT", tmp_path)
    files = {}
    for group in fresh_pool.STREAMS[:3]:
        for src in group:
            files[src.flag] = tmp_path / f"{src.prefix}.csv"
            files[src.flag].write_text("a,b,c,d\n")
    missing = tmp_path / "nowhere.csv"
    argv = ["pool", "--stream4", *[x for f, p in files.items() for x in (f, str(p))]]
    with pytest.raises(SystemExit, match=r"nowhere.csv: no such file \(download it from "
                                         r"https://raw.githubusercontent.com/MushfiqShovon"):
        fresh_pool.main([*argv, "--stream4-csv", str(files["--stream-csv"]),
                         "--stream4b-csv", str(missing)])
    assert not (tmp_path / "pool.jsonl").exists()
