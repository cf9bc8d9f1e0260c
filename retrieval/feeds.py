"""RSS and Atom feeds: which feeds each knowledge base follows, and refreshing them incrementally.

A refresh asks each feed with ETag / Last-Modified (a 304 costs nothing), parses it with feedparser, fetches only
the pages of items that are new or changed since the last refresh, and indexes them like any other article, so the
indexer's content hashes keep unchanged stories from being embedded again. One failing feed never stops the others.
Requests go out one at a time, so no site ever sees more than one request from newsdesk at once (the politeness
limit per host is one), each through the private-address guard, timeout and size cap of `SafeFetcher`.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import feedparser

from retrieval.dates import iso_date
from retrieval.errors import BadInputError, FetchError, NewsdeskError
from retrieval.knowledge_base import KnowledgeBase
from retrieval.loaders.html import articles_from_html
from retrieval.loaders.url import FEED_TYPES, SafeFetcher
from retrieval.sqlite import SharedSqlite
from retrieval.types import Article, IngestFailure, IngestReport

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    kb TEXT NOT NULL, url TEXT NOT NULL, every_s INTEGER NOT NULL, title TEXT, etag TEXT, last_modified TEXT,
    last_fetch TEXT, last_success TEXT, last_error TEXT, next_due REAL NOT NULL DEFAULT 0, PRIMARY KEY (kb, url)
);
CREATE TABLE IF NOT EXISTS feed_items (
    kb TEXT NOT NULL, feed TEXT NOT NULL, link TEXT NOT NULL, fingerprint TEXT NOT NULL, PRIMARY KEY (kb, feed, link)
);
"""
_PAGE_TYPES = ("text/html", "application/xhtml+xml")
_PERIODS = {"m": 60, "h": 3600, "d": 86400}


def parse_every(value: str) -> int:
    """'30m', '1h', '1d' -> seconds (at least 5 minutes, to stay polite)."""
    value = value.strip().lower()
    if not (value[:-1].isdigit() and value[-1:] in _PERIODS):
        raise BadInputError(f"{value!r} is not an interval; use e.g. 30m, 1h or 1d.")
    return max(300, int(value[:-1]) * _PERIODS[value[-1]])


@dataclass
class Feed:
    url: str
    every_s: int
    title: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_fetch: str | None = None
    last_success: str | None = None
    last_error: str | None = None
    next_due: float = 0.0

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["next_due"] = datetime.fromtimestamp(self.next_due, UTC).isoformat() if self.next_due else None
        return data


@dataclass
class RefreshReport(IngestReport):
    """An ingest report over every refreshed feed, plus how many feeds were asked."""

    feeds: int = 0


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


class FeedRegistry:
    """Feed subscriptions and their state, in `feeds.sqlite3` under the data dir."""

    def __init__(self, path: Path) -> None:
        self._db = SharedSqlite(path, _SCHEMA)

    def add(self, kb: str, url: str, every_s: int) -> Feed:
        self._db.run(
            "INSERT INTO feeds (kb, url, every_s) VALUES (?, ?, ?) ON CONFLICT(kb, url) DO UPDATE SET every_s = ?",
            (kb, url, every_s, every_s),
        )
        return next(f for f in self.feeds(kb) if f.url == url)

    def remove(self, kb: str, url: str) -> None:
        if not self._db.run("DELETE FROM feeds WHERE kb = ? AND url = ? RETURNING url", (kb, url)):
            raise BadInputError(f"This knowledge base does not follow {url}; see `newsdesk feeds list`.")
        self._db.run("DELETE FROM feed_items WHERE kb = ? AND feed = ?", (kb, url))

    def knowledge_bases(self) -> list[str]:
        """Every knowledge base that follows at least one feed."""
        return [row[0] for row in self._db.run("SELECT DISTINCT kb FROM feeds ORDER BY kb")]

    def feeds(self, kb: str) -> list[Feed]:
        rows = self._db.run(
            "SELECT url, every_s, title, etag, last_modified, last_fetch, last_success, last_error, next_due "
            "FROM feeds WHERE kb = ? ORDER BY url",
            (kb,),
        )
        return [Feed(*row) for row in rows]

    def save(self, kb: str, feed: Feed) -> None:
        self._db.run(
            "UPDATE feeds SET title = ?, etag = ?, last_modified = ?, last_fetch = ?, last_success = ?, "
            "last_error = ?, next_due = ? WHERE kb = ? AND url = ?",
            (
                feed.title,
                feed.etag,
                feed.last_modified,
                feed.last_fetch,
                feed.last_success,
                feed.last_error,
                feed.next_due,
                kb,
                feed.url,
            ),
        )

    def item_fingerprints(self, kb: str, feed: str) -> dict[str, str]:
        return dict(self._db.run("SELECT link, fingerprint FROM feed_items WHERE kb = ? AND feed = ?", (kb, feed)))

    def remember_items(self, kb: str, feed: str, fingerprints: dict[str, str]) -> None:
        for link, fingerprint in fingerprints.items():
            self._db.run("INSERT OR REPLACE INTO feed_items VALUES (?, ?, ?, ?)", (kb, feed, link, fingerprint))


