"""Fuzzing `classify tag` and `classify train --fast` with random bytes and random JSON lines.

Whatever the input, the CLI must exit 0, 1 or 2 with no traceback (an exception escaping
``cli.main`` in-process is the same failure as a traceback from the real command).
"""

from __future__ import annotations

import json
import random
import tempfile
from pathlib import Path

from conftest import run_cli, run_main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

WORDS = ["police", "seized", "heroin", "airport", "flight", "migrants", "border", "militants",
         "bomb", "praised", "condemned", "said", "the", "a", "Mr.", "U.S.", ".", "!", "?",
         "\n", "\n\n", "\u201c", "\u201d", "caf\u00e9", "\U0001f680",
         "\u0645\u0631\u062d\u0628\u0627"]
TEXT = st.one_of(st.text(max_size=80),
                 st.lists(st.sampled_from(WORDS), max_size=25).map(" ".join))
JUNK = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10),
                 st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5),
                                                                      st.integers(), max_size=2))
RECORD = st.fixed_dictionaries({}, optional={
    "text": st.one_of(TEXT, JUNK),
    "topics": st.one_of(st.lists(st.sampled_from(["alpha", "beta", "gamma", ""]), max_size=3),
                        JUNK),
    "stance": st.one_of(st.sampled_from(["pro", "con", "none"]), JUNK),
    "source": st.sampled_from(["s1", "s2", "s3", "s4"]),
    "id": st.one_of(st.integers(), st.text(max_size=5)),
})
LINE = st.one_of(
    RECORD.map(lambda r: json.dumps(r).encode()),
    RECORD.map(lambda r: json.dumps(r, ensure_ascii=False).encode("utf-8", "surrogatepass")),
    st.binary(max_size=40),
    JUNK.map(lambda v: json.dumps(v).encode()),
)
FILE_BYTES = st.one_of(
    st.binary(max_size=400),
    TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.lists(LINE, max_size=12).map(lambda ls: b"\n".join(ls) + b"\n"),
)
FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))


def _check(r) -> None:
    assert r.code in (0, 1, 2), r
    assert "Traceback" not in r.err, r.err


@FUZZ
@given(data=FILE_BYTES, suffix=st.sampled_from([".txt", ".jsonl", ".csv", ""]),
       fmt=st.sampled_from(["text", "json", "jsonl", "csv"]), skip=st.booleans())
def test_fuzz_tag(model_dir, data, suffix, fmt, skip):
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / f"input{suffix}"
        f.write_bytes(data)
        args = ["tag", str(f), "--model", str(model_dir), "--format", fmt]
        r = run_main(args + (["--skip-invalid"] if skip else []))
        _check(r)
        if r.code == 0 and fmt in ("json",):
            json.loads(r.out)
        if r.code == 0 and fmt == "jsonl":
            for line in r.out.splitlines():
                json.loads(line)


@FUZZ
@given(data=FILE_BYTES)
def test_fuzz_tag_stdin(model_dir, data):
    _check(run_main(["tag", "-", "--model", str(model_dir), "--format", "jsonl"], stdin=data))


@FUZZ
@given(lines=st.lists(st.one_of(RECORD.map(lambda r: json.dumps(r).encode()), LINE),
                      max_size=30),
       suffix=st.sampled_from([".jsonl", ".csv"]))
def test_fuzz_train(lines, suffix):
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / f"data{suffix}"
        f.write_bytes(b"\n".join(lines) + b"\n")
        r = run_main(["train", "--data", str(f), "--model", str(Path(tmp) / "m"), "--fast",
                      "--quiet"])
        _check(r)
        if r.code == 0:
            meta = json.loads((Path(tmp) / "m" / "meta.json").read_text(encoding="utf-8"))
            assert meta["labels"]["topics"] or meta["labels"]["stance"]


def _valid_plus_noise(rng: random.Random) -> bytes:
    """Mostly valid training lines, with a few random ones mixed in."""
    lines = []
    noisy = rng.random() < 0.3
    for i in range(rng.randint(4, 30)):
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 12))) + f" w{i}"
        rec = {"text": words, "source": f"s{rng.randint(1, 4)}"}
        if rng.random() < 0.8:
            rec["topics"] = rng.sample(["alpha", "beta", "gamma"], rng.randint(0, 2))
        if rng.random() < 0.8 or ("topics" not in rec and not noisy):
            rec["stance"] = rng.choice(["pro", "con", "none"])
        lines.append(json.dumps(rec, ensure_ascii=rng.random() < 0.5).encode())
        if noisy and rng.random() < 0.1:
            lines.append(bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 30))))
    return b"\n".join(lines) + b"\n"


@FUZZ
@given(seed=st.integers(0, 2**32 - 1))
def test_fuzz_train_mostly_valid(seed):
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "data.jsonl"
        f.write_bytes(_valid_plus_noise(rng))
        _check(run_main(["train", "--data", str(f), "--model", str(Path(tmp) / "m"),
                         "--fast", "--quiet"]))


