"""Sentence splitting with character offsets, for news copy.

Rules, in order:
- A blank line always ends a sentence. A single line break ends one too (headlines, bullet
  lines, datelines), unless the next line starts with a lower-case letter (wrapped text).
- ``.``, ``!``, ``?`` and ``…`` (with any closing quotes or brackets after them) end a sentence
  when followed by white space and then something that can start a sentence (not a lower-case
  letter).
- A full stop after a title (Mr., Dr., Gen., ...), a single initial (J. K. Rowling), a month
  abbreviation or "No." never ends a sentence. After a dotted acronym or a company suffix
  (U.S., U.K., Inc., Ltd., etc.) it ends one only when the next word is a typical sentence
  opener ("The", "He", "But", ...).
- A sentence longer than ``max_chars`` is cut at white space, so pathological input (a 20 MB
  line with no punctuation) stays linear and gives usable pieces.

Every function here runs in time linear in the length of the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_CHARS = 2000

TITLES = {
    "mr", "mrs", "ms", "dr", "prof", "st", "gen", "col", "lt", "sgt", "capt", "cpl", "maj",
    "adm", "gov", "sen", "rep", "rev", "hon", "pres", "supt", "insp", "det", "cmdr", "brig",
    "fr", "sr", "jr", "messrs", "mt", "ft", "no", "nos", "vol", "fig", "art", "sec", "para",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "approx", "est", "dept", "univ", "assn", "bros", "vs", "v", "cf", "al", "ave", "rd", "e.g",
    "i.e", "viz", "ca", "op", "pp", "ed", "eds", "govt",
}
# Can end a sentence, but usually do not: decided by the next word.
SUFFIXES = {"inc", "ltd", "co", "corp", "plc", "llc", "etc", "jr", "sr", "bros", "a.m", "p.m"}
OPENERS = {
    "the", "a", "an", "he", "she", "it", "they", "we", "i", "you", "but", "and", "in", "on",
    "at", "this", "that", "these", "those", "there", "its", "his", "her", "their", "our",
    "however", "meanwhile", "according", "last", "earlier", "later", "officials", "police",
    "after", "before", "when", "while", "if", "as", "for", "since", "some", "many", "most",
    "one", "two", "three", "both", "all", "no", "not", "under", "over", "about", "what", "who",
    "why", "how", "yet", "so", "also", "still", "then", "now", "here", "such", "mr",
    "mrs", "ms", "dr", "president", "prime", "minister", "authorities",
}

_END = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]\u00bb]*")
_BREAK = re.compile(r"\n[ \t\r\f\v]*(\n\s*)?")
_WORD_BEFORE = re.compile(r"([\w.\-']{1,30})\.$")


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str


def _is_boundary(text: str, dot_end: int, nxt: int) -> bool:
    """Is the terminal punctuation ending at ``dot_end`` (next sentence at ``nxt``) a boundary?"""
    if nxt >= len(text):
        return True
    first = text[nxt]
    if first.islower():
        return False
    # Only a bare full stop is ambiguous: "!", "?", an ellipsis, or a stop inside closing
    # quotes or brackets always ends the sentence.
    j = dot_end
    while j > 0 and text[j - 1] in "\"'\u201d\u2019)]\u00bb":
        j -= 1
    if j != dot_end or text[j - 1] != "." or (j >= 2 and text[j - 2] == "."):
        return True
    m = _WORD_BEFORE.search(text, max(0, j - 31), j)
    if not m:
        return True
    word = m.group(1).lower().lstrip("-'")
    next_word = re.match(r"[\w']+", text[nxt:nxt + 40])
    opener = bool(next_word) and next_word.group(0).lower() in OPENERS
    if word in TITLES:
        return False
    if len(word) == 1 and word.isalpha():  # an initial: "J. K. Rowling"
        return False
    if word in SUFFIXES or ("." in word and all(len(p) <= 2 for p in word.split("."))):
        # dotted acronym (U.S., U.N., a.m.) or company suffix
        return opener
    return True


def _split_segment(text: str, lo: int, hi: int, out: list[Sentence], max_chars: int) -> None:
    start = lo
    for m in _END.finditer(text, lo, hi):
        end = m.end()
        nxt = end
        while nxt < hi and text[nxt].isspace():
            nxt += 1
        if nxt == end and end < hi:  # no white space after: "3.5", "U.S.-led"
            continue
        if nxt >= hi or _is_boundary(text, end, nxt):
            _emit(text, start, end, out, max_chars)
            start = nxt
    _emit(text, start, hi, out, max_chars)


def _emit(text: str, start: int, end: int, out: list[Sentence], max_chars: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    while end - start > max_chars:
        cut = text.rfind(" ", start + max_chars // 2, start + max_chars)
        if cut == -1:
            cut = start + max_chars
        piece_end = cut
        while piece_end > start and text[piece_end - 1].isspace():
            piece_end -= 1
        out.append(Sentence(start, piece_end, text[start:piece_end]))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        out.append(Sentence(start, end, text[start:end]))


def split_sentences(text: str, max_chars: int = MAX_CHARS) -> list[Sentence]:
    """Split ``text`` into sentences; ``text[s.start:s.end] == s.text`` for each."""
    out: list[Sentence] = []
    seg_start = 0
    for m in _BREAK.finditer(text):
        blank = m.group(1) is not None
        after = m.end()
        if not blank and after < len(text) and text[after].islower():
            continue  # wrapped line: the sentence goes on
        _split_segment(text, seg_start, m.start(), out, max_chars)
        seg_start = after
    _split_segment(text, seg_start, len(text), out, max_chars)
    return out