def _item_fingerprint(entry: feedparser.FeedParserDict) -> str:
    """What makes an item 'changed': its title, dates and summary as the feed states them."""
    # dict.get, not entry.get: feedparser maps a missing "updated" to "published" with a deprecation warning.
    parts = [str(dict.get(entry, k, "")) for k in ("title", "updated", "published", "summary")]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def _entry_date(entry: feedparser.FeedParserDict) -> str | None:
    parsed = dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")
    if parsed:
        return time.strftime("%Y-%m-%d", parsed)
    return iso_date(dict.get(entry, "published") or dict.get(entry, "updated"))


class FeedRefresher:
    def __init__(self, registry: FeedRegistry, fetcher: SafeFetcher, clock: Callable[[], float] = time.time) -> None:
        self._registry = registry
        self._fetcher = fetcher
        self._clock = clock

    def refresh(self, kb: KnowledgeBase, *, only_due: bool = False) -> RefreshReport:
        report = RefreshReport()
        for feed in self._registry.feeds(kb.name):
            if only_due and feed.next_due > self._clock():
                continue
            report.feeds += 1
            try:
                articles, fingerprints = self._read(kb.name, feed, report)
                report.absorb(kb.ingest_articles(articles))
                self._registry.remember_items(kb.name, feed.url, fingerprints)
                feed.last_success, feed.last_error = _now(), None
            except NewsdeskError as exc:
                report.failed.append(IngestFailure(feed.url, str(exc)))
                feed.last_error = str(exc)
                log.warning("feed %s failed: %s", feed.url, exc)
            feed.last_fetch = _now()
            feed.next_due = self._clock() + feed.every_s
            self._registry.save(kb.name, feed)
        return report

    def _read(self, kb: str, feed: Feed, report: RefreshReport) -> tuple[list[Article], dict[str, str]]:
        """The new or changed items of `feed` as articles, and their fingerprints to remember."""
        conditional = {k: v for k, v in (("If-None-Match", feed.etag), ("If-Modified-Since", feed.last_modified)) if v}
        page = self._fetcher.fetch(feed.url, accept=FEED_TYPES, headers=conditional)
        if page.status == 304:
            report.unchanged += len(self._registry.item_fingerprints(kb, feed.url))
            return [], {}
        parsed = feedparser.parse(page.body)
        if parsed.bozo and not any(entry.get("link") for entry in parsed.entries):
            raise FetchError(f"{feed.url} is not a readable RSS or Atom feed.")
        feed.title = parsed.feed.get("title") or feed.title
        feed.etag, feed.last_modified = page.headers.get("etag"), page.headers.get("last-modified")
        known = self._registry.item_fingerprints(kb, feed.url)
        articles: list[Article] = []
        fingerprints: dict[str, str] = {}
        for entry in parsed.entries:
            link = entry.get("link")
            if not link:
                continue
            fingerprint = _item_fingerprint(entry)
            if known.get(link) == fingerprint:
                report.unchanged += 1
                continue
            try:
                articles.append(self._item_article(entry, link, feed))
                fingerprints[link] = fingerprint
            except NewsdeskError as exc:
                report.failed.append(IngestFailure(link, str(exc)))
        return articles, fingerprints

    def _item_article(self, entry: feedparser.FeedParserDict, link: str, feed: Feed) -> Article:
        """The item's page through trafilatura, dated from the feed when the page has no date."""
        page = self._fetcher.fetch(link, accept=_PAGE_TYPES)
        (article, *_) = articles_from_html(page.text, link, url=link)
        return Article(
            title=entry.get("title") or article.title,
            text=article.text,
            outlet=feed.title or article.outlet,
            url=link,
            published=article.published or _entry_date(entry),
            source=feed.url,
            author=article.author or entry.get("author"),
        )
