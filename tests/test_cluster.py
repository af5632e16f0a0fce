"""Tagging on a Dask cluster: a real LocalCluster of 2 worker processes, checked against
local runs of the same command."""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import assert_clean_error, error_lines, make_records, run_main, write_jsonl
from distributed import Client, LocalCluster

from classify import api, cluster
from classify.data import decoded_lines
from classify.errors import DataError

PART = "4K"  # small partitions, so every input here is cut into several


@pytest.fixture(scope="module")
def dask_cluster():
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                      dashboard_address=":0") as c:
        yield c


@pytest.fixture(scope="module")
def client(dask_cluster):
    with Client(dask_cluster, set_as_default=False) as c:
        yield c


@pytest.fixture(scope="module")
def address(dask_cluster) -> str:
    return dask_cluster.scheduler_address


def batch_records(n: int = 600) -> list[dict]:
    base = make_records()
    return [{"id": f"r{i}", "text": base[i % len(base)]["text"]} for i in range(n)]


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("cluster") / "batch.jsonl", batch_records())


@pytest.fixture(scope="module")
def bom_batch(tmp_path_factory) -> Path:
    """UTF-8 with a byte-order mark, CRLF line ends, one lone CR, a blank line and a last
    line without its newline: line numbers then count as the text decoder counts them."""
    lines = [json.dumps({"id": f"b{i}", "text": r["text"] + " café"}, ensure_ascii=False)
             for i, r in enumerate(batch_records(300))]
    body = "\r\n".join(lines[:100]) + "\r" + "\n".join(lines[100:200]) + "\n\n" + \
        "\r\n".join(lines[200:])
    path = tmp_path_factory.mktemp("bom") / "bom.jsonl"
    path.write_bytes(codecs.BOM_UTF8 + body.encode("utf-8"))
    return path


def local(args: list[str]) -> tuple[int, str, str]:
    r = run_main(["tag", *map(str, args), "--format", "jsonl"])
    return r.code, r.out, r.err


def on_cluster(address: str, args: list[str]) -> tuple[int, str, str]:
    r = run_main(["tag", *map(str, args), "--format", "jsonl", "--scheduler", address,
                  "--partition-size", PART])
    return r.code, r.out, r.err


def parts_text(out: Path) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in sorted(out.glob("part-*.jsonl")))


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


# ---------------------------------------------------------------- cutting inputs


@pytest.mark.parametrize("content", [
    b"".join(b'{"text": "line %d"}\n' % i for i in range(200)),
    b"".join(b'{"text": "line %d"}\r\n' % i for i in range(200)) + b"no newline at the end",
    b"one\rline\n" * 100 + b"ends in a lone CR\r",
    codecs.BOM_UTF8 + b"\r\n".join(b'{"text": "l\xc3\xa9 %d"}' % i for i in range(150))
    + b"\r" + b"\n\n\r\r\n" + b"x\n" * 90 + b"\r",
    b"\n\n\n" + "caf\u00e9 \u20ac\n".encode("cp1252") * 300 + b"\x81 undefined in cp1252\n",
    codecs.BOM_UTF16_LE + "a\nb\r\nc\n".encode("utf-16-le") * 50,
])
@pytest.mark.parametrize("size", [1, 37, 1000, 10**9])
def test_partitions_decode_and_number_lines_as_the_whole_file(tmp_path, content, size):
    """Decoding each partition with its first line number gives the lines and numbers that
    decoding the whole file gives; the ranges tile the file and each ends at a line end."""
    path = tmp_path / "in.jsonl"
    path.write_bytes(content)
    with open(path, "rb") as fh:
        expected = list(enumerate(decoded_lines(fh, "in.jsonl"), 1))
    events = list(cluster.cut_input(0, "in.jsonl", path, size))
    parts = [e for e in events if isinstance(e, cluster.Partition)]
    assert [(p.start, p.end) for p in parts] == list(zip(
        [0] + [p.end for p in parts[:-1]], [p.end for p in parts], strict=True))
    assert parts[-1].end == len(content)
    if size < len(content) // 4 and not content.startswith(codecs.BOM_UTF16_LE):
        assert len(parts) > 2
    got = []
    for p in parts:
        assert p.end == len(content) or content[p.end - 1:p.end] == b"\n"
        with cluster.part_lines(p) as lines:
            got.extend(enumerate(lines, p.first_line))
    assert got == expected
    assert sum(p.lines for p in parts) == len(expected)


