"""Steps 31 and 33: a topic measured on an unthinned stream, and a raised bar read there.

Steps 30 and 32 built pools that no earlier flag thinned (descriptions of AG's training split
that no set holds; ``fresh_pool.py pool --stream`` and ``--stream2``): plain streams of the
hidden holdout's kind. For a topic, every item the bundled model flags is labelled, so its
precision there is exact, and a second net (the items just under the bar, and those with a
word of the topic) finds the positives it misses, so its recall over the positives found is
an upper bound. Two steps:

1. ``select --topic T [--topic T2]``: the items to label blind: every pool item whose score
   for a topic is at least its ``NETS`` floor or whose text its word net matches, less the
   items labelled already (``--exclude``); shuffled, as ``id`` and ``text`` only;
2. ``score --topic T --labels FILE ...``: per topic, the bundled model's flags, hits,
   precision, recall over the positives found and F1, beside the keyword list; with
   ``--raised BAR`` (step 31), the rule's U for that bar with a paired bootstrap, and the
   guards on the dev confirmation half.

    python benchmarks/stream_measure.py select --topic immigration --seed 31
    python benchmarks/stream_measure.py score --topic immigration --raised 0.496 \\
        --labels benchmarks/data/ag_stream_labels.jsonl \\
        --labels benchmarks/data/ag_stream_immigration_labels.jsonl
"""

from __future__ import annotations

import argparse
import functools
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

DIR = ROOT / "benchmarks" / "out" / "fresh30"
#: per topic: unflagged items scoring at least this are labelled too (the bars are 0.442 and
#: 0.467), and the word net that catches positives whatever the model says
NETS = {
    "immigration": (0.40, re.compile(
        r"refugee|asylum|immigra|emigra|migra|deport|border|visa|exile|expatriat|smuggl|"
        r"traffick|displaced|citizenship|naturali|alien|diaspora|stowaway|undocumented|"
        r"illegal(ly)? (entr|work)", re.IGNORECASE)),
    "narcotics": (0.42, re.compile(
        r"drug|narcotic|cocaine|heroin|opium|opiate|poppy|marijuana|cannabis|hashish|"
        r"methamphetamine|\bmeth\b|ecstasy|amphetamine|cartel|traffick|smuggl|dealer|"
        r"overdose|addict", re.IGNORECASE)),
}


@functools.cache
def bundled() -> tuple:
    """The bundled model's topic and stance estimators, loaded once (a reading with a raised
    bar scores the stream, the dev half and stance with it)."""
    from classify import api

    return api.load_model(ROOT / "models" / "default").estimators()


