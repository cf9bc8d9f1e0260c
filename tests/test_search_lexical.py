"""The BM25 leg of hybrid search (retrieval/search.py `_LexicalIndex.rank`) on a real bm25s index: the best
matching passages with their scores, never a passage that does not match, and equal scores in passage order, so
the same knowledge base gives the same candidates on every run (synthetic copies tie by the dozen)."""

from __future__ import annotations

from retrieval.search import Filters, _LexicalIndex
from retrieval.types import ArticleRecord, Chunk

STRIKE = "Dock workers at Kestrel harbour went on strike."
OTHER = "The council approved new bike lanes on Larkspur Road."


def lexical_index(texts: list[str]) -> _LexicalIndex:
    """One article per passage; even-numbered articles come from outlet "Wire A", the others from "Wire B"."""
    articles = {
        f"a{i}": ArticleRecord(
            id=f"a{i}",
            title="Local news",
            outlet="Wire A" if i % 2 == 0 else "Wire B",
            url=None,
            published=None,
            ingested_at="2026-12-01T00:00:00",
            source="test",
            content_hash=f"h{i}",
            chunks=1,
        )
        for i in range(len(texts))
    }
    chunks = [Chunk(f"c{i}", f"a{i}", 0, text, "Local news") for i, text in enumerate(texts)]
    return _LexicalIndex(chunks, articles, store_dir=None)


def test_equal_scores_come_in_passage_order_and_only_matching_passages_count() -> None:
    texts = [OTHER if i % 3 == 0 else STRIKE for i in range(60)]
    index = lexical_index(texts)
    ranked = index.rank("Kestrel harbour strike", 5, Filters())
    assert [position for position, _ in ranked] == [1, 2, 4, 5, 7]
    assert len({score for _, score in ranked}) == 1 and ranked[0][1] > 0
    everything = index.rank("Kestrel harbour strike", 100, Filters())
    assert [position for position, _ in everything] == [i for i in range(60) if i % 3]


def test_a_better_match_leads_and_filters_leave_articles_out() -> None:
    texts = [STRIKE, OTHER, STRIKE, f"{STRIKE} The Kestrel strike is in its third week.", OTHER]
    index = lexical_index(texts)
    assert [position for position, _ in index.rank("Kestrel strike", 10, Filters())] == [3, 0, 2]
    assert [position for position, _ in index.rank("Kestrel strike", 10, Filters(outlet="Wire A"))] == [0, 2]


def test_a_question_of_stopwords_only_finds_nothing() -> None:
    assert lexical_index([STRIKE, OTHER]).rank("what is the", 10, Filters()) == []