def test_parse_size():
    assert cluster.parse_size("64MB") == 64 * 2**20
    assert cluster.parse_size("512k") == 512 * 1024
    assert cluster.parse_size("1.5G") == 3 * 2**29
    assert cluster.parse_size("4096") == 4096
    for bad in ("", "0", "-1", "12 parsecs", "M"):
        with pytest.raises(ValueError):
            cluster.parse_size(bad)


# ---------------------------------------------------------------- to stdout


@pytest.mark.parametrize("explain", [False, True])
def test_cli_stdout_equals_local_run(address, model_dir, batch, bom_batch, explain):
    flags = [batch, bom_batch, "--model", model_dir, *(["--explain"] if explain else [])]
    code, out, err = local(flags)
    assert code == 0, err
    assert out.count("\n") == 600 + 300
    assert on_cluster(address, flags) == (0, out, "")


def test_api_stdout_blocks_in_input_order(client, model_dir, batch):
    _, out, _ = local([batch, "--model", model_dir])
    run = api.tag_on_cluster([batch], client, model_dir, partition_bytes=4096)
    assert "".join(run.blocks) == out
    assert run.partitions > 5
    assert (run.done, run.records, run.invalid, run.complete) == (run.partitions, 600, 0, True)
    summary = run.to_dict()  # the streaming run's counts, without its blocks
    assert summary["records"] == 600 and "blocks" not in summary
    json.dumps(summary)


def test_api_with_an_address_inside_a_running_event_loop(address, model_dir, batch):
    """A notebook calls the api from inside a running event loop: opening the client by its
    address (the handshake check included) works there as in a script."""
    import asyncio

    _, out, _ = local([batch, "--model", model_dir])

    async def cell() -> str:
        run = api.tag_on_cluster([batch], address, model_dir, partition_bytes=65536)
        return "".join(run.blocks)

    assert asyncio.run(cell()) == out


# ---------------------------------------------------------------- output directory


def test_output_dir_parts_manifest_and_resume(address, model_dir, batch, tmp_path):
    out = tmp_path / "tagged"
    _, expected, _ = local([batch, "--model", model_dir])
    code, stdout, err = on_cluster(address, [batch, "--model", model_dir, "--output-dir", out])
    assert code == 0, err
    assert stdout == ""
    assert parts_text(out) == expected
    m = manifest(out)
    n = len(m["partitions"])
    assert n > 5 and m["complete"] is True
    assert m["totals"] == {"inputs": 1, "partitions": n, "done": n, "records": 600,
                           "invalid": 0}
    assert sum(p["records"] for p in m["partitions"]) == 600
    assert m["partitions"][0]["lines"][0] == 1
    for a, b in zip(m["partitions"], m["partitions"][1:], strict=False):
        assert b["bytes"][0] == a["bytes"][1] and b["lines"][0] == a["lines"][1] + 1
    for p in m["partitions"]:
        data = (out / p["output"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == p["sha256"]
        assert data.count(b"\n") == p["records"]
    assert m["model_sha256"] == json.loads((model_dir / "meta.json").read_text())[
        "model_sha256"]
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("part-*.jsonl")}

    code, _, err = on_cluster(address, [batch, "--model", model_dir, "--output-dir", out])
    assert code == 0, err
    assert f"(0 tagged now, {n} skipped" in err
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("part-*.jsonl")} == before

    (out / "part-00001.jsonl").unlink()
    with open(out / "part-00003.jsonl", "ab") as fh:
        fh.write(b"{}\n")
    code, _, err = on_cluster(address, [batch, "--model", model_dir, "--output-dir", out])
    assert code == 0, err
    assert f"(2 tagged now, {n - 2} skipped" in err
    assert "part-00001.jsonl: missing or changed" in err
    assert "part-00003.jsonl: missing or changed" in err
    assert parts_text(out) == expected
    assert manifest(out)["totals"]["records"] == 600


