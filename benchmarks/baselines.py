"""Reference classifiers for the benchmarks: scikit-learn TF-IDF + LinearSVC, and fastText.

Used in-process by ``run.py`` for accuracy, and as a stand-alone script so that training and
tagging can be timed as whole processes, like the ``classify`` command line::

    python benchmarks/baselines.py train {sklearn,fasttext,fasttext-tuned} DATA.jsonl MODEL
    python benchmarks/baselines.py tag {sklearn,fasttext} MODEL INPUT.jsonl > OUT.jsonl

Labels: if every training record has exactly one topic the task is single-label and both
predict the top class. Otherwise it is multi-label: scikit-learn uses one LinearSVC per topic
(OneVsRest, decision > 0); fastText gets a pseudo-label ``none`` for records without topics and
predicts every topic with probability >= 0.5 (``none`` dropped). If every training record has
at least one topic, a multi-label prediction keeps at least the top topic.

fastText: ``thread=1`` and ``seed=0`` so runs are deterministic; the text is lower-cased and
punctuation split off (as in the fastText tutorials) and the training lines are shuffled with
the seed (fastText reads its file in order with one thread; sets sorted by label, like
bbc_news, otherwise train very badly). See ``fixed_mmap_threshold`` for a fasttext 0.9.3 bug
that this harness has to work around. "default" is ``train_supervised`` with
library defaults otherwise; "tuned" is epoch=25, lr=0.5, wordNgrams=2, bucket=200,000 (instead
of 2,000,000, to keep the model small) and, for multi-label data, loss="ova".
"""

from __future__ import annotations

import json
import random
import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

NONE = "none"
FT_DEFAULT: dict = {}
FT_TUNED = {"epoch": 25, "lr": 0.5, "wordNgrams": 2, "bucket": 200_000}
FT_TOKEN = re.compile(r"\w+|[^\w\s]")


# ---------------------------------------------------------------- label handling


def label_mode(topic_lists: Sequence[Sequence[str]]) -> tuple[bool, bool]:
    """(multi_label, min_one) for the training topic lists."""
    counts = [len(t) for t in topic_lists]
    multi = not all(c == 1 for c in counts)
    return multi, bool(counts) and min(counts) >= 1


# ---------------------------------------------------------------- scikit-learn


def sklearn_fit(texts: Sequence[str], topic_lists: Sequence[Sequence[str]], seed: int = 0
                ) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MultiLabelBinarizer
    from sklearn.svm import LinearSVC

    multi, min_one = label_mode(topic_lists)
    if not multi:
        pipe = make_pipeline(TfidfVectorizer(), LinearSVC(random_state=seed))
        pipe.fit(list(texts), [t[0] for t in topic_lists])
        return {"pipeline": pipe, "multi": False, "min_one": True, "mlb": None}
    mlb = MultiLabelBinarizer()
    Y = mlb.fit_transform([list(t) for t in topic_lists])
    pipe = make_pipeline(TfidfVectorizer(), OneVsRestClassifier(LinearSVC(random_state=seed)))
    pipe.fit(list(texts), Y)
    return {"pipeline": pipe, "multi": True, "min_one": min_one, "mlb": mlb}


def sklearn_predict(model: dict, texts: Sequence[str]) -> list[list[str]]:
    pipe = model["pipeline"]
    if not model["multi"]:
        return [[str(p)] for p in pipe.predict(list(texts))]
    import numpy as np

    scores = pipe.decision_function(list(texts))
    chosen = scores > 0
    if model["min_one"]:
        chosen[np.arange(len(scores)), np.argmax(scores, axis=1)] = True
    classes = model["mlb"].classes_
    return [[str(classes[j]) for j in np.flatnonzero(row)] for row in chosen]


# ---------------------------------------------------------------- fastText


def ft_clean(text: str) -> str:
    return " ".join(FT_TOKEN.findall(text.lower()))


