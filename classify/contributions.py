"""Per-word contributions to a label's linear score: what the HTML page shades.

A label's linear score of a text is ``sum_f x_f * w_f + b`` over its features ``f`` (TF-IDF
values ``x``; weights ``w`` averaged over the model's views, as ``Model.explain`` does). Each
feature's term ``x_f * w_f`` is shared out among the word occurrences that produced it:

- a word unigram: equally among the occurrences of the word;
- a word bigram: half to each of its two words, equally among its occurrences;
- a character n-gram: among the words it occurs in, in proportion to how often;
- a sentiment-lexicon feature: among the words that carry its polarity, in proportion to
  their valence.

So the words' contributions plus the intercept add up to the linear score (averaged over the
views): nothing is left unexplained or counted twice. Scores themselves come from
``Model.scores`` (the one scoring path); this module only splits a score into its parts.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.sparse as sp

from .features import ABBREVIATION_DOT, PAIR, TOKEN, Features, normalize
from .model import Model, Part


@dataclass(frozen=True)
class Word:
    """A token of the text as the features see it, with its place in the original text."""

    start: int
    end: int
    token: str  # normalised (lower case, accents stripped), as the vocabulary has it


@dataclass
class Contributions:
    """How each word of ``text`` pushed one label: ``values[i]`` belongs to ``words[i]``.

    ``sum(values) + bias`` is the label's linear score (before the logistic function),
    averaged over the model's views."""

    label: str
    part: str  # "topics" or "stance"
    words: list[Word]
    values: list[float]
    bias: float

    def top(self, k: int = 5, sign: int = 1) -> list[tuple[str, float]]:
        """The k words (original spelling, summed over repeats) that pushed hardest toward
        (``sign`` 1) or away from (``sign`` -1) the label."""
        return _top(self, k, sign)

    def to_dict(self, text: str) -> dict:
        return {"label": self.label, "part": self.part, "bias": round(self.bias, 4),
                "words": [{"start": w.start, "end": w.end, "text": text[w.start:w.end],
                           "contribution": round(v, 4)}
                          for w, v in zip(self.words, self.values, strict=True)]}


@lru_cache(maxsize=4096)
def _normalize_char(ch: str) -> str:
    return normalize(ch)


def words(text: str, abbreviations: bool = False) -> list[Word]:
    """The tokens ``features.tokenize`` finds in ``text``, with their offsets in ``text``.

    ``normalize`` lower-cases and strips accents, which can change the length of the text;
    each original character is normalised on its own to map positions back (the result is
    the same string but for a Greek final sigma, whose case depends on its neighbours). With
    ``abbreviations``, the dots of a dotted abbreviation are dropped first (F.A.A. is one
    word, spanning its letters)."""
    src, kept = text, None  # kept: the positions of text that src keeps, when dots went
    if abbreviations and "." in text:
        dots = {m.start() for m in ABBREVIATION_DOT.finditer(text)}
        if dots:
            kept = [i for i in range(len(text)) if i not in dots]
            src = "".join(text[i] for i in kept)
    norm = normalize(src)
    if norm.isascii() and len(norm) == len(src):
        origin = list(range(len(src) + 1))
    else:
        pieces = list(map(_normalize_char, src))
        origin = np.repeat(np.arange(len(src)), list(map(len, pieces))).tolist()
        origin.append(len(src))
        per_char = "".join(pieces)
        if len(per_char) != len(norm):
            norm = per_char
    if kept is not None:
        origin = [kept[i] if i < len(kept) else len(text) for i in origin]
    out = []
    for m in TOKEN.finditer(norm):
        start = origin[m.start()]
        end = origin[m.end() - 1] + 1
        while end < len(text) and unicodedata.combining(text[end]):
            end += 1  # keep a combining accent with its letter
        out.append(Word(start, end, m.group()))
    return out



def _part(model: Model, part: str) -> Part:
    m = model.topics if part == "topics" else model.stance
    if m is None:
        raise ValueError(f"the model has no {part} part")
    return m


def contributions(model: Model, text: str, part: str, labels: list[int] | None = None
                  ) -> list[Contributions]:
    """For each label (index into the part's classes; default all), each word's signed
    contribution to the label's linear score. See the module docstring."""
    return contributions_of(model, text, [(part, labels)])


def contributions_of(model: Model, text: str, asks: list[tuple[str, list[int] | None]]
                     ) -> list[Contributions]:
    """``contributions`` of several parts at once, in the order asked: a feature space the
    parts share is transformed and shared out once."""
    return contributions_many(model, [text], [asks])[0]