def test_changed_input_or_model_starts_over(address, model_dir, topics_only_model, tmp_path):
    f = write_jsonl(tmp_path / "in.jsonl", batch_records(300))
    out = tmp_path / "tagged"
    assert on_cluster(address, [f, "--model", model_dir, "--output-dir", out])[0] == 0
    n = len(manifest(out)["partitions"])
    with open(f, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "new", "text": "Pilots grounded the airline's jets."})
                 + "\n")
    code, _, err = on_cluster(address, [f, "--model", model_dir, "--output-dir", out])
    assert code == 0, err
    assert "in.jsonl: changed since the last run" in err and "0 skipped" in err
    assert manifest(out)["totals"]["records"] == 301
    assert parts_text(out) == local([f, "--model", model_dir])[1]
    code, _, err = on_cluster(address, [f, "--model", topics_only_model, "--output-dir", out])
    assert code == 0, err
    assert "made with another model" in err and "0 skipped" in err
    assert parts_text(out) == local([f, "--model", topics_only_model])[1]
    assert len(manifest(out)["partitions"]) >= n


def test_threshold_overrides_equal_a_local_run_and_a_change_starts_over(address, model_dir,
                                                                        batch, tmp_path):
    """``--threshold`` reaches the workers: stdout and part files equal a local run with it;
    the manifest records it, and a rerun with other overrides does not reuse old parts."""
    label = api.load_model(model_dir).topic_labels[0]
    flags = [batch, "--model", model_dir, "--threshold", f"{label}=1"]
    code, out, err = local(flags)
    assert code == 0, err
    assert f'"{label}"' not in "".join(ln.split('"topic_scores"')[0]
                                      for ln in out.splitlines())
    assert on_cluster(address, flags) == (0, out, "")
    tagged = tmp_path / "tagged"
    code, _, err = on_cluster(address, [*flags, "--output-dir", tagged])
    assert code == 0, err
    assert parts_text(tagged) == out
    assert manifest(tagged)["thresholds"] == {label: 1.0}
    code, _, err = on_cluster(address, [batch, "--model", model_dir, "--output-dir", tagged])
    assert code == 0, err
    assert "--threshold" in err and "0 skipped" in err
    assert parts_text(tagged) == local([batch, "--model", model_dir])[1]
    assert manifest(tagged)["thresholds"] == {}


