"""Typed values that cross module boundaries: what the CLI prints and the bot renders."""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from typing import Literal

from retrieval import dates


def _normalise_key(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def stable_article_id(*, url: str | None, outlet: str | None, title: str, path: str | None = None) -> str:
    """The canonical URL when known, else the file it was read from, else outlet + title: the same story always
    gets the same id, and a file whose headline was edited stays the same article."""
    if url:
        key = url.strip()
    elif path:
        key = f"file:{path}"
    else:
        key = f"{_normalise_key(outlet or '')}|{_normalise_key(title)}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Article:
    """One news story, as loaded from a file, page, URL or feed."""

    title: str
    text: str
    outlet: str | None = None
    url: str | None = None
    published: str | None = None  # ISO 8601 date (YYYY-MM-DD) when known
    source: str = ""  # where it came from (path or URL), for error reports and `kb list`
    author: str | None = None
    path: str | None = None  # the file that holds this one story, when it came from a local file
    # "32 minutes ago" on an aggregator page: the day is counted back from when the page was read, so it may be off
    # by one; shown as "about <date>".
    published_approximate: bool = False
    # A date the source declared that could not be read; the article is indexed undated and the ingest warns.
    unread_date: str | None = None

    @property
    def id(self) -> str:
        return stable_article_id(url=self.url, outlet=self.outlet, title=self.title, path=self.path)

    @property
    def content_hash(self) -> str:
        """Changes whenever anything we index or show changes."""
        parts = (self.title, self.text, self.outlet or "", self.url or "", self.published or "", self.author or "")
        parts += ("~",) * self.published_approximate  # appended only when set: older hashes stay valid
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Chunk:
    """A passage of an article: the unit we embed, search and cite."""

    chunk_id: str
    article_id: str
    ordinal: int
    text: str  # the passage itself, shown and quoted
    title: str

    @property
    def indexed_text(self) -> str:
        """The title gives every passage its context, for the embedding and for BM25 alike."""
        return f"{self.title}\n{self.text}"


@dataclass(frozen=True)
class ArticleRecord:
    """An indexed article as the knowledge base remembers it."""

    id: str
    title: str
    outlet: str | None
    url: str | None
    published: str | None
    ingested_at: str
    source: str
    content_hash: str
    chunks: int
    author: str | None = None
    published_approximate: bool = False

    @property
    def shown_date(self) -> str | None:
        return dates.shown_date(self.published, self.published_approximate)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class SearchHit:
    rank: int
    score: float
    chunk: Chunk
    article: ArticleRecord
    similarity: float = 0.0  # cosine between question and passage, used to judge relevance
    also_in: tuple[ArticleRecord, ...] = ()  # other articles that carried this passage (syndicated copies)
    answers: float | None = None  # the reader's best "this sentence answers it" probability, when it read the passage

    def to_dict(self) -> dict[str, object]:
        return {
            "rank": self.rank,
            "score": round(self.score, 6),
            "answers": None if self.answers is None else round(self.answers, 4),
            "article_id": self.article.id,
            "title": self.article.title,
            "outlet": self.article.outlet,
            "url": self.article.url,
            "published": self.article.published,
            "published_approximate": self.article.published_approximate,
            "chunk_id": self.chunk.chunk_id,
            "text": self.chunk.text,
        }


@dataclass(frozen=True)
class IngestFailure:
    source: str
    error: str

    @property
    def reason(self) -> str:
        """The error without the source it names first: reports print "source: reason", and a 404 that said its
        address twice reads as noise."""
        if not self.source or not self.error.startswith(self.source):
            return self.error
        return self.error[len(self.source) :].lstrip(" :") or self.error


@dataclass(frozen=True)
class IngestedArticle:
    """One article an ingest looked at and what became of it, so reports can name stories rather than count them."""

    outcome: Literal["added", "updated", "unchanged"]
    article_id: str
    title: str
    url: str | None = None
    source: str = ""


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    chunks_embedded: int = 0
    failed: list[IngestFailure] = field(default_factory=list)
    skipped: int = 0  # files a folder walk passed over: hidden or not a supported type
    warnings: list[IngestFailure] = field(default_factory=list)  # ingested, but with something to check (a date)
    articles: list[IngestedArticle] = field(default_factory=list)  # each article looked at, with its outcome

    def absorb(self, other: IngestReport) -> None:
        """Add `other`'s counts and failures to this report (one report over several ingests)."""
        self.added += other.added
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.chunks_embedded += other.chunks_embedded
        self.failed += other.failed
        self.skipped += other.skipped
        self.warnings += other.warnings
        self.articles += other.articles

    def named(self, outcome: str) -> list[IngestedArticle]:
        return [a for a in self.articles if a.outcome == outcome]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Citation:
    n: int
    article_id: str
    title: str
    outlet: str | None
    url: str | None
    published: str | None
    chunk_id: str
    quote: str
    also_in: list[str] = field(default_factory=list)  # other outlets that ran the same story
    published_approximate: bool = False

    @property
    def shown_date(self) -> str | None:
        return dates.shown_date(self.published, self.published_approximate)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class Answer:
    """What `ask`, `summarize` and `digest` return; the bot renders it as an embed."""

    question: str
    answer: str
    grounded: bool
    mode: Literal["extractive", "llm"]
    citations: list[Citation] = field(default_factory=list)
    nearest: list[ArticleRecord] = field(default_factory=list)  # shown when the answer is a refusal
    timings_ms: dict[str, float] = field(default_factory=dict)
    dropped_sentences: int = 0
    total_sentences: int = 0
    # Sentences the verifier was unsure of that the LLM's citation judge kept, and those it dropped (LLM mode only).
    judge_kept: int = 0
    judge_dropped: int = 0
    notice: str | None = None  # e.g. that the LLM was down and the answer was composed offline
    answer_spans: list[str] = field(default_factory=list)  # the words that answer, marked by the reader

    @property
    def as_of(self) -> str | None:
        """The newest publication date among the cited articles: news changes, so answers say when they held."""
        return max((c.published for c in self.citations if c.published), default=None)

    def to_dict(self) -> dict[str, object]:
        return {
            "question": self.question,
            "answer": self.answer,
            "grounded": self.grounded,
            "mode": self.mode,
            "as_of": self.as_of,
            "citations": [c.to_dict() for c in self.citations],
            "nearest": [{"article_id": a.id, "title": a.title, "outlet": a.outlet, "url": a.url} for a in self.nearest],
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "notice": self.notice,
            "answer_spans": self.answer_spans,
        }
