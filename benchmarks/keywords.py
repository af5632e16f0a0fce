"""Keyword baseline: one list of regular expressions per topic, and a crude stance rule.

Written once from the labelling guide's topic definitions (../shared/LABELLING.md) and general
news vocabulary, and deliberately not tuned on the dev set: it is the floor a learned model has
to beat. A topic is predicted when any of its patterns matches (case-insensitive); several
topics can match one sentence. Stance is ``critical`` if a critical cue matches, else
``supportive`` if a supportive cue matches, else ``neutral``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

TOPIC_PATTERNS: dict[str, list[str]] = {
    "counterterrorism": [
        r"\bterror(?:ism|ist|ists|ise|ize|ised|ized)?\b",
        r"\bcounter-?terror",
        r"\bmilitan(?:t|ts|cy)\b",
        r"\bextremis[tm]s?\b",
        r"\bjihad(?:i|is|ist|ists)?\b",
        r"\bal[- ]qa['e]?ida\b",
        r"\bislamic state\b",
        r"\b(?:isis|isil|is-k|ttp|bla)\b",
        r"\btaliban\b",
        r"\bsuicide (?:bomb|attack)",
        r"\bbomb(?:ing|ings|er|ers)\b",
        r"\binsurgen(?:t|ts|cy)\b",
        r"\bradicali[sz]",
        r"\bhijack",
        r"\bhostages?\b",
    ],
    "immigration": [
        r"\bimmigra",
        r"\bemigra",
        r"\bmigra(?:nt|nts|tion|te|ted|ting)\b",
        r"\basylum\b",
        r"\brefugees?\b",
        r"\bvisas?\b",
        r"\bdeport",
        r"\bborder (?:control|guard|force|police|agency|security|crossing)",
        r"\bhuman trafficking\b",
        r"\b(?:people|migrant|human) smuggl",
        r"\btrafficking in persons\b",
        r"\bcitizenship\b",
        r"\bresidence permits?\b",
        r"\bwork permits?\b",
        r"\bresettle",
        r"\bundocumented\b",
        r"\billegal(?:ly)? (?:entry|entered|immigrants?|migrants?|workers?)\b",
    ],
    "narcotics": [
        r"\bnarcotic",
        r"\bdrugs? (?:traffick|smuggl|cartel|lord|dealer|deal|trade|seizure|bust|gang|baron|"
        r"mule|abuse|addict|user|ring|haul|runner)",
        r"\b(?:illegal|illicit|hard|class a) drugs?\b",
        r"\bheroin\b",
        r"\bcocaine\b",
        r"\bcannabis\b",
        r"\bmarijuana\b",
        r"\bopium\b",
        r"\bpoppy\b|\bpoppies\b",
        r"\b(?:meth|methamphetamine|amphetamines?|ecstasy|hashish|fentanyl)\b",
        r"\bcartels?\b",
        r"\boverdose",
    ],
    "aviation": [
        r"\bairlines?\b",
        r"\bairports?\b",
        r"\baircraft\b",
        r"\bairliners?\b",
        r"\b(?:aero|air)?planes?\b",
        r"\bjets?\b|\bjetliners?\b",
        r"\bflights?\b",
        r"\bpilots?\b",
        r"\bcabin crew\b",
        r"\bair (?:travel|traffic|fares?|passengers?|crash|safety|routes?|carriers?)\b",
        r"\baviation\b",
        r"\b(?:boeing|airbus|embraer|bombardier)\b",
        r"\brunways?\b",
        r"\bhijack",
        r"\b(?:ryanair|easyjet|british airways|lufthansa|air france|klm|emirates|qantas|"
        r"united airlines|american airlines|delta air|virgin atlantic|aer lingus)\b",
        r"\b(?:heathrow|gatwick|stansted|luton)\b",
    ],
}

STANCE_PATTERNS: dict[str, list[str]] = {
    "critical": [
        r"\bcondemn", r"\bcriticis", r"\bcriticiz", r"\bcriticism\b", r"\baccus",
        r"\balarm", r"\bprotest", r"\bwarn", r"\bdenounc", r"\bblam", r"\bslam",
        r"\bdeplor", r"\boutrag", r"\bfailed to\b", r"\bfailure\b", r"\bconcern",
    ],
    "supportive": [
        r"\bprais", r"\bwelcom", r"\bcommend", r"\bgrat(?:eful|itude)\b", r"\bthank",
        r"\bpledg", r"\bapplaud", r"\bhail", r"\boptimis", r"\bmilestone\b",
        r"\bsuccess", r"\bcommitted to\b", r"\bsupport(?:s|ed)?\b",
    ],
}

_TOPICS = {t: re.compile("|".join(f"(?:{p})" for p in ps), re.IGNORECASE)
           for t, ps in TOPIC_PATTERNS.items()}
_STANCE = {s: re.compile("|".join(f"(?:{p})" for p in ps), re.IGNORECASE)
           for s, ps in STANCE_PATTERNS.items()}


def topics(text: str) -> list[str]:
    return [t for t, rx in _TOPICS.items() if rx.search(text)]


def stance(text: str) -> str:
    for s in ("critical", "supportive"):
        if _STANCE[s].search(text):
            return s
    return "neutral"


def predict(texts: Sequence[str]) -> tuple[list[list[str]], list[str]]:
    return [topics(t) for t in texts], [stance(t) for t in texts]
