"""Step 39's reading (not adopted): naive-Bayes-scaled stance features against the bundled
stance model (``step39_rule.md``).

Refits only the stance part of the bundled model on its own training records and features
(``labels/`` with its recipe): per stance class, one-vs-rest logistic regression on the
features scaled by the naive-Bayes log-count ratio (Wang and Manning 2012), weights folded
back. Without ``--confirm`` it scores the rule's grid on the four tuning sets; with
``--confirm A C`` it scores that pick on the tuning and the nine confirmation sets and prints
the rule's paired bootstrap. Needs the AG files of ``benchmarks/data/README.md``.

    python benchmarks/candidates/step39_nb_stance.py [--confirm 1.0 4.0]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import f1_score

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import devsplit  # noqa: E402
import probes  # noqa: E402

from classify import api  # noqa: E402
from classify.estimators import _fit_binary  # noqa: E402
from classify.model import sample_weights, stance_proba  # noqa: E402

TUNE = ["nyt-headlines-rest", "ag-wire-2-rest", "nyt-headlines-fresh"]
CONFIRM = ["ag-wire-test", "ag-wire", "ag-wire-2", "nyt-headlines", "reuters-ledes",
           "bbc-sentences", "ag-test-descriptions", "ag-world-tech"]


def macro(g: np.ndarray, p: np.ndarray) -> float:
    return float(f1_score(g, p, average="macro", labels=[0, 1, 2], zero_division=0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--confirm", nargs=2, type=float, metavar=("A", "C"))
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    args = ap.parse_args()

    _, weights, _ = api.with_recipe(None, None, None, True)
    recs = [r for r in api.load_data(None, None, weights, None).records if r.stance is not None]
    _, base = api.load_model(ROOT / "models" / "default").estimators()
    classes = [str(c) for c in base.classes_]
    y = np.array([classes.index(r.stance) for r in recs])
    sw = sample_weights(recs)
    w = np.ones(len(y)) if sw is None else sw
    X = base.vectorizer_.transform([r.text for r in recs]).tocsr()
    Xb = X.copy()
    Xb.data[:] = 1.0

    def fit(alpha: float, C: float) -> tuple[np.ndarray, np.ndarray]:
        coefs, icpts = [], []
        for c in range(len(classes)):
            yc = y == c
            p = alpha + np.asarray(Xb[yc].T @ w[yc]).ravel()
            q = alpha + np.asarray(Xb[~yc].T @ w[~yc]).ravel()
            r = np.log(p / p.sum()) - np.log(q / q.sum())
            Xc = (X @ sp.diags(r)).tocsr()
            Xc.sort_indices()
            f = _fit_binary(Xc, yc.astype(int), C, 0, class_weight="balanced", sample_weight=sw)
            coefs.append(f.coef.astype(np.float64) * r)
            icpts.append(f.intercept)
        return np.vstack(coefs), np.array(icpts)

    dev = devsplit.load(args.shared)
    sets = {"dev-tune": [r for r in dev if r["half"] == "tune"]}
    sets.update({n: probes.load(n, args.shared) for n in TUNE})
    if args.confirm:
        sets["dev-confirm"] = [r for r in dev if r["half"] == "confirm"]
        sets.update({n: probes.load(n, args.shared) for n in CONFIRM})
    mats = {k: base.vectorizer_.transform([r["text"] for r in v]) for k, v in sets.items()}
    gold = {k: np.array([classes.index(r["stance"]) for r in v]) for k, v in sets.items()}

    def predict(coef: np.ndarray, icpt: np.ndarray) -> dict[str, np.ndarray]:
        return {k: np.argmax(stance_proba(np.asarray(M @ coef.T) + icpt), axis=1)
                for k, M in mats.items()}

    runs = {"bundled": predict(base.coef_.astype(np.float64), base.intercept_)}
    grid = ([tuple(args.confirm)] if args.confirm else
            [(a, C) for a in (0.25, 0.5, 1.0) for C in (1.0, 4.0, 16.0)])
    for a, C in grid:
        runs[f"a={a:g} C={C:g}"] = predict(*fit(a, C))
    names = list(sets)
    print("| stance macro-F1 | " + " | ".join(names) + " | mean of the tuning four |")
    print("|---" * (len(names) + 2) + "|")
    for name, pred in runs.items():
        row = {k: macro(gold[k], pred[k]) for k in names}
        tune = np.mean([row[k] for k in ["dev-tune", *TUNE]])
        print(f"| {name} | " + " | ".join(f"{row[k]:.4f}" for k in names) + f" | {tune:.4f} |")
    if args.confirm:
        base_p, cand = runs["bundled"], runs[f"a={args.confirm[0]:g} C={args.confirm[1]:g}"]
        conf = ["dev-confirm", *CONFIRM]
        rng = np.random.default_rng(39)
        diffs = []
        for _ in range(2000):
            d = []
            for k in conf:
                i = rng.integers(0, len(gold[k]), len(gold[k]))
                d.append(macro(gold[k][i], cand[k][i]) - macro(gold[k][i], base_p[k][i]))
            diffs.append(np.mean(d))
        mean = np.mean([macro(gold[k], cand[k]) - macro(gold[k], base_p[k]) for k in conf])
        print(f"\nnine confirmation sets: mean change {mean:+.4f}, paired bootstrap above zero "
              f"in {np.mean(np.array(diffs) > 0):.1%} of 2,000 resamples")


if __name__ == "__main__":
    main()
