"""Step 31 (``benchmarks/candidates/step31_rule.md``): immigration on step 30's stream.

Step 30's pool (8,071 descriptions of AG's training split that no set holds and no earlier
flag thinned; ``fresh_pool.py pool --stream --dir benchmarks/out/fresh30``) is a plain stream
of the hidden holdout's kind. Two steps:

1. ``select``: the items to label blind: every pool item whose immigration score under the
   bundled model is at least ``NEAR`` (every flag, and the unflagged items nearest the bar) or
   whose text the second net ``NET`` matches, less the items step 30 labelled; shuffled, as
   ``id`` and ``text`` only (``to_label_31.jsonl``);
2. ``score --labels FILE ...``: the bundled model's immigration precision, recall over the
   positives found and F1 on the labelled items, beside the keyword list and the raised bar
   (``RAISED``, the bar ``--prevalence`` 0.01 for immigration gives, step 29); the rule's
   U(immigration) with a paired bootstrap; and the guards on the dev confirmation half.

    python benchmarks/stream_immigration.py select
    python benchmarks/stream_immigration.py score \\
        --labels benchmarks/data/ag_stream_labels.jsonl \\
        --labels benchmarks/data/ag_stream_immigration_labels.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import devsplit  # noqa: E402
import fresh_pool  # noqa: E402
import keywords  # noqa: E402
import metrics  # noqa: E402
import probes  # noqa: E402

DIR = ROOT / "benchmarks" / "out" / "fresh30"
TOPIC = "immigration"
#: unflagged items at least this close to the bar are labelled too
NEAR = 0.40
#: the candidate bar: what ``--prevalence`` 0.01 for immigration gives on ``labels/`` (step 29)
RAISED = 0.496
#: the second net: migration words, whatever the model says
NET = re.compile(r"refugee|asylum|immigra|emigra|migra|deport|border|visa|exile|expatriat|"
                 r"smuggl|traffick|displaced|citizenship|naturali|alien|diaspora|stowaway|"
                 r"undocumented|illegal(ly)? (entr|work)", re.IGNORECASE)


def model_scores(texts: list[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The bundled model's topic scores and bars, and its topics."""
    from classify import api

    topics, _ = api.load_model(ROOT / "models" / "default").estimators()
    return (np.asarray(topics.predict_proba(texts)), np.asarray(topics.thresholds_),
            [str(c) for c in topics.classes_])


