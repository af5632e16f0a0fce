"""Where the time of `classify tag FILE.jsonl --format jsonl` goes, stage by stage.

Runs the command in this process under cProfile (one process, ``--jobs 1``, output to
/dev/null) and prints a table of stages with their seconds, from the cumulative times of the
functions that do each stage:

    python benchmarks/profile_tag.py INPUT.jsonl --model DIR

Stages: reading and decoding lines; parsing JSON records; tokenising (one regex pass per
batch); looking tokens up in the vocabulary; building the count matrices; scoring (sparse
products, probabilities, decisions); rendering JSONL; the rest (start-up, model loading,
writing).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# stage -> (file suffix, function name) whose cumulative time is the stage's
STAGES = {
    "read and decode lines": [("data.py", "decoded_lines")],
    "parse JSON records": [("tagging.py", "parse")],
    "tokenise (regex)": [("features.py", "batch_tokens")],
    "vocabulary lookup": [("features.py", "ids")],
    "scoring (products, probabilities, decisions)": [("model.py", "__call__"),
                                                      ("model.py", "proba_of"),
                                                      ("model.py", "decide")],
    "render JSONL": [("output.py", "jsonl_block")],
}


def cumulative(stats: pstats.Stats, where: str, name: str) -> float:
    return sum(v[3] for (f, _, fn), v in stats.stats.items()  # type: ignore[attr-defined]
               if f.endswith(where) and fn == name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input")
    ap.add_argument("--model", default=None)
    args = ap.parse_args()
    from classify.cli import main as cli_main

    argv = ["tag", args.input, "--format", "jsonl", "--jobs", "1"]
    if args.model:
        argv += ["--model", args.model]
    prof = cProfile.Profile()
    real_stdout = sys.stdout
    t0 = time.perf_counter()
    with open(os.devnull, "w", encoding="utf-8") as null:
        sys.stdout = null
        try:
            prof.runcall(cli_main, argv)
        finally:
            sys.stdout = real_stdout
    total = time.perf_counter() - t0
    stats = pstats.Stats(prof)
    rows = {stage: sum(cumulative(stats, f, n) for f, n in fns)
            for stage, fns in STAGES.items()}
    counts = cumulative(stats, "features.py", "counts")
    rows["count matrices (rest of Features.counts)"] = max(
        0.0, counts - rows["tokenise (regex)"] - rows["vocabulary lookup"])
    rows["start-up, model load, writing, other"] = max(0.0, total - sum(rows.values()))
    print("| stage | seconds | share |\n| --- | ---: | ---: |")
    for stage, s in rows.items():
        print(f"| {stage} | {s:.2f} | {s / total:.0%} |")
    print(f"| **total (under the profiler)** | **{total:.2f}** | |")


if __name__ == "__main__":
    main()
