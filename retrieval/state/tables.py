"""Every table newsdesk keeps, as SQLAlchemy Core definitions shared by SQLite and PostgreSQL.

The tables are grouped in parts: each part is one SQLite file when there is no DATABASE_URL, and the parts share one
PostgreSQL database when there is. Times that are compared are epoch seconds (Double); times that are shown are ISO
text, as they always were.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
)

# Discord ids need 64 bits; SQLite's rowid alias must be spelled INTEGER to auto-number.
DiscordId = BigInteger
AutoId = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("part", Text, primary_key=True),
    Column("version", Integer, nullable=False),
)

# --- records: what each knowledge base holds (retrieval/ingest/records.py) ------------------------------------------

articles = Table(
    "articles",
    metadata,
    Column("kb", Text, nullable=False),
    Column("id", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("outlet", Text),
    Column("url", Text),
    Column("published", Text),
    Column("published_day", Integer),
    Column("ingested_at", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("content_hash", Text, nullable=False),
    Column("author", Text),
    Column("published_approximate", Integer, nullable=False, server_default="0"),
    PrimaryKeyConstraint("kb", "id"),
)
chunks = Table(
    "chunks",
    metadata,
    Column("kb", Text, nullable=False),
    Column("chunk_id", Text, nullable=False),
    Column("article_id", Text, nullable=False),
    Column("ordinal", Integer, nullable=False),
    Column("text", Text, nullable=False),
    PrimaryKeyConstraint("kb", "chunk_id"),
    Index("chunks_by_article", "kb", "article_id"),
)
pending = Table(
    "pending",
    metadata,
    Column("kb", Text, nullable=False),
    Column("article_id", Text, nullable=False),
    Column("new_hash", Text, nullable=False),
    Column("new_chunk_ids", Text, nullable=False),
    Column("old_chunk_ids", Text, nullable=False),
    PrimaryKeyConstraint("kb", "article_id"),
)
kb_state = Table(
    "kb_state",
    metadata,
    Column("kb", Text, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("last_ingest", Text),
)

# --- feeds: subscriptions, item state, and the refresh lease (retrieval/feeds.py, retrieval/state/lease.py) ---------

feeds = Table(
    "feeds",
    metadata,
    Column("kb", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("every_s", Integer, nullable=False),
    Column("title", Text),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("last_fetch", Text),
    Column("last_success", Text),
    Column("last_error", Text),
    Column("next_due", Double, nullable=False, server_default="0"),
    PrimaryKeyConstraint("kb", "url"),
)
feed_items = Table(
    "feed_items",
    metadata,
    Column("kb", Text, nullable=False),
    Column("feed", Text, nullable=False),
    Column("link", Text, nullable=False),
    Column("fingerprint", Text, nullable=False),
    PrimaryKeyConstraint("kb", "feed", "link"),
)
item_pages = Table(
    "item_pages",
    metadata,
    Column("kb", Text, nullable=False),
    Column("feed", Text, nullable=False),
    Column("link", Text, nullable=False),
    Column("entry", Text, nullable=False),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("first_seen", Double, nullable=False),
    PrimaryKeyConstraint("kb", "feed", "link"),
)
failed_items = Table(
    "failed_items",
    metadata,
    Column("kb", Text, nullable=False),
    Column("feed", Text, nullable=False),
    Column("link", Text, nullable=False),
    Column("entry", Text, nullable=False),
    Column("error", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_try", Double, nullable=False),
    Column("first_failed", Double),  # when it first failed: old failures expire
    PrimaryKeyConstraint("kb", "feed", "link"),
)
leases = Table(
    "leases",
    metadata,
    Column("name", Text, primary_key=True),
    Column("holder", Text, nullable=False),
    Column("expires", Double, nullable=False),  # epoch seconds on the database's clock
)

# --- bot: answers shown, feedback, ingest failures, server settings (bot/store.py) ---------------------------------

answers = Table(
    "answers",
    metadata,
    Column("id", Text, primary_key=True),
    Column("guild_id", DiscordId),
    Column("question", Text),
    Column("payload", Text),
    Column("created", Text),
    Column("user_id", DiscordId),
    Column("private", Integer),
)
feedback = Table(
    "feedback",
    metadata,
    Column("answer_id", Text),
    Column("user_id", DiscordId),
    Column("helpful", Integer),
    Column("reason", Text),
    Column("created", Text),
    PrimaryKeyConstraint("answer_id", "user_id"),
)
failures = Table(
    "failures",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("guild_id", DiscordId),
    Column("source", Text),
    Column("error", Text),
    Column("created", Text),
)
guild_settings = Table(
    "guild_settings",
    metadata,
    Column("guild_id", DiscordId, primary_key=True),
    Column("payload", Text),  # GuildSettings as JSON: a new field needs no migration
)


@dataclass(frozen=True)
class Part:
    """A group of tables: one SQLite file, or its share of the PostgreSQL database."""

    name: str
    sqlite_file: str
    tables: tuple[Table, ...]


RECORDS = Part("records", "records.sqlite3", (articles, chunks, pending, kb_state))
FEEDS = Part("feeds", "feeds.sqlite3", (feeds, feed_items, item_pages, failed_items, leases))
BOT = Part("bot", "bot.sqlite3", (answers, feedback, failures, guild_settings))
PARTS = (RECORDS, FEEDS, BOT)
