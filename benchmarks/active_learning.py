"""What the user's own labels are worth: ``labels/`` plus labelled real news, chosen by
``classify suggest`` or at random, scored on held-out real news of the same kind.

Protocol (all numbers are topic macro-F1 over the four topics on the test part, the mean
and spread over seeds):

1. Real news: by default the two dev sets (``../shared/devset/news_dev.jsonl`` and
   ``news_dev2.jsonl``, read at run time only; nothing of them is written anywhere but the
   scores), split per seed by source document into a pool and a test half (each file x
   genre stratum dealt alternately after a seeded shuffle, so a document's sentences stay
   on one side). ``--halves`` uses the fixed tuning half (``benchmarks/devsplit.py``) as the
   pool and the confirmation half as the test for every seed (the seeds then vary only the
   random draws). ``--probes`` takes the probe sets of ``benchmarks/probes.py`` instead (public
   NYT headlines, Reuters ledes and BBC sentences, a kind ``labels/`` resembles less; with
   ``--ag-csv``/``--ag2-csv`` the AG wire sets too), split the same way. ``--pool FILE
   --test FILE`` runs the same check on any labelled JSONL.
2. Baseline: a model trained on ``labels/`` alone.
3. Random: ``labels/`` + the first k items of a seeded shuffle of the pool, k in
   ``--sizes`` (50, 100, 200, 400).
4. suggest: the labelling loop as a user runs it: ``suggest`` ranks the pool with the current
   model (the baseline first; texts already labelled left out), the next batch is added, the
   model retrained, and so on up to each size (batches 50, 50, 100, 200).
5. Weight: the added items count ``--weight`` times (``classify train --weight``). The
   weight sweep (``--sweep``, default 1, 3, 5, 10), run first, trains random 200 at each
   weight; the weight with the best mean macro-F1 over the seeds is used for 3 and 4 unless
   ``--weight`` fixes one.
6. ``--tune-on``: the added items also re-tune the topic thresholds (``classify train
   --tune-on``; ``--tune-prior`` sets the blend, default ``thresholds.TUNE_PRIOR``).

Training uses one fixed configuration for speed: the parameters the bundled model's search
chose (``models/default/meta.json``, as ``classify train --params-from models/default``) and
its target prevalence (``--prevalence``, as the retrain hint of ``classify label`` has it); a
model search per run would cost 2-3 times as long and move the comparison less than the
seeds do. Writes ``active_learning.md`` (tables), ``active_learning.json`` and
``active_learning.png`` into ``--out``.

    python benchmarks/active_learning.py [--out docs] [--seeds 3] [--jobs 2]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import probes  # noqa: E402
from metrics import class_scores, label_scores  # noqa: E402

from classify import api  # noqa: E402
from classify.data import Record, records_sha256  # noqa: E402
from classify.model import TrainOptions, train_model  # noqa: E402
from classify.suggest import PoolItem, normalise, suggest  # noqa: E402

SIZES = (50, 100, 200, 400)
SWEEP = (1.0, 3.0, 5.0, 10.0)
SWEEP_SIZE = 200


def load_real(args) -> list[dict]:
    """Labelled real news rows with ``doc`` (the source document) and ``stratum``."""
    if args.pool:
        rows = []
        for part, path in (("pool", args.pool), ("test", args.test)):
            for line in Path(path).read_text(encoding="utf-8").splitlines():
                if line.strip():
                    r = json.loads(line)
                    rows.append({**r, "doc": str(r.get("source", len(rows))),
                                 "stratum": part, "fixed": part})
        return rows
    if args.probes:  # the probe sets of benchmarks/probes.py, a story's items on one side
        rows = []
        files = downloaded(args)
        for name in probes.PUBLIC + list(files):
            for r in probes.load(name, args.shared, files.get(name)):
                rows.append({**r, "doc": f"{name}/{r['id'].split('#')[0]}", "stratum": name})
        return rows
    import devsplit

    rows = devsplit.load(args.shared)
    for r in rows:
        r["doc"] = devsplit.document(r["source"])
        r["stratum"] = f"{r['file']}/{r['genre']}"
        if args.halves:  # the fixed tuning half is the pool, the confirmation half the test
            r["fixed"] = "pool" if r["half"] == "tune" else "test"
    return rows


def downloaded(args) -> dict[str, str]:
    """The downloaded probe sets asked for (``--ag-csv``, ...), by name: their files."""
    return {name: getattr(args, dl.dest) for name, dl in probes.DOWNLOADED.items()
            if getattr(args, dl.dest)}


def split(rows: list[dict], seed: int) -> tuple[list[dict], list[dict]]:
    """(pool, test) by source document: each stratum's documents shuffled with ``seed`` and
    dealt alternately (a pool/test given with --pool/--test stays as given)."""
    if rows and "fixed" in rows[0]:
        return ([r for r in rows if r["fixed"] == "pool"],
                [r for r in rows if r["fixed"] == "test"])
    rng = random.Random(seed)
    side: dict[str, str] = {}
    strata: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if r["doc"] not in strata[r["stratum"]]:
            strata[r["stratum"]].append(r["doc"])
    for name in sorted(strata):
        docs = sorted(strata[name])
        rng.shuffle(docs)
        for i, d in enumerate(docs):
            side[d] = "pool" if i % 2 == 0 else "test"
    return ([r for r in rows if side[r["doc"]] == "pool"],
            [r for r in rows if side[r["doc"]] == "test"])


def recipe(model_dir: Path) -> TrainOptions:
    """How a user retrains on top of the bundled model: the parameters its search chose
    (``--params-from``) and its recorded target prevalence (the retrain hint of ``classify
    label`` carries ``--prevalence``)."""
    return TrainOptions(params=api.model_params(model_dir),
                        prevalence=api.training_options(model_dir).get("prevalence"))


def as_record(r: dict, weight: float, tune: bool = False) -> Record:
    return Record(text=r["text"], topics=tuple(r["topics"]), stance=r.get("stance"),
                  source=f"real/{r['doc']}", weight=weight, tune=tune)


class Runner:
    """Trains and scores models on labels/ plus added real items (fixed parameters)."""

    def __init__(self, options: TrainOptions, tune: bool = False) -> None:
        self.base = api.load_data(["labels"])
        self.options = options
        self.tune = tune  # the added items re-tune the thresholds (classify train --tune-on)
        self.known = {normalise(r.text) for r in self.base.records}
        self.trainings = 0
        self.seconds = 0.0

    def train(self, added: list[dict], weight: float):
        t0 = time.perf_counter()
        records = list(self.base.records) + [as_record(r, weight, self.tune) for r in added]
        model = train_model(records, self.base.topic_labels, self.base.stance_labels,
                            self.options)
        self.trainings += 1
        self.seconds += time.perf_counter() - t0
        return model

    @staticmethod
    def score(model, test: list[dict]) -> dict:
        P, S = model.scores([r["text"] for r in test])
        D = model.decide(P)
        tl, sl = model.topic_labels, model.stance_labels
        pred = [[tl[j] for j in range(len(tl)) if D[i, j]] for i in range(len(test))]
        present = [t for t in tl if any(t in r["topics"] for r in test)]
        top = label_scores([r["topics"] for r in test], pred, present)
        stance = class_scores([r["stance"] for r in test],
                              [sl[int(S[i].argmax())] for i in range(len(test))], sl)
        return {"macro_f1": top["macro_f1"], "micro_f1": top["micro_f1"],
                "per_topic": {t: v["f1"] for t, v in top["per_label"].items()},
                "stance_macro_f1": stance["macro_f1"]}


def _setup(seed: int, rows: list[dict], options: TrainOptions, tune: bool = False
           ) -> tuple[Runner, list, list, list]:
    runner = Runner(options, tune)
    pool, test = split(rows, seed)
    pool = [r for r in pool if normalise(r["text"]) not in runner.known]
    order = list(range(len(pool)))
    random.Random(1000 + seed).shuffle(order)
    return runner, pool, test, order


def run_sweep(seed: int, rows: list[dict], options: TrainOptions, sweep: tuple[float, ...],
              tune: bool = False) -> dict:
    """Phase 1 of a seed (one pool/test split): the baseline, and the first
    ``SWEEP_SIZE`` random items at each weight of the sweep."""
    runner, pool, test, order = _setup(seed, rows, options, tune)
    out: dict = {"seed": seed, "pool": len(pool), "test": len(test),
                 "test_sha256": records_sha256([as_record(r, 1.0) for r in test])[:12]}
    out["baseline"] = runner.score(runner.train([], 1.0), test)
    out["sweep"] = {str(w): runner.score(
        runner.train([pool[i] for i in order[:SWEEP_SIZE]], w), test) for w in sweep}
    out["trainings"], out["train_seconds"] = runner.trainings, round(runner.seconds, 1)
    return out


def library_picks(model, runner: Runner, pool: list[dict], chosen: list[int], n: int
                  ) -> list[int]:
    """The next ``n`` pool items by small-text's multi-label strategy (category vector
    inconsistency and ranking, Reyes et al. 2018) on the model's topic scores, its
    prediction threshold set to the model's mean topic threshold."""
    import numpy as np
    import scipy.sparse as sp

    try:
        from small_text.query_strategies import CategoryVectorInconsistencyAndRanking
    except ImportError:
        sys.exit("--library needs small-text: pip install small-text")

    tl = model.topic_labels
    texts = [r["text"] for r in pool]

    class Texts:
        def __getitem__(self, idx):
            return [texts[i] for i in np.atleast_1d(idx)]

    class Clf:
        def predict_proba(self, batch):
            return model.scores(batch)[0]

    labelled = [r.topics or () for r in runner.base.records] + [pool[i]["topics"]
                                                                 for i in chosen]
    y = sp.csr_matrix(np.array([[t in row for t in tl] for row in labelled], dtype=np.int64))
    left = np.array([i for i in range(len(pool)) if i not in set(chosen)])
    qs = CategoryVectorInconsistencyAndRanking(
        prediction_threshold=float(np.mean(model.topics.thresholds)), pbar=None)
    got = qs.query(Clf(), Texts(), left, np.arange(y.shape[0]), y, n=n)
    return [int(i) for i in got]


