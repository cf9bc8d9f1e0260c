"""Labels that change what the words after them mean: "False: The ferry sank" says the ferry did not sink.

A dateline ("OTTAWA -", "New Delhi:") only says where a story was filed, so the offline answerer cuts it before
quoting; a label has the same shape but reverses or qualifies the claim that follows, so it must be quoted with the
claim or the claim not quoted at all. The words live here, in one list, so every place that cuts lead-ins (answers,
digests, article summaries) keeps the same ones.
"""

from __future__ import annotations

import re

from retrieval.text import normalised

# Verdicts, genres and denials; "Police deny:" and "Ministry denies:" reverse a story as surely as "False:".
MEANING_LABELS = (
    "false", "mostly false", "fake", "hoax", "satire", "satirical", "parody", "spoof", "humou?r", "april fools?",
    "fiction", "misleading", "misinformation", "disinformation", "fabricated", "doctored", "debunked", "myth",
    "not true", "untrue", "no evidence", "unproven", "unverified", "unconfirmed", "rumou?rs?", "alleged(?:ly)?",
    "claims?", "fact[ -]?check(?:ed)?", "verdict", "opinion", "editorial", "commentary", "analysis", "correction",
    "corrected", "retract(?:ed|ion)", "clarification", "deny", "denies", "denied", "denial", "refutes?", "rejects?",
)  # fmt: skip
_LABEL = re.compile(r"\b(?:" + "|".join(MEANING_LABELS) + r")\b", re.IGNORECASE)
# "Satire: ...", "FACT CHECK | ...", "Opinion - ...": a short label opening a headline.
_HEADLINE_LABEL = re.compile(r"^\s*(?P<label>[^:|]{1,30}?)\s*(?::|\||\s[-–—])\s+")


def carries_label(text: str) -> bool:
    """Whether `text` (a lead-in about to be cut) holds a label that changes the meaning of what follows it."""
    return bool(_LABEL.search(normalised(text)))


def headline_label(title: str) -> str | None:
    """The meaning label a headline opens with ("Satire", "Fact check", "Police deny"), if any: the article's every
    sentence is said under it."""
    found = _HEADLINE_LABEL.match(normalised(title))
    return found["label"] if found and carries_label(found["label"]) else None
