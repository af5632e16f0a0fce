"""Rendering benchmark results: Markdown tables and the scaling plot."""

from __future__ import annotations

from pathlib import Path

METHOD_NAMES = {"classify": "classify (default)", "sklearn": "TF-IDF + LinearSVC",
                "fasttext": "fastText default", "fasttext-tuned": "fastText tuned",
                "keywords": "keyword regexes", "always neutral": "always neutral"}
ACC_METHODS = ("classify", "sklearn", "fasttext", "fasttext-tuned")
DEV_METHODS = ("classify", "keywords", "sklearn", "fasttext", "fasttext-tuned")


def _f(x: float | None, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _num(x: float | None, digits: int = 1) -> str:
    if x is None:
        return "–"
    return f"{x:,.{digits}f}"


def _table(header: list[str], rows: list[list[str]], align: str | None = None) -> list[str]:
    align = align or "l" + "r" * (len(header) - 1)
    sep = ["---:" if a == "r" else "---" for a in align]
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def _errors(entries: list[tuple[str, dict]]) -> list[str]:
    return [f"- **{name}**: {e['error']}" for name, e in entries if e.get("error")]


# ---------------------------------------------------------------- sections


def _accuracy(acc: dict) -> list[str]:
    lines = ["## 1. Accuracy on held-out data", "",
             "Micro-F1 / macro-F1 on the test side of a seeded 80/20 split grouped by "
             "`source` (public sets), and labels/ → dev set for the project's own task. "
             "Single-label sets: every method predicts exactly one topic (micro-F1 = accuracy); "
             "labels/ is multi-label (0–4 topics a sentence): classify uses its tuned "
             "thresholds, LinearSVC decision > 0 per topic, fastText p ≥ 0.5.", ""]
    present = [m for m in ACC_METHODS if any(m in d["methods"] for d in acc["datasets"])]
    header = ["dataset", "train / test", "labels", *(METHOD_NAMES[m] for m in present)]
    rows = []
    errs = []
    for d in acc["datasets"]:
        cells = []
        best = max((e.get("micro_f1", -1) + e.get("macro_f1", -1))
                   for m, e in d["methods"].items() if m in present)
        for m in present:
            e = d["methods"].get(m)
            if e is None:
                cells.append("not run")
            elif "error" in e:
                cells.append("failed")
                errs.append((f"{d['dataset']} / {m}", e))
            else:
                cell = f"{_f(e['micro_f1'])} / {_f(e['macro_f1'])}"
                if abs(e["micro_f1"] + e["macro_f1"] - best) < 1e-12:
                    cell = f"**{cell}**"
                cells.append(cell)
        kind = "multi" if d["multi_label"] else "single"
        rows.append([d["dataset"], f"{d['train']:,} / {d['test']:,}",
                     f"{d['labels']} ({kind})", *cells])
    lines += _table(header, rows, "lrr" + "r" * len(present))
    lines += ["", "Bold: best micro+macro in the row."]
    for name, note in acc.get("notes", {}).items():
        lines.append(f"- {name}: {note}")
    lines += _errors(errs)
    return lines + [""]


def _devset(acc: dict) -> list[str]:
    dev = next((d for d in acc["datasets"] if "devset" in d["dataset"]), None)
    if dev is None:
        return []
    ms = dev["methods"]
    present = [m for m in DEV_METHODS if m in ms and "error" not in ms[m]]
    topics = list(next(iter(ms[m]["per_label"] for m in present)))
    lines = ["## 2. Dev set: labels/ → news_dev.jsonl, per topic and stance", "",
             f"Trained on the project's labels/ ({dev['train']:,} sentences), scored on the "
             f"{dev['test']:,} hand-labelled dev sentences. F1 per topic; macro-F1 is over the "
             "four schema topics. The keyword baseline is benchmarks/keywords.py (regular "
             "expressions from the labelling guide, not tuned on the dev set).", ""]
    header = ["topic", "dev n", *(METHOD_NAMES[m] for m in present)]
    rows = []
    for t in topics:
        sup = ms[present[0]]["per_label"][t]["support"]
        rows.append([t, str(sup), *(_f(ms[m]["per_label"][t]["f1"]) for m in present)])
    rows.append(["**micro-F1**", "", *(_f(ms[m]["micro_f1"]) for m in present)])
    rows.append(["**macro-F1 (topics)**", "", *(_f(ms[m]["macro_f1"]) for m in present)])
    rows.append(["**stance macro-F1**", "",
                 *(_f(ms[m].get("stance_macro_f1")) for m in present)])
    lines += _table(header, rows)
    stance_methods = [m for m in ("classify", "keywords", "always neutral")
                      if m in ms and "stance_per_class" in ms[m]]
    if stance_methods:
        classes = list(ms[stance_methods[0]]["stance_per_class"])
        lines += ["", "Stance F1 per class (TF-IDF+LinearSVC and fastText are topic-only "
                      "here):", ""]
        rows = []
        for c in classes:
            sup = ms[stance_methods[0]]["stance_per_class"][c]["support"]
            rows.append([c, str(sup), *(_f(ms[m]["stance_per_class"][c]["f1"])
                                        for m in stance_methods)])
        rows.append(["**macro-F1**", "", *(_f(ms[m]["stance_macro_f1"])
                                           for m in stance_methods)])
        lines += _table(["stance", "dev n", *(METHOD_NAMES[m] for m in stance_methods)], rows)
    lines += _errors([(f"dev / {m}", ms[m]) for m in ms if "error" in ms[m]])
    return lines + [""]


def speed_ratios(tag: dict) -> dict[str, float]:
    """classify's wall time over fastText's, per tagger of classify (default flags first)."""
    walls = {r["tagger"]: r["wall_s"] for r in tag["runs"] if r.get("records_per_s")}
    ft = walls.get("fasttext")
    return {name: w / ft for name, w in walls.items() if name.startswith("classify") and ft}


def _tagging_sets(tagging: dict) -> list[str]:
    if "runs" in tagging:  # one dataset (results of older runs)
        tagging = {"headlines": tagging}
    lines = ["## 3. Tagging speed (whole process)", "",
             "Wall time of classify over fastText's (lower is faster), same records, same "
             "machine, default flags (`classify` runs with `--jobs auto`):", ""]
    rows = []
    for kind, tag in tagging.items():
        r = speed_ratios(tag)
        rows.append([f"{kind} ({tag['dataset']}, mean {tag.get('mean_chars', 0):.0f} chars)",
                     f"{tag['records']:,}", *(_num(r.get(k), 2) for k in
                                              ("classify", "classify --jobs 2"))])
    lines += _table(["records", "n", "classify / fastText", "classify --jobs 2 / fastText"],
                    rows) + [""]
    for kind, tag in tagging.items():
        lines += [f"### {kind}", ""] + _tagging(tag)[2:]
    return lines


def _tagging(tag: dict) -> list[str]:
    lines = ["## 3. Tagging speed (whole process)", "",
             f"{tag['records']:,} records ({tag['dataset']} texts repeated, with ids), "
             f"models trained on all {tag['train_records']:,} {tag['dataset']} records. Wall "
             "time of one fresh process: start-up, model load, reading, predicting, writing "
             "JSONL; each tagger ran several times, in turn with the others, and the run with "
             "the median wall time is shown (*all runs*: every wall time, to see the noise). "
             "*start-up* is the same command on a 1-record file. Peak RSS is the "
             "largest single process (`ru_maxrss`); tree RSS sums the process and its workers "
             "(sampled every 20–200 ms).", ""]
    rows = []
    for r in tag["runs"]:
        if r.get("error") and "records_per_s" not in r:
            rows.append([r["tagger"], "failed", "", "", "", "", "", ""])
            continue
        rows.append([r["tagger"], _num(r.get("records_per_s"), 0), _num(r["wall_s"], 2),
                     " ".join(f"{w:.2f}" for w in r.get("wall_s_runs", [])),
                     _num(r["cpu_s"]), _num(r.get("startup_s"), 2), _num(r["peak_rss_mb"], 0),
                     _num(r["tree_rss_mb"], 0)])
    lines += _table(["tagger", "records/s", "wall s", "all runs s", "CPU s", "start-up s",
                     "peak RSS MB", "tree RSS MB"], rows)
    lines += ["", f"Training the models used above (all {tag['dataset']}):", ""]
    rows = []
    for name, m in tag["models"].items():
        rows.append([name, _num(m["wall_s"]), _num(m["cpu_s"]), _num(m["peak_rss_mb"], 0),
                     _num(m.get("model_mb"), 1), "ok" if m["ok"] else "failed"])
    lines += _table(["model", "train wall s", "CPU s", "peak RSS MB", "model MB", "status"],
                    rows)
    lines += _errors([(r["tagger"], r) for r in tag["runs"]])
    lines += _errors(list(tag["models"].items()))
    return lines + [""]


def _scaling(sc: dict) -> list[str]:
    lines = ["## 4. Training time and memory vs training-set size", "",
             "cap_nyt_headlines + cap_congress_bills texts cycled to the size, copies made "
             "distinct with a ` (vK)` suffix (all copies of a text share one `source`). "
             f"Whole `train` process; runs are killed after {sc['timeout_s']:.0f} s. "
             "classify runs through its CLI (`train --quiet`, and `--fast`). Replicated texts "
             "make the problem easier to fit but slower to converge for liblinear-style solvers "
             "(k copies of a record act like k× larger C); classify also drops the few exact "
             "duplicate texts the public sets contain.", ""]
    rows = []
    for r in sc["rows"]:
        if r.get("ok"):
            rows.append([r["method"], f"{r['records']:,}", _num(r["wall_s"]), _num(r["cpu_s"]),
                         _num(r["peak_rss_mb"], 0), _num(r.get("model_mb"), 1), "ok"])
        else:
            wall = _num(r["wall_s"]) if "wall_s" in r else "–"
            rows.append([r["method"], f"{r['records']:,}", wall, "–", "–", "–", r["status"]])
    lines += _table(["method", "records", "wall s", "CPU s", "peak RSS MB", "model MB",
                     "status"], rows, "lrrrrrl")
    return lines + [""]


def _dask(d: dict) -> list[str]:
    lines = ["## 5. Tagging on a Dask cluster (whole process)", "",
             f"{d['records']:,} records ({d['input_bytes'] / 2**20:.1f} MB of JSONL, "
             "cap_nyt_headlines texts repeated) tagged by `classify tag --format jsonl`: "
             "locally, and with `--scheduler` against a `dask scheduler` with 1 and with 2 "
             "`dask worker` processes (1 thread each) on this machine "
             f"({d.get('cpus')} CPUs, shared by the client, the scheduler and the workers), "
             f"input cut into {d['partitions']} partitions of "
             f"{d['partition_bytes'] / 1024:,.0f} KB. The cluster is started before timing, "
             "and its workers are restarted before every run, so each timed run pays for "
             "the client's imports and connection and the workers' imports and model "
             "loading. *vs local*: wall time over the local run's, minus one (negative: "
             "faster). *CPU s*: user + system seconds of every process of the run: the "
             "client and, for the cluster runs, the scheduler and the workers (the median "
             "run's; less sensitive than wall time to whatever else the machine runs). "
             "*start-up*: the same command on a 1-record file. *identical*: every run's "
             "output (stdout, or the part files concatenated) equals the local output byte "
             "for byte. No memory column: a child's `ru_maxrss` starts from its parent's, and "
             "the harness holds Dask clients here.", ""]
    if d.get("error"):
        return [*lines, f"- **failed**: {d['error']}", ""]
    rows = []
    for r in d["runs"]:
        if "records_per_s" not in r:
            rows.append([r["run"], "failed", "", "", "", "", "", ""])
            continue
        vs = r.get("vs_local")
        rows.append([r["run"], _num(r["records_per_s"], 0), _num(r["wall_s"], 2),
                     " ".join(f"{w:.2f}" for w in r.get("wall_s_runs", [])),
                     "" if vs is None else f"{vs:+.0%}", _num(r["cpu_s"], 2),
                     _num(r.get("startup_s"), 2), "yes" if r.get("identical") else "NO"])
    lines += _table(["run", "records/s", "wall s", "all runs s", "vs local", "CPU s",
                     "start-up s", "identical"], rows, "lrrrrrrl")
    lines += _errors([(r["run"], r) for r in d["runs"]])
    return lines + [""]


def render_markdown(res: dict) -> str:
    env = res["environment"]
    v = env["versions"]
    la0 = ", ".join(f"{x:.2f}" for x in env["loadavg_start"])
    la1 = ", ".join(f"{x:.2f}" for x in env.get("loadavg_end", []))
    lines = [f"# classify benchmarks ({res['mode']} run)", "",
             f"seed {res['seed']} · commit {env['git_commit'] or '?'}"
             f"{' (classify/ or labels/ modified)' if env['classify_or_labels_modified'] else ''}"
             f" · classify source sha256 {env.get('classify_source_sha256', '?')}"
             f" · Python {env['python']} · {env['cpus']} CPUs · classify {v['classify']}, "
             f"scikit-learn {v['scikit-learn']}, numpy {v['numpy']}, fasttext {v['fasttext']}"
             f" · load average at start {la0}, at end {la1} · harness wall time "
             f"{res.get('harness_wall_s', 0) / 60:.1f} min", ""]
    if "accuracy" in res:
        lines += _accuracy(res["accuracy"])
        lines += _devset(res["accuracy"])
    if "public_cv" in res:
        from public_cv import table

        lines += ["## Public training splits with sealed test splits (cross-validation)", "",
                  "Reuters-21578 ModApte and SemEval-2016 task 6A: only their training splits "
                  "are here, so these rows are cross-validation on them "
                  "(`benchmarks/public_cv.py`; classify with default settings, its model "
                  "search inside every training fold).", "", table(res["public_cv"]), ""]
    if "tagging" in res:
        lines += _tagging_sets(res["tagging"])
    if "scaling" in res:
        lines += _scaling(res["scaling"])
    if "dask" in res:
        lines += _dask(res["dask"])
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------- plot


def render_plot(res: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(16, 4.8))
    sc = res.get("scaling")
    if sc:
        methods = list(dict.fromkeys(r["method"] for r in sc["rows"]))
        for m in methods:
            ok = [r for r in sc["rows"] if r["method"] == m and r.get("ok")]
            xs = [r["records"] for r in ok]
            line = ax1.plot(xs, [r["wall_s"] for r in ok], "o-", label=m)[0]
            ax2.plot(xs, [r["peak_rss_mb"] for r in ok], "o-", label=m, color=line.get_color())
            over = [r for r in sc["rows"] if r["method"] == m and not r.get("ok")
                    and "wall_s" in r]
            if over:
                ax1.plot([r["records"] for r in over], [r["wall_s"] for r in over], "x",
                         color=line.get_color(), markersize=10, mew=2)
        ax1.axhline(sc["timeout_s"], color="grey", ls=":", lw=1)
        ax1.text(min(sc["sizes"]), sc["timeout_s"] * 1.08,
                 "time limit (x = killed / failed)", color="grey", fontsize=8)
        for ax, label, title in ((ax1, "training wall time (s)", "Training time vs size"),
                                 (ax2, "peak RSS (MB)", "Training peak memory vs size")):
            ax.set_xscale("log")
            ax.set_xticks(sc["sizes"], [f"{n:,}" for n in sc["sizes"]])
            ax.minorticks_off()
            ax.set_xlabel("training records")
            ax.set_ylabel(label)
            ax.set_title(title)
            ax.grid(True, alpha=0.3)
        ax1.set_yscale("log")
        ax1.legend(fontsize=8, loc="lower right")
        ax2.set_ylim(bottom=0)
        ax2.legend(fontsize=8, loc="upper left")
    else:
        ax1.set_axis_off()
        ax2.set_axis_off()
    tag = res.get("tagging")
    if tag and "runs" not in tag:
        tag = tag.get("headlines")
    if tag:
        runs = [r for r in tag["runs"] if r.get("records_per_s")]
        names = [r["tagger"] for r in runs]
        vals = [r["records_per_s"] for r in runs]
        bars = ax3.bar(range(len(vals)), vals, color="tab:blue")
        ax3.set_xticks(range(len(vals)), names, rotation=15, fontsize=8)
        for b, v in zip(bars, vals, strict=True):
            ax3.text(b.get_x() + b.get_width() / 2, v, f"{v:,.0f}", ha="center",
                     va="bottom", fontsize=8)
        ax3.set_ylabel("records / second (whole process)")
        ax3.set_title(f"Tagging throughput, {tag['records']:,} records")
        ax3.grid(True, axis="y", alpha=0.3)
    else:
        ax3.set_axis_off()
    fig.suptitle(f"classify benchmarks ({res['mode']} run)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
