"""Benchmark harness for classify: accuracy, tagging speed, training time and memory.

    python benchmarks/run.py [--quick] [--out benchmarks/out] [--shared ../shared]
                             [--only accuracy|public-cv|speed|scaling|dask]

Writes ``results.md`` (also printed to stdout), ``results.json`` and ``scaling.png`` to the
output directory. Shared data is read at run time from ``--shared`` (default: ``../shared``
next to the repository root); derived files go to a temporary directory, never into the repo.
Everything is seeded (``--seed``); timings are whole-process wall times of fresh subprocesses.
See benchmarks/README.md for what each number means.
"""

from __future__ import annotations

import argparse
import compileall
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import baselines  # noqa: E402
import benchdata as bd  # noqa: E402
import keywords  # noqa: E402
from benchreport import render_markdown, render_plot  # noqa: E402
from measure import Measurement, run_measured  # noqa: E402
from metrics import class_scores, label_scores  # noqa: E402

REPO = HERE.parent
PUBLIC = ("bbc_news", "cap_congress_bills", "cap_nyt_headlines")
DEV_NAME = "labels/ → devset"
METHODS = ("classify", "sklearn", "fasttext", "fasttext-tuned")
TRAIN_METHODS = ("classify", "classify --fast", "sklearn", "fasttext")
TAGGERS = ("classify", "classify --jobs 2", "fasttext", "sklearn")
DASK_RUNS = ("local", "dask, 1 worker", "dask, 2 workers", "dask, 2 workers, --output-dir")


@dataclass
class Config:
    quick: bool
    seed: int
    test_share: float = 0.2
    max_public: int | None = None  # cap on records per public dataset (quick mode)
    max_labels: int | None = None  # cap on labels/ records (quick mode)
    tag_records: int = 50_000
    tag_repeats: int = 5  # tagging runs per tagger; the median is reported
    train_sizes: tuple[int, ...] = (1_000, 10_000, 100_000)
    fasttext_tuned: bool = True
    train_timeout: float = 600.0
    tag_timeout: float = 600.0
    workers: int = 2
    dask_partitions: int = 8  # the dask section cuts its input into about this many
    extra: dict = field(default_factory=dict)


def make_config(args: argparse.Namespace) -> Config:
    if args.quick:
        cfg = Config(quick=True, seed=args.seed, max_public=700, max_labels=800,
                     tag_records=10_000, tag_repeats=1, train_sizes=(1_000, 5_000),
                     fasttext_tuned=False,
                     train_timeout=120.0, tag_timeout=120.0)
    else:
        cfg = Config(quick=False, seed=args.seed)
    if args.train_timeout:
        cfg.train_timeout = args.train_timeout
    if args.workers:
        cfg.workers = args.workers
    return cfg


class Log:
    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    def __call__(self, msg: str) -> None:
        print(f"[{time.perf_counter() - self.t0:7.1f}s] {msg}", file=sys.stderr, flush=True)


def classify_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "classify"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "classify"]


def script_cmd(*args: str) -> list[str]:
    return [sys.executable, str(HERE / "baselines.py"), *args]


def child_env(method: str) -> dict[str, str] | None:
    """Environment for a fastText training child (None = inherit unchanged).

    MALLOC_MMAP_THRESHOLD_ fixes glibc's mmap threshold from process start so large blocks are
    fresh, zero-filled mappings: fasttext 0.9.3 otherwise trains from partly uninitialised
    memory (see baselines.fixed_mmap_threshold). Only fastText training gets it.
    """
    if not method.startswith("fasttext"):
        return None
    return {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(64 * 1024)}


def model_mb(path: Path) -> float:
    """Size on disk of a model file or directory (plus a fastText sidecar .json)."""
    files = [f for f in path.rglob("*") if f.is_file()] if path.is_dir() else \
        [f for f in (path, Path(f"{path}.json")) if f.is_file()]
    return sum(f.stat().st_size for f in files) / 2**20


