"""TF-IDF features: word 1-2-grams and character 2-5-grams of words, built for speed.

The same features scikit-learn's ``TfidfVectorizer`` gives (sublinear tf, smoothed idf, L2
norm per part), computed batch-wise: each text is tokenised once with one regular expression,
word n-grams are looked up in a dict, and character n-grams come from a sparse product
(documents x distinct words) @ (distinct words x character n-grams), so each distinct word is
cut into n-grams once per batch (and cached across batches) instead of once per occurrence.
Words unseen in training still contribute their character n-grams. Tokens longer than
``MAX_CHAR_TOKEN`` characters get no character n-grams, so pathological input stays linear.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

TOKEN = re.compile(r"\w+(?:'\w+)?")
CHAR_N = (2, 5)
MAX_CHAR_TOKEN = 40
CACHE_LIMIT = 200_000


def normalize(text: str) -> str:
    """Lower-case and strip accents (NFKD, combining marks dropped)."""
    text = text.lower()
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(c))


def tokenize(text: str) -> list[str]:
    return TOKEN.findall(normalize(text))


def word_ngrams(tokens: list[str]) -> list[str]:
    return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]


def char_ngrams(token: str) -> list[str]:
    if len(token) > MAX_CHAR_TOKEN:
        return []
    w = f" {token} "
    lo, hi = CHAR_N
    return [w[i:i + n] for n in range(lo, hi + 1) for i in range(len(w) - n + 1)]


def _select(df: Counter, n_docs: int, min_df: int, max_df: float, max_features: int
            ) -> dict[str, int]:
    """Keep n-grams by document frequency; ids in sorted order (deterministic)."""
    limit = max_df * n_docs
    kept = [(f, c) for f, c in df.items() if c >= min_df and (c <= limit or n_docs < 10)]
    if len(kept) > max_features:
        kept.sort(key=lambda fc: (-fc[1], fc[0]))
        kept = kept[:max_features]
    return {f: i for i, f in enumerate(sorted(f for f, _ in kept))}


def _idf(df: np.ndarray, n_docs: int) -> np.ndarray:
    return (np.log((1.0 + n_docs) / (1.0 + df)) + 1.0).astype(np.float32)


def _tfidf(X: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear tf, idf weighting and L2 row normalisation, in place on ``X``.

    ``X`` has no duplicate entries (COO->CSR conversion and sparse products sum them).
    """
    X.data = ((1.0 + np.log(X.data)) * idf[X.indices]).astype(np.float32)
    row_len = np.diff(X.indptr)
    sq = np.bincount(np.repeat(np.arange(X.shape[0]), row_len), weights=X.data ** 2,
                     minlength=X.shape[0])
    norms = np.sqrt(sq).astype(np.float32)
    norms[norms == 0] = 1.0
    X.data /= np.repeat(norms, row_len)
    return X