def run_grid(phase1: dict, rows: list[dict], options: TrainOptions, sizes: tuple[int, ...],
             weight: float, diversity: float, library: bool = False, focus: str = "all",
             random_arm: bool = True, tune: bool = False) -> dict:
    """Phase 2 of a seed: random and suggest at each size, the added items at ``weight``."""
    out = dict(phase1)
    runner, pool, test, order = _setup(phase1["seed"], rows, options, tune)
    out["weight"] = weight
    out["random"], out["suggest"] = {}, {}
    for k in sizes:
        if k == SWEEP_SIZE and str(weight) in phase1["sweep"]:
            out["random"][str(k)] = phase1["sweep"][str(weight)]
            continue
        if not random_arm:
            out["random"][str(k)] = {"macro_f1": float("nan"), "micro_f1": float("nan"),
                                     "stance_macro_f1": float("nan")}
            continue
        out["random"][str(k)] = runner.score(
            runner.train([pool[i] for i in order[:k]], weight), test)
    items = [PoolItem(str(i), r["text"], r["doc"]) for i, r in enumerate(pool)]
    chosen: list[int] = []
    model = runner.train([], 1.0)  # the baseline ranks the first batch
    for k in sizes:
        picks, _ = suggest(items, model, k - len(chosen),
                           exclude=runner.known | {normalise(pool[i]["text"])
                                                   for i in chosen}, diversity=diversity,
                           focus=focus)
        chosen += [int(s.id) for s in picks]
        model = runner.train([pool[i] for i in chosen], weight)
        out["suggest"][str(k)] = {**runner.score(model, test),
                                  "topical_share": sum(bool(pool[i]["topics"])
                                                       for i in chosen) / len(chosen)}
    if library:
        out["small-text"] = {}
        chosen = []
        model = runner.train([], 1.0)
        for k in sizes:
            chosen += library_picks(model, runner, pool, chosen, k - len(chosen))
            model = runner.train([pool[i] for i in chosen], weight)
            out["small-text"][str(k)] = {**runner.score(model, test),
                                         "topical_share": sum(bool(pool[i]["topics"])
                                                              for i in chosen) / len(chosen)}
    out["random_topical_share"] = {str(k): sum(bool(pool[i]["topics"])
                                               for i in order[:k]) / k for k in sizes}
    out["trainings"] += runner.trainings
    out["train_seconds"] = round(out["train_seconds"] + runner.seconds, 1)
    return out


