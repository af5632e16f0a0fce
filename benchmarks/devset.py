"""The shipped model on real news it was not written for, beside the keyword baseline.

Scores a model (default ``models/default``) on both dev sets of ``../shared/devset``, split by
``devsplit.py`` into a tuning half (the only half any decision may look at) and a
confirmation half (the headline figure), and by genre. Prints Markdown tables (``--json``:
the same numbers as JSON):

1. per dev set and half: topic macro-F1, each topic's F1 (precision/recall), stance
   macro-F1, and the keyword baseline's topic and stance macro-F1;
2. per genre (wire, headline, BBC sections) and per subject (war and conflict, court and
   crime), for each half;
3. with ``--cv``: grouped 5-fold cross-validation on ``labels/`` (in-domain; reported, not
   the target), run as ``classify evaluate``.

    python benchmarks/devset.py [--model models/default] [--shared ../shared] [--cv] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import devsplit
from keywords import predict as keyword_predict
from metrics import class_scores, label_scores

ROOT = Path(__file__).resolve().parents[1]
TOPICS = ("counterterrorism", "immigration", "narcotics", "aviation")
STANCES = ("supportive", "critical", "neutral")


def predict(model_dir: str, texts: list[str]) -> tuple[list[list[str]], list[str]]:
    sys.path.insert(0, str(ROOT))
    from classify import api

    tagger = api.load_tagger(model_dir)
    out = api.tag_records([{"text": t} for t in texts], tagger=tagger)
    return [t.topics or [] for t in out], [t.stance or "" for t in out]


def score(rows: list[dict], topics: list[list[str]], stances: list[str]) -> dict:
    """Topic and stance scores of the rows; macro-F1 over the topics with gold in ``rows``
    (a topic that never occurs in a genre has no defined F1; its false alarms still count in
    micro-F1 and are listed under ``false_alarms``)."""
    present = [t for t in TOPICS if any(t in r["topics"] for r in rows)]
    s = label_scores([r["topics"] for r in rows], topics, present)
    alarms = {t: sum(t in p and t not in r["topics"] for p, r in zip(topics, rows, strict=True))
              for t in TOPICS if t not in present}
    st = class_scores([r["stance"] for r in rows], stances, STANCES)
    return {"n": len(rows), "topic_macro_f1": s["macro_f1"] if present else None,
            "topic_micro_f1": s["micro_f1"], "per_topic": s["per_label"],
            "false_alarms": {t: n for t, n in alarms.items() if n},
            "stance_macro_f1": st["macro_f1"],
            "stance_per_class": {c: v["f1"] for c, v in st["per_class"].items()}}


def run_cv(folds: int) -> dict:
    cmd = [sys.executable, "-m", "classify", "evaluate", "--data", "labels", "--folds",
           str(folds), "--json", "--quiet"]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {out.stderr.strip()}")
    return json.loads(out.stdout)


def evaluate(model_dir: str, shared: str) -> dict:
    rows = devsplit.load(shared)
    texts = [r["text"] for r in rows]
    mt, ms = predict(model_dir, texts)
    kt, ks = keyword_predict(texts)

    def both(sel) -> dict:  # noqa: ANN001
        idx = [i for i, r in enumerate(rows) if sel(r)]
        sub = [rows[i] for i in idx]
        return {"model": score(sub, [mt[i] for i in idx], [ms[i] for i in idx]),
                "keywords": score(sub, [kt[i] for i in idx], [ks[i] for i in idx])}

    sets: dict = {}
    for name in (*devsplit.FILES, "both"):
        for half in (*devsplit.HALVES, "all"):
            sets[f"{name} {half}"] = both(
                lambda r, n=name, h=half: n in ("both", r["file"]) and h in ("all", r["half"]))
    groups: dict = {}
    for key in ("genre", "subject"):
        for g in sorted({r[key] for r in rows}):
            for half in devsplit.HALVES:
                groups[f"{key}={g} {half}"] = both(
                    lambda r, k=key, g=g, h=half: r[k] == g and r["half"] == h)
    return {"model": model_dir, "split": {"salt": devsplit.SALT,
                                          "items": {h: sum(r["half"] == h for r in rows)
                                                    for h in devsplit.HALVES}},
            "sets": sets, "groups": groups}


def _f(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def markdown(res: dict, cv: dict | None) -> str:
    lines = ["| data | n | topic macro-F1 | " + " | ".join(TOPICS)
             + " | stance macro-F1 | keywords topic / stance |",
             "| --- | ---: | ---: | " + " | ".join("---:" for _ in TOPICS) + " | ---: | ---: |"]
    for name, r in res["sets"].items():
        m, k = r["model"], r["keywords"]
        cells = []
        for t in TOPICS:
            p = m["per_topic"].get(t)
            cells.append("n/a" if p is None else
                         f"{p['f1']:.2f} ({p['precision']:.2f}/{p['recall']:.2f})")
        bold = "**" if name == "both confirm" else ""
        lines.append(f"| {bold}{name}{bold} | {m['n']} | {bold}{_f(m['topic_macro_f1'])}{bold} | "
                     + " | ".join(cells) + f" | {m['stance_macro_f1']:.3f} | "
                     f"{_f(k['topic_macro_f1'])} / {k['stance_macro_f1']:.3f} |")
    lines += ["", "Per topic: F1 (precision/recall). Per genre and subject (topic macro-F1 over "
              "the topics that occur there; false alarms of topics that never occur):", "",
              "| group | half | n | topic macro-F1 | false alarms | stance macro-F1 | "
              "keywords topic / stance |", "| --- | --- | ---: | ---: | --- | ---: | ---: |"]
    for name, r in res["groups"].items():
        group, half = name.rsplit(" ", 1)
        m, k = r["model"], r["keywords"]
        alarms = ", ".join(f"{t} {n}" for t, n in m["false_alarms"].items()) or "-"
        lines.append(f"| {group} | {half} | {m['n']} | {_f(m['topic_macro_f1'])} | {alarms} | "
                     f"{m['stance_macro_f1']:.3f} | {_f(k['topic_macro_f1'])} / "
                     f"{k['stance_macro_f1']:.3f} |")
    if cv is not None:
        lines += ["", f"labels/ grouped {cv.get('folds', '')}-fold CV (in-domain): topic "
                  f"macro-F1 {cv['topics']['macro']['f1']:.3f}, stance macro-F1 "
                  f"{cv['stance']['macro_f1']:.3f}"]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="models/default")
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--cv", action="store_true", help="also run grouped CV on labels/")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    args = ap.parse_args()
    res = evaluate(args.model, args.shared)
    cv = run_cv(args.folds) if args.cv else None
    if args.json:
        res["labels_cv"] = cv
        print(json.dumps(res, indent=2))
    else:
        print(markdown(res, cv))


if __name__ == "__main__":
    main()
