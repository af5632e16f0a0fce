"""Bad input through the CLI: one-line errors naming the file, no tracebacks, right exit codes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import (
    SEED_ARTICLE,
    STANCES,
    TOPICS,
    assert_clean_error,
    error_lines,
    make_records,
    run_cli,
    run_main,
    write_jsonl,
)

from classify.errors import DataError
from classify.persist import load_model
from classify.sentences import MAX_CHARS

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00"
       b"\x00\x1f\xf3\xffa\x00\x00\x00\x19tEXtSoftware\x00Adobe ImageReadyq\xc9e<" * 4)


def tag(model, *inputs, fmt="json", extra=(), **kw):
    return run_cli(["tag", *inputs, "--model", model, "--format", fmt, *extra], **kw)


# ---------------------------------------------------------------- unusable text inputs


@pytest.mark.parametrize("name, content", [
    ("empty.txt", b""),
    ("blank.txt", b"   \n\t\n  \r\n"),
    ("image.png", PNG),
    ("nul.txt", b"Police seized heroin.\x00\x00\x00 More text."),
])
def test_unusable_file_gives_one_line_error(model_dir, tmp_path, name, content):
    f = tmp_path / name
    f.write_bytes(content)
    p = tag(model_dir, f)
    assert_clean_error(p.returncode, p.stderr, str(f))
    assert len(error_lines(p.stderr)) == 1, p.stderr


def test_empty_stdin(model_dir):
    p = tag(model_dir, "-", input=b"")
    assert p.returncode != 0
    assert "Traceback" not in p.stderr
    assert any("stdin" in ln or " -:" in ln for ln in error_lines(p.stderr)), p.stderr


def test_whitespace_stdin(model_dir):
    p = tag(model_dir, "-", input=b"  \n \n")
    assert p.returncode != 0 and "Traceback" not in p.stderr
    assert error_lines(p.stderr), p.stderr


def test_missing_input_file(model_dir, tmp_path):
    p = tag(model_dir, tmp_path / "nope.txt")
    assert_clean_error(p.returncode, p.stderr, str(tmp_path / "nope.txt"))


# ---------------------------------------------------------------- encodings that must work


def _sentences(out: str) -> list[str]:
    return [s["text"] for s in json.loads(out)[0]["sentence_tags"]]


@pytest.mark.parametrize("encoding, text", [
    ("latin-1", "Le café de l'aéroport a fermé. Die Zöllner fanden Heroin."),
    ("cp1252", "Officials said \u201cthe airline\u2019s fares rose\u201d by 5\u20ac. "
               "Police seized heroin \u2013 again."),
    ("utf-8-sig", "Police seized heroin at the airport. Migrants crossed the border."),
    ("utf-16", "Police seized heroin at the airport. Migrants crossed the border \u00e0 pied."),
    ("utf-16-be", "Police seized heroin at the airport. Refugees arrived."),
])
def test_encodings_tag_fine(model_dir, tmp_path, encoding, text):
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    f = tmp_path / "article.txt"
    f.write_bytes(data)
    p = tag(model_dir, f)
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    sents = _sentences(p.stdout)
    assert len(sents) == 2 and " ".join(sents) == text
    assert "\ufeff" not in p.stdout


def test_cp1252_jsonl_batch(model_dir, tmp_path):
    """A JSONL batch in Windows-1252 is decoded (line by line) and tagged."""
    f = tmp_path / "b.jsonl"
    f.write_bytes('{"id": "a", "text": "The caf\u00e9 at the airport \u2013 closed."}\n'
                  .encode("cp1252") + b'{"id": "b", "text": "Police seized heroin."}\n')
    p = tag(model_dir, f, fmt="jsonl")
    assert p.returncode == 0, p.stderr
    assert [json.loads(x)["id"] for x in p.stdout.splitlines()] == ["a", "b"]


def test_utf16_jsonl_batch(model_dir, tmp_path):
    f = tmp_path / "b.jsonl"
    f.write_bytes(('{"id": "a", "text": "Police seized heroin."}\n'
                   '{"id": "b", "text": "The airline cancelled flights."}\n').encode("utf-16"))
    p = tag(model_dir, f, fmt="jsonl")
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    assert [json.loads(x)["id"] for x in p.stdout.splitlines()] == ["a", "b"]


def test_long_line_without_punctuation(model_dir, tmp_path):
    words = ["heroin", "airport", "border", "militants", "budget", "river"]
    text = " ".join(words[i % len(words)] for i in range(30_000))  # ~200 KB, one line
    assert len(text) > 200_000
    f = tmp_path / "long.txt"
    f.write_text(text, encoding="utf-8")
    p = tag(model_dir, f, fmt="jsonl")
    assert p.returncode == 0, p.stderr
    rows = [json.loads(x) for x in p.stdout.splitlines()]
    sents = [r for r in rows if r["type"] == "sentence"]
    assert len(sents) > 1
    assert all(len(s["text"]) <= MAX_CHARS for s in sents)
    assert rows[-1]["type"] == "article" and rows[-1]["sentences"] == len(sents)


# ---------------------------------------------------------------- directories


@pytest.mark.parametrize("bad", ["binary", "symlink"])
def test_directory_with_one_bad_file(model_dir, tmp_path, bad):
    d = tmp_path / "articles"
    d.mkdir()
    (d / "a.txt").write_text("Police seized heroin at the port.", encoding="utf-8")
    (d / "c.txt").write_text("The airline added flights to Rome.", encoding="utf-8")
    if bad == "binary":
        badf = d / "b.png"
        badf.write_bytes(PNG)
    else:
        badf = d / "b.txt"
        badf.symlink_to(tmp_path / "does-not-exist.txt")
    p = tag(model_dir, d)
    assert_clean_error(p.returncode, p.stderr, str(badf))
    arts = json.loads(p.stdout)
    assert [a["article"] for a in arts] == [str(d / "a.txt"), str(d / "c.txt")]


def test_several_inputs_one_missing(model_dir, tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("Police seized heroin at the port.", encoding="utf-8")
    p = tag(model_dir, good, tmp_path / "missing.txt")
    assert_clean_error(p.returncode, p.stderr, str(tmp_path / "missing.txt"))
    assert [a["article"] for a in json.loads(p.stdout)] == [str(good)]


# ---------------------------------------------------------------- JSONL batches


def _batch_with_bad_middle(tmp_path):
    f = tmp_path / "batch.jsonl"
    f.write_text('{"id": "a", "text": "Police seized heroin."}\n'
                 '{"id": "b", "text": "Broken line\n'
                 '{"id": "c", "text": "The airline cancelled flights."}\n', encoding="utf-8")
    return f


def test_batch_malformed_middle_line(model_dir, tmp_path):
    f = _batch_with_bad_middle(tmp_path)
    p = tag(model_dir, f, fmt="jsonl")
    assert_clean_error(p.returncode, p.stderr, f"{f}:2")
    assert "--skip-invalid" in p.stderr


def test_batch_skip_invalid(model_dir, tmp_path):
    f = _batch_with_bad_middle(tmp_path)
    p = tag(model_dir, f, fmt="jsonl", extra=["--skip-invalid"])
    assert "Traceback" not in p.stderr
    out = [json.loads(x) for x in p.stdout.splitlines()]
    tagged = [o for o in out if "error" not in o]
    assert [o["id"] for o in tagged] == ["a", "c"]
    for o in tagged:
        assert set(o["topic_scores"]) == set(TOPICS) and o["stance"] in STANCES
    errors = [o for o in out if "error" in o]
    assert len(errors) <= 1 and all(f"{f}:2" in o["error"] for o in errors)
    assert len(out) == 3, "one output line per input record (invalid ones with 'error')"
    assert out[1]["error"]
    skip = [ln for ln in p.stderr.splitlines() if "skipped" in ln]
    assert skip and f"{f}:2" in skip[0], p.stderr


@pytest.mark.parametrize("line", ['{"id": "x"}', '{"id": "x", "text": ""}', '[1, 2, 3]',
                                  '{"id": "x", "text": 5}', '"just a string"'])
def test_batch_invalid_record(model_dir, tmp_path, line):
    f = tmp_path / "b.jsonl"
    f.write_text('{"text": "Police seized heroin."}\n' + line + "\n", encoding="utf-8")
    p = tag(model_dir, f, fmt="jsonl")
    assert_clean_error(p.returncode, p.stderr, f"{f}:2")


def test_closed_pipe(model_dir, tmp_path):
    recs = [{"id": i, "text": f"Police seized {i} kilos of heroin at the airport."}
            for i in range(6000)]
    f = write_jsonl(tmp_path / "big.jsonl", recs)
    err = tmp_path / "err.txt"
    cmd = (f"'{sys.executable}' -m classify tag '{f}' --model '{model_dir}' "
           f"--format jsonl 2>'{err}' | head -1; echo \"rc=${{PIPESTATUS[0]}}\"")
    p = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=120,
                       env={k: v for k, v in os.environ.items() if k != "CLASSIFY_MODEL"})
    lines = p.stdout.splitlines()
    assert json.loads(lines[0])["id"] == "0"
    stderr = err.read_text(encoding="utf-8")
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    assert lines[-1] in ("rc=0", "rc=141"), (lines[-1], stderr)


# ---------------------------------------------------------------- models


def test_missing_model_dir(tmp_path):
    art = tmp_path / "a.txt"
    art.write_text("Police seized heroin.", encoding="utf-8")
    p = tag(tmp_path / "no-model", art)
    assert_clean_error(p.returncode, p.stderr, str(tmp_path / "no-model"))


def test_a_file_given_as_the_model_is_not_told_to_train_there(tmp_path):
    """'--model notes.txt' used to get the hint to train a model at notes.txt, which fails."""
    from classify.errors import ModelError

    f = tmp_path / "notes.txt"
    f.write_text("x", encoding="utf-8")
    with pytest.raises(ModelError, match=re.escape(f"{f}: not a model directory (a model is "
                                                   "a directory")):
        load_model(f)


def test_model_dir_without_meta_refused_then_trusted(model_copy, tmp_path):
    (model_copy / "meta.json").unlink()
    art = tmp_path / "a.txt"
    art.write_text("Police seized heroin at the airport.", encoding="utf-8")
    p = tag(model_copy, art)
    assert_clean_error(p.returncode, p.stderr, str(model_copy / "meta.json"))
    assert "--trust" in p.stderr
    p = tag(model_copy, art, extra=["--trust"])
    assert p.returncode == 0, p.stderr
    assert "warning" in p.stderr and "unverified" in p.stderr
    assert json.loads(p.stdout)[0]["sentences"] == 1


def test_model_file_modified_refused(model_copy, tmp_path):
    meta = json.loads((model_copy / "meta.json").read_text(encoding="utf-8"))
    mf = model_copy / meta["model_file"]
    data = bytearray(mf.read_bytes())
    data[len(data) // 2] ^= 0xFF
    mf.write_bytes(bytes(data))
    art = tmp_path / "a.txt"
    art.write_text("Police seized heroin.", encoding="utf-8")
    p = tag(model_copy, art)
    assert_clean_error(p.returncode, p.stderr, str(mf))
    assert "SHA-256" in p.stderr
    assert p.stdout.strip() in ("", "[")


def test_model_file_missing(model_copy, tmp_path):
    meta = json.loads((model_copy / "meta.json").read_text(encoding="utf-8"))
    (model_copy / meta["model_file"]).unlink()
    art = tmp_path / "a.txt"
    art.write_text("Police seized heroin.", encoding="utf-8")
    p = tag(model_copy, art)
    assert_clean_error(p.returncode, p.stderr, meta["model_file"])


def test_meta_json_corrupt(model_copy, tmp_path):
    (model_copy / "meta.json").write_text('{"model_file": ', encoding="utf-8")
    art = tmp_path / "a.txt"
    art.write_text("Police seized heroin.", encoding="utf-8")
    p = tag(model_copy, art)
    assert_clean_error(p.returncode, p.stderr, str(model_copy / "meta.json"))


def test_model_loads_with_pickle_disabled(model_copy, monkeypatch):
    """Loading a model directory unpickles nothing: it works with pickle's loaders broken."""
    import pickle

    def refuse(*_a, **_k):
        raise AssertionError("a model load tried to unpickle")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    model, _ = load_model(model_copy)
    P, S = model.scores(["Police seized heroin at the airport."])
    assert P.shape == (1, len(model.topic_labels)) and S.shape == (1, 3)


