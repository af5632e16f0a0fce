"""How well ``classify audit`` finds wrong topic labels: flip 5% of them and look.

For each seed: copy the data (default ``labels/``) to a temporary directory, flip the topic
labels of 5% of the lines that carry topics (seeded), run the audit on the copy and count how
many flipped lines are named (``where`` or ``others``) among the top 2 x (number of flips)
findings, in the order the audit prints them. Two kinds of flip:
- ``toggle``: one topic of the schema, drawn at random, is added if absent or removed if
  present (a sentence gains a wrong topic or loses a right one);
- ``replace``: the line's topics are replaced by one topic it did not have (none, for a line
  that had them all).
The out-of-fold predictions are computed once per copy and ranked both by our own rule and by
cleanlab's multi-label label quality score (when cleanlab is installed).

    python benchmarks/audit_flips.py [--seeds 0 1 2] [--mode toggle] [--full]

``--full`` trains each fold with the default model search instead of ``--fast`` settings.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from classify import api  # noqa: E402
from classify.audit import audit  # noqa: E402
from classify.evaluate import out_of_fold  # noqa: E402
from classify.model import TrainOptions  # noqa: E402

RATE = 0.05


def flip_copy(src: Path, dst: Path, seed: int, mode: str) -> set[str]:
    """Copy ``src`` to ``dst`` with 5% of the topic-carrying lines flipped; their file:line."""
    shutil.copytree(src, dst)
    topics = list(json.loads((dst / "schema.json").read_text())["topics"])
    places = []
    files = sorted(dst.glob("*.jsonl"))
    content = {f: f.read_text(encoding="utf-8").splitlines() for f in files}
    for f in files:
        for i, line in enumerate(content[f]):
            if line.strip() and json.loads(line).get("topics") is not None:
                places.append((f, i))
    rng = random.Random(seed)
    chosen = rng.sample(places, round(RATE * len(places)))
    flipped = set()
    for f, i in chosen:
        rec = json.loads(content[f][i])
        have = list(rec["topics"])
        if mode == "toggle":
            t = rng.choice(topics)
            rec["topics"] = [x for x in have if x != t] if t in have else have + [t]
        else:
            other = [t for t in topics if t not in have]
            rec["topics"] = [rng.choice(other)] if other else []
        content[f][i] = json.dumps(rec, ensure_ascii=False)
        flipped.add(f"{f}:{i + 1}")
    for f in files:
        f.write_text("\n".join(content[f]) + "\n", encoding="utf-8")
    return flipped


def detected(report, flipped: set[str]) -> float:
    top = report.findings[:2 * len(flipped)]
    named = {w for f in top for w in [f.where, *f.others]}
    return len(flipped & named) / len(flipped)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(ROOT / "labels"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--mode", choices=("toggle", "replace"), default="toggle")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--full", action="store_true",
                    help="default training (model search) in each fold, not --fast")
    args = ap.parse_args()
    try:
        import cleanlab  # noqa: F401
        methods = ["own", "cleanlab"]
    except ImportError:
        methods = ["own"]
        print("(cleanlab not installed: only our own ranking)", file=sys.stderr)
    opts = TrainOptions(fast=not args.full)
    rates: dict[str, list[float]] = {m: [] for m in methods}
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "labels"
            flipped = flip_copy(Path(args.data), copy, seed, args.mode)
            data = api.load_data([copy])
            t0 = time.perf_counter()
            oof = out_of_fold(data, args.folds, opts)
            took = time.perf_counter() - t0
            line = f"seed {seed}: {len(flipped)} flips ({args.mode}), out-of-fold {took:.0f} s"
            for m in methods:
                rep = audit(data, [copy], args.folds, opts, method=m, oof=oof)
                rate = detected(rep, flipped)
                rates[m].append(rate)
                line += f"; {m} {rate:.1%}"
            print(line, flush=True)
    print(f"\nflips found among the top 2 x flips findings ({args.mode}, "
          f"{'default' if args.full else 'fast'} training, {args.folds} folds, "
          f"seeds {args.seeds}):")
    for m in methods:
        r = rates[m]
        spread = statistics.stdev(r) if len(r) > 1 else 0.0
        print(f"  {m:<9} mean {statistics.mean(r):.1%}  sd {spread:.1%}  "
              f"min {min(r):.1%}  max {max(r):.1%}")


if __name__ == "__main__":
    main()
