"""Read candidates on wire copy no one here has read: the rows of the downloaded AG files that
no labelled set and no dev set holds (step 28 in ``labels/README.md``).

A paired comparison only needs the items on which the arms disagree: on every other item the
baseline and the candidate score alike. So the rows of the public AG files that nothing has
labelled (earlier models only scored them to pick strata; nobody read them) make a fresh pool,
and only the pool items on which a candidate's topics differ from the baseline's at the same
seed need labels. The pool is not a plain stream, though: the sets took every row that an
earlier model or the keyword list flagged, so it holds what those let through (the bundled
model flags 59 of its 14,548 rows), and a candidate is read on that copy only. Four steps,
each writing to ``benchmarks/out/fresh/``:

1. ``pool``: the rows of the five AG files of ``probes.py`` (cut as their sets cut them), less
   every row that shares a 12-word run with, or has the same words as, an item of a set in
   ``benchmarks/data/`` or a dev set, and less repeats of an earlier pool row
   (``pool.jsonl``: ``id``, ``text``);
2. ``predict --arm NAME [--candidate FILE ...]``: trains the bundled recipe (as ``decide.py``)
   on ``labels/`` plus the files at each seed and writes the pool's topics
   (``NAME.json``). Run it from a checkout with a code change to read that change;
3. ``select --arms base,a,b``: the pool items on which some candidate differs from the first
   arm at the same seed, shuffled, as ``id`` and ``text`` only (``to_label.jsonl``; at most
   ``--max`` items, a seeded sample beyond that), for labelling blind;
4. ``score --labels FILE --arms base,a,b``: per candidate, topic and seed, ``U = 2 x (hits -
   base's hits) - (false alarms - base's false alarms)`` on the labelled items (a hit counts
   twice because F1 counts it twice), the seeds' mean, and a paired bootstrap over the items.

    python benchmarks/fresh_pool.py pool
    python benchmarks/fresh_pool.py predict --arm base
    python benchmarks/fresh_pool.py predict --arm a --candidate benchmarks/candidates/X.jsonl
    python benchmarks/fresh_pool.py select --arms base,a
    python benchmarks/fresh_pool.py score --arms base,a \
        --labels benchmarks/data/ag_fresh_labels.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import decide  # noqa: E402
import devsplit  # noqa: E402
import probes  # noqa: E402

OUT = ROOT / "benchmarks" / "out" / "fresh"
#: the AG files, in the order their rows enter the pool
FILES = ("ag-test-descriptions", "ag-wire-test", "ag-wire", "ag-wire-2", "ag-world-tech")
#: step 30's stream: 10,000 rows of AG's training split ("title . description"), a public
#: sample that no set here drew from, so that no earlier flag thinned it
STREAM = probes.Download("https://raw.githubusercontent.com/hhf-hd/NoisyAG-News/"
                         "94f5e5b24d49a64c0128caf90247869f991bd7c0/dataset/"
                         "samples10000valMed.csv",
                         ROOT / "benchmarks" / "out" / "ag_news_noisyag_val.csv", "ag-nv", 2,
                         "--stream-csv", header=True)
#: step 32's stream: 12,000 more rows of AG's training split (a validation split; its
#: description column), less what step 30's holds
STREAM2 = probes.Download("https://raw.githubusercontent.com/yxhong-tw/AG-News-Exercise/"
                          "0d786f2fd76ecfe0989a7ad3eaf9089e63890b12/data/formal/"
                          "validation.csv",
                          ROOT / "benchmarks" / "out" / "ag_news_ikm_val.csv", "ag-ikm", 2,
                          "--stream2-csv", header=True)
#: step 34's stream: 8,000 more descriptions of AG's training split (a dev split), less what
#: the streams before hold
STREAM3 = probes.Download("https://raw.githubusercontent.com/HenryPengZou/JointMatch/"
                          "3944b20598fa9c6caab045d218cfce94e958924e/data/ag_news/dev.csv",
                          ROOT / "benchmarks" / "out" / "ag_news_jointmatch_dev.csv", "ag-jm",
                          1, "--stream3-csv", header=True)
#: step 35's stream, two more public samples of AG's training split, descriptions only: 5,000
#: machine-tokenised rows, then 5,000 rows of a validation split, less what the streams before
#: hold
STREAM4 = probes.Download("https://raw.githubusercontent.com/KEAML-JLU/DeepTextClustering/"
                          "e0b24390bfa1d7bce362bd0ec4026018d2d15333/data/ag_news/ub_train.csv",
                          ROOT / "benchmarks" / "out" / "ag_news_keaml_ub.csv", "ag-kub", 1,
                          "--stream4-csv")
STREAM4B = probes.Download("https://raw.githubusercontent.com/MushfiqShovon/ptq_gendisc/"
                           "aa4c93671aea8340b944ba4c041402311c2f2130/data/ag_news/valid.csv",
                           ROOT / "benchmarks" / "out" / "ag_news_ptq_valid.csv", "ag-ptq", 2,
                           "--stream4b-csv")
#: step 37's stream: AG's training file from its first row (2,000 rows), descriptions only,
#: less what the streams before hold
STREAM5 = probes.Download("https://raw.githubusercontent.com/amrayach/PML/"
                          "190283295f4bb0b5d9860568b3f02a70ef790e37/datasets/ag_news/train.csv",
                          ROOT / "benchmarks" / "out" / "ag_news_pml_train.csv", "ag-pml", 2,
                          "--stream5-csv")
#: the streams in the order they were built, each one file or more: each pool leaves out the
#: rows of those before
STREAMS = ((STREAM,), (STREAM2,), (STREAM3,), (STREAM4, STREAM4B), (STREAM5,))
#: the steps that built them
STEPS = (30, 32, 34, 35, 37)
#: how many first rows of a file were shown while its kind was checked (the rules of steps 35
#: and 37; step 37's by another copy of the same file): they stay out of its stream
SEEN = {STREAM4.prefix: 2, STREAM4B.prefix: 70, STREAM5.prefix: 70}


def words(text: str) -> str:
    """The text's words, lower-cased, one space apart (two rows with the same are the same)."""
    return " ".join(re.findall(r"\w+", text.lower()))


