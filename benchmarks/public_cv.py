"""5-fold cross-validation on the two public training splits whose test splits are sealed.

    python benchmarks/public_cv.py [--shared ../shared] [--folds 5] [--only reuters|semeval]
                                   [--no-fasttext] [--json OUT.json]

- Reuters-21578 ModApte training split (7,770 documents, 90 categories, multi-label): folds by
  iterative stratification, grouped by normalised text so a duplicated document stays in one
  fold; micro-F1 and macro-F1 (scikit-learn, over the 90 labels) of the pooled out-of-fold
  predictions.
- SemEval-2016 task 6A training split (2,914 tweets, 5 targets): one model per target, as the
  task is set; stratified folds within each target; the task's measure, F-avg: the mean of
  the F1 of FAVOR and of AGAINST over all targets' pooled out-of-fold predictions.

Methods: classify with default settings (``train_model``, the same code as ``classify
train``: the model search runs inside every training fold), TF-IDF + LinearSVC
(``baselines.sklearn_fit``) and tuned fastText (``baselines.fasttext_fit``, if installed).
Training time is the mean wall time of one fold's training. Everything is seeded.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

import baselines  # noqa: E402

from classify.data import Record  # noqa: E402
from classify.model import TrainOptions, train_model  # noqa: E402
from classify.splits import group_folds  # noqa: E402


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def reuters(shared: Path, k: int, methods: list[str], log) -> dict:
    from sklearn.metrics import f1_score
    from sklearn.preprocessing import MultiLabelBinarizer

    rows = read(shared / "public" / "reuters21578_modapte_train.jsonl")
    texts = [r["text"] for r in rows]
    topics = [list(r.get("topics") or []) for r in rows]
    mlb = MultiLabelBinarizer().fit(topics)
    Y = mlb.transform(topics)
    gid: dict[str, int] = {}
    groups = np.array([gid.setdefault(_norm(t), len(gid)) for t in texts])
    folds = group_folds(Y, groups, k, 0)
    out = {}
    for method in methods:
        pred: list[list[str]] = [[] for _ in rows]
        secs = []
        for i, (tr, te) in enumerate(folds, 1):
            t0 = time.perf_counter()
            tr_texts = [texts[j] for j in tr]
            te_texts = [texts[j] for j in te]
            if method == "classify":
                recs = [Record(texts[j], tuple(topics[j]), None, f"doc{j}") for j in tr]
                labels = sorted({t for j in tr for t in topics[j]})
                model = train_model(recs, labels, [], TrainOptions(seed=0))
                secs.append(time.perf_counter() - t0)
                P, _ = model.scores(te_texts)
                D = model.decide(P)
                names = model.topic_labels
                for row, j in zip(D, te, strict=True):
                    pred[j] = [names[c] for c in np.flatnonzero(row)]
            elif method == "sklearn":
                m = baselines.sklearn_fit(tr_texts, [topics[j] for j in tr])
                secs.append(time.perf_counter() - t0)
                for p, j in zip(baselines.sklearn_predict(m, te_texts), te, strict=True):
                    pred[j] = p
            else:
                m, info = baselines.fasttext_fit(tr_texts, [topics[j] for j in tr], tuned=True)
                secs.append(time.perf_counter() - t0)
                for p, j in zip(baselines.fasttext_predict(m, info, te_texts), te, strict=True):
                    pred[j] = p
            log(f"reuters {method} fold {i}/{k}: {secs[-1]:.1f} s")
        D = mlb.transform([[t for t in p if t in set(mlb.classes_)] for p in pred])
        out[method] = {"micro_f1": float(f1_score(Y, D, average="micro", zero_division=0)),
                       "macro_f1": float(f1_score(Y, D, average="macro", zero_division=0)),
                       "train_s": float(np.mean(secs))}
    return out


def semeval(shared: Path, k: int, methods: list[str], log) -> dict:
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    rows = read(shared / "public" / "semeval2016_stance_train.jsonl")
    targets = sorted({r["target"] for r in rows})
    out = {}
    for method in methods:
        gold: list[str] = []
        pred: list[str] = []
        secs = []
        for target in targets:
            sub = [r for r in rows if r["target"] == target]
            texts = [r["text"] for r in sub]
            y = np.array([r["stance"] for r in sub])
            skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=0)
            for tr, te in skf.split(texts, y):
                t0 = time.perf_counter()
                te_texts = [texts[j] for j in te]
                if method == "classify":
                    recs = [Record(texts[j], None, str(y[j]), f"tweet{j}") for j in tr]
                    model = train_model(recs, [], sorted(set(y[tr].tolist())),
                                        TrainOptions(seed=0))
                    secs.append(time.perf_counter() - t0)
                    _, S = model.scores(te_texts)
                    names = model.stance_labels
                    p = [names[c] for c in np.argmax(S, axis=1)]
                elif method == "sklearn":
                    m = baselines.sklearn_fit([texts[j] for j in tr], [[y[j]] for j in tr])
                    secs.append(time.perf_counter() - t0)
                    p = [ls[0] if ls else "NONE" for ls in baselines.sklearn_predict(m, te_texts)]
                else:
                    m, info = baselines.fasttext_fit([texts[j] for j in tr],
                                                     [[y[j]] for j in tr], tuned=True)
                    secs.append(time.perf_counter() - t0)
                    p = [ls[0] if ls else "NONE"
                         for ls in baselines.fasttext_predict(m, info, te_texts)]
                gold.extend(y[te].tolist())
                pred.extend(p)
            log(f"semeval {method} {target}: done")
        f = f1_score(gold, pred, labels=["FAVOR", "AGAINST"], average=None, zero_division=0)
        out[method] = {"f_avg": float(100 * f.mean()), "f1_favor": float(f[0]),
                       "f1_against": float(f[1]), "train_s": float(np.mean(secs))}
    return out


def table(res: dict) -> str:
    names = {"classify": "classify (defaults)", "sklearn": "TF-IDF + LinearSVC",
             "fasttext": "fastText tuned"}
    lines = []
    if "reuters" in res:
        lines += ["| Reuters ModApte train, 5-fold CV | micro-F1 | macro-F1 | train s / fold |",
                  "|---|---:|---:|---:|"]
        for m, r in res["reuters"].items():
            lines.append(f"| {names[m]} | {r['micro_f1']:.3f} | {r['macro_f1']:.3f} | "
                         f"{r['train_s']:.1f} |")
        lines.append("")
    if "semeval" in res:
        lines += ["| SemEval-2016 6A train, 5-fold CV per target | F-avg | F1 FAVOR | "
                  "F1 AGAINST | train s / fold |", "|---|---:|---:|---:|---:|"]
        for m, r in res["semeval"].items():
            lines.append(f"| {names[m]} | {r['f_avg']:.2f} | {r['f1_favor']:.3f} | "
                         f"{r['f1_against']:.3f} | {r['train_s']:.2f} |")
    return "\n".join(lines)


def run(shared: Path, folds: int = 5, only: list[str] | None = None,
        fasttext: bool = True, log=lambda msg: print(msg, file=sys.stderr, flush=True)
        ) -> dict:
    methods = ["classify", "sklearn"]
    if fasttext:
        try:
            import fasttext as _  # noqa: F401

            methods.append("fasttext")
        except ImportError:
            log("fasttext is not installed (pip install -e '.[bench]'): its rows are left out")
    res = {}
    if not only or "reuters" in only:
        res["reuters"] = reuters(shared, folds, methods, log)
    if not only or "semeval" in only:
        res["semeval"] = semeval(shared, folds, methods, log)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", default=str(REPO.parent / "shared"))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--only", choices=("reuters", "semeval"), action="append")
    ap.add_argument("--no-fasttext", action="store_true")
    ap.add_argument("--json", metavar="OUT.json", help="also write the numbers as JSON")
    args = ap.parse_args()
    res = run(Path(args.shared), args.folds, args.only, not args.no_fasttext)
    print(table(res))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
