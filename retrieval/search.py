"""Hybrid search: dense (Chroma) and lexical (BM25) rankings fused, then diversified across articles.

Dense retrieval finds paraphrases; BM25 finds names, numbers and rare words that MiniLM blurs. Reciprocal rank
fusion needs no score calibration between the two. Results are then spread across articles so that one long story
cannot fill every slot of a small context budget.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import bm25s
import numpy as np
from chromadb.api.models.Collection import Collection

from retrieval.dates import date_ordinal
from retrieval.embeddings import Embedder
from retrieval.records import RecordManager
from retrieval.types import ArticleRecord, Chunk, SearchHit

log = logging.getLogger(__name__)

RRF_K = 60  # the constant from Cormack et al. (2009); rankings beyond ~50 contribute little
MAX_PER_ARTICLE = 2


@dataclass(frozen=True)
class Filters:
    outlet: str | None = None
    since: str | None = None  # ISO date, inclusive
    until: str | None = None  # ISO date, inclusive

    def chroma_where(self) -> dict | None:
        clauses: list[dict] = []
        if self.outlet:
            clauses.append({"outlet": self.outlet})
        if self.since:
            clauses.append({"published_day": {"$gte": date_ordinal(self.since)}})
        if self.until:
            clauses.append({"published_day": {"$lte": date_ordinal(self.until)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def admits(self, article: ArticleRecord) -> bool:
        if self.outlet and article.outlet != self.outlet:
            return False
        if (self.since or self.until) and not article.published:
            return False
        if self.since and article.published < self.since:
            return False
        return not (self.until and article.published > self.until)


class _LexicalIndex:
    """BM25 over every chunk of a knowledge base, rebuilt when the knowledge base's version changes."""

    def __init__(self, chunks: list[Chunk], articles: dict[str, ArticleRecord]) -> None:
        self.chunks = chunks
        self.articles = articles
        self.position = {c.chunk_id: i for i, c in enumerate(chunks)}
        self.bm25: bm25s.BM25 | None = None
        if chunks:
            tokens = bm25s.tokenize([c.indexed_text for c in chunks], stopwords="en", show_progress=False)
            self.bm25 = bm25s.BM25()
            self.bm25.index(tokens, show_progress=False)

    def rank(self, query: str, n: int, filters: Filters) -> list[int]:
        if self.bm25 is None:
            return []
        mask = None
        if filters != Filters():
            mask = np.array([filters.admits(self.articles[c.article_id]) for c in self.chunks], dtype=np.float32)
        tokens = bm25s.tokenize([query], stopwords="en", show_progress=False)
        if not tokens.vocab:
            return []
        n = min(n, len(self.chunks))
        docs, scores = self.bm25.retrieve(tokens, k=n, show_progress=False, weight_mask=mask, n_threads=0)
        return [int(d) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]


class HybridSearcher:
    def __init__(self, kb: str, records: RecordManager, collection: Collection | None, embedder: Embedder) -> None:
        self._kb = kb
        self._records = records
        self._collection = collection
        self._embedder = embedder
        self._lexical: _LexicalIndex | None = None
        self._version = -1

    def _index(self) -> _LexicalIndex:
        version = self._records.version(self._kb)
        if self._lexical is None or version != self._version:
            articles = {a.id: a for a in self._records.articles(self._kb)}
            self._lexical = _LexicalIndex(self._records.chunks(self._kb), articles)
            self._version = version
        return self._lexical

    def search(self, query: str, k: int = 6, filters: Filters | None = None, depth: int = 50) -> list[SearchHit]:
        filters = filters or Filters()
        index = self._index()
        if not index.chunks or self._collection is None:
            return []
        vector = self._embedder.embed_query(query)
        dense = self._collection.query(
            query_embeddings=[vector],
            n_results=min(depth, len(index.chunks)),
            where=filters.chroma_where(),
            include=["distances"],
        )
        dense_ids = [cid for cid in dense["ids"][0] if cid in index.position]
        similarity = {cid: 1.0 - d for cid, d in zip(dense["ids"][0], dense["distances"][0], strict=True)}
        lexical_ids = [index.chunks[i].chunk_id for i in index.rank(query, depth, filters)]

        fused: dict[str, float] = {}
        for ranking in (dense_ids, lexical_ids):
            for rank, cid in enumerate(ranking):
                fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)
        ordered = sorted(fused, key=fused.__getitem__, reverse=True)
        chosen = _diversify(ordered, index, k)
        self._fill_similarity(chosen, similarity, vector)
        return [
            SearchHit(
                rank=r + 1,
                score=fused[cid],
                chunk=index.chunks[index.position[cid]],
                article=index.articles[index.chunks[index.position[cid]].article_id],
                similarity=similarity[cid],
            )
            for r, cid in enumerate(chosen)
        ]

    def _fill_similarity(self, chosen: list[str], similarity: dict[str, float], vector: np.ndarray) -> None:
        """Lexical-only hits get their cosine too, so relevance can be judged on one scale."""
        missing = [cid for cid in chosen if cid not in similarity]
        if missing and self._collection is not None:
            got = self._collection.get(ids=missing, include=["embeddings"])
            for cid, emb in zip(got["ids"], got["embeddings"], strict=True):
                similarity[cid] = float(np.dot(np.asarray(emb, dtype=np.float32), vector))
        for cid in chosen:
            similarity.setdefault(cid, 0.0)


def _diversify(ordered: list[str], index: _LexicalIndex, k: int) -> list[str]:
    """Top-k by fused score with at most MAX_PER_ARTICLE chunks per article, topped up if too few articles match."""
    chosen: list[str] = []
    per_article: dict[str, int] = {}
    for cid in ordered:
        article_id = index.chunks[index.position[cid]].article_id
        if per_article.get(article_id, 0) < MAX_PER_ARTICLE:
            chosen.append(cid)
            per_article[article_id] = per_article.get(article_id, 0) + 1
        if len(chosen) == k:
            return chosen
    taken = set(chosen)
    chosen += [cid for cid in ordered if cid not in taken][: k - len(chosen)]
    return chosen
