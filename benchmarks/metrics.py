"""F1 scores for label sets (multi-label or single-label) and single-class stance."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def _f1(tp: int, fp: int, fn: int) -> float:
    d = 2 * tp + fp + fn
    return 2 * tp / d if d else 0.0


def label_scores(gold: Sequence[Iterable[str]], pred: Sequence[Iterable[str]],
                 macro_labels: Sequence[str] | None = None) -> dict:
    """micro-F1 over every label seen, macro-F1 over ``macro_labels``, and per-label scores.

    ``macro_labels`` defaults to the labels present in ``gold`` (a label absent from the test
    set has no defined F1). Micro-F1 counts every predicted label, so predicting a label that
    is not in the test set is a false positive. For single-label data micro-F1 = accuracy.
    """
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold vs {len(pred)} predicted records")
    counts: dict[str, list[int]] = {}
    for g, p in zip(gold, pred, strict=True):
        gs, ps = set(g), set(p)
        for lab in gs | ps:
            c = counts.setdefault(lab, [0, 0, 0, 0])  # tp fp fn support
            c[0] += lab in gs and lab in ps
            c[1] += lab in ps and lab not in gs
            c[2] += lab in gs and lab not in ps
            c[3] += lab in gs
    if macro_labels is None:
        macro_labels = sorted(lab for lab, c in counts.items() if c[3])
    per = {}
    for lab in macro_labels:
        tp, fp, fn, sup = counts.get(lab, [0, 0, 0, 0])
        per[lab] = {"f1": _f1(tp, fp, fn), "precision": tp / (tp + fp) if tp + fp else 0.0,
                    "recall": tp / (tp + fn) if tp + fn else 0.0, "support": sup}
    tp = sum(c[0] for c in counts.values())
    fp = sum(c[1] for c in counts.values())
    fn = sum(c[2] for c in counts.values())
    macro = sum(v["f1"] for v in per.values()) / len(per) if per else 0.0
    return {"micro_f1": _f1(tp, fp, fn), "macro_f1": macro, "per_label": per,
            "n": len(gold)}


def class_scores(gold: Sequence[str], pred: Sequence[str | None],
                 classes: Sequence[str]) -> dict:
    """Macro-F1 (and per-class F1) of single-label predictions over ``classes``."""
    res = label_scores([[g] for g in gold], [[p] if p else [] for p in pred], classes)
    acc = sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold) if gold else 0.0
    return {"macro_f1": res["macro_f1"], "accuracy": acc, "per_class": res["per_label"],
            "n": len(gold)}
