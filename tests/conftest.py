"""Shared fixtures: small synthetic labelled data (written for these tests) and tiny models."""

from __future__ import annotations

import os

# Tiny problems: BLAS threads only add contention (on a busy 2-core box, a lot of it).
# Set before numpy is imported; subprocesses inherit it.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import contextlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from classify import api  # noqa: E402
from classify.model import TrainOptions  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "models" / "default"
SEED_ARTICLE = ROOT / "seeds" / "000_f5626b0ffdcc9b6c.txt"

TOPICS = ["aviation", "counterterrorism", "immigration", "narcotics"]
STANCES = ["critical", "neutral", "supportive"]

# Invented sentence parts: actor + action (carries the topic) + tail (carries the stance).
ACTORS = ["Police in the capital", "The interior ministry", "Provincial officials",
          "The federal agency", "Regional authorities", "A joint task force",
          "Coastal guards", "The national bureau"]
ACTIONS = {
    "narcotics": ["seized a shipment of heroin", "dismantled a cocaine cartel",
                  "raided a methamphetamine laboratory", "intercepted opium smugglers",
                  "destroyed illicit poppy fields", "arrested drug traffickers",
                  "traced cannabis resin hidden in lorries", "broke up a narcotics ring"],
    "aviation": ["grounded the airline's jets", "reopened the airport runway",
                 "delayed dozens of passenger flights", "inspected the airliner fleet",
                 "certified a new aircraft model", "approved extra air routes",
                 "reviewed cockpit safety rules", "upgraded the terminal baggage radar"],
    "immigration": ["processed asylum applications", "deported irregular migrants",
                    "tightened student visa rules", "rescued refugees at sea",
                    "patrolled the border crossing", "granted residence permits to migrants",
                    "arrested migrant smugglers", "resettled displaced refugee families"],
    "counterterrorism": ["foiled a suicide bombing plot", "captured militant commanders",
                         "froze terror financing accounts", "stormed an extremist hideout",
                         "tracked insurgent cells", "shared intelligence on jihadist groups",
                         "disrupted a terrorist recruitment network",
                         "defused explosives planted by militants"],
}
TAILS = {
    "supportive": ["and leaders praised the excellent work", "and the minister warmly welcomed "
                   "the progress", "in a step lawmakers applauded as a great success",
                   "and officials thanked the partners for their commitment"],
    "critical": ["but rights groups condemned the failures", "and critics denounced the "
                 "reckless handling", "prompting angry protests over the abuses",
                 "while the opposition accused them of gross negligence"],
    "neutral": ["on Tuesday, according to a statement", "last week, records show",
                "during the second quarter of the year", "in the northern district on Monday"],
}
NO_TOPIC = ["The finance committee discussed the annual budget", "Parliament debated the new "
            "school curriculum", "The council announced road repairs in the old town",
            "Farmers reported a record wheat harvest", "The orchestra scheduled its winter "
            "concerts", "The central bank kept interest rates unchanged"]
MULTI = [
    (["narcotics", "aviation"], "Customs officers found heroin in a passenger's suitcase at "
                                "the airport"),
    (["counterterrorism", "aviation"], "Militants hijacked a passenger jet after take-off"),
    (["immigration", "aviation"], "Deported migrants were flown home on a charter flight"),
    (["immigration", "narcotics"], "Border guards caught smugglers moving migrants and "
                                   "cocaine together"),
]


def make_records(n_per_topic: int = 24, n_sources: int = 6, seed: int = 0,
                 topics: list[str] | None = None) -> list[dict]:
    """A few dozen invented sentences per topic, each with a stance, spread over sources."""
    rng = random.Random(seed)
    out: list[dict] = []
    seen: set[str] = set()

    def add(text: str, tops: list[str], stance: str) -> None:
        if text in seen:
            return
        seen.add(text)
        out.append({"text": text, "topics": tops, "stance": stance,
                    "source": f"src-{len(out) % n_sources}"})

    for topic in topics or TOPICS:
        combos = [(a, act, st, tail) for a in ACTORS for act in ACTIONS[topic]
                  for st in STANCES for tail in TAILS[st]]
        rng.shuffle(combos)
        for a, act, st, tail in combos[:n_per_topic]:
            add(f"{a} {act} {tail}.", [topic], st)
    for i, base in enumerate(NO_TOPIC):
        for st in STANCES:
            add(f"{base} {TAILS[st][i % 4]}.", [], st)
    if topics is None:
        for tops, base in MULTI:
            for st in STANCES:
                add(f"{base} {TAILS[st][1]}.", tops, st)
    return out


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                    encoding="utf-8")
    return path


