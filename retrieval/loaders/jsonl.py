"""JSON Lines of articles: one object per line with `title` and `text`, optionally `url`, `outlet`, `published`."""

from __future__ import annotations

import json

from retrieval.dates import iso_date
from retrieval.types import Article, IngestFailure


def articles_from_jsonl(text: str, source: str) -> tuple[list[Article], list[IngestFailure]]:
    """A bad line is reported with its number and does not stop the good ones."""
    articles: list[Article] = []
    failures: list[IngestFailure] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{source}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            failures.append(IngestFailure(where, "This line is not valid JSON; fix or remove it."))
            continue
        if not isinstance(row, dict) or not str(row.get("title", "")).strip() or not str(row.get("text", "")).strip():
            failures.append(IngestFailure(where, 'Each line needs a non-empty "title" and "text".'))
            continue
        articles.append(
            Article(
                title=str(row["title"]).strip(),
                text=str(row["text"]).strip(),
                outlet=row.get("outlet") or None,
                url=row.get("url") or None,
                published=iso_date(row.get("published")),
                author=row.get("author") or None,
                source=where,
            )
        )
    return articles, failures
