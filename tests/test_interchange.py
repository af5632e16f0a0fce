"""Round trips through Label Studio, doccano and Prodigy in their documented formats."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest
from conftest import error_lines, run_main, write_jsonl

from classify import api
from classify.data import load_dataset
from classify.errors import DataError

ITEMS = [
    {"id": "a#1", "text": "Customs found heroin in a suitcase at the airport.", "source": "a",
     "topics": ["narcotics"], "stance": "neutral", "uncertainty": 0.9},
    {"id": "a#2", "text": "The minister praised the new border agency.", "source": "a",
     "topics": [], "stance": "supportive"},
    {"id": "b#1", "text": "Farmers reported a record wheat harvest.", "source": "b"},
]
# What the annotator decided: several topics on the first, a changed stance on the second.
GOLD = {
    "a#1": (["aviation", "narcotics"], "critical"),
    "a#2": (["immigration"], "supportive"),
    "b#1": ([], "neutral"),
}


@pytest.fixture
def todo(tmp_path):
    return write_jsonl(tmp_path / "todo.jsonl", ITEMS)


def _expected() -> list[dict]:
    return [{"text": it["text"], "topics": GOLD[it["id"]][0], "stance": GOLD[it["id"]][1],
             "source": it["source"], "id": it["id"]} for it in ITEMS]


def _import(tmp_path, model_dir, export_file, tool):
    out = tmp_path / "labels" / "team.jsonl"
    r = run_main(["import", str(export_file), "--from", tool, "--out", str(out), "--model",
                  str(model_dir)])
    assert r.code == 0, r.err
    recs = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert len(load_dataset([out]).records) == len(recs)  # training data as it stands
    return recs, r.err


def test_label_studio_round_trip(tmp_path, todo, model_dir):
    r = run_main(["export", str(todo), "--to", "label-studio", "--out",
                  str(tmp_path / "tasks.json"), "--model", str(model_dir)])
    assert r.code == 0, r.err
    tasks = json.loads((tmp_path / "tasks.json").read_text(encoding="utf-8"))
    config = ET.fromstring((tmp_path / "tasks.xml").read_text(encoding="utf-8"))
    controls = {c.get("name"): c for c in config.iter("Choices")}
    assert controls["topics"].get("choice") == "multiple"
    assert controls["stance"].get("choice") == "single-radio"
    topics = api.load_model(model_dir).topic_labels
    assert [c.get("value") for c in controls["topics"]] == topics
    assert config.find("Text").get("value") == "$text"
    # the guess is a prediction on the controls the config defines
    pred = tasks[0]["predictions"][0]
    assert {(x["from_name"], x["to_name"], x["type"]) for x in pred["result"]} == {
        ("topics", "text", "choices"), ("stance", "text", "choices")}
    assert pred["score"] == 0.9
    guess3 = api.tag_records([{"text": ITEMS[2]["text"]}], model_dir)[0]
    got3 = {x["from_name"]: x["value"]["choices"] for x in tasks[2]["predictions"][0]["result"]}
    assert got3.get("topics", []) == guess3.topics and got3["stance"] == [guess3.stance]
    # Label Studio's JSON export: the tasks come back with annotations
    exported = []
    for k, task in enumerate(tasks, 1):
        tops, stance = GOLD[task["data"]["item_id"]]
        result = ([{"from_name": "topics", "to_name": "text", "type": "choices",
                    "value": {"choices": tops}, "id": f"t{k}", "origin": "manual"}]
                  if tops else []) + [{"from_name": "stance", "to_name": "text",
                                       "type": "choices", "value": {"choices": [stance]},
                                       "id": f"s{k}", "origin": "manual"}]
        exported.append({"id": k, "data": task["data"], "predictions": task["predictions"],
                         "annotations": [{"id": 100 + k, "completed_by": 1, "result": result,
                                          "was_cancelled": False, "ground_truth": False,
                                          "lead_time": 3.2, "task": k}]})
    exported.append({"id": 9, "data": {"text": "Nobody got to this one."}, "annotations": [
        {"id": 200, "result": [], "was_cancelled": True}]})
    f = tmp_path / "project.json"
    f.write_text(json.dumps(exported), encoding="utf-8")
    recs, err = _import(tmp_path, model_dir, f, "label-studio")
    assert recs == _expected()
    assert "3 record(s) imported" in err and "1 item(s) not annotated" in err


def test_label_studio_json_min_export(tmp_path, model_dir):
    """JSON-MIN: one choice is a bare string, several are {"choices": [...]}; the task id
    overwrites any 'id' in the data, so ours travels as item_id."""
    rows = [{"text": ITEMS[0]["text"], "item_id": "a#1", "source": "a", "id": 7,
             "topics": {"choices": ["aviation", "narcotics"]}, "stance": "critical",
             "annotator": "ann@example.org", "annotation_id": 3, "lead_time": 2.0},
            {"text": ITEMS[1]["text"], "item_id": "a#2", "source": "a", "id": 8,
             "topics": "immigration", "stance": "supportive", "annotator": 1},
            {"text": ITEMS[2]["text"], "item_id": "b#1", "source": "b", "id": 9,
             "stance": "neutral"}]
    f = tmp_path / "min.json"
    f.write_text(json.dumps(rows), encoding="utf-8")
    recs, _ = _import(tmp_path, model_dir, f, "label-studio")
    assert recs == _expected()


def test_doccano_round_trip(tmp_path, todo, model_dir):
    r = run_main(["export", str(todo), "--to", "doccano", "--model", str(model_dir)])
    assert r.code == 0, r.err
    tasks = [json.loads(x) for x in r.out.splitlines()]
    assert tasks[0]["label"] == ["narcotics", "stance:neutral"]  # the guess, pre-annotated
    assert set(tasks[0]) == {"text", "label", "item_id", "source"}
    # doccano's JSONL export: its own id, the text, the extra columns, the labels (sorted)
    lines = []
    for k, t in enumerate(tasks, 1):
        tops, stance = GOLD[t["item_id"]]
        lines.append({"id": k, "text": t["text"], "item_id": t["item_id"],
                      "source": t["source"], "label": sorted(tops + [f"stance:{stance}"]),
                      "Comments": []})
    lines.append({"id": 9, "text": "Not annotated yet.", "label": [], "Comments": []})
    f = write_jsonl(tmp_path / "doccano.jsonl", lines)
    recs, err = _import(tmp_path, model_dir, f, "doccano")
    assert recs == _expected() and "1 item(s) not annotated" in err


def test_export_reads_a_pipe(todo, model_dir):
    """``classify suggest ... | classify export - --to ...``: the same tasks as from the file,
    the items' own ids and sources kept."""
    from_file = run_main(["export", str(todo), "--to", "doccano", "--model", str(model_dir)])
    piped = run_main(["export", "-", "--to", "doccano", "--model", str(model_dir)],
                     stdin=todo.read_bytes())
    assert piped.code == 0 and from_file.code == 0, piped.err
    assert piped.out == from_file.out and piped.out.count("\n") == len(ITEMS)
    r = run_main(["export", "-", "--to", "doccano", "--model", str(model_dir)],
                 stdin=b'{"text": "No id here."}\n')
    assert r.code == 0, r.err
    task = json.loads(r.out)
    assert (task["item_id"], task["source"]) == ("<stdin>:1", "<stdin>")


