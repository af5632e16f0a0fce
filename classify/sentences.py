"""Sentence splitting with character offsets, for news copy.

Rules, in order:
- A blank line always ends a sentence. A single line break ends one too (headlines, bullet
  lines, datelines), unless the next line starts with a lower-case letter (wrapped text).
- ``.``, ``!``, ``?`` and ``…`` (with any closing quotes or brackets after them) end a sentence
  when followed by white space and then something that can start a sentence (not a lower-case
  letter).
- A full stop after a title (Mr., Dr., Gen., Brig.-Gen., ...) or a single initial
  (J. K. Rowling) never ends a sentence. "No.", "Art.", "Fig.", "Vol." ... are abbreviations
  only before a number ("No. 10"); elsewhere they are words ("Voters said no."). After a
  company suffix, a month, a state (Fla.) or U.S./U.K./U.N./E.U. a sentence ends when the next
  word is a typical sentence opener ("The", "He", "But", ...) or a capitalised common word
  followed by a lower-case one ("from the U.S. Customs officers said"), not a word that goes
  on a name ("U.S. Navy", "U.S. Customs and Border Protection"); after other dotted
  abbreviations (initials "M.L.", "a.m.") only before an opener. A list number at the start of
  a line ("1. The first item") does not end anything.
- In a headline (a line whose words of four letters or more all start with a capital: title
  case or capitals) none of those abbreviations ends a sentence: "U.S. Is Seeking Death
  Sentence" and "F.B.I. IS PROPOSING A SPECIAL DIVISION" are one headline each.
- Inside a quotation that closes within ``QUOTE_REACH`` characters, sentence ends stay in
  it: '"We will not forgive. We will not forget," he said.' is one sentence.
- A spaced ellipsis (". . .") is one mark.
- A sentence longer than ``max_chars`` is cut at white space, so pathological input (a 20 MB
  line with no punctuation) stays linear and gives usable pieces.

Every function here runs in time linear in the length of the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_CHARS = 2000
QUOTE_REACH = 400  # how far ahead an open quotation may close and still hold its sentences

# Never end a sentence: they stand before a name or are Latin-style abbreviations.
TITLES = {
    "mr", "mrs", "ms", "dr", "prof", "st", "gen", "col", "lt", "sgt", "capt", "cpl", "maj",
    "adm", "gov", "sen", "rep", "rev", "hon", "pres", "supt", "insp", "det", "cmdr", "brig",
    "fr", "messrs", "mt", "approx", "dept", "univ", "assn", "vs", "v", "cf", "al", "e.g",
    "i.e", "viz", "ca", "eds", "govt", "ch",
}
# Abbreviations only before a number ("No. 10", "Art. 5", "Fig. 3"); elsewhere they are words
# that can end a sentence ("Voters said no.", "a gallery of modern art.").
NUMBERED = {"no", "nos", "vol", "fig", "art", "sec", "para", "pp", "op", "pt", "ed", "est"}
# Can end a sentence, but usually do not: decided by the next words.
SUFFIXES = {
    "inc", "ltd", "co", "corp", "plc", "llc", "etc", "jr", "sr", "bros", "a.m", "p.m", "ft",
    "ave", "rd", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov",
    "dec", "ala", "ariz", "ark", "calif", "colo", "conn", "del", "fla", "ga", "ill", "ind",
    "kan", "ky", "la", "md", "mass", "mich", "minn", "miss", "mo", "mont", "neb", "nev", "okla",
    "ore", "pa", "tenn", "tex", "va", "vt", "wash", "wis", "wyo",
}
# Dotted place and organisation acronyms whose next capitalised word may start a sentence
# (a dotted abbreviation of other letters is taken for a person's initials: "Judge M.L. Singh").
PLACES = {"u.s", "u.k", "u.n", "e.u", "u.s.a", "d.c", "u.a.e"}
# Words a single capital letter follows as a name, not an initial: "cannabis in Class C."
LETTER_NAMES = {"class", "category", "grade", "type", "group", "vitamin", "plan", "section",
                "appendix", "schedule", "part", "annex", "article", "list", "division",
                "tier", "level", "block", "gate", "terminal", "hall", "row", "runway", "pier",
                "phase", "stage", "model", "series", "option", "figure", "table", "unit"}
OPENERS = {
    "the", "a", "an", "he", "she", "it", "they", "we", "i", "you", "but", "and", "in", "on",
    "at", "this", "that", "these", "those", "there", "its", "his", "her", "their", "our",
    "however", "meanwhile", "according", "last", "earlier", "later", "officials", "police",
    "after", "before", "when", "while", "if", "as", "for", "since", "some", "many", "most",
    "one", "two", "three", "both", "all", "no", "not", "under", "over", "about", "what", "who",
    "why", "how", "yet", "so", "also", "still", "then", "now", "here", "such", "mr",
    "mrs", "ms", "dr", "president", "prime", "minister", "authorities", "did", "do", "does",
    "is", "are", "was", "were", "can", "could", "will", "would", "should", "has", "have",
    "had", "where", "which", "my", "your", "critics", "analysts", "witnesses", "prof",
}
# Capitalised words that go on a name after an abbreviation ("the U.S. Navy intercepted",
# "the U.S. Government in Virginia"); another capitalised word followed by a lower-case one
# starts a sentence ("... from the U.S. Customs officers said ...").
NAME_HEADS = {
    "government", "navy", "army", "air", "marine", "marines", "coast", "senate", "senator",
    "house", "congress", "congressman", "congresswoman", "court", "district", "department",
    "state", "treasury", "embassy", "ambassador", "attorney", "secretary", "president",
    "vice", "central", "federal", "national", "supreme", "special", "secret", "postal",
    "forces", "military", "justice", "defense", "defence", "homeland", "trade", "dollar",
    "open", "olympic", "envoy", "representative", "commander", "general", "admiral",
    "intelligence", "agency", "consulate", "capitol", "census", "geological",
    "chamber", "council", "commission", "administration", "mission", "team", "troops", "office",
}
_CAP_THEN_LOWER = re.compile(r"([A-Z][a-z]+)[ \t]+([a-z]+)")
_CONTINUES_NAME = {"and", "of", "de", "du", "la", "for"}
_NUMBER_NEXT = re.compile(r"(\d|[IVXLC]+\b)")
_WORD = re.compile(r"[^\W\d_][\w'\u2019&\-]*")
HEADLINE_CHARS = 300  # a longer line is not taken for a headline

_END = re.compile(r"(?:\.(?: \.){2,}|[.!?\u2026]+)[\"'\u201d\u2019)\]\u00bb]*")
_BREAK = re.compile(r"\n[ \t\r\f\v]*(\n\s*)?")
_WORD_BEFORE = re.compile(r"([\w.\-'&]{1,30})\.$")
_WORD_BEFORE_THAT = re.compile(r"(\w+)[ \t]+$")


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str


def _headline(text: str, lo: int, hi: int) -> bool:
    """Is ``text[lo:hi]`` (one line) a headline: at most ``HEADLINE_CHARS`` long, with at
    least one word of four letters or more and every such word capitalised?"""
    if hi - lo > HEADLINE_CHARS:
        return False
    long_words = [w for w in _WORD.findall(text, lo, hi) if len(w) >= 4]
    return bool(long_words) and all(w[0].isupper() for w in long_words)


def _is_boundary(text: str, dot_end: int, nxt: int, line: tuple[int, int] | None = None) -> bool:
    """Is the terminal punctuation ending at ``dot_end`` (next sentence at ``nxt``) a boundary?
    In a headline (``line``, the bounds of the line, is one) an abbreviation never ends a
    sentence; that is asked only when an abbreviation is found, to keep other text fast."""
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
    if word in TITLES or re.split(r"[-.]", word)[-1] in TITLES:  # "Brig.-Gen."
        return False
    if word in NUMBERED:
        return not _NUMBER_NEXT.match(text, nxt)
    if word == "i":  # "you and I. Did you see" / "Albert I. Jones"
        return opener
    if len(word) == 1 and word.isalpha():  # an initial: "J. K. Rowling", unless "Class C."
        before = _WORD_BEFORE_THAT.search(text, max(0, m.start(1) - 20), m.start(1))
        if before and before.group(1).lower() in LETTER_NAMES:
            return opener or _new_clause(text, nxt)
        return False
    if word.isdigit() and len(word) <= 3 and _enumerator(text, m.start(1)):
        return False  # "1. The first item" at the start of a line or sentence
    if word in SUFFIXES or word in PLACES:  # company suffix, month, U.S., U.K., ...
        return (opener or _new_clause(text, nxt)) and not (line and _headline(text, *line))
    dotted = word.rsplit("-", 1)[-1]  # "Ex-C.I.A."
    if "." in dotted and all(len(p) <= 2 and p.isalpha() for p in dotted.split(".")):
        # other dotted abbreviations and initials (a.m., M.L.)
        return opener and not (line and _headline(text, *line))
    return True


def _new_clause(text: str, nxt: int) -> bool:
    """After an abbreviation: does a capitalised common word followed by a lower-case word
    start a new sentence ("the U.S. Customs officers said")? Not when the word goes on a
    name ("U.S. Navy intercepted", "U.S. Customs and Border Protection")."""
    m = _CAP_THEN_LOWER.match(text, nxt, nxt + 60)
    return bool(m) and m.group(1).lower() not in NAME_HEADS \
        and m.group(2) not in _CONTINUES_NAME


def _enumerator(text: str, word_start: int) -> bool:
    """Is the number at ``word_start`` the first thing on its line or after a sentence end
    (a list item number)?"""
    i = word_start - 1
    while i >= 0 and text[i] in " \t\u2022\u2043-*(":
        i -= 1
    return i < 0 or text[i] in "\n\r.!?:;\"\u201d"


def _split_segment(text: str, lo: int, hi: int, out: list[Sentence], max_chars: int) -> None:
    start = lo
    seen = lo  # quotes are counted in text[start:seen]
    straight = opened = 0  # '"' seen, and curly opening minus closing quotes
    for m in _END.finditer(text, lo, hi):
        end = m.end()
        nxt = end
        while nxt < hi and text[nxt].isspace():
            nxt += 1
        if nxt == end and end < hi:  # no white space after: "3.5", "U.S.-led"
            continue
        if nxt >= hi or _is_boundary(text, end, nxt, (lo, hi)):
            part = text[seen:end]
            straight += part.count('"')
            opened += part.count("\u201c") - part.count("\u201d")
            seen = end
            if nxt < hi and _quote_goes_on(text, end, hi, straight % 2 == 1, opened > 0):
                continue
            _emit(text, start, end, out, max_chars)
            start = seen = nxt
            straight = opened = 0
    _emit(text, start, hi, out, max_chars)


def _quote_goes_on(text: str, end: int, hi: int, straight: bool, curly: bool) -> bool:
    """Inside an open quotation that closes within ``QUOTE_REACH`` characters, a sentence
    end stays inside it: '"We will not forgive. We will not forget," he said.' is one
    sentence (the quote and who said it). An unclosed quote does not hold anything."""
    reach = min(hi, end + QUOTE_REACH)
    return (straight and text.find('"', end, reach) != -1) or \
        (curly and text.find("\u201d", end, reach) != -1)


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