ARTICLE = """Airport Security Tightened After Drug Haul

Police in the capital seized a shipment of heroin on Tuesday, according to a statement.
Mr. J. K. Smith of the U.S. embassy said the inquiry would continue.
Regional authorities grounded the airline's jets and leaders praised the excellent work.
Critics denounced the reckless handling of the border crossing by officials.
"""

FAST = TrainOptions(fast=True)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("data")
    write_jsonl(d / "train.jsonl", make_records())
    return d


@pytest.fixture(scope="session")
def train_file(data_dir) -> Path:
    return data_dir / "train.jsonl"


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory, train_file) -> Path:
    """A tiny topics + stance model, trained once per session."""
    d = tmp_path_factory.mktemp("model") / "m"
    api.train([train_file], d, FAST)
    return d


@pytest.fixture(scope="session")
def topics_only_model(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("topics_only")
    recs = [{k: v for k, v in r.items() if k != "stance"} for r in make_records(seed=1)]
    f = write_jsonl(base / "topics.jsonl", recs)
    api.train([f], base / "m", FAST)
    return base / "m"


def stance_records() -> list[dict]:
    """Stance only, with FAVOR / AGAINST / NONE classes."""
    favor = ["strongly supports", "is delighted with", "enthusiastically backs",
             "welcomes", "applauds"]
    against = ["fiercely opposes", "condemns", "is furious about", "rejects", "denounces"]
    none = ["reported on", "scheduled a hearing about", "published figures on",
            "listed the dates of", "described the timetable for"]
    subjects = ["The mayor", "The union", "A senator", "The newspaper", "Local residents",
                "The committee"]
    things = ["the new tram line", "the tax reform", "the hospital merger",
              "the port expansion", "the water plan"]
    out = []
    for label, verbs in (("FAVOR", favor), ("AGAINST", against), ("NONE", none)):
        for i, s in enumerate(subjects):
            for j, t in enumerate(things):
                v = verbs[(i + j) % len(verbs)]
                out.append({"text": f"{s} {v} {t}.", "stance": label,
                            "source": f"doc{(i + j) % 5}"})
    return out


@pytest.fixture(scope="session")
def stance_only_model(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("stance_only")
    f = write_jsonl(base / "stance.jsonl", stance_records())
    api.train([f], base / "m", FAST)
    return base / "m"


@pytest.fixture
def model_copy(model_dir, tmp_path) -> Path:
    """A private copy of the session model that a test may damage."""
    d = tmp_path / "model"
    shutil.copytree(model_dir, d, ignore=shutil.ignore_patterns(".lock"))
    return d


# ---------------------------------------------------------------- running the CLI


class Result:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def __repr__(self) -> str:
        return f"Result(code={self.code}, err={self.err[-2000:]!r})"


def run_main(args: list[str], stdin: bytes | None = None) -> Result:
    """Run ``classify.cli.main`` in-process, capturing stdout/stderr and the exit code."""
    from classify import cli

    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    if stdin is not None:
        sys.stdin = io.TextIOWrapper(io.BufferedReader(io.BytesIO(stdin)))
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main(args)
            except SystemExit as e:  # argparse
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    finally:
        sys.stdin = old_stdin
    return Result(code, out.getvalue(), err.getvalue())


def run_cli(args: list[str], *, input: bytes | None = None, cwd: str | Path | None = None,
            env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``python -m classify`` in a subprocess (bytes in, text out)."""
    full_env = {k: v for k, v in os.environ.items() if k != "CLASSIFY_MODEL"}
    full_env.update(env or {})
    p = subprocess.run([sys.executable, "-m", "classify", *map(str, args)], input=input,
                       stdin=None if input is not None else subprocess.DEVNULL,
                       capture_output=True, cwd=cwd, env=full_env, timeout=timeout)
    return subprocess.CompletedProcess(p.args, p.returncode,
                                       p.stdout.decode("utf-8", "replace"),
                                       p.stderr.decode("utf-8", "replace"))


def error_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.startswith("classify: error")]


def assert_clean_error(code: int, stderr: str, name: str) -> None:
    """Non-zero exit, no traceback, and a one-line error on stderr naming ``name``."""
    assert code != 0, stderr
    assert "Traceback" not in stderr, stderr
    lines = [ln for ln in error_lines(stderr) if name in ln]
    assert lines, f"no 'classify: error' line naming {name!r} in stderr: {stderr!r}"