def test_label_refuses_a_pipe(tmp_path, todo, model_dir):
    out = tmp_path / "o.jsonl"
    r = run_main(["label", "-", "--out", str(out), "--model", str(model_dir)],
                 stdin=todo.read_bytes())
    assert r.code == 2 and "Traceback" not in r.err and r.err.count("\n") == 1
    assert "reads your keys from standard input" in r.err and not out.exists()


def test_prodigy_round_trip(tmp_path, todo, model_dir):
    r = run_main(["export", str(todo), "--to", "prodigy", "--model", str(model_dir)])
    assert r.code == 0, r.err
    tasks = [json.loads(x) for x in r.out.splitlines()]
    ids = [o["id"] for o in tasks[0]["options"]]
    assert ids == api.load_model(model_dir).topic_labels + [
        "stance:critical", "stance:neutral", "stance:supportive"]
    assert tasks[1]["accept"] == ["stance:supportive"]
    # prodigy db-out: the task as annotated, with answer and hashes
    out = []
    for k, t in enumerate(tasks):
        tops, stance = GOLD[t["meta"]["id"]]
        out.append({**t, "accept": tops + [f"stance:{stance}"], "answer": "accept",
                    "_input_hash": k, "_task_hash": 10 + k, "_view_id": "choice",
                    "_timestamp": 1700000000 + k})
    out.append({**tasks[0], "text": "Rejected one.", "answer": "reject"})
    out.append({**tasks[0], "text": "Ignored one.", "answer": "ignore"})
    f = write_jsonl(tmp_path / "db-out.jsonl", out)
    recs, err = _import(tmp_path, model_dir, f, "prodigy")
    assert recs == _expected() and "2 item(s) not annotated" in err


