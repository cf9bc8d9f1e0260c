"""Hybrid search: dense (Chroma) and lexical (BM25) rankings fused, then diversified across articles.

Dense retrieval finds paraphrases; BM25 finds names, numbers and rare words that MiniLM blurs. Candidates from
both are scored by a weighted sum of cosine, max-normalised BM25 and the question's word and word-pair overlap,
rather than by reciprocal rank, because absolute scores keep irrelevant passages low where rank fusion would lift
whatever happens to rank next. Results are then spread across
articles so that one long story cannot fill every slot of a small context budget.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
from chromadb.api.models.Collection import Collection

from retrieval.bm25_files import index_name, load_or_build
from retrieval.dates import date_ordinal
from retrieval.embeddings import Embedder
from retrieval.ingest.chunker import split_sentences
from retrieval.ingest.records import RecordManager
from retrieval.reader.calibration import CALIBRATION
from retrieval.reader.model import Reader, log_odds
from retrieval.text import TextFeatures, text_features
from retrieval.types import ArticleRecord, Chunk, SearchHit

log = logging.getLogger(__name__)

# Fusion weights, tuned on a SQuAD dev sample disjoint from the benchmark's (docs/BENCHMARKS.md): cosine, BM25 scaled
# to the query's best, and the shares of the question's word pairs and content words found in the passage. The two
# overlap terms reward passages that state the question's own phrasing, which BM25's bag of words cannot see.
W_DENSE, W_BM25, W_BIGRAM, W_WORDS = 0.7, 0.2, 0.2, 0.2
RERANK_DEPTH = 25  # candidates that get the overlap terms; the answer-bearing passage is almost always among them
# The reader (a cross-encoder, retrieval/reader) reads the leading candidates sentence by sentence with the question.
# How many leading candidates it reads: each costs ~6 pairs, nearly all of a search's time. The smallest pool that
# answers as well as a larger one, measured on held-out questions (scripts/calibrate.py).
READER_POOL = int(CALIBRATION.reader_pool)
# Added to the fused score: READER_WEIGHT times the reader's best sentence in log-odds, floored at -READER_FLOOR and
# counted from there (so a passage the reader read never scores below one it did not). Log-odds rather than the
# probability, because the probability squeezes "sure" (0.99) and "very sure" (0.9999) together, and it is exactly
# there that the answering paragraph and its look-alike neighbour differ. A nudge, not a verdict, since the reader
# reads single sentences while the fused score sees the whole passage; calibrated with the reader
# (retrieval/reader/calibration.py).
READER_WEIGHT = CALIBRATION.reader_weight
READER_FLOOR = 6.0
SAME_ARTICLE_DECAY = 0.9  # applies from an article's third passage on


@dataclass(frozen=True)
class Filters:
    outlet: str | None = None
    since: str | None = None  # ISO date, inclusive
    until: str | None = None  # ISO date, inclusive
    exclude: frozenset[str] = frozenset()  # article ids left out (evaluation: "as if this article were not there")

    def chroma_where(self) -> dict | None:
        clauses: list[dict] = []
        if self.exclude:
            clauses.append({"article_id": {"$nin": sorted(self.exclude)}})
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
        if article.id in self.exclude:
            return False
        if self.outlet and article.outlet != self.outlet:
            return False
        if (self.since or self.until) and not article.published:
            return False
        if self.since and article.published < self.since:
            return False
        return not (self.until and article.published > self.until)


def _stem(words: list[str]) -> list[str]:
    """English Snowball stems for BM25 ("banned" matches "ban"): +2.7 points of recall@1 on SQuAD.

    A new stemmer per call, because PyStemmer objects keep a cache that is not safe to share between threads.
    """
    return Stemmer.Stemmer("english").stemWords(words)


# How passages are tokenised for BM25; part of a saved index's name, so changing it here retires old indexes.
TOKENISING = "stopwords=en stemmer=snowball-english"


def _build_bm25(chunks: list[Chunk]) -> bm25s.BM25:
    tokens = bm25s.tokenize([c.indexed_text for c in chunks], stopwords="en", show_progress=False, stemmer=_stem)
    index = bm25s.BM25()
    index.index(tokens, show_progress=False)
    return index


class _LexicalIndex:
    """BM25 over every chunk of a knowledge base, made again when the knowledge base's version changes: loaded
    from `store_dir` where a process already built it for these very passages (bm25_files.py)."""

    def __init__(self, chunks: list[Chunk], articles: dict[str, ArticleRecord], store_dir: Path | None) -> None:
        self.chunks = chunks
        self.articles = articles
        self.position = {c.chunk_id: i for i, c in enumerate(chunks)}
        # Each chunk's article as a row of `articles`, so a filter is decided once per article, not per chunk.
        row = {article_id: i for i, article_id in enumerate(articles)}
        self._article_row = np.array([row[c.article_id] for c in chunks], dtype=np.int64)
        self._features: OrderedDict[str, TextFeatures] = OrderedDict()
        self._features_lock = threading.Lock()
        self.bm25: bm25s.BM25 | None = None
        if chunks:
            name = index_name([c.indexed_text for c in chunks], TOKENISING)
            self.bm25 = load_or_build(store_dir, name, lambda: _build_bm25(chunks))

    def features(self, chunk_id: str) -> TextFeatures:
        """A passage's word sets, kept for the FEATURE_CACHE most recently used passages (popular ones repeat)."""
        with self._features_lock:
            if chunk_id in self._features:
                self._features.move_to_end(chunk_id)
                return self._features[chunk_id]
        chunk = self.chunks[self.position[chunk_id]]
        found = text_features(chunk.title, chunk.text)
        with self._features_lock:
            self._features[chunk_id] = found
            if len(self._features) > FEATURE_CACHE:
                self._features.popitem(last=False)
        return found

    def rank(self, query: str, n: int, filters: Filters) -> list[tuple[int, float]]:
        if self.bm25 is None:
            return []
        mask = None
        if filters != Filters():
            admitted = np.array([filters.admits(a) for a in self.articles.values()], dtype=np.float32)
            mask = admitted[self._article_row]
        words = bm25s.tokenize([query], stopwords="en", show_progress=False, stemmer=_stem, return_ids=False)[0]
        if not words:
            return []
        scores = self.bm25.get_scores(words, weight_mask=mask)
        return [(int(d), float(scores[d])) for d in _best_positive(scores, n)]


