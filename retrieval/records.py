"""The record manager: what each knowledge base holds, in SQLite beside the vector store.

Why not LangChain's `index()` with its SQL record manager: it writes vectors first and records afterwards, so a
process killed in between leaves vectors nobody owns, and with incremental cleanup an article split across batches
can be half old, half new. Here every article change is journalled first (`pending`), then the vectors are written,
then the records commit in one transaction, then the old vectors go. `recover()` replays the journal after a crash:
a committed change is finished (old vectors removed), an uncommitted one is undone (new vectors removed). Chunk ids
contain the content hash, so old and new vectors never share an id.

The record manager also keeps chunk texts, which lets BM25 and `kb show` work without scanning the vector store.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from retrieval.dates import date_ordinal
from retrieval.types import Article, ArticleRecord, Chunk

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    kb TEXT NOT NULL, id TEXT NOT NULL, title TEXT NOT NULL, outlet TEXT, url TEXT, published TEXT,
    published_day INTEGER, ingested_at TEXT NOT NULL, source TEXT NOT NULL, content_hash TEXT NOT NULL,
    PRIMARY KEY (kb, id)
);
CREATE TABLE IF NOT EXISTS chunks (
    kb TEXT NOT NULL, chunk_id TEXT NOT NULL, article_id TEXT NOT NULL, ordinal INTEGER NOT NULL, text TEXT NOT NULL,
    PRIMARY KEY (kb, chunk_id)
);
CREATE INDEX IF NOT EXISTS chunks_by_article ON chunks (kb, article_id);
CREATE TABLE IF NOT EXISTS pending (
    kb TEXT NOT NULL, article_id TEXT NOT NULL, new_hash TEXT NOT NULL, new_chunk_ids TEXT NOT NULL,
    old_chunk_ids TEXT NOT NULL, PRIMARY KEY (kb, article_id)
);
CREATE TABLE IF NOT EXISTS kb_state (kb TEXT PRIMARY KEY, version INTEGER NOT NULL, last_ingest TEXT);
"""

# Schema changes since the first release, in order; PRAGMA user_version counts how many a database has.
_MIGRATIONS = (
    "ALTER TABLE articles ADD COLUMN author TEXT",
    "ALTER TABLE articles ADD COLUMN published_approximate INTEGER NOT NULL DEFAULT 0",
)

_ARTICLE_COLUMNS = "id, title, outlet, url, published, ingested_at, source, content_hash"


@dataclass(frozen=True)
class PendingChange:
    """A journalled change. `new_hash` is empty for a removal."""

    article_id: str
    new_hash: str
    new_chunk_ids: list[str]
    old_chunk_ids: list[str]


@dataclass(frozen=True)
class StagedArticle:
    article: Article
    fingerprint: str  # content hash + chunking settings: what the record manager stores as the indexed hash
    chunks: list[Chunk]
    old_chunk_ids: list[str]


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