def test_fuzz_real_processes(model_dir, tmp_path):
    """A few seeded random inputs through real `classify` processes."""
    rng = random.Random(1234)
    for i in range(4):
        raw = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 3000)))
        for suffix in (".txt", ".jsonl"):
            f = tmp_path / f"rand{i}{suffix}"
            f.write_bytes(raw)
            p = run_cli(["tag", f, "--model", model_dir, "--format", "jsonl"])
            assert p.returncode in (0, 1, 2), p.stderr
            assert "Traceback" not in p.stderr, p.stderr
    for i in range(3):
        f = tmp_path / f"train{i}.jsonl"
        f.write_bytes(_valid_plus_noise(rng))
        p = run_cli(["train", "--data", f, "--model", tmp_path / f"m{i}", "--fast", "--quiet"])
        assert p.returncode in (0, 1, 2), p.stderr
        assert "Traceback" not in p.stderr, p.stderr


# ---------------------------------------------------------------- outcomes, line by line

# Pairs of lines that are each broken alone but read as valid records when lines are joined
# into one JSON array (how batches used to be parsed).
BROKEN_PAIRS = [('{"text":"a"},{"text":"b","k":[1', '2]}'),
                ('{"text":"a","k":[[1', '2]]}'),
                ('[{"text":"a"}', '{"text":"b"}]'),
                ('{"text":"x","k":"', '"}')]
GOOD = TEXT.filter(lambda t: t.strip() != "").map(lambda t: [json.dumps({"text": t})])
BAD_ALONE = st.sampled_from(['{"text": "a"', "garbage", '{"id": 1}', '[1, 2]', '"text"',
                             '{"text": ""}', '{"text": "a"} {"text": "b"}', "{}", "null"]
                            ).map(lambda s: [s])
PAIRS = st.sampled_from(BROKEN_PAIRS).map(list)
BLANK = st.sampled_from(["", "  ", "\t"]).map(lambda s: [s])


def _valid_alone(line: str) -> bool:
    try:
        obj = json.loads(line)
    except ValueError:
        return False
    return isinstance(obj, dict) and isinstance(obj.get("text"), str) and bool(
        obj["text"].strip())


@FUZZ
@given(groups=st.lists(st.one_of(GOOD, GOOD, BAD_ALONE, PAIRS, BLANK), min_size=1,
                       max_size=12),
       skip=st.booleans())
def test_fuzz_tag_outcomes(model_dir, groups, skip):
    """Each line is judged alone: exit code, number of output lines and the line numbers in
    the errors are exactly those an independent per-line check predicts."""
    lines = [ln for g in groups for ln in g]
    numbered = [(i, ln) for i, ln in enumerate(lines, 1) if ln.strip()]
    bad = [i for i, ln in numbered if not _valid_alone(ln)]
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "batch.jsonl"
        f.write_text("\n".join(lines) + "\n", encoding="utf-8")
        r = run_main(["tag", str(f), "--model", str(model_dir), "--format", "jsonl"]
                     + (["--skip-invalid"] if skip else []))
    _check(r)
    if not numbered:  # blank lines only: an empty input, as an empty article is
        assert r.code == 1 and r.out == "" and f"{f}: empty input" in r.err, r
        return
    if bad and not skip:
        assert r.code == 1, r
        assert f"classify: error: {f}:{bad[0]}: " in r.err, (bad, r.err)
        return
    assert r.code == 0, r
    out = [json.loads(x) for x in r.out.splitlines()]
    assert len(out) == len(numbered)
    for (lineno, _), rec in zip(numbered, out, strict=True):
        if lineno in bad:
            assert rec["error"].startswith(f"{f}:{lineno}: ") and rec["topics"] is None, rec
        else:
            assert "error" not in rec and isinstance(rec["topics"], list), rec


@FUZZ
@given(groups=st.lists(st.one_of(st.just(None), PAIRS, BAD_ALONE), min_size=1, max_size=10))
def test_fuzz_train_outcomes(groups):
    """Training data: the first line that is not a record on its own is the error, by line."""
    lines, k = [], 0
    for g in groups:
        if g is None:
            k += 1
            lines.append(json.dumps({"text": f"Sentence {k} on flights.", "source": f"s{k % 3}",
                                     "topics": ["aviation"] if k % 2 else []}))
        else:
            lines.extend(g)
    bad = [i for i, ln in enumerate(lines, 1) if not _valid_alone(ln)]
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "data.jsonl"
        f.write_text("\n".join(lines) + "\n", encoding="utf-8")
        r = run_main(["train", "--data", str(f), "--model", str(Path(tmp) / "m"), "--fast",
                      "--quiet"])
    _check(r)
    if bad:
        assert r.code == 2, r
        assert r.err.splitlines()[-1].startswith(f"classify: error: {f}:{bad[0]}: "), r.err
