"""Saved BM25 indexes (retrieval/bm25_files.py): a new process loads instead of rebuilding, and a knowledge base that
changed is never searched with its old index. Each `Services` below starts from nothing in memory, as a new
`newsdesk` process does; they share only the data directory."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from retrieval import search
from retrieval.bm25_files import STALE_AFTER_S
from retrieval.errors import BadInputError
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


def temporary_folder(settings: Settings, kb: str, name: str, age_s: float) -> Path:
    """A writer's temporary folder with a file in it, last changed `age_s` ago."""
    folder = settings.bm25_dir / kb / f".tmp-{name}"
    folder.mkdir()
    (folder / "params.index.json").write_text("{}")
    then = time.time() - age_s
    os.utime(folder, (then, then))
    return folder


@pytest.mark.parametrize("when", ["saved", "loaded"])
def test_a_dead_writers_temporary_folder_is_deleted_and_a_live_ones_kept(
    built: Settings, when: str, monkeypatch
) -> None:
    """A killed save leaves its temporary folder behind; the next save or load of that knowledge base deletes it once
    it is STALE_AFTER_S old, but a younger one may be another process saving right now, and stays."""
    dead = temporary_folder(built, "news", "dead", STALE_AFTER_S + 600)
    live = temporary_folder(built, "news", "live", STALE_AFTER_S - 600)
    other_kb = new_process(built)
    other_kb.kb("sports").ingest_articles([COUNCIL])
    assert lexical_titles(other_kb, "sports", "Larkspur") == [COUNCIL.title]  # saves an index for sports only
    other_kb.close()
    assert dead.is_dir()

    process = new_process(built)
    if when == "saved":
        process.kb("news").ingest_articles([COUNCIL])
    else:
        monkeypatch.setattr(search, "_build_bm25", lambda chunks: pytest.fail("rebuilt an index that was saved"))
    assert lexical_titles(process, "news", "Kestrel") == [HARBOUR.title]
    process.close()
    assert not dead.exists() and live.is_dir()
    assert len([p for p in saved_indexes(built, "news") if p != live]) == 1


def test_dropping_a_knowledge_base_deletes_its_saved_index_and_only_its_own(built: Settings) -> None:
    services = new_process(built)
    services.kb("sports").ingest_articles([COUNCIL])
    assert lexical_titles(services, "sports", "Larkspur") == [COUNCIL.title]
    assert lexical_titles(services, "news", "Kestrel") == [HARBOUR.title]  # open when it is dropped
    temporary_folder(built, "news", "dead", STALE_AFTER_S + 600)
    sports_index = saved_indexes(built, "sports")

    services.drop_kb("news")
    assert not (built.bm25_dir / "news").exists()
    assert saved_indexes(built, "sports") == sports_index
    assert services.records.knowledge_bases() == ["sports"]
    assert "newsdesk-news" not in {c.name for c in services.client.list_collections()}
    services.drop_kb("news")  # a drop cut short is finished by running it again; here there is nothing left

    assert services.kb("news").articles() == []
    services.kb("news").ingest_articles([COUNCIL])  # into a new collection, not the dropped one still held open
    assert [h.article.title for h in services.kb("news").search("bike lanes", 2)] == [COUNCIL.title]
    assert lexical_titles(services, "news", "Kestrel") == []
    services.close()


@pytest.mark.parametrize("hostile", ["../x", "..", ".", "news/../x", "/tmp", "news\n", "", "news\x00"])
def test_a_hostile_name_drops_nothing(built: Settings, hostile: str) -> None:
    """Knowledge base names become folder names under bm25_dir: one that could point anywhere else is refused before
    anything is deleted ("news\\n" passed a `$`-anchored check)."""
    outside = built.data_dir / "x"
    outside.mkdir()
    (outside / "keep.txt").write_text("not newsdesk's")
    before = sorted(p.relative_to(built.data_dir) for p in built.data_dir.rglob("*"))
    services = new_process(built)
    with pytest.raises(BadInputError, match="not a valid knowledge base name"):
        services.drop_kb(hostile)
    assert lexical_titles(services, "news", "Kestrel") == [HARBOUR.title]
    services.close()
    assert sorted(p.relative_to(built.data_dir) for p in built.data_dir.rglob("*")) == before
