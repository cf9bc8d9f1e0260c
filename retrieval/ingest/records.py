"""The record manager: what each knowledge base holds, in the state store beside the vector store.

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
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, and_, delete, desc, func, select

from retrieval.dates import date_ordinal
from retrieval.state import Database
from retrieval.state.tables import articles as A
from retrieval.state.tables import chunks as C
from retrieval.state.tables import kb_state as S
from retrieval.state.tables import pending as P
from retrieval.types import Article, ArticleRecord, Chunk

_ARTICLE_COLUMNS = (
    A.c.id,
    A.c.title,
    A.c.outlet,
    A.c.url,
    A.c.published,
    A.c.ingested_at,
    A.c.source,
    A.c.content_hash,
)
_CHUNK_COLUMNS = (C.c.chunk_id, C.c.article_id, C.c.ordinal, C.c.text, A.c.title)
_CHUNKS_WITH_TITLES = C.join(A, and_(A.c.kb == C.c.kb, A.c.id == C.c.article_id))


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
    """Bookkeeping for every knowledge base, in the state store (records.sqlite3, or DATABASE_URL's database).

    Each write is one transaction, so the journal → vectors → commit protocol holds across processes on PostgreSQL
    as it does on one SQLite file.
    """

    def __init__(self, database: Database) -> None:
        self._db = database

    # --- reading -------------------------------------------------------------------------------------------------

    def content_hashes(self, kb: str) -> dict[str, str]:
        return dict(self._db.rows(select(A.c.id, A.c.content_hash).where(A.c.kb == kb)))

    def chunk_ids(self, kb: str, article_id: str) -> list[str]:
        query = select(C.c.chunk_id).where(C.c.kb == kb, C.c.article_id == article_id).order_by(C.c.ordinal)
        return [r[0] for r in self._db.rows(query)]

    def articles(self, kb: str) -> list[ArticleRecord]:
        passages = select(func.count()).where(C.c.kb == A.c.kb, C.c.article_id == A.c.id).correlate(A).scalar_subquery()
        query = (
            select(*_ARTICLE_COLUMNS, passages, A.c.author, A.c.published_approximate)
            .where(A.c.kb == kb)
            .order_by(A.c.published.is_(None), desc(A.c.published), desc(A.c.ingested_at), A.c.title)
        )
        return [ArticleRecord(*row[:-1], published_approximate=bool(row[-1])) for row in self._db.rows(query)]

    def find_article(self, kb: str, id_or_prefix: str) -> ArticleRecord | None:
        """Exact id, or an unambiguous prefix of at least 6 characters (ids are long to type)."""
        articles = self.articles(kb)
        matches = [a for a in articles if a.id == id_or_prefix]
        if not matches and len(id_or_prefix) >= 6:
            matches = [a for a in articles if a.id.startswith(id_or_prefix)]
        return matches[0] if len(matches) == 1 else None

    def chunks(self, kb: str, article_id: str | None = None) -> list[Chunk]:
        query = select(*_CHUNK_COLUMNS).select_from(_CHUNKS_WITH_TITLES).where(C.c.kb == kb)
        if article_id:
            query = query.where(C.c.article_id == article_id)
        return [Chunk(*row) for row in self._db.rows(query.order_by(C.c.article_id, C.c.ordinal))]

    def lead_chunks(self, kb: str) -> dict[str, Chunk]:
        """Every article's first passage, in one query (digests need one per article)."""
        query = select(*_CHUNK_COLUMNS).select_from(_CHUNKS_WITH_TITLES).where(C.c.kb == kb, C.c.ordinal == 0)
        return {row[1]: Chunk(*row) for row in self._db.rows(query)}

    def version(self, kb: str) -> int:
        rows = self._db.rows(select(S.c.version).where(S.c.kb == kb))
        return rows[0][0] if rows else 0

    def last_ingest(self, kb: str) -> str | None:
        rows = self._db.rows(select(S.c.last_ingest).where(S.c.kb == kb))
        return rows[0][0] if rows else None

    def kb_sizes(self) -> list[tuple[str, int, int]]:
        """(knowledge base, articles, passages) for every knowledge base that holds something."""
        passages = select(func.count()).where(C.c.kb == A.c.kb).correlate(A).scalar_subquery()
        query = select(A.c.kb, func.count(A.c.id.distinct()), passages).group_by(A.c.kb).order_by(A.c.kb)
        return self._db.rows(query)

    def knowledge_bases(self) -> list[str]:
        return [r[0] for r in self._db.rows(select(A.c.kb).distinct().order_by(A.c.kb))]

    def usage(self, kb: str, article_id: str | None = None) -> tuple[int, int]:
        """(articles, UTF-8 bytes of passage text) of a knowledge base, or of one article: what quotas count."""
        count_query = select(func.count()).select_from(A).where(A.c.kb == kb)
        size_query = select(func.sum(self._db.text_bytes(C.c.text))).where(C.c.kb == kb)
        if article_id:
            count_query = count_query.where(A.c.id == article_id)
            size_query = size_query.where(C.c.article_id == article_id)
        count, size = self._db.rows(count_query)[0][0], self._db.rows(size_query)[0][0]
        return count, size or 0

    def pending(self, kb: str) -> list[PendingChange]:
        query = select(P.c.article_id, P.c.new_hash, P.c.new_chunk_ids, P.c.old_chunk_ids).where(P.c.kb == kb)
        return [PendingChange(a, h, json.loads(n), json.loads(o)) for a, h, n, o in self._db.rows(query)]

    # --- writing -------------------------------------------------------------------------------------------------

    def journal(self, kb: str, changes: Iterable[PendingChange]) -> None:
        rows = [
            {
                "kb": kb,
                "article_id": c.article_id,
                "new_hash": c.new_hash,
                "new_chunk_ids": json.dumps(c.new_chunk_ids),
                "old_chunk_ids": json.dumps(c.old_chunk_ids),
            }
            for c in changes
        ]
        if not rows:
            return
        insert = self._db.insert(P)
        upsert = insert.on_conflict_do_update(
            index_elements=[P.c.kb, P.c.article_id],
            set_={k: insert.excluded[k] for k in ("new_hash", "new_chunk_ids", "old_chunk_ids")},
        )
        with self._db.write() as conn:
            conn.execute(upsert, rows)

    def commit_articles(self, kb: str, staged: list[StagedArticle]) -> None:
        """Replace the records of every staged article, all or nothing."""
        stamp = now_iso()
        with self._db.write() as conn:
            for item in staged:
                a = item.article
                self._delete_article(conn, kb, a.id)
                conn.execute(
                    A.insert().values(
                        kb=kb,
                        id=a.id,
                        title=a.title,
                        outlet=a.outlet,
                        url=a.url,
                        published=a.published,
                        published_day=date_ordinal(a.published),
                        ingested_at=stamp,
                        source=a.source,
                        content_hash=item.fingerprint,
                        author=a.author,
                        published_approximate=int(a.published_approximate),
                    )
                )
                if item.chunks:
                    conn.execute(
                        C.insert(),
                        [
                            {
                                "kb": kb,
                                "chunk_id": c.chunk_id,
                                "article_id": c.article_id,
                                "ordinal": c.ordinal,
                                "text": c.text,
                            }
                            for c in item.chunks
                        ],
                    )
            self._bump(conn, kb, stamp)

    def commit_removal(self, kb: str, article_ids: list[str]) -> None:
        with self._db.write() as conn:
            for article_id in article_ids:
                self._delete_article(conn, kb, article_id)
            self._bump(conn, kb, None)

    def clear_pending(self, kb: str, article_ids: list[str]) -> None:
        if not article_ids:
            return
        with self._db.write() as conn:
            conn.execute(delete(P).where(P.c.kb == kb, P.c.article_id.in_(article_ids)))

    def drop_kb(self, kb: str) -> None:
        with self._db.write() as conn:
            for table in (C, A, P, S):
                conn.execute(delete(table).where(table.c.kb == kb))

    @staticmethod
    def _delete_article(conn: Connection, kb: str, article_id: str) -> None:
        conn.execute(delete(C).where(C.c.kb == kb, C.c.article_id == article_id))
        conn.execute(delete(A).where(A.c.kb == kb, A.c.id == article_id))

    def _bump(self, conn: Connection, kb: str, stamp: str | None) -> None:
        """One more version of `kb` (searchers rebuild their word index when it moves)."""
        insert = self._db.insert(S).values(kb=kb, version=1, last_ingest=stamp)
        conn.execute(
            insert.on_conflict_do_update(
                index_elements=[S.c.kb],
                set_={
                    "version": S.c.version + 1,
                    "last_ingest": func.coalesce(insert.excluded.last_ingest, S.c.last_ingest),
                },
            )
        )

    def close(self) -> None:
        self._db.close()