def test_client_killed_mid_run_then_rerun_resumes(address, model_dir, batch, tmp_path):
    """SIGKILL of the client right after its first recorded partition: the rerun skips
    what the manifest holds and the parts add up to the local output."""
    out = tmp_path / "tagged"
    env = {k: v for k, v in os.environ.items() if k != "CLASSIFY_MODEL"}
    env["CLASSIFY_SIGNAL_AT"] = "mid-tag:KILL"
    p = subprocess.run([sys.executable, "-m", "classify", "tag", str(batch), "--model",
                        str(model_dir), "--format", "jsonl", "--scheduler", address,
                        "--partition-size", PART, "--output-dir", str(out)],
                       capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == -9, p.stderr
    m = manifest(out)
    assert m["complete"] is False and m["totals"]["done"] >= 1
    done = m["totals"]["done"]
    code, _, err = on_cluster(address, [batch, "--model", model_dir, "--output-dir", out])
    assert code == 0, err
    assert f"{done} skipped" in err
    assert parts_text(out) == local([batch, "--model", model_dir])[1]
    assert not list(out.glob(".tmp-*"))


# ---------------------------------------------------------------- invalid records


@pytest.fixture(scope="module")
def bad_batch(tmp_path_factory) -> Path:
    lines = [json.dumps(r) for r in batch_records(400)]
    lines[250] = '{"id": "x", "text": "unterminated'
    lines[330] = '{"id": "y"}'
    path = tmp_path_factory.mktemp("bad") / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_invalid_record_fails_like_a_local_run(address, model_dir, bad_batch, batch, tmp_path):
    code, _, err = local([bad_batch, batch, "--model", model_dir])
    assert code == 1
    (expected,) = error_lines(err)
    assert "bad.jsonl:251:" in expected
    code, out, err = on_cluster(address, [bad_batch, batch, "--model", model_dir])
    assert_clean_error(code, err, "bad.jsonl:251:")
    assert code == 1
    assert error_lines(err) == [expected]
    assert out.endswith(local([batch, "--model", model_dir])[1])  # the other input is tagged

    out_dir = tmp_path / "tagged"
    code, _, err = on_cluster(address, [bad_batch, "--model", model_dir, "--output-dir",
                                        out_dir])
    assert code == 1 and error_lines(err) == [expected] and "Traceback" not in err
    m = manifest(out_dir)
    assert m["complete"] is False
    assert m["inputs"][0]["failed"].startswith(str(bad_batch) + ":251:")
    assert all(p["lines"][1] < 251 or p["lines"][0] > 251 for p in m["partitions"])

    code, _, err = on_cluster(address, [bad_batch, "--model", model_dir, "--output-dir",
                                        out_dir, "--skip-invalid"])
    assert code == 0, err
    local_skip = run_main(["tag", str(bad_batch), "--model", str(model_dir), "--format",
                           "jsonl", "--skip-invalid"])
    assert parts_text(out_dir) == local_skip.out
    assert manifest(out_dir)["totals"]["records"] == 400
    assert manifest(out_dir)["totals"]["invalid"] == 2
    skipped = [ln for ln in err.splitlines() if "skipped 2 invalid" in ln]
    assert skipped == [ln for ln in local_skip.err.splitlines() if "skipped" in ln]


def test_skip_invalid_to_stdout_equals_local_run(address, model_dir, bad_batch):
    expected = run_main(["tag", str(bad_batch), "--model", str(model_dir), "--format", "jsonl",
                         "--skip-invalid"])
    assert expected.code == 0
    assert expected.out.count('"error"') == 2
    r = run_main(["tag", str(bad_batch), "--model", str(model_dir), "--format", "jsonl",
                  "--skip-invalid", "--scheduler", address, "--partition-size", PART])
    assert (r.code, r.out, r.err) == (0, expected.out, expected.err)


def test_api_raises_or_reports_failures(client, model_dir, bad_batch, batch):
    run = api.tag_on_cluster([bad_batch, batch], client, model_dir, partition_bytes=4096)
    with pytest.raises(cluster.InvalidRecord, match=r"bad\.jsonl:251:"):
        "".join(run.blocks)
    seen: list[DataError] = []
    run = api.tag_on_cluster([bad_batch, batch], client, model_dir, partition_bytes=4096,
                             on_failure=seen.append)
    text = "".join(run.blocks)
    assert [str(e).split(": ")[0] for e in seen] == [f"{bad_batch}:251"]
    assert run.failures == [str(seen[0])] and run.complete is False
    assert text.endswith(local([batch, "--model", model_dir])[1])


# ---------------------------------------------------------------- workers and models


def test_worker_checks_the_model_sha256(address, model_copy, batch):
    meta = json.loads((model_copy / "meta.json").read_text(encoding="utf-8"))
    model_file = model_copy / meta["model_file"]
    model_file.write_bytes(model_file.read_bytes() + b"\0")
    code, out, err = on_cluster(address, [batch, "--model", model_copy])
    assert_clean_error(code, err, "SHA-256 does not match")
    assert code == 2 and out == ""


def test_killed_worker_partition_is_done_again(model_dir, batch, tmp_path):
    """The first task to reach "mid-partition" kills its worker process (SIGKILL, once):
    Dask reschedules the partition and the output is still complete and identical."""
    once = tmp_path / "killed-once"
    env = {"CLASSIFY_SIGNAL_AT": "mid-partition:KILL", "CLASSIFY_SIGNAL_ONCE": str(once)}
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                      dashboard_address=":0", env=env) as c, \
            Client(c, set_as_default=False) as cl:
        run = api.tag_on_cluster([batch], cl, model_dir, output_dir=tmp_path / "out",
                                 partition_bytes=8192)
    assert once.exists()  # a worker was killed
    assert run.complete and run.records == 600 and run.failures == []
    assert parts_text(tmp_path / "out") == local([batch, "--model", model_dir])[1]