@pytest.mark.parametrize("tool, row, message", [
    ("doccano", {"id": 2, "text": "x", "label": ["narcotics", "stance:critical",
                                                 "stance:neutral"]},
     "2 stances (critical, neutral); a stance is one class"),
    ("doccano", {"id": 2, "text": "x", "label": ["drugs", "stance:critical"]},
     "unknown topic 'drugs'"),
    ("prodigy", {"text": "x", "accept": "narcotics", "answer": "accept"},
     "labels must be a list of names"),
    ("doccano", {"id": 2, "label": ["narcotics"]}, "missing or empty 'text'"),
    ("label-studio", {"data": {"text": "x"}, "annotations": [{"result": [
        {"from_name": "topic", "type": "choices", "value": {"choices": ["narcotics"]}}]}]},
     "choices from 'topic'; the labelling config"),
    ("label-studio", {"data": {"text": "x"}, "annotations": [{"result": ["narcotics"]}]},
     "each item of an annotation's 'result' must be an object"),
    ("label-studio", {"data": {"text": "x"}, "annotations": [{"result": [
        {"from_name": "stance", "type": "taxonomy", "value": {"taxonomy": [["neutral"]]}}]}]},
     "'stance' given as 'taxonomy', not as choices"),
])
def test_bad_import_names_the_place(tmp_path, model_dir, tool, row, message):
    first = {"id": 1, "text": "fine", "label": ["stance:neutral"],
             "accept": ["stance:neutral"]}
    if tool == "label-studio":
        first = {"data": {"text": "fine"}, "annotations": [{"result": [
            {"from_name": "stance", "type": "choices", "value": {"choices": ["neutral"]}}]}]}
    f = write_jsonl(tmp_path / "in.jsonl", [first, row])
    with pytest.raises(DataError, match=rf"{f}:2: .*{re.escape(message)}"):
        api.import_file(f, tool, model_dir)
    out = tmp_path / "o.jsonl"
    r = run_main(["import", str(f), "--from", tool, "--out", str(out), "--model",
                  str(model_dir)])
    assert r.code == 2 and "Traceback" not in r.err and not out.exists()


