"""Plain text and Markdown: an aggregator page becomes several articles, anything else one article."""

from __future__ import annotations

import re
from datetime import datetime

from retrieval.dates import relative_date
from retrieval.errors import BadInputError
from retrieval.loaders.aggregator import Story, split_aggregator_page
from retrieval.types import Article

_MARKDOWN_HEADING = re.compile(r"^#{1,6}\s+")
MAX_TITLE_CHARS = 300  # a headline, not a first line of unbounded length


# Markdown that would otherwise reach answers as literal symbols: emphasis, code, links, images, quotes, rules.
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_|~~|`)(?=\S)(.+?)(?<=\S)\1")
_MD_LINE = re.compile(r"^\s*(?:#{1,6}\s+|>\s?|[-*+]\s+(?=\S)|(?:[-*_]\s*){3,}$)", re.MULTILINE)


def story_article(story: Story, source: str, read_at: datetime | None) -> Article:
    published = relative_date(story.age, read_at) if story.age and read_at else None
    return Article(
        title=story.title,
        text=story.text,
        outlet=story.outlet,
        published=published,
        source=source,
        published_approximate=published is not None,
    )


def plain_markdown(text: str) -> str:
    """Markdown reduced to its words: `**Kestrel**` -> Kestrel, `[the report](url)` -> the report."""
    text = _MD_LINK.sub(r"\1", _MD_IMAGE.sub(r"\1", text))
    text = _MD_LINE.sub("", text)
    for _ in range(2):  # nested emphasis (**_x_**)
        text = _MD_EMPHASIS.sub(r"\2", text)
    return text


def articles_from_text(
    text: str,
    source: str,
    *,
    url: str | None = None,
    path: str | None = None,
    markdown: bool = False,
    read_at: datetime | None = None,
) -> list[Article]:
    """One article per story; `path` (a local file holding one story) becomes its identity. Aggregator teasers
    dated "32 minutes ago" get the day that was, counted back from `read_at` (the fetch or the file's time)."""
    if markdown:
        text = plain_markdown(text)
    stories = split_aggregator_page(text)
    if stories:
        return [story_article(s, source, read_at) for s in stories]
    lines = [ln.strip() for ln in text.strip().splitlines()]
    lines = [ln for ln in lines if ln]
    if len(lines) < 2:
        raise BadInputError(f"{source} has no body text; put the title on the first line and the story below it.")
    title = _MARKDOWN_HEADING.sub("", lines[0])[:MAX_TITLE_CHARS]
    return [Article(title=title, text="\n".join(lines[1:]), url=url, source=source, path=path)]