def description(text: str) -> str:
    """A stream row's description: the text after its first `` . `` (title . description)."""
    _, sep, tail = text.partition(" . ")
    return tail.strip() if sep and tail.strip() else text


def stream_rows(src: probes.Download, path: Path) -> list[tuple[str, str]]:
    """A stream file's rows as descriptions (step 30's file runs title and description
    together; the later ones keep the description in a column of its own), less the first
    rows that were seen (``SEEN``)."""
    cut, seen = (description if src is STREAM else str), SEEN.get(src.prefix, 0)
    return [(r["id"], cut(r["text"])) for r in src.items(path)
            if int(r["id"].rsplit("-", 1)[1]) > seen]


def flag(k: int) -> str:
    """The ``pool`` option of stream ``k`` (from 0): ``--stream``, ``--stream2``, ..."""
    return "--stream" + (str(k + 1) if k else "")


def build_pool(shared: str, streams: list[list[Path]] | None = None
               ) -> tuple[list[dict], dict]:
    """The fresh pool, and how many rows each step left out. With ``streams`` (the files of
    ``STREAMS[:k]``, steps 30 to 37), the pool is the last stream's rows instead, less step
    28's pool and the streams before it."""
    seen_runs: set[str] = set()
    seen_words: set[str] = set()

    def remember(text: str) -> None:
        seen_runs.update(decide.runs(text))
        seen_words.add(words(text))

    def known(text: str) -> bool:
        return words(text) in seen_words or bool(decide.runs(text) & seen_runs)

    for name in [*probes.SETS, *probes.REST]:
        for r in probes.load(name, shared):
            remember(r["text"])
    for r in devsplit.load(shared):
        remember(r["text"])
    def take(rows: list[tuple[str, str]]) -> list[dict]:
        """The rows not known yet (each then known, so a later repeat is left out)."""
        kept = []
        for rid, text in rows:
            if text.strip() and not known(text):
                remember(text)
                kept.append({"id": rid, "text": text})
        return kept

    pool, counts = [], {}
    for name in FILES:
        _, src, cut = probes.SETS[name]
        rows = [x for item in src.items(src.path) for x in cut(item)]
        kept = take(rows)
        pool += kept
        counts[name] = {"rows": len(rows), "kept": len(kept)}
    for group, paths in zip(STREAMS, streams or [], strict=False):
        pool, counts = [], {}
        for src, path in zip(group, paths, strict=True):
            rows = stream_rows(src, path)
            kept = take(rows)
            pool += kept
            counts[path.name] = {"rows": len(rows), "kept": len(kept)}
    return pool, counts