def test_model_of_a_newer_format_is_refused(model_copy, tmp_path):
    path = model_copy / "meta.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta["format"] = 99
    path.write_text(json.dumps(meta), encoding="utf-8")
    art = tmp_path / "a.txt"
    art.write_text("Police seized heroin at the airport.", encoding="utf-8")
    p = tag(model_copy, art)
    assert_clean_error(p.returncode, p.stderr, "newer classify")


@pytest.mark.parametrize("fmt", ["5", 5.0, None, -1, True])
def test_model_format_that_is_no_whole_number_is_refused(model_copy, fmt):
    """The newer-format check compared integers only: "5", 5.0 or null loaded silently."""
    from classify.errors import ModelError

    path = model_copy / "meta.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta["format"] = fmt
    path.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelError, match=re.escape(f"{path}: 'format' must be a whole number")):
        load_model(model_copy)


@pytest.mark.parametrize("classes", [["a", "a", "b", "c"], "abcd", ["a", "", "b", "c"]])
def test_model_topic_classes_must_be_distinct_names(model_copy, classes):
    """Two topics of one name used to collapse into one, reported with another's score."""
    from classify.errors import ModelError

    path = model_copy / "meta.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta["model"]["topics"]["classes"] = classes
    path.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelError, match="topics classes must be a list of distinct label"):
        load_model(model_copy)


# ---------------------------------------------------------------- training data problems


def test_label_with_one_example(tmp_path):
    recs = make_records(n_per_topic=12)
    recs.append({"text": "Pirates boarded a cargo ship off the coast.", "topics": ["piracy"],
                 "stance": "neutral", "source": "src-1"})
    f = write_jsonl(tmp_path / "d.jsonl", recs)
    r = run_main(["train", "--data", str(f), "--model", str(tmp_path / "m"), "--fast",
                  "--quiet"])
    assert r.code == 0, r.err
    meta = json.loads((tmp_path / "m" / "meta.json").read_text(encoding="utf-8"))
    assert "piracy" in meta["labels"]["topics"]
    r = run_main(["evaluate", "--data", str(f), "--folds", "2", "--fast", "--quiet", "--json"])
    assert r.code == 0, r.err
    assert json.loads(r.out)["topics"]["labels"]["piracy"]["support"] == 1


def test_stance_class_with_one_example(tmp_path):
    recs = [{"text": r["text"], "topics": r["topics"], "stance": "neutral",
             "source": r["source"]} for r in make_records(n_per_topic=8)]
    recs[0]["stance"] = "critical"
    f = write_jsonl(tmp_path / "d.jsonl", recs)
    r = run_main(["train", "--data", str(f), "--model", str(tmp_path / "m"), "--fast",
                  "--quiet"])
    assert r.code == 0, r.err
    assert "Traceback" not in r.err


def test_all_records_unlabelled(tmp_path):
    f = write_jsonl(tmp_path / "d.jsonl", [{"text": f"Sentence {i} here.", "source": "a"}
                                           for i in range(5)])
    p = run_cli(["train", "--data", f, "--model", tmp_path / "m", "--fast"])
    assert_clean_error(p.returncode, p.stderr, str(f))
    assert not (tmp_path / "m" / "meta.json").exists()


def test_only_one_stance_class(tmp_path):
    f = write_jsonl(tmp_path / "d.jsonl", [{"text": f"Sentence {i} here.", "stance": "neutral",
                                            "source": f"s{i}"} for i in range(6)])
    p = run_cli(["train", "--data", f, "--model", tmp_path / "m", "--fast"])
    assert p.returncode != 0 and "Traceback" not in p.stderr
    assert error_lines(p.stderr) and "neutral" in p.stderr


def test_folds_more_than_sources(tmp_path):
    recs = make_records(n_per_topic=10, n_sources=3)
    f = write_jsonl(tmp_path / "d.jsonl", recs)
    p = run_cli(["evaluate", "--data", f, "--folds", "10", "--fast"])
    assert p.returncode != 0 and "Traceback" not in p.stderr
    lines = error_lines(p.stderr)
    assert len(lines) == 1 and "--folds 10" in lines[0] and "3 sources" in lines[0], p.stderr


def test_folds_less_than_two(train_file):
    r = run_main(["evaluate", "--data", str(train_file), "--folds", "1", "--fast"])
    assert r.code != 0 and "--folds" in r.err and "Traceback" not in r.err


def test_train_data_is_binary(tmp_path):
    f = tmp_path / "d.jsonl"
    f.write_bytes(PNG)
    p = run_cli(["train", "--data", f, "--model", tmp_path / "m", "--fast"])
    assert_clean_error(p.returncode, p.stderr, str(f))


def test_train_data_missing(tmp_path):
    p = run_cli(["train", "--data", tmp_path / "nope.jsonl", "--model", tmp_path / "m"])
    assert_clean_error(p.returncode, p.stderr, str(tmp_path / "nope.jsonl"))


def test_evaluate_test_file_with_unknown_labels(model_dir, tmp_path):
    """Held-out data may carry labels the model does not know: scored, not a crash."""
    f = write_jsonl(tmp_path / "t.jsonl", [
        {"text": "Pirates boarded a ship.", "topics": ["piracy"], "stance": "angry"},
        {"text": "Police seized heroin.", "topics": ["narcotics"], "stance": "neutral"}])
    r = run_main(["evaluate", "--model", str(model_dir), "--test", str(f), "--json"])
    assert r.code == 0, r.err
    rep = json.loads(r.out)
    assert "angry" in rep["stance"]["confusion"]["labels"]