# ---------------------------------------------------------------- dask.bag


def test_tag_bag_equals_tag_records(client, model_dir):
    import dask.bag as db

    recs = batch_records(120)
    expected = [t.record() for t in api.tag_records(recs, model_dir)]
    bag = api.tag_bag(db.from_sequence(recs, npartitions=4), model_dir)
    assert bag.npartitions == 4
    assert client.compute(bag).result() == expected
    strings = db.from_sequence([json.dumps(r) for r in recs], npartitions=3)
    assert client.compute(api.tag_bag(strings, model_dir)).result() == expected


def test_tag_bag_invalid_records(client, model_dir):
    import dask.bag as db

    recs: list = batch_records(6)
    recs[4] = {"id": "no text"}
    bag = db.from_sequence(recs, npartitions=2)  # records 1-3 and 4-6
    with pytest.raises(DataError, match="partition 1 record 2: missing or empty 'text'"):
        client.compute(api.tag_bag(bag, model_dir)).result()
    got = client.compute(api.tag_bag(bag, model_dir, skip_invalid=True)).result()
    want = [t.record() for t in api.tag_records(recs, model_dir, skip_invalid=True)]
    assert got[4]["error"] == "partition 1 record 2: missing or empty 'text'"
    assert got[4]["topics"] is None
    assert [r for i, r in enumerate(got) if i != 4] == [r for i, r in enumerate(want)
                                                        if i != 4]


# ---------------------------------------------------------------- usage errors


_WITHOUT_DASK = """
import sys
sys.modules.update(dict.fromkeys(["dask", "dask.bag", "distributed"]))  # imports now fail
from classify import api
from classify.cli import main
from classify.errors import ClassifyError
try:
    api.tag_bag(None)
except ClassifyError as e:
    print(e)
sys.exit(main(sys.argv[1:]))
"""


