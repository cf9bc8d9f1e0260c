"""Dates in, ISO dates out: feeds, pages and JSONL all spell dates differently."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime

from retrieval.errors import BadInputError

_YEAR = re.compile(r"\b\d{4}\b")
_PERIOD = {"h": "hours", "d": "days", "w": "weeks"}


def iso_date(value: object) -> str | None:
    """`YYYY-MM-DD` for anything that reads as a full date, else None.

    ISO 8601 and RFC 2822 (feeds) are parsed directly; anything else ("2022/06/12", "June 12, 2022", "12 Jun 2022",
    "Sunday, June 12, 2022 10:30 AM ET") goes to dateparser, which must find a day, a month and a year.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    text = str(value).strip()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).strftime("%Y-%m-%d")
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text).strftime("%Y-%m-%d")
    except (TypeError, ValueError, IndexError):
        pass
    if not _YEAR.search(text):  # "last week" is not a publication date
        return None
    parsed = _dateparser().parse(text[:100], settings={"REQUIRE_PARTS": ["day", "month", "year"]})
    return parsed.strftime("%Y-%m-%d") if parsed else None


def parse_since(value: str) -> date:
    """'7d', '12h', '2w' or an ISO date -> that day: one vocabulary for --since and --until everywhere."""
    value = value.strip().lower()
    if value[:-1].isdigit() and value[-1:] in _PERIOD:
        return (datetime.now(UTC) - timedelta(**{_PERIOD[value[-1]]: int(value[:-1])})).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadInputError(f"{value!r} is not a period; use e.g. 12h, 7d, 2w or a date like 2026-06-01.") from None


def relative_date(text: str, now: datetime) -> str | None:
    """ "32 minutes ago", "an hour ago", "yesterday" on an aggregator page, resolved against when it was read."""
    parsed = _dateparser().parse(text[:60], settings={"RELATIVE_BASE": now, "PREFER_DATES_FROM": "past"})
    return parsed.strftime("%Y-%m-%d") if parsed else None


def _dateparser():
    import dateparser  # ~0.3 s to import: only for dates the fast paths cannot read

    return dateparser


def shown_date(published: str | None, approximate: bool = False) -> str | None:
    """How a publication date is shown to people: "about 2026-11-26" when it was counted back from "2 hours ago"."""
    if published and approximate:
        return f"about {published}"
    return published


def date_ordinal(iso: str | None) -> int | None:
    """Days since 0001-01-01, so Chroma can filter date ranges with numeric comparisons."""
    return date.fromisoformat(iso).toordinal() if iso else None
