"""Incremental, crash-safe indexing: unchanged articles cost nothing, changed ones are swapped atomically.

See `retrieval/ingest/records.py` for the journal that makes a killed ingest recoverable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import numpy as np
from chromadb.api.models.Collection import Collection

from retrieval.dates import date_ordinal
from retrieval.embeddings import Embedder
from retrieval.ingest.chunker import chunk_article, index_fingerprint
from retrieval.ingest.records import PendingChange, RecordManager, StagedArticle
from retrieval.types import Article, Chunk, IngestedArticle, IngestFailure, IngestReport, stable_article_id

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (passages embedded, passages to embed)
# A group's passages go to the embedder together, so they are sorted and padded together (slices of 512 sorted apart
# padded 1.4% more tokens on SQuAD dev's 2,236 passages). At most this many per call, which bounds the tokenizer's
# memory (~40 KB a passage) and how long a question waits on the embedder's lock while they are tokenised (~0.4 s).
EMBED_CALL = 4096
_CHROMA_BATCH = 1000


def _filter_fields(article: Article) -> dict[str, str | int]:
    """What searches filter on inside Chroma (`Filters.chroma_where`). Chroma holds nothing else (since 2026-12-06;
    older passages keep what they were written with until their article changes): a passage's text, title and links
    are read from the records, and writing them here too was ~4/5 of Chroma's write time at ingest (2.0 s against
    0.35 s on SQuAD dev) for data no search read."""
    fields: dict[str, str | int | None] = {
        "article_id": article.id,
        "outlet": article.outlet,
        "published_day": date_ordinal(article.published),
    }
    return {k: v for k, v in fields.items() if v is not None}  # Chroma metadata cannot hold None


class Indexer:
    """Writes articles of one knowledge base into its collection and the record manager, in that order."""

    def __init__(
        self,
        kb: str,
        records: RecordManager,
        collection: Collection,
        embedder: Embedder,
        chunk_tokens: int,
        group_size: int = 64,
    ) -> None:
        self._kb = kb
        self._records = records
        self._collection = collection
        self._embedder = embedder
        self._chunk_tokens = chunk_tokens
        self._group_size = group_size

    def recover(self) -> int:
        """Finish or undo the changes a killed process left in the journal; returns how many were replayed."""
        pending = self._records.pending(self._kb)
        if not pending:
            return 0
        hashes = self._records.content_hashes(self._kb)
        stale: list[str] = []
        for change in pending:
            committed = hashes.get(change.article_id, "") == change.new_hash
            stale += change.old_chunk_ids if committed else change.new_chunk_ids
        current = {c for change in pending for c in self._records.chunk_ids(self._kb, change.article_id)}
        self._delete([c for c in stale if c not in current])
        self._records.clear_pending(self._kb, [c.article_id for c in pending])
        log.warning("recovered %d interrupted article changes in knowledge base %s", len(pending), self._kb)
        return len(pending)

    def index(self, articles: Iterable[Article], progress: Progress | None = None) -> IngestReport:
        unique = {a.id: a for a in articles}  # the last copy of a story in one run wins
        known = self._records.content_hashes(self._kb)
        legacy = self._legacy_file_ids(unique, known)
        report = IngestReport()
        changed: list[tuple[Article, str]] = []
        for article in unique.values():
            if article.unread_date:
                reason = f"its date {article.unread_date[:60]!r} could not be read, so it is undated"
                report.warnings.append(IngestFailure(article.source, f"“{article.title[:80]}”: {reason}."))
            fingerprint = index_fingerprint(article, self._chunk_tokens)
            if known.get(article.id) == fingerprint:
                outcome = "unchanged"
            else:
                changed.append((article, fingerprint))
                outcome = "updated" if article.id in known or article.id in legacy.values() else "added"
            setattr(report, outcome, getattr(report, outcome) + 1)
            report.articles.append(IngestedArticle(outcome, article.id, article.title, article.url, article.source))
        # Chunking is cheap next to embedding: chunk everything first, so progress can count passages.
        staged = [
            StagedArticle(
                a,
                fingerprint,
                chunk_article(a, self._embedder.count_tokens, self._chunk_tokens),
                self._records.chunk_ids(self._kb, a.id),
            )
            for a, fingerprint in changed
        ]
        total = sum(len(s.chunks) for s in staged)
        done = 0

        def embedded(count: int) -> None:
            nonlocal done
            done += count
            if progress:
                progress(done, total)

        embedded(0)
        for start in range(0, len(staged), self._group_size):
            report.chunks_embedded += self._swap(staged[start : start + self._group_size], embedded)
        if legacy:
            self.remove(list(legacy))
        return report

    def _legacy_file_ids(self, unique: dict[str, Article], known: dict[str, str]) -> dict[str, str]:
        """Old id -> new id for files indexed before a file's path became its identity (it was outlet + title).

        Their first ingest since then replaces the old record instead of adding a duplicate beside it. Only a record
        read from the same source counts, so a same-titled story from elsewhere is left alone.
        """
        candidates = {
            stable_article_id(url=None, outlet=a.outlet, title=a.title): a
            for a in unique.values()
            if a.path and a.id not in known
        }
        candidates = {old: a for old, a in candidates.items() if old in known and old not in unique}
        if not candidates:
            return {}
        sources = {r.id: r.source for r in self._records.articles(self._kb) if r.id in candidates}
        return {old: a.id for old, a in candidates.items() if sources.get(old) == a.source}

    def _swap(self, staged: list[StagedArticle], embedded: Callable[[int], None]) -> int:
        chunks = [(s.article, c) for s in staged for c in s.chunks]
        texts = [c.indexed_text for _, c in chunks]
        vectors = np.zeros((len(texts), self._embedder.dim), dtype=np.float32)
        for start in range(0, len(texts), EMBED_CALL):
            vectors[start : start + EMBED_CALL] = self._embedder.embed_bulk(texts[start : start + EMBED_CALL], embedded)
        self._records.journal(
            self._kb,
            [
                PendingChange(s.article.id, s.fingerprint, [c.chunk_id for c in s.chunks], s.old_chunk_ids)
                for s in staged
            ],
        )
        self._upsert(chunks, vectors)
        self._records.commit_articles(self._kb, staged)
        new_ids = {c.chunk_id for _, c in chunks}
        self._delete([cid for s in staged for cid in s.old_chunk_ids if cid not in new_ids])
        self._records.clear_pending(self._kb, [s.article.id for s in staged])
        return len(chunks)

    def remove(self, article_ids: list[str]) -> int:
        """Delete articles and all their chunks; returns the number of chunks removed."""
        changes = [PendingChange(a, "", [], self._records.chunk_ids(self._kb, a)) for a in article_ids]
        self._records.journal(self._kb, changes)
        self._records.commit_removal(self._kb, article_ids)
        old = [cid for c in changes for cid in c.old_chunk_ids]
        self._delete(old)
        self._records.clear_pending(self._kb, article_ids)
        return len(old)

    def _upsert(self, chunks: list[tuple[Article, Chunk]], vectors: np.ndarray) -> None:
        for start in range(0, len(chunks), _CHROMA_BATCH):
            part = chunks[start : start + _CHROMA_BATCH]
            self._collection.upsert(
                ids=[c.chunk_id for _, c in part],
                embeddings=vectors[start : start + _CHROMA_BATCH],
                metadatas=[_filter_fields(a) for a, _ in part],
            )

    def _delete(self, chunk_ids: list[str]) -> None:
        for start in range(0, len(chunk_ids), _CHROMA_BATCH):
            self._collection.delete(ids=chunk_ids[start : start + _CHROMA_BATCH])
