"""Dropping the lines of a scraped page that are not prose, before sentence splitting.

Text copied or scraped from a news page carries navigation ("Politics", "Home"), lone
symbols ("#", "|"), dates ("time18-04-2025"), source names ("Arab News"), app banners
("Download the App") and repeats of the headline. A line (after trimming) is dropped when:
- it has no letter at all (symbols, numbers, rules);
- it repeats an earlier line exactly (white space and case aside);
- it has fewer than ``MIN_WORDS`` words and no sentence-ending punctuation (navigation
  words, section names, bylines, "logo"); headlines have more words and are kept;
- it is a byline ("By Jane Smith, Transport Correspondent": "By" and a name, at most eight
  words, no sentence-ending punctuation);
- it is a date or time with at most one other word ("Updated 18 April 2025, 10:32 GMT";
  at most ``DATE_MAX_WORDS`` words in all);
- it is page furniture: an app banner, a sharing or subscription prompt, a cookie notice,
  a copyright line or a "Latest news" / "Read more" link (``FURNITURE``).
Every other line is kept as it is. ``benchmarks/line_filter.py`` measures the rule's
precision and recall of dropped lines on hand-labelled pages. Offsets of the sentences of
``split_prose`` refer to the original text.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from .sentences import MAX_CHARS, Sentence, split_sentences

MIN_WORDS = 3
# a date line has at most one word besides its date and date words ("Updated", "GMT", ...):
# far fewer than this
DATE_MAX_WORDS = 24
KEY_MAX_CHARS = 100_000
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[^\W\d_][\w'\u2019.-]*")
_BYLINE = re.compile(r"(?:By|BY|by)\s+[A-Z]")
_END_PUNCT = re.compile(r"[.!?:\u2026][\"'\u201d\u2019)]*$")
_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
          r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_DATE = re.compile(
    r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}"                      # 18-04-2025, 2025/04/18
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}(?:,?\s+\d{{4}})?"  # 18 April 2025
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"  # April 18, 2025
    r"|\d{1,2}:\d{2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?"            # 10:32, 9:15 pm
    r"|\b\d+\s+(?:minutes?|hours?|days?|weeks?)\s+ago\b",
    re.IGNORECASE)
_DATE_WORDS = {"time", "updated", "published", "posted", "last", "modified", "on", "at",
               "am", "pm", "gmt", "utc", "bst", "est", "edt", "pst", "ist", "pkt", "monday",
               "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "ago",
               "date", "by", "and"}
FURNITURE = re.compile(
    r"download (?:the|our) app|get the app|app-?store|play-?store|get it on google play"
    r"|available on the app store"
    r"|subscribe (?:to|now|for)|sign (?:up|in) (?:to|for|now)|newsletter"
    r"|follow us|share (?:this|on)|click here|all rights reserved|copyright \u00a9|\u00a9 \d{4}"
    r"|we use cookies|accept (?:all )?cookies|cookie (?:policy|settings)"
    r"|^(?:latest news|read more|see also|related(?: articles| stories| news)?|most read"
    r"|trending(?: now)?|more from|advertisement|skip to (?:main )?content|back to top)\b",
    re.IGNORECASE)


@dataclass(frozen=True)
class LineVerdict:
    lineno: int  # from 1
    start: int
    end: int  # the line's span in the text, without its line break
    text: str
    reason: str | None  # why it is dropped; None = kept (prose)


def _key(line: str) -> str:
    """A line as its repeats are recognised: case and runs of white space aside. A line
    longer than ``KEY_MAX_CHARS`` (a whole article on one line) is keyed by case alone:
    collapsing its white space would build a list of every word."""
    s = line.strip().lower()
    return s if len(s) > KEY_MAX_CHARS else _SPACES.sub(" ", s)


def _reason(line: str, key: str, seen: set[str]) -> str | None:
    """Why ``line`` (whose ``_key`` is ``key``) is dropped, or None; ``seen``: the keys of the
    lines before it."""
    s = line.strip()
    if not any(c.isalpha() for c in s):
        return "no letters"
    if key in seen:
        return "repeat of an earlier line"
    # words counted up to 31 (no test below looks further), and the cheap count tests first:
    # on a long line (a whole article on one line) the pattern searches would cost seconds
    # and memory, and could not change the verdict
    n = sum(1 for _ in itertools.islice(_WORD.finditer(s), 31))
    if n <= 30 and FURNITURE.search(s):
        return "page furniture"
    if n < MIN_WORDS and not _END_PUNCT.search(s):
        return "too short for prose"
    if _BYLINE.match(s) and n <= 8 and not _END_PUNCT.search(s):
        return "byline"
    if n <= DATE_MAX_WORDS and _DATE.search(s):
        rest = [w for w in _WORD.findall(_DATE.sub(" ", s))
                if w.lower().strip(".") not in _DATE_WORDS]
        if len(rest) <= 1:
            return "date or time"
    return None


def line_verdicts(text: str) -> list[LineVerdict]:
    """Every non-blank line of ``text`` with its verdict (see the module docstring)."""
    out = []
    seen: set[str] = set()
    pos = 0
    for lineno, line in enumerate(text.splitlines(keepends=True), 1):
        body = line.rstrip("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
        if body.strip():
            key = _key(body)
            out.append(LineVerdict(lineno, pos, pos + len(body), body, _reason(body, key, seen)))
            seen.add(key)
        pos += len(line)
    return out


def split_prose(text: str, max_chars: int = MAX_CHARS) -> list[Sentence]:
    """Sentences of the prose lines of ``text`` (dropped lines separate paragraphs), with
    offsets into ``text`` itself."""
    out: list[Sentence] = []
    block: tuple[int, int] | None = None
    for v in line_verdicts(text):
        if v.reason is not None:
            if block:
                out += _shifted(text, *block, max_chars)
            block = None
        elif block and not text[block[1]:v.start].count("\n") > 1:
            block = (block[0], v.end)
        else:
            if block:
                out += _shifted(text, *block, max_chars)
            block = (v.start, v.end)
    if block:
        out += _shifted(text, *block, max_chars)
    return out


def _shifted(text: str, lo: int, hi: int, max_chars: int) -> list[Sentence]:
    return [Sentence(s.start + lo, s.end + lo, s.text)
            for s in split_sentences(text[lo:hi], max_chars)]
