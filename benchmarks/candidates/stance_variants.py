"""The readings of steps 39 to 42: stance variants against the bundled
stance model (``step39_rule.md`` to ``step42_rule.md``).

Refits only the stance part of the bundled model on its own training records and features
(``labels/`` with its recipe), per stance class one-vs-rest logistic regression, balanced:

- ``--step 39``: the features scaled by the naive-Bayes log-count ratio (Wang and Manning
  2012) with smoothing ``a``, the weights folded back;
- ``--step 40``: a subset of the same columns (``W2L`` word 1-2-grams and the lexicon
  features, ``W2`` word 1-2-grams, ``W1L`` word unigrams and the lexicon features), zero
  weight elsewhere;
- ``--step 41``: the four lexicon columns multiplied by ``s`` (2, 4 or 8), the factor folded
  into their weights;
- ``--step 42``: the four lexicon columns recomputed with the words of
  ``step42_news_stance_words.tsv`` added to VADER (variant ``A``; ``B`` also replaces nine
  VADER valences), C = 4 only.

Without ``--confirm`` it scores the rule's grid on the four tuning sets; with ``--confirm
VARIANT C`` it scores that pick on the tuning and the confirmation sets (nine; seven for
step 42) and prints the
rule's paired bootstrap. Needs the AG files of ``benchmarks/data/README.md``.

    python benchmarks/candidates/stance_variants.py --step 39 [--confirm 1 4]
    python benchmarks/candidates/stance_variants.py --step 40 [--confirm W2L 4]
    python benchmarks/candidates/stance_variants.py --step 41 [--confirm 4 4]
    python benchmarks/candidates/stance_variants.py --step 42 [--confirm A 4]
"""

from __future__ import annotations

import argparse
import copy
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
# step 42: nyt-headlines and ag-wire informed step 15's error categories, which named some of
# the words; they are reported but left out of the confirmation (step42_rule.md)
CONFIRM_42 = [n for n in CONFIRM if n not in ("ag-wire", "nyt-headlines")]
WORDS_42 = Path(__file__).with_name("step42_news_stance_words.tsv")


def lexicon_42(base_lexicon: dict[str, float], variant: str) -> dict[str, float]:
    """VADER plus the step-42 words of ``variant`` (A: the added words; B: also the replaced
    valences)."""
    lex = dict(base_lexicon)
    for line in WORDS_42.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        word, valence, var = line.split("\t")[:3]
        if var == "A" or variant == "B":
            lex[word] = float(valence)
    return lex


def macro(g: np.ndarray, p: np.ndarray) -> float:
    return float(f1_score(g, p, average="macro", labels=[0, 1, 2], zero_division=0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--step", type=int, choices=(39, 40, 41, 42), required=True)
    ap.add_argument("--confirm", nargs=2, metavar=("VARIANT", "C"),
                    help="step 39: the smoothing a; step 40: W2L, W2 or W1L; step 41: s; "
                    "step 42: A or B")
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

    feats = base.vectorizer_.features_
    n_words, n_lex = len(feats.word_vocab), feats.n_lexicon
    lex = np.arange(X.shape[1] - n_lex, X.shape[1])
    unigrams = np.array(sorted(i for g, i in feats.word_vocab.items() if " " not in g))
    columns = {"W2L": np.concatenate([np.arange(n_words), lex]), "W2": np.arange(n_words),
               "W1L": np.concatenate([unigrams, lex])}

    def scaling(variant: str, yc: np.ndarray) -> np.ndarray:
        """Per column: the NB ratio (step 39), 1 on the kept columns and 0 elsewhere (40), or
        s on the lexicon columns and 1 elsewhere (41)."""
        if args.step == 39:
            alpha = float(variant)
            p = alpha + np.asarray(Xb[yc].T @ w[yc]).ravel()
            q = alpha + np.asarray(Xb[~yc].T @ w[~yc]).ravel()
            return np.log(p / p.sum()) - np.log(q / q.sum())
        if args.step == 41:
            r = np.ones(X.shape[1])
            r[lex] = float(variant)
            return r
        r = np.zeros(X.shape[1])
        r[columns[variant]] = 1.0
        return r

    def vectorizer(variant: str):  # noqa: ANN202
        """The bundled model's vectorizer, with the step-42 lexicon of ``variant``."""
        vec = copy.deepcopy(base.vectorizer_)
        vec.features_.lexicon = lexicon_42(feats.lexicon, variant)
        vec.features_._tab = None
        return vec

    def fit(variant: str, C: float) -> tuple[np.ndarray, np.ndarray]:
        coefs, icpts = [], []
        Xv = (vectorizer(variant).transform([r.text for r in recs]).tocsr() if args.step == 42
              else X)
        for c in range(len(classes)):
            yc = y == c
            r = np.ones(X.shape[1]) if args.step == 42 else scaling(variant, yc)
            Xc = (Xv @ sp.diags(r)).tocsr()
            Xc.eliminate_zeros()
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

    def predict(coef: np.ndarray, icpt: np.ndarray, variant: str | None = None
                ) -> dict[str, np.ndarray]:
        vec = vectorizer(variant) if variant else None
        return {k: np.argmax(stance_proba(np.asarray(
                    (vec.transform([r["text"] for r in sets[k]]) if vec else M) @ coef.T)
                    + icpt), axis=1)
                for k, M in mats.items()}

    runs = {"bundled": predict(base.coef_.astype(np.float64), base.intercept_)}
    variants = {39: ["0.25", "0.5", "1"], 40: list(columns), 41: ["2", "4", "8"],
                42: ["A", "B"]}[args.step]
    grid = ([(args.confirm[0], float(args.confirm[1]))] if args.confirm else
            [(v, C) for v in variants for C in ((4.0,) if args.step == 42 else (1.0, 4.0, 16.0))])
    for v, C in grid:
        runs[f"{v} C={C:g}"] = predict(*fit(v, C), v if args.step == 42 else None)
    names = list(sets)
    print("| stance macro-F1 | " + " | ".join(names) + " | mean of the tuning four |")
    print("|---" * (len(names) + 2) + "|")
    for name, pred in runs.items():
        row = {k: macro(gold[k], pred[k]) for k in names}
        tune = np.mean([row[k] for k in ["dev-tune", *TUNE]])
        print(f"| {name} | " + " | ".join(f"{row[k]:.4f}" for k in names) + f" | {tune:.4f} |")
    if args.confirm:
        base_p, cand = runs["bundled"], runs[f"{grid[0][0]} C={grid[0][1]:g}"]
        conf = ["dev-confirm", *(CONFIRM_42 if args.step == 42 else CONFIRM)]
        rng = np.random.default_rng(39)
        diffs = []
        for _ in range(2000):
            d = []
            for k in conf:
                i = rng.integers(0, len(gold[k]), len(gold[k]))
                d.append(macro(gold[k][i], cand[k][i]) - macro(gold[k][i], base_p[k][i]))
            diffs.append(np.mean(d))
        mean = np.mean([macro(gold[k], cand[k]) - macro(gold[k], base_p[k]) for k in conf])
        print(f"\n{len(conf)} confirmation sets: mean change {mean:+.4f}, paired bootstrap "
              f"above zero in {np.mean(np.array(diffs) > 0):.1%} of 2,000 resamples")


if __name__ == "__main__":
    main()