def _predict(job: tuple) -> tuple[int, list[list[str]], list[str]]:
    seed, extra, texts = job
    topics, _, _ = decide.train_recipe(seed, extra)
    pred = np.asarray(topics.predict(texts)).astype(bool)
    classes = [str(c) for c in topics.classes_]
    return seed, [[c for c, on in zip(classes, row, strict=True) if on] for row in pred], classes


def read_jsonl(path: Path, hint: str = "") -> list[dict]:
    """The records of a JSONL file; a missing file or a bad line stops with one line."""
    if not path.is_file():
        sys.exit(f"fresh_pool: {path}: no such file{hint}")
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                sys.exit(f"fresh_pool: {path}:{n}: not JSON ({e.msg})")
    return rows


def load_arms(names: list[str], out: Path) -> dict[str, dict]:
    arms = {}
    for n in names:
        path = out / f"{n}.json"
        if not path.is_file():
            sys.exit(f"fresh_pool: {path}: no such file (run predict --arm {n} first)")
        arms[n] = json.loads(path.read_text())
    seeds = {tuple(a["seeds"]) for a in arms.values()}
    if len(seeds) != 1:
        sys.exit("fresh_pool: the arms were trained at different seeds")
    return arms


def label_rows(labels: dict[str, dict], ids: list[str], texts: list[str], where: str
               ) -> list[int]:
    """The positions in ``ids`` of the labelled items, in the labels' order. An id not there,
    or an item whose text is not the one labelled (its ``sha256``), stops with one line naming
    ``where``."""
    index = {rid: i for i, rid in enumerate(ids)}
    missing = [rid for rid in labels if rid not in index]
    if missing:
        sys.exit(f"{where}: {len(missing)} ids not in the pool, e.g. {missing[0]}")
    rows = [index[rid] for rid in labels]
    for rid, i in zip(labels, rows, strict=True):
        if "sha256" in labels[rid] and probes.digest(texts[i]) != labels[rid]["sha256"]:
            sys.exit(f"{where}: the text of {rid} is not the one labelled")
    return rows


def labelled(out: Path, path: Path, names: list[str],
             loaded: tuple[dict[str, dict], list[dict]] | None = None
             ) -> tuple[np.ndarray, dict[str, dict[str, np.ndarray]], list[int]]:
    """The labels of ``path`` on the pool in ``out`` and each arm's topics on those items:
    gold (items x topics), ``{arm: {seed: matrix}}`` and the seeds (``loaded``: that pool's
    arms and items, read already). Ids not in the pool, or an item whose text is not the one
    labelled, stop with one line."""
    arms, pool = loaded or (load_arms(names, out),
                            read_jsonl(out / "pool.jsonl", " (run the pool step first)"))
    labels = {r["id"]: r for r in read_jsonl(path)}
    rows = label_rows(labels, arms[names[0]]["ids"], [r["text"] for r in pool],
                      f"fresh_pool: {path}")
    classes = arms[names[0]]["classes"]
    gold = np.array([[t in labels[rid]["topics"] for t in classes] for rid in labels])
    seeds = [str(s) for s in arms[names[0]]["seeds"]]
    return gold, {a: {s: np.array([[t in arms[a]["topics"][s][i] for t in classes]
                                   for i in rows]).reshape(len(rows), len(classes))
                      for s in seeds} for a in names}, [int(s) for s in seeds]