def u_immigration(gold: np.ndarray, base: np.ndarray, cand: np.ndarray) -> int:
    return int(fresh_pool.utility(gold[:, None], base[:, None], cand[:, None])[0])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("step", choices=["select", "score"])
    ap.add_argument("--labels", action="append", default=[], metavar="FILE",
                    help="score: labels of the stream items (repeatable)")
    ap.add_argument("--exclude", default=str(ROOT / "benchmarks" / "data" /
                                             "ag_stream_labels.jsonl"),
                    help="select: items labelled already (default step 30's)")
    ap.add_argument("--resamples", type=int, default=2000)
    ap.add_argument("--dir", default=str(DIR))
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    args = ap.parse_args(argv)
    out = Path(args.dir)
    pool = fresh_pool.read_jsonl(out / "pool.jsonl", " (run fresh_pool.py pool --stream first)")
    texts = [r["text"] for r in pool]
    P, bars, classes = model_scores(texts)
    j = classes.index(TOPIC)

    if args.step == "select":
        done = {r["id"] for r in fresh_pool.read_jsonl(Path(args.exclude))}
        chosen = [r for r, s in zip(pool, P[:, j], strict=True)
                  if r["id"] not in done and (s >= NEAR or NET.search(r["text"]))]
        random.Random(31).shuffle(chosen)
        with (out / "to_label_31.jsonl").open("w", encoding="utf-8") as fh:
            for r in chosen:
                fh.write(json.dumps({"id": r["id"], "text": r["text"]}, ensure_ascii=False)
                         + "\n")
        print(f"{len(chosen)} items to label -> {out / 'to_label_31.jsonl'}")
        return

    if not args.labels:
        sys.exit("stream_immigration: score needs --labels")
    labels = {r["id"]: r for f in args.labels for r in fresh_pool.read_jsonl(Path(f))}
    index = {r["id"]: i for i, r in enumerate(pool)}
    missing = [rid for rid in labels if rid not in index]
    if missing:
        sys.exit(f"stream_immigration: {len(missing)} labelled ids not in the pool, "
                 f"e.g. {missing[0]}")
    for rid, lab in labels.items():
        if probes.digest(texts[index[rid]]) != lab.get("sha256", probes.digest(
                texts[index[rid]])):
            sys.exit(f"stream_immigration: the text of {rid} is not the one labelled")
    rows = [index[rid] for rid in labels]
    gold = np.array([TOPIC in labels[rid]["topics"] for rid in labels])
    s = P[rows, j]
    arms = {"bundled model": s >= bars[j], f"raised bar {RAISED}": s >= RAISED,
            "keyword list": np.array([TOPIC in keywords.topics(texts[i]) for i in rows])}
    # every pool item the bundled model flags must be labelled, or precision means nothing
    unlabelled = sum(1 for i in np.flatnonzero(P[:, j] >= bars[j]) if pool[i]["id"] not in labels)
    print(f"{len(rows)} labelled items of {len(pool)}; immigration positives {int(gold.sum())}; "
          f"flags not labelled: {unlabelled}\n")
    print("| immigration on the stream | flags | hits | precision | recall (of positives found) "
          "| F1 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, pred in arms.items():
        tp, fl = int((pred & gold).sum()), int(pred.sum())
        m = metrics._f1(tp, fl - tp, int(gold.sum()) - tp)
        print(f"| {name} | {fl} | {tp} | {tp / fl if fl else 0:.2f} | "
              f"{tp / gold.sum() if gold.sum() else 0:.2f} | {m:.3f} |")

    base, cand = arms["bundled model"], arms[f"raised bar {RAISED}"]
    u = u_immigration(gold, base, cand)
    rng = np.random.default_rng(0)
    draws = [rng.integers(0, len(rows), len(rows)) for _ in range(args.resamples)]
    above = sum(u_immigration(gold[d], base[d], cand[d]) > 0 for d in draws) / len(draws)
    print(f"\nraised bar: U(immigration) {u:+d}, above zero in {above:.1%} of resamples "
          f"(rule: > 0 in at least 90%)")

    dev = [r for r in devsplit.load(args.shared) if r["half"] == "confirm"]
    Pd, _, _ = model_scores([r["text"] for r in dev])
    raised_bars = bars.copy()
    raised_bars[j] = RAISED

    def preds(items: list[int], b: np.ndarray) -> list[list[str]]:
        return [[c for c, on in zip(classes, Pd[i] >= b, strict=True) if on] for i in items]

    def macro(items: list[int], b: np.ndarray) -> float:
        return metrics.label_scores([dev[i]["topics"] for i in items], preds(items, b),
                                    classes)["macro_f1"]

    wh = [i for i, r in enumerate(dev) if r["genre"] in ("wire", "headline")]
    lower = sum(macro([wh[k] for k in d], raised_bars) < macro([wh[k] for k in d], bars)
                for d in (rng.integers(0, len(wh), len(wh)) for _ in range(args.resamples)))
    print(f"guard, the confirmation half's wire and headline items ({len(wh)}): topic macro-F1 "
          f"{macro(wh, bars):.4f} -> {macro(wh, raised_bars):.4f}, lower in "
          f"{lower / args.resamples:.1%} of resamples (rule: under 90%, by at most 0.015)")
    every = list(range(len(dev)))
    whole = metrics.label_scores([r["topics"] for r in dev], preds(every, raised_bars), classes)
    print(f"the whole confirmation half ({len(dev)}) with the raised bar: topic macro-F1 "
          f"{whole['macro_f1']:.4f} (bundled {macro(every, bars):.4f}); "
          + ", ".join(f"{t} {v['f1']:.3f}" for t, v in whole["per_label"].items())
          + " (rule: at least 0.85, every topic at least 0.75)")


if __name__ == "__main__":
    main()
