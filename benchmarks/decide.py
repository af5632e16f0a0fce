"""Read a corpus change for a decision rule written beforehand: the bundled recipe trained on
``labels/`` alone and on ``labels/`` plus the candidate file(s), at several seeds, scored on
sets that did not inform the change.

What it prints (Markdown; ``--json FILE`` keeps the same numbers):

1. per arm and seed: topic macro-F1 on the **decision** sets pooled (each topic's F1 over the
   pooled items, then the mean over topics), each topic's F1, pooled stance macro-F1, and the
   topic macro-F1 of each **guard** set (and each topic's F1 there) and each **info** set;
2. the seeds' means, and the candidate's gain over the baseline;
3. a paired bootstrap over the pooled decision items (``--resamples``, seeded): the share of
   resamples in which the seeds' mean gain is above zero, for topic macro-F1 and each topic,
   and below zero for topic macro-F1; and the same bootstrap over each guard set's items, so
   a loss there can be read as seen or not seen in the resamples.

The seeds vary what training varies (the fold splits that tune the thresholds); the items are
fixed. Training is the bundled model's recipe: the parameters and target prevalence in
``models/default/meta.json`` (as ``classify train --params-from models/default``), so a run
costs two trainings per seed (about 25 s each here). Sets are those of ``probes.py`` (the AG
sets need their public files, see ``benchmarks/data/README.md``) and the dev halves
``dev-tune`` and ``dev-confirm`` (``devsplit.py``). ``--drop-overlap SET`` leaves out of the
decision sets every item that shares a run of 12 words with an item of SET (a set that
informed the change and holds the same stories in another form).

    python benchmarks/decide.py --candidate NEW.jsonl [--seeds 0,1,2] [--sets a,b,...]
        [--guard dev-confirm] [--info ag-test-descriptions] [--drop-overlap SET] [--jobs 2]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import devsplit  # noqa: E402
import probes  # noqa: E402
from metrics import class_scores  # noqa: E402

DECISION = ("ag-wire", "ag-wire-2", "ag-world-tech", "ag-wire-test", "bbc-immigration",
            "dev-confirm")
RUN = 12  # words in a shared run that make two items the same story


def load_set(name: str, shared: str) -> list[dict]:
    """Labelled items of a probe set or a dev half (``dev-tune``, ``dev-confirm``)."""
    if name.startswith("dev-"):
        half = name.removeprefix("dev-")
        if half not in devsplit.HALVES:
            sys.exit(f"decide: unknown dev half {name!r} (dev-tune or dev-confirm)")
        return [r for r in devsplit.load(shared) if r["half"] == half]
    if name not in probes.SETS and name not in probes.REST:
        sys.exit(f"decide: unknown set {name!r}")
    return probes.load(name, shared)


def runs(text: str) -> set[str]:
    words = re.findall(r"\w+", text.lower())
    return {" ".join(words[i:i + RUN]) for i in range(len(words) - RUN + 1)}


def topic_f1(gold: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Each column's F1 (0 where a topic has neither positives nor predictions)."""
    tp = (gold & pred).sum(0)
    wrong = (gold ^ pred).sum(0)
    return np.where(2 * tp + wrong > 0, 2 * tp / np.maximum(2 * tp + wrong, 1), 0.0)


def bootstrap(gold: np.ndarray, base: list[np.ndarray], cand: list[np.ndarray],
              resamples: int, seed: int = 0) -> dict:
    """Share of resamples of the items in which the seeds' mean gain is above zero: for the
    macro-F1 over topics (``macro``) and each topic column (``per_topic``); and the share in
    which the macro-F1 gain is below zero (``macro_below``, a loss seen in the resamples)."""
    rng = np.random.default_rng(seed)
    n = len(gold)
    wins = np.zeros(gold.shape[1] + 1)
    losses = 0
    for _ in range(resamples):
        i = rng.integers(0, n, n)
        g = gold[i]
        fb = np.mean([topic_f1(g, p[i]) for p in base], axis=0)
        fc = np.mean([topic_f1(g, p[i]) for p in cand], axis=0)
        wins[:-1] += fc > fb
        wins[-1] += fc.mean() > fb.mean()
        losses += fc.mean() < fb.mean()
    return {"macro": wins[-1] / resamples, "per_topic": (wins[:-1] / resamples).tolist(),
            "macro_below": losses / resamples}