def _ms(values: list[float]) -> tuple[float, float]:
    if any(v != v for v in values):  # an arm not run (NaN)
        return float("nan"), float("nan")
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def summarise(runs: list[dict], sizes: tuple[int, ...], sweep: tuple[float, ...]) -> dict:
    base = [r["baseline"]["macro_f1"] for r in runs]
    base_micro = [r["baseline"].get("micro_f1", float("nan")) for r in runs]  # older runs: none
    s: dict = {"baseline": _ms(base), "baseline_micro": _ms(base_micro), "baseline_stance": _ms(
        [r["baseline"]["stance_macro_f1"] for r in runs]), "strategies": {}, "sweep": {}}
    for strat in ("random", "suggest", "small-text"):
        if strat not in runs[0]:
            continue
        s["strategies"][strat] = {}
        for k in sizes:
            f = [r[strat][str(k)]["macro_f1"] for r in runs]
            g = [x - b for x, b in zip(f, base, strict=True)]
            st = [r[strat][str(k)]["stance_macro_f1"] for r in runs]
            mg = [r[strat][str(k)].get("micro_f1", float("nan")) - b
                  for r, b in zip(runs, base_micro, strict=True)]
            s["strategies"][strat][k] = {"f1": _ms(f), "gain": _ms(g), "stance": _ms(st),
                                         "micro_gain": _ms(mg)}
    for w in sweep:
        f = [r["sweep"][str(w)]["macro_f1"] for r in runs]
        s["sweep"][w] = {"f1": _ms(f), "gain": _ms([x - b for x, b in
                                                    zip(f, base, strict=True)])}
    return s


