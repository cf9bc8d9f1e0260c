"""Saved BM25 indexes (retrieval/bm25_files.py): a new process loads instead of rebuilding, and a knowledge base that
changed is never searched with its old index. Each `Services` below starts from nothing in memory, as a new
`newsdesk` process does; they share only the data directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval import search
from retrieval.knowledge_base import Services
from retrieval.settings import Settings
from retrieval.types import Article

HARBOUR = Article(title="Harbour strike spreads", text="Dock workers at Kestrel harbour stopped work.", outlet="Wire")
COUNCIL = Article(title="Council votes on lanes", text="The council approved the Larkspur bike lanes.", outlet="Post")


def new_process(settings: Settings) -> Services:
    return Services(settings)


def saved_indexes(settings: Settings, kb: str) -> list[Path]:
    return sorted(p for p in (settings.bm25_dir / kb).iterdir())


def lexical_titles(services: Services, kb: str, query: str) -> list[str]:
    """Titles of the passages BM25 alone ranks for `query` (the dense side would find something for anything)."""
    searcher = services.kb(kb)._searcher
    index = searcher._index()
    return [index.chunks[i].title for i, _ in index.rank(query, 5, search.Filters())]


@pytest.fixture
def built(settings: Settings) -> Settings:
    first = new_process(settings)
    first.kb("news").ingest_articles([HARBOUR])
    assert lexical_titles(first, "news", "Kestrel") == [HARBOUR.title]
    first.close()
    return settings


def test_a_fresh_process_loads_the_saved_index_instead_of_building(built: Settings, monkeypatch) -> None:
    assert len(saved_indexes(built, "news")) == 1
    monkeypatch.setattr(search, "_build_bm25", lambda chunks: pytest.fail("rebuilt an index that was saved"))
    second = new_process(built)
    assert lexical_titles(second, "news", "Kestrel") == [HARBOUR.title]
    second.close()


@pytest.mark.parametrize("change", ["ingest", "remove", "replace"])
def test_a_changed_knowledge_base_is_not_searched_with_its_old_index(built: Settings, change: str) -> None:
    """ "replace" keeps the number of passages, so only their content tells the old index from the new."""
    writer = new_process(built)
    if change in ("remove", "replace"):
        writer.kb("news").remove(writer.kb("news").articles()[0].id)
    if change in ("ingest", "replace"):
        writer.kb("news").ingest_articles([COUNCIL])
    writer.close()

    reader = new_process(built)
    assert lexical_titles(reader, "news", "Larkspur") == ([] if change == "remove" else [COUNCIL.title])
    assert lexical_titles(reader, "news", "Kestrel") == ([HARBOUR.title] if change == "ingest" else [])
    reader.close()
    assert len(saved_indexes(built, "news")) <= 1  # the old index was replaced, not kept beside the new one


def test_indexes_are_kept_per_knowledge_base(built: Settings) -> None:
    other = new_process(built)
    other.kb("sports").ingest_articles([COUNCIL])
    assert lexical_titles(other, "sports", "Larkspur") == [COUNCIL.title]
    assert lexical_titles(other, "news", "Kestrel") == [HARBOUR.title]
    assert lexical_titles(other, "news", "Larkspur") == []
    other.close()
    assert len(saved_indexes(built, "news")) == len(saved_indexes(built, "sports")) == 1


def test_a_half_written_index_is_never_loaded(built: Settings) -> None:
    """What a writer killed mid-save leaves is a temporary folder, which no index name can match; a damaged index
    under a real name is rebuilt rather than served."""
    (only,) = saved_indexes(built, "news")
    for part in only.iterdir():
        part.write_bytes(b"")
    again = new_process(built)
    assert lexical_titles(again, "news", "Kestrel") == [HARBOUR.title]
    again.close()
