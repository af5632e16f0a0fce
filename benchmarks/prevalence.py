"""Does a target-prevalence correction of the topic thresholds pay on real news?

Thresholds are tuned on out-of-fold scores over ``labels/``, where topical sentences are
dense; in a news stream they are rarer, which costs precision. The correction reweights the
out-of-fold records as if each topic had a target prevalence ``q`` instead of its share ``p``
in ``labels/`` (positives count ``q / p``, negatives ``(1 - q) / (1 - p)``) and tunes the
thresholds again by the same strategy (``shrunk``). It changes nothing but the thresholds.

Settings compared (the decision may look at the tuning half only; the confirmation half
checks it; the probe sets of ``probes.py``, streams of real headlines and wire ledes where
precision decides, are scored beside them):

- ``none``: the thresholds as trained;
- ``uniform q``: every topic at prevalence ``q``;
- ``narcotics q``: narcotics alone at ``q`` (its share in ``labels/`` is about three times
  that in real news; the other topics' shares are close to it);
- ``tuning-half shares``: each topic at its share of the dev tuning half.

The model is retrained with the bundled model's parameters (``--params-from``); the run
captures the out-of-fold scores that training tunes its thresholds on. One training, about
20 seconds.

    python benchmarks/prevalence.py [--model-from models/default] [--shared ../shared]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import devsplit  # noqa: E402
import probes  # noqa: E402

from classify import api, cli, thresholds  # noqa: E402


def trained_with_oof(params_from: str, out: Path) -> tuple[np.ndarray, np.ndarray]:
    """Train into ``out`` with ``params_from``'s parameters; the stacked out-of-fold topic
    scores and gold that the thresholds were tuned on."""
    seen: list[tuple[np.ndarray, np.ndarray]] = []
    fit = thresholds.fit_thresholds

    def capture(P, Y, *args, **kwargs):
        seen.append((P.copy(), Y.copy()))
        return fit(P, Y, *args, **kwargs)

    thresholds.fit_thresholds = capture
    try:
        code = cli.main(["train", "--params-from", params_from, "--model", str(out), "--quiet"])
    finally:
        thresholds.fit_thresholds = fit
    if code or len(seen) != 1:
        raise SystemExit(f"training failed ({code}) or tuned thresholds {len(seen)} times")
    return seen[0]


def corrected(P: np.ndarray, Y: np.ndarray, target: dict[int, float],
              cardinality: str) -> np.ndarray:
    """``shrunk`` thresholds with each label ``j`` in ``target`` reweighted to prevalence
    ``target[j]`` (``thresholds.prevalence_weights``, as ``classify train --prevalence``
    does for one share of every label)."""
    q = np.full(Y.shape[1], np.nan)
    for j, share in target.items():
        q[j] = share
    return thresholds.fit_thresholds(P, Y, "shrunk", None, cardinality,
                                     thresholds.prevalence_weights(Y, q))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model-from", default=str(ROOT / "models" / "default"))
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    args = ap.parse_args()
    rows = devsplit.load(args.shared)
    with tempfile.TemporaryDirectory() as tmp:
        P_oof, Y_oof = trained_with_oof(args.model_from, Path(tmp) / "m")
        model = api.load_model(Path(tmp) / "m")
        labels = list(model.topic_labels)
        trained = np.asarray(model.topics.thresholds, dtype=np.float64)
        halves = {}
        for half in devsplit.HALVES:
            rs = [r for r in rows if r["half"] == half]
            P, _ = model.scores([r["text"] for r in rs])
            G = np.array([[t in r["topics"] for t in labels] for r in rs])
            halves[half] = (P, G)
        streams = {}
        for name in probes.PUBLIC:
            rs = probes.load(name, args.shared)
            P, _ = model.scores([r["text"] for r in rs])
            streams[name] = (P, np.array([[t in r["topics"] for t in labels] for r in rs]))
    tune_share = halves["tune"][1].mean(axis=0)
    narc = labels.index("narcotics")
    settings = {"none (as trained)": None,
                "uniform 0.10": dict.fromkeys(range(len(labels)), 0.10),
                "uniform 0.05": dict.fromkeys(range(len(labels)), 0.05),
                f"narcotics {tune_share[narc]:.3f}": {narc: float(tune_share[narc])},
                "tuning-half shares": dict(enumerate(map(float, tune_share)))}
    share = Y_oof.mean(axis=0)
    print("Topic shares: " + ", ".join(
        f"{t} {share[j]:.3f} in labels/, {tune_share[j]:.3f} in the tuning half"
        for j, t in enumerate(labels)) + ".\n")
    print(f"| setting | thresholds ({', '.join(labels)}) | tuning half macro-F1 | "
          "confirmation half macro-F1 | "
          "narcotics F1 tune / confirm | " + " | ".join(f"{n} micro-F1" for n in streams) + " |")
    print("| --- | --- | ---: | ---: | ---: |" + " ---: |" * len(streams))
    for name, target in settings.items():
        th = (trained if target is None
              else corrected(P_oof, Y_oof, target, model.topics.cardinality))
        cells = []
        for half in devsplit.HALVES:
            P, G = halves[half]
            D = thresholds.decide(P, th, model.topics.cardinality)
            g, d = G[:, narc], D[:, narc]
            cells.append((thresholds.f1(G, D, "macro"),
                          2 * float((g & d).sum()) / max(1, int(g.sum() + d.sum()))))
        stream_f1 = [thresholds.f1(G, thresholds.decide(P, th, model.topics.cardinality), "micro")
                     for P, G in streams.values()]
        print(f"| {name} | {' '.join(f'{x:.3f}' for x in th)} | {cells[0][0]:.3f} | "
              f"{cells[1][0]:.3f} | {cells[0][1]:.3f} / {cells[1][1]:.3f} | "
              + " | ".join(f"{x:.3f}" for x in stream_f1) + " |")


if __name__ == "__main__":
    main()