def targets(s: dict, sizes) -> list[str]:
    """The issue's two targets, checked on the means."""
    st = s["strategies"]
    out = ["## Targets", ""]
    if 200 in sizes:
        best = max(("random", "suggest"), key=lambda k: st[k][200]["gain"][0])
        g = st[best][200]["gain"][0]
        out.append(f"- 200 own labels on top of `labels/` lift topic macro-F1 by {g:+.3f} "
                   f"(chosen by {best}; random {st['random'][200]['gain'][0]:+.3f}): target "
                   f"+0.030 {'met' if g >= 0.03 else 'not met'}.")
    top = max(sizes)
    goal = st["random"][top]["gain"][0]
    if goal == goal:  # not NaN
        reach = next((k for k in sizes if st["suggest"][k]["gain"][0] >= goal), None)
        out.append(f"- `suggest` reaches the gain of {top} random items ({goal:+.3f}) with "
                   + (f"{reach} items: target (at most {top // 2}) "
                      f"{'met' if reach <= top // 2 else 'not met'}." if reach else
                      "none of the sizes tried: target not met."))
    return out


def markdown(runs: list[dict], s: dict, sizes, sweep, meta: dict) -> str:
    def pm(ms) -> str:
        return "-" if ms[0] != ms[0] else f"{ms[0]:+.3f} ± {ms[1]:.3f}"  # "-": not run

    def v(ms) -> str:
        return "-" if ms[0] != ms[0] else f"{ms[0]:.3f} ± {ms[1]:.3f}"

    def one(x: float) -> str:
        return "-" if x != x else f"{x:.3f}"

    lines = [
        "# The labelling loop, measured",
        "",
        f"`python benchmarks/active_learning.py {meta['argv']}` at commit {meta['commit']}, "
        f"{meta['minutes']:.1f} minutes on 2 cores ({meta['trainings']} trainings). Topic "
        f"macro-F1 on held-out real news; mean ± standard deviation over {len(runs)} seeds "
        + ("(each seed: its own random draw from the fixed pool). " if meta.get("fixed")
           else "(each seed: its own split of the real news by source document into a pool "
           "and a test half, and its own random draw). ") + "Added items count "
        f"{runs[0]['weight']:g} time{'' if runs[0]['weight'] == 1 else 's'}: {meta['weight_how']}.",
        "",
        f"Real news: {meta['source']}. Pool / test items per seed: "
        + ", ".join(f"{r['pool']} / {r['test']}" for r in runs) + ". Training: "
        f"`labels/` ({meta['labels']} records) plus the added items, with the parameters the "
        "bundled model's search chose (`--params-from models/default`)"
        + (f" and its target prevalence (`--prevalence {meta['prevalence']:g}`)"
           if meta.get("prevalence") is not None else "")
        + (f"; the added items re-tune the topic thresholds (`--tune-on`, prior "
           f"{meta['tune_prior']:g} positives)" if meta.get("tune_on") else "") + ".",
        "",
        f"Baseline (`labels/` alone): topic macro-F1 {v(s['baseline'])}, topic micro-F1 "
        f"{v(s['baseline_micro'])}, stance macro-F1 {v(s['baseline_stance'])}.",
        "",
        *targets(s, sizes),
        "",
        "## Gain over the baseline by items added",
        "",
        "| items added | random: macro-F1 | random: gain | suggest: macro-F1 | "
        "suggest: gain | random / suggest: micro-F1 gain | random / suggest: stance macro-F1 |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for k in sizes:
        r, g = s["strategies"]["random"][k], s["strategies"]["suggest"][k]
        lines.append(f"| {k} | {v(r['f1'])} | {pm(r['gain'])} | {v(g['f1'])} | "
                     f"{pm(g['gain'])} | {pm(r['micro_gain'])} / {pm(g['micro_gain'])} | "
                     f"{one(r['stance'][0])} / {one(g['stance'][0])} |")
    if "small-text" in s["strategies"]:
        lines += ["", "small-text's multi-label strategy (category vector inconsistency and "
                  "ranking), in the same loop instead of `suggest`:", "",
                  "| items added | small-text: macro-F1 | small-text: gain | suggest: gain |",
                  "| ---: | ---: | ---: | ---: |"]
        for k in sizes:
            x, g = s["strategies"]["small-text"][k], s["strategies"]["suggest"][k]
            lines.append(f"| {k} | {v(x['f1'])} | {pm(x['gain'])} | {pm(g['gain'])} |")
    lines += ["", "Share of added items that carry a topic (the pool's real news is "
              "mostly out of scope):", "",
              "| items added | random | suggest |", "| ---: | ---: | ---: |"]
    for k in sizes:
        rs = statistics.fmean(r["random_topical_share"][str(k)] for r in runs)
        ss = statistics.fmean(r["suggest"][str(k)]["topical_share"] for r in runs)
        lines.append(f"| {k} | {rs:.2f} | {ss:.2f} |")
    lines += ["", f"## Weight of the added items ({SWEEP_SIZE} random items)", "",
              "| weight | macro-F1 | gain |", "| ---: | ---: | ---: |"]
    for w in sweep:
        lines.append(f"| {w:g} | {v(s['sweep'][w]['f1'])} | {pm(s['sweep'][w]['gain'])} |")
    lines += ["", "## Per seed", "",
              "| seed | test hash | baseline | " + " | ".join(
                  f"random {k} | suggest {k}" for k in sizes) + " |",
              "| ---: | --- | ---: | " + " | ".join("---: | ---:" for _ in sizes) + " |"]
    for r in runs:
        cells = " | ".join(f"{one(r['random'][str(k)]['macro_f1'])} | "
                           f"{r['suggest'][str(k)]['macro_f1']:.3f}" for k in sizes)
        lines.append(f"| {r['seed']} | {r['test_sha256']} | "
                     f"{r['baseline']['macro_f1']:.3f} | {cells} |")
    return "\n".join(lines) + "\n"


def plot(s: dict, sizes, sweep, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4), gridspec_kw={"width_ratios": [2, 1]})
    for strat, marker in (("random", "o"), ("suggest", "s"), ("small-text", "^")):
        if strat not in s["strategies"]:
            continue
        m = [s["strategies"][strat][k]["gain"][0] for k in sizes]
        e = [s["strategies"][strat][k]["gain"][1] for k in sizes]
        a.errorbar(sizes, m, yerr=e, marker=marker, capsize=3, label=strat)
    a.axhline(0, color="grey", lw=0.8)
    a.axhline(0.03, color="grey", lw=0.8, ls=":", label="target +0.03")
    a.set_xscale("log")
    a.minorticks_off()
    a.set_xticks(list(sizes), [str(k) for k in sizes])
    a.set_xlabel("real news items labelled and added to labels/")
    a.set_ylabel("topic macro-F1 gain on held-out real news")
    a.set_title("labels/ + your own labels")
    a.legend()
    ws = list(sweep)
    b.errorbar(range(len(ws)), [s["sweep"][w]["gain"][0] for w in ws],
               yerr=[s["sweep"][w]["gain"][1] for w in ws], marker="o", capsize=3)
    b.set_xticks(range(len(ws)), [f"{w:g}" for w in ws])
    b.axhline(0, color="grey", lw=0.8)
    b.set_xlabel(f"weight of {SWEEP_SIZE} random items")
    b.set_title("weight")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--pool", help="labelled JSONL pool (with --test) instead of the dev sets")
    ap.add_argument("--test", help="labelled JSONL test set (with --pool)")
    ap.add_argument("--halves", action="store_true",
                    help="pool: the dev sets' tuning half, test: their confirmation half "
                         "(benchmarks/devsplit.py), the same for every seed")
    ap.add_argument("--probes", action="store_true",
                    help="real news: the probe sets of benchmarks/probes.py (NYT headlines, "
                         "Reuters ledes, BBC sentences) instead of the dev sets")
    for name, dl in probes.DOWNLOADED.items():
        ap.add_argument(dl.flag, metavar="FILE", dest=dl.dest,
                        help=f"with --probes: add the {name} set too, its texts read from FILE "
                             "(see benchmarks/data/README.md)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "out"))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=0,
                    help="seeds run are FIRST..FIRST+SEEDS-1 (other splits and draws)")
    ap.add_argument("--sweep-only", action="store_true",
                    help="only the baseline and the weight sweep (random items at each "
                         "weight); writes STEM.md and STEM.json")
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)))
    ap.add_argument("--sweep", default=",".join(f"{w:g}" for w in SWEEP))
    ap.add_argument("--weight", type=float, default=None,
                    help="weight of the added items (default: the best of the sweep)")
    ap.add_argument("--diversity", type=float, default=None,
                    help="suggest's diversity (default: classify's)")
    ap.add_argument("--jobs", type=int, default=2, help="seeds run in this many processes")
    ap.add_argument("--focus", default="all", help="suggest's focus (all, topics, stance)")
    ap.add_argument("--no-random", action="store_true",
                    help="train the random arm only where the weight sweep has it")
    ap.add_argument("--library", action="store_true",
                    help="also small-text's multi-label strategy (pip install small-text)")
    ap.add_argument("--tune-on", action="store_true",
                    help="the added items re-tune the topic thresholds (train --tune-on)")
    ap.add_argument("--tune-prior", type=float, default=None,
                    help="pseudo-positives of labels/' thresholds against the added items'")
    ap.add_argument("--stem", default="active_learning", help="output file names")
    ap.add_argument("--from-json", metavar="FILE",
                    help="rewrite the report and plot from a saved active_learning.json")
    args = ap.parse_args()
    for name, path in downloaded(args).items():
        flag = probes.DOWNLOADED[name].flag
        if not args.probes:
            ap.error(f"{flag} adds the {name} set to --probes; pass --probes too")
        if not Path(path).is_file():
            ap.error(f"{flag} {path}: no such file (benchmarks/data/README.md says how to "
                     "download it)")
    if args.from_json:
        saved = json.loads(Path(args.from_json).read_text(encoding="utf-8"))
        if not isinstance(saved, dict) or "runs" not in saved:
            ap.error(f"{args.from_json}: not a saved loop (a --sweep-only run has its report "
                     "already)")
        runs, meta = saved["runs"], saved["meta"]
        sizes = tuple(int(k) for k in runs[0]["suggest"])
        sweep = tuple(float(w) for w in runs[0]["sweep"])
        write_report(runs, meta, sizes, sweep, Path(args.out), args.stem)
        return
    if bool(args.pool) != bool(args.test):
        ap.error("--pool and --test go together")
    if args.seeds < 1:
        ap.error("--seeds must be at least 1")
    if args.sweep_only and (args.weight is not None or args.library or args.no_random):
        ap.error("--sweep-only trains the baseline and the sweep's weights only: drop "
                 "--weight, --library and --no-random")
    from classify.suggest import DIVERSITY

    sizes = tuple(int(x) for x in args.sizes.split(","))
    sweep = tuple(float(x) for x in args.sweep.split(","))
    rows = load_real(args)
    options = recipe(ROOT / "models" / "default")
    if args.tune_prior is not None:
        options.tune_prior = args.tune_prior
    t0 = time.perf_counter()
    diversity = DIVERSITY if args.diversity is None else args.diversity
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as ex:
        seeds = range(args.first_seed, args.first_seed + args.seeds)
        phase1 = list(ex.map(run_sweep, seeds, [rows] * args.seeds,
                             [options] * args.seeds, [sweep] * args.seeds,
                             [args.tune_on] * args.seeds))
        if args.sweep_only:
            write_sweep(phase1, sweep, args, (time.perf_counter() - t0) / 60)
            return
        weight = args.weight if args.weight is not None else max(
            sweep, key=lambda w: statistics.fmean(p["sweep"][str(w)]["macro_f1"]
                                                  for p in phase1))
        print(f"weight of the added items: {weight:g}", file=sys.stderr, flush=True)
        runs = list(ex.map(run_grid, phase1, [rows] * args.seeds, [options] * args.seeds,
                           [sizes] * args.seeds, [weight] * args.seeds,
                           [diversity] * args.seeds, [args.library] * args.seeds,
                           [args.focus] * args.seeds, [not args.no_random] * args.seeds,
                           [args.tune_on] * args.seeds))
    import subprocess

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    added = [f"`{n}`" for n in downloaded(args)]
    meta = {"argv": " ".join(sys.argv[1:]), "commit": commit,
            "fixed": bool(args.pool or args.halves),
            "weight_how": "given by --weight" if args.weight is not None else
            "the best mean of the weight sweep below",
            "minutes": (time.perf_counter() - t0) / 60,
            "trainings": sum(r["trainings"] for r in runs),
            "labels": len(api.load_data(["labels"]).records),
            "prevalence": options.prevalence,
            "tune_on": args.tune_on, "tune_prior": options.tune_prior,
            "source": ("`--pool`/`--test` files" if args.pool else
                       "the probe sets of `benchmarks/probes.py`, read at run time"
                       + (f" (with {', '.join(added)})" if added else "")
                       if args.probes else
                       "the two dev sets (`news_dev.jsonl`, `news_dev2.jsonl`), read at run "
                       "time" + ("; pool: their tuning half, test: their confirmation half "
                                 "(`--halves`, the same for every seed)" if args.halves
                                 else ""))}
    write_report(runs, meta, sizes, sweep, Path(args.out), args.stem)


