"""A knowledge base: the one object the CLI and the bot use to ingest, search, inspect and remove articles."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from chromadb.api import ClientAPI

from retrieval.bm25_files import delete_all
from retrieval.embeddings import Embedder, get_embedder
from retrieval.ingest.chunker import index_fingerprint
from retrieval.ingest.indexer import Indexer, Progress
from retrieval.ingest.records import RecordManager
from retrieval.loaders import Loaded, load_source
from retrieval.loaders.url import SafeFetcher
from retrieval.matching import Candidate, resolve
from retrieval.quota import Quota, Usage
from retrieval.reader.model import Reader, get_reader
from retrieval.search import Filters, HybridSearcher
from retrieval.settings import Settings
from retrieval.state import RECORDS, open_database
from retrieval.store import connect, drop_collection, open_collection, store_errors, validate_kb_name
from retrieval.types import Article, ArticleRecord, Chunk, IngestReport, SearchHit


@dataclass(frozen=True)
class Stats:
    kb: str
    articles: int
    chunks: int
    outlets: dict[str, int]
    oldest: str | None
    newest: str | None
    last_ingest: str | None
    embedding_model: str

    def to_dict(self) -> dict[str, object]:
        return self.__dict__.copy()


class Services:
    """The long-lived parts shared by every knowledge base of a process: store client, records, model, fetcher."""

    def __init__(self, settings: Settings, *, fetcher: SafeFetcher | None = None) -> None:
        self.settings = settings
        self.client: ClientAPI = connect(settings)
        self.records = RecordManager(open_database(settings, RECORDS))
        self.embedder: Embedder = get_embedder(settings.model_cache_dir)
        self.fetcher = fetcher or SafeFetcher(settings)
        self._open: dict[str, KnowledgeBase] = {}
        self._lock = threading.Lock()

    @cached_property
    def reader(self) -> Reader:
        """Loaded on first use: listing or ingesting never reads with it, so those commands skip its start-up."""
        return get_reader(self.settings.model_cache_dir)

    def kb(self, name: str) -> KnowledgeBase:
        """The knowledge base called `name`, kept open so its BM25 index is built once per change."""
        with self._lock:
            if name not in self._open:
                self._open[name] = KnowledgeBase(self, validate_kb_name(name))
            return self._open[name]

    def drop_kb(self, name: str) -> None:
        """Delete the knowledge base called `name` everywhere it is kept: its vectors, its saved BM25 indexes and,
        last, its records. The records are what lists a knowledge base, so a drop cut short stays listed and running
        it again finishes it. The collection is never opened, so a knowledge base built with another embedding
        model (which `kb` refuses to open) can be dropped too."""
        name = validate_kb_name(name)
        with self._lock:
            self._open.pop(name, None)
            drop_collection(self.client, name)
            delete_all(self.settings.bm25_dir / name)
            self.records.drop_kb(name)

    def close(self) -> None:
        self.records.close()


class KnowledgeBase:
    def __init__(self, services: Services, name: str) -> None:
        self.name = name
        self._services = services
        self._records = services.records
        collection = open_collection(services.client, name, services.embedder.name, create=True)
        self._indexer = Indexer(name, services.records, collection, services.embedder, services.settings.chunk_tokens)
        self._indexer.recover()
        self._searcher = HybridSearcher(
            name,
            services.records,
            collection,
            services.embedder,
            lambda: services.reader,
            index_dir=services.settings.bm25_dir / name,
        )
        self._write_lock = threading.Lock()  # one writer per knowledge base; searches never wait for it

    @property
    def settings(self) -> Settings:
        return self._services.settings

    @property
    def embedder(self) -> Embedder:
        return self._services.embedder

    @property
    def reader(self) -> Reader:
        return self._services.reader

    @property
    def fetcher(self) -> SafeFetcher:
        return self._services.fetcher

    def load(self, sources: Iterable[str], *, allow_secrets: bool = False) -> Loaded:
        """Paths, folders and URLs given by the host operator (the CLI). The bot uses `load_url` / `load_upload`."""
        loaded = Loaded()
        for source in sources:
            loaded.add(
                load_source(source, self._services.settings, self._services.fetcher, allow_secrets=allow_secrets)
            )
        return loaded

    def ingest(
        self, sources: Iterable[str], progress: Progress | None = None, *, allow_secrets: bool = False
    ) -> IngestReport:
        return self.ingest_loaded(self.load(sources, allow_secrets=allow_secrets), progress)

    def ingest_loaded(
        self, loaded: Loaded, progress: Progress | None = None, *, quota: Quota | None = None
    ) -> IngestReport:
        report = self.ingest_articles(loaded.articles, progress, quota=quota)
        report.failed += loaded.failures
        report.skipped += loaded.skipped
        return report

    def ingest_articles(
        self, articles: Iterable[Article], progress: Progress | None = None, *, quota: Quota | None = None
    ) -> IngestReport:
        """Index `articles`; with a `quota`, those that would pass it are failures instead (checked under the write
        lock, so two jobs cannot both take the last room)."""
        with self._write_lock, store_errors():
            refused = []
            if quota is not None:
                known = self._records.content_hashes(self.name)
                chunk_tokens = self.settings.chunk_tokens
                articles, refused = quota.admit(
                    articles,
                    self.usage(),
                    lambda a: known.get(a.id) == index_fingerprint(a, chunk_tokens),
                    lambda article_id: self._records.usage(self.name, article_id)[1] if article_id in known else 0,
                )
            report = self._indexer.index(articles, progress)
            report.failed += refused
            return report

    def usage(self) -> Usage:
        return Usage(*self._records.usage(self.name))

    def search(
        self, query: str, k: int = 6, filters: Filters | None = None, *, rerank: bool = False
    ) -> list[SearchHit]:
        with store_errors():
            return self._searcher.search(query, k, filters, rerank=rerank)

    def articles(self) -> list[ArticleRecord]:
        return self._records.articles(self.name)

    def lead_passages(self) -> dict[str, Chunk]:
        """Article id -> its first passage."""
        return self._records.lead_chunks(self.name)

    def article(self, typed: str) -> tuple[ArticleRecord, list[Chunk]]:
        """The article `typed` names: its id or a unique id prefix, else its title as people type it (exact, or
        close; see `retrieval.matching`); NotFoundError naming the closest titles otherwise."""
        record = self._records.find_article(self.name, typed.strip())
        if record is None:
            articles = {a.id: a for a in self.articles()}
            chosen = resolve(typed, [Candidate(a.id, a.title) for a in articles.values()])
            record = articles[chosen.key]
        return record, self._records.chunks(self.name, record.id)

    def remove(self, typed: str) -> tuple[ArticleRecord, int]:
        record, _ = self.article(typed)
        with self._write_lock, store_errors():
            return record, self._indexer.remove([record.id])

    def stats(self) -> Stats:
        articles = self.articles()
        outlets: dict[str, int] = {}
        for a in articles:
            outlets[a.outlet or "unknown"] = outlets.get(a.outlet or "unknown", 0) + 1
        dates = sorted(a.published for a in articles if a.published)
        return Stats(
            kb=self.name,
            articles=len(articles),
            chunks=sum(a.chunks for a in articles),
            outlets=dict(sorted(outlets.items(), key=lambda kv: -kv[1])),
            oldest=dates[0] if dates else None,
            newest=dates[-1] if dates else None,
            last_ingest=self._records.last_ingest(self.name),
            embedding_model=self._services.embedder.name,
        )
