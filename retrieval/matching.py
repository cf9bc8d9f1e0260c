"""Finding an article or a feed from what a person typed: its id, its exact title, or a title close to it.

People type titles from memory ("hikvision shut down in canada"), paste them with odd spacing, or pick an id from a
list; every command that takes an article or a feed resolves it here, so they all behave alike. Fuzzy scores come
from rapidfuzz (token-set similarity on case-folded words), which ignores word order and extra words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process, utils

from retrieval.errors import NotFoundError
from retrieval.text import normalised

ID_PREFIX_MIN = 6  # an id prefix this long or longer names an article, as in the CLI's lists
CLOSE_ENOUGH = 85  # a title scoring this high (0-100) is taken as meant, when no other one is near it
CLEAR_LEAD = 8  # ... and it leads the next title by this much
SUGGEST_FLOOR = 45  # titles below this are not worth suggesting
SUGGESTIONS = 3


@dataclass(frozen=True)
class Candidate:
    """Something a person may name: `key` is its id (an article id, a feed's address), `name` what they see."""

    key: str
    name: str


def squeezed(text: str) -> str:
    """`text` as titles are compared: NFKC, invisible characters gone, case-folded, runs of spaces made one."""
    return " ".join(normalised(text).casefold().split())


def _score(typed: str, name: str, **_: object) -> float:
    """Word-order-free similarity, but a title that merely contains the typed words does not reach 100 unless
    it is mostly those words (token_set_ratio alone gives "ferry" 100 against any title holding "ferry")."""
    return min(fuzz.token_set_ratio(typed, name), fuzz.WRatio(typed, name) + 10)


def ranked(typed: str, candidates: Sequence[Candidate], limit: int = SUGGESTIONS) -> list[tuple[Candidate, float]]:
    """The candidates closest to `typed`, best first, with their scores (0-100)."""
    found = process.extract(
        typed, [c.name for c in candidates], scorer=_score, processor=utils.default_process, limit=limit
    )
    return [(candidates[index], score) for _, score, index in found]


def resolve(typed: str, candidates: Sequence[Candidate], what: str = "article") -> Candidate:
    """The candidate `typed` names: its key (or, for long keys, a unique prefix of 6+ characters), its name
    ignoring case and spacing, the one name that contains what was typed, or the one name clearly closest to it.

    Otherwise NotFoundError in one sentence, naming the closest names so the person can pick one.
    """
    wanted = squeezed(typed)
    if not wanted:
        raise NotFoundError(f"Name the {what}: its title or its id.")
    for rule in (
        lambda c: c.key == typed.strip(),
        lambda c: len(wanted) >= ID_PREFIX_MIN and c.key.casefold().startswith(wanted),
        lambda c: squeezed(c.name) == wanted,
        lambda c: len(wanted) >= 4 and wanted in squeezed(c.name),
    ):
        matches = list({c.key: c for c in candidates if rule(c)}.values())
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise NotFoundError(f"Several {what}s match “{clip_typed(typed)}”: {shown_names(matches)}; pick one.")
    close = ranked(typed, candidates)
    if close and close[0][1] >= CLOSE_ENOUGH and (len(close) == 1 or close[0][1] - close[1][1] >= CLEAR_LEAD):
        return close[0][0]
    suggestions = [c for c, score in close if score >= SUGGEST_FLOOR]
    closest = f"; the closest: {shown_names(suggestions)}" if suggestions else ""
    raise NotFoundError(f"No {what} matches “{clip_typed(typed)}”{closest}.")


def closest(typed: str, candidates: Sequence[Candidate], limit: int = 25) -> list[Candidate]:
    """What autocomplete offers while someone types: names containing the text first, then close ones."""
    wanted = squeezed(typed)
    if not wanted:
        return list(candidates[:limit])
    containing = [c for c in candidates if wanted in squeezed(c.name)]
    near = [c for c, score in ranked(typed, candidates, limit) if score >= SUGGEST_FLOOR and c not in containing]
    return (containing + near)[:limit]


def clip_typed(text: str) -> str:
    return " ".join(normalised(text).split())[:60]


def shown_names(candidates: Sequence[Candidate]) -> str:
    return ", ".join(f"“{' '.join(c.name.split())[:80]}”" for c in candidates[:SUGGESTIONS])