def write_sweep(phase1: list[dict], sweep, args, minutes: float) -> None:
    """``--sweep-only``: the gain of ``SWEEP_SIZE`` random items at each weight, overall and
    per topic (mean over the seeds, each seed's gain against its own baseline)."""
    base = [p["baseline"]["macro_f1"] for p in phase1]
    topics = list(phase1[0]["baseline"]["per_topic"])
    import subprocess

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    lines = ["# Weight of the added items", "",
             f"`python benchmarks/active_learning.py {' '.join(sys.argv[1:])}` at commit "
             f"{commit}, {minutes:.1f} minutes. {SWEEP_SIZE} random pool items added at each "
             "weight; "
             f"seeds {phase1[0]['seed']}-{phase1[-1]['seed']}; baseline topic macro-F1 "
             "%.3f ± %.3f." % _ms(base), "",
             "| weight | macro-F1 gain | " + " | ".join(topics) + " |",
             "| ---: | ---: |" + " ---: |" * len(topics)]
    for w in sweep:
        got = [p["sweep"][str(w)] for p in phase1]
        gain = _ms([g["macro_f1"] - b for g, b in zip(got, base, strict=True)])
        per = [statistics.fmean(g["per_topic"][t] - p["baseline"]["per_topic"][t]
                                for g, p in zip(got, phase1, strict=True)) for t in topics]
        lines.append(f"| {w:g} | {gain[0]:+.4f} ± {gain[1]:.4f} | "
                     + " | ".join(f"{x:+.3f}" for x in per) + " |")
    md = "\n".join(lines) + "\n"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.stem}.md").write_text(md, encoding="utf-8")
    (out / f"{args.stem}.json").write_text(json.dumps(phase1, indent=1), encoding="utf-8")
    print(md)


def write_report(runs: list[dict], meta: dict, sizes, sweep, out: Path,
                 stem: str = "active_learning") -> None:
    out.mkdir(parents=True, exist_ok=True)
    s = summarise(runs, sizes, sweep)
    md = markdown(runs, s, sizes, sweep, meta)
    (out / f"{stem}.md").write_text(md, encoding="utf-8")
    (out / f"{stem}.json").write_text(json.dumps(
        {"meta": meta, "runs": runs, "summary": {
            "baseline": s["baseline"],
            "strategies": {k: {str(n): x for n, x in v.items()}
                           for k, v in s["strategies"].items()},
            "sweep": {str(w): x for w, x in s["sweep"].items()}}}, indent=1),
        encoding="utf-8")
    plot(s, sizes, sweep, out / f"{stem}.png")
    print(md)


if __name__ == "__main__":
    main()
