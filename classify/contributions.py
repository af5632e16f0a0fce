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
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .features import ABBREVIATION_DOT, TOKEN, char_ngrams, normalize
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
        pieces, origin = [], []
        for i, ch in enumerate(src):
            piece = normalize(ch)
            pieces.append(piece)
            origin.extend([i] * len(piece))
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
    """``contributions_of`` for each text with its own asks (``asks[i]`` for ``texts[i]``);
    each feature space transforms the whole batch at once (a text's row is the same)."""
    rows: dict[int, sp.csr_matrix] = {}
    for part in {p for a in asks for p, _ in a}:
        f = _part(model, part).features
        if id(f) not in rows:
            rows[id(f)] = f.transform(texts)
    return [_contributions(model, text, ask, rows, i)
            for i, (text, ask) in enumerate(zip(texts, asks, strict=True))]


def _contributions(model: Model, text: str, asks: list[tuple[str, list[int] | None]],
                   rows: dict, i: int) -> list[Contributions]:
    """The contributions of row ``i`` of each feature space's matrix in ``rows``."""
    ws = words(text, _part(model, asks[0][0]).features.abbreviations if asks else False)
    tokens = [w.token for w in ws]
    done: dict[int, tuple] = {}
    out = []
    for part, labels in asks:
        m = _part(model, part)
        k = len(m.classes)
        labels = list(range(k)) if labels is None else labels
        f = m.features
        if id(f) not in done:
            X = rows[id(f)]
            lo, hi = X.indptr[i], X.indptr[i + 1]
            x = dict(zip(X.indices[lo:hi].tolist(), X.data[lo:hi].tolist(), strict=True))
            shares = _shares(f, tokens, x)
            cols = sorted({c for s in shares for c, _ in s})
            pos = {c: i for i, c in enumerate(cols)}
            # words x used columns: each word's share of each column's term
            share = np.zeros((len(ws), len(cols)))
            for n, s in enumerate(shares):
                for c, v in s:
                    share[n, pos[c]] += v
            done[id(f)] = (cols, np.array([x[c] for c in cols]), share)
        cols, xs, share = done[id(f)]
        views = m.coef.shape[0] // k
        for j in labels:
            w = np.asarray(m.coef[j::k][:, cols], dtype=np.float64).reshape(views, -1)
            values = share @ (w.mean(axis=0) * xs) if cols else np.zeros(len(ws))
            out.append(Contributions(str(m.classes[j]), part, ws, values.tolist(),
                                     float(np.mean(m.intercept[j::k]))))
    return out


def _shares(f, tokens: list[str], x: dict[int, float]) -> list[list[tuple[int, float]]]:
    """For each token occurrence, the feature columns it produced (present in ``x``) and its
    share of each: the shares of a column add up to 1 over the text."""
    n = len(tokens)
    out: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    vocab = f.word_vocab
    # word unigrams and bigrams: (column, occurrence, weight within the occurrence)
    occ: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for i, tok in enumerate(tokens):
        c = vocab.get(tok)
        if c is not None and c in x:
            occ[c].append((i, 1.0))
    for i in range(n - 1):
        c = vocab.get(f"{tokens[i]} {tokens[i + 1]}")
        if c is not None and c in x:
            occ[c] += [(i, 0.5), (i + 1, 0.5)]
    if f.use_char:
        nw = len(vocab)
        cv = f.char_vocab
        for i, tok in enumerate(tokens):
            for g, cnt in Counter(char_ngrams(tok)).items():
                c = cv.get(g)
                if c is not None and nw + c in x:
                    occ[nw + c].append((i, float(cnt)))
    if f.n_lexicon:
        first = f.n_features - f.n_lexicon
        val = [(f.lexicon or {}).get(tok, 0.0) for tok in tokens]
        for col in range(first, f.n_features):  # +sum, -sum, +any, -any
            if col not in x:
                continue
            positive = (col - first) % 2 == 0
            for i, v in enumerate(val):
                if (v > 0) if positive else (v < 0):
                    occ[col].append((i, abs(v)))
    for c, items in occ.items():
        total = sum(w for _, w in items)
        for i, w in items:
            out[i].append((c, w / total))
    return out


def _top(c: Contributions, k: int, sign: int) -> list[tuple[str, float]]:
    summed: dict[str, float] = {}
    for w, v in zip(c.words, c.values, strict=True):
        summed[w.token] = summed.get(w.token, 0.0) + v
    best = sorted(((t, v) for t, v in summed.items() if v * sign > 0),
                  key=lambda tv: -tv[1] * sign)
    return best[:k]