def model_scores(texts: list[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The bundled model's topic scores and bars, and its topics."""
    topics, _ = bundled()
    return (np.asarray(topics.predict_proba(texts)), np.asarray(topics.thresholds_),
            [str(c) for c in topics.classes_])


def model_stance(texts: list[str]) -> list[str]:
    """The bundled model's stance for each text."""
    _, stance = bundled()
    return [str(x) for x in stance.predict(texts)]


def u_topic(gold: np.ndarray, base: np.ndarray, cand: np.ndarray) -> int:
    """Step 28's U for one topic: 2 x hits gained - false alarms added."""
    return int(fresh_pool.utility(gold[:, None], base[:, None], cand[:, None])[0])


def raised_bar(topic: str, bar: float, gold: np.ndarray, scores: np.ndarray,
               flags: np.ndarray, resamples: int, shared: str) -> None:
    """Step 31's reading of a raised bar for ``topic``: U on the labelled items, and the
    guards on the dev confirmation half."""
    cand = scores >= bar
    u = u_topic(gold, flags, cand)
    rng = np.random.default_rng(0)
    draws = [rng.integers(0, len(gold), len(gold)) for _ in range(resamples)]
    above = sum(u_topic(gold[d], flags[d], cand[d]) > 0 for d in draws) / len(draws)
    print(f"\nraised bar: U({topic}) {u:+d}, above zero in {above:.1%} of resamples "
          f"(rule: > 0 in at least 90%)")

    dev = [r for r in devsplit.load(shared) if r["half"] == "confirm"]
    Pd, bars, classes = model_scores([r["text"] for r in dev])
    raised = bars.copy()
    raised[classes.index(topic)] = bar

    def preds(items: list[int], b: np.ndarray) -> list[list[str]]:
        return [[c for c, on in zip(classes, Pd[i] >= b, strict=True) if on] for i in items]

    def macro(items: list[int], b: np.ndarray) -> float:
        return metrics.label_scores([dev[i]["topics"] for i in items], preds(items, b),
                                    classes)["macro_f1"]

    wh = [i for i, r in enumerate(dev) if r["genre"] in ("wire", "headline")]
    lower = sum(macro([wh[k] for k in d], raised) < macro([wh[k] for k in d], bars)
                for d in (rng.integers(0, len(wh), len(wh)) for _ in range(resamples)))
    print(f"guard, the confirmation half's wire and headline items ({len(wh)}): topic macro-F1 "
          f"{macro(wh, bars):.4f} -> {macro(wh, raised):.4f}, lower in "
          f"{lower / resamples:.1%} of resamples (rule: under 90%, by at most 0.015)")
    every = list(range(len(dev)))
    whole = metrics.label_scores([r["topics"] for r in dev], preds(every, raised), classes)
    print(f"the whole confirmation half ({len(dev)}) with the raised bar: topic macro-F1 "
          f"{whole['macro_f1']:.4f} (bundled {macro(every, bars):.4f}); "
          + ", ".join(f"{t} {v['f1']:.3f}" for t, v in whole["per_label"].items())
          + " (rule: at least 0.85, every topic at least 0.75)")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("step", choices=["select", "score"])
    ap.add_argument("--topic", action="append", choices=sorted(NETS), required=True,
                    help="the topic measured (repeatable)")
    ap.add_argument("--labels", action="append", default=[], metavar="FILE",
                    help="score: labels of the stream items (repeatable)")
    ap.add_argument("--exclude", action="append", metavar="FILE",
                    help="select: items labelled already (repeatable; default step 30's)")
    ap.add_argument("--seed", type=int, default=31, help="select: the seed of the shuffle")
    ap.add_argument("--raised", type=float, metavar="BAR",
                    help="score: read this bar for the (one) topic, as step 31 did")
    ap.add_argument("--resamples", type=int, default=2000)
    ap.add_argument("--dir", default=str(DIR))
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    args = ap.parse_args(argv)
    out = Path(args.dir)
    pool = fresh_pool.read_jsonl(out / "pool.jsonl", " (run fresh_pool.py pool --stream first)")
    texts = [r["text"] for r in pool]
    P, bars, classes = model_scores(texts)

    if args.step == "select":
        excluded = args.exclude or [str(ROOT / "benchmarks" / "data" / "ag_stream_labels.jsonl")]
        done = {r["id"] for f in excluded for r in fresh_pool.read_jsonl(Path(f))}
        chosen = [r for i, r in enumerate(pool) if r["id"] not in done and any(
            P[i, classes.index(t)] >= NETS[t][0] or NETS[t][1].search(r["text"])
            for t in args.topic)]
        random.Random(args.seed).shuffle(chosen)
        path = out / f"to_label_{args.seed}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for r in chosen:
                fh.write(json.dumps({"id": r["id"], "text": r["text"]}, ensure_ascii=False)
                         + "\n")
        print(f"{len(chosen)} items to label -> {path}")
        return

    if not args.labels:
        sys.exit("stream_measure: score needs --labels")
    if args.raised is not None and len(args.topic) != 1:
        sys.exit("stream_measure: --raised reads one topic's bar: give one --topic")
    labels = {r["id"]: r for f in args.labels for r in fresh_pool.read_jsonl(Path(f))}
    rows = fresh_pool.label_rows(labels, [r["id"] for r in pool], texts,
                                 f"stream_measure: {', '.join(args.labels)}")
    kw = [keywords.topics(texts[i]) for i in rows]
    for topic in args.topic:
        j = classes.index(topic)
        gold = np.array([topic in labels[rid]["topics"] for rid in labels])
        s = P[rows, j]
        arms = {f"bundled model (bar {bars[j]:.3f})": s >= bars[j],
                **({f"raised bar {args.raised}": s >= args.raised} if args.raised else {}),
                "keyword list": np.array([topic in k for k in kw])}
        # every pool item the model flags must be labelled, or precision means nothing
        unlabelled = sum(pool[i]["id"] not in labels for i in np.flatnonzero(P[:, j] >= bars[j]))
        print(f"{topic}: {len(rows)} labelled items of {len(pool)}; positives "
              f"{int(gold.sum())}; flags not labelled: {unlabelled}\n")
        print(f"| {topic} on the stream | flags | hits | precision | recall (of positives "
              "found) | F1 |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for name, pred in arms.items():
            tp, fl = int((pred & gold).sum()), int(pred.sum())
            f1 = metrics._f1(tp, fl - tp, int(gold.sum()) - tp)
            print(f"| {name} | {fl} | {tp} | {tp / fl if fl else 0:.2f} | "
                  f"{tp / gold.sum() if gold.sum() else 0:.2f} | {f1:.3f} |")
        if args.raised is not None:
            raised_bar(topic, args.raised, gold, s, s >= bars[j], args.resamples, args.shared)
        print()
    stance = model_stance([texts[i] for i in rows])
    sc = metrics.class_scores([labels[rid]["stance"] for rid in labels], stance,
                              ["critical", "neutral", "supportive"])
    print(f"stance on the {len(rows)} labelled items (chosen by the topic nets, not a sample "
          f"of the stream): macro-F1 {sc['macro_f1']:.3f} ("
          + ", ".join(f"{c} {v['f1']:.2f}" for c, v in sc["per_class"].items()) + ")")


if __name__ == "__main__":
    main()