class RecordManager:
    """SQLite-backed bookkeeping for every knowledge base under one data directory."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # One connection shared by the bot's worker threads; the lock keeps their transactions from interleaving.
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._migrate()

    def _migrate(self) -> None:
        """Create the schema, then apply the migrations this database has not had yet."""
        with self._lock:
            self._db.executescript(_SCHEMA)
            done = self._db.execute("PRAGMA user_version").fetchone()[0]
            for statement in _MIGRATIONS[done:]:
                self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version = {len(_MIGRATIONS)}")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # --- reading -------------------------------------------------------------------------------------------------

    def content_hashes(self, kb: str) -> dict[str, str]:
        return dict(self._query("SELECT id, content_hash FROM articles WHERE kb = ?", (kb,)))

    def chunk_ids(self, kb: str, article_id: str) -> list[str]:
        rows = self._query(
            "SELECT chunk_id FROM chunks WHERE kb = ? AND article_id = ? ORDER BY ordinal", (kb, article_id)
        )
        return [r[0] for r in rows]

    def articles(self, kb: str) -> list[ArticleRecord]:
        rows = self._query(
            f"SELECT {_ARTICLE_COLUMNS}, "
            "(SELECT COUNT(*) FROM chunks c WHERE c.kb = a.kb AND c.article_id = a.id), author, published_approximate "
            "FROM articles a WHERE kb = ? ORDER BY published IS NULL, published DESC, ingested_at DESC, title",
            (kb,),
        )
        return [ArticleRecord(*row[:-1], published_approximate=bool(row[-1])) for row in rows]

    def find_article(self, kb: str, id_or_prefix: str) -> ArticleRecord | None:
        """Exact id, or an unambiguous prefix of at least 6 characters (ids are long to type)."""
        articles = self.articles(kb)
        matches = [a for a in articles if a.id == id_or_prefix]
        if not matches and len(id_or_prefix) >= 6:
            matches = [a for a in articles if a.id.startswith(id_or_prefix)]
        return matches[0] if len(matches) == 1 else None

    def chunks(self, kb: str, article_id: str | None = None) -> list[Chunk]:
        query = (
            "SELECT c.chunk_id, c.article_id, c.ordinal, c.text, a.title FROM chunks c "
            "JOIN articles a ON a.kb = c.kb AND a.id = c.article_id WHERE c.kb = ?"
        )
        params: tuple[str, ...] = (kb,)
        if article_id:
            query += " AND c.article_id = ?"
            params += (article_id,)
        rows = self._query(query + " ORDER BY c.article_id, c.ordinal", params)
        return [Chunk(*row) for row in rows]

    def lead_chunks(self, kb: str) -> dict[str, Chunk]:
        """Every article's first passage, in one query (digests need one per article)."""
        rows = self._query(
            "SELECT c.chunk_id, c.article_id, c.ordinal, c.text, a.title FROM chunks c "
            "JOIN articles a ON a.kb = c.kb AND a.id = c.article_id WHERE c.kb = ? AND c.ordinal = 0",
            (kb,),
        )
        return {row[1]: Chunk(*row) for row in rows}

    def version(self, kb: str) -> int:
        rows = self._query("SELECT version FROM kb_state WHERE kb = ?", (kb,))
        return rows[0][0] if rows else 0

    def last_ingest(self, kb: str) -> str | None:
        rows = self._query("SELECT last_ingest FROM kb_state WHERE kb = ?", (kb,))
        return rows[0][0] if rows else None

    def kb_sizes(self) -> list[tuple[str, int, int]]:
        """(knowledge base, articles, passages) for every knowledge base that holds something."""
        return self._query(
            "SELECT a.kb, COUNT(DISTINCT a.id), (SELECT COUNT(*) FROM chunks c WHERE c.kb = a.kb) "
            "FROM articles a GROUP BY a.kb ORDER BY a.kb"
        )

    def knowledge_bases(self) -> list[str]:
        return [r[0] for r in self._query("SELECT DISTINCT kb FROM articles ORDER BY kb")]

    def usage(self, kb: str, article_id: str | None = None) -> tuple[int, int]:
        """(articles, UTF-8 bytes of passage text) of a knowledge base, or of one article: what quotas count."""
        article = " AND id = ?" if article_id else ""
        chunk = " AND article_id = ?" if article_id else ""
        params = (kb, article_id) if article_id else (kb,)
        count = self._query(f"SELECT COUNT(*) FROM articles WHERE kb = ?{article}", params)[0][0]
        size = self._query(f"SELECT SUM(LENGTH(CAST(text AS BLOB))) FROM chunks WHERE kb = ?{chunk}", params)[0][0]
        return count, size or 0

    def pending(self, kb: str) -> list[PendingChange]:
        rows = self._query("SELECT article_id, new_hash, new_chunk_ids, old_chunk_ids FROM pending WHERE kb = ?", (kb,))
        return [PendingChange(a, h, json.loads(n), json.loads(o)) for a, h, n, o in rows]

    # --- writing -------------------------------------------------------------------------------------------------

    def journal(self, kb: str, changes: Iterable[PendingChange]) -> None:
        with self._transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO pending VALUES (?, ?, ?, ?, ?)",
                [
                    (kb, c.article_id, c.new_hash, json.dumps(c.new_chunk_ids), json.dumps(c.old_chunk_ids))
                    for c in changes
                ],
            )

    def commit_articles(self, kb: str, staged: list[StagedArticle]) -> None:
        """Replace the records of every staged article, all or nothing."""
        stamp = now_iso()
        with self._transaction() as db:
            for item in staged:
                a = item.article
                db.execute("DELETE FROM chunks WHERE kb = ? AND article_id = ?", (kb, a.id))
                db.execute(
                    "INSERT OR REPLACE INTO articles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        kb,
                        a.id,
                        a.title,
                        a.outlet,
                        a.url,
                        a.published,
                        date_ordinal(a.published),
                        stamp,
                        a.source,
                        item.fingerprint,
                        a.author,
                        int(a.published_approximate),
                    ),
                )
                db.executemany(
                    "INSERT INTO chunks VALUES (?, ?, ?, ?, ?)",
                    [(kb, c.chunk_id, c.article_id, c.ordinal, c.text) for c in item.chunks],
                )
            self._bump(db, kb, stamp)

    def commit_removal(self, kb: str, article_ids: list[str]) -> None:
        with self._transaction() as db:
            for article_id in article_ids:
                db.execute("DELETE FROM chunks WHERE kb = ? AND article_id = ?", (kb, article_id))
                db.execute("DELETE FROM articles WHERE kb = ? AND id = ?", (kb, article_id))
            self._bump(db, kb, None)

    def clear_pending(self, kb: str, article_ids: list[str]) -> None:
        with self._transaction() as db:
            db.executemany("DELETE FROM pending WHERE kb = ? AND article_id = ?", [(kb, a) for a in article_ids])

    def drop_kb(self, kb: str) -> None:
        with self._transaction() as db:
            for table in ("chunks", "articles", "pending", "kb_state"):
                db.execute(f"DELETE FROM {table} WHERE kb = ?", (kb,))

    @staticmethod
    def _bump(db: sqlite3.Connection, kb: str, stamp: str | None) -> None:
        db.execute(
            "INSERT INTO kb_state VALUES (?, 1, ?) ON CONFLICT(kb) DO UPDATE SET version = version + 1, "
            "last_ingest = COALESCE(excluded.last_ingest, last_ingest)",
            (kb, stamp),
        )

    def close(self) -> None:
        self._db.close()