def test_evaluate_missing_test_file(model_dir, tmp_path):
    p = run_cli(["evaluate", "--model", model_dir, "--test", tmp_path / "nope.jsonl"])
    assert_clean_error(p.returncode, p.stderr, str(tmp_path / "nope.jsonl"))


def test_train_model_path_is_a_file(tmp_path, train_file):
    f = tmp_path / "afile"
    f.write_text("not a directory", encoding="utf-8")
    p = run_cli(["train", "--data", train_file, "--model", f, "--fast", "--quiet"])
    assert_clean_error(p.returncode, p.stderr, str(f))
    assert f.read_text(encoding="utf-8") == "not a directory"


# ---------------------------------------------------------------- outputs that would clobber


def _one_line_usage_error(r) -> str:
    """A usage error: exit 2, one stderr line naming the command, no usage dump."""
    assert r.code == 2, r
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("classify ") and "error:" in lines[0], r.err
    return lines[0]


def test_evaluate_report_over_its_test_file_is_refused(model_dir, tmp_path):
    f = write_jsonl(tmp_path / "t.jsonl", make_records(n_per_topic=2)[:6])
    before = f.read_bytes()
    r = run_main(["evaluate", "--model", str(model_dir), "--test", str(f), "--report", str(f)])
    assert_clean_error(r.code, r.err, str(f))
    assert "input file" in r.err and f.read_bytes() == before


@pytest.mark.parametrize("cmd", [["export", "--to", "prodigy"],
                                 ["import", "--from", "prodigy"]])
def test_export_and_import_refuse_to_write_over_their_input(model_dir, tmp_path, cmd):
    f = tmp_path / "items.jsonl"
    f.write_text(json.dumps({"text": "Police seized heroin.", "accept": ["topic:narcotics"],
                             "answer": "accept"}) + "\n", encoding="utf-8")
    before = f.read_bytes()
    r = run_main([cmd[0], str(f), *cmd[1:], "--model", str(model_dir), "--out", str(f)])
    assert_clean_error(r.code, r.err, str(f))
    assert f.read_bytes() == before


def test_export_writes_tasks_and_config_all_or_none(model_dir, tmp_path):
    """A Label Studio export writes two files: when the second cannot be written, the first
    keeps its old content; the two may not be one file."""
    items = write_jsonl(tmp_path / "items.jsonl", [{"text": "Police seized heroin."}])
    out = tmp_path / "tasks.json"
    out.write_text("PRECIOUS", encoding="utf-8")
    bad = tmp_path / "adir"
    bad.mkdir()
    for config in (bad, tmp_path / "missing" / "c.xml"):
        r = run_main(["export", str(items), "--to", "label-studio", "--model", str(model_dir),
                      "--out", str(out), "--config", str(config)])
        assert_clean_error(r.code, r.err, str(config))
        assert out.read_text(encoding="utf-8") == "PRECIOUS"
    r = run_main(["export", str(items), "--to", "label-studio", "--model", str(model_dir),
                  "--out", str(out), "--config", str(out)])
    assert_clean_error(r.code, r.err, str(out))
    assert out.read_text(encoding="utf-8") == "PRECIOUS"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]
    r = run_main(["export", str(items), "--to", "label-studio", "--model", str(model_dir),
                  "--out", str(out)])
    assert r.code == 0, r.err
    assert json.loads(out.read_text(encoding="utf-8"))[0]["data"]["text"] == \
        "Police seized heroin."
    assert "<View>" in (tmp_path / "tasks.xml").read_text(encoding="utf-8")


def test_export_to_stdout_keeps_a_config_already_in_the_directory(model_dir, tmp_path,
                                                                  monkeypatch):
    """Tasks on stdout put the Label Studio config in ./label_config.xml by default: one that
    is already there is not replaced unless --config names it."""
    items = write_jsonl(tmp_path / "items.jsonl", [{"text": "Police seized heroin."}])
    monkeypatch.chdir(tmp_path)
    (tmp_path / "label_config.xml").write_text("MINE", encoding="utf-8")
    r = run_main(["export", str(items), "--to", "label-studio", "--model", str(model_dir)])
    assert_clean_error(r.code, r.err, "label_config.xml")
    assert "--config" in r.err and not r.out
    assert (tmp_path / "label_config.xml").read_text(encoding="utf-8") == "MINE"
    r = run_main(["export", str(items), "--to", "label-studio", "--model", str(model_dir),
                  "--config", "label_config.xml"])
    assert r.code == 0, r.err
    assert json.loads(r.out)[0]["data"]["text"] == "Police seized heroin."
    assert "<View>" in (tmp_path / "label_config.xml").read_text(encoding="utf-8")


@pytest.mark.parametrize("content", ["", "[]\n", '[{"data": {"text": "x"}, "annotations": []}]'])
def test_import_with_nothing_annotated_keeps_the_old_output(model_dir, tmp_path, content):
    src = tmp_path / "export.json"
    src.write_text(content, encoding="utf-8")
    out = tmp_path / "mine.jsonl"
    out.write_text('{"text": "kept", "topics": [], "stance": "neutral"}\n', encoding="utf-8")
    before = out.read_bytes()
    r = run_main(["import", str(src), "--from", "label-studio", "--model", str(model_dir),
                  "--out", str(out)])
    assert_clean_error(r.code, r.err, str(src))
    assert out.read_bytes() == before


@pytest.mark.parametrize("task, what", [
    ({"data": {"text": "x"}, "annotations": "oops"}, "'annotations' must be a list"),
    ({"data": {"text": "x"}, "annotations": [{"result": "oops"}]}, "'result' must be a list"),
])
def test_import_rejects_malformed_label_studio_annotations(model_dir, tmp_path, task, what):
    src = tmp_path / "export.json"
    src.write_text(json.dumps([task]), encoding="utf-8")
    r = run_main(["import", str(src), "--from", "label-studio", "--model", str(model_dir),
                  "--out", str(tmp_path / "o.jsonl")])
    assert_clean_error(r.code, r.err, f"{src}: item 1")
    assert what in r.err and not (tmp_path / "o.jsonl").exists()


# ---------------------------------------------------------------- inputs with nothing in them


@pytest.mark.parametrize("content", [b"", b"\n  \n"])
def test_empty_jsonl_batch_is_an_error(model_dir, tmp_path, content):
    f = tmp_path / "empty.jsonl"
    f.write_bytes(content)
    p = tag(model_dir, f, fmt="jsonl")
    assert_clean_error(p.returncode, p.stderr, str(f))
    assert p.stdout == ""


def test_closed_stdin_is_named_as_closed(model_dir):
    p = subprocess.run([sys.executable, "-m", "classify", "tag", "-", "--model",
                        str(model_dir)], capture_output=True, text=True,
                       preexec_fn=lambda: os.close(0), timeout=60)
    assert p.returncode == 1 and "standard input is closed" in p.stderr, p.stderr


def test_train_names_an_empty_data_file_beside_others(tmp_path, train_file):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    r = run_main(["train", "--data", str(train_file), "--data", str(empty), "--model",
                  str(tmp_path / "m"), "--fast", "--quiet"])
    assert r.code == 0, r.err
    assert f"warning: {empty}: no records" in r.err


def test_suggest_exclude_file_must_hold_records(model_dir, tmp_path):
    pool = write_jsonl(tmp_path / "pool.jsonl", [{"text": "Police seized heroin."}])
    excl = tmp_path / "excl.jsonl"
    excl.write_text('{"text": "a"}\n{"text": "b"}\n["not", "a", "record"]\n', encoding="utf-8")
    r = run_main(["suggest", "--pool", str(pool), "--model", str(model_dir), "--exclude",
                  str(excl)])
    assert_clean_error(r.code, r.err, f"{excl}:3")


def test_audit_guide_must_exist(train_file, tmp_path):
    r = run_main(["audit", "--data", str(train_file), "--fast", "--folds", "2", "--guide",
                  str(tmp_path / "nope.md")])
    assert_clean_error(r.code, r.err, str(tmp_path / "nope.md"))


# ---------------------------------------------------------------- option values


@pytest.mark.parametrize("args, says", [
    (["tag", "x.txt", "--jobs", "abc"], "not a whole number: 'abc'"),
    (["tag", "x.txt", "--jobs", "0"], "must be at least 1"),
    (["train", "--jobs", "many"], "not a whole number: 'many' (a number of processes, or auto)"),
    (["train", "--seed", "-1"], "must be at least 0"),
    (["train", "--C", "inf"], "must be a finite number"),
    (["train", "--C", "abc"], "not a number: 'abc'"),
    (["train", "--cv-folds", "1"], "must be at least 2"),
    (["suggest", "--pool", "p.jsonl", "--diversity", "nan"], "must be a finite number"),
    (["suggest", "--pool", "p.jsonl", "--diversity", "-1"], "must be 0 or more"),
    (["tag", "x.txt", "--format", "xml"], "invalid choice: 'xml'"),
])
def test_bad_option_values_are_one_line_usage_errors(args, says, train_file, tmp_path):
    if args[0] == "train":  # were a value let through, this trains a throwaway model only
        args = [*args, "--data", str(train_file), "--model", str(tmp_path / "m"), "--fast"]
    line = _one_line_usage_error(run_main(args))
    assert says in line and f"classify {args[0]}" in line and "--help" in line
    assert "_jobs" not in line and "_seed" not in line


