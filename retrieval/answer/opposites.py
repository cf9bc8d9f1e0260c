"""Words of opposite meaning: a claim that says "rejected" where its source says "approved" contradicts it.

The verifier was trained on SQuAD sentences with one word swapped for its opposite, but on news prose it still
reads "Hikvision said it strongly supports the decision" as close to "... strongly disagrees with the decision": the
two share every other word, and a mean-pooled model weighs shared words. This rule catches the plain cases; what it
is worth on claims it was not written from is in docs/CITATIONS.md (scripts/ablate_rules.py). The word lists are
data (data/opposites.json).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class _Lists:
    prefixes: tuple[str, ...]
    negatable: tuple[str, ...]  # stems whose prefixed form is their opposite ("agree" / "disagree")
    families: list[tuple[frozenset[str], frozenset[str]]]  # two word families of opposite meaning


@cache
def _lists() -> _Lists:
    """Read on first use, not at import: most processes that import the answer package never check a citation."""
    raw = json.loads(files("retrieval.answer").joinpath("data/opposites.json").read_text(encoding="utf-8"))
    families = [(frozenset(a.split()), frozenset(b.split())) for a, b in raw["pairs"]]
    return _Lists(tuple(raw["prefixes"]), tuple(raw["negatable"]), families)


def words_of(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def _prefixed(said: set[str], source: set[str]) -> bool:
    """`said` has a word that `source` has only in its prefixed opposite ("agrees" against "disagrees")."""
    lists = _lists()
    plain = (w for w in said if w not in source and w.startswith(lists.negatable))
    return any(p + w in source and p + w not in said for w in plain for p in lists.prefixes)


def _swapped(said: set[str], source: set[str]) -> bool:
    """One side uses a word of a family and none of its opposite family, and the other side the reverse."""
    for a, b in _lists().families:
        for x, y in ((a, b), (b, a)):
            if said & x and not said & y and source & y and not source & x:
                return True
    return False


def says_the_opposite(claim: str, sentence: str, restated: str) -> bool:
    """The claim uses a word whose opposite the sentence uses instead: a prefixed opposite anywhere in the sentence,
    or a word of the paired families in the clauses that restate the claim (`restated`), so that "Sales rose while
    costs fell" still backs "Costs fell"."""
    said, source = words_of(claim), words_of(sentence)
    return _prefixed(said, source) or _prefixed(source, said) or _swapped(said, words_of(restated))