def remove_model(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    for f in (path, Path(f"{path}.json")):
        if f.is_file():
            f.unlink()


def count_lines(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for line in fh if line.strip())


def failure(m: Measurement, what: str) -> str:
    if m.timed_out:
        return f"{what}: timed out after {m.wall_s:.0f} s"
    tail = " ".join(m.stderr_tail.strip().splitlines()[-2:])[:300]
    return f"{what}: exit {m.returncode}: {tail}"


# ---------------------------------------------------------------- accuracy


@dataclass
class Task:
    name: str
    train: list[dict]
    test: list[dict]
    work: Path
    classify_data: Path  # file or labels directory for 'classify train --data'
    train_file: Path  # JSONL for the baselines (text, topics, source)
    test_file: Path  # JSONL with id and text only
    macro_labels: list[str] | None = None
    stance_classes: list[str] | None = None


def train_cmd(method: str, data: Path, model: Path, seed: int) -> list[str]:
    if method.startswith("classify"):
        cmd = [*classify_cmd(), "train", "--data", str(data), "--model", str(model), "--quiet",
               "--seed", str(seed)]
        return [*cmd, "--fast"] if method.endswith("--fast") else cmd
    return script_cmd("train", method, str(data), str(model))


def tag_cmd(method: str, model: Path, inputs: Path, jobs: int = 1) -> list[str]:
    if method.startswith("classify"):
        cmd = [*classify_cmd(), "tag", str(inputs), "--model", str(model), "--format", "jsonl"]
        return [*cmd, "--jobs", str(jobs)] if jobs > 1 else cmd
    return script_cmd("tag", method.split("-")[0], str(model), str(inputs))


def model_path(method: str, stem: Path) -> Path:
    if method.startswith("classify"):
        return stem
    return stem.with_name(stem.name + (".joblib" if method == "sklearn" else ".bin"))


def run_job(task: Task, method: str, cfg: Config, log: Log) -> dict:
    """Train ``method`` on the task and tag its test file, both as subprocesses."""
    slug = method.replace(" ", "").replace("-", "")
    model = model_path(method, task.work / f"model-{slug}")
    data = task.classify_data if method == "classify" else task.train_file
    log(f"accuracy {task.name}: {method} train ({len(task.train):,} records)")
    m = run_measured(train_cmd(method, data, model, cfg.seed), task.work / f"train-{slug}.out",
                     timeout=cfg.train_timeout, cwd=task.work, env=child_env(method))
    if not m.ok:
        log(f"accuracy {task.name}: {method} FAILED")
        return {"error": failure(m, f"{method} train"), "train": m.to_dict()}
    out = task.work / f"tags-{slug}.jsonl"
    t = run_measured(tag_cmd(method, model, task.test_file), out, timeout=cfg.tag_timeout,
                     cwd=task.work)
    if not t.ok:
        return {"error": failure(t, f"{method} tag"), "train": m.to_dict()}
    by_id = {}
    for line in out.read_text(encoding="utf-8").splitlines():
        if line.strip():
            rec = json.loads(line)
            by_id[str(rec.get("id"))] = rec
    missing = sum(str(i) not in by_id for i in range(len(task.test)))
    if missing:
        return {"error": f"{method} tag: {missing} records missing from the output",
                "train": m.to_dict()}
    recs = [by_id[str(i)] for i in range(len(task.test))]
    log(f"accuracy {task.name}: {method} done (train {m.wall_s:.1f} s)")
    res = {"topics": [r.get("topics") or [] for r in recs], "train": m.to_dict(),
           "tag": t.to_dict()}
    if method == "classify":
        res["stance"] = [r.get("stance") for r in recs]
    return res


def make_task(name: str, train: list[dict], test: list[dict], tmp: Path,
              classify_data: Path | None = None, **kw) -> Task:
    work = tmp / f"acc-{len(list(tmp.glob('acc-*')))}"
    work.mkdir(parents=True, exist_ok=True)
    train_file = bd.write_jsonl(work / "train.jsonl", (
        {"text": r["text"], "topics": list(r.get("topics") or []),
         "source": bd.source_of(r, i)} for i, r in enumerate(train)))
    test_file = bd.write_jsonl(work / "test.jsonl", bd.for_tagging(test))
    return Task(name, train, test, work, classify_data or train_file, train_file, test_file,
                **kw)


def accuracy_tasks(shared: Path, cfg: Config, tmp: Path, labels_dir: Path
                   ) -> tuple[list[Task], dict]:
    tasks = []
    notes: dict = {}
    for name in PUBLIC:
        path = shared / "public" / f"{name}.jsonl"
        if not path.exists():
            notes[name] = f"{path} not found"
            continue
        recs = bd.read_jsonl(path)
        if cfg.max_public:
            recs = bd.grouped_sample(recs, cfg.max_public, cfg.seed)
        train, test = bd.grouped_split(recs, cfg.test_share, cfg.seed)
        tasks.append(make_task(name, train, test, tmp))
    dev_path = shared / "devset" / "news_dev.jsonl"
    if not dev_path.exists() or not (labels_dir / "schema.json").is_file():
        notes[DEV_NAME] = f"{dev_path} or {labels_dir}/schema.json not found"
        return tasks, notes
    schema = json.loads((labels_dir / "schema.json").read_text(encoding="utf-8"))
    train = [r for r in bd.read_labels_dir(labels_dir) if r.get("topics") is not None]
    data_arg = labels_dir
    if cfg.max_labels:
        train = bd.grouped_sample(train, cfg.max_labels, cfg.seed)
        data_arg = tmp / "labels-sample"
        data_arg.mkdir(parents=True, exist_ok=True)
        shutil.copy(labels_dir / "schema.json", data_arg / "schema.json")
        bd.write_jsonl(data_arg / "sample.jsonl", train)
    dev = bd.read_jsonl(dev_path)
    tasks.append(make_task(DEV_NAME, train, dev, tmp, data_arg,
                           macro_labels=list(schema["topics"]),
                           stance_classes=list(schema["stance"])))
    return tasks, notes


def score_task(task: Task, preds: dict[str, dict]) -> dict:
    gold = [r.get("topics") or [] for r in task.test]
    labels = sorted({t for r in task.train for t in r.get("topics") or []})
    res: dict = {"dataset": task.name, "train": len(task.train), "test": len(task.test),
                 "labels": len(labels),
                 "multi_label": baselines.label_mode([r["topics"] for r in task.train])[0],
                 "methods": {}}
    for method, p in preds.items():
        if "error" in p:
            res["methods"][method] = {"error": p["error"]}
            continue
        s = label_scores(gold, p["topics"], task.macro_labels)
        entry = {"micro_f1": s["micro_f1"], "macro_f1": s["macro_f1"]}
        if task.macro_labels is not None:
            entry["per_label"] = s["per_label"]
        if task.stance_classes and p.get("stance") is not None:
            st = class_scores([r["stance"] for r in task.test], p["stance"], task.stance_classes)
            entry["stance_macro_f1"] = st["macro_f1"]
            entry["stance_per_class"] = st["per_class"]
        if "train" in p:
            entry["train_wall_s"] = p["train"]["wall_s"]
        res["methods"][method] = entry
    return res


def run_accuracy(shared: Path, cfg: Config, tmp: Path, log: Log) -> dict:
    tasks, notes = accuracy_tasks(shared, cfg, tmp, REPO / "labels")
    methods = [m for m in METHODS if m != "fasttext-tuned" or cfg.fasttext_tuned]
    with ThreadPoolExecutor(max_workers=max(1, cfg.workers)) as pool:
        # classify jobs first: they are the longest
        futures = {(t.name, m): pool.submit(run_job, t, m, cfg, log)
                   for m in methods for t in tasks}
        results = []
        for t in tasks:
            preds = {m: futures[(t.name, m)].result() for m in methods}
            if t.stance_classes:
                kw_topics, kw_stance = keywords.predict([r["text"] for r in t.test])
                preds["keywords"] = {"topics": kw_topics, "stance": kw_stance}
                preds["always neutral"] = {"topics": [[] for _ in t.test],
                                           "stance": ["neutral"] * len(t.test)}
            results.append(score_task(t, preds))
    return {"datasets": results, "notes": notes}


# ---------------------------------------------------------------- tagging speed


SPEED_SETS = {"headlines": "cap_nyt_headlines", "long": "reuters21578_modapte_train"}


def tagging_inputs(shared: Path, dataset: str, work: Path, cfg: Config
                   ) -> tuple[list[dict], Path, Path, Path]:
    """The records of a public ``dataset``, and in ``work`` its training file, a tagging
    input of ``cfg.tag_records`` of its texts (repeated, with ids) and a 1-record input."""
    recs = bd.read_jsonl(shared / "public" / f"{dataset}.jsonl")
    work.mkdir(parents=True, exist_ok=True)
    train_file = bd.write_jsonl(work / "train.jsonl", (
        {"text": r["text"], "topics": r["topics"], "source": bd.source_of(r, i)}
        for i, r in enumerate(recs)))
    big = bd.write_jsonl(work / "input.jsonl", bd.replicate_texts(recs, cfg.tag_records))
    one = bd.write_jsonl(work / "one.jsonl", bd.replicate_texts(recs, 1))
    return recs, train_file, big, one


def run_tagging(shared: Path, cfg: Config, tmp: Path, log: Log,
                dataset: str = "cap_nyt_headlines") -> dict:
    """Whole-process tagging speed of each tagger on ``cfg.tag_records`` texts of ``dataset``
    (repeated), with models trained on all of it."""
    # Byte-compile classify as a regular `pip install` does for every package (fastText's and
    # scikit-learn's included): an editable install under PYTHONDONTWRITEBYTECODE=1 would
    # otherwise recompile its sources at every start.
    compileall.compile_dir(REPO / "classify", quiet=1)
    work = tmp / f"speed-{dataset}"
    recs, train_file, big, one = tagging_inputs(shared, dataset, work, cfg)
    out: dict = {"dataset": dataset, "train_records": len(recs),
                 "mean_chars": sum(len(r["text"]) for r in recs) / max(1, len(recs)),
                 "records": cfg.tag_records, "models": {}, "runs": []}
    models = {}
    for method in ("classify", "sklearn", "fasttext"):
        models[method] = model_path(method, work / f"m-{method}")
        log(f"speed: training {method} on {dataset}")
        m = run_measured(train_cmd(method, train_file, models[method], cfg.seed),
                         work / f"train-{method}.out", timeout=cfg.train_timeout, cwd=work,
                         env=child_env(method))
        row = {**m.to_dict(), "model_mb": model_mb(models[method]) if m.ok else None}
        if not m.ok:
            row["error"] = failure(m, f"{method} train")
        out["models"][method] = row
    # Each tagger runs tag_repeats times, round-robin (so drifting machine load hits all of
    # them alike); the run with the median wall time is reported, with every wall time.
    walls: dict[str, list] = {name: [] for name in TAGGERS}
    for rep in range(cfg.tag_repeats):
        for name in TAGGERS:
            method = name.split()[0]
            if not out["models"][method]["ok"]:
                continue
            jobs = 2 if name.endswith("--jobs 2") else 1
            log(f"speed: tagging {cfg.tag_records:,} records with {name} "
                f"(run {rep + 1} of {cfg.tag_repeats})")
            o = work / f"tag-{name.replace(' ', '')}.jsonl"
            m = run_measured(tag_cmd(method, models[method], big, jobs), o,
                             timeout=cfg.tag_timeout, cwd=work)
            n_out = count_lines(o) if m.ok else 0
            walls[name].append((m, n_out))
    for name in TAGGERS:
        method = name.split()[0]
        jobs = 2 if name.endswith("--jobs 2") else 1
        row: dict = {"tagger": name, "records": cfg.tag_records}
        if not out["models"][method]["ok"]:
            row["error"] = f"no model: {out['models'][method]['error']}"
            out["runs"].append(row)
            continue
        runs = walls[name]
        failed = [m for m, _ in runs if not m.ok]
        m, n_out = sorted(runs, key=lambda r: r[0].wall_s)[len(runs) // 2]
        s = run_measured(tag_cmd(method, models[method], one, jobs),
                         work / f"tag-{name.replace(' ', '')}-one.jsonl",
                         timeout=cfg.tag_timeout, cwd=work)
        row.update(m.to_dict())
        row["wall_s_runs"] = [r.wall_s for r, _ in runs]
        row["startup_s"] = s.wall_s if s.ok else None
        if failed:
            row["error"] = failure(failed[0], f"{name} tag")
        else:
            row["records_per_s"] = cfg.tag_records / m.wall_s
            if n_out != cfg.tag_records:
                row["error"] = f"wrote {n_out} lines for {cfg.tag_records} records"
        log(f"speed: {name}: {row.get('records_per_s', 0):,.0f} records/s (median of "
            f"{len(runs)})")
        out["runs"].append(row)
    return out


# ---------------------------------------------------------------- tagging on a Dask cluster


class DaskCluster:
    """A scheduler and N worker processes started as `dask scheduler` / `dask worker`
    subprocesses on the loopback interface (as the README tells a user to), and a client
    of this process that restarts the workers before each timed run, so every run pays for
    the workers' imports and model loading as a cold cluster would."""

    def __init__(self, work: Path, workers: int) -> None:
        from distributed import Client

        dask = Path(sys.executable).parent / "dask"
        self.file = work / f"scheduler-{workers}.json"
        self.log = open(work / f"cluster-{workers}.log", "wb")  # noqa: SIM115 - see close
        self.procs = [subprocess.Popen(
            [str(dask), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(self.file)], stdout=self.log, stderr=self.log,
            start_new_session=True)]
        deadline = time.monotonic() + 60
        while not self.file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.procs.append(subprocess.Popen(
            [str(dask), "worker", "--scheduler-file", str(self.file), "--nworkers",
             str(workers), "--nthreads", "1", "--no-dashboard"], stdout=self.log,
            stderr=self.log, start_new_session=True))
        self.client = Client(scheduler_file=str(self.file), timeout="60s")
        self.client.wait_for_workers(workers, timeout=120)
        self.address = self.client.scheduler.address
        self.workers = workers

    def cold(self) -> None:
        """Fresh worker processes (not timed)."""
        self.client.restart(wait_for_workers=True)
        self.client.wait_for_workers(self.workers, timeout=120)

    def cpu_s(self) -> float:
        """CPU seconds (user + system) used so far by the scheduler and the worker processes
        alive now (with the nannies): the difference over a run is what the run cost the
        cluster, whatever else the machine is doing."""
        import psutil

        total = 0.0
        for p in self.procs:
            try:
                procs = [psutil.Process(p.pid), *psutil.Process(p.pid).children(recursive=True)]
            except psutil.Error:
                continue
            for q in procs:
                try:
                    t = q.cpu_times()
                except psutil.Error:
                    continue
                total += t.user + t.system
        return total

    def close(self) -> None:
        import contextlib
        import signal

        with contextlib.suppress(Exception):
            self.client.close()
        for p in reversed(self.procs):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        self.log.close()


def run_dask(shared: Path, cfg: Config, tmp: Path, log: Log) -> dict:
    """`classify tag --scheduler` against 1 and 2 local workers, and a plain local run, as
    whole processes on the same input; the cluster's start-up is not timed, the client's
    connection and the workers' model loading are."""
    compileall.compile_dir(REPO / "classify", quiet=1)
    work = tmp / "dask"
    _, train_file, big, one = tagging_inputs(shared, "cap_nyt_headlines", work, cfg)
    part = -(-big.stat().st_size // cfg.dask_partitions)
    model = work / "model"
    log("dask: training classify on cap_nyt_headlines")
    m = run_measured(train_cmd("classify", train_file, model, cfg.seed), work / "train.out",
                     timeout=cfg.train_timeout, cwd=work)
    out: dict = {"dataset": "cap_nyt_headlines", "records": cfg.tag_records,
                 "input_bytes": big.stat().st_size, "partition_bytes": part,
                 "partitions": cfg.dask_partitions, "cpus": os.cpu_count(), "runs": []}
    if not m.ok:
        out["error"] = failure(m, "classify train")
        return out
    base = tag_cmd("classify", model, big)
    clusters: dict[int, DaskCluster] = {}
    try:
        for n in (1, 2):
            log(f"dask: starting a scheduler and {n} worker process(es)")
            clusters[n] = DaskCluster(work, n)

        def cluster_of(name: str) -> DaskCluster | None:
            return None if name == "local" else clusters[2 if "2 workers" in name else 1]

        def command(name: str, inputs: Path, tag: str) -> tuple[list[str], Path | None]:
            c = cluster_of(name)
            if c is None:
                return [*tag_cmd("classify", model, inputs)], None
            c.cold()
            cmd = [*tag_cmd("classify", model, inputs), "--scheduler", c.address,
                   "--partition-size", str(part)]
            if not name.endswith("--output-dir"):
                return cmd, None
            d = work / f"parts-{tag}"
            shutil.rmtree(d, ignore_errors=True)
            return [*cmd, "--output-dir", str(d)], d

        expected = work / "expected.jsonl"
        e = run_measured(base, expected, timeout=cfg.tag_timeout, cwd=work)
        want = hashlib.sha256(expected.read_bytes()).hexdigest() if e.ok else None
        walls: dict[str, list] = {name: [] for name in DASK_RUNS}
        for rep in range(cfg.tag_repeats):
            for name in DASK_RUNS:
                log(f"dask: {cfg.tag_records:,} records, {name} (run {rep + 1} of "
                    f"{cfg.tag_repeats})")
                tag = name.replace(" ", "").replace(",", "-")
                cmd, parts = command(name, big, tag)
                o = work / f"tag-{tag}.jsonl"
                c = cluster_of(name)
                before = c.cpu_s() if c else 0.0
                r = run_measured(cmd, o, timeout=cfg.tag_timeout, cwd=work)
                r.cpu_s += (c.cpu_s() - before) if c else 0.0  # + the cluster's share
                data = b"".join(p.read_bytes() for p in sorted(parts.glob("part-*.jsonl"))) \
                    if parts is not None and r.ok else o.read_bytes()
                walls[name].append((r, hashlib.sha256(data).hexdigest() == want))
        local_wall = None
        for name in DASK_RUNS:
            runs = walls[name]
            r, same = sorted(runs, key=lambda x: x[0].wall_s)[len(runs) // 2]
            cmd, _ = command(name, one, "one")
            s = run_measured(cmd, work / "one.out", timeout=cfg.tag_timeout, cwd=work)
            row: dict = {"run": name, **r.to_dict(), "wall_s_runs": [x.wall_s for x, _ in runs],
                         "cpu_s_runs": [x.cpu_s for x, _ in runs],
                         "startup_s": s.wall_s if s.ok else None,
                         "identical": all(ok for _, ok in runs)}
            failed = [x for x, _ in runs if not x.ok]
            if failed:
                row["error"] = failure(failed[0], name)
            else:
                row["records_per_s"] = cfg.tag_records / r.wall_s
                if name == "local":
                    local_wall = r.wall_s
                elif local_wall:
                    row["vs_local"] = r.wall_s / local_wall - 1
            log(f"dask: {name}: {row.get('records_per_s', 0):,.0f} records/s, output "
                f"{'identical' if row['identical'] else 'DIFFERENT'}")
            out["runs"].append(row)
    finally:
        for c in clusters.values():
            c.close()
    return out


# ---------------------------------------------------------------- training scaling


def run_scaling(shared: Path, cfg: Config, tmp: Path, log: Log) -> dict:
    pools = [bd.read_jsonl(shared / "public" / f"{n}.jsonl")
             for n in ("cap_nyt_headlines", "cap_congress_bills")]
    work = tmp / "scaling"
    work.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    prev: dict[str, dict] = {}  # method -> last completed row
    blocked: dict[str, str] = {}  # method -> why larger sizes are not run
    for n in cfg.train_sizes:
        data = bd.write_jsonl(work / f"train-{n}.jsonl", bd.scaled_training_set(pools, n))
        for method in TRAIN_METHODS:
            row: dict = {"method": method, "records": n, "ok": False}
            p = prev.get(method)
            if method not in blocked and p is not None:
                projected = p["wall_s"] * n / p["records"]
                if projected > 2 * cfg.train_timeout:
                    row["projected_s"] = projected
                    blocked[method] = (f"linear projection from {p['records']:,} records "
                                       f"≈ {projected:,.0f} s, over 2× the "
                                       f"{cfg.train_timeout:.0f} s limit")
            if method in blocked:
                row["status"] = f"not run: {blocked[method]}"
                rows.append(row)
                continue
            slug = method.replace(" ", "").replace("-", "")
            model = model_path(method, work / f"m-{slug}-{n}")
            log(f"scaling: {method} on {n:,} records")
            m = run_measured(train_cmd(method, data, model, cfg.seed),
                             work / f"train-{slug}-{n}.out", timeout=cfg.train_timeout,
                             cwd=work, env=child_env(method))
            row.update(m.to_dict())
            if m.ok:
                row["status"] = "ok"
                row["model_mb"] = model_mb(model)
                prev[method] = row
            else:
                row["status"] = (f"killed at the {cfg.train_timeout:.0f} s limit" if m.timed_out
                                 else failure(m, "train"))
                blocked[method] = f"{row['status']} at {n:,} records"
            log(f"scaling: {method} on {n:,} records: {row['status']} ({m.wall_s:.1f} s)")
            rows.append(row)
            remove_model(model)
    return {"pools": ["cap_nyt_headlines", "cap_congress_bills"], "sizes": list(cfg.train_sizes),
            "timeout_s": cfg.train_timeout, "rows": rows}


# ---------------------------------------------------------------- environment


def environment() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    def ver(d: str) -> str:
        try:
            return version(d)
        except PackageNotFoundError:
            return "missing"

    def git(*a: str) -> str:
        try:
            return subprocess.run(["git", "-C", str(REPO), *a], capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    dirty = git("status", "--porcelain", "--", "classify", "labels")
    src = hashlib.sha256()
    for f in sorted((REPO / "classify").glob("*.py")):
        src.update(f.name.encode() + b"\0" + f.read_bytes())
    return {"python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "versions": {d: ver(d) for d in ("classify", "scikit-learn", "numpy", "scipy",
                                             "fasttext", "joblib")},
            "git_commit": git("rev-parse", "--short", "HEAD"),
            "classify_or_labels_modified": bool(dirty),
            "classify_source_sha256": src.hexdigest()[:16],
            "loadavg_start": list(os.getloadavg())}


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="small sizes (smoke test, a few minutes): capped datasets, 1k/5k "
                        "training sets, 10k tagging records, no tuned fastText")
    p.add_argument("--out", default=str(HERE / "out"), help="output directory")
    p.add_argument("--shared", default=str(REPO.parent / "shared"),
                   help="the shared data directory")
    p.add_argument("--seed", type=int, default=0, help="seed for splits, samples and models")
    p.add_argument("--only", choices=("accuracy", "public-cv", "speed", "scaling", "dask"),
                   action="append",
                   help="run only these sections (repeatable); default: all")
    p.add_argument("--train-timeout", type=float, default=None,
                   help="seconds before one training run is killed "
                        "(default 600, quick 120)")
    p.add_argument("--workers", type=int, default=None,
                   help="parallel classify runs in the accuracy section (not in timed "
                        "sections; default 2)")
    p.add_argument("--keep-tmp", action="store_true", help="keep the temporary directory")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cfg = make_config(args)
    shared = Path(args.shared).resolve()
    out_dir = Path(args.out).resolve()
    if not (shared / "public").is_dir():
        print(f"error: {shared}/public not found (use --shared)", file=sys.stderr)
        return 2
    out_dir.mkdir(parents=True, exist_ok=True)
    log = Log()
    sections = args.only or ["accuracy", "public-cv", "speed", "scaling", "dask"]
    results: dict = {"mode": "quick" if cfg.quick else "full", "seed": cfg.seed,
                     "config": {k: v for k, v in vars(cfg).items() if k != "extra"},
                     "environment": environment(), "shared": str(shared)}
    tmp = Path(tempfile.mkdtemp(prefix="classify-bench-"))
    log(f"temporary directory {tmp}")
    try:
        if "accuracy" in sections:
            results["accuracy"] = run_accuracy(shared, cfg, tmp, log)
        if "public-cv" in sections:
            # a child process: run in this one, its memory would count in the peak RSS of
            # every process forked after it
            out = tmp / "public_cv.json"
            log("public-cv: benchmarks/public_cv.py (Reuters, SemEval training splits)")
            subprocess.run([sys.executable, str(HERE / "public_cv.py"), "--shared", str(shared),
                            "--folds", "3" if cfg.quick else "5", "--json", str(out),
                            *([] if cfg.fasttext_tuned else ["--no-fasttext"])],
                           check=True, stdout=subprocess.DEVNULL)
            results["public_cv"] = json.loads(out.read_text(encoding="utf-8"))
        if "speed" in sections:
            results["tagging"] = {kind: run_tagging(shared, cfg, tmp, log, name)
                                  for kind, name in SPEED_SETS.items()}
        if "scaling" in sections:
            results["scaling"] = run_scaling(shared, cfg, tmp, log)
        if "dask" in sections:
            results["dask"] = run_dask(shared, cfg, tmp, log)
    finally:
        if args.keep_tmp:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    results["environment"]["loadavg_end"] = list(os.getloadavg())
    results["harness_wall_s"] = time.perf_counter() - log.t0
    md = render_markdown(results)
    (out_dir / "results.md").write_text(md, encoding="utf-8")
    (out_dir / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False)
                                          + "\n", encoding="utf-8")
    render_plot(results, out_dir / "scaling.png")
    sys.stdout.write(md)
    log(f"wrote {out_dir / 'results.md'}, results.json, scaling.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