def utility(gold: np.ndarray, base: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """Per topic: 2 x (hits gained - hits lost) - (false alarms added - false alarms removed)."""
    hits = (cand & gold).sum(0).astype(int) - (base & gold).sum(0)
    alarms = (cand & ~gold).sum(0).astype(int) - (base & ~gold).sum(0)
    return 2 * hits - alarms


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("step", choices=["pool", "predict", "select", "score"])
    ap.add_argument("--arm", help="predict: the arm's name")
    ap.add_argument("--candidate", action="append", default=[], metavar="FILE",
                    help="predict: training data the arm adds to labels/ (repeatable)")
    ap.add_argument("--arms", help="select, score: the baseline first, then the candidates")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--labels", help="score: the labels of the selected items")
    ap.add_argument("--also", action="append", default=[], metavar="DIR=LABELS",
                    help="score: read another pool's labelled items with these (its arms "
                         "predicted into DIR), as one set (repeatable)")
    ap.add_argument("--max", type=int, default=600, help="select: at most this many items")
    ap.add_argument("--seed", type=int, default=28, help="select: the seed of the sample")
    ap.add_argument("--exclude", action="append", default=[], metavar="FILE",
                    help="select: leave out the ids of this labels file (repeatable)")
    ap.add_argument("--resamples", type=int, default=2000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--dir", default=str(OUT),
                    help=f"where the pool, predictions and items to label go (default {OUT})")
    for k, (group, step) in enumerate(zip(STREAMS, STEPS, strict=True)):
        ap.add_argument(flag(k), action="store_true",
                        help=f"pool: step {step}'s stream instead of the five AG files"
                             + (", less the streams before it" if k else "")
                             + " (download " + " and ".join(src.url for src in group) + ")")
        for src in group:
            ap.add_argument(src.flag, help=f"pool {flag(k)}: a file of it (default {src.path})")
    args = ap.parse_args(argv)
    out = Path(args.dir)
    out.mkdir(parents=True, exist_ok=True)

    if args.step == "pool":
        asked = [k for k in range(len(STREAMS)) if getattr(args, flag(k)[2:])]
        if len(asked) > 1:
            sys.exit("fresh_pool: pool builds one stream at a time: give one of "
                     + ", ".join(flag(k) for k in range(len(STREAMS))))
        streams = []
        for group in STREAMS[:asked[0] + 1] if asked else ():
            streams.append([])
            for src in group:
                path = Path(getattr(args, src.dest) or src.path)
                if not path.is_file():
                    sys.exit(f"fresh_pool: {path}: no such file (download it from {src.url})")
                streams[-1].append(path)
        pool, counts = build_pool(args.shared, streams)
        with (out / "pool.jsonl").open("w", encoding="utf-8") as fh:
            for r in pool:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        for name, c in counts.items():
            print(f"{name}: {c['rows']} rows, {c['kept']} in the pool")
        print(f"pool: {len(pool)} items -> {out / 'pool.jsonl'}")
        return

    pool = read_jsonl(out / "pool.jsonl", " (run the pool step first)")
    if args.step == "predict":
        if not args.arm:
            sys.exit("fresh_pool: predict needs --arm")
        seeds = [int(s) for s in args.seeds.split(",")]
        texts = [r["text"] for r in pool]
        with ProcessPoolExecutor(max(1, args.jobs)) as ex:
            res = list(ex.map(_predict, [(s, args.candidate, texts) for s in seeds]))
        arm = {"arm": args.arm, "candidate": args.candidate, "seeds": seeds,
               "classes": res[0][2], "ids": [r["id"] for r in pool],
               "topics": {str(s): t for s, t, _ in res}}
        (out / f"{args.arm}.json").write_text(json.dumps(arm) + "\n")
        print(f"{args.arm}: {len(pool)} items predicted at seeds {args.seeds}")
        return

    names = [a for a in (args.arms or "").split(",") if a]
    if len(names) < 2:
        sys.exit("fresh_pool: --arms needs the baseline and at least one candidate")
    arms = load_arms(names, out)
    base, cands = names[0], names[1:]
    ids = arms[base]["ids"]
    seeds = [str(s) for s in arms[base]["seeds"]]

    if args.step == "select":
        done = {r["id"] for f in args.exclude for r in read_jsonl(Path(f))}
        differ = [i for i in range(len(ids)) if ids[i] not in done
                  and any(set(arms[c]["topics"][s][i]) != set(arms[base]["topics"][s][i])
                         for c in cands for s in seeds)]
        rng = random.Random(args.seed)
        if len(differ) > args.max:
            differ = sorted(rng.sample(differ, args.max))
        rng.shuffle(differ)
        with (out / "to_label.jsonl").open("w", encoding="utf-8") as fh:
            for i in differ:
                fh.write(json.dumps({"id": ids[i], "text": pool[i]["text"]},
                                    ensure_ascii=False) + "\n")
        print(f"{len(differ)} items to label -> {out / 'to_label.jsonl'}")
        return

    if not args.labels:
        sys.exit("fresh_pool: score needs --labels")
    readings = [(out, args.labels), *(w.split("=", 1) for w in args.also)]
    if any(len(r) != 2 for r in readings):
        sys.exit("fresh_pool: --also takes DIR=LABELS")
    parts = [labelled(Path(d), Path(f), names, (arms, pool) if Path(d) == out else None)
             for d, f in readings]
    if len({tuple(a["seeds"]) for a in arms.values()} | {tuple(p[2]) for p in parts}) != 1:
        sys.exit("fresh_pool: the pools' arms were trained at different seeds")
    classes = arms[base]["classes"]
    gold = np.vstack([g for g, _, _ in parts])
    rows = range(len(gold))

    def matrix(arm: str, s: str) -> np.ndarray:
        return np.vstack([m[arm][s] for _, m, _ in parts])

    print(f"{len(rows)} labelled items; positives: "
          + ", ".join(f"{t} {int(gold[:, j].sum())}" for j, t in enumerate(classes)))
    print("\n| candidate | seed | " + " | ".join(f"U {t}" for t in classes) + " | U |")
    print("| --- | ---: | " + " | ".join("---:" for _ in classes) + " | ---: |")
    rng = np.random.default_rng(0)
    draws = [rng.integers(0, len(rows), len(rows)) for _ in range(args.resamples)]
    for c in cands:
        per_seed = [(matrix(base, s), matrix(c, s)) for s in seeds]
        us = [utility(gold, b, p) for b, p in per_seed]
        for s, u in zip(seeds, us, strict=True):
            print(f"| {c} | {s} | " + " | ".join(f"{v:+d}" for v in u) + f" | {u.sum():+d} |")
        mean = np.mean(us, axis=0)
        above = np.zeros(len(classes) + 1)
        for i in draws:
            m = np.mean([utility(gold[i], b[i], p[i]) for b, p in per_seed], axis=0)
            above[:-1] += m > 0
            above[-1] += m.sum() > 0
        print(f"| {c} | mean | " + " | ".join(f"{v:+.2f}" for v in mean)
              + f" | {mean.sum():+.2f} |")
        print(f"| {c} | above zero | " + " | ".join(f"{v / args.resamples:.1%}"
                                                    for v in above[:-1])
              + f" | {above[-1] / args.resamples:.1%} |")


if __name__ == "__main__":
    main()