def test_weight_without_a_path_is_refused(train_file, tmp_path):
    r = run_main(["train", "--data", str(train_file), "--weight", "=2", "--model",
                  str(tmp_path / "m"), "--fast", "--quiet"])
    assert_clean_error(r.code, r.err, "--weight =2")
    assert not (tmp_path / "m").exists()


def test_more_jobs_than_cores_are_capped_with_a_warning(model_dir, tmp_path, monkeypatch):
    from classify import api, cli

    seen = []
    monkeypatch.setattr(api, "usable_cores", lambda: 2)
    monkeypatch.setattr(cli, "cmd_tag", lambda args: seen.append(args.jobs) or 0)
    r = run_main(["tag", "x.txt", "--jobs", "100000"])
    assert r.code == 0 and seen == [2]
    assert "warning: --jobs 100000 is more than the 2 core(s)" in r.err
    r = run_main(["tag", "x.txt", "--jobs", "2"])
    assert r.code == 0 and seen == [2, 2] and "warning" not in r.err


def test_unknown_option_points_to_the_subcommands_help():
    line = _one_line_usage_error(run_main(["tag", "a.txt", "--bogus"]))
    assert "unrecognized arguments: --bogus" in line and "'classify tag --help'" in line


@pytest.mark.parametrize("target", ["data file", "model file"])
def test_a_report_never_replaces_a_file_the_command_reads(model_dir, model_copy, train_file,
                                                          tmp_path, target):
    """--report naming a file inside a data directory (or the model's directory) is refused
    before any work is done."""
    data = tmp_path / "data"
    data.mkdir()
    f = data / "d.jsonl"
    f.write_bytes(train_file.read_bytes())
    if target == "data file":
        args = ["audit", "--data", str(data), "--fast", "--folds", "2", "--report", str(f)]
    else:
        f = model_copy / "meta.json"
        args = ["evaluate", "--model", str(model_copy), "--test", str(train_file),
                "--report", str(f)]
    before = f.read_bytes()
    r = run_main(args)
    assert_clean_error(r.code, r.err, str(f))
    assert f.read_bytes() == before and "fold" not in r.err


def test_warnings_name_labels_not_column_numbers(tmp_path):
    recs = make_records(n_per_topic=12)
    recs.append({"text": "Pirates boarded a cargo ship off the coast.", "topics": ["piracy"],
                 "stance": "neutral", "source": "src-1"})
    f = write_jsonl(tmp_path / "d.jsonl", recs)
    r = run_main(["train", "--data", str(f), "--model", str(tmp_path / "m"), "--fast"])
    assert r.code == 0, r.err
    assert "'piracy'" in r.err
    assert not re.search(r"topics: '\d+'", r.err), r.err


# ---------------------------------------------------------------- damaged model files


def _damage(model_copy, change) -> tuple:
    import hashlib

    meta_path = model_copy / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    mf = model_copy / meta["model_file"]
    data = change(mf.read_bytes())
    mf.write_bytes(data)
    meta["model_sha256"] = hashlib.sha256(data).hexdigest()  # damage the SHA check misses
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    return mf


@pytest.mark.parametrize("change, says", [
    (lambda b: b[: len(b) // 2], "truncated or corrupt"),
    (lambda b: b"\x93NUMPY" + bytes(range(200)), "not an .npz archive"),
    (lambda b: b"PK\x03\x04" + bytes(range(200)), "truncated or corrupt"),
])
def test_damaged_model_file_is_named(model_copy, tmp_path, change, says):
    mf = _damage(model_copy, change)
    art = tmp_path / "a.txt"
    art.write_text("Police seized heroin.", encoding="utf-8")
    p = tag(model_copy, art)
    assert_clean_error(p.returncode, p.stderr, str(mf))
    assert says in p.stderr and "allow_pickle" not in p.stderr and "internal" not in p.stderr


def test_model_file_outside_the_model_directory_is_refused(model_copy, tmp_path):
    meta_path = model_copy / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["model_file"] = "../" + meta["model_file"]
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    art = tmp_path / "a.txt"
    art.write_text("Police seized heroin.", encoding="utf-8")
    p = tag(model_copy, art)
    assert_clean_error(p.returncode, p.stderr, str(meta_path))


def test_output_files_are_written_all_or_none_when_the_disk_refuses(tmp_path):
    """The first of two outputs overflows the file-size limit (a full disk as far as the
    writer can tell): the error names it, and the second, which fitted, is not put in place
    either."""
    out, cfg = tmp_path / "tasks.json", tmp_path / "tasks.xml"
    out.write_text("OLD", encoding="utf-8")
    cfg.write_text("OLD", encoding="utf-8")
    code = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))\n"
        "from classify.errors import ModelError\n"
        "from classify.persist import write_output_files\n"
        "try:\n"
        f"    write_output_files([({str(out)!r}, 'x' * 5000), ({str(cfg)!r}, 'NEW')])\n"
        "except ModelError as e:\n"
        "    print(e)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=60)
    assert p.stdout.startswith(f"{out}: cannot write"), (p.stdout, p.stderr)
    assert out.read_text(encoding="utf-8") == "OLD" and cfg.read_text(encoding="utf-8") == "OLD"
    assert not [f for f in tmp_path.iterdir() if f.name.startswith(".tmp-")]


# ---------------------------------------------------------------- second sweep: API and CSV


def test_api_takes_one_path_as_a_path_not_as_its_characters(model_dir, train_file):
    from classify import api

    assert len(api.load_data(str(train_file)).records) == len(api.load_data([train_file]).records)
    rep = api.evaluate_on(model_dir, str(train_file))
    assert rep.n_records == len(api.load_data([train_file]).records)
    with pytest.raises(DataError, match="no test data"):
        api.evaluate_on(model_dir, [])
    with pytest.raises(DataError, match="a path must be a str or Path"):
        api.load_data([5])


def test_api_rejects_what_is_not_text(model_dir):
    from classify import api

    with pytest.raises(DataError, match="must be a str, got NoneType"):
        api.tag_text(None, model_dir)
    with pytest.raises(DataError, match="iterable of"):
        api.tag_records(None, model_dir)
    with pytest.raises(DataError, match="'topics' or 'stance'"):
        api.word_contributions("A plane landed.", part="bogus", model_dir=model_dir)


@pytest.mark.parametrize("body, where, says", [
    ('text,topics,stance\n"Jets landed safely.,aviation,neutral\nFares rose.,,neutral\n',
     ":2:", "a quote opened in this record is never closed"),
    ("text,topics,stance\nFine.,,neutral\nJets\rlanded.,aviation,neutral\n", ":3:",
     "a line break (a lone \\r) inside a cell"),
    ("text,topics,stance\nJets landed.,\"aviation,narcotics\",neutral\n", ":2:", "';'"),
    ("text,topics,stance\nJets landed.,aviation\n", ":2:", "2 cells; the header has 3"),
    ("text,topics,stance\nJets landed.,aviation,neutral,extra\n", ":2:", "4 cells"),
    ("text,text,topics\na,b,aviation\n", ":1:", "named twice"),
])
def test_csv_rows_that_do_not_fit_the_header_are_errors(tmp_path, body, where, says):
    f = tmp_path / "d.csv"
    f.write_text(body, encoding="utf-8", newline="")
    r = run_main(["train", "--data", str(f), "--model", str(tmp_path / "m"), "--fast"])
    assert_clean_error(r.code, r.err, f"{f}{where}")
    assert says in r.err and not (tmp_path / "m").exists()


def test_a_csv_cell_as_long_as_a_long_article_is_read(tmp_path):
    """Python's csv module stops at 131,072 characters a cell; JSONL has no such limit."""
    f = tmp_path / "d.csv"
    f.write_text("text,topics,stance\n" + "Fine.,,neutral\n" * 3
                 + '"' + "Jets landed. " * 20_000 + '",aviation,neutral\n', encoding="utf-8")
    from classify.data import load_dataset

    assert len(load_dataset([f]).records) == 2  # the three "Fine." are one text


def test_a_huge_html_page_is_refused_before_extraction(monkeypatch):
    pytest.importorskip("trafilatura")
    from classify import webpage

    monkeypatch.setattr(webpage, "MAX_PAGE_CHARS", 1000)
    page = "<html><body>" + "<p>The airline cut fares on Tuesday.</p>" * 40 + "</body></html>"
    with pytest.raises(DataError, match="page.html: an HTML page of"):
        webpage.page_text(page, "page.html")


