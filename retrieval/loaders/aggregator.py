"""Split aggregator pages (a lead story followed by "Related Articles" teasers) into one article per story.

Pages of this family look like::

    Lead title
    Reuters Lead subtitle ...          <- an agency name may prefix the first body line
    lead body ...
    Hashtags / Comments / Related Articles ...   <- site furniture
    Outlet
    32 minutes ago                     <- relative time: the marker of a teaser block
    - Outlet
    Teaser title
    teaser body ...

A story block starts wherever an outlet-looking line is followed by a relative time; the optional "- Outlet" line
after it confirms the outlet. Furniture lines and image-URL debris are dropped wherever they appear.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

_RELATIVE_TIME = re.compile(
    r"^(?:just now|yesterday|today|(?:an?|\d{1,3})\s+(?:second|minute|min|hour|hr|day|week|month|year)s?\s+ago)$",
    re.IGNORECASE,
)
_FURNITURE = re.compile(
    r"^(?:hashtags|comments|no comments yet\.*|related (?:articles|stories|news)|try our ai features|"
    r"explore what .{1,40} can do for you:?|advertisement|share( this)?( article)?|read more|"
    r"also read|trending( now)?|recommended( for you)?|sign up.*newsletter.*|follow us.*)$",
    re.IGNORECASE,
)
# Leftovers of image tags: "&w=3840&q=100)", "?fit=crop)", bare URLs.
_DEBRIS = re.compile(r"^(?:[&?][\w=&%.,;:+-]*\)?|\)|https?://\S+)$")
# Wire agencies that prefix a lead's first line ("Reuters Federal review finds ...").
_AGENCIES = ("Reuters", "AP", "AFP", "Bloomberg", "PTI", "ANI", "IANS", "Xinhua", "dpa", "UPI")


@dataclass(frozen=True)
class Story:
    title: str
    text: str
    outlet: str | None
    age: str | None = None  # "32 minutes ago": when the page was read, not a date


def _is_outlet_line(line: str) -> bool:
    return 0 < len(line) <= 60 and not line.endswith((".", "?", "!", ":", ",")) and not _RELATIVE_TIME.match(line)


def _clean_lines(lines: list[str]) -> list[str]:
    return [ln for ln in lines if ln and not _FURNITURE.match(ln) and not _DEBRIS.match(ln)]


def _header_starts(lines: list[str]) -> list[int]:
    """Indexes of outlet lines that open a teaser block."""
    return [i for i in range(len(lines) - 1) if _is_outlet_line(lines[i]) and _RELATIVE_TIME.match(lines[i + 1])]


def _lead_story(lines: list[str], known_outlets: set[str]) -> Story | None:
    body = []
    for line in lines:
        if _FURNITURE.match(line):
            break  # the lead ends where the site's furniture begins
        body.append(line)
    body = _clean_lines(body)
    if len(body) < 2:
        return None
    title, first, rest = body[0], body[1], body[2:]
    outlet = None
    for name in sorted(known_outlets | set(_AGENCIES), key=len, reverse=True):
        if first.startswith(name + " "):
            outlet, first = name, first[len(name) + 1 :]
            break
    return Story(title=title, text="\n".join([first, *rest]), outlet=outlet)


def _teaser_story(lines: list[str]) -> Story | None:
    outlet, rest = lines[0], lines[2:]
    if rest and re.sub(r"^[-–—]\s*", "", rest[0]) == outlet and rest[0] != outlet:
        rest = rest[1:]
    rest = _clean_lines(rest)
    if len(rest) < 2:
        return None  # a teaser with a title but no body has nothing worth indexing
    return Story(title=rest[0], text="\n".join(rest[1:]), outlet=outlet, age=lines[1])


def split_aggregator_page(text: str) -> list[Story] | None:
    """Return the stories of an aggregator page, or None when `text` is not such a page."""
    lines = [ln.strip() for ln in text.splitlines()]
    starts = _header_starts(lines)
    if not starts:
        return None
    known_outlets = {lines[i] for i in starts}
    stories = [_lead_story(lines[: starts[0]], known_outlets)]
    bounds = [*starts, len(lines)]
    stories += [_teaser_story(lines[a:b]) for a, b in itertools.pairwise(bounds)]
    return [s for s in stories if s is not None]