def _best_positive(scores: np.ndarray, n: int) -> np.ndarray:
    """Positions of the `n` highest positive scores, best first; equal scores in position order.

    Chosen among the passages that matched at all instead of with bm25s's top-k (`np.argpartition` over every
    passage): most scores are zero, and selecting over so many ties took ~14 ms at 100k passages against ~0.5 ms
    here. Same scores; ties, which bm25s broke arbitrarily, now go to the earlier passage.
    """
    matched = np.flatnonzero(scores > 0)
    if len(matched) > n:
        cut = len(matched) - n
        matched = matched[scores[matched] >= np.partition(scores[matched], cut)[cut]]
    return matched[np.lexsort((matched, -scores[matched]))[:n]]


class HybridSearcher:
    def __init__(
        self,
        kb: str,
        records: RecordManager,
        collection: Collection | None,
        embedder: Embedder,
        reader: Callable[[], Reader] | None = None,
        index_dir: Path | None = None,
    ) -> None:
        """`index_dir`: where this knowledge base's BM25 index is kept between processes (None: nowhere)."""
        self._kb = kb
        self._index_dir = index_dir
        self._records = records
        self._collection = collection
        self._embedder = embedder
        self._reader = reader
        self._lexical: _LexicalIndex | None = None
        self._version = -1

    def _index(self) -> _LexicalIndex:
        version = self._records.version(self._kb)
        if self._lexical is None or version != self._version:
            articles = {a.id: a for a in self._records.articles(self._kb)}
            self._lexical = _LexicalIndex(self._records.chunks(self._kb), articles, self._index_dir)
            self._version = version
        return self._lexical

    def search(
        self, query: str, k: int = 6, filters: Filters | None = None, depth: int = 50, *, rerank: bool = False
    ) -> list[SearchHit]:
        """The top `k` passages; with `rerank`, the reader reads the leading candidates and reorders them."""
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
        similarity = {
            cid: 1.0 - d for cid, d in zip(dense["ids"][0], dense["distances"][0], strict=True) if cid in index.position
        }
        lexical = {index.chunks[i].chunk_id: score for i, score in index.rank(query, depth, filters)}
        fused = _fuse(query, index, similarity, lexical)
        if asks_for_recent(query):
            _favour_recent(fused, index)
        answers = _read_with_question(query, fused, index, self._reader()) if rerank and self._reader else {}
        copies = _collapse_copies(fused, index, k)
        chosen = _diversify(fused, index, k)
        self._fill_similarity([cid for cid, _ in chosen], similarity, vector)
        return [
            SearchHit(
                rank=r + 1,
                score=score,
                chunk=index.chunks[index.position[cid]],
                article=index.articles[index.chunks[index.position[cid]].article_id],
                similarity=similarity[cid],
                also_in=tuple(copies.get(cid, ())),
                answers=answers.get(cid),
            )
            for r, (cid, score) in enumerate(chosen)
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


_RECENT = re.compile(
    r"\b(latest|recent(ly)?|newest|today|tonight|yesterday|this (week|month|morning)|now|currently|current|"
    r"so far|still|update[sd]?|breaking)\b",
    re.IGNORECASE,
)
# Syndicated copies: an agency story reprinted with small edits keeps >= 0.30 of its word 3-grams (10% of words
# changed and a sentence dropped), while different passages, even on the same topic, share <= 0.18 (docs/CITATIONS.md).
DUPLICATE_JACCARD = 0.25
FEATURE_CACHE = 2048  # passages whose word sets stay in memory (~30 kB each)
COPY_SCAN_FACTOR = 3  # candidates checked for copies: k times this
COPY_SCORE_GAP = 0.03  # copies of one text differ in fused score by far less than this
RECENCY_WEIGHT = 0.15  # at most this much is added to a passage's score for being the newest candidate
RECENCY_HALF_LIFE_DAYS = 7.0


def asks_for_recent(question: str) -> bool:
    """ "What is the latest on ...", "... this week", "still ...?": questions whose answer changes over time."""
    return bool(_RECENT.search(question))


def recency_bonus(published: dict[str, str | None]) -> dict[str, float]:
    """Per key: RECENCY_WEIGHT for the newest ISO date, halving every RECENCY_HALF_LIFE_DAYS older; 0 if undated."""
    days = {key: date_ordinal(value) for key, value in published.items() if value}
    newest = max(days.values(), default=0)
    return {key: RECENCY_WEIGHT * 0.5 ** ((newest - day) / RECENCY_HALF_LIFE_DAYS) for key, day in days.items()}


def _favour_recent(fused: dict[str, float], index: _LexicalIndex) -> None:
    published = {cid: index.articles[index.chunks[index.position[cid]].article_id].published for cid in fused}
    for cid, bonus in recency_bonus(published).items():
        fused[cid] += bonus


def _fuse(
    query: str, index: _LexicalIndex, similarity: dict[str, float], lexical: dict[str, float]
) -> dict[str, float]:
    """One relevance score per candidate passage from either ranking."""
    # A chunk that dense search did not return scores at most as high as the last one it did return.
    floor = min(similarity.values(), default=0.0)
    top_lexical = max(lexical.values(), default=1.0)
    fused = {
        cid: W_DENSE * similarity.get(cid, floor) + W_BM25 * lexical.get(cid, 0.0) / top_lexical
        for cid in similarity.keys() | lexical.keys()
    }
    # The overlap terms need the passage's words, so only the leading candidates pay for them.
    question = text_features("", query)
    for cid in sorted(fused, key=fused.__getitem__, reverse=True)[:RERANK_DEPTH]:
        passage = index.features(cid)
        if question.pairs:
            fused[cid] += W_BIGRAM * len(question.pairs & passage.pairs) / len(question.pairs)
        if question.words:
            fused[cid] += W_WORDS * len(question.words & passage.words) / len(question.words)
    return fused


def _read_with_question(query: str, fused: dict[str, float], index: _LexicalIndex, reader: Reader) -> dict[str, float]:
    """Rescore the leading candidates by the reader's best sentence; returns that probability per passage."""
    pool = sorted(fused, key=fused.__getitem__, reverse=True)[:READER_POOL]
    pairs = [(cid, s) for cid in pool for s in split_sentences(index.chunks[index.position[cid]].text)]
    readings = reader.read(query, [sentence for _, sentence in pairs], spans=False)
    best = dict.fromkeys(pool, 0.0)
    for (cid, _), reading in zip(pairs, readings, strict=True):
        best[cid] = max(best[cid], reading.score)
    for cid, score in best.items():
        fused[cid] += READER_WEIGHT * (max(log_odds(score), -READER_FLOOR) + READER_FLOOR)
    return best


def _collapse_copies(fused: dict[str, float], index: _LexicalIndex, k: int) -> dict[str, list[ArticleRecord]]:
    """Drop passages that are copies of a better passage from another article (syndicated stories).

    Two passages are copies when their word 3-gram Jaccard is at least DUPLICATE_JACCARD. Copies score almost the
    same, so only passages within COPY_SCORE_GAP of each other are compared, which keeps this to a few set
    operations per query. Returns, for each kept passage, the other articles that carried it.
    """
    kept: list[str] = []
    copies: dict[str, list[ArticleRecord]] = {}
    for cid in sorted(fused, key=fused.__getitem__, reverse=True)[: k * COPY_SCAN_FACTOR]:
        article_id = index.chunks[index.position[cid]].article_id
        original = next(
            (
                other
                for other in kept
                if fused[other] - fused[cid] < COPY_SCORE_GAP
                and index.chunks[index.position[other]].article_id != article_id
                and _jaccard(index.features(cid).shingles, index.features(other).shingles) >= DUPLICATE_JACCARD
            ),
            None,
        )
        if original is None:
            kept.append(cid)
            continue
        del fused[cid]
        article = index.articles[article_id]
        if all(a.id != article.id for a in copies.get(original, [])):
            copies.setdefault(original, []).append(article)
    return copies


def _jaccard(a: set, b: set) -> float:
    """|a ∩ b| / |a ∪ b|, the union's size counted rather than built: half the time, and the same number."""
    common = len(a & b)
    return common / max(1, len(a) + len(b) - common)


def _diversify(fused: dict[str, float], index: _LexicalIndex, k: int) -> list[tuple[str, float]]:
    """Greedy top-k where each chunk beyond an article's second counts for SAME_ARTICLE_DECAY less.

    A soft penalty rather than a hard cap: a strong passage of the best article still beats a weak passage of
    another, but near-ties go to a new article.
    """
    remaining = dict(fused)
    per_article: dict[str, int] = {}
    chosen: list[tuple[str, float]] = []
    while remaining and len(chosen) < k:

        def adjusted(cid: str) -> float:
            article_id = index.chunks[index.position[cid]].article_id
            return remaining[cid] * SAME_ARTICLE_DECAY ** max(0, per_article.get(article_id, 0) - 1)

        best = max(remaining, key=adjusted)
        chosen.append((best, remaining.pop(best)))
        article_id = index.chunks[index.position[best]].article_id
        per_article[article_id] = per_article.get(article_id, 0) + 1
    return chosen
