"""Word-level text helpers shared by search (overlap features) and the answer layer (support checks)."""

from __future__ import annotations

import re
from dataclasses import dataclass
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


_TOKEN = re.compile(r"\w+")


@dataclass(frozen=True)
class TextFeatures:
    """What search compares between a question and a passage, from one pass over the words."""

    words: frozenset[str]  # content words
    pairs: frozenset[tuple[str, str]]  # adjacent word pairs: does the passage repeat the question's phrasing?
    shingles: frozenset[tuple[str, str, str]]  # word 3-grams of the body: are two passages copies?


def text_features(title: str, body: str) -> TextFeatures:
    head, words = _TOKEN.findall(title.lower()), _TOKEN.findall(body.lower())
    tokens = head + words
    return TextFeatures(
        words=frozenset(t for t in tokens if t not in STOPWORDS and len(t) > 1),
        pairs=frozenset(pairwise(tokens)),
        shingles=frozenset(zip(words, words[1:], words[2:], strict=False)),
    )


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters at a word boundary, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"
