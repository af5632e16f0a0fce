"""Charts of the evaluation report as inline SVG, drawn by matplotlib (``classify[report]``).

Each function returns an ``<svg>`` element ready to paste into HTML: no XML prolog, no
metadata, no namespace URLs, text as text in the reader's fonts (nothing fetched), element ids
prefixed by chart so several charts live in one page, and the same input gives the same bytes.
Without matplotlib, ``available()`` is False and the report keeps its tables with ``HINT``.
"""

from __future__ import annotations

import io
import math
import re

HINT = "charts need matplotlib: pip install 'classify[report]'"
_RC = {"svg.fonttype": "none", "svg.hashsalt": "classify", "font.size": 9,
       "axes.spines.top": False, "axes.spines.right": False}


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _figure(w: float, h: float):  # noqa: ANN202 - a matplotlib Figure
    from matplotlib.figure import Figure

    return Figure(figsize=(w, h), layout="constrained")


def _svg(fig, title: str, prefix: str) -> str:  # noqa: ANN001
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)
    ids = set(re.findall(r'\bid="([^"]+)"', svg))
    svg = re.sub(r'(\bid="|"#|url\(#)([^")]+)',
                 lambda m: m.group(1) + prefix + m.group(2) if m.group(2) in ids
                 else m.group(0), svg)
    svg = svg.replace("<svg ", f"<svg role='img' aria-label='{title}' style='max-width:100%;"
                      "height:auto' ", 1)
    return svg.strip()


def learning_curve(curve: dict) -> str:
    """Macro-F1 (topics, stance) with its interval against training records per fold."""
    import matplotlib

    with matplotlib.rc_context(_RC):
        fig = _figure(5.6, 3.4)
        ax = fig.subplots()
        points = [p for p in curve["points"] if "error" not in p]
        x = [p["train_records"] for p in points]
        lows, highs = [], []
        for part, label, colour in (("topics", "topics macro-F1", "#0072B2"),
                                    ("stance", "stance macro-F1", "#D55E00")):
            ys = [p[part]["macro_f1"] for p in points if part in p]
            if not ys:
                continue
            ci = [p[part]["macro_f1_ci"] for p in points if part in p]
            lows += [lo for lo, _ in ci]
            highs += [hi for _, hi in ci]
            err = [[y - lo for y, (lo, _) in zip(ys, ci, strict=True)],
                   [hi - y for y, (_, hi) in zip(ys, ci, strict=True)]]
            ax.errorbar(x, ys, yerr=err, marker="o", capsize=3, color=colour, label=label)
        for p in points:
            ax.annotate(f"{p['fraction']:.0%}", (p["train_records"], 0.97), ha="center",
                        va="top", xycoords=("data", "axes fraction"), fontsize=7, color="#666")
        # zoomed to the points (a flat-looking curve on 0-1 would hide what is left to gain)
        bottom = max(0.0, math.floor((min(lows, default=0.0) - 0.03) * 20) / 20)
        top = min(1.0, math.ceil((max(highs, default=1.0) + 0.04) * 20) / 20)
        ax.set_ylim(bottom, max(top, bottom + 0.1))
        ax.set_xlabel("training records per fold (share of the training sources)")
        ax.set_ylabel("macro-F1 (95% interval; axis zoomed)")
        ax.set_title("Learning curve")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right")
        return _svg(fig, "learning curve", "lc-")


def confusion(cm: dict) -> str:
    """The stance confusion matrix as a heat map: colour is the share of the gold class (the
    row), the text its count and share."""
    import matplotlib
    import numpy as np

    labels = cm["labels"]
    M = np.asarray(cm["matrix"], dtype=float)
    share = M / np.maximum(M.sum(axis=1, keepdims=True), 1)
    k = len(labels)
    with matplotlib.rc_context(_RC):
        fig = _figure(1.6 + 0.95 * k, 1.2 + 0.8 * k)
        ax = fig.subplots()
        im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        for i in range(k):
            for j in range(k):
                ax.text(j, i, f"{int(M[i, j])}\n{share[i, j]:.0%}", ha="center", va="center",
                        fontsize=8, color="white" if share[i, j] > 0.6 else "#1d1d1d")
        ax.set_xticks(range(k), labels, rotation=30 if k > 3 else 0)
        ax.set_yticks(range(k), labels)
        ax.set_xlabel("predicted")
        ax.set_ylabel("gold")
        ax.set_title("Stance confusion matrix")
        fig.colorbar(im, ax=ax, shrink=0.8, label="share of the gold class")
        return _svg(fig, "stance confusion matrix", "cm-")


def reliability(curves: list[tuple[str, dict]]) -> str:
    """Observed frequency against mean score per bin, one line per (name, curve); the
    diagonal is perfect calibration."""
    import matplotlib

    colours = ["#0072B2", "#D55E00", "#009E73"]
    with matplotlib.rc_context(_RC):
        fig = _figure(4.6, 4.0)
        ax = fig.subplots()
        ax.plot([0, 1], [0, 1], ls="--", color="#999", lw=1, label="calibrated")
        for (name, c), colour in zip(curves, colours, strict=False):
            bins = [b for b in c["bins"] if b["count"]]
            ax.plot([b["mean_score"] for b in bins], [b["observed"] for b in bins],
                    marker="o", color=colour, label=f"{name} (ECE {c['ece']:.3f})")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_aspect("equal")
        ax.set_xlabel("mean score in the bin")
        ax.set_ylabel("observed frequency")
        ax.set_title("Reliability")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
        return _svg(fig, "reliability curve", "rel-")
