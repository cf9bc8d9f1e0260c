"""Word-level text helpers shared by search (overlap features) and the answer layer (support checks)."""

from __future__ import annotations

import re
from itertools import pairwise

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
# Function words carry no evidence: "the", "did", "why" match everything.
# A word list reads better as text than as a hundred quoted items.
STOPWORDS = frozenset(
    """
    a an and are as at be been being but by can could did do does for from had has have he her his how i if in
    into is it its me more most my no not of on or our out over she so than that the their them then there these
    they this those to up was we were what when where which while who whom why will with would you your about
    after again against also any because before between both during each few further here just many much only
    other own same should some such too under until very said says say
    """.split()  # noqa: SIM905
)


def content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1}


def word_pairs(text: str) -> set[tuple[str, str]]:
    """Adjacent lower-cased word pairs: a cheap signal that a passage repeats the question's phrasing."""
    return set(pairwise(_TOKEN.findall(text.lower())))


_TOKEN = re.compile(r"\w+")
