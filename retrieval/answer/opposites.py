"""Words of opposite meaning: a claim that says "rejected" where its source says "approved" contradicts it.

The verifier was trained on SQuAD sentences with one word swapped for its opposite, but on news prose it still
reads "Hikvision said it strongly supports the decision" as close to "... strongly disagrees with the decision": the
two share every other word, and a mean-pooled model weighs shared words. These rules catch the plain cases.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z]+")
_PREFIXES = ("dis", "un", "in", "im", "non")
# Words whose prefixed form is their opposite (agrees / disagrees, likely / unlikely). A list, not every prefix:
# "close" / "disclose" and "port" / "import" are not opposites.
_NEGATABLE = (
    "agree", "approv", "like", "able", "known", "fair", "lawful", "certain", "clear", "confirm", "continu", "honest",
    "happy", "willing", "popular", "limited", "official", "success", "stable", "safe", "sure", "usual", "common",
    "aware", "equal", "fortunate", "necessar", "true", "importan", "related", "reliab", "accept", "availab", "allow",
    "armed", "employ", "paid", "obey", "trust", "satisf", "qualif", "comfort", "conscious", "friendly", "expect",
    "precedent", "possib", "proper", "correct", "accura", "depend", "direct", "formal", "complet", "sufficient",
)  # fmt: skip

# Pairs of word families, each written out in the forms news prose uses (no stemmer: "fell" is not "fall" + "ed",
# and a stemmer would make "lost" of "lose" and of "the lost city" alike). Words that are often something else are
# left out: "open" and "close" (adjectives), "end" (a noun), "most" / "least" ("at least"), "fire", "left".
_PAIRS = [
    ("support supports supported supporting", "oppose opposes opposed opposing"),
    ("accept accepts accepted accepting", "reject rejects rejected rejecting refuse refuses refused refusing"),
    ("approve approves approved approving", "reject rejects rejected rejecting block blocks blocked veto vetoed"),
    ("welcome welcomes welcomed welcoming", "condemn condemns condemned condemning"),
    (
        "praise praises praised praising",
        "criticize criticizes criticized criticise criticises criticised condemn condemns condemned berated",
    ),
    ("allow allows allowed allowing permit permits permitted", "ban bans banned forbid forbids forbade prohibited"),
    ("confirm confirms confirmed confirming admit admits admitted", "deny denies denied denying"),
    (
        "increase increases increased increasing raise raises raised boost boosts boosted",
        "decrease decreases decreased decreasing reduce reduces reduced reducing",
    ),
    (
        "rise rises rose risen rising grow grows grew grown growing",
        "fall falls fell fallen falling drop drops dropped dropping shrink shrinks shrank shrunk",
    ),
    ("win wins won winning gain gains gained", "lose loses lost losing"),
    ("opened reopened", "closed shut"),
    ("start starts started begin begins began begun", "stop stops stopped ended halted cease ceased"),
    ("extend extends extended lengthened", "shorten shortens shortened"),
    ("expand expands expanded expanding", "shut closed shrink shrank reduce reduced"),
    ("lift lifts lifted", "impose imposes imposed"),
    ("strengthen strengthens strengthened", "weaken weakens weakened"),
    ("buy buys bought buying", "sell sells sold selling"),
    ("include includes included", "exclude excludes excluded"),
    ("credit credits credited", "blame blames blamed"),
    ("largest biggest", "smallest"),
    ("larger bigger", "smaller"),
    ("highest", "lowest"),
    ("guilty convicted", "innocent acquitted"),
]
_FAMILIES = [(frozenset(a.split()), frozenset(b.split())) for a, b in _PAIRS]


def words_of(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def _prefixed(said: set[str], source: set[str]) -> bool:
    """`said` has a word that `source` has only in its prefixed opposite ("agrees" against "disagrees")."""
    plain = (w for w in said if w not in source and w.startswith(_NEGATABLE))
    return any(p + w in source and p + w not in said for w in plain for p in _PREFIXES)


def _swapped(said: set[str], source: set[str]) -> bool:
    """One side uses a word of a family and none of its opposite family, and the other side the reverse."""
    for a, b in _FAMILIES:
        for x, y in ((a, b), (b, a)):
            if said & x and not said & y and source & y and not source & x:
                return True
    return False


def says_the_opposite(claim: str, sentence: str, restated: str) -> bool:
    """The claim uses a word whose opposite the sentence uses instead: a prefixed opposite anywhere in the sentence,
    or a word of the pairs above in the clauses that restate the claim (`restated`), so that "Sales rose while
    costs fell" still backs "Costs fell"."""
    said, source = words_of(claim), words_of(sentence)
    return _prefixed(said, source) or _prefixed(source, said) or _swapped(said, words_of(restated))
