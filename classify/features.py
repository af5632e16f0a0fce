"""TF-IDF features: word 1-2-grams and character 2-5-grams of words, built for speed.

The same features scikit-learn's ``TfidfVectorizer`` gives (sublinear tf, smoothed idf, L2
norm per part), computed a batch at a time with array operations: one regex pass tokenises
the whole batch, tokens become ids of a token table, and character n-gram counts come from a
sparse product (texts x tokens) @ (tokens x character n-grams), so each distinct word is cut
into n-grams once per model (words unseen in training once per run) instead of once per
occurrence. Unseen words still contribute their character n-grams. Tokens longer than
``MAX_CHAR_TOKEN`` characters get no character n-grams, so pathological input stays linear.
The vocabularies and idf are fitted by ``estimators.TextVectorizer`` (scikit-learn's
``TfidfVectorizer``); this module only transforms.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat

import numpy as np
import scipy.sparse as sp

TOKEN = re.compile(r"\w+(?:'\w+)?")
SEP = "\x00"  # joins the texts of a batch; a token of its own in BATCH_TOKEN
SEP_ID = -2
BATCH_TOKEN = re.compile(r"\w+(?:'\w+)?|\x00")
CHAR_N = (2, 5)
MAX_CHAR_TOKEN = 40
CACHE_LIMIT = 200_000  # words unseen in training whose n-grams are kept between batches
PAIR = 1 << 32  # bigram key: first token id * PAIR + second token id
#: a dot inside a dotted abbreviation: after a single letter, before another single letter or
#: a possessive (the dots of U.S, F.A.A. and U.S.'s, not the last dot of F.A.A.); a pattern
#: that starts with the dot itself, so the scan is a fast search for "."
ABBREVIATION_DOT = re.compile(r"\.(?<=(?<!\w)[A-Za-z]\.)(?=[A-Za-z]\b|'\w)")


def join_abbreviations(text: str) -> str:
    """Dotted abbreviations written as one word (F.A.A. -> FAA., U.S.'s -> US's), the way most
    copy writes them; split at the dots, "F.A.A." would be the letters f, a, a."""
    return ABBREVIATION_DOT.sub("", text) if "." in text else text


def normalize(text: str, abbreviations: bool = False) -> str:
    """Lower-case and strip accents (NFKD, combining marks dropped); with ``abbreviations``,
    join dotted abbreviations first (``join_abbreviations``)."""
    if abbreviations:
        text = join_abbreviations(text)
    text = text.lower()
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(c))


def tokenize(text: str, abbreviations: bool = False) -> list[str]:
    return TOKEN.findall(normalize(text, abbreviations))


def batch_tokens(texts: Sequence[str], abbreviations: bool = False) -> list[str]:
    """The tokens of ``texts`` in order, with ``SEP`` between consecutive texts.

    Equal to ``tokenize`` text by text, done as one lower-casing and one regex pass over the
    joined batch (the separator is not a word character, so no token spans two texts).
    """
    joined = SEP.join(texts)
    if joined.count(SEP) == max(len(texts) - 1, 0):
        return BATCH_TOKEN.findall(normalize(joined, abbreviations))
    out: list[str] = []  # a text holds the separator itself: one text at a time
    for i, t in enumerate(texts):
        if i:
            out.append(SEP)
        out.extend(tokenize(t, abbreviations))
    return out


def _term_ids(terms: str) -> dict[str, int]:
    """Newline-joined terms (how vocabularies are pickled: one string unpickles far faster
    than a dict of 10^5 entries) back to term -> position."""
    return dict(zip(terms.split("\n"), range(terms.count("\n") + 1), strict=True)) \
        if terms else {}


def word_ngrams(tokens: list[str]) -> list[str]:
    return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]


def char_ngrams(token: str) -> list[str]:
    if len(token) > MAX_CHAR_TOKEN:
        return []
    w = f" {token} "
    lo, hi = CHAR_N
    return [w[i:i + n] for n in range(lo, hi + 1) for i in range(len(w) - n + 1)]


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


@dataclass
class Counts:
    """Raw counts of a batch of texts, before TF-IDF weighting."""

    W: sp.csr_matrix  # texts x word n-grams
    D: sp.csr_matrix | None  # texts x token-table rows (when character n-grams are used)
    C: sp.csr_matrix | None  # texts x character n-grams (= D @ tables.chars)
    lex: np.ndarray | None  # texts x 4 lexicon features, final values
    tables: _Tables


class _Tables:
    """Token ids and lookup arrays for the batch path, built once from the vocabularies.

    Every word of the vocabulary gets a token id; words met while tagging are appended to the
    table (their character n-grams computed once), up to ``CACHE_LIMIT`` of them, after which
    the appended part is dropped and starts again, so memory stays bounded on endless input.
    """

    def __init__(self, word_vocab: dict[str, int], char_vocab: dict[str, int] | None,
                 lexicon: dict[str, float] | None = None) -> None:
        words: set[str] = set()
        bigrams = []
        for term, col in word_vocab.items():
            parts = term.split(" ")
            words.update(parts)
            if len(parts) == 2:
                bigrams.append((parts[0], parts[1], col))
        self.char_vocab, self.lexicon = char_vocab, lexicon
        words_in_order = sorted(words)
        self._start({w: i for i, w in enumerate(words_in_order)})
        # token id -> unigram column, -1 if none; index ``base`` (and -1) is a -1 sentinel
        self.uni_col = np.full(self.base + 1, -1, np.int64)
        for w, i in self.tok.items():
            if i >= 0:
                self.uni_col[i] = word_vocab.get(w, -1)
        keys = np.array([self.tok[a] * PAIR + self.tok[b] for a, b, _ in bigrams], np.int64)
        order = np.argsort(keys, kind="stable")
        self.bi_keys = keys[order]
        self.bi_col = np.array([c for _, _, c in bigrams], np.int64)[order]
        # token id -> lexicon valence, grown with appended words; the last entry (-1) is 0
        self.valence = self._valences(words_in_order + [""])
        self.chars = self._char_rows(words_in_order) if char_vocab is not None else None

    def _start(self, tok: dict[str, int]) -> None:
        self.tok = tok
        self.base = len(tok)
        self.tok[SEP] = SEP_ID
        self.extra: dict[str, int] = {}
        self.generation = 0

    def _valences(self, words: list[str]) -> np.ndarray:
        get = (self.lexicon or {}).get
        return np.fromiter((get(w, 0.0) for w in words), np.float32, len(words))

    def __getstate__(self) -> dict:
        """The base tables only (appended words are dropped), references left out."""
        words = sorted((w for w, i in self.tok.items() if 0 <= i < self.base),
                       key=self.tok.__getitem__)
        return {"words": "\n".join(words), "uni_col": self.uni_col, "bi_keys": self.bi_keys,
                "bi_col": self.bi_col, "valence": np.append(self.valence[:self.base], 0.0),
                "chars": None if self.chars is None else self.chars[:self.base]}

    def __setstate__(self, state: dict) -> None:
        words = state.pop("words")
        self.__dict__.update(state)
        self.char_vocab = self.lexicon = None  # set by Features.__setstate__
        self._start(_term_ids(words))

    def _char_rows(self, words: list[str]) -> sp.csr_matrix:
        """(words x character n-grams) counts."""
        assert self.char_vocab is not None
        get = self.char_vocab.get
        ids = [[j for j in map(get, char_ngrams(w)) if j is not None] for w in words]
        lens = np.fromiter(map(len, ids), np.int64, len(ids))
        flat = np.fromiter((j for row in ids for j in row), np.int64, int(lens.sum()))
        m = sp.csr_matrix((np.ones(len(flat), np.float32), flat,
                           np.concatenate([[0], np.cumsum(lens)])),
                          shape=(len(words), len(self.char_vocab)))
        m.sum_duplicates()
        return m

    def ids(self, tokens: list[str]) -> np.ndarray:
        """Token ids (``SEP_ID`` for the separator); unknown words get new ids when character
        n-grams or the lexicon need them, else -1."""
        tid = np.fromiter(map(self.tok.get, tokens, repeat(-1)), np.int64, len(tokens))
        if self.chars is None and not self.lexicon:
            return tid
        unknown = np.flatnonzero(tid == -1)
        if len(unknown):
            if len(self.extra) > CACHE_LIMIT:
                for w in self.extra:
                    del self.tok[w]
                self.extra.clear()
                if self.chars is not None:
                    self.chars = self.chars[:self.base]
                self.valence = np.append(self.valence[:self.base], 0.0).astype(np.float32)
                self.generation += 1  # rows past ``base`` now mean other words
            new = list(dict.fromkeys([tokens[i] for i in unknown.tolist()]))
            start = self.base + len(self.extra)
            ids = dict(zip(new, range(start, start + len(new)), strict=True))
            self.extra.update(ids)
            self.tok.update(ids)
            if self.chars is not None:
                self.chars = sp.vstack([self.chars, self._char_rows(new)], format="csr")
            self.valence = np.concatenate([self.valence[:-1], self._valences(new + [""])])
            tid[unknown] = [ids[tokens[i]] for i in unknown.tolist()]
        return tid


def sentiment_lexicon() -> dict[str, float]:
    """VADER's valences (-4 to 4) of single words (Hutto and Gilbert, ICWSM 2014; MIT licence;
    see ``classify/lexicon/README.md``). Read at training time and stored in the model."""
    from importlib.resources import files

    text = files("classify").joinpath("lexicon", "vader.tsv").read_text(encoding="utf-8")
    lexicon: dict[str, float] = {}
    for line in text.splitlines():
        word, valence = line.split("\t")
        lexicon[normalize(word)] = float(valence)
    return lexicon


LEXICON_SCALE = 0.25  # a strong word (valence 4) in a 16-word sentence weighs 0.25
LEXICON_NAMES = ("<positive words>", "<negative words>", "<has positive word>",
                 "<has negative word>")


class Features:
    """Word 1-2-gram TF-IDF, plus character 2-5-gram TF-IDF of words when ``char_ngrams``, plus
    four sentiment-lexicon features when a ``lexicon`` is given: the summed positive and
    negative valence of a text's words (divided by the square root of its length, and by 4
    so a strong word weighs about 1), and whether it has any positive or negative word. They
    carry evaluative words the training data never saw, which is what stance needs most.
    ``abbreviations``: texts are tokenised with dotted abbreviations joined (False for models
    saved before the option)."""

    def __init__(self, char_ngrams: bool = True, lexicon: dict[str, float] | None = None,
                 abbreviations: bool = False) -> None:
        self.lexicon = lexicon
        self.use_char = char_ngrams
        self.abbreviations = abbreviations
        self.word_vocab: dict[str, int] = {}
        self.char_vocab: dict[str, int] = {}
        self.word_idf = np.zeros(0, np.float32)
        self.char_idf = np.zeros(0, np.float32)
        self._names: np.ndarray | None = None
        self._tab: _Tables | None = None

    @property
    def n_lexicon(self) -> int:
        """Lexicon features, the last columns of every feature matrix."""
        return len(LEXICON_NAMES) if self.lexicon else 0

    @property
    def n_features(self) -> int:
        return len(self.word_vocab) + len(self.char_vocab) + self.n_lexicon

    # ------------------------------------------------------------ fit

    # ------------------------------------------------------------ transform

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        return self.combine(self.counts(texts))

    def counts(self, texts: Sequence[str]) -> Counts:
        """Raw counts of a batch (see ``Counts``).

        One regex pass over the batch; tokens become ids of a token table, unigram columns
        are an array lookup, bigram columns a binary search among sorted id pairs, and
        character n-gram counts are (texts x tokens) @ (tokens x n-grams).
        """
        tab = self._tables()
        n = len(texts)
        tid = tab.ids(batch_tokens(texts, self.abbreviations))
        is_sep = tid == SEP_ID
        rows = np.cumsum(is_sep)
        keep = ~is_sep
        tid, rows = tid[keep], rows[keep]
        uni = tab.uni_col[np.clip(tid, -1, tab.base)]
        keep = uni >= 0
        r_parts, c_parts = [rows[keep]], [uni[keep]]
        if len(tid) > 1 and len(tab.bi_keys):
            a, b = tid[:-1], tid[1:]
            ok = (a >= 0) & (a < tab.base) & (b >= 0) & (b < tab.base) & (rows[:-1] == rows[1:])
            keys = a[ok] * PAIR + b[ok]
            pos = np.minimum(np.searchsorted(tab.bi_keys, keys), len(tab.bi_keys) - 1)
            hit = tab.bi_keys[pos] == keys
            r_parts.append(rows[:-1][ok][hit])
            c_parts.append(tab.bi_col[pos[hit]])
        r, c = np.concatenate(r_parts), np.concatenate(c_parts)
        W = sp.csr_matrix((np.ones(len(c), np.float32), (r, c)),
                          shape=(n, len(self.word_vocab)), dtype=np.float32)
        lex = None
        if self.lexicon:
            v = tab.valence[tid]  # tid -1 (an unknown word, no n-grams kept) hits the last 0
            pos = np.bincount(rows, np.maximum(v, 0), minlength=n)
            neg = np.bincount(rows, np.maximum(-v, 0), minlength=n)
            scale = LEXICON_SCALE / np.sqrt(np.maximum(np.bincount(rows, minlength=n), 1))
            lex = np.column_stack([pos * scale, neg * scale, pos > 0, neg > 0]
                                  ).astype(np.float32)
        if tab.chars is None:
            return Counts(W, None, None, lex, tab)
        # rows ascend, so D is built as CSR directly; a word twice in a text is two entries,
        # which products sum
        D = sp.csr_matrix((np.ones(len(tid), np.float32), tid,
                           np.searchsorted(rows, np.arange(n + 1))),
                          shape=(n, tab.chars.shape[0]))
        return Counts(W, D, (D @ tab.chars).tocsr(), lex, tab)

    def _tables(self) -> _Tables:
        if self._tab is None:
            self._tab = _Tables(self.word_vocab, self.char_vocab if self.use_char else None,
                                self.lexicon)
        return self._tab

    def combine(self, c: Counts) -> sp.csr_matrix:
        """The feature matrix: TF-IDF of each n-gram part, then the lexicon features."""
        parts = [_tfidf(c.W, self.word_idf)]
        if c.C is not None:
            parts.append(_tfidf(c.C, self.char_idf))
        if c.lex is not None:
            parts.append(sp.csr_matrix(c.lex))
        if len(parts) == 1:
            return parts[0]
        return sp.hstack(parts, format="csr", dtype=np.float32)

    # ------------------------------------------------------------ explanations

    @property
    def names(self) -> np.ndarray:
        if self._names is None:
            words = sorted(self.word_vocab, key=self.word_vocab.__getitem__)
            chars = [f"«{g}»" for g in sorted(self.char_vocab, key=self.char_vocab.__getitem__)]
            lex = list(LEXICON_NAMES) if self.lexicon else []
            self._names = np.array(words + chars + lex, dtype=object)
        return self._names

    def __getstate__(self) -> dict:
        # Vocabularies are stored as newline-joined terms in id order (see _term_ids). The
        # token tables are saved too, so tagging starts without rebuilding them.
        state = self.__dict__.copy()
        state["_names"] = None
        state["_tab"] = self._tables()
        for key in ("word_vocab", "char_vocab"):
            vocab = state[key]
            state[key] = "\n".join(sorted(vocab, key=vocab.__getitem__))
        return state

    def __setstate__(self, state: dict) -> None:
        for key in ("word_vocab", "char_vocab"):
            state[key] = _term_ids(state[key])
        state.pop("_cache", None)  # models saved before the batch path
        state.setdefault("lexicon", None)
        state.setdefault("abbreviations", False)  # models saved before the option
        state.setdefault("_tab", None)
        self.__dict__.update(state)
        if self._tab is not None:
            self._tab.char_vocab = self.char_vocab if self.use_char else None
            self._tab.lexicon = self.lexicon