@pytest.mark.parametrize("tool, row, message", [
    ("label-studio", {"data": {"text": "x"}, "annotations": ["a"]},
     "each item of 'annotations' must be an object, got a string"),
    ("label-studio", {"data": {"text": "x"}, "annotations": [{"was_cancelled": True}, 5]},
     "each item of 'annotations' must be an object, got a number"),
    ("prodigy", {"text": "x", "accept": ["narcotics"], "answer": "Accept"},
     "'answer' must be one of accept, reject, ignore, got 'Accept'"),
    ("prodigy", {"text": "x", "accept": ["narcotics"], "answer": ["accept"]},
     "'answer' must be one of accept, reject, ignore, got a list"),
    ("prodigy", {"text": "x", "accept": ["narcotics"], "answer": None},
     "'answer' must be one of accept, reject, ignore, got null"),
    ("label-studio", {"data": {"text": "x"}, "annotations": [None]},
     "each item of 'annotations' must be an object, got null"),
])
def test_malformed_annotation_is_an_error_not_left_out(tmp_path, model_dir, tool, row,
                                                       message):
    """An item whose annotation cannot be read is an error naming it, not counted as
    unannotated and quietly dropped (its labels would be lost)."""
    f = write_jsonl(tmp_path / "in.jsonl", [{"data": {"text": "fine"}, "annotations": []}
                                            if tool == "label-studio" else
                                            {"text": "fine", "answer": "ignore"}, row])
    out = tmp_path / "o.jsonl"
    r = run_main(["import", str(f), "--from", tool, "--out", str(out), "--model",
                  str(model_dir)])
    assert r.code == 2 and "Traceback" not in r.err and not out.exists()
    assert r.err.strip().splitlines() == [f"classify: error: {f}:2: {message}"]


def test_unannotated_items_are_still_left_out_and_counted(tmp_path, model_dir):
    """Cancelled, empty, rejected and ignored items are not errors: they are left out."""
    stance = [{"from_name": "stance", "type": "choices", "value": {"choices": ["neutral"]}}]
    ls = write_jsonl(tmp_path / "ls.jsonl", [
        {"data": {"text": "Counted."}, "annotations": [{"result": stance}]},
        {"data": {"text": "Cancelled."}, "annotations": [{"was_cancelled": True}]},
        {"data": {"text": "Empty."}, "annotations": []},
        {"data": {"text": "None yet."}}])
    got = api.import_file(ls, "label-studio", model_dir)
    assert [r["text"] for r in got.records] == ["Counted."] and len(got.left_out) == 3
    pr = write_jsonl(tmp_path / "pr.jsonl", [
        {"text": "Counted.", "accept": ["stance:neutral"], "answer": "accept"},
        {"text": "Rejected.", "accept": [], "answer": "reject"},
        {"text": "Ignored.", "answer": "ignore"}])
    got = api.import_file(pr, "prodigy", model_dir)
    assert [r["text"] for r in got.records] == ["Counted."] and len(got.left_out) == 2


def test_prodigy_tasks_nobody_answered_are_not_labels(tmp_path, todo, model_dir):
    """Our own export read back as if annotated: its pre-selected guesses carry no 'answer',
    so nothing is imported and --out is not written."""
    tasks, out = tmp_path / "tasks.jsonl", tmp_path / "imported.jsonl"
    assert run_main(["export", str(todo), "--to", "prodigy", "--model", str(model_dir),
                     "--out", str(tasks)]).code == 0
    r = run_main(["import", str(tasks), "--from", "prodigy", "--model", str(model_dir),
                  "--out", str(out)])
    assert r.code != 0 and "no annotated item to import" in r.err and not out.exists()


def test_doccano_tasks_nobody_reviewed_are_not_labels(tmp_path, todo, model_dir):
    """Our own doccano export read back as if annotated: its labels are the model's guess,
    and it lacks the id doccano's export gives every item, so nothing is imported and --out
    is not written (as for Prodigy and Label Studio)."""
    tasks, out = tmp_path / "tasks.jsonl", tmp_path / "imported.jsonl"
    assert run_main(["export", str(todo), "--to", "doccano", "--model", str(model_dir),
                     "--out", str(tasks)]).code == 0
    says = (f"{tasks}: no line has doccano's 'id': these are tasks as classify export writes "
            "them (the model's guesses), not a doccano export; label them in doccano and "
            "export the project")
    with pytest.raises(DataError, match=re.escape(says)):
        api.import_file(tasks, "doccano", model_dir)
    r = run_main(["import", str(tasks), "--from", "doccano", "--model", str(model_dir),
                  "--out", str(out)])
    assert r.code != 0 and not out.exists()
    assert error_lines(r.err) == [f"classify: error: {says}"]


