"""Plain text and Markdown: an aggregator page becomes several articles, anything else one article."""

from __future__ import annotations

import re

from retrieval.errors import BadInputError
from retrieval.loaders.aggregator import split_aggregator_page
from retrieval.types import Article

_MARKDOWN_HEADING = re.compile(r"^#{1,6}\s+")
MAX_TITLE_CHARS = 300  # a headline, not a first line of unbounded length


def articles_from_text(text: str, source: str, *, url: str | None = None) -> list[Article]:
    stories = split_aggregator_page(text)
    if stories:
        return [Article(title=s.title, text=s.text, outlet=s.outlet, source=source) for s in stories]
    lines = [ln.strip() for ln in text.strip().splitlines()]
    lines = [ln for ln in lines if ln]
    if len(lines) < 2:
        raise BadInputError(f"{source} has no body text; put the title on the first line and the story below it.")
    title = _MARKDOWN_HEADING.sub("", lines[0])[:MAX_TITLE_CHARS]
    return [Article(title=title, text="\n".join(lines[1:]), url=url, source=source)]