class Features:
    """Word 1-2-gram TF-IDF, plus character 2-5-gram TF-IDF of words when ``char_ngrams``."""

    def __init__(self, char_ngrams: bool = True, min_df: int = 1, max_df: float = 0.9,
                 max_word_features: int = 400_000, max_char_features: int = 300_000) -> None:
        self.use_char = char_ngrams
        self.min_df, self.max_df = min_df, max_df
        self.max_word_features, self.max_char_features = max_word_features, max_char_features
        self.word_vocab: dict[str, int] = {}
        self.char_vocab: dict[str, int] = {}
        self.word_idf = np.zeros(0, np.float32)
        self.char_idf = np.zeros(0, np.float32)
        self._cache: dict[str, np.ndarray] = {}
        self._names: np.ndarray | None = None

    @property
    def n_features(self) -> int:
        return len(self.word_vocab) + len(self.char_vocab)

    # ------------------------------------------------------------ fit

    def fit_transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        toks = [tokenize(t) for t in texts]
        n = len(toks)
        df: Counter = Counter()
        for tl in toks:
            df.update(set(word_ngrams(tl)))
        self.word_vocab = _select(df, n, self.min_df, self.max_df, self.max_word_features)
        if self.use_char:
            candidates: dict[str, int] = {}
            words = sorted({w for tl in toks for w in tl})
            for w in words:
                for g in char_ngrams(w):
                    candidates.setdefault(g, len(candidates))
            C = self._char_counts(toks, candidates)
            cdf = np.bincount(C.indices, minlength=len(candidates))
            names = list(candidates)
            self.char_vocab = _select(Counter({names[i]: int(c) for i, c in enumerate(cdf)}),
                                      n, self.min_df, self.max_df, self.max_char_features)
            self._cache = {}
        self.word_idf = np.ones(len(self.word_vocab), np.float32)
        self.char_idf = np.ones(len(self.char_vocab), np.float32)
        W, C = self._counts(toks)
        self.word_idf = _idf(np.bincount(W.indices, minlength=W.shape[1]), n)
        if self.use_char:
            self.char_idf = _idf(np.bincount(C.indices, minlength=C.shape[1]), n)
        return self._combine(W, C)

    # ------------------------------------------------------------ transform

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        return self._combine(*self._counts([tokenize(t) for t in texts]))

    def _combine(self, W: sp.csr_matrix, C: sp.csr_matrix | None) -> sp.csr_matrix:
        W = _tfidf(W, self.word_idf)
        if C is None:
            return W
        C = _tfidf(C, self.char_idf)
        return sp.hstack([W, C], format="csr", dtype=np.float32)

    def _counts(self, toks: list[list[str]]) -> tuple[sp.csr_matrix, sp.csr_matrix | None]:
        vocab = self.word_vocab
        get = vocab.get
        rows: list[int] = []
        cols: list[int] = []
        for i, tl in enumerate(toks):
            ids = [j for j in map(get, word_ngrams(tl)) if j is not None]
            cols.extend(ids)
            rows.extend([i] * len(ids))
        W = sp.csr_matrix((np.ones(len(cols), np.float32), (np.array(rows, np.int64),
                                                              np.array(cols, np.int64))),
                          shape=(len(toks), len(vocab)), dtype=np.float32)
        C = self._char_counts(toks, self.char_vocab) if self.use_char else None
        return W, C

    def _char_counts(self, toks: list[list[str]], vocab: dict[str, int]) -> sp.csr_matrix:
        """(documents x char n-grams) counts = (docs x distinct words) @ (words x n-grams)."""
        local: dict[str, int] = {}
        occ = [local.setdefault(w, len(local)) for tl in toks for w in tl]
        lens = np.fromiter((len(tl) for tl in toks), np.int64, len(toks))
        D = sp.csr_matrix((np.ones(len(occ), np.float32), np.array(occ, np.int64),
                           np.concatenate([[0], np.cumsum(lens)])),
                          shape=(len(toks), len(local)))
        cache = self._cache if vocab is self.char_vocab else {}
        if len(cache) > CACHE_LIMIT:
            cache.clear()
        get = vocab.get
        arrays = []
        for w in local:
            ids = cache.get(w)
            if ids is None:
                ids = np.array([j for j in map(get, char_ngrams(w)) if j is not None],
                               np.int64)
                if cache is self._cache:
                    cache[w] = ids
            arrays.append(ids)
        tl_lens = np.fromiter((len(a) for a in arrays), np.int64, len(arrays))
        indices = np.concatenate(arrays) if arrays else np.zeros(0, np.int64)
        T = sp.csr_matrix((np.ones(len(indices), np.float32), indices,
                           np.concatenate([[0], np.cumsum(tl_lens)])),
                          shape=(len(local), len(vocab)))
        return (D @ T).tocsr()

    # ------------------------------------------------------------ explanations

    @property
    def names(self) -> np.ndarray:
        if self._names is None:
            words = sorted(self.word_vocab, key=self.word_vocab.__getitem__)
            chars = [f"«{g}»" for g in sorted(self.char_vocab, key=self.char_vocab.__getitem__)]
            self._names = np.array(words + chars, dtype=object)
        return self._names

    def __getstate__(self) -> dict:
        # Vocabularies are stored as newline-joined terms in id order: unpickling one string
        # and rebuilding the dict is far faster than unpickling a dict of 10^5 entries.
        state = self.__dict__.copy()
        state["_cache"] = {}
        state["_names"] = None
        for key in ("word_vocab", "char_vocab"):
            vocab = state[key]
            state[key] = "\n".join(sorted(vocab, key=vocab.__getitem__))
        return state

    def __setstate__(self, state: dict) -> None:
        for key in ("word_vocab", "char_vocab"):
            terms = state[key]
            state[key] = dict(zip(terms.split("\n"), range(terms.count("\n") + 1),
                                  strict=True)) if terms else {}
        self.__dict__.update(state)
