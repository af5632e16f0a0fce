"""The dev sets split by source into a tuning half and a confirmation half, and by genre.

Decisions made by looking at the dev sets (error analysis, what to write next into
``labels/``, a prevalence setting) may use the **tuning** half only; the **confirmation** half
is the headline figure because nothing was decided on it.

The split is fixed and documented:

- the unit is the source document: ``bbc/politics/106#23`` belongs to ``bbc/politics/106``,
  so sentences of one article never straddle the halves; a wire snippet (``ag/...``) or a
  headline (``nyt/...``) is its own document;
- documents are grouped into strata (file x genre), ordered inside each stratum by
  SHA-256 of ``SALT + document``, and dealt alternately to the two halves, so each half gets
  half of every genre (to within one document);
- nothing random is involved: the same files give the same halves on any machine.

Genres (``genre``) come from the source: ``wire`` (agency snippets with datelines),
``headline`` (newspaper headlines), and the BBC section (``bbc-politics``, ``bbc-business``,
``bbc-tech``, ``bbc-sport``, ``bbc-culture``). A second, content-based grouping
(``subject``) picks out war and conflict reporting and court and crime reporting by a few
words, for the error analysis the issue asks for by genre.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from pathlib import Path

SALT = "classify-devsplit-2026-12"
FILES = ("news_dev.jsonl", "news_dev2.jsonl")
HALVES = ("tune", "confirm")

_WAR = re.compile(r"\b(war|troops|soldiers|army|rebels?|insurgen\w*|militar\w*|fighting|"
                  r"shelling|ceasefire|guerrillas?|killed|bomb\w*|attacks?)\b", re.I)
_COURT = re.compile(r"\b(court|judge|trial|jury|sentenced|convicted|charged|charges|"
                    r"prosecut\w*|police|arrest\w*|jailed|prison|guilty|lawsuit)\b", re.I)


def document(source: str) -> str:
    return source.split("#", 1)[0]


def genre(source: str) -> str:
    kind, _, rest = source.partition("/")
    if kind == "ag":
        return "wire"
    if kind == "nyt":
        return "headline"
    section = rest.split("/", 1)[0]
    return "bbc-" + {"entertainment": "culture"}.get(section, section)


def subject(text: str) -> str:
    """``court-crime``, ``war-conflict`` or ``other`` (court wins when both match)."""
    if _COURT.search(text):
        return "court-crime"
    if _WAR.search(text):
        return "war-conflict"
    return "other"


def _rank(doc: str) -> str:
    return hashlib.sha256((SALT + doc).encode("utf-8")).hexdigest()


def load(shared: str | Path) -> list[dict]:
    """Every dev item with ``file``, ``genre``, ``subject`` and ``half`` added."""
    rows: list[dict] = []
    for name in FILES:
        path = Path(shared) / "devset" / name
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    r = json.loads(line)
                    r.update(file=name, genre=genre(r["source"]), subject=subject(r["text"]))
                    rows.append(r)
    strata: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in rows:
        strata[(r["file"], r["genre"])].add(document(r["source"]))
    half_of: dict[tuple[str, str], str] = {}
    for (name, _), docs in sorted(strata.items()):
        for i, doc in enumerate(sorted(docs, key=_rank)):
            half_of[(name, doc)] = HALVES[i % 2]
    for r in rows:
        r["half"] = half_of[(r["file"], document(r["source"]))]
    return rows
