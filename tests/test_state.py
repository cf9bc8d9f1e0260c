"""The state store, run on SQLite files and on a real PostgreSQL server (the `database_url` fixture runs each test
on both): records, feeds, bot state, the feed lease, migrations of an old data dir, and `newsdesk migrate`."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.store import FAILURES_PER_SERVER, BotStore, GuildSettings
from cli.main import app
from retrieval.feeds import FAILED_ITEM_TTL_S, FAILED_ITEMS_PER_FEED, FeedRegistry
from retrieval.ingest.records import PendingChange, RecordManager, StagedArticle
from retrieval.settings import Settings
from retrieval.state import BOT, FEEDS, RECORDS, open_database
from retrieval.state.lease import Lease
from retrieval.types import Answer, Article, Chunk, IngestFailure


@pytest.fixture
def state_settings(tmp_path: Path, database_url: str | None) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data", database_url=database_url)


def staged(title: str, text: str, version: str) -> StagedArticle:
    article = Article(title=title, text=text, outlet="Gazette", published="2026-11-02")
    chunk = Chunk(f"{article.id}-{version}-0", article.id, 0, text, title)
    return StagedArticle(article, version, [chunk], [])


def test_records_journal_commit_and_remove(state_settings: Settings) -> None:
    records = RecordManager(open_database(state_settings, RECORDS))
    item = staged("Ferry timetable", "The ferry leaves at nine.", "v1")
    records.journal("kb", [PendingChange(item.article.id, "v1", [item.chunks[0].chunk_id], [])])
    assert [p.new_hash for p in records.pending("kb")] == ["v1"]
    records.commit_articles("kb", [item])
    records.clear_pending("kb", [item.article.id])
    assert records.pending("kb") == [] and records.version("kb") == 1
    (record,) = records.articles("kb")
    assert (record.title, record.chunks, record.content_hash) == ("Ferry timetable", 1, "v1")
    assert records.chunks("kb")[0].text == "The ferry leaves at nine." and records.knowledge_bases() == ["kb"]
    assert records.kb_sizes() == [("kb", 1, 1)] and records.last_ingest("kb") is not None

    assert records.usage("kb") == records.usage("kb", item.article.id) == (1, 25)
    assert records.usage("kb", "no-such-id") == (0, 0) and records.usage("other") == (0, 0)
    café = staged("Café", "Ça coûte 5 €.", "v1")  # quotas count UTF-8 bytes, not characters
    records.commit_articles("kb", [café])
    assert records.usage("kb", café.article.id) == (1, len("Ça coûte 5 €.".encode()))
    records.commit_removal("kb", [café.article.id])

    newer = staged("Ferry timetable", "The ferry leaves at ten.", "v2")
    records.commit_articles("kb", [newer])  # replaces the article's passages, all or nothing
    assert [c.text for c in records.chunks("kb")] == ["The ferry leaves at ten."] and records.version("kb") == 4
    records.commit_removal("kb", [item.article.id])
    assert records.articles("kb") == [] and records.version("kb") == 5
    records.close()


def test_a_failed_commit_leaves_the_records_as_they_were(state_settings: Settings) -> None:
    records = RecordManager(open_database(state_settings, RECORDS))
    first = staged("Budget", "Council passes the budget.", "v1")
    records.commit_articles("kb", [first])
    clash = staged("Budget", "Council passes the budget again.", "v2")
    duplicate = StagedArticle(clash.article, "v2", clash.chunks * 2, [])  # the same chunk id twice: the insert fails
    with pytest.raises(Exception):  # noqa: B017 - each driver names the integrity error its own way
        records.commit_articles("kb", [duplicate])
    assert [c.text for c in records.chunks("kb")] == ["Council passes the budget."] and records.version("kb") == 1
    records.close()


def test_feed_registry_keeps_failures_bounded(state_settings: Settings) -> None:
    registry = FeedRegistry(open_database(state_settings, FEEDS))
    feed, existed = registry.add("kb", "https://news.example/rss")
    assert not existed and feed.every_s == 3600
    assert registry.add("kb", "https://news.example/rss", 600) == (registry.feeds("kb")[0], True)
    assert registry.feeds("kb")[0].every_s == 600
    now = 1_000_000.0
    for i in range(FAILED_ITEMS_PER_FEED + 50):  # a feed of rotating broken links
        registry.record_failed_item("kb", feed.url, f"https://news.example/{i}", {"title": "x"}, "HTTP 404", now + i)
    registry.save("kb", registry.feeds("kb")[0])
    kept = registry.failed_items("kb", feed.url)
    assert len(kept) == FAILED_ITEMS_PER_FEED and "https://news.example/0" not in {k[0] for k in kept}  # newest kept

    link = "https://news.example/249"
    registry.record_failed_item("kb", feed.url, link, {"title": "x"}, "HTTP 404", now + 300)
    assert next(k for k in registry.failed_items("kb", feed.url) if k[0] == link)[3] > now + 300  # backoff grows
    registry.record_failed_item("kb", feed.url, link, {"title": "x"}, "HTTP 404", now + 249 + FAILED_ITEM_TTL_S)
    assert link not in {k[0] for k in registry.failed_items("kb", feed.url)}  # failing for a week: given up

    registry.remember_items("kb", feed.url, {"https://news.example/248": "abc"})  # it loaded at last
    assert "https://news.example/248" not in {k[0] for k in registry.failed_items("kb", feed.url)}
    registry.remove("kb", feed.url)
    assert registry.feeds("kb") == [] and registry.failed_items("kb", feed.url) == []
    assert registry.item_fingerprints("kb", feed.url) == {}


def test_bot_store_answers_feedback_and_failures(state_settings: Settings) -> None:
    store = BotStore(open_database(state_settings, BOT))
    answer = Answer(question="Did the ferry sail?", answer="No.", grounded=False, mode="extractive")
    answer_id = store.remember(111, 5, answer, private=True)
    assert store.answer(answer_id, guild_id=111, user_id=5)["question"] == "Did the ferry sail?"
    assert store.answer(answer_id, guild_id=111, user_id=6) is None  # private: only its asker
    assert store.answer(answer_id, guild_id=222, user_id=5) is None  # another server never
    store.record_feedback(answer_id, 7, True)
    store.record_feedback(answer_id, 7, False, "outdated")  # a second vote replaces the first
    assert store.feedback(answer_id) == [(7, False, "outdated")]
    assert store.unhelpful(111) == [("Did the ferry sail?", "outdated")] and store.refused(111) == [
        "Did the ferry sail?"
    ]

    store.record_failures(111, [IngestFailure(f"https://x.example/{i}", "HTTP 500") for i in range(250)])
    store.record_failures(111, [IngestFailure("https://feed.example/rss", "timed out")])
    store.record_failures(222, [IngestFailure("https://b.example/", "HTTP 404")])
    assert store.recent_failures(111, limit=2)[0][:2] == ("https://feed.example/rss", "timed out")  # newest first
    assert len(store.recent_failures(111, limit=1000)) == FAILURES_PER_SERVER  # capped per server
    store.clear_failures(111, ["https://feed.example/rss"])  # the feed works again
    assert store.recent_failures(111, limit=1)[0][0] == "https://x.example/249"
    assert store.recent_failures(222) and store.recent_failures(333) == []


def test_settings_changed_in_one_process_reach_another_within_the_cache_time(state_settings: Settings) -> None:
    here, there = (BotStore(open_database(state_settings, BOT), settings_cache_s=0.5) for _ in range(2))
    assert there.guild_settings(111) == GuildSettings()  # now cached there
    here.save_guild_settings(111, GuildSettings(ask_channel=42))
    assert here.guild_settings(111).ask_channel == 42
    deadline = time.monotonic() + 30
    while there.guild_settings(111).ask_channel != 42:
        assert time.monotonic() < deadline, "the other process never saw the new settings"
        time.sleep(0.1)


def test_one_lease_holder_at_a_time_and_a_lapsed_lease_is_taken_over(state_settings: Settings) -> None:
    first = Lease(open_database(state_settings, FEEDS), "feed-refresh", ttl_s=1.0, holder="first")
    second = Lease(open_database(state_settings, FEEDS), "feed-refresh", ttl_s=1.0, holder="second")
    assert first.acquire() and not second.acquire()
    assert first.acquire() and first.current_holder() == "first"  # renewed by its holder
    first.release()
    assert second.acquire() and not first.acquire()
    deadline = time.monotonic() + 30  # `second` stops renewing, as a killed process would
    while not first.acquire():
        assert time.monotonic() < deadline, "the lapsed lease was never taken over"
        time.sleep(0.1)
    assert first.current_holder() == "first" and not second.acquire()


def write_legacy_data_dir(data_dir: Path) -> None:
    """SQLite files as the releases before the state store wrote them."""
    data_dir.mkdir(parents=True)
    records = sqlite3.connect(data_dir / "records.sqlite3")
    records.executescript(
        "CREATE TABLE articles (kb TEXT NOT NULL, id TEXT NOT NULL, title TEXT NOT NULL, outlet TEXT, url TEXT, "
        "published TEXT, published_day INTEGER, ingested_at TEXT NOT NULL, source TEXT NOT NULL, "
        "content_hash TEXT NOT NULL, PRIMARY KEY (kb, id));"
        "INSERT INTO articles VALUES ('kb', 'a1', 'Old story', NULL, NULL, NULL, NULL, 'then', 's', 'h');"
    )
    records.commit()
    feeds = sqlite3.connect(data_dir / "feeds.sqlite3")
    feeds.executescript(
        "CREATE TABLE feeds (kb TEXT NOT NULL, url TEXT NOT NULL, every_s INTEGER NOT NULL, title TEXT, etag TEXT, "
        "last_modified TEXT, last_fetch TEXT, last_success TEXT, last_error TEXT, next_due REAL NOT NULL DEFAULT 0, "
        "PRIMARY KEY (kb, url));"
        "CREATE TABLE failed_items (kb TEXT NOT NULL, feed TEXT NOT NULL, link TEXT NOT NULL, entry TEXT NOT NULL, "
        "error TEXT NOT NULL, attempts INTEGER NOT NULL, next_try REAL NOT NULL, PRIMARY KEY (kb, feed, link));"
        "INSERT INTO feeds (kb, url, every_s) VALUES ('kb', 'https://news.example/rss', 3600);"
        "INSERT INTO failed_items VALUES ('kb', 'https://news.example/rss', 'https://news.example/1', '{}', 'x', 1, 0);"
    )
    feeds.commit()
    bot = sqlite3.connect(data_dir / "bot.sqlite3")
    bot.executescript(
        "CREATE TABLE answers (id TEXT PRIMARY KEY, guild_id INTEGER, question TEXT, payload TEXT, created TEXT);"
        "CREATE TABLE failures (guild_id INTEGER, source TEXT, error TEXT, created TEXT);"
        "CREATE TABLE guild_settings (guild_id INTEGER PRIMARY KEY, payload TEXT);"
        "INSERT INTO failures VALUES (111, 'https://a.example/', 'first', '2026-12-01T00:00:00+00:00');"
        "INSERT INTO failures VALUES (111, 'https://b.example/', 'second', '2026-12-01T00:00:00+00:00');"
        "INSERT INTO guild_settings VALUES (111, '{\"ask_channel\": 42}');"
    )
    bot.commit()
    for db in (records, feeds, bot):
        db.close()


def test_an_old_sqlite_data_dir_upgrades_in_place(tmp_path: Path) -> None:
    write_legacy_data_dir(tmp_path / "data")
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")
    for _ in range(2):  # the second opening applies nothing twice
        (record,) = RecordManager(open_database(settings, RECORDS)).articles("kb")
        assert record.title == "Old story" and record.author is None and not record.published_approximate
        assert FeedRegistry(open_database(settings, FEEDS)).feeds("kb")[0].failing_items == 1
        store = BotStore(open_database(settings, BOT))
        assert store.guild_settings(111).ask_channel == 42
        assert [f[1] for f in store.recent_failures(111)] == ["second", "first"]  # the old order survives
    versions = sqlite3.connect(tmp_path / "data" / "bot.sqlite3").execute("SELECT * FROM schema_version").fetchall()
    assert versions == [("bot", 4)]


def test_migrate_copies_a_sqlite_data_dir_into_postgres_once(tmp_path: Path, postgres) -> None:
    write_legacy_data_dir(tmp_path / "data")
    url = postgres.new_database()
    env = {"NEWSDESK_DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": url}
    first = CliRunner().invoke(app, ["migrate", "--json"], env=env)
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert report["tables"]["articles"] == {"read": 1, "added": 1} and report["tables"]["failures"]["added"] == 2
    again = json.loads(CliRunner().invoke(app, ["migrate", "--json"], env=env).stdout)
    assert again["added"] == 0 and again["tables"]["articles"] == {"read": 1, "added": 0}  # idempotent

    settings = Settings(_env_file=None, data_dir=tmp_path / "elsewhere", database_url=url)
    store = BotStore(open_database(settings, BOT))
    assert store.guild_settings(111).ask_channel == 42
    store.record_failures(111, [IngestFailure("https://c.example/", "third")])  # numbered after the copied rows
    assert [f[1] for f in store.recent_failures(111)] == ["third", "second", "first"]
    assert RecordManager(open_database(settings, RECORDS)).articles("kb")[0].title == "Old story"


@pytest.mark.parametrize(
    "url",
    ["mysql://db.example/newsdesk", "postgresql://db.example:port/newsdesk", "postgresql://127.0.0.1:1/newsdesk"],
)
def test_migrate_refuses_a_bad_database_url_in_one_sentence(tmp_path: Path, url: str) -> None:
    write_legacy_data_dir(tmp_path / "data")
    result = CliRunner().invoke(
        app, ["migrate"], env={"NEWSDESK_DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": url}
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output.count("\n") == 1 and "DATABASE_URL" in result.output


def test_migrate_without_a_database_url_says_so(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["migrate", "--json"], env={"NEWSDESK_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 2 and "DATABASE_URL is not set" in json.loads(result.stdout)["error"]
    env = {"NEWSDESK_DATA_DIR": str(tmp_path), "DATABASE_URL": "postgresql://127.0.0.1:1/x"}
    empty = CliRunner().invoke(app, ["migrate", "--json", "--from", str(tmp_path / "nothing")], env=env)
    assert empty.exit_code == 2 and "point --from at a newsdesk data dir" in json.loads(empty.stdout)["error"]
    assert "--from" in CliRunner().invoke(app, ["migrate", "--help"]).output


def test_health_checks_the_database(tmp_path: Path, model_dir: Path, postgres) -> None:
    env = {"NEWSDESK_DATA_DIR": str(tmp_path), "NEWSDESK_MODEL_DIR": str(model_dir)}
    up = CliRunner().invoke(app, ["health", "--json"], env={**env, "DATABASE_URL": postgres.new_database()})
    assert up.exit_code == 0 and json.loads(up.stdout)["checks"]["database"]["ok"]
    down = CliRunner().invoke(app, ["health", "--json"], env={**env, "DATABASE_URL": "postgresql://127.0.0.1:1/x"})
    database = json.loads(down.stdout)["checks"]["database"]
    assert down.exit_code == 1 and not database["ok"] and database["detail"].startswith("The state database cannot")