def fixed_mmap_threshold() -> bool:
    """Work around uninitialised memory in fasttext 0.9.3 training (glibc only).

    fastText's ``DenseMatrix`` storage (``intgemm::AlignedVector``, posix_memalign) is not
    zeroed, and ``DenseMatrix::uniform`` with ``thread=1`` fills only the first tenth of the
    input matrix (it splits the work into 10 blocks, one per thread). The other rows keep
    whatever the allocator returns: zeros from a fresh mmap, but recycled heap garbage once
    glibc's dynamic mmap threshold has grown -- then training fails at random with
    "Encountered NaN" (about half of the runs in one process) or silently starts from garbage.
    A fixed M_MMAP_THRESHOLD makes every large block a fresh, zero-filled mapping, so the
    untouched rows start at zero -- the same on every run.
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(-3, 64 * 1024))  # M_MMAP_THRESHOLD = -3
    except (OSError, AttributeError):
        return False


def fasttext_fit(texts: Sequence[str], topic_lists: Sequence[Sequence[str]], tuned: bool,
                 seed: int = 0):
    """Train a fastText model; returns (model, info) with the label names in ``info``."""
    import fasttext

    fixed_mmap_threshold()
    multi, min_one = label_mode(topic_lists)
    names = sorted({t for ts in topic_lists for t in ts} | ({NONE} if multi else set()))
    index = {n: i for i, n in enumerate(names)}
    params = {"thread": 1, "seed": seed, "verbose": 0, **(FT_TUNED if tuned else FT_DEFAULT)}
    if tuned and multi:
        params["loss"] = "ova"
    with tempfile.TemporaryDirectory(prefix="bench-ft-") as tmp:
        path = Path(tmp) / "train.txt"
        order = list(range(len(texts)))
        random.Random(seed).shuffle(order)  # fastText reads the file in order, no shuffling
        with open(path, "w", encoding="utf-8") as fh:
            for i in order:
                labels = " ".join(f"__label__{index[t]}" for t in (topic_lists[i] or [NONE]))
                fh.write(f"{labels} {ft_clean(texts[i])}\n")
        model = fasttext.train_supervised(input=str(path), **params)
    import numpy as np

    W = model.get_input_matrix()
    if not np.isfinite(W).all() or (W.size and float(np.abs(W).max()) > 1e4):
        raise RuntimeError("fastText input matrix holds non-finite or huge values: it was "
                           "trained from uninitialised memory (see fixed_mmap_threshold)")
    return model, {"labels": names, "multi": multi, "min_one": min_one, "params": params}


def fasttext_predict(model, info: dict, texts: Sequence[str]) -> list[list[str]]:
    """Top-1 for single-label models; every label with p >= 0.5 for multi-label ones.

    Uses ``model.f.multilinePredict``: ``model.predict`` fails with numpy 2 ("Unable to avoid
    copy while creating an array as requested") in fasttext 0.9.3.
    """
    names = info["labels"]
    lines = [ft_clean(t) for t in texts]
    if not info["multi"]:
        labels, _ = model.f.multilinePredict(lines, 1, 0.0, "strict")
        return [[names[int(ls[0][9:])]] if ls else [] for ls in labels]
    labels, probs = model.f.multilinePredict(lines, -1, 0.0, "strict")
    out = []
    for ls, ps in zip(labels, probs, strict=True):
        ranked = [(names[int(lab[9:])], float(p)) for lab, p in zip(ls, ps, strict=True)]
        ranked = [(n, p) for n, p in ranked if n != NONE]
        chosen = [n for n, p in ranked if p >= 0.5]
        if not chosen and info["min_one"] and ranked:
            chosen = [ranked[0][0]]
        out.append(chosen)
    return out


# ---------------------------------------------------------------- script entry points


def _read(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def cli_train(kind: str, data: str, model_path: str) -> None:
    recs = _read(data)
    texts = [r["text"] for r in recs]
    topics = [list(r.get("topics") or []) for r in recs]
    if kind == "sklearn":
        import joblib

        joblib.dump(sklearn_fit(texts, topics), model_path)
    else:
        model, info = fasttext_fit(texts, topics, tuned=kind == "fasttext-tuned")
        model.save_model(model_path)
        Path(model_path + ".json").write_text(json.dumps(info), encoding="utf-8")


def cli_tag(kind: str, model_path: str, input_path: str) -> None:
    recs = _read(input_path)
    texts = [r["text"] for r in recs]
    if kind == "sklearn":
        import joblib

        preds = sklearn_predict(joblib.load(model_path), texts)
    else:
        import fasttext

        info = json.loads(Path(model_path + ".json").read_text(encoding="utf-8"))
        preds = fasttext_predict(fasttext.load_model(model_path), info, texts)
    out = sys.stdout
    for r, p in zip(recs, preds, strict=True):
        out.write(json.dumps({"id": r.get("id"), "topics": p}, ensure_ascii=False) + "\n")
    out.flush()


def main(argv: list[str]) -> int:
    if len(argv) == 4 and argv[0] == "train" and \
            argv[1] in ("sklearn", "fasttext", "fasttext-tuned"):
        cli_train(argv[1], argv[2], argv[3])
        return 0
    if len(argv) == 4 and argv[0] == "tag" and argv[1] in ("sklearn", "fasttext"):
        cli_tag(argv[1], argv[2], argv[3])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