def train_recipe(seed: int, extra: list) -> tuple:
    """The bundled recipe (the parameters, threshold strategy and target prevalence in
    ``models/default/meta.json``) trained at ``seed`` on ``labels/`` plus the files ``extra``:
    the fitted topic and stance estimators and the number of records."""
    from classify import api
    from classify.model import TrainOptions, train_model

    opts = json.loads((ROOT / "models" / "default" / "meta.json").read_text())
    opts = opts["training"]["options"]
    data = api.load_data([ROOT / "labels", *extra])
    model = train_model(data.records, data.topic_labels, data.stance_labels,
                        TrainOptions(params=opts["params"], prevalence=opts["prevalence"],
                                     thresholds=opts.get("thresholds"), seed=seed))
    return (*model.estimators(), len(data.records))


def _train_and_predict(job: tuple) -> dict:
    arm, seed, extra, names, shared = job
    topics, stance, n_records = train_recipe(seed, extra)
    out = {"arm": arm, "seed": seed, "records": n_records,
           "classes": [str(c) for c in topics.classes_],
           "thresholds": np.round(topics.thresholds_, 4).tolist(), "pred": {}}
    for name in names:
        texts = [r["text"] for r in load_set(name, shared)]
        out["pred"][name] = (np.asarray(topics.predict(texts)).astype(bool),
                             [str(s) for s in stance.predict(texts)])
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--candidate", action="append", required=True, metavar="FILE",
                    help="training data the candidate arm adds to labels/ (repeatable)")
    ap.add_argument("--seeds", default="0,1,2", help="training seeds (default 0,1,2)")
    ap.add_argument("--sets", default=",".join(DECISION),
                    help=f"decision sets, pooled (default {','.join(DECISION)})")
    ap.add_argument("--guard", default="dev-confirm", help="guard sets, each read alone")
    ap.add_argument("--info", default="", help="sets read for information only")
    ap.add_argument("--drop-overlap", metavar="SET",
                    help="leave out decision items sharing a 12-word run with SET's items")
    ap.add_argument("--resamples", type=int, default=2000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--json", metavar="FILE", help="also write the numbers as JSON")
    args = ap.parse_args(argv)

    for f in args.candidate:
        if not Path(f).is_file():
            sys.exit(f"decide: {f}: no such file")
    split = [s for s in (x.strip() for x in args.sets.split(",")) if s]
    guard = [s for s in (x.strip() for x in args.guard.split(",")) if s]
    info = [s for s in (x.strip() for x in args.info.split(",")) if s]
    seeds = [int(s) for s in args.seeds.split(",")]
    names = list(dict.fromkeys(split + guard + info))
    rows = {n: load_set(n, args.shared) for n in names}
    keep = {n: np.ones(len(rows[n]), bool) for n in names}
    if args.drop_overlap:
        seen = set().union(*(runs(r["text"]) for r in load_set(args.drop_overlap, args.shared)))
        for n in split:
            keep[n] = np.array([not (runs(r["text"]) & seen) for r in rows[n]])

    jobs = [(arm, s, extra, names, args.shared) for s in seeds
            for arm, extra in (("base", []), ("candidate", args.candidate))]
    with ProcessPoolExecutor(max(1, args.jobs)) as ex:
        results = list(ex.map(_train_and_predict, jobs))
    classes = results[0]["classes"]

    def gold(ns: list[str]) -> tuple[np.ndarray, list[str]]:
        g = np.vstack([np.array([[t in r["topics"] for t in classes] for r in rows[n]])[keep[n]]
                       for n in ns])
        return g, [r["stance"] for n in ns for r, k in zip(rows[n], keep[n], strict=True) if k]

    def pred(res: dict, ns: list[str]) -> tuple[np.ndarray, list[str]]:
        p = np.vstack([res["pred"][n][0][keep[n]] for n in ns])
        return p, [s for n in ns
                   for s, k in zip(res["pred"][n][1], keep[n], strict=True) if k]

    G, GS = gold(split)
    alone = {n: gold([n])[0] for n in guard + info}
    pooled = [pred(res, split) for res in results]
    alone_pred = {n: [pred(res, [n])[0] for res in results] for n in alone}
    table = []
    for k, (res, (P, PS)) in enumerate(zip(results, pooled, strict=True)):
        f = topic_f1(G, P)
        row = {"arm": res["arm"], "seed": res["seed"], "records": res["records"],
               "thresholds": res["thresholds"], "macro": float(f.mean()),
               "per_topic": f.tolist(),
               "stance": class_scores(GS, PS, sorted(set(GS) | set(PS)))["macro_f1"]}
        for n, g in alone.items():
            fn = topic_f1(g, alone_pred[n][k])
            row[n] = float(fn.mean())
            row[f"{n} per topic"] = fn.tolist()
        table.append(row)

    def mean(arm: str, key: str, j: int | None = None) -> float:
        vals = [r[key] if j is None else r[key][j] for r in table if r["arm"] == arm]
        return float(np.mean(vals))

    def arms(preds: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Each run's predictions, split into the baseline's and the candidate's."""
        return ([x for r, x in zip(results, preds, strict=True) if r["arm"] == "base"],
                [x for r, x in zip(results, preds, strict=True) if r["arm"] == "candidate"])

    boot = bootstrap(G, *arms([P for P, _ in pooled]), args.resamples)
    guard_boot = {n: bootstrap(alone[n], *arms(alone_pred[n]), args.resamples) for n in guard}
    n_items = int(len(G))
    print(f"# decide: labels/ vs labels/ + {', '.join(args.candidate)}\n")
    print(f"Decision sets (pooled, {n_items} items): {', '.join(split)}"
          + (f"; items sharing a {RUN}-word run with {args.drop_overlap} left out"
             if args.drop_overlap else "") + f". Seeds {args.seeds}.\n")
    head = ["arm", "seed", "records", "topic macro-F1", *classes, "stance", *guard, *info]
    print("| " + " | ".join(head) + " |")
    print("| " + " | ".join("---" if i < 2 else "---:" for i in range(len(head))) + " |")
    for r in table:
        cells = [r["arm"], str(r["seed"]), f"{r['records']:,}", f"{r['macro']:.4f}",
                 *(f"{v:.3f}" for v in r["per_topic"]), f"{r['stance']:.4f}",
                 *(f"{r[n]:.4f}" for n in guard + info)]
        print("| " + " | ".join(cells) + " |")
    print("\n| mean over seeds | baseline | candidate | gain | gain > 0 in resamples "
          "| gain < 0 in resamples |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    summary = {}
    lines = [("topic macro-F1 (decision sets)", "macro", None, boot["macro"],
              boot["macro_below"])]
    lines += [(f"{t} F1 (decision sets)", "per_topic", j, boot["per_topic"][j], None)
              for j, t in enumerate(classes)]
    lines += [("stance macro-F1 (decision sets)", "stance", None, None, None)]
    lines += [(f"{n} topic macro-F1 (guard)", n, None, guard_boot[n]["macro"],
               guard_boot[n]["macro_below"]) for n in guard]
    lines += [(f"{t} F1 ({n}, guard)", f"{n} per topic", j, None, None)
              for n in guard for j, t in enumerate(classes)]
    lines += [(f"{n} topic macro-F1 (info)", n, None, None, None) for n in info]
    for label, key, j, above, below in lines:
        b, c = mean("base", key, j), mean("candidate", key, j)
        summary[label] = {"base": b, "candidate": c, "gain": c - b, "share_above_zero": above,
                          "share_below_zero": below}
        print(f"| {label} | {b:.4f} | {c:.4f} | {c - b:+.4f} | "
              + " | ".join("" if x is None else f"{x:.1%}" for x in (above, below)) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": table, "summary": summary,
                                               "items": n_items, "args": vars(args)},
                                              indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