def test_an_error_stays_on_one_line_when_a_path_holds_a_line_break(tmp_path):
    art = tmp_path / "a.txt"
    art.write_text("Police seized heroin.", encoding="utf-8")
    p = run_cli(["tag", art], env={"CLASSIFY_MODEL": str(tmp_path / "no\nmodel")})
    assert p.returncode != 0 and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "no\\nmodel" in p.stderr


def test_an_empty_output_path_is_a_usage_error(model_dir, train_file):
    line = _one_line_usage_error(run_main(["evaluate", "--model", str(model_dir), "--test",
                                           str(train_file), "--report", ""]))
    assert "an empty path" in line


@pytest.mark.parametrize("args", [
    ["tag", str(SEED_ARTICLE)], ["suggest", "--pool", str(SEED_ARTICLE)],
    ["evaluate", "--test", str(SEED_ARTICLE)]])
def test_an_empty_model_path_is_an_error_not_the_default_model(args):
    """--model "" names no model: an error, never the default model in its place."""
    r = run_main([*args, "--model", ""])
    assert r.code != 0 and "an empty path" in r.err and len(r.err.strip().splitlines()) == 1, \
        r.err


def test_a_replaced_output_file_keeps_its_permissions(tmp_path):
    from classify.persist import write_output_file

    f = tmp_path / "report.md"
    f.write_text("old", encoding="utf-8")
    f.chmod(0o640)
    write_output_file(f, "new")
    assert f.read_text(encoding="utf-8") == "new" and (f.stat().st_mode & 0o777) == 0o640


def test_single_topic_data_warns_with_the_topic_name(tmp_path):
    recs = [{**r, "topics": ["aviation"]} for r in make_records(n_per_topic=6)]
    f = write_jsonl(tmp_path / "d.jsonl", recs)
    r = run_main(["train", "--data", str(f), "--model", str(tmp_path / "m"), "--fast"])
    assert r.code == 0, r.err
    assert "'aviation' is in every training record" in r.err and "'0'" not in r.err


@pytest.mark.parametrize("cmd", ["evaluate", "audit"])
def test_an_unwritable_report_path_stops_before_the_work(train_file, tmp_path, cmd):
    """A report into a missing directory, or onto a directory, is refused before the
    cross-validation runs (no progress, no summary)."""
    for report in (tmp_path / "nodir" / "r.md", tmp_path):
        r = run_main([cmd, "--data", str(train_file), "--fast", "--folds", "2", "--report",
                      str(report)])
        assert_clean_error(r.code, r.err, str(report))
        assert r.out == "" and "fold" not in r.err


# ---------------------------------------------------------------- found by an adversarial run


def test_schema_that_is_a_device_or_too_large_is_a_one_line_error(tmp_path, train_file):
    """--schema /dev/zero used to read until memory ran out; a huge file is refused by size."""
    big = tmp_path / "big.json"
    with open(big, "wb") as fh:
        fh.truncate(17 * 2**20)
    for schema, says in (("/dev/zero", "not a regular file"), (str(big), "larger than 16 MB"),
                         (str(tmp_path / "none.json"), "no such file")):
        r = run_main(["train", "--data", str(train_file), "--schema", schema, "--fast",
                      "--quiet", "--model", str(tmp_path / "m")])
        assert_clean_error(r.code, r.err, schema)
        assert says in r.err
    assert not (tmp_path / "m").exists()


def test_schema_with_a_byte_order_mark_is_read(tmp_path, train_file):
    schema = tmp_path / "schema.json"
    schema.write_bytes(b"\xef\xbb\xbf" + json.dumps({"topics": TOPICS,
                                                       "stance": STANCES}).encode())
    r = run_main(["train", "--data", str(train_file), "--schema", str(schema), "--fast",
                  "--quiet", "--model", str(tmp_path / "m")])
    assert r.code == 0, r.err


def test_a_number_of_5000_digits_names_its_line(tmp_path, model_dir):
    """Python refuses to convert integers of more than 4,300 digits: that was an internal
    error in every reader; it is malformed JSON at its line now."""
    f = tmp_path / "big.jsonl"
    f.write_text('{"text": "Fine.", "topics": []}\n{"text": "x", "topics": [], "n": '
                 + "9" * 5000 + "}\n", encoding="utf-8")
    for args in (["train", "--data", str(f), "--fast", "--quiet", "--model",
                  str(tmp_path / "m")],
                 ["tag", str(f), "--model", str(model_dir), "--format", "jsonl"],
                 ["suggest", "--pool", str(f), "--model", str(model_dir)]):
        r = run_main(args)
        assert_clean_error(r.code, r.err, f"{f}:2")
        assert "malformed JSON" in r.err


def test_import_of_json_nested_too_deeply(tmp_path, model_dir):
    f = tmp_path / "deep.json"
    f.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    r = run_main(["import", str(f), "--from", "label-studio", "--model", str(model_dir),
                  "--out", str(tmp_path / "out.jsonl")])
    assert_clean_error(r.code, r.err, str(f))
    assert "nested too deeply" in r.err