def test_missing_dask_gives_the_install_hint(model_dir, batch):
    p = subprocess.run([sys.executable, "-c", _WITHOUT_DASK, "tag", str(batch), "--model",
                        str(model_dir), "--format", "jsonl", "--scheduler",
                        "tcp://127.0.0.1:8786"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert p.stdout == "tag_bag needs Dask: pip install 'classify[dask]'\n"
    assert p.stderr == "classify: error: --scheduler needs Dask: pip install 'classify[dask]'\n"


@pytest.mark.parametrize("to_dir", [False, True])
def test_unreachable_scheduler_is_one_line(monkeypatch, model_dir, batch, tmp_path, to_dir):
    """One line, and no output directory made for a run that never reached the cluster."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free once closed: nothing listens there
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", "1s")
    out = tmp_path / "new_out"
    r = run_main(["tag", str(batch), "--model", str(model_dir), "--format", "jsonl",
                  "--scheduler", f"tcp://127.0.0.1:{port}",
                  *(["--output-dir", str(out)] if to_dir else [])])
    assert_clean_error(r.code, r.err, "cannot connect to the Dask scheduler")
    assert len(r.err.splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("port, says", [("99999", "invalid port '99999'"),
                                         ("abc", "invalid port 'abc'"),
                                         (None, "Connection refused")])
def test_a_bad_or_refused_port_is_told_at_once(model_dir, batch, port, says):
    """Before: Dask's connect retried a refused connection, and an impossible port, until its
    30 s timeout, then said 'no answer' or 'Timed out'."""
    if port is None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = str(s.getsockname()[1])  # closed: nothing listens there
    r = run_main(["tag", str(batch), "--model", str(model_dir), "--format", "jsonl",
                  "--scheduler", f"tcp://127.0.0.1:{port}"])
    assert_clean_error(r.code, r.err, "cannot connect to the Dask scheduler")
    assert says in r.err


def test_an_empty_batch_is_an_error_on_the_cluster_too(model_dir, tmp_path):
    """Before: exit 0 and no word with --scheduler, while a local run says 'empty input'."""
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n  \n")
    r = run_main(["tag", str(empty), "--model", str(model_dir), "--format", "jsonl",
                  "--scheduler", "tcp://127.0.0.1:1"])
    assert r.code == 1
    assert_clean_error(r.code, r.err, f"{empty}: empty input, no record to tag")


@pytest.mark.parametrize("args, message", [
    (["--format", "text", "--scheduler", "tcp://h:1"], "--scheduler writes JSON records"),
    (["--format", "json", "--scheduler", "tcp://h:1", "--output-dir", "o"],
     "--scheduler writes JSON records"),
    (["--format", "jsonl", "--scheduler", "tcp://h:1", "--jobs", "2"], "--jobs is for local"),
    (["--format", "jsonl", "--output-dir", "o"], "--output-dir and --partition-size need "
                                                 "--scheduler"),
    (["--format", "jsonl", "--partition-size", "1M"], "--output-dir and --partition-size "
                                                      "need --scheduler"),
    (["--format", "jsonl", "--scheduler", "tcp://h:1", "--partition-size", "lots"],
     "not a size"),
])
def test_usage_errors(model_dir, batch, args, message):
    r = run_main(["tag", str(batch), "--model", str(model_dir), *args])
    assert r.code == 2 and "Traceback" not in r.err
    assert message in r.err


def test_non_batch_inputs_fail_alone(address, model_dir, batch, tmp_path):
    article = tmp_path / "article.txt"
    article.write_text("Police seized heroin.\n", encoding="utf-8")
    binary = tmp_path / "image.jsonl"
    binary.write_bytes(bytes(range(256)) * 40)
    code, out, err = on_cluster(address, [article, binary, batch, "--model", model_dir])
    assert code == 1
    assert out == local([batch, "--model", model_dir])[1]
    assert error_lines(err) == [
        f"classify: error: {article}: not a .jsonl batch; --scheduler tags JSONL batches "
        "(--input-format jsonl reads any file as one)",
        f"classify: error: {binary}: looks like a binary file, not text"]
    assert err.splitlines()[-1] == "classify: 2 input(s) failed; the others were tagged"


def test_no_batch_input_fails_without_connecting(monkeypatch, model_dir, tmp_path):
    article = tmp_path / "article.txt"
    article.write_text("Police seized heroin.\n", encoding="utf-8")
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", "1s")
    r = run_main(["tag", str(article), "-", "--model", str(model_dir), "--format", "jsonl",
                  "--scheduler", "tcp://127.0.0.1:1"])  # nothing listens there
    assert r.code == 1 and r.out == ""
    assert [ln.split(": ")[2] for ln in error_lines(r.err)] == [str(article), "-"]
    assert "connect" not in r.err


def test_output_dir_is_locked_against_a_second_run(address, model_dir, batch, tmp_path):
    import fcntl

    out = tmp_path / "tagged"
    out.mkdir()
    with open(out / ".lock", "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        code, _, err = on_cluster(address, [batch, "--model", model_dir, "--output-dir", out])
    assert_clean_error(code, err, "another classify run is writing into this directory")
    assert not (out / "manifest.json").exists()
    shutil.rmtree(out)


def test_invalid_examples_follow_input_order_whatever_order_partitions_finish():
    """Partitions finish in any order on a cluster; the invalid records a run reports are the
    first ones in input order, as a local run reports them (this raced before)."""
    def part(index: int) -> cluster.Partition:
        return cluster.Partition(index=index, input=0, name="in.jsonl", path="/in.jsonl",
                                 start=index * 100, end=index * 100 + 100,
                                 first_line=index * 10 + 1, lines=10, encoding=None)

    def res(*lines: int) -> cluster.PartResult:
        return cluster.PartResult(records=10, invalid=len(lines),
                                  examples=[f"in.jsonl:{n}: bad" for n in lines])

    run = cluster.ClusterRun(inputs=["in.jsonl"])
    run._add(part(2), res(21, 22, 23, 24))
    run._add(part(0), res(3))
    run._add(part(1), res(12, 15))
    assert run.invalid == 7 and run.records == 30
    assert run.invalid_examples == [f"in.jsonl:{n}: bad" for n in (3, 12, 15, 21, 22)]
    assert "_first_invalid" not in run.to_dict()


def test_an_output_dir_of_something_else_is_refused_before_any_work(model_dir, tmp_path):
    """A directory with the user's own files (or a manifest.json not ours) is refused before
    the cluster is even asked: a run replaces what an --output-dir holds."""
    f = write_jsonl(tmp_path / "in.jsonl", batch_records(5))
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "manifest.json").write_text('{"mine": 1}', encoding="utf-8")
    (mine / "part-00000.jsonl").write_text("my precious results\n", encoding="utf-8")
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "notes.txt").write_text("keep", encoding="utf-8")
    for out, says in ((mine, "a manifest.json that is not a classify run's"),
                      (notes, "it holds notes.txt")):
        before = {p.name: p.read_bytes() for p in out.iterdir()}
        r = run_main(["tag", str(f), "--model", str(model_dir), "--format", "jsonl",
                      "--scheduler", "tcp://127.0.0.1:9", "--output-dir", str(out)])
        assert_clean_error(r.code, r.err, str(out))
        assert says in r.err and "choose a new or empty --output-dir" in r.err
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_server_that_accepts_and_never_answers_is_one_line(model_dir, tmp_path):
    """A server that takes the connection and stays silent kept distributed's handshake (which
    its connect timeout does not cover) waiting for ever; now the timeout covers it."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)  # accepted by the kernel, never read or answered
    port = srv.getsockname()[1]
    f = write_jsonl(tmp_path / "in.jsonl", batch_records(3))
    args = ["tag", str(f), "--model", str(model_dir), "--format", "jsonl",
            "--scheduler", f"tcp://127.0.0.1:{port}"]
    code = ("import sys; from classify import cli, cluster; cluster.CONNECT_TIMEOUT = '1s'; "
            f"sys.exit(cli.main({args!r}))")
    try:  # a subprocess, so that a hang is a failure (after 120 s), not a stuck test run
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=120)
    finally:
        srv.close()
    assert_clean_error(p.returncode, p.stderr, f"tcp://127.0.0.1:{port}")
    assert "no answer as a Dask scheduler within 1s" in p.stderr


def test_an_address_that_does_not_speak_dask_is_one_line(model_dir, tmp_path):
    """Something else answering at the address (an SSH server's banner) made distributed ask
    for exabytes: 'out of memory' without the address; now one line naming it."""
    import threading

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)
    port = srv.getsockname()[1]

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = srv.accept()
                conn.sendall(b"SSH-2.0-OpenSSH_9.0\r\n" * 50)

    threading.Thread(target=serve, daemon=True).start()
    f = write_jsonl(tmp_path / "in.jsonl", batch_records(3))
    try:
        r = run_main(["tag", str(f), "--model", str(model_dir), "--format", "jsonl",
                      "--scheduler", f"tcp://127.0.0.1:{port}"])
    finally:
        srv.close()
    assert_clean_error(r.code, r.err, f"tcp://127.0.0.1:{port}")
    assert "does not speak Dask's protocol" in r.err
