"""Dates in, ISO dates out: feeds, pages and JSONL all spell dates differently."""

from __future__ import annotations

from datetime import date, datetime
from email.utils import parsedate_to_datetime


def iso_date(value: object) -> str | None:
    """`YYYY-MM-DD` for anything that reads as a date (ISO 8601, RFC 2822, a date object), else None."""
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
        return None


def date_ordinal(iso: str | None) -> int | None:
    """Days since 0001-01-01, so Chroma can filter date ranges with numeric comparisons."""
    return date.fromisoformat(iso).toordinal() if iso else None
