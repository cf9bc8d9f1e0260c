"""JSON Lines of articles: one object per line with `title` and `text`, optionally `url`, `outlet`, `published`."""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from retrieval.dates import iso_date
from retrieval.types import Article, IngestFailure


class _Line(BaseModel):
    """One line's schema: strings must be strings (no objects or numbers coerced into text)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, strict=True)

    title: str = Field(min_length=1, max_length=300)
    text: str = Field(min_length=1)
    outlet: str | None = None
    url: str | None = None
    published: str | None = None
    author: str | None = None

    @field_validator("url")
    @classmethod
    def _http_only(cls, value: str | None) -> str | None:
        if value and not value.lower().startswith(("http://", "https://")):
            raise ValueError("must be an http(s) link")
        return value or None

    @field_validator("published")
    @classmethod
    def _a_date(cls, value: str | None) -> str | None:
        if value and iso_date(value) is None:
            raise ValueError("is not a date newsdesk can read (use YYYY-MM-DD)")
        return iso_date(value)


def _reason(error: ValidationError) -> str:
    first = error.errors()[0]
    if not first["loc"]:
        return 'Each line must be a JSON object with a "title" and a "text".'
    if first["type"] in ("missing", "string_too_short"):
        return 'Each line needs a non-empty "title" and "text".'
    message = first["msg"].removeprefix("Value error, ")
    return f'"{first["loc"][0]}" {message[0].lower()}{message[1:]}; fix or remove this line.'


def articles_from_jsonl(text: str, source: str) -> tuple[list[Article], list[IngestFailure]]:
    """A bad line is reported with its number and reason, and does not stop the good ones."""
    articles: list[Article] = []
    failures: list[IngestFailure] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{source}:{number}"
        try:
            row = _Line.model_validate(json.loads(line))
        except json.JSONDecodeError:
            failures.append(IngestFailure(where, "This line is not valid JSON; fix or remove it."))
            continue
        except ValidationError as exc:
            failures.append(IngestFailure(where, _reason(exc)))
            continue
        articles.append(
            Article(
                title=row.title,
                text=row.text,
                outlet=row.outlet or None,
                url=row.url,
                published=row.published,
                author=row.author or None,
                source=where,
            )
        )
    return articles, failures
