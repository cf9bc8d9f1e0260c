"""Two actors swapped: a contradiction the verifier reads past, and the one plain rule beside it that measurably helps.

The verifier (retrieval/reader) pools a claim and a passage into one vector, so it reads them nearly as bags of
words: "Hikvision ordered the Canadian government to ..." cited to "The Canadian government has ordered Hikvision
to ..." shares every word with its source. A claim must not exchange the subject and the object of a verb it shares
with the sentence that backs it. Names are compared allowing the usual ways news names the same country ("Canada" /
"Canadian" / "Ottawa", "US" / "U.S." / "United States"). What the rule is worth, and the name rule that was measured
and removed beside it, are in docs/CITATIONS.md (scripts/ablate_rules.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from retrieval.names import DEMONYMS
from retrieval.text import STOPWORDS, normalised

_POSSESSIVE = re.compile(r"['’]s?$")
_WORDS = re.compile(r"[a-z0-9]+")
_ACRONYM = re.compile(r"\b(?:[A-Za-z]\.){2,}")  # "U.S.", "J.D."


@dataclass(frozen=True)
class _Lists:
    """The rule's word lists (data/names.json), with what is derived from them."""

    long_forms: dict[str, str]
    long_form: re.Pattern[str]
    not_actors: frozenset[str]  # capitalised words that name no actor: titles, months, sentence openers, stopwords
    aliases: dict[str, set[str]]  # a name -> other names news uses for it ("canadian" -> "canada", "ottawa", ...)


@cache
def _lists() -> _Lists:
    """Read on first use, not at import: most processes that import the answer package never check a citation."""
    raw = json.loads(files("retrieval.answer").joinpath("data/names.json").read_text(encoding="utf-8"))
    long_forms = raw["long_forms"]
    lists = _Lists(
        long_forms,
        re.compile("|".join(long_forms)),
        frozenset(raw["not_actors"]) | STOPWORDS | frozenset(raw["openers"]),
        {},
    )
    for demonym, country in (DEMONYMS | raw["more_demonyms"]).items():
        for word in set(_WORDS.findall(_spelled(country, lists).lower())) - STOPWORDS:
            lists.aliases.setdefault(demonym.lower(), set()).add(word)
            lists.aliases.setdefault(word, set()).add(demonym.lower())
    for group in raw["same_names"]:
        for word in group:
            lists.aliases.setdefault(word, set()).update(group)
    return lists


def _canonical(text: str) -> str:
    """One spelling per name: "United States" and "U.S." both become "US" (and full-width or zero-width-split
    letters their plain selves)."""
    return _spelled(text, _lists())


def _spelled(text: str, lists: _Lists) -> str:
    text = lists.long_form.sub(lambda m: lists.long_forms[m.group()], normalised(text))
    return _ACRONYM.sub(lambda m: m.group().replace(".", ""), text)


def _known(word: str, words: AbstractSet[str]) -> bool:
    """Whether `word`, or another name for it, is among `words`."""
    return word in words or bool(_lists().aliases.get(word, set()) & words)


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
        if t[:1].isupper() and t.lower() not in _lists().not_actors and (k or t.lower() not in common):
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