def contributions_many(model: Model, texts: list[str],
                       asks: list[list[tuple[str, list[int] | None]]]
                       ) -> list[list[Contributions]]:
    """``contributions_of`` for each text with its own asks (``asks[i]`` for ``texts[i]``).

    Done a feature space at a time over the whole batch, with array operations: the texts
    that ask a part using the space are transformed once, every word occurrence's share of
    every feature column is one sparse matrix, and the contributions of all the part's labels
    are one product with the part's weights."""
    found: dict[tuple[int, int, int], Contributions] = {}  # (text, ask, label)
    spaces: dict[int, tuple[Features, list[int]]] = {}
    for i, ask in enumerate(asks):
        for part, _ in ask:
            f = _part(model, part).features
            spaces.setdefault(id(f), (f, []))[1].append(i)
    for f, wanted in spaces.values():
        idx = sorted(set(wanted))
        ws = [words(texts[i], f.abbreviations) for i in idx]
        V, used, starts = _shared_terms(f, [[w.token for w in w_i] for w_i in ws],
                                        f.transform([texts[i] for i in idx]))
        for part in ("topics", "stance"):
            m = model.topics if part == "topics" else model.stance
            if m is None or m.features is not f:
                continue
            k = len(m.classes)
            views = m.coef.shape[0] // k
            # coef row v * k + j: label j in view v; contributions averaged over the views
            w = np.asarray(m.coef[:, used], dtype=np.float64)
            values = np.asarray(V @ w.T).reshape(V.shape[0], views, k).mean(axis=1)
            bias = np.asarray(m.intercept, dtype=np.float64).reshape(views, k).mean(axis=0)
            for n, i in enumerate(idx):
                for a, (p, labels) in enumerate(asks[i]):
                    if p != part:
                        continue
                    rows = values[starts[n]:starts[n + 1]]
                    for j in (range(k) if labels is None else labels):
                        found[i, a, j] = Contributions(str(m.classes[j]), part, ws[n],
                                                       rows[:, j].tolist(), float(bias[j]))
    out = []
    for i, ask in enumerate(asks):
        cs = []
        for a, (part, labels) in enumerate(ask):
            k = len(_part(model, part).classes)
            cs += [found[i, a, j] for j in (range(k) if labels is None else labels)]
        out.append(cs)
    return out


def _shared_terms(f: Features, tokens: list[list[str]], X: sp.csr_matrix
                  ) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Each word occurrence's part of each feature term ``x_f`` of its text (row ``t`` of
    ``X`` for ``tokens[t]``), by the rules of the module docstring.

    Returns ``(V, used, starts)``: ``V`` is (occurrences x used columns), occurrences of text
    ``t`` in rows ``starts[t]:starts[t + 1]``, ``used`` the feature columns of ``V``'s columns.
    The n-grams are found as ``Features.counts`` finds them (the same token table)."""
    tab = f._tables()
    lens = np.fromiter(map(len, tokens), np.int64, len(tokens))
    starts = np.concatenate([[0], np.cumsum(lens)])
    n = int(starts[-1])
    text_of = np.repeat(np.arange(len(tokens)), lens)
    tid = tab.ids([t for ts in tokens for t in ts]) if n else np.zeros(0, np.int64)
    occ: list[np.ndarray] = []
    col: list[np.ndarray] = []
    weight: list[np.ndarray] = []

    def add(o: np.ndarray, c: np.ndarray | int, w: np.ndarray | float) -> None:
        occ.append(o)
        col.append(np.broadcast_to(c, o.shape))
        weight.append(np.broadcast_to(np.asarray(w, np.float64), o.shape))

    uni = tab.uni_col[np.clip(tid, -1, tab.base)]
    o = np.flatnonzero(uni >= 0)
    add(o, uni[o], 1.0)
    if n > 1 and len(tab.bi_keys):  # a bigram: half to each of its words
        a, b = tid[:-1], tid[1:]
        o = np.flatnonzero((a >= 0) & (a < tab.base) & (b >= 0) & (b < tab.base)
                           & (text_of[:-1] == text_of[1:]))
        keys = a[o] * PAIR + b[o]
        pos = np.minimum(np.searchsorted(tab.bi_keys, keys), len(tab.bi_keys) - 1)
        hit = tab.bi_keys[pos] == keys
        o, c = o[hit], tab.bi_col[pos[hit]]
        add(o, c, 0.5)
        add(o + 1, c, 0.5)
    nw = len(f.word_vocab)
    if tab.chars is not None and n:  # character n-grams: by how often each word has them
        ch = tab.chars[tid].tocoo()
        add(ch.row.astype(np.int64), nw + ch.col.astype(np.int64), ch.data)
    if f.n_lexicon and n:  # lexicon features: by valence, among the words of that polarity
        first = f.n_features - f.n_lexicon
        v = tab.valence[tid].astype(np.float64)
        pos_o, neg_o = np.flatnonzero(v > 0), np.flatnonzero(v < 0)
        for off in (0, 2):  # +sum, +any
            add(pos_o, first + off, v[pos_o])
        for off in (1, 3):  # -sum, -any
            add(neg_o, first + off, -v[neg_o])
    o, c, w = np.concatenate(occ), np.concatenate(col), np.concatenate(weight)
    # each (text, column)'s term, shared among its entries in proportion to their weights
    nf = f.n_features
    key = text_of[o] * nf + c
    ukey, inv = np.unique(key, return_inverse=True)
    share = w / np.bincount(inv, weights=w)[inv]
    X = X.tocsr()
    X.sort_indices()
    xkey = np.repeat(np.arange(X.shape[0], dtype=np.int64), np.diff(X.indptr)) * nf \
        + X.indices
    at = np.minimum(np.searchsorted(xkey, ukey), max(len(xkey) - 1, 0))
    xv = np.where(xkey[at] == ukey, X.data[at], 0.0) if len(xkey) else np.zeros(len(ukey))
    used, cinv = np.unique(c, return_inverse=True)
    V = sp.csr_matrix((share * xv[inv], (o, cinv)), shape=(n, len(used)))
    return V, used, starts


def _top(c: Contributions, k: int, sign: int) -> list[tuple[str, float]]:
    summed: dict[str, float] = {}
    for w, v in zip(c.words, c.values, strict=True):
        summed[w.token] = summed.get(w.token, 0.0) + v
    best = sorted(((t, v) for t, v in summed.items() if v * sign > 0),
                  key=lambda tv: -tv[1] * sign)
    return best[:k]