def test_data_that_is_a_pipe_or_a_symlink_loop_says_so(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    loop = tmp_path / "l1"
    loop.symlink_to(tmp_path / "l2")
    (tmp_path / "l2").symlink_to(loop)
    for path, says in ((fifo, "not a regular file or directory"), (loop, "leads nowhere")):
        r = run_main(["train", "--data", str(path), "--fast", "--quiet", "--model",
                      str(tmp_path / "m")])
        assert_clean_error(r.code, r.err, str(path))
        assert says in r.err


def test_closed_standard_streams(tmp_path, model_dir):
    """``>&-``: a one-line error, no traceback; ``2>&-``: stdout still holds only the output
    (messages used to land in it, as print(file=None) goes to stdout)."""
    f = write_jsonl(tmp_path / "b.jsonl", [{"id": "1", "text": "Police seized heroin."}])
    cmd = f"{sys.executable} -m classify tag {f} --model {model_dir} --format jsonl --jobs 9"
    p = subprocess.run(["sh", "-c", cmd + " >&-"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert error_lines(p.stderr) == ["classify: error: output: standard output is closed"]
    p = subprocess.run(["sh", "-c", cmd + " 2>&-"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0
    assert [json.loads(line)["id"] for line in p.stdout.splitlines()] == ["1"]


def test_a_lone_surrogate_in_text_names_its_line(tmp_path, model_dir):
    r"""JSON can escape a lone surrogate ("\ud800"), which is no character: training used to
    fail after the whole fit, when hashing the data; every reader now names the line."""
    f = tmp_path / "s.jsonl"
    f.write_text('{"text": "Fine.", "topics": [], "stance": "neutral"}\n'
                 '{"text": "Flights \\ud800 cancelled.", "topics": [], "stance": "neutral"}\n',
                 encoding="utf-8")
    for args in (["train", "--data", str(f), "--fast", "--quiet", "--model",
                  str(tmp_path / "m")],
                 ["evaluate", "--model", str(model_dir), "--test", str(f)],
                 ["export", str(f), "--to", "label-studio", "--model", str(model_dir),
                  "--out", str(tmp_path / "x.json")],
                 ["tag", str(f), "--model", str(model_dir), "--format", "jsonl"]):
        r = run_main(args)
        assert_clean_error(r.code, r.err, f"{f}:2")
        assert "lone surrogate" in r.err
    assert not (tmp_path / "m").exists() and not (tmp_path / "x.json").exists()


def test_hand_edited_model_directories_are_one_line_errors(model_copy, tmp_path):
    """meta.json is not covered by the model file's hash, and a model file can be rewritten
    with its hash fixed: both are checked when the model loads, not failed on mid-tag."""
    import hashlib

    import numpy as np

    article = tmp_path / "a.txt"
    article.write_text("Police seized heroin at the airport.", encoding="utf-8")
    meta_path = model_copy / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    good = dict(meta)
    for rule in (5, {"params": {"min_sentences": 0}}):  # 0: every topic of every article
        meta["article_rule"] = rule
        meta_path.write_text(json.dumps(meta), encoding="utf-8")
        r = run_main(["tag", str(article), "--model", str(model_copy)])
        assert_clean_error(r.code, r.err, str(meta_path))
        assert "'article_rule' must be" in r.err

    npz = model_copy / good["model_file"]
    arrays = dict(np.load(npz, allow_pickle=False))
    arrays["topics.coef"] = arrays["topics.coef"][:, :-3]
    with open(npz, "wb") as fh:
        np.savez(fh, **arrays)
    good["model_sha256"] = hashlib.sha256(npz.read_bytes()).hexdigest()
    meta_path.write_text(json.dumps(good), encoding="utf-8")
    r = run_main(["tag", str(article), "--model", str(model_copy)])
    assert_clean_error(r.code, r.err, str(npz))
    assert "not a usable model: topics weights have shape" in r.err


def test_held_out_labels_the_model_lacks_are_warned_about(tmp_path, model_dir):
    f = write_jsonl(tmp_path / "t.jsonl", [
        {"text": "Police seized heroin.", "topics": ["narcotics", "sport"], "stance": "angry"},
        {"text": "Flights resumed.", "topics": ["aviation"], "stance": "neutral"},
        {"text": "The match was won.", "topics": ["sport"], "stance": "neutral"}])
    r = run_main(["evaluate", "--model", str(model_dir), "--test", str(f), "--json"])
    assert r.code == 0, r.err
    warned = [x for x in r.err.splitlines() if x.startswith("classify: warning: test data")]
    assert len(warned) == 2
    assert "topic 'sport'" in warned[0] and f"2 record(s), first at {f}:1" in warned[0]
    assert "stance 'angry'" in warned[1] and "count as missed" in warned[1]
    assert json.loads(r.out)["fallbacks"] == [w.removeprefix("classify: warning: ")
                                              for w in warned]


def test_one_stance_class_names_the_file(tmp_path):
    recs = [{"text": f"Sentence number {i} about flights.", "topics": ["aviation"],
             "stance": "neutral", "source": f"d{i % 4}"} for i in range(12)]
    f = write_jsonl(tmp_path / "one.jsonl", recs)
    r = run_main(["train", "--data", str(f), "--fast", "--quiet", "--model",
                  str(tmp_path / "m")])
    assert_clean_error(r.code, r.err, str(f))
    assert "stance needs at least two classes" in r.err
    assert not (tmp_path / "m").exists()


def test_more_cv_folds_than_sources_says_how_many_are_used(tmp_path, train_file):
    n = len({json.loads(x)["source"] for x in train_file.read_text().splitlines()})
    r = run_main(["train", "--data", str(train_file), "--cv-folds", "10000", "--C", "8",
                  "--thresholds", "shrunk", "--model", str(tmp_path / "m")])
    assert r.code == 0, r.err
    assert (f"warning: --cv-folds 10000 is more than the {n} sources (articles) in the data: "
            f"{n} folds are used") in r.err
    assert f"choosing the model by {n}-fold internal CV" in r.out + r.err


def test_train_refuses_a_directory_that_is_not_a_model(tmp_path, train_file):
    """Saving replaces a model directory's meta.json and model files: a project folder given
    as --model (or "", the working directory) is refused before training, untouched."""
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "meta.json").write_text('{"my": "project"}', encoding="utf-8")
    (proj / ".tmp-notes").write_text("keep", encoding="utf-8")
    before = {p.name: p.read_bytes() for p in proj.iterdir()}
    r = run_main(["train", "--data", str(train_file), "--fast", "--quiet", "--model", str(proj)])
    assert_clean_error(r.code, r.err, str(proj))
    assert "not a classify model directory" in r.err
    assert {p.name: p.read_bytes() for p in proj.iterdir()} == before
    r = run_main(["train", "--data", str(train_file), "--fast", "--quiet", "--model", ""])
    assert r.code == 2 and "an empty path" in r.err
    model = tmp_path / "m"  # a model directory is retrained in place, as always
    for _ in range(2):
        r = run_main(["train", "--data", str(train_file), "--fast", "--quiet", "--model",
                      str(model)])
        assert r.code == 0, r.err


def test_library_calls_with_wrong_arguments_raise_classify_errors(model_dir, tmp_path):
    """What a Python user can get wrong comes back as a DataError or ModelError saying what
    was expected, not a TypeError from deep inside."""
    from classify import api
    from classify.errors import ClassifyError

    pool = write_jsonl(tmp_path / "p.jsonl", [{"text": "Police seized heroin."}])
    calls = [lambda: api.tag_text("x", 123), lambda: api.load_model(123),
             lambda: api.evaluate_on(None, [pool]),
             lambda: api.train([pool], None),
             lambda: api.suggest(pool, model_dir, n=0),
             lambda: api.suggest(pool, model_dir, n="5"),
             lambda: api.suggest(pool, model_dir, diversity=float("nan")),
             lambda: api.suggest(123, model_dir),
             lambda: api.audit([pool], guide=tmp_path / "nope.md"),
             # found by a review of the library API (each used to be a bare TypeError)
             lambda: api.article_html(None, model_dir),
             lambda: api.article_html(b"Customs seized heroin.", model_dir),
             lambda: api.word_contributions("Police seized heroin.", labels=[1],
                                            model_dir=model_dir),
             lambda: api.evaluate([pool], folds="3"),
             lambda: api.evaluate([pool], folds=None),
             lambda: api.audit([pool], folds="3"),
             lambda: api.evaluate_on(model_dir, [pool], seed="a"),
             lambda: api.evaluate_on(model_dir, [pool], seed=-1),
             lambda: api.tag_records(5, model_dir),
             lambda: api.load_model(model_dir).scores("Police seized heroin."),
             lambda: api.retrain_command(None),
             lambda: api.label(pool, 5, model_dir),
             lambda: api.train([pool], tmp_path / "m", log=5),
             lambda: api.evaluate([pool], log="x")]
    for call in calls:
        with pytest.raises(ClassifyError):
            call()
    [c] = api.word_contributions("Police seized heroin.", labels="narcotics",
                                 model_dir=model_dir)
    assert c.label == "narcotics"
    import numpy as np  # numpy's integers are whole numbers too

    lab = write_jsonl(tmp_path / "l.jsonl", [{"text": "Police seized heroin.",
                                               "topics": ["narcotics"], "stance": "neutral"}])
    rep = api.evaluate_on(model_dir, [lab], seed=np.int64(1))
    assert rep.settings["bootstrap"]["seed"] == 1


# ---------------------------------------------------------------- model files, hand-edited or odd

def _edit_meta(model: Path, edit) -> None:
    meta_path = model / "meta.json"
    meta = json.loads(meta_path.read_text())
    edit(meta)
    meta_path.write_text(json.dumps(meta))


@pytest.mark.parametrize("edit", [
    lambda m: m["model"].__setitem__("vectorizers", []),
    lambda m: m["model"]["topics"].__setitem__("vectorizer", 3),
    lambda m: m["model"]["vectorizers"].__setitem__(0, "x"),
], ids=["no-vectorizers", "vectorizer-index", "vectorizer-not-an-object"])
def test_hand_edited_model_section_is_one_line(model_copy, tmp_path, edit):
    _edit_meta(model_copy, edit)
    item = tmp_path / "a.txt"
    item.write_text("Heathrow flights were cancelled.")
    p = tag(model_copy, item)
    assert_clean_error(p.returncode, p.stderr, str(model_copy))
    assert "internal error" not in p.stderr


def test_meta_json_nested_too_deeply(model_copy, tmp_path):
    meta_path = model_copy / "meta.json"
    text = meta_path.read_text().rstrip()
    meta_path.write_text(text[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    item = tmp_path / "a.txt"
    item.write_text("Heathrow flights were cancelled.")
    p = tag(model_copy, item)
    assert_clean_error(p.returncode, p.stderr, str(meta_path))
    assert "nested too deeply" in p.stderr


@pytest.mark.parametrize("which", ["meta.json", "model"])
def test_model_files_that_are_not_regular_files(model_copy, tmp_path, which):
    """A FIFO would block the read (a device such as /dev/zero would fill the memory: the
    same check refuses it); a FIFO is used here, as it cannot eat the machine's memory."""
    target = model_copy / "meta.json" if which == "meta.json" else \
        next(model_copy.glob("model-*.npz"))
    target.unlink()
    os.mkfifo(target)
    item = tmp_path / "a.txt"
    item.write_text("Heathrow flights were cancelled.")
    p = run_cli(["tag", item, "--model", model_copy], timeout=30)
    assert_clean_error(p.returncode, p.stderr, str(target))
    assert "not a regular file" in p.stderr


def test_null_model_sha256_is_refused_unless_trusted(model_copy, tmp_path):
    _edit_meta(model_copy, lambda m: m.__setitem__("model_sha256", None))
    item = tmp_path / "a.txt"
    item.write_text("Heathrow flights were cancelled.")
    p = tag(model_copy, item)
    assert_clean_error(p.returncode, p.stderr, str(model_copy / "meta.json"))
    assert "--trust" in p.stderr
    assert tag(model_copy, item, extra=["--trust"]).returncode == 0


@pytest.mark.parametrize("edit, name", [
    (lambda m: m["training"]["topics"]["params"].__setitem__("C", "x"), "C"),
    (lambda m: m["training"]["topics"]["params"].__setitem__("loss", "foo"), "loss"),
    (lambda m: m["training"]["topics"]["params"].__setitem__("ngram_range", [1, 3]),
     "ngram_range"),
    (lambda m: m["training"]["topics"]["params"].update(threshold_strategy="tuned",
                                                         threshold_floor=5), "threshold_floor"),
    (lambda m: m["training"]["stance"].__setitem__("C", None), "C"),
    (lambda m: m["training"]["stance"].__setitem__("class_weight", "heavy"), "class_weight"),
], ids=["C", "loss", "ngram_range", "threshold_floor", "stance-C", "stance-class_weight"])
def test_params_from_a_hand_edited_meta_json(model_copy, train_file, tmp_path, edit, name):
    _edit_meta(model_copy, edit)
    out = tmp_path / "new"
    p = run_cli(["train", "--data", train_file, "--params-from", model_copy, "--model", out,
                 "--quiet"])
    assert_clean_error(p.returncode, p.stderr, str(model_copy / "meta.json"))
    assert f"{name} must be" in p.stderr
    assert not out.exists()


@pytest.mark.parametrize("flags", [["--fast"], ["--folds", "3"], ["--C", "5", "--prevalence",
                                                                     "0.1"],
                                   ["--data", "nowhere.jsonl"]])
def test_evaluate_of_a_trained_model_refuses_training_flags(model_dir, train_file, flags):
    """They would be ignored: scoring a trained model trains nothing."""
    r = run_main(["evaluate", "--model", str(model_dir), "--test", str(train_file), *flags])
    assert r.code == 2 and "Traceback" not in r.err
    line = error_lines(r.err)
    assert len(line) == 1 and all(f in line[0] for f in flags if f.startswith("--"))
    assert "--model/--test scores a model already trained" in line[0]


def test_the_summary_of_failed_inputs_says_whether_anything_was_tagged(model_dir, tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("Police seized heroin at the port.")
    missing = [str(tmp_path / "nope1.txt"), str(tmp_path / "nope2.txt")]
    all_bad = run_main(["tag", *missing, "--model", str(model_dir)])
    assert all_bad.code == 1
    assert all_bad.err.splitlines()[-1] == "classify: 2 input(s) failed; nothing was tagged"
    some = run_main(["tag", str(good), *missing, "--model", str(model_dir)])
    assert some.code == 1 and "heroin" in some.out
    assert some.err.splitlines()[-1] == "classify: 2 input(s) failed; the others were tagged"


@pytest.mark.parametrize("text, kind", [(5, "a number"), (["a"], "a list"),
                                        ({"x": 1}, "an object"), (True, "true or false")])
def test_a_text_that_is_not_a_string_says_so(tmp_path, text, kind):
    f = write_jsonl(tmp_path / "d.jsonl", [{"text": "Fine.", "topics": []},
                                           {"text": text, "topics": []}])
    r = run_main(["train", "--data", str(f), "--model", str(tmp_path / "m"), "--fast"])
    assert r.code == 2 and f"{f}:2: 'text' must be a string, got {kind}" in r.err


def _reading_ids(command: str, f: Path, out: Path, tmp_path: Path, model_dir: Path
                 ) -> list[str]:
    """The arguments of a command that reads the records of ``f`` with their ids."""
    return {"train": ["train", "--data", str(f), "--model", str(tmp_path / "m"), "--fast"],
            "tag": ["tag", str(f), "--model", str(model_dir)],
            "tag-jsonl": ["tag", str(f), "--model", str(model_dir), "--format", "jsonl"],
            "suggest": ["suggest", "--pool", str(f), "--model", str(model_dir)],
            "export": ["export", str(f), "--to", "doccano", "--out", str(out), "--model",
                       str(model_dir)],
            "label": ["label", str(f), "--out", str(out), "--model", str(model_dir)],
            }[command]


@pytest.mark.parametrize("rid, kind", [(["a", 1], "a list"), ({"k": 1}, "an object"),
                                       (True, "true or false")])
@pytest.mark.parametrize("command", ["train", "tag", "tag-jsonl", "suggest", "export", "label"])
def test_an_id_that_is_not_a_string_or_number_says_so(model_dir, tmp_path, command,
                                                            rid, kind):
    """It used to come out as its Python repr ("['a', 1]", "True") in every output."""
    f = write_jsonl(tmp_path / "d.jsonl", [{"id": "ok", "text": "Fine.", "topics": []},
                                           {"id": rid, "text": "Police seized heroin.",
                                            "topics": []}])
    out = tmp_path / "out.jsonl"
    r = run_main(_reading_ids(command, f, out, tmp_path, model_dir))
    message = f"{f}:2: 'id' must be a string or a number, got {kind}"
    assert r.code == (1 if command.startswith("tag") else 2), r.err
    assert error_lines(r.err) and message in error_lines(r.err)[0], r.err
    assert "Traceback" not in r.err and "['a', 1]" not in r.out and not out.exists()


@pytest.mark.parametrize("command", ["train", "suggest", "export", "label", "import"])
def test_a_source_that_is_not_a_string_or_number_says_so(model_dir, tmp_path, command):
    """A list as ``source`` came out as its Python repr ("['a', 1]"), in the training data's
    groups and in every file written from it."""
    f = write_jsonl(tmp_path / "d.jsonl", [{"text": "Fine.", "topics": [], "source": "a"},
                                           {"text": "Police seized heroin.", "topics": [],
                                            "source": ["a", 1]}])
    out = tmp_path / "out.jsonl"
    where = f"{f}:2"
    if command == "import":
        f = tmp_path / "ls.json"
        f.write_text(json.dumps([{"data": {"text": "Police seized heroin.",
                                           "source": ["a", 1]},
                                  "annotations": [{"result": []}]}]), encoding="utf-8")
        where = f"{f}: item 1"
    args = {"train": ["train", "--data", str(f), "--model", str(tmp_path / "m"), "--fast"],
            "suggest": ["suggest", "--pool", str(f), "--model", str(model_dir)],
            "export": ["export", str(f), "--to", "doccano", "--out", str(out), "--model",
                       str(model_dir)],
            "label": ["label", str(f), "--out", str(out), "--model", str(model_dir)],
            "import": ["import", str(f), "--from", "label-studio", "--out", str(out),
                       "--model", str(model_dir)]}[command]
    r = run_main(args)
    assert r.code == 2, r.err
    assert error_lines(r.err) == [f"classify: error: {where}: 'source' must be a string or a "
                                  "number, got a list"], r.err
    assert "['a', 1]" not in r.out and not out.exists() and not (tmp_path / "m").exists()


@pytest.mark.parametrize("command", ["train", "tag", "tag-jsonl", "suggest", "export", "label"])
def test_an_id_with_a_lone_surrogate_says_so(model_dir, tmp_path, command):
    """JSON can escape half a character ("\\ud800"), which no output can write: it was an
    internal error (train, export) or a '?' (tag, suggest)."""
    f = tmp_path / "d.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in [  # ASCII: the surrogate escaped
        {"id": "ok", "text": "Fine.", "topics": []},
        {"id": "x\ud800", "text": "Police seized heroin.", "topics": []}]), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    r = run_main(_reading_ids(command, f, out, tmp_path, model_dir))
    assert r.code == (1 if command.startswith("tag") else 2), r.err
    assert f"{f}:2: 'id' is not valid Unicode (a lone surrogate)" in error_lines(r.err)[0]
    assert "?" not in r.out and not out.exists()


@pytest.mark.parametrize("command", ["train", "tag", "tag-jsonl", "suggest"])
def test_an_infinite_id_says_so(model_dir, tmp_path, command):
    """Python's JSON reads 1e400 as infinity: records came out with the id "inf"."""
    f = tmp_path / "d.jsonl"
    f.write_text('{"id": "ok", "text": "Fine.", "topics": []}\n'
                 '{"id": 1e400, "text": "Police seized heroin.", "topics": []}\n',
                 encoding="utf-8")
    out = tmp_path / "out.jsonl"
    r = run_main(_reading_ids(command, f, out, tmp_path, model_dir))
    assert r.code == (1 if command.startswith("tag") else 2), r.err
    assert f"{f}:2: 'id' must be a finite number, got inf" in error_lines(r.err)[0]
    assert '"inf"' not in r.out


def test_a_nan_id_is_no_id(model_dir, tmp_path):
    """NaN is pandas' "no value": two records with NaN ids both came out as the id "nan"."""
    import numpy as np

    from classify import api

    f = tmp_path / "d.jsonl"
    f.write_text('{"id": NaN, "text": "Fares rose."}\n'
                 '{"id": NaN, "text": "Police seized heroin."}\n', encoding="utf-8")
    r = run_main(["tag", str(f), "--model", str(model_dir), "--format", "jsonl"])
    assert r.code == 0, r.err
    ids = [json.loads(x)["id"] for x in r.out.splitlines() if '"type":"article"' not in x]
    assert ids == [None, None]
    got = api.tag_records([{"id": np.float32("nan"), "text": "Fares rose."},
                           {"id": 7, "text": "Police seized heroin."}], model_dir)
    assert [t.id for t in got] == [None, "7"]


def test_library_ids_of_other_scalar_types_are_written_as_strings(model_dir):
    """A library caller's numpy integer (or other scalar) id is kept as text, as before."""
    import numpy as np

    from classify import api

    got = api.tag_records([{"id": np.int64(5), "text": "Police seized heroin."},
                           {"id": np.float32(1.5), "text": "Fares rose."}], model_dir)
    assert [t.id for t in got] == ["5", "1.5"]


def test_excluded_data_is_read_for_its_texts_only(model_dir, tmp_path):
    """``suggest --exclude DIR`` needs the texts, not the labels a schema.json declares: a
    schema.json there that cannot be read does not stop it."""
    ex = tmp_path / "ex"
    ex.mkdir()
    write_jsonl(ex / "done.jsonl", [{"text": "Police seized heroin.", "topics": []}])
    (ex / "schema.json").symlink_to(tmp_path / "nowhere.json")
    pool = write_jsonl(tmp_path / "pool.jsonl", [{"text": "Police seized heroin."},
                                                 {"text": "Fares rose at the airport."}])
    r = run_main(["suggest", "--pool", str(pool), "--exclude", str(ex), "--model",
                  str(model_dir)])
    assert r.code == 0, r.err
    assert [json.loads(x)["text"] for x in r.out.splitlines()] == ["Fares rose at the airport."]


def test_suggest_and_export_read_a_source_alike(model_dir, tmp_path):
    """A source of 0 is the source "0" everywhere: export (and label) had taken the file's
    name for it, suggest and train "0"."""
    f = write_jsonl(tmp_path / "d.jsonl", [{"id": "a", "text": "Police seized heroin.",
                                            "source": 0}])
    r = run_main(["suggest", "--pool", str(f), "--model", str(model_dir)])
    assert r.code == 0 and json.loads(r.out.splitlines()[0])["source"] == "0", r.err
    r = run_main(["export", str(f), "--to", "doccano", "--model", str(model_dir)])
    assert r.code == 0 and json.loads(r.out.splitlines()[0])["source"] == "0", r.err


def test_an_import_with_an_item_id_that_is_not_a_string_says_so(model_dir, tmp_path):
    f = tmp_path / "ls.json"
    f.write_text(json.dumps([{"data": {"text": "Police seized heroin.", "item_id": ["a"]},
                              "annotations": [{"result": []}]}]), encoding="utf-8")
    out = tmp_path / "o.jsonl"
    r = run_main(["import", str(f), "--from", "label-studio", "--out", str(out), "--model",
                  str(model_dir)])
    assert r.code == 2 and not out.exists()
    assert error_lines(r.err) == [f"classify: error: {f}: item 1: 'item_id' must be a string "
                                  "or a number, got a list"]


def test_string_and_number_ids_are_kept_as_they_were(model_dir, tmp_path):
    f = write_jsonl(tmp_path / "d.jsonl", [
        {"id": "x#1", "text": "Police seized heroin."}, {"id": 7, "text": "Fares rose."},
        {"id": -3, "text": "The minister spoke."}, {"id": None, "text": "No id at all."},
        {"id": 1.5, "text": "A fraction."},
        {"id": "", "text": "An empty id."}])
    r = run_main(["tag", str(f), "--model", str(model_dir), "--format", "jsonl"])
    assert r.code == 0, r.err
    assert [json.loads(x)["id"] for x in r.out.splitlines()] == ["x#1", "7", "-3", None, "1.5", ""]
    from classify.data import load_dataset
    train = write_jsonl(tmp_path / "t.jsonl", [{**json.loads(x), "topics": []}
                                               for x in f.read_text().splitlines()])
    assert [r.id for r in load_dataset([train]).records] == ["x#1", "7", "-3", None, "1.5", ""]


@pytest.mark.parametrize("kind", ["directory", "broken link"])
def test_export_refuses_a_schema_json_beside_the_training_data_it_cannot_read(tmp_path, kind):
    """export (and label) take their definitions from the schema.json beside the model's
    training data, as ``--data DIR`` reads it; one that is a directory or a link to nowhere
    was skipped without a word, where ``--data`` refuses it."""
    from conftest import make_records

    data = tmp_path / "data"
    data.mkdir()
    write_jsonl(data / "train.jsonl", make_records())
    model = tmp_path / "m"
    assert run_main(["train", "--data", str(data), "--model", str(model), "--fast",
                     "--quiet"]).code == 0
    schema = data / "schema.json"
    if kind == "directory":
        schema.mkdir()
    else:
        schema.symlink_to(tmp_path / "nowhere.json")
    items = write_jsonl(tmp_path / "items.jsonl", [{"id": "a", "text": "Police seized heroin."}])
    out = tmp_path / "tasks.json"
    r = run_main(["export", str(items), "--to", "label-studio", "--model", str(model),
                  "--out", str(out)])
    assert r.code == 2 and not out.exists() and not out.with_suffix(".xml").exists(), r.err
    says = "not a regular file" if kind == "directory" else "a symlink that leads nowhere"
    (line,) = error_lines(r.err)
    # the path as the model's meta.json records the data (from the model's directory)
    assert "schema.json: cannot read the label guide: " + says in line
    assert Path(line.split(": ")[2]).resolve() == schema.resolve()


def test_a_report_into_a_directory_one_cannot_write_stops_before_the_work(tmp_path,
                                                                          monkeypatch):
    """The report of evaluate and audit used to fail only after the whole cross-validation.
    (Tests run as root, who may write anywhere: the permission is taken away by os.access.)"""
    from classify import cli

    ro = tmp_path / "ro"
    ro.mkdir()
    real = os.access
    monkeypatch.setattr(cli.os, "access",
                        lambda p, mode, **k: False if Path(p) == ro else real(p, mode, **k))
    f = write_jsonl(tmp_path / "d.jsonl", make_records(n_per_topic=8))
    for cmd in (["evaluate", "--folds", "2"], ["audit", "--folds", "2"]):
        r = run_main([*cmd, "--data", str(f), "--fast", "--quiet", "--report",
                      str(ro / "r.md")])
        assert r.code == 2 and f"{ro / 'r.md'}: cannot write: {ro} is not writable" in r.err


def test_train_into_a_symlink_loop_is_one_line(tmp_path, train_file):
    """Before: 'internal error: RuntimeError: Symlink loop', exit 70."""
    a, b = tmp_path / "loopA", tmp_path / "loopB"
    a.symlink_to(b)
    b.symlink_to(a)
    r = run_main(["train", "--data", str(train_file), "--model", str(a), "--fast"])
    assert r.code == 2
    assert_clean_error(r.code, r.err, f"{a}: a symlink that leads nowhere")
    r = run_main(["tag", str(train_file), "--model", str(a)])  # not "train one there"
    assert_clean_error(r.code, r.err, f"{a}: a symlink that leads nowhere")


def test_an_empty_model_directory_is_not_told_to_use_trust(tmp_path):
    """Before: 'meta.json: missing ... pass --trust', and --trust then found no model file."""
    d = tmp_path / "empty"
    d.mkdir()
    article = tmp_path / "a.txt"
    article.write_text("A plane landed at the airport.", encoding="utf-8")
    r = run_main(["tag", str(article), "--model", str(d)])
    assert_clean_error(r.code, r.err, f"{d}: no model here")
    assert "--trust" not in r.err and "classify train --model" in r.err


def test_standard_input_given_twice_is_refused(model_dir):
    """Before: tagged once, then '<stdin>: empty input', exit 1."""
    r = run_main(["tag", "-", "-", "--model", str(model_dir)], stdin=b"A plane landed.\n")
    assert_clean_error(r.code, r.err, "standard input is given more than once")
    assert r.out == ""


def test_text_output_keeps_one_line_per_record_whatever_the_id(model_dir, tmp_path):
    """Before: a newline in an id split one record over two lines."""
    f = tmp_path / "b.jsonl"
    f.write_text(json.dumps({"id": "2\n3\tx\u2029", "text": "A plane landed."}) + "\n"
                 + json.dumps({"id": "b", "text": "Police seized heroin."}) + "\n")
    r = run_main(["tag", str(f), "--model", str(model_dir), "--format", "text"])
    assert r.code == 0, r
    lines = r.out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("2\\n3\\tx\\u2029\t")
    assert lines[1].startswith("b\t")


def test_hand_edits_of_recorded_thresholds_and_labels_are_warned_about(model_copy, tmp_path):
    """meta.json records the thresholds and label names; the verified model file decides.
    Before: an edit there changed nothing, without a word."""
    article = tmp_path / "a.txt"
    article.write_text("The airline cut fares on its Lahore route.", encoding="utf-8")
    first = run_main(["tag", str(article), "--model", str(model_copy), "--format", "jsonl"])
    assert first.code == 0 and "warning" not in first.err
    meta_path = model_copy / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    topic = sorted(meta["thresholds"])[0]
    meta["thresholds"][topic] = 0.99
    meta["labels"]["topics"]["renamed"] = meta["labels"]["topics"].pop(topic)
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    r = run_main(["tag", str(article), "--model", str(model_copy), "--format", "jsonl"])
    assert r.code == 0 and r.out == first.out  # the model file decides
    assert f"'thresholds' ({topic}) differ from the model file's" in r.err
    assert "'labels' name other topics" in r.err and "renamed" in r.err
