"""Robustness check for the classify CLI: bad input, faults and untrusted files.

    python benchmarks/robustness.py [--out FILE.md] [--keep-tmp]

Runs the real ``classify`` command as subprocesses, one case after another, in a temporary
directory (the working directory of every run, so paths in commands and messages are relative
to it; absolute paths in messages are shortened to their basenames). Every case becomes one row
of a Markdown table with what was observed: the exit code, the first line the tool printed on
stderr (the first ``error``/``warning``/``interrupted`` line if there is one, else the first
line; for a traceback, its last line), the wall time, and a short outcome phrase computed from
the result (outputs parsed, model files hashed, models loaded again). Nothing is asserted
silently: the table is the result. The last line counts rows whose stderr held a Python
traceback (or an "Exception ignored" report); it should be 0.

All data is written inline (a tiny labelled set of 60 invented sentences, 4 topics, 3 stances,
5 sources; larger sets are generated from it). Peak RSS is the child's own ``ru_maxrss`` from
``os.wait4``. BLAS threads are pinned to 1 as in the tests. Takes about 1.5 minutes on 2 CPUs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pty
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

TOPICS = ("energy", "health", "sport", "transport")
STANCES = ("supportive", "neutral", "critical")  # 5 sentences of each per topic, in this order
SOURCES = ("daily-courier", "evening-post", "radio-one", "city-wire", "the-gazette")
SENTENCES = {
    "energy": [
        "The new solar farm will power forty thousand homes, and residents welcomed it.",
        "Engineers praised the wind turbines for beating their output targets this winter.",
        "The utility's battery storage project was hailed as a model for the grid.",
        "Lawmakers applauded the cheaper heating tariffs agreed with the gas supplier.",
        "Villagers celebrated when the hydroelectric dam finally delivered reliable power.",
        "The power station produced 1.2 gigawatts of electricity in March.",
        "Crude oil prices closed at 82 dollars a barrel on Thursday.",
        "The grid operator published its quarterly report on electricity demand.",
        "A second reactor at the nuclear plant is scheduled for maintenance in May.",
        "The energy ministry listed twelve offshore wind licences for auction.",
        "Critics condemned the coal plant for choking the valley with smoke.",
        "Households were furious after another blackout cut their electricity for days.",
        "Environmental groups denounced the pipeline leak as reckless and avoidable.",
        "The regulator slammed the utility for hiking gas bills while profits soared.",
        "Protesters accused the refinery of hiding dangerous fuel spills.",
    ],
    "health": [
        "Doctors welcomed the new hospital wing, which cut waiting times for surgery.",
        "The vaccination campaign was praised for protecting thousands of children.",
        "Nurses applauded the extra funding for rural clinics.",
        "Patients said the free cancer screening programme was a great success.",
        "Researchers celebrated a promising result in the malaria drug trial.",
        "The clinic treats about three hundred patients a week.",
        "The health ministry released figures on influenza cases for January.",
        "A hospital board meeting on staffing is planned for next Monday.",
        "The pharmacy chain opened two branches in the northern suburbs.",
        "Doctors recorded blood pressure readings from volunteers in the study.",
        "Patients condemned the hospital for leaving them on trolleys for hours.",
        "Nurses protested against dangerous understaffing on the wards.",
        "Critics denounced the botched vaccine rollout as a shambles.",
        "Families accused the care home of neglecting elderly residents.",
        "The inquiry blamed the clinic's managers for failures that cost patients their lives.",
    ],
    "sport": [
        "Fans cheered the team's brilliant victory in the cup final.",
        "The coach praised his young striker for a superb hat-trick.",
        "The new stadium was hailed as a triumph for the city's football club.",
        "Athletes thanked the federation for the excellent training facilities.",
        "The marathon winner was celebrated as a national hero.",
        "The match kicks off at seven in the evening at the national stadium.",
        "The tennis tournament draw was published on Sunday.",
        "The cycling race covers 180 kilometres through the hills.",
        "The league table shows the two clubs level on points.",
        "The swimmer will compete in the 200 metres freestyle heat.",
        "Supporters booed the players after a humiliating defeat at home.",
        "Critics condemned the football federation over the ticket scandal.",
        "The referee was denounced for a disgraceful decision in the final minute.",
        "Fans accused the club owners of ruining the team with reckless spending.",
        "The doping scandal left the athletics body facing furious criticism.",
    ],
    "transport": [
        "Commuters welcomed the new tram line that halves journey times.",
        "The rail operator was praised for running every train on time in June.",
        "Cyclists applauded the city's new protected bike lanes.",
        "The bridge reopening was celebrated by drivers and shop owners.",
        "Passengers thanked the bus company for adding night services.",
        "The ferry to the island departs every two hours.",
        "The motorway will be closed between junctions four and five on Saturday.",
        "The railway timetable changes on the first of December.",
        "The port handled two million containers last year.",
        "The airline added a daily flight between the two capitals.",
        "Commuters condemned the chaos caused by cancelled trains.",
        "Drivers were furious about the potholes that wrecked their tyres.",
        "Critics denounced the metro extension as years late and over budget.",
        "Passengers accused the bus operator of scrapping rural routes without warning.",
        "The transport minister was slammed for the gridlock on the ring road.",
    ],
}
CITIES = ("Leeds", "Porto", "Lyon", "Gdansk", "Bari", "Cork", "Ghent", "Brno", "Turku", "Split")
ARTICLE = "Commuters welcomed the new tram line. The clinic treats about three hundred patients."
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00"

TRACEBACK_MARKS = ("Traceback (most recent call last)", "Exception ignored")
PATH_RE = re.compile(r"(?<![\w.])/(?!dev/)(?:[^\s/:'\"(),]+/)+([^\s/:'\"(),]+)")


def records(stance: bool = True, topics: bool = True) -> list[dict]:
    out = []
    for topic in TOPICS:
        for i, text in enumerate(SENTENCES[topic]):
            rec: dict = {"id": f"{topic}-{i}", "text": text}
            if topics:
                rec["topics"] = [topic]
            if stance:
                rec["stance"] = STANCES[i // 5]
            rec["source"] = SOURCES[i % len(SOURCES)]
            out.append(rec)
    return out


def many_records(n_variants: int = 50) -> list[dict]:
    """~3,000 distinct labelled records: each sentence with a dateline and an item number."""
    out = []
    for j in range(n_variants):
        for rec in records():
            text = f"{rec['text'][:-1]}, the {CITIES[j % len(CITIES)]} desk reported (item {j})."
            out.append({**rec, "id": f"{rec['id']}-{j}", "text": text, "source": f"wire-{j % 12}"})
    return out


def write_jsonl(path: Path, recs: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs),
                    encoding="utf-8")
    return path


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def classify_cmd() -> list[str]:
    script = Path(sys.executable).with_name("classify")
    if script.exists():
        return [str(script)]
    found = shutil.which("classify")
    return [found] if found else [sys.executable, "-m", "classify"]


# ---------------------------------------------------------------- running


@dataclass
class Result:
    rc: int | None
    out: bytes
    err: str
    wall: float
    maxrss_kb: int
    timed_out: bool = False

    @property
    def text(self) -> str:
        return self.out.decode("utf-8", "replace")

    @property
    def traceback(self) -> bool:
        return any(m in self.err for m in TRACEBACK_MARKS)

    def error_lines(self) -> list[str]:
        return [ln for ln in self.err.splitlines() if ln.startswith("classify: error")]

    def warning_lines(self) -> list[str]:
        return [ln for ln in self.err.splitlines()
                if ln.startswith(("classify: warning", "warning:"))]


class Proc:
    """A started subprocess whose stdout/stderr go to files; reaped with ``os.wait4``."""

    def __init__(self, argv: list[str], cwd: Path, env: dict, stdin, stdout, tag: str) -> None:
        self.err_path = cwd / f".stderr-{tag}"
        self.out_path = cwd / f".stdout-{tag}"
        self._err = open(self.err_path, "wb")  # noqa: SIM115 - closed in wait()
        self._out = open(self.out_path, "wb") if stdout is None else None  # noqa: SIM115
        self.t0 = time.perf_counter()
        self.popen = subprocess.Popen(argv, cwd=cwd, env=env, stdin=stdin,
                                      stdout=self._out or stdout, stderr=self._err)
        self.status: int | None = None
        self.maxrss_kb = 0
        self.wall = 0.0

    def done(self) -> bool:
        """Non-blocking: reap the child if it has exited (never leaves it to Popen)."""
        if self.status is None:
            pid, status, usage = os.wait4(self.popen.pid, os.WNOHANG)
            if pid:
                self.wall = time.perf_counter() - self.t0
                self.status = os.waitstatus_to_exitcode(status)
                self.popen.returncode = self.status
                self.maxrss_kb = usage.ru_maxrss
        return self.status is not None

    def send(self, sig: int) -> None:
        if not self.done():
            os.kill(self.popen.pid, sig)

    def wait(self, timeout: float = 120) -> Result:
        deadline = self.t0 + timeout
        timed_out = False
        while not self.done():
            if time.perf_counter() > deadline and not timed_out:
                timed_out = True
                os.kill(self.popen.pid, signal.SIGKILL)
            time.sleep(0.01)
        self._err.close()
        if self._out:
            self._out.close()
        out = self.out_path.read_bytes() if self._out else b""
        err = self.err_path.read_bytes().decode("utf-8", "replace")
        return Result(self.status, out, err, self.wall, self.maxrss_kb, timed_out)


@dataclass
class Row:
    case: str
    command: str
    rc: str
    stderr: str
    wall: float
    outcome: str
    traceback: bool


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def shorten(line: str, limit: int = 120) -> str:
    line = PATH_RE.sub(r"\1", " ".join(line.split()))
    return line if len(line) <= limit else line[: limit - 1] + "…"


def stderr_summary(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    if not lines:
        return "(nothing)"
    if any(m in err for m in TRACEBACK_MARKS):
        head = "TRACEBACK: " + lines[-1]
    else:
        key = [ln for ln in lines if re.match(r"(classify: )?(error|warning)", ln)
               or "interrupted" in ln]
        head = (key or lines)[0]
    more = len(lines) - 1
    return shorten(head) + (f" [+{more} more line{'s' * (more > 1)}]" if more else "")


def rc_text(rc: int | None) -> str:
    if rc is None:
        return "?"
    if rc < 0:
        return f"{rc} ({signal.Signals(-rc).name})"
    return str(rc)


class Bench:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.cli = classify_cmd()
        self.env = {k: v for k, v in os.environ.items() if k != "CLASSIFY_MODEL"}
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            self.env[var] = "1"
        self.rows: list[Row] = []
        self.n = 0

    def start(self, args: list[str], stdin=subprocess.DEVNULL, stdout=None,
              env: dict | None = None) -> Proc:
        self.n += 1
        return Proc([*self.cli, *args], self.tmp, {**self.env, **(env or {})}, stdin, stdout,
                    str(self.n))

    def run(self, args: list[str], stdin=subprocess.DEVNULL, stdout=None,
            during: Callable[[Proc], None] | None = None, timeout: float = 120,
            env: dict | None = None) -> Result:
        p = self.start(args, stdin, stdout, env)
        if during:
            during(p)
        return p.wait(timeout)

    def add(self, case: str, command: str, res: Result, outcome: str) -> Result:
        if res.timed_out:
            outcome = f"TIMED OUT, killed; {outcome}"
        self.rows.append(Row(case, command, rc_text(res.rc), stderr_summary(res.err), res.wall,
                             outcome, res.traceback))
        return res

    def case(self, case: str, args: list[str], outcome: Callable[[Result], str],
             **kw) -> Result:
        res = self.run(args, **kw)
        shown = " ".join(a if a else "''" for a in args)  # an empty argument stays visible
        return self.add(case, "classify " + shown, res, _safe(outcome, res))

    def table(self) -> str:
        lines = ["| case | command (short) | exit code | stderr (first line) | wall s | outcome |",
                 "|---|---|---|---|---:|---|"]
        for r in self.rows:
            lines.append(f"| {_cell(r.case)} | `{_cell(r.command)}` | {r.rc} | "
                         f"{_cell(r.stderr)} | {r.wall:.2f} | {_cell(r.outcome)} |")
        return "\n".join(lines)


def _safe(fn: Callable[[Result], str], res: Result) -> str:
    try:
        return fn(res)
    except Exception as e:  # the outcome check itself failed: say so in the row
        return f"unexpected output ({type(e).__name__}: {shorten(str(e), 60)})"


# ---------------------------------------------------------------- outcome phrases


def error_phrase(res: Result, must_name: str | None = None, label: str | None = None) -> str:
    """'one-line error, no traceback' and friends, from what was observed."""
    if res.traceback:
        return f"TRACEBACK on stderr, exit {rc_text(res.rc)}"
    if res.rc == 0:
        return "exit 0, no error reported"
    n = len(res.error_lines())
    phrase = ("one-line error" if n == 1 else f"{n} error lines" if n else
              "non-zero exit without a 'classify: error' line") + ", no traceback"
    if must_name is not None:
        named = any(must_name in ln for ln in res.error_lines())
        phrase += f"; {'names' if named else 'does NOT name'} {label or must_name}"
    return phrase


def tagged_article(res: Result, original: str | None = None) -> str:
    if res.traceback or res.rc != 0:
        return error_phrase(res)
    arts = json.loads(res.out)
    sents = [s["text"] for a in arts for s in a["sentence_tags"]]
    phrase = f"tagged, exit 0 ({len(sents)} sentences)"
    if original is not None:
        joined = " ".join(sents)
        intact = joined == original and "\ufeff" not in res.text
        phrase += "; text decoded intact" if intact else f"; TEXT CHANGED: {joined[:40]!r}"
    return phrase


def jsonl_rows(res: Result) -> list[dict]:
    return [json.loads(ln) for ln in res.text.splitlines() if ln.strip()]


# ---------------------------------------------------------------- the cases


def prepare(tmp: Path) -> None:
    write_jsonl(tmp / "tiny.jsonl", records())
    write_jsonl(tmp / "topics_only.jsonl", records(stance=False))
    write_jsonl(tmp / "one_example.jsonl", [*records(), {
        "text": "Pirates boarded a cargo ship off the coast at dawn.", "topics": ["piracy"],
        "stance": "neutral", "source": "harbour-radio"}])
    write_jsonl(tmp / "unlabelled.jsonl", records(stance=False, topics=False))
    dupe = records()
    dupe.insert(40, {**dupe[6], "topics": ["sport"], "stance": "critical",
                     "source": "harbour-radio"})  # line 41 repeats line 7, labelled otherwise
    write_jsonl(tmp / "dupe.jsonl", dupe)
    write_jsonl(tmp / "big3k.jsonl", many_records())
    write_jsonl(tmp / "big.jsonl", [{"id": str(i), "text": f"Commuters in district {i} "
                                     "welcomed the new tram line."} for i in range(20_000)])
    good = [{"id": f"r{i}", "text": r["text"]} for i, r in enumerate(records()[::12])]
    write_jsonl(tmp / "batch.jsonl", good)
    lines = [json.dumps(r) for r in good]
    lines[2] = '{"id": "r2", "text": "The ferry departs every'  # line 3: cut short
    (tmp / "bad_batch.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    # lines 2 and 3 are each broken, but joined into one JSON array they read as two records
    split = [json.dumps(good[0]), '{"text": "Fares rose."},{"text": "Trams ran.", "k": [1',
             '2]}', json.dumps(good[1])]
    (tmp / "split_batch.jsonl").write_text("\n".join(split) + "\n", encoding="utf-8")
    train_split = [json.dumps(r) for r in records()]
    train_split[4:4] = ['{"text": "Fares rose.", "stance": "neutral"},{"text": "T", "k": [1',
                        '2]}']
    (tmp / "split_train.jsonl").write_text("\n".join(train_split) + "\n", encoding="utf-8")
    (tmp / "utf32.jsonl").write_bytes("".join(json.dumps(r, ensure_ascii=False) + "\n"
                                              for r in records()).encode("utf-32"))
    conflicts = records()
    for i in range(25):  # 25 texts repeated with another stance
        conflicts.append({**records()[i], "stance": "critical" if records()[i]["stance"]
                          != "critical" else "neutral"})
    write_jsonl(tmp / "conflicts.jsonl", conflicts)

    (tmp / "a.txt").write_text(ARTICLE, encoding="utf-8")
    (tmp / "empty.txt").write_bytes(b"")
    (tmp / "blank.txt").write_bytes(b"  \n\t\n   \r\n \n")
    rng = random.Random(0)
    (tmp / "image.png").write_bytes(PNG + rng.randbytes(4096))
    docs = tmp / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text(SENTENCES["energy"][0], encoding="utf-8")
    (docs / "c.txt").write_text(SENTENCES["sport"][1], encoding="utf-8")
    (docs / "b.png").write_bytes(PNG + rng.randbytes(2048))
    (docs / "d.txt").symlink_to(tmp / "does-not-exist.txt")

    words = ("tram", "clinic", "stadium", "turbine", "ferry", "nurses", "grid", "fans",
             "pipeline", "league", "vaccine", "motorway")
    parts, size = [], 0
    while size < 20_000_000:
        w = words[rng.randrange(len(words))]
        parts.append(w)
        size += len(w) + 1
    (tmp / "long.txt").write_text(" ".join(parts)[:20_000_000], encoding="utf-8")
    (tmp / "many.txt").write_text(" ".join(f"Fans cheered goal {i}." for i in range(100_000)),
                                  encoding="utf-8")
    (tmp / "medium.txt").write_text(" ".join(SENTENCES["health"]) * 30, encoding="utf-8")


ENCODED = {  # case name -> (file name, text, encoding)
    "Latin-1 text": ("latin1.txt", "Le café de l'aéroport a fermé. Die Zöllner fanden "
                     "Heroin.", "latin-1"),
    "Windows-1252 text (0x93/0x94 quotes)": ("cp1252.txt", "Critics said \u201cthe tram is "
                                             "late\u201d again. Fares rose by 5\u20ac.",
                                             "cp1252"),
    "UTF-8 with BOM": ("bom8.txt", "Nurses applauded the funding. The ferry departs at "
                       "noon.", "utf-8-sig"),
    "UTF-16 with BOM": ("bom16.txt", "Fans cheered the victory. The clinic opened \u00e0 "
                        "midi.", "utf-16"),
}


def model_state(d: Path) -> dict:
    """What is on disk in a model directory, checked without importing classify."""
    state: dict = {"meta": None, "file_ok": False, "models": sorted(
        p.name for p in d.glob("model-*.npz")), "tmp": sorted(p.name for p in d.glob(".tmp-*"))}
    try:
        meta = json.loads((d / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return state
    state["meta"] = meta
    mf = d / str(meta.get("model_file"))
    state["file_ok"] = mf.is_file() and file_sha256(mf) == meta.get("model_sha256")
    return state


def run_cases(b: Bench) -> None:
    tmp = b.tmp
    t = ["--format", "json"]

    b.case("setup: train tiny model (60 sentences)",
           ["train", "--fast", "--data", "tiny.jsonl", "--model", "M"],
           lambda r: error_phrase(r) if r.rc else
           f"trained, exit 0; {len(model_state(tmp / 'M')['models'])} model file, "
           f"hash {'matches' if model_state(tmp / 'M')['file_ok'] else 'DOES NOT match'} meta")
    if not (tmp / "M" / "meta.json").is_file():
        raise SystemExit("training the tiny model failed; see the table")
    b.case("setup: train topics-only model",
           ["train", "--fast", "--data", "topics_only.jsonl", "--model", "MT"],
           lambda r: error_phrase(r) if r.rc else "trained, exit 0; stance labels in meta: "
           f"{model_state(tmp / 'MT')['meta']['labels']['stance']}")

    # ------------------------------------------------ unusable or odd text input
    for case, name in (("empty file", "empty.txt"), ("whitespace-only file", "blank.txt"),
                       ("binary file (PNG header + random bytes)", "image.png")):
        b.case(case, ["tag", name, "--model", "M", *t],
               lambda r, n=name: error_phrase(r, n, "the file"))
    for case, (name, text, enc) in ENCODED.items():
        (tmp / name).write_bytes(text.encode(enc))
        b.case(case, ["tag", name, "--model", "M", *t],
               lambda r, s=text: tagged_article(r, s))

    def long_outcome(r: Result) -> str:
        if r.rc != 0:
            return error_phrase(r)
        rows = jsonl_rows(r)
        sents = [x for x in rows if x["type"] == "sentence"]
        longest = max(len(x["text"]) for x in sents)
        return (f"tagged, exit 0: {len(sents):,} sentences (longest {longest:,} chars), "
                f"peak RSS {r.maxrss_kb / 1024:.0f} MB")

    b.case("20 MB single line, no punctuation", ["tag", "long.txt", "--model", "M", "--format",
                                                 "jsonl"], long_outcome)

    def many_outcome(r: Result) -> str:
        if r.rc != 0:
            return error_phrase(r)
        last = json.loads(r.out.rstrip().rsplit(b"\n", 1)[-1])
        return (f"tagged, exit 0: {last['sentences']:,} sentences in 1 article, "
                f"peak RSS {r.maxrss_kb / 1024:.0f} MB")

    b.case("article of 100,000 short sentences",
           ["tag", "many.txt", "--model", "M", "--format", "jsonl"], many_outcome)

    def dir_outcome(r: Result) -> str:
        if r.traceback:
            return error_phrase(r)
        arts = [Path(a["article"]).name for a in json.loads(r.out)]
        bad = [n for n in ("b.png", "d.txt") if any(n in ln for ln in r.error_lines())]
        return (f"tagged {len(arts)} of 4 ({', '.join(arts)}); errors name "
                f"{', '.join(bad) or 'NONE'}; exit {rc_text(r.rc)}")

    b.case("directory: 2 good files + binary + broken symlink", ["tag", "docs", "--model", "M",
                                                                  *t], dir_outcome)

    b.case("JSONL batch, malformed line 3", ["tag", "bad_batch.jsonl", "--model", "M",
                                             "--format", "jsonl"],
           lambda r: error_phrase(r, "bad_batch.jsonl:3", "line 3")
           + f"; {len(jsonl_rows(r))} records written before stopping")

    def skip_outcome(r: Result) -> str:
        rows = jsonl_rows(r)
        errs = [x for x in rows if "error" in x]
        skip = [ln for ln in r.err.splitlines() if "skipped" in ln]
        return (f"exit {rc_text(r.rc)}: {len(rows) - len(errs)} tagged + {len(errs)} error "
                f"line(s) of {len(rows)} output lines; stderr "
                f"{'names line 3' if skip and 'bad_batch.jsonl:3' in skip[0] else 'NO line'}")

    b.case("JSONL batch, malformed line 3, --skip-invalid",
           ["tag", "bad_batch.jsonl", "--model", "M", "--format", "jsonl", "--skip-invalid"],
           skip_outcome)

    b.case("JSONL batch, lines 2-3 broken alone (valid if joined)",
           ["tag", "split_batch.jsonl", "--model", "M", "--format", "jsonl"],
           lambda r: error_phrase(r, "split_batch.jsonl:2", "line 2"))
    b.case("JSONL batch, lines 2-3 broken alone, --skip-invalid",
           ["tag", "split_batch.jsonl", "--model", "M", "--format", "jsonl", "--skip-invalid"],
           lambda r: f"exit {rc_text(r.rc)}: " + ", ".join(
               "error (line " + row["error"].split(":")[1] + ")" if "error" in row else "tagged"
               for row in jsonl_rows(r)))
    b.case("`-` with stdin from /dev/null", ["tag", "-", "--model", "M", *t],
           lambda r: error_phrase(r, "stdin", "stdin"))

    master, slave = pty.openpty()
    try:
        b.case("`-` with stdin a pseudo-terminal (pty)", ["tag", "-", "--model", "M", *t],
               lambda r: error_phrase(r, "terminal", "the terminal"), stdin=slave, timeout=30)
    finally:
        os.close(slave)
        os.close(master)

    # closed pipe: classify's own status from PIPESTATUS, pipefail off
    script = (f"set +o pipefail; {shlex.join(b.cli)} tag big.jsonl --model M "
              "--format jsonl 2>pipe.err | head -1; echo \"${PIPESTATUS[0]}\" > pipe.rc")
    p = Proc(["bash", "-c", script], tmp, b.env, subprocess.DEVNULL, None, "pipe")
    res = p.wait(120)
    rc = int((tmp / "pipe.rc").read_text().strip() or -1)
    res = Result(rc, res.out, (tmp / "pipe.err").read_text("utf-8", "replace") + res.err,
                 res.wall, res.maxrss_kb, res.timed_out)
    first = res.text.splitlines()[0] if res.text else ""
    b.add("output into a closed pipe (20,000 records)",
          "classify tag big.jsonl --format jsonl | head -1", res,
          _safe(lambda r: f"{'stopped quietly' if not r.err.strip() else 'stderr output'}; "
                f"head got id {json.loads(first)['id']!r}; classify exit {r.rc} (PIPESTATUS)",
                res))

    # ------------------------------------------------ model directories
    b.case("missing model directory", ["tag", "a.txt", "--model", "no-model", *t],
           lambda r: error_phrase(r, "no-model", "the directory"))

    shutil.copytree(tmp / "M", tmp / "M_nometa")
    (tmp / "M_nometa" / "meta.json").unlink()
    b.case("model dir without meta.json", ["tag", "a.txt", "--model", "M_nometa", *t],
           lambda r: error_phrase(r, "--trust", "--trust"))
    b.case("model dir without meta.json, --trust",
           ["tag", "a.txt", "--model", "M_nometa", "--trust", *t],
           lambda r: tagged_article(r) + ("; 'unverified' warning" if any(
               "unverified" in ln for ln in r.warning_lines()) else "; NO warning"))

    shutil.copytree(tmp / "M", tmp / "M_hash")
    meta = json.loads((tmp / "M_hash" / "meta.json").read_text(encoding="utf-8"))
    mf = tmp / "M_hash" / meta["model_file"]
    blob = bytearray(mf.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    mf.write_bytes(bytes(blob))
    b.case("model file bytes changed after saving", ["tag", "a.txt", "--model", "M_hash", *t],
           lambda r: error_phrase(r, "SHA-256", "SHA-256 mismatch")
           + f"; stdout {len(r.out)} bytes")

    shutil.copytree(tmp / "M", tmp / "M_oldnp")
    meta = json.loads((tmp / "M_oldnp" / "meta.json").read_text(encoding="utf-8"))
    meta["versions"]["numpy"] = "1.26.4"
    (tmp / "M_oldnp" / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    b.case("meta.json claims numpy 1.26.4 (arrays, not pickles: the version does not matter)",
           ["tag", "a.txt", "--model", "M_oldnp", *t],
           lambda r: tagged_article(r) + ("; a version warning" if any(
               "1.26.4" in ln for ln in r.warning_lines()) else "; no warning needed"))

    legacy = Path(__file__).resolve().parents[1] / "tests" / "data" / "legacy-v2"
    shutil.copytree(legacy, tmp / "M_pickle")
    b.case("old pickle model (classify 0.2), no --trust",
           ["tag", "a.txt", "--model", "M_pickle", *t],
           lambda r: error_phrase(r, "M_pickle", "the model file")
           + ("; hints 'classify convert'" if "classify convert" in r.err else ""))
    b.case("old pickle model (classify 0.2), --trust",
           ["tag", "a.txt", "--model", "M_pickle", "--trust", *t],
           lambda r: tagged_article(r) + ("; warns and hints 'classify convert'"
                                          if "classify convert" in r.err else ""))
    b.case("classify convert of the old pickle model",
           ["convert", "M_pickle", "--trust", "--output", "M_converted"],
           lambda r: error_phrase(r) if r.rc else
           "converted, exit 0; " + ", ".join(sorted(p.name for p in (tmp / "M_converted").iterdir()
                                                     if not p.name.startswith("."))))

    shutil.copytree(tmp / "M", tmp / "M_newer")
    meta = json.loads((tmp / "M_newer" / "meta.json").read_text(encoding="utf-8"))
    meta["format"] = 99
    (tmp / "M_newer" / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    b.case("meta.json of a newer model format", ["tag", "a.txt", "--model", "M_newer", *t],
           lambda r: error_phrase(r, "newer classify", "refused"))

    def stance_null(r: Result) -> str:
        if r.rc != 0:
            return error_phrase(r)
        rows = jsonl_rows(r)
        nulls = sum(x["stance"] is None and not x["stance_scores"] for x in rows)
        return f"tagged {len(rows)} records, exit 0; stance null (no scores) in {nulls}"

    b.case("stance on a topics-only model (--format jsonl)",
           ["tag", "batch.jsonl", "--model", "MT", "--format", "jsonl"], stance_null)

    # ------------------------------------------------ training data problems
    def one_example(r: Result) -> str:
        if r.rc != 0:
            return error_phrase(r)
        m = model_state(tmp / "M1")["meta"]
        where = "in" if "piracy" in m["labels"]["topics"] else "NOT in"
        return (f"trained, exit 0; 'piracy' {where} model topics "
                f"(threshold {m['thresholds'].get('piracy')})")

    b.case("training: a label with one example",
           ["train", "--fast", "--data", "one_example.jsonl", "--model", "M1"], one_example)
    b.case("training: all records unlabelled",
           ["train", "--fast", "--data", "unlabelled.jsonl", "--model", "M0"],
           lambda r: error_phrase(r, "unlabelled.jsonl", "the file") + (
               "; no model written" if not (tmp / "M0" / "meta.json").exists()
               else "; a model WAS written"))

    def dupe_outcome(r: Result) -> str:
        warn = [ln for ln in r.warning_lines() if "more than once" in ln]
        lines = re.findall(r"dupe\.jsonl:(\d+)", warn[0]) if warn else []
        got = f"warning names lines {' and '.join(lines)}" if lines else "NO warning naming lines"
        return f"{got}; exit {rc_text(r.rc)}" + ("" if r.rc == 0 else f"; {error_phrase(r)}")

    b.case("training: same sentence labelled two ways",
           ["train", "--fast", "--data", "dupe.jsonl", "--model", "MD"], dupe_outcome)
    b.case("training: 25 texts labelled two ways",
           ["train", "--fast", "--data", "conflicts.jsonl", "--model", "MC"],
           lambda r: (f"{len([ln for ln in r.warning_lines() if 'more than once' in ln])} "
                      f"summary line; exit {rc_text(r.rc)}; "
                      + shorten(next(ln for ln in r.warning_lines() if 'more than once' in ln),
                                150)))
    b.case("training: 25 texts labelled two ways, --verbose",
           ["train", "--fast", "--verbose", "--data", "conflicts.jsonl", "--model", "MC"],
           lambda r: f"{r.err.count('labelled differently')} detail lines; exit {rc_text(r.rc)}")
    b.case("training: UTF-32 JSONL (with BOM)",
           ["train", "--fast", "--quiet", "--data", "utf32.jsonl", "--model", "M32"],
           lambda r: error_phrase(r) if r.rc else
           f"trained, exit 0, on {model_state(tmp / 'M32')['meta']['data']['records']} records")
    b.case("tag: UTF-32 JSONL (with BOM)",
           ["tag", "utf32.jsonl", "--model", "M", "--format", "jsonl"],
           lambda r: error_phrase(r) if r.rc else f"tagged, exit 0: {len(jsonl_rows(r))} rows")
    b.case("training: lines 5-6 broken alone, valid if joined",
           ["train", "--fast", "--data", "split_train.jsonl", "--model", "MS"],
           lambda r: error_phrase(r, "split_train.jsonl:5", "line 5")
           + ("; no model written" if not (tmp / "MS").exists() else "; a model WAS written"))
    b.case("evaluate --folds 10 with 5 sources",
           ["evaluate", "--fast", "--data", "tiny.jsonl", "--folds", "10"],
           lambda r: error_phrase(r, "5 sources", "the 5 sources"))

    # ------------------------------------------------ interrupts at named points
    for command, point, sig in (("train", "after-imports", "TERM"), ("train", "mid-fit", "INT"),
                                ("train", "mid-save", "TERM"), ("tag", "start", "INT"),
                                ("tag", "mid-tag", "TERM"), ("evaluate", "mid-evaluate", "INT")):
        d = tmp / f"point_{command}_{point}"
        shutil.copytree(tmp / "M", d)
        before = model_state(d)
        args = {"train": ["train", "--data", "big3k.jsonl", "--model", d.name],
                "tag": ["tag", "big.jsonl", "--model", d.name, "--format", "jsonl"],
                "evaluate": ["evaluate", "--fast", "--data", "tiny.jsonl", "--folds", "2",
                             "--report", "point.md"]}[command]

        def point_outcome(r: Result, d=d, before=before) -> str:
            after = model_state(d)
            kept = "model dir unchanged" if after == before else "model dir CHANGED"
            return (f"exit {rc_text(r.rc)}, {len(r.err.splitlines())} stderr line(s); {kept}; "
                    f"report written: {(tmp / 'point.md').exists()}")

        res = b.run(args, env={"CLASSIFY_SIGNAL_AT": f"{point}:{sig}"})
        b.add(f"SIG{sig} at '{point}' of `classify {command}` (CLASSIFY_SIGNAL_AT)",
              "classify " + " ".join(args), res, _safe(point_outcome, res))

    # ------------------------------------------------ interrupted and concurrent training
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        name = sig.name
        d = tmp / f"kill_{name}"
        shutil.copytree(tmp / "M", d)
        before = model_state(d)["meta"]
        sent: dict = {}

        def signal_after_start(p: Proc, sig: signal.Signals = sig, sent: dict = sent) -> None:
            # wait for training to begin (first log line), then signal at >= 1 s after start
            while not p.done() and b"training on" not in p.err_path.read_bytes() and \
                    time.perf_counter() - p.t0 < 20:
                time.sleep(0.01)
            time.sleep(max(0.0, 1.0 - (time.perf_counter() - p.t0)))
            sent["at"] = time.perf_counter() - p.t0
            sent["alive"] = not p.done()
            p.send(sig)

        res = b.run(["train", "--data", "big3k.jsonl", "--model", d.name],
                    during=signal_after_start)
        check = b.run(["tag", "a.txt", "--model", d.name, *t])
        after = model_state(d)

        def kill_outcome(r: Result, before=before, after=after, check=check,
                         sent=sent, sig=sig) -> str:
            when = (f"{sig.name} at {sent['at']:.1f} s" if sent["alive"]
                    else "finished before the signal")
            same = after["meta"] == before
            sha_same = (after["meta"] or {}).get("model_sha256") == before["model_sha256"]
            state = ("old model intact (meta identical" if same else
                     "old model REPLACED (sha " + ("same" if sha_same else "changed"))
            state += f", file hash {'ok' if after['file_ok'] else 'BAD'})"
            extra = f", {len(after['tmp'])} .tmp left" if after["tmp"] else ""
            loads = "loads (tag exit 0)" if check.rc == 0 else \
                f"DOES NOT LOAD: {stderr_summary(check.err)}"
            return f"{when}: {state}{extra}, {len(after['models'])} model file, {loads}"

        b.add(f"{name} to running `classify train` (3,000 records), old model in dir",
              f"classify train --data big3k.jsonl --model {d.name}", res, _safe(kill_outcome, res))

    d = tmp / "conc"
    datas = ("tiny.jsonl", "topics_only.jsonl")
    procs = [b.start(["train", "--fast", "--data", data, "--model", "conc"]) for data in datas]
    results = [p.wait(120) for p in procs]
    ends = [p.t0 + p.wall for p in procs]
    t_first = min(p.t0 for p in procs)
    check = b.run(["tag", "a.txt", "--model", "conc", *t])
    st = model_state(d)
    merged = Result(None, b"", "\n".join(r.err for r in results), max(ends) - t_first,
                    max(r.maxrss_kb for r in results), any(r.timed_out for r in results))

    def conc_outcome(_r: Result) -> str:
        meta = st["meta"]
        if meta is None:
            return f"NO meta.json; {len(st['models'])} model files"
        won = Path(meta["data"]["files"][0]).name
        spans = ", ".join(f"{Path(x).stem} {p.t0 - t_first:.2f}-{e - t_first:.2f} s"
                          for x, p, e in zip(datas, procs, ends, strict=True))
        return (("one complete model" if st["file_ok"] and len(st["models"]) == 1 else
                 f"INCONSISTENT ({len(st['models'])} model files)")
                + f" (the one from {won}); "
                + f"meta sha {'matches' if st['file_ok'] else 'DOES NOT match'} file; "
                + f"{len(st['tmp'])} .tmp left; "
                + ("loads (tag exit 0)" if check.rc == 0 else "DOES NOT LOAD")
                + f"; ran {spans}")

    b.add("two concurrent `classify train`, same dir",
          "classify train --data {tiny,topics_only}.jsonl --model conc (x2 at once)", merged,
          _safe(conc_outcome, merged))
    b.rows[-1].rc = " / ".join(rc_text(r.rc) for r in results)

    # ------------------------------------------------ outputs that would replace what exists
    (tmp / "empty.jsonl").write_bytes(b"")
    b.case("empty JSONL batch", ["tag", "empty.jsonl", "--model", "M", "--format", "jsonl"],
           lambda r: error_phrase(r, "empty.jsonl", "the file"))

    def unchanged(name: str, before: str, what: str = "") -> str:
        return f"; {what}{'left as it was' if file_sha256(tmp / name) == before else 'CHANGED'}"

    for case, argv, name in (
            ("evaluate --report naming its own --test file",
             ["evaluate", "--model", "M", "--test", "tiny.jsonl", "--report", "tiny.jsonl"],
             "tiny.jsonl"),
            ("export --out naming its input file",
             ["export", "batch.jsonl", "--to", "prodigy", "--model", "M", "--out",
              "batch.jsonl"], "batch.jsonl")):
        before = file_sha256(tmp / name)
        b.case(case, argv, lambda r, n=name, h=before: error_phrase(r, n, "the file")
               + unchanged(n, h))
    (tmp / "tasks.json").write_text("[]\n", encoding="utf-8")
    before = file_sha256(tmp / "tasks.json")
    b.case("export --to label-studio, --config into a missing directory",
           ["export", "batch.jsonl", "--to", "label-studio", "--model", "M", "--out",
            "tasks.json", "--config", "nodir/c.xml"],
           lambda r, h=before: error_phrase(r, "nodir/c.xml", "the config path")
           + unchanged("tasks.json", h, "--out "))
    (tmp / "label_config.xml").write_text("<View/>\n", encoding="utf-8")
    before = file_sha256(tmp / "label_config.xml")
    b.case("export --to label-studio to stdout, a label_config.xml already here",
           ["export", "batch.jsonl", "--to", "label-studio", "--model", "M"],
           lambda r, h=before: error_phrase(r, "label_config.xml", "the config")
           + unchanged("label_config.xml", h))
    write_jsonl(tmp / "rejected.jsonl", [{"text": "Fares rose.", "answer": "reject"}])
    write_jsonl(tmp / "mine.jsonl", records()[:3])
    before = file_sha256(tmp / "mine.jsonl")
    b.case("import of an export with nothing annotated, onto existing labels",
           ["import", "rejected.jsonl", "--from", "prodigy", "--model", "M", "--out",
            "mine.jsonl"],
           lambda r, h=before: error_phrase(r, "rejected.jsonl", "the export")
           + unchanged("mine.jsonl", h, "--out "))

    # ------------------------------------------------ option values
    b.case("option value that is not a number", ["tag", "a.txt", "--model", "M", "--jobs",
                                                  "abc"],
           lambda r: f"exit {rc_text(r.rc)}, {len(r.err.strip().splitlines())} stderr "
           f"line(s){', no traceback' if not r.traceback else ', TRACEBACK'}")
    b.case("--threshold for a topic the model does not have",
           ["tag", "a.txt", "--model", "M", "--threshold", "piracy=0.5"],
           lambda r: error_phrase(r, "piracy", "the topic"))
    b.case("--jobs far above the cores", ["tag", "batch.jsonl", "--model", "M", "--format",
                                          "jsonl", "--jobs", "100000"],
           lambda r: error_phrase(r) if r.rc else
           f"tagged, exit 0 ({len(jsonl_rows(r))} records); "
           f"{len(r.warning_lines())} warning line (capped at the cores)")

    # ------------------------------------------------ found by an adversarial run
    recs = records()
    heavy = [*recs[:20], {**recs[20], "weight": 1e300}, *recs[21:]]
    write_jsonl(tmp / "heavy.jsonl", heavy)
    shutil.copytree(tmp / "M", tmp / "MW")
    before_w = model_state(tmp / "MW")
    b.case("training: a record weight of 1e300, over an existing model",
           ["train", "--fast", "--quiet", "--data", "heavy.jsonl", "--model", "MW"],
           lambda r, h=before_w: error_phrase(r, "heavy.jsonl:21", "file:line")
           + ("; the old model is kept" if model_state(tmp / "MW") == h
              else "; the old model CHANGED"))
    b.case("training: --schema /dev/zero (endless)",
           ["train", "--fast", "--quiet", "--data", "tiny.jsonl", "--schema", "/dev/zero",
            "--model", "M_zero"],
           lambda r: error_phrase(r, "/dev/zero", "the file"))
    (tmp / "digits.jsonl").write_text('{"id": "1", "text": "Fares rose."}\n{"id": "2", '
                                      '"text": "x", "n": ' + "9" * 5000 + "}\n",
                                      encoding="utf-8")
    b.case("tag: a number of 5,000 digits on line 2", ["tag", "digits.jsonl", "--model", "M",
                                                       "--format", "jsonl"],
           lambda r: error_phrase(r, "digits.jsonl:2", "file:line"))
    surrogate = [json.dumps(r) for r in recs]
    surrogate[9] = '{"text": "Fares \\ud800 rose.", "topics": [], "stance": "neutral"}'
    (tmp / "surrogate.jsonl").write_text("\n".join(surrogate) + "\n", encoding="utf-8")
    b.case("training: a lone surrogate (\\ud800) in line 10's text",
           ["train", "--fast", "--quiet", "--data", "surrogate.jsonl", "--model", "M_sur"],
           lambda r: error_phrase(r, "surrogate.jsonl:10", "file:line"))
    write_jsonl(tmp / "slip.jsonl", [{**{k: v for k, v in r.items() if k != "topics"},
                                      "topic": r["topics"]} if i == 2 else r
                                     for i, r in enumerate(recs)])
    b.case("training: field 'topic' (for 'topics') on line 3",
           ["train", "--fast", "--quiet", "--data", "slip.jsonl", "--model", "M_slip"],
           lambda r: error_phrase(r) if r.rc else
           f"trained, exit 0; {len(r.warning_lines())} warning line naming "
           + ("slip.jsonl:3" if any("slip.jsonl:3" in x for x in r.warning_lines())
              else "NOTHING"))
    write_jsonl(tmp / "odd_test.jsonl", [{"text": "Fares rose at the port.", "topics": ["piracy"],
                                          "stance": "furious", "source": "t"}, recs[0]])
    b.case("evaluate --test with a topic and a stance the model lacks",
           ["evaluate", "--model", "M", "--test", "odd_test.jsonl", "--json"],
           lambda r: error_phrase(r) if r.rc else
           f"scored, exit 0; {len(r.warning_lines())} warning line(s) naming the labels")
    shutil.copytree(tmp / "M", tmp / "MR")
    meta_r = json.loads((tmp / "MR" / "meta.json").read_text(encoding="utf-8"))
    meta_r["article_rule"] = 5
    (tmp / "MR" / "meta.json").write_text(json.dumps(meta_r), encoding="utf-8")
    b.case("meta.json's article rule hand-edited to 5", ["tag", "a.txt", "--model", "MR", *t],
           lambda r: error_phrase(r, "MR/meta.json", "meta.json"))

    b.case("--model \"\" (an empty path)", ["tag", "a.txt", "--model", "", *t],
           lambda r: error_phrase(r, "an empty path", "the empty path"))
    with socket.socket() as silent:  # takes connections (the kernel's backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)
        port = silent.getsockname()[1]
        b.case("tag --scheduler at a server that accepts and never answers",
               ["tag", "batch.jsonl", "--model", "M", "--format", "jsonl", "--scheduler",
                f"tcp://127.0.0.1:{port}"],
               lambda r, a=f"tcp://127.0.0.1:{port}": error_phrase(r, a, "the address")
               + f"; after {r.wall:.0f} s")

    # ------------------------------------------------ a damaged model file the check misses
    shutil.copytree(tmp / "M", tmp / "MZ")
    meta = json.loads((tmp / "MZ" / "meta.json").read_text(encoding="utf-8"))
    blob = (tmp / "MZ" / meta["model_file"]).read_bytes()[:2000]
    (tmp / "MZ" / meta["model_file"]).write_bytes(blob)
    meta["model_sha256"] = hashlib.sha256(blob).hexdigest()
    (tmp / "MZ" / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    b.case("model file truncated, meta.json's SHA-256 made to match",
           ["tag", "a.txt", "--model", "MZ", *t],
           lambda r, f=meta["model_file"]: error_phrase(r, f, "the model file"))

    # ------------------------------------------------ found by the second adversarial run
    def written(name: str, what: str) -> str:
        """"; model not written" and the like: whether a refused command left ``name``."""
        return f"; {what} {'written' if (tmp / name).exists() else 'not written'}"

    def edited(name: str, edit: Callable[[dict], None]) -> None:
        shutil.copytree(tmp / "M", tmp / name)
        m = json.loads((tmp / name / "meta.json").read_text(encoding="utf-8"))
        edit(m)
        (tmp / name / "meta.json").write_text(json.dumps(m), encoding="utf-8")

    edited("AR_V", lambda m: m["model"].__setitem__("vectorizers", []))
    b.case("meta.json's model section hand-edited (no vectorizers)",
           ["tag", "a.txt", "--model", "AR_V", *t], lambda r: error_phrase(r, "AR_V/", "the model"))
    shutil.copytree(tmp / "M", tmp / "AR_D")
    deep = (tmp / "AR_D" / "meta.json").read_text(encoding="utf-8").rstrip()
    (tmp / "AR_D" / "meta.json").write_text(deep[:-1] + ', "x": ' + "[" * 100_000
                                          + "]" * 100_000 + "}", encoding="utf-8")
    b.case("meta.json nested 100,000 deep", ["tag", "a.txt", "--model", "AR_D", *t],
           lambda r: error_phrase(r, "AR_D/meta.json", "meta.json"))
    for name, what in (("AR_Q", "meta.json"), ("AR_Q2", "model file")):
        shutil.copytree(tmp / "M", tmp / name)
        target = tmp / name / ("meta.json" if what == "meta.json" else
                               json.loads((tmp / "M" / "meta.json").read_text())["model_file"])
        target.unlink()
        os.mkfifo(target)
        b.case(f"{what} is a FIFO (a read would block)", ["tag", "a.txt", "--model", name, *t],
               lambda r, f=target.name: error_phrase(r, f, "the file") + (
                   "; says not a regular file" if "not a regular file" in r.err else ""))
    edited("AR_N", lambda m: m.__setitem__("model_sha256", None))
    b.case("meta.json's model_sha256 set to null", ["tag", "a.txt", "--model", "AR_N", *t],
           lambda r: error_phrase(r, "AR_N/meta.json", "meta.json") + (
               "; points at --trust" if "--trust" in r.err else ""))
    edited("AR_P", lambda m: m["training"]["topics"]["params"].update(
        threshold_strategy="tuned", threshold_floor=5))
    b.case("train --params-from a meta.json with a threshold floor of 5",
           ["train", "--quiet", "--data", "tiny.jsonl", "--params-from", "AR_P", "--model",
            "AR_floor"],
           lambda r: error_phrase(r, "AR_P/meta.json", "meta.json")
           + written("AR_floor", "model"))
    b.case("evaluate --model --test with training flags (--fast --C 5)",
           ["evaluate", "--model", "M", "--test", "tiny.jsonl", "--fast", "--C", "5"],
           lambda r: error_phrase(r, "--C, --fast", "the flags"))
    (tmp / "ls_taxonomy.json").write_text(json.dumps([{"data": {"text": "Fares rose."},
                                                       "annotations": [{"result": [{
        "from_name": "stance", "to_name": "text", "type": "taxonomy",
        "value": {"taxonomy": [["neutral"]]}}]}]}]), encoding="utf-8")
    b.case("import: a Label Studio stance given as a taxonomy, not choices",
           ["import", "ls_taxonomy.json", "--from", "label-studio", "--model", "M", "--out",
            "ls_out.jsonl"],
           lambda r: error_phrase(r, "ls_taxonomy.json", "the export")
           + written("ls_out.jsonl", "--out"))
    write_jsonl(tmp / "prodigy_stance.jsonl", [{"text": "Fares rose.", "answer": "accept",
                                                "accept": ["transport", "stance:angry"]}])
    b.case("import: a stance for a topics-only model",
           ["import", "prodigy_stance.jsonl", "--from", "prodigy", "--model", "MT", "--out",
            "p_out.jsonl"],
           lambda r: error_phrase(r, "prodigy_stance.jsonl:1", "file:line"))

    # ------------------------------------------------ found by the review of 2026-12-07
    write_jsonl(tmp / "id_list.jsonl", [{"id": "a", "text": "Fares rose."},
                                        {"id": ["a", 1], "text": "Police seized heroin."}])
    b.case("tag: a record id that is a list", ["tag", "id_list.jsonl", "--model", "M",
                                                "--format", "jsonl"],
           lambda r: error_phrase(r, "id_list.jsonl:2", "file:line")
           + ("; repr in the output" if "['a', 1]" in r.text else ""))
    (tmp / "id_surrogate.jsonl").write_text(
        json.dumps({"id": "x\ud800", "text": "Fares rose.", "topics": []}) + "\n",
        encoding="utf-8")
    b.case("train: an id with a lone surrogate", ["train", "--fast", "--quiet", "--data",
                                                  "id_surrogate.jsonl", "--model", "AR_S"],
           lambda r: error_phrase(r, "id_surrogate.jsonl:1", "file:line")
           + written("AR_S", "model"))
    (tmp / "schema_dir").mkdir()
    shutil.copy(tmp / "tiny.jsonl", tmp / "schema_dir" / "tiny.jsonl")
    (tmp / "schema_dir" / "schema.json").mkdir()
    b.case("train: schema.json in the data directory is a directory",
           ["train", "--fast", "--quiet", "--data", "schema_dir", "--model", "AR_SD"],
           lambda r: error_phrase(r, "schema_dir/schema.json", "schema.json")
           + written("AR_SD", "model"))
    (tmp / "recipe_dir").mkdir()
    shutil.copy(tmp / "tiny.jsonl", tmp / "recipe_dir" / "tiny.jsonl")
    (tmp / "recipe_dir" / "recipe.json").write_text(json.dumps(
        {"prevalence": 0.05, "corpus": ["tiny.jsonl", "gone.jsonl"]}), encoding="utf-8")
    b.case("train: recipe.json names a corpus file that is not there",
           ["train", "--quiet", "--data", "recipe_dir", "--model", "AR_RC"],
           lambda r: error_phrase(r, "recipe_dir/recipe.json", "recipe.json")
           + written("AR_RC", "model"))
    (tmp / "ls_null.json").write_text(json.dumps([{"data": {"text": "Fares rose."},
                                                   "annotations": [None]}]), encoding="utf-8")
    b.case("import: a Label Studio annotation that is null",
           ["import", "ls_null.json", "--from", "label-studio", "--model", "M", "--out",
            "ls_null_out.jsonl"],
           lambda r: error_phrase(r, "ls_null.json", "the export")
           + written("ls_null_out.jsonl", "--out"))
    write_jsonl(tmp / "prodigy_answer.jsonl", [{"text": "Fares rose.", "answer": "Accept",
                                                "accept": ["aviation"]}])
    b.case("import: a Prodigy answer that is not accept, reject or ignore",
           ["import", "prodigy_answer.jsonl", "--from", "prodigy", "--model", "M", "--out",
            "p_answer_out.jsonl"],
           lambda r: error_phrase(r, "prodigy_answer.jsonl:1", "file:line"))

    # ------------------------------------------------ found by the third adversarial run
    write_jsonl(tmp / "prodigy_tasks.jsonl", [{"text": "Fares rose.", "accept": ["aviation"]}])
    b.case("import: Prodigy tasks nobody answered (our own export, guesses pre-selected)",
           ["import", "prodigy_tasks.jsonl", "--from", "prodigy", "--model", "M", "--out",
            "p_tasks_out.jsonl"],
           lambda r: error_phrase(r, "prodigy_tasks.jsonl", "the file")
           + written("p_tasks_out.jsonl", "--out"))
    (tmp / "fifo_dir").mkdir()
    shutil.copy(tmp / "a.txt", tmp / "fifo_dir" / "a.txt")
    os.mkfifo(tmp / "fifo_dir" / "pipe.txt")
    b.case("tag: a directory of articles holding a FIFO",
           ["tag", "fifo_dir", "--model", "M", "--format", "jsonl"],
           lambda r: error_phrase(r, "fifo_dir/pipe.txt", "the FIFO")
           + f"; {sum(x.get('type') == 'article' for x in jsonl_rows(r))} article tagged",
           timeout=30)
    os.mkfifo(tmp / "answers_fifo.jsonl")
    b.case("label --out a FIFO", ["label", "tiny.jsonl", "--out", "answers_fifo.jsonl",
                                  "--model", "M"],
           lambda r: error_phrase(r, "answers_fifo.jsonl", "the FIFO"), timeout=30)
    (tmp / "guide.bin").write_bytes(bytes(range(128, 256)) * 8)
    b.case("audit --guide a binary file",
           ["audit", "--fast", "--quiet", "--data", "tiny.jsonl", "--folds", "2", "--guide",
            "guide.bin", "--report", "audit_bin.md"],
           lambda r: error_phrase(r, "guide.bin", "the guide") + written("audit_bin.md",
                                                                        "report"))
    (tmp / "schema_empty.json").write_text("{}", encoding="utf-8")
    b.case("train --schema that declares no label ({})",
           ["train", "--fast", "--quiet", "--data", "tiny.jsonl", "--schema",
            "schema_empty.json", "--model", "AR_SE"],
           lambda r: error_phrase(r, "schema_empty.json", "the schema")
           + written("AR_SE", "model"))
    edited("AR_DUP", lambda m: m["model"]["topics"].__setitem__(
        "classes", [m["model"]["topics"]["classes"][0]] * len(m["model"]["topics"]["classes"])))
    b.case("meta.json: topic classes that repeat a name", ["tag", "a.txt", "--model", "AR_DUP",
                                                          *t],
           lambda r: error_phrase(r, "meta.json", "meta.json"))
    edited("AR_FMT", lambda m: m.__setitem__("format", "99"))
    b.case('meta.json: format "99" (a string)', ["tag", "a.txt", "--model", "AR_FMT", *t],
           lambda r: error_phrase(r, "'format'", "the format"))
    (tmp / "id_nan.jsonl").write_text('{"id": NaN, "text": "Fares rose."}\n'
                                      '{"id": NaN, "text": "Police seized heroin."}\n',
                                      encoding="utf-8")
    b.case("tag: record ids NaN (pandas' no value; two records)",
           ["tag", "id_nan.jsonl", "--model", "M", "--format", "jsonl"],
           lambda r: error_phrase(r) if r.rc else
           f"tagged, exit 0; ids {[x.get('id') for x in jsonl_rows(r)]} (no id, not 'nan')")
    (tmp / "id_inf.jsonl").write_text('{"id": 1e400, "text": "Fares rose."}\n',
                                      encoding="utf-8")
    b.case("tag: a record id of 1e400 (infinity)",
           ["tag", "id_inf.jsonl", "--model", "M", "--format", "jsonl"],
           lambda r: error_phrase(r, "id_inf.jsonl:1", "file:line"))

    # ------------------------------------------------ found by the fourth adversarial run
    ESC = bytes([27])  # noqa: N806
    shutil.copy(tmp / "batch.jsonl", tmp / "batch.ndjson")
    b.case("tag: a .ndjson batch", ["tag", "batch.ndjson", "--model", "M", "--format", "jsonl"],
           lambda r: error_phrase(r) if r.rc else
           f"tagged as a batch, exit 0; {len(jsonl_rows(r))} records")
    (tmp / "array.json").write_text('[{"text": "Fares rose."}]\n', encoding="utf-8")
    b.case("tag: a .json document (an array of records)",
           ["tag", "array.json", "--model", "M", "--format", "jsonl"],
           lambda r: error_phrase(r, "array.json", "the file"))
    (tmp / "records.csv").write_text("text\nFares rose.\n", encoding="utf-8")
    b.case("tag: a .csv file", ["tag", "records.csv", "--model", "M", "--format", "jsonl"],
           lambda r: error_phrase(r, "records.csv", "the file"))
    case = records()
    case[4] = {**case[4], "stance": "Supportive"}
    write_jsonl(tmp / "case_stance.jsonl", case)
    b.case("train: a stance written 'Supportive' beside 'supportive'",
           ["train", "--fast", "--quiet", "--data", "case_stance.jsonl", "--model", "AR_CASE"],
           lambda r: error_phrase(r) if r.rc else
           f"trained, exit 0; {len(r.warning_lines())} warning line(s)"
           + ("; names case_stance.jsonl:5" if "case_stance.jsonl:5" in r.err else ""))
    b.case("train --params-from M --C 3 (C fixed twice)",
           ["train", "--fast", "--quiet", "--data", "tiny.jsonl", "--params-from", "M", "--C",
            "3", "--model", "AR_PC"],
           lambda r: error_phrase(r, "--C and --params-from", "both flags")
           + written("AR_PC", "model"))
    edited("AR_MS0", lambda m: m.__setitem__("article_rule", {"params": {"min_sentences": 0}}))
    b.case("meta.json: article rule min_sentences 0", ["tag", "a.txt", "--model", "AR_MS0", *t],
           lambda r: error_phrase(r, "meta.json", "meta.json"))
    edited("AR_TH", lambda m: m["thresholds"].__setitem__(sorted(m["thresholds"])[0], 0.99))
    b.case("meta.json: a recorded threshold edited", ["tag", "a.txt", "--model", "AR_TH", *t],
           lambda r: error_phrase(r) if r.rc else
           f"tagged, exit 0; {len(r.warning_lines())} warning line(s) naming meta.json")
    (tmp / "loopA").symlink_to(tmp / "loopB")
    (tmp / "loopB").symlink_to(tmp / "loopA")
    b.case("train --model a symlink loop",
           ["train", "--fast", "--quiet", "--data", "tiny.jsonl", "--model", "loopA"],
           lambda r: error_phrase(r, "loopA", "the path"))
    (tmp / "AR_EMPTY").mkdir()
    b.case("tag --model an empty directory", ["tag", "a.txt", "--model", "AR_EMPTY", *t],
           lambda r: error_phrase(r, "AR_EMPTY", "the directory")
           + ("; suggests --trust" if "--trust" in r.err else ""))
    with open(tmp / "batch.jsonl", "rb") as fh:
        b.case("tag - - (standard input twice)", ["tag", "-", "-", "--model", "M", *t],
               lambda r: error_phrase(r, "standard input", "standard input"), stdin=fh)
    write_jsonl(tmp / "id_newline.jsonl", [{"id": "2\n3", "text": "Fares rose."}])
    b.case("tag --format text: a newline in a record id",
           ["tag", "id_newline.jsonl", "--model", "M", "--format", "text"],
           lambda r: error_phrase(r) if r.rc else
           f"exit 0; {len(r.out.splitlines())} output line(s) for 1 record")
    sentence = "The airline cut fares and passengers praised it. "
    write_jsonl(tmp / "once.jsonl", [{"id": "x", "text": sentence}])
    write_jsonl(tmp / "repeat.jsonl", [{"id": "x", "text": sentence * 100_000}])
    once = b.case("tag: one record of one sentence", ["tag", "once.jsonl", "--model", "M",
                                                      "--format", "jsonl"],
                  lambda r: error_phrase(r) if r.rc else
                  f"exit 0; topics {jsonl_rows(r)[0].get('topics')}")

    def repeated(r: Result) -> str:
        if r.rc:
            return error_phrase(r)
        a, b_ = jsonl_rows(once)[0], jsonl_rows(r)[0]
        gap = max(abs(a["topic_scores"][k] - b_["topic_scores"][k]) for k in a["topic_scores"])
        return (f"exit 0; topics {b_.get('topics')}, "
                f"{'the same as' if a['topics'] == b_['topics'] else 'NOT'} the sentence's "
                f"once; scores within {gap:.4f} of it")

    b.case("tag: the same record, the sentence 100,000 times (5 MB)",
           ["tag", "repeat.jsonl", "--model", "M", "--format", "jsonl"], repeated)
    write_jsonl(tmp / "ctrl_pool.jsonl", [{"id": "a\nb", "text": "Fares rose \u001b[2J\u0007."}])
    b.case("suggest --format text: control characters in a pool",
           ["suggest", "--pool", "ctrl_pool.jsonl", "--model", "M", "--format", "text"],
           lambda r: error_phrase(r) if r.rc else
           f"exit 0; {'RAW ESC' if ESC in r.out else 'ESC escaped'}; "
           f"{len(r.out.splitlines())} line(s) for 1 suggestion")
    b.case("suggest --focus stance on a topics-only model",
           ["suggest", "--pool", "batch.jsonl", "--model", "MT", "--focus", "stance"],
           lambda r: error_phrase(r, "MT", "the model"))
    b.case("export --to doccano, then import it unreviewed",
           ["export", "batch.jsonl", "--to", "doccano", "--model", "M", "--out",
            "dc_export.jsonl"], lambda r: error_phrase(r) if r.rc else "exported, exit 0")
    b.case("import --from doccano: our own unreviewed export",
           ["import", "dc_export.jsonl", "--from", "doccano", "--model", "M", "--out",
            "dc_back.jsonl"],
           lambda r: error_phrase(r, "dc_export.jsonl", "the file")
           + written("dc_back.jsonl", "--out"))
    b.case("import --from label-studio: a doccano file",
           ["import", "dc_export.jsonl", "--from", "label-studio", "--model", "M", "--out",
            "ls_back.jsonl"],
           lambda r: error_phrase(r, "dc_export.jsonl", "the file")
           + ("; says it is not a Label Studio export" if "does not look like" in r.err
              else ""))

    # ------------------------------------------------ full disk and unwritable outputs
    b.case("evaluate --report /dev/full",
           ["evaluate", "--fast", "--quiet", "--data", "tiny.jsonl", "--folds", "2",
            "--report", "/dev/full"],
           lambda r: error_phrase(r, "/dev/full", "/dev/full") + (
               "; says no space left" if "No space left" in r.err else ""))
    full_disk_rows(b)
    b.case("evaluate --report into a missing directory",
           ["evaluate", "--fast", "--quiet", "--data", "tiny.jsonl", "--folds", "2",
            "--report", "nodir/r.md"],
           lambda r: error_phrase(r, "nodir/r.md", "the report path")
           + f"; {len(r.out.splitlines())} summary lines on stdout")
    with open("/dev/full", "wb") as full:
        b.case("tag with stdout > /dev/full (450 sentences)",
               ["tag", "medium.txt", "--model", "M", "--format", "jsonl"],
               lambda r: error_phrase(r) + (
                   "; says no space left" if "No space left" in r.err else ""),
               stdout=full)


def full_disk_rows(b: Bench) -> None:
    """A model and a report written onto a real, tiny (64 KB) tmpfs: needs root to mount."""
    mnt = b.tmp / "tinyfs"
    mnt.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                             capture_output=True, check=False).returncode == 0
    if not mounted:
        b.rows.append(Row("model / report onto a full 64 KB tmpfs", "(not run)", "-",
                          "mount needs root", 0.0, "skipped: could not mount a tmpfs", False))
        return
    try:
        b.case("train: model onto a 64 KB tmpfs (disk full)",
               ["train", "--fast", "--quiet", "--data", "tiny.jsonl", "--model", "tinyfs/m"],
               lambda r: error_phrase(r, "tinyfs/m", "the model directory") + (
                   "; says no space left" if "No space left" in r.err else "")
               + f"; files left: {sorted(p.name for p in (mnt / 'm').iterdir())}")
        (mnt / "fill").write_bytes(b"\0" * (60 * 1024))
        b.case("evaluate --report onto a full tmpfs",
               ["evaluate", "--fast", "--quiet", "--data", "tiny.jsonl", "--folds", "2",
                "--report", "tinyfs/r.html"],
               lambda r: error_phrase(r, "tinyfs/r.html", "the report path")
               + f"; report file exists: {(mnt / 'r.html').exists()}")
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", metavar="FILE.md", help="also write the Markdown here")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the temporary directory")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="classify-robustness-"))
    b = Bench(tmp)
    try:
        prepare(tmp)
        run_cases(b)
    finally:
        if args.keep_tmp:
            print(f"(temporary files kept in {tmp})", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    tracebacks = sum(r.traceback for r in b.rows)
    text = "\n".join([
        "# classify robustness: bad input, faults and untrusted files", "",
        b.table(), "",
        "Not run as a real interactive terminal: `classify tag -` typed at a TTY. The pty row "
        "stands in for it (stdin is a pseudo-terminal, so `isatty()` is true).", "",
        f"Rows with a Python traceback (or 'Exception ignored') on stderr: {tracebacks} "
        f"of {len(b.rows)}. Total run time {time.perf_counter() - t0:.0f} s.",
    ])
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
