"""Two actors swapped: a contradiction the verifier reads past, and the one plain rule beside it that measurably helps.

The verifier (retrieval/reader) pools a claim and a passage into one vector, so it reads them nearly as bags of
words: "Hikvision ordered the Canadian government to ..." cited to "The Canadian government has ordered Hikvision
to ..." shares every word with its source. A claim must not exchange the subject and the object of a verb it shares
with the sentence that backs it. Names are compared allowing the usual ways news names the same country ("Canada" /
"Canadian" / "Ottawa", "US" / "U.S." / "United States"). What the rule is worth, and the name rule that was measured
and removed beside it, are in docs/CITATIONS.md (scripts/ablate_rules.py).
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet

from retrieval.names import DEMONYMS
from retrieval.text import STOPWORDS, normalised

# More peoples and countries than the training rules need (retrieval/names.py holds theirs).
_MORE_DEMONYMS = {
    "African": "Africa", "Danish": "Denmark", "Dutch": "Netherlands", "Iranian": "Iran", "Iraqi": "Iraq",
    "Korean": "Korea", "Pakistani": "Pakistan", "Saudi": "Arabia", "Swedish": "Sweden", "Swiss": "Switzerland",
    "Syrian": "Syria", "Taiwanese": "Taiwan", "Tibetan": "Tibet", "Turkish": "Turkey", "Vietnamese": "Vietnam",
    "European": "Europe", "Asian": "Asia", "Palestinian": "Palestine", "Afghan": "Afghanistan", "Greek": "Greece",
    "Norwegian": "Norway", "Finnish": "Finland", "Belgian": "Belgium", "Austrian": "Austria", "Nigerian": "Nigeria",
    "Kenyan": "Kenya", "Argentine": "Argentina", "Chilean": "Chile", "Colombian": "Colombia", "Venezuelan":
    "Venezuela", "Cuban": "Cuba", "Lebanese": "Lebanon", "Qatari": "Qatar", "Thai": "Thailand", "Filipino":
    "Philippines", "Indonesian": "Indonesia", "Portuguese": "Portugal", "Hungarian": "Hungary", "Czech": "Czechia",
    "Romanian": "Romania", "Serbian": "Serbia", "Scottish": "Scotland", "Welsh": "Wales", "English": "England",
}  # fmt: skip
# Names news uses for one another: a capital for its government, short and long forms of a country.
_SAME = [
    {"us", "usa", "america", "american", "americans", "washington"},
    {"uk", "britain", "british", "london", "england"},
    {"canada", "canadian", "canadians", "ottawa"}, {"china", "chinese", "beijing"},
    {"russia", "russian", "russians", "moscow", "kremlin"}, {"eu", "europe", "european", "brussels"},
    {"france", "french", "paris"}, {"germany", "german", "berlin"}, {"japan", "japanese", "tokyo"},
    {"india", "indian", "delhi"}, {"israel", "israeli", "jerusalem"}, {"ukraine", "ukrainian", "kyiv", "kiev"},
]  # fmt: skip
# Capitalised words that are not actors: titles a summary adds or drops, and months.
_NOT_NAMES = frozenset(
    """
    president minister prime chancellor secretary senator governor mayor chief king queen prince princess mr mrs ms
    dr sir lord general vice deputy premier ambassador spokesman spokeswoman spokesperson chairman chairwoman ceo
    january february march april may june july august september october november december
    """.split()  # noqa: SIM905
)
_POSSESSIVE = re.compile(r"['’]s?$")
_WORDS = re.compile(r"[a-z0-9]+")
_ACRONYM = re.compile(r"\b(?:[A-Za-z]\.){2,}")  # "U.S.", "J.D."
_LONG_FORMS = {"United States": "US", "United Kingdom": "UK", "United Nations": "UN", "European Union": "EU"}
_LONG_FORM = re.compile("|".join(_LONG_FORMS))
# Capitalised only because they open the sentence.
_OPENERS = frozenset(
    "although despite instead meanwhile however earlier later last since both all one several".split()  # noqa: SIM905
)
_NOT_ACTORS = _NOT_NAMES | STOPWORDS | _OPENERS


def _canonical(text: str) -> str:
    """One spelling per name: "United States" and "U.S." both become "US" (and full-width or zero-width-split
    letters their plain selves)."""
    text = _LONG_FORM.sub(lambda m: _LONG_FORMS[m.group()], normalised(text))
    return _ACRONYM.sub(lambda m: m.group().replace(".", ""), text)


_ALIASES: dict[str, set[str]] = {}
for _demonym, _country in (DEMONYMS | _MORE_DEMONYMS).items():
    for _word in set(_WORDS.findall(_canonical(_country).lower())) - STOPWORDS:
        _ALIASES.setdefault(_demonym.lower(), set()).add(_word)
        _ALIASES.setdefault(_word, set()).add(_demonym.lower())
for _group in _SAME:
    for _word in _group:
        _ALIASES.setdefault(_word, set()).update(_group)


def _known(word: str, words: AbstractSet[str]) -> bool:
    """Whether `word`, or another name for it, is among `words`."""
    return word in words or bool(_ALIASES.get(word, set()) & words)


_TOKEN = re.compile(r"[A-Za-z0-9’'.-]+|[,;:]")
_PASSIVE = frozenset("is was are were be been being".split())  # noqa: SIM905
# A verb of news prose: past tense, present third person (plural nouns match too, harmlessly: the rule also needs a
# name right before it and the same word in the source), or a common irregular past.
_VERB = re.compile(
    r"^(?:[a-z]{3,}ed|[a-z]{3,}[^s]s|said|told|won|led|made|took|gave|sent|began|held|found|left|lost|sold|bought|"
    r"brought|ran|chose|met|wrote|hit|put|set|cut|shut|struck|beat|spoke|paid|built|kept|became)$"
)
SUBJECT_REACH = 4  # words between a subject and its verb in the source ("The Canadian government has ordered")


def _tokens(text: str) -> list[str]:
    return [_POSSESSIVE.sub("", t).rstrip(".") for t in _TOKEN.findall(_canonical(text))]


def _subject(tokens: list[str], verb: int, reach: int, common: set[str]) -> str | None:
    """The nearest name up to `reach` words before position `verb` within its clause, unless the verb is passive.
    A sentence's first word is a name only when it is not also written in lower case (`common`): "Reciprocating
    engines" is no actor."""
    if verb and tokens[verb - 1].lower() in _PASSIVE:
        return None
    for k in range(verb - 1, max(0, verb - reach) - 1, -1):
        t = tokens[k]
        if t in ",;:":
            return None
        if t[:1].isupper() and t.lower() not in _NOT_ACTORS and (k or t.lower() not in common):
            return t.lower()
    return None


def actors_swapped(claim: str, sentence: str) -> bool:
    """Whether the claim exchanges subject and object of a verb it shares with `sentence`: "Hikvision ordered Canada
    to ..." against "Canada ordered Hikvision to ..." (the claim's subject comes only after the verb there, and the
    sentence's subject comes after the verb in the claim)."""
    said, source = _tokens(claim), _tokens(sentence)
    lowered = [t.lower() for t in source]
    common = {t for t in said + source if t.islower()}
    for i, token in enumerate(said):
        verb = token.lower()
        if not _VERB.match(token) or verb not in lowered:
            continue
        actor = _subject(said, i, 2, common)  # "Hikvision ordered", "Hikvision has ordered"
        if actor is None:
            continue
        j = lowered.index(verb)
        other = _subject(source, j, SUBJECT_REACH, common)
        if other is None or _known(actor, {other}):
            continue
        exchanged = _known(other, {t.lower() for t in said[i + 1 :]})  # the source's subject is the object
        after = _known(actor, set(lowered[j + 1 :]))
        before = _known(actor, set(lowered[:j]))
        if exchanged and after and not before:
            return True
    return False
