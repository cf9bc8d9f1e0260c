"""RSS and Atom feeds: which feeds each knowledge base follows, and refreshing them incrementally.

A refresh asks each feed with ETag / Last-Modified (a 304 costs nothing), parses it with feedparser, fetches only
the pages of items that are new or changed since the last refresh, and indexes them like any other article, so the
indexer's content hashes keep unchanged stories from being embedded again. One failing feed never stops the others.
Several feeds are refreshed at once, but requests to one host go out one at a time, so no site ever sees more than
one request from newsdesk at once and one slow site does not hold up the others; each request passes the
private-address guard, deadline and size cap of `SafeFetcher`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import feedparser
from sqlalchemy import Connection, delete, func, select, update

from retrieval.dates import iso_date
from retrieval.errors import BadInputError, FetchError, NewsdeskError
from retrieval.knowledge_base import KnowledgeBase
from retrieval.loaders.html import articles_from_html
from retrieval.loaders.url import FEED_TYPES, FetchedPage, SafeFetcher
from retrieval.quota import Quota
from retrieval.state import Database
from retrieval.state.tables import failed_items as FI
from retrieval.state.tables import feed_items as FT
from retrieval.state.tables import feeds as F
from retrieval.state.tables import item_pages as IP
from retrieval.types import Article, IngestFailure, IngestReport

log = logging.getLogger(__name__)

FEED_WORKERS = 4  # feeds refreshed at once (on different hosts; one request at a time per host)
RECHECK_S = 48 * 3600  # item pages are re-read (conditionally) while in the feed or this young: sites fix articles
RETRY_FIRST_S = 600  # a failed item is tried again after 10 minutes, then 20, 40, ... at most daily
RETRY_MAX_S = 86400
FAILED_ITEMS_PER_FEED = 200  # failed items kept per feed for retrying (the most recent); a feed can list thousands
FAILED_ITEM_TTL_S = 7 * 86400  # an item still failing a week after its first failure is given up
_PAGE_TYPES = ("text/html", "application/xhtml+xml")
_PERIODS = {"m": 60, "h": 3600, "d": 86400}
EVERY_FLOOR_S = 300  # no feed is asked more often than every 5 minutes: politeness to the sites we read


def requested_every(value: str) -> int:
    """'30m', '1h', '1d' -> seconds, as asked."""
    value = value.strip().lower()
    if not (value[:-1].isdigit() and value[-1:] in _PERIODS):
        raise BadInputError(f"{value!r} is not an interval; use e.g. 30m, 1h or 1d.")
    return int(value[:-1]) * _PERIODS[value[-1]]


def parse_every(value: str) -> int:
    """The interval in seconds, raised to the 5-minute floor."""
    return max(EVERY_FLOOR_S, requested_every(value))


@dataclass(frozen=True)
class FeedCheck:
    """What a feed looked like when it was added: proof that it can be fetched and parsed."""

    title: str | None
    items: int


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
    failing_items: int = 0  # items that could not be loaded; retried with backoff

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["next_due"] = datetime.fromtimestamp(self.next_due, UTC).isoformat() if self.next_due else None
        return data


@dataclass
class RefreshReport(IngestReport):
    """An ingest report over every refreshed feed, plus how many feeds were asked."""

    feeds: int = 0
    retried: int = 0  # items that had failed before and were fetched again


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


class FeedRegistry:
    """Feed subscriptions and their state, in the state store (feeds.sqlite3, or DATABASE_URL's database)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def add(self, kb: str, url: str, every_s: int | None = None) -> tuple[Feed, bool]:
        """Follow `url` (every hour unless `every_s` is given); returns the feed and whether it was followed already,
        in which case only what was given changes."""
        with self._db.write() as conn:
            inserted = conn.execute(
                self._db.insert(F)
                .values(kb=kb, url=url, every_s=every_s or 3600)
                .on_conflict_do_nothing(index_elements=[F.c.kb, F.c.url])
                .returning(F.c.url)
            ).first()
            if inserted is None and every_s is not None:
                conn.execute(update(F).where(F.c.kb == kb, F.c.url == url).values(every_s=every_s))
        return next(f for f in self.feeds(kb) if f.url == url), inserted is None

    def remove(self, kb: str, url: str) -> None:
        """Stop following `url` and forget everything kept about its items."""
        with self._db.write() as conn:
            if conn.execute(delete(F).where(F.c.kb == kb, F.c.url == url).returning(F.c.url)).first() is None:
                raise BadInputError(f"This knowledge base does not follow {url}; see `newsdesk feeds list`.")
            for table in (FT, IP, FI):
                conn.execute(delete(table).where(table.c.kb == kb, table.c.feed == url))

    def knowledge_bases(self) -> list[str]:
        """Every knowledge base that follows at least one feed."""
        return [row[0] for row in self._db.rows(select(F.c.kb).distinct().order_by(F.c.kb))]

    def feeds(self, kb: str) -> list[Feed]:
        failing = select(func.count()).where(FI.c.kb == F.c.kb, FI.c.feed == F.c.url).correlate(F).scalar_subquery()
        query = (
            select(
                F.c.url,
                F.c.every_s,
                F.c.title,
                F.c.etag,
                F.c.last_modified,
                F.c.last_fetch,
                F.c.last_success,
                F.c.last_error,
                F.c.next_due,
                failing,
            )
            .where(F.c.kb == kb)
            .order_by(F.c.url)
        )
        return [Feed(*row) for row in self._db.rows(query)]

    def save(self, kb: str, feed: Feed) -> None:
        """Store a refreshed feed's state, and trim its failed items to the most recent ones."""
        with self._db.write() as conn:
            conn.execute(
                update(F)
                .where(F.c.kb == kb, F.c.url == feed.url)
                .values(
                    title=feed.title,
                    etag=feed.etag,
                    last_modified=feed.last_modified,
                    last_fetch=feed.last_fetch,
                    last_success=feed.last_success,
                    last_error=feed.last_error,
                    next_due=feed.next_due,
                )
            )
            self._trim_failed_items(conn, kb, feed.url)

    @staticmethod
    def _trim_failed_items(conn: Connection, kb: str, feed: str) -> None:
        """Keep the feed's most recent failures only: a feed of rotating broken links must not grow without end."""
        this_feed = (FI.c.kb == kb) & (FI.c.feed == feed)
        kept = (
            select(FI.c.link)
            .where(this_feed)
            .order_by(FI.c.first_failed.desc(), FI.c.link)
            .limit(FAILED_ITEMS_PER_FEED)
            .scalar_subquery()
        )
        conn.execute(delete(FI).where(this_feed, FI.c.link.not_in(kept)))

    def item_fingerprints(self, kb: str, feed: str) -> dict[str, str]:
        return dict(self._db.rows(select(FT.c.link, FT.c.fingerprint).where(FT.c.kb == kb, FT.c.feed == feed)))

    def remember_items(self, kb: str, feed: str, fingerprints: dict[str, str]) -> None:
        if not fingerprints:
            return
        insert = self._db.insert(FT)
        upsert = insert.on_conflict_do_update(
            index_elements=[FT.c.kb, FT.c.feed, FT.c.link], set_={"fingerprint": insert.excluded.fingerprint}
        )
        rows = [{"kb": kb, "feed": feed, "link": link, "fingerprint": f} for link, f in fingerprints.items()]
        with self._db.write() as conn:
            conn.execute(upsert, rows)
            conn.execute(delete(FI).where(FI.c.kb == kb, FI.c.feed == feed, FI.c.link.in_(list(fingerprints))))

    def record_failed_item(self, kb: str, feed: str, link: str, entry: dict, error: str, now: float) -> None:
        """Keep a failed item to try again later, waiting twice as long after each failure; one that has failed
        for FAILED_ITEM_TTL_S is given up."""
        key = (FI.c.kb == kb) & (FI.c.feed == feed) & (FI.c.link == link)
        with self._db.write() as conn:
            before = conn.execute(select(FI.c.attempts, FI.c.first_failed).where(key)).first()
            first_failed = before[1] if before and before[1] is not None else now
            attempts = (before[0] if before else 0) + 1
            wait = min(RETRY_MAX_S, RETRY_FIRST_S * 2 ** (attempts - 1))
            conn.execute(delete(FI).where(key))
            if now - first_failed >= FAILED_ITEM_TTL_S:
                return
            conn.execute(
                FI.insert().values(
                    kb=kb,
                    feed=feed,
                    link=link,
                    entry=json.dumps(entry),
                    error=error,
                    attempts=attempts,
                    next_try=now + wait,
                    first_failed=first_failed,
                )
            )

    def save_item_page(self, kb: str, feed: str, link: str, entry: dict, headers: dict, now: float) -> None:
        """The validators of an item's page (ETag, Last-Modified), so a re-check costs a 304 when nothing changed."""
        insert = self._db.insert(IP).values(
            kb=kb,
            feed=feed,
            link=link,
            entry=json.dumps(entry),
            etag=headers.get("etag"),
            last_modified=headers.get("last-modified"),
            first_seen=now,
        )
        changed = {k: insert.excluded[k] for k in ("entry", "etag", "last_modified")}
        with self._db.write() as conn:
            conn.execute(insert.on_conflict_do_update(index_elements=[IP.c.kb, IP.c.feed, IP.c.link], set_=changed))

    def item_pages(self, kb: str, feed: str) -> list[tuple[str, dict, dict[str, str], float]]:
        """(link, feed entry, conditional request headers, first seen) of the feed's loaded items."""
        query = select(IP.c.link, IP.c.entry, IP.c.etag, IP.c.last_modified, IP.c.first_seen).where(
            IP.c.kb == kb, IP.c.feed == feed
        )
        return [
            (link, json.loads(entry), _conditional(etag, modified), seen)
            for link, entry, etag, modified, seen in self._db.rows(query)
        ]

    def failed_items(self, kb: str, feed: str) -> list[tuple[str, dict, str, float]]:
        """(link, feed entry, last error, next try) of the feed's items that failed to load."""
        query = (
            select(FI.c.link, FI.c.entry, FI.c.error, FI.c.next_try)
            .where(FI.c.kb == kb, FI.c.feed == feed)
            .order_by(FI.c.link)
        )
        return [(link, json.loads(entry), error, next_try) for link, entry, error, next_try in self._db.rows(query)]


def _item_fingerprint(entry: feedparser.FeedParserDict) -> str:
    """What makes an item 'changed': its title, dates and summary as the feed states them."""
    # dict.get, not entry.get: feedparser maps a missing "updated" to "published" with a deprecation warning.
    parts = [str(dict.get(entry, k, "")) for k in ("title", "updated", "published", "summary")]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def _conditional(etag: str | None, last_modified: str | None) -> dict[str, str]:
    return {k: v for k, v in (("If-None-Match", etag), ("If-Modified-Since", last_modified)) if v}


def _kept(entry: feedparser.FeedParserDict) -> dict:
    """The parts of a feed entry an item's article is built from, to rebuild it without the feed."""
    return {k: dict.get(entry, k) for k in ("title", "published", "updated", "author", "summary")}


def _entry(kept: dict) -> feedparser.FeedParserDict:
    return feedparser.FeedParserDict({k: v for k, v in kept.items() if v is not None})


def _entry_date_text(entry: feedparser.FeedParserDict) -> str | None:
    """The entry's date as the feed wrote it."""
    return dict.get(entry, "published") or dict.get(entry, "updated")


def _entry_date(entry: feedparser.FeedParserDict) -> str | None:
    parsed = dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")
    if parsed:
        return time.strftime("%Y-%m-%d", parsed)
    return iso_date(_entry_date_text(entry))


class FeedRefresher:
    def __init__(
        self,
        registry: FeedRegistry,
        fetcher: SafeFetcher,
        clock: Callable[[], float] = time.time,
        recheck_s: float = RECHECK_S,
        quota: Quota | None = None,
    ) -> None:
        self._registry = registry
        self._fetcher = fetcher
        self._quota = quota  # the bot's per-server limits; the CLI has none
        self._clock = clock
        self._recheck_s = recheck_s
        self._hosts: dict[str, threading.Lock] = {}
        self._hosts_lock = threading.Lock()

    def check(self, url: str) -> FeedCheck:
        """Fetch and parse `url` once, before following it: a web page or a broken feed is refused with a reason."""
        page = self._fetch(url, accept=FEED_TYPES + _PAGE_TYPES)
        if page.content_type in _PAGE_TYPES:
            raise FetchError(f"{url} is a web page, not a feed; look on the site for its RSS or Atom link.")
        parsed = feedparser.parse(page.body)
        if parsed.bozo and not parsed.entries:
            raise FetchError(f"{url} is not a readable RSS or Atom feed.")
        return FeedCheck(parsed.feed.get("title"), len(parsed.entries))

    def refresh(self, kb: KnowledgeBase, *, only_due: bool = False) -> RefreshReport:
        """Refresh every (due) feed, several hosts at once but one request at a time per host.

        The scheduled refresh (`only_due`) retries failed items on their backoff; a refresh someone asked for
        retries them all now, since they may well have been told the page is back."""
        due = [f for f in self._registry.feeds(kb.name) if not (only_due and f.next_due > self._clock())]
        report = RefreshReport(feeds=len(due))
        if not due:
            return report
        with ThreadPoolExecutor(min(FEED_WORKERS, len(due)), thread_name_prefix="newsdesk-feed") as pool:
            for part in pool.map(lambda feed: self._refresh_one(kb, feed, retry_now=not only_due), due):
                report.absorb(part)
                report.retried += part.retried
        return report

    def _refresh_one(self, kb: KnowledgeBase, feed: Feed, *, retry_now: bool = False) -> RefreshReport:
        report = RefreshReport()
        try:
            if self._quota is not None:  # a full knowledge base: fetch nothing that could not be stored
                self._quota.check_room(kb.usage())
            articles, fingerprints, present = self._read(kb.name, feed, report)
            retried, retried_prints = self._retry_failed(kb.name, feed, report, present | set(fingerprints), retry_now)
            articles, fingerprints = articles + retried, fingerprints | retried_prints
            articles += self._recheck(kb.name, feed, report, present, skip=set(fingerprints))
            indexed = kb.ingest_articles(articles, quota=self._quota)
            report.absorb(indexed)
            # Items refused for lack of room are not remembered: they count as new once there is room again.
            refused = {failure.source for failure in indexed.failed}
            self._registry.remember_items(
                kb.name, feed.url, {link: fp for link, fp in fingerprints.items() if link not in refused}
            )
            feed.last_success, feed.last_error = _now(), None
        except NewsdeskError as exc:
            report.failed.append(IngestFailure(feed.url, str(exc)))
            feed.last_error = str(exc)
            log.warning("feed %s failed: %s", feed.url, exc)
        feed.last_fetch = _now()
        feed.next_due = self._clock() + feed.every_s
        self._registry.save(kb.name, feed)
        return report

    def _fetch(self, url: str, **options: object) -> FetchedPage:
        """Every request goes through here: at most one at a time per host, whatever the number of feeds."""
        host = (urlsplit(url).hostname or "").lower()
        with self._hosts_lock:
            lock = self._hosts.setdefault(host, threading.Lock())
        with lock:
            return self._fetcher.fetch(url, **options)

    def _read(self, kb: str, feed: Feed, report: RefreshReport) -> tuple[list[Article], dict[str, str], set[str]]:
        """The new or changed items of `feed` as articles, their fingerprints to remember, and the links the feed
        lists now."""
        page = self._fetch(feed.url, accept=FEED_TYPES, headers=_conditional(feed.etag, feed.last_modified))
        if page.status == 304:
            known = self._registry.item_fingerprints(kb, feed.url)
            report.unchanged += len(known)
            return [], {}, set(known)
        parsed = feedparser.parse(page.body)
        if parsed.bozo and not any(entry.get("link") for entry in parsed.entries):
            raise FetchError(f"{feed.url} is not a readable RSS or Atom feed.")
        feed.title = parsed.feed.get("title") or feed.title
        feed.etag, feed.last_modified = page.headers.get("etag"), page.headers.get("last-modified")
        known = self._registry.item_fingerprints(kb, feed.url)
        articles: list[Article] = []
        fingerprints: dict[str, str] = {}
        present: set[str] = set()
        for entry in parsed.entries:
            link = entry.get("link")
            if not link:
                continue
            present.add(link)
            fingerprint = _item_fingerprint(entry)
            if known.get(link) == fingerprint:
                report.unchanged += 1
                continue
            try:
                articles.append(self._item_article(kb, entry, link, feed))
                fingerprints[link] = fingerprint
            except NewsdeskError as exc:
                report.failed.append(IngestFailure(link, str(exc)))
                self._registry.record_failed_item(kb, feed.url, link, _kept(entry), str(exc), self._clock())
        return articles, fingerprints, present

    def _recheck(self, kb: str, feed: Feed, report: RefreshReport, present: set[str], skip: set[str]) -> list[Article]:
        """Known items whose feed entry did not change, read again with a conditional GET: a site that fixes a
        figure in an article seldom touches its feed entry. A 304 costs nothing; a changed page is re-indexed."""
        cutoff = self._clock() - self._recheck_s
        articles: list[Article] = []
        for link, kept, conditional, first_seen in self._registry.item_pages(kb, feed.url):
            if link in skip or not (link in present or first_seen >= cutoff):
                continue
            try:
                article = self._item_article(kb, _entry(kept), link, feed, conditional=conditional)
            except NewsdeskError as exc:  # the item loaded before; a failed re-check leaves it as it was
                log.info("re-check of %s failed: %s", link, exc)
                continue
            if article is not None:
                report.unchanged -= 1  # counted unchanged from the feed; the indexer now decides
                articles.append(article)
        return articles

    def _retry_failed(
        self, kb: str, feed: Feed, report: RefreshReport, skip: set[str], now: bool
    ) -> tuple[list[Article], dict[str, str]]:
        """Items that failed before and are due again (all of them when `now`): a 404 that became a page is not
        missing forever, even while the feed itself answers 304."""
        articles: list[Article] = []
        fingerprints: dict[str, str] = {}
        for link, entry, _, next_try in self._registry.failed_items(kb, feed.url):
            if (next_try > self._clock() and not now) or link in skip:  # not due, or just fetched from the feed
                continue
            parsed = _entry(entry)
            try:
                articles.append(self._item_article(kb, parsed, link, feed))
                fingerprints[link] = _item_fingerprint(parsed)
                report.retried += 1
            except NewsdeskError as exc:
                report.failed.append(IngestFailure(link, str(exc)))
                self._registry.record_failed_item(kb, feed.url, link, entry, str(exc), self._clock())
        return articles, fingerprints

    def _item_article(
        self, kb: str, entry: feedparser.FeedParserDict, link: str, feed: Feed, conditional: dict | None = None
    ) -> Article | None:
        """The item's page through trafilatura, dated from the feed when the page has no date; None when a
        conditional request says the page has not changed."""
        page = self._fetch(link, accept=_PAGE_TYPES, headers=conditional)
        if page.status == 304:
            return None
        (article, *_) = articles_from_html(page.text, link, url=link)
        self._registry.save_item_page(kb, feed.url, link, _kept(entry), page.headers, self._clock())
        published = article.published or _entry_date(entry)
        return Article(
            title=entry.get("title") or article.title,
            text=article.text,
            outlet=feed.title or article.outlet,
            url=link,
            published=published,
            source=feed.url,
            author=article.author or entry.get("author"),
            unread_date=None if published else article.unread_date or _entry_date_text(entry),
        )