def test_an_unannotated_label_studio_json_min_export_is_not_foreign(tmp_path, model_dir):
    """JSON-MIN items nobody annotated keep Label Studio's id: "not annotated", not "does
    not look like a Label Studio export"."""
    f, out = tmp_path / "min.json", tmp_path / "o.jsonl"
    f.write_text('[{"id": 2, "text": "Flights."}, {"id": 3, "text": "Police."}]')
    r = run_main(["import", str(f), "--from", "label-studio", "--model", str(model_dir),
                  "--out", str(out)])
    assert error_lines(r.err) == [f"classify: error: {f}: no annotated item to import (2 not "
                                  f"annotated); {out} not written"], r.err


@pytest.mark.parametrize("content", [
    '{"a": 1}\n',
    '[{"id": 1, "text": "Fine.", "label": ["stance:neutral"], "Comments": []}]\n',
    '{"text": "Fine.", "label": ["stance:neutral"], "item_id": "a#1", "source": "a"}\n' * 2,
])
def test_label_studio_import_of_another_tools_file_says_so(tmp_path, model_dir, content):
    """A file with no Label Studio task (nothing under 'data') and no choice of ours (JSON-MIN)
    is no Label Studio export, not a file of items nobody annotated."""
    f, out = tmp_path / "export.json", tmp_path / "o.jsonl"
    f.write_text(content, encoding="utf-8")
    r = run_main(["import", str(f), "--from", "label-studio", "--model", str(model_dir),
                  "--out", str(out)])
    assert r.code == 2 and "Traceback" not in r.err and not out.exists()
    assert error_lines(r.err) == [f"classify: error: {f}: does not look like a Label Studio "
                                  "export: no item has 'data' (the JSON export) or a 'topics' "
                                  "or 'stance' choice (JSON-MIN); export the project from "
                                  "Label Studio as JSON"], r.err


def test_label_studio_task_position_in_errors(tmp_path, model_dir):
    f = tmp_path / "p.json"
    f.write_text(json.dumps([{"data": {"text": "x"}, "annotations": [{"result": [
        {"from_name": "stance", "to_name": "text", "type": "choices",
         "value": {"choices": ["furious"]}}]}]}]), encoding="utf-8")
    with pytest.raises(DataError, match=rf"{f}: item 1: unknown stance 'furious'"):
        api.import_file(f, "label-studio", model_dir)


@pytest.mark.parametrize("tool, row", [
    ("prodigy", {"text": "x", "answer": "accept", "accept": ["aviation", "stance:angry"]}),
    ("doccano", {"id": 1, "text": "x", "label": ["stance:neutral"]}),
])
def test_a_model_without_stance_takes_no_stance(tmp_path, topics_only_model, tool, row):
    f = write_jsonl(tmp_path / "in.jsonl", [row])
    with pytest.raises(DataError, match=rf"{f}:1: unknown stance .*the model has no stance"):
        api.import_file(f, tool, topics_only_model)


@pytest.mark.parametrize("tool", ["doccano", "prodigy"])
def test_config_is_for_label_studio_only(tmp_path, todo, model_dir, tool):
    out, config = tmp_path / "t.jsonl", tmp_path / "c.xml"
    r = run_main(["export", str(todo), "--to", tool, "--out", str(out), "--config",
                  str(config), "--model", str(model_dir)])
    assert r.code == 2 and "--config is Label Studio's labelling config" in r.err
    assert not out.exists() and not config.exists()


@pytest.mark.parametrize("row, says", [
    ({"text": "Planes fly.", "topics": ["sport"]}, "unknown topic 'sport'"),
    ({"text": "Planes fly.", "topics": [], "stance": "angry"}, "unknown stance 'angry'"),
    ({"text": "Planes fly.", "topics": "aviation"}, "'topics' must be a list"),
])
def test_export_refuses_a_guess_outside_the_models_labels(tmp_path, model_dir, row, says):
    """The tool's pre-annotation would hold labels its config lacks, and not import back."""
    f = write_jsonl(tmp_path / "items.jsonl", [{"text": "Fine.", "topics": []}, row])
    with pytest.raises(DataError, match=rf"{f}:2: {re.escape(says)}"):
        api.export_items(f, "doccano", model_dir)
