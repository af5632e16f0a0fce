"""The model file format: a ``Model`` as arrays in an ``.npz`` plus a JSON layout.

Arrays (weights, intercepts, thresholds, idf, token tables) are stored as they are;
vocabularies and the lexicon's words are UTF-8 text (newline-joined, in column order) stored
as byte arrays. The layout (parameters, label names, which vectorizer each part uses) goes
into ``meta.json`` under ``model``, and into the file as ``layout.json``. Nothing here pickles
or unpickles: the file is read with ``numpy.load(..., allow_pickle=False)``.
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import scipy.sparse as sp

from .features import Features, _Tables, _term_ids
from .model import Model, Part, jsonable


def _text(terms: list[str]) -> np.ndarray:
    return np.frombuffer("\n".join(terms).encode("utf-8"), dtype=np.uint8)


def _terms(arr: np.ndarray) -> str:
    return arr.tobytes().decode("utf-8")


def _in_order(vocab: dict[str, int]) -> list[str]:
    return sorted(vocab, key=vocab.__getitem__)


def model_to_npz(model: Model) -> tuple[bytes, dict]:
    """(the .npz bytes, the layout for meta.json). The same model gives the same bytes."""
    arrays: dict[str, np.ndarray] = {}
    spaces: list[Features] = []
    layout: dict = {"vectorizers": []}
    for part in (model.topics, model.stance):
        if part is None:
            continue
        if not any(f is part.features for f in spaces):
            i = len(spaces)
            spaces.append(part.features)
            layout["vectorizers"].append(jsonable(part.vectorizer_params))
            _put_features(arrays, f"v{i}", part.features)
        entry: dict = {"vectorizer": next(i for i, f in enumerate(spaces)
                                          if f is part.features),
                       "classes": list(part.classes), "params": jsonable(part.params)}
        arrays[f"{part.kind}.coef"] = np.asarray(part.coef, dtype=np.float32)
        arrays[f"{part.kind}.intercept"] = np.asarray(part.intercept, dtype=np.float64)
        if part.kind == "topics":
            assert part.thresholds is not None
            entry["cardinality_"] = part.cardinality
            entry["views_"] = int(part.views)
            arrays["topics.thresholds"] = np.asarray(part.thresholds, dtype=np.float64)
        layout[part.kind] = entry
    # the layout travels inside the file too, so a file without its meta.json still loads
    arrays["layout.json"] = np.frombuffer(json.dumps(layout, sort_keys=True).encode("utf-8"),
                                          dtype=np.uint8)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=3) as zf:
        for key in sorted(arrays):  # fixed order and dates: the same model, the same bytes
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            one = io.BytesIO()
            np.lib.format.write_array(one, np.ascontiguousarray(arrays[key]),
                                      allow_pickle=False)
            zf.writestr(info, one.getvalue())
    return buf.getvalue(), layout


def _put_features(arrays: dict, p: str, f: Features) -> None:
    arrays[f"{p}.word_terms"] = _text(_in_order(f.word_vocab))
    arrays[f"{p}.word_idf"] = f.word_idf
    if f.use_char:
        arrays[f"{p}.char_terms"] = _text(_in_order(f.char_vocab))
        arrays[f"{p}.char_idf"] = f.char_idf
    if f.lexicon:
        words = sorted(f.lexicon)
        arrays[f"{p}.lexicon_words"] = _text(words)
        arrays[f"{p}.lexicon_valence"] = np.array([f.lexicon[w] for w in words], np.float32)
    tab = f._tables().__getstate__()
    arrays[f"{p}.tab.words"] = _text(tab["words"].split("\n") if tab["words"] else [])
    for key in ("uni_col", "bi_keys", "bi_col", "valence"):
        arrays[f"{p}.tab.{key}"] = np.asarray(tab[key])
    if tab["chars"] is not None:
        m = tab["chars"].tocsr()
        arrays[f"{p}.tab.chars.data"] = m.data
        arrays[f"{p}.tab.chars.indices"] = m.indices
        arrays[f"{p}.tab.chars.indptr"] = m.indptr
        arrays[f"{p}.tab.chars.shape"] = np.array(m.shape, np.int64)


def _get_features(a: dict, p: str, params: dict) -> Features:
    lexicon = None
    if f"{p}.lexicon_words" in a:
        words = _terms(a[f"{p}.lexicon_words"]).split("\n")
        lexicon = dict(zip(words, a[f"{p}.lexicon_valence"].tolist(), strict=True))
    f = Features(bool(params["char_ngrams"]), lexicon=lexicon,
                 abbreviations=bool(params["abbreviations"]))
    f.word_vocab = _term_ids(_terms(a[f"{p}.word_terms"]))
    f.word_idf = a[f"{p}.word_idf"]
    if f.use_char:
        f.char_vocab = _term_ids(_terms(a[f"{p}.char_terms"]))
        f.char_idf = a[f"{p}.char_idf"]
    chars = None
    if f"{p}.tab.chars.data" in a:
        chars = sp.csr_matrix((a[f"{p}.tab.chars.data"], a[f"{p}.tab.chars.indices"],
                               a[f"{p}.tab.chars.indptr"]),
                              shape=tuple(a[f"{p}.tab.chars.shape"].tolist()))
    tab = _Tables.__new__(_Tables)
    tab.__setstate__({"words": _terms(a[f"{p}.tab.words"]),
                      **{k: a[f"{p}.tab.{k}"] for k in ("uni_col", "bi_keys", "bi_col",
                                                         "valence")},
                      "chars": chars})
    tab.char_vocab = f.char_vocab if f.use_char else None
    tab.lexicon = lexicon
    f._tab = tab
    return f


def model_from_npz(blob: bytes, meta: dict) -> Model:
    """The model saved by ``model_to_npz``; ``meta`` is its meta.json (with ``model``)."""
    with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
        a = {k: npz[k] for k in npz.files}
    layout = meta.get("model") or json.loads(_terms(a["layout.json"]))
    # a model saved before the option split dotted abbreviations
    vectorizers = [{"abbreviations": False,
                    **{k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}}
                   for params in layout["vectorizers"]]
    spaces = [_get_features(a, f"v{i}", params) for i, params in enumerate(vectorizers)]
    parts: dict[str, Part] = {}
    for kind in ("topics", "stance"):
        if kind not in layout:
            continue
        entry = layout[kind]
        classes = entry["classes"]
        if not isinstance(classes, list) or not all(isinstance(c, str) and c for c in classes) \
                or len(set(classes)) != len(classes):  # else labels would swap their scores
            raise TypeError(f"{kind} classes must be a list of distinct label names, got "
                            f"{classes!r:.60}")
        parts[kind] = Part(
            kind, list(classes), spaces[entry["vectorizer"]],
            dict(vectorizers[entry["vectorizer"]]),
            dict(entry["params"]), a[f"{kind}.coef"], a[f"{kind}.intercept"],
            a.get("topics.thresholds") if kind == "topics" else None,
            entry.get("cardinality_"), int(entry.get("views_", 1)))
    info = meta.get("training", {})
    return Model(topics=parts.get("topics"), stance=parts.get("stance"),
                 info={k: v for k, v in info.items() if k != "options"})
