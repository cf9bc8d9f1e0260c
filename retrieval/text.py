"""Word-level text helpers shared by search (overlap features) and the answer layer (support checks)."""

from __future__ import annotations

import re
import unicodedata
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


# Characters that show nothing yet change what text means to a program: zero-width spaces and joiners, bidi
# embeddings, overrides and isolates, the word joiner and invisible operators, variation selectors, the byte-order
# mark, soft hyphens, Hangul fillers and the invisible "tag" letters. "[\u200b2]" reads as "[2]" to a person, and a
# right-to-left override can make a link's text read backwards.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164"
    "\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e007f]"
)


def visible(text: str) -> str:
    """`text` without invisible and bidi control characters: what is shown is what is there."""
    return _INVISIBLE.sub("", text)


def normalised(text: str) -> str:
    """`text` as it is matched (citation markers, names, instructions, titles): NFKC, so full-width "［２］" is "[2]",
    and without invisible characters, so "[2]" with a zero-width space inside is "[2]" too."""
    return visible(unicodedata.normalize("NFKC", text))
