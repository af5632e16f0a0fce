"""Sentence splitters compared: classify's own, pySBD, syntok and BlingFire.

Accuracy is scored on two sets, each as exact segmentation match (white space normalised):
- pySBD's English Golden Rules (48 cases, read at run time from the installed ``pysbd``
  package, which ships them as ``benchmarks/english_golden_rules.py``): the share of rules
  whose whole segmentation is right.
- News copy: the articles of ``labels/`` rebuilt from their records (a record without a full
  stop, such as a headline, on a line of its own; the others joined by single spaces into
  paragraphs; the record boundaries are the gold sentences). Scored as the share of gold
  sentences recovered exactly and the share of articles segmented wholly right.
  ``labels/seeds.jsonl`` is left out, as it was cut by classify's own splitter.
Speed: sentences per second over all those articles as one long text (best of 3 runs).

    pip install pysbd syntok blingfire   # the others are optional: a missing one is skipped
    python benchmarks/splitters.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import re
import runpy
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_ENDS = re.compile(r"[.!?\u2026][\"'\u201d\u2019)]*$")
sys.path.insert(0, str(ROOT))

from classify.sentences import split_sentences  # noqa: E402

Splitter = Callable[[str], list[str]]


def golden_rules() -> list[tuple[str, list[str]]]:
    dist = md.distribution("pysbd")
    path = next(f for f in dist.files or [] if str(f).endswith("english_golden_rules.py"))
    return runpy.run_path(str(dist.locate_file(path)))["GOLDEN_EN_RULES"]


def news_articles() -> list[tuple[str, list[str]]]:
    """(article text, gold sentences) for each source of labels/ (seeds.jsonl left out)."""
    by_source: dict[str, list[str]] = defaultdict(list)
    for f in sorted((ROOT / "labels").glob("*.jsonl")):
        if f.name == "seeds.jsonl":
            continue
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                by_source[r["source"]].append(" ".join(r["text"].split()))
    out = []
    for sents in by_source.values():
        text = ""
        for sent in sents:  # a line without a full stop (a headline) stands on its own line
            text += sent + (" " if _ENDS.search(sent) else "\n")
        out.append((text, sents))
    return out


def splitters() -> dict[str, Splitter]:
    out: dict[str, Splitter] = {"classify": lambda t: [s.text for s in split_sentences(t)]}
    try:
        import pysbd

        seg = pysbd.Segmenter(language="en", clean=False)
        out["pysbd"] = seg.segment
    except ImportError:
        print("(pysbd not installed: skipped)", file=sys.stderr)
    try:
        from syntok import segmenter

        def syntok_split(text: str) -> list[str]:
            return ["".join(t.spacing + t.value for t in s)
                    for p in segmenter.analyze(text) for s in p]
        out["syntok"] = syntok_split
    except ImportError:
        print("(syntok not installed: skipped)", file=sys.stderr)
    try:
        import blingfire

        out["blingfire"] = lambda t: blingfire.text_to_sentences(t).split("\n")
    except ImportError:
        print("(blingfire not installed: skipped)", file=sys.stderr)
    return out


def norm(sents: list[str]) -> list[str]:
    return [" ".join(s.split()) for s in sents if s.strip()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--show", metavar="NAME", help="print the rules NAME gets wrong")
    args = ap.parse_args()
    rules = golden_rules()
    articles = news_articles()
    n_gold = sum(len(g) for _, g in articles)
    long_text = "\n\n".join(t for t, _ in articles)
    print(f"golden rules: {len(rules)}; news: {len(articles)} articles, {n_gold} sentences, "
          f"{len(long_text):,} characters\n")
    print(f"| splitter | Golden Rules (of {len(rules)}) | news sentences exact | "
          "news articles exact | sentences/s |")
    print("|---|---:|---:|---:|---:|")
    for name, split in splitters().items():
        rules_ok = 0
        for text, gold in rules:
            got = norm(split(text))
            if got == norm(gold):
                rules_ok += 1
            elif args.show == name:
                print(f"  wrong: {text!r}\n    got {got}", file=sys.stderr)
        sent_ok = art_ok = 0
        for text, gold in articles:
            got = norm(split(text))
            art_ok += got == gold
            sent_ok += len(set(got) & set(gold))
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            n = len(split(long_text))
            best = min(best, time.perf_counter() - t0)
        print(f"| {name} | {rules_ok} ({rules_ok / len(rules):.0%}) | "
              f"{sent_ok / n_gold:.1%} | {art_ok / len(articles):.1%} | "
              f"{n / best:,.0f} |")


if __name__ == "__main__":
    main()
