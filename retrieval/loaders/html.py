"""HTML pages through trafilatura: main text, title, site name and date, with navigation and ads dropped."""

from __future__ import annotations

import json
import re
from datetime import datetime

from retrieval.dates import iso_date
from retrieval.errors import BadInputError
from retrieval.loaders.aggregator import split_aggregator_page
from retrieval.loaders.extraction import extract_page
from retrieval.loaders.text import story_article
from retrieval.types import Article

# Extraction time grows with the element count (a page of a million `<p>x</p>` ran for minutes); real articles,
# menus and comments included, stay well under this.
MAX_ELEMENTS = 100_000

# Where pages declare their publication date. trafilatura reads these and quietly drops a value it cannot parse; we
# look again only to say so in the ingest report rather than index the article undated without a word.
_DATE_META = re.compile(
    r"""<meta\s[^>]*(?:property|name|itemprop)\s*=\s*["']?(?:article:published_time|og:published_time|datepublished|"""
    r"""pubdate|publishdate|publish-date|date|dc\.date)["'\s>][^>]*>""",
    re.IGNORECASE,
)
_CONTENT = re.compile(r"""content\s*=\s*["']([^"']{1,100})["']""", re.IGNORECASE)
_JSON_LD_DATE = re.compile(r'"datePublished"\s*:\s*"([^"]{1,100})"')


def declared_date(html: str) -> str | None:
    """The publication date a page declares in its metadata, as written, if it declares one."""
    tag = _DATE_META.search(html)
    content = _CONTENT.search(tag.group(0)) if tag else None
    found = content or _JSON_LD_DATE.search(html)
    return found.group(1).strip() or None if found else None


def articles_from_html(
    html: str, source: str, *, url: str | None = None, path: str | None = None, read_at: datetime | None = None
) -> list[Article]:
    elements = html.count("<")
    if elements > MAX_ELEMENTS:
        raise BadInputError(f"{source} has {elements:,} HTML tags, more than the {MAX_ELEMENTS:,} newsdesk reads.")

    extracted, sitename = extract_page(html, url, source)  # in a child process, under a deadline
    if not extracted:
        raise BadInputError(f"{source} has no readable article text.")
    meta = json.loads(extracted)
    text = (meta.get("text") or "").strip()
    title = (meta.get("title") or "").strip()
    if not text:
        raise BadInputError(f"{source} has no readable article text.")
    # The publisher's own name (og:site_name, publisher metadata), else the host name; JSON output has no site name.
    outlet = sitename or meta.get("source-hostname") or meta.get("hostname")
    published = iso_date(meta.get("date"))
    unread_date = None if published else declared_date(html)
    author = (meta.get("author") or "").strip() or None
    canonical = url or meta.get("source") or None
    stories = split_aggregator_page(text)
    if stories:  # an aggregator page: the lead keeps the page's URL and metadata
        lead, *teasers = stories
        return [
            Article(
                title=title or lead.title,
                text=lead.text,
                outlet=lead.outlet or outlet,
                url=canonical,
                published=published,
                source=source,
                author=author,
                unread_date=unread_date,
            ),
            *(story_article(s, source, read_at) for s in teasers),
        ]
    if not title:
        title, _, text = text.partition("\n")
    return [
        Article(
            title=title,
            text=text,
            outlet=outlet,
            url=canonical,
            published=published,
            source=source,
            author=author,
            path=None if canonical else path,
            unread_date=unread_date,
        )
    ]
