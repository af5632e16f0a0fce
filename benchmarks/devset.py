"""Quality of the corpus and the shipped model, next to the keyword baseline.

Runs, as separate processes, the two evaluations issue "A hand-labelled training corpus" asks
for, and prints one table:

1. ``classify evaluate --data labels --json``: grouped cross-validation on labels/;
2. ``classify evaluate --model models/default --test ../shared/devset/news_dev.jsonl --json``:
   the bundled model on real news it was not written for;

plus the keyword baseline (``keywords.py``) on the same dev set.

    python benchmarks/devset.py [--shared ../shared] [--folds 5]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from keywords import predict as keyword_predict

ROOT = Path(__file__).resolve().parents[1]
TOPICS = ("counterterrorism", "immigration", "narcotics", "aviation")
STANCES = ("supportive", "critical", "neutral")


def run_evaluate(*args: str) -> dict:
    cmd = [sys.executable, "-m", "classify", "evaluate", "--json", "--quiet", *args]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {out.stderr.strip()}")
    return json.loads(out.stdout)


def f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0


def keyword_scores(dev: Path) -> dict:
    rows = [json.loads(line) for line in dev.open(encoding="utf-8") if line.strip()]
    topics, stances = keyword_predict([r["text"] for r in rows])
    per = {}
    for t in TOPICS:
        tp = sum(t in p and t in r["topics"] for p, r in zip(topics, rows, strict=True))
        fp = sum(t in p and t not in r["topics"] for p, r in zip(topics, rows, strict=True))
        fn = sum(t not in p and t in r["topics"] for p, r in zip(topics, rows, strict=True))
        per[t] = f1(tp, fp, fn)
    stance_f1 = []
    for s in STANCES:
        tp = sum(p == s and r["stance"] == s for p, r in zip(stances, rows, strict=True))
        fp = sum(p == s and r["stance"] != s for p, r in zip(stances, rows, strict=True))
        fn = sum(p != s and r["stance"] == s for p, r in zip(stances, rows, strict=True))
        stance_f1.append(f1(tp, fp, fn))
    return {"labels": per, "macro": sum(per.values()) / len(per),
            "stance_macro": sum(stance_f1) / len(stance_f1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args()
    dev = Path(args.shared) / "devset" / "news_dev.jsonl"
    cv = run_evaluate("--data", "labels", "--folds", str(args.folds))
    held = run_evaluate("--model", "models/default", "--test", str(dev))
    kw = keyword_scores(dev)
    print("| topic | labels/ grouped CV | default model on dev set | keyword baseline on dev |")
    print("| --- | ---: | ---: | ---: |")
    for t in TOPICS:
        print(f"| {t} | {cv['topics']['labels'][t]['f1']:.3f} | "
              f"{held['topics']['labels'][t]['f1']:.3f} | {kw['labels'][t]:.3f} |")
    print(f"| **topic macro-F1** | {cv['topics']['macro']['f1']:.3f} | "
          f"{held['topics']['macro']['f1']:.3f} | {kw['macro']:.3f} |")
    print(f"| **stance macro-F1** | {cv['stance']['macro_f1']:.3f} | "
          f"{held['stance']['macro_f1']:.3f} | {kw['stance_macro']:.3f} |")
    gap = held["topics"]["macro"]["f1"] - kw["macro"]
    print(f"\nmodel minus keyword baseline, topic macro-F1 on the dev set: {gap:+.3f}")


if __name__ == "__main__":
    main()
