"""The knowledge base on a real embedded Chroma: incremental ingest, removal, search, isolation, model guard."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from retrieval.errors import EmbeddingMismatchError, NotFoundError
from retrieval.knowledge_base import KnowledgeBase, Services
from retrieval.search import Filters
from retrieval.store import open_collection
from retrieval.types import Article
from tests.conftest import SAMPLE_CORPUS


def chroma_ids(kb: KnowledgeBase, services: Services) -> set[str]:
    collection = open_collection(services.client, kb.name, services.embedder.name, create=False)
    return set(collection.get(include=[])["ids"])


def record_ids(kb: KnowledgeBase) -> set[str]:
    return {c.chunk_id for a in kb.articles() for c in kb.article(a.id)[1]}


def test_sample_ingest_then_reingest_embeds_nothing(services: Services) -> None:
    kb = services.kb("default")
    first = kb.ingest([str(SAMPLE_CORPUS)])
    assert (first.added, first.updated, first.unchanged, first.failed) == (4, 0, 0, [])
    assert first.chunks_embedded == len(chroma_ids(kb, services)) > 4
    again = kb.ingest([str(SAMPLE_CORPUS)])
    assert (again.added, again.updated, again.unchanged, again.chunks_embedded) == (0, 0, 4, 0)
    assert sorted(a.outlet for a in kb.articles()) == [
        "Business Standard",
        "Economic Times",
        "India.com",
        "Reuters",
    ]


def test_hikvision_question_finds_reuters_first(services: Services) -> None:
    kb = services.kb("default")
    kb.ingest([str(SAMPLE_CORPUS)])
    hits = kb.search("why did Canada ban Hikvision?", k=4)
    assert hits[0].article.outlet == "Reuters"
    assert hits[0].similarity > 0.5 and hits[0].rank == 1


def test_one_long_article_does_not_fill_every_slot(services: Services) -> None:
    kb = services.kb("default")
    long_story = " ".join(f"Dock workers at the harbour strike for day {i}, demanding higher pay." for i in range(80))
    kb.ingest_articles(
        [
            Article(title="Harbour strike diary", text=long_story, outlet="Port News"),
            Article(title="Harbour strike spreads", text="The harbour strike spread to a second port.", outlet="Wire"),
        ]
    )
    hits = kb.search("harbour strike", k=4)
    assert len(hits[0].article.title) and "Wire" in {h.article.outlet for h in hits}


def test_changed_article_replaces_all_its_chunks_and_removal_deletes_them(services: Services) -> None:
    kb = services.kb("default")
    story = Article(title="Bridge reopens", text="The bridge reopened on Monday. " * 40, outlet="City Paper")
    kb.ingest_articles([story])
    old_ids = chroma_ids(kb, services)
    report = kb.ingest_articles([replace(story, text="The bridge stays closed until June. " * 40)])
    assert (report.added, report.updated) == (0, 1)
    new_ids = chroma_ids(kb, services)
    assert new_ids and not (old_ids & new_ids) and new_ids == record_ids(kb)
    assert "closed until June" in kb.search("bridge", k=1)[0].chunk.text
    record, removed = kb.remove(story.id[:8])
    assert record.title == "Bridge reopens" and removed == len(new_ids)
    assert chroma_ids(kb, services) == set() and kb.articles() == []
    with pytest.raises(NotFoundError):
        kb.remove(story.id)


def test_a_bad_file_among_good_ones_is_reported_and_changes_nothing(services: Services, tmp_path: Path) -> None:
    kb = services.kb("default")
    kb.ingest([str(SAMPLE_CORPUS)])
    before = chroma_ids(kb, services)
    (tmp_path / "photo.txt").write_bytes(b"\x00\x01\x02binary\x00" * 100)
    (tmp_path / "good.md").write_text("# Mill closes\n\nThe paper mill closed after 90 years.")
    report = kb.ingest([str(tmp_path / "photo.txt"), str(tmp_path / "good.md")])
    assert report.added == 1 and len(report.failed) == 1 and "binary" in report.failed[0].error
    only_bad = kb.ingest([str(tmp_path / "photo.txt")])
    assert only_bad.added == only_bad.chunks_embedded == 0
    assert len(chroma_ids(kb, services)) == len(before) + 1 == len(record_ids(kb))


def test_filters_by_outlet_and_date(services: Services) -> None:
    kb = services.kb("default")
    kb.ingest_articles(
        [
            Article(
                title="Rates held",
                text="The central bank held rates.",
                outlet="Wire A",
                published="2026-01-10",
            ),
            Article(title="Rates cut", text="The central bank cut rates.", outlet="Wire B", published="2026-03-10"),
        ]
    )
    assert {h.article.outlet for h in kb.search("central bank rates", filters=Filters(outlet="Wire B"))} == {"Wire B"}
    recent = kb.search("central bank rates", filters=Filters(since="2026-02-01"))
    assert [h.article.title for h in recent] == ["Rates cut"]
    assert kb.search("central bank rates", filters=Filters(until="2026-02-01"))[0].article.title == "Rates held"


def test_knowledge_bases_are_isolated(services: Services) -> None:
    services.kb("guild-1").ingest_articles([Article(title="Secret plan", text="Only guild one knows the plan.")])
    assert services.kb("guild-2").search("secret plan") == []
    assert services.kb("guild-1").search("secret plan")[0].article.title == "Secret plan"


def test_empty_knowledge_base_searches_cleanly(services: Services) -> None:
    assert services.kb("empty").search("anything") == []
    assert services.kb("empty").stats().articles == 0


def test_a_collection_built_with_another_model_is_refused(services: Services) -> None:
    services.client.create_collection("newsdesk-legacy", metadata={"embedding_model": "text-embedding-3-small"})
    with pytest.raises(EmbeddingMismatchError, match=r"text-embedding-3-small.*`newsdesk kb drop legacy --yes`"):
        services.kb("legacy")
    services.drop_kb("legacy")  # what the refusal advises; it must not need to open the collection
    assert services.kb("legacy").articles() == []  # opened: a new collection made with this model


def test_changing_the_chunk_size_rechunks_on_the_next_ingest(tmp_path: Path, model_dir: Path) -> None:
    from tests.conftest import make_settings

    small = Services(make_settings(tmp_path, model_dir, chunk_tokens=64)).kb("default")
    assert small.ingest([str(SAMPLE_CORPUS)]).added == 4
    large = Services(make_settings(tmp_path, model_dir, chunk_tokens=256))
    report = large.kb("default").ingest([str(SAMPLE_CORPUS)])
    assert report.updated == 4 and report.chunks_embedded > 0
    assert chroma_ids(large.kb("default"), large) == record_ids(large.kb("default"))


def test_record_manager_upgrades_an_older_database(tmp_path: Path) -> None:
    import sqlite3

    from retrieval.ingest.records import RecordManager
    from retrieval.settings import Settings
    from retrieval.state import RECORDS, open_database

    settings = Settings(_env_file=None, data_dir=tmp_path)
    path = tmp_path / "records.sqlite3"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE articles (kb TEXT NOT NULL, id TEXT NOT NULL, title TEXT NOT NULL, outlet TEXT, url TEXT, "
        "published TEXT, published_day INTEGER, ingested_at TEXT NOT NULL, source TEXT NOT NULL, "
        "content_hash TEXT NOT NULL, PRIMARY KEY (kb, id))"
    )
    old.execute("INSERT INTO articles VALUES ('kb', 'a1', 'Old story', NULL, NULL, NULL, NULL, 'then', 's', 'h')")
    old.commit()
    old.close()
    (record,) = RecordManager(open_database(settings, RECORDS)).articles("kb")
    assert record.title == "Old story" and record.author is None
    assert RecordManager(open_database(settings, RECORDS)).articles("kb") == [record]  # nothing applied twice


def test_syndicated_copies_collapse_into_one_result_with_the_other_outlets(services: Services) -> None:
    from retrieval.answer.chain import AnswerService

    kb = services.kb("default")
    kb.ingest([str(SAMPLE_CORPUS)])
    reuters = next(a for a in kb.articles() if a.outlet == "Reuters")
    original = " ".join(c.text for c in kb.article(reuters.id)[1])
    reprint = "OTTAWA (Wire Service) - " + original.replace("Friday(June 27)", "Friday").replace("Crown", "state")
    kb.ingest_articles([Article(title="Canada orders Hikvision to close", text=reprint, outlet="Wire Service")])
    hits = kb.search("why did Canada ban Hikvision?", k=6)
    assert {h.article.outlet for h in hits} & {"Reuters", "Wire Service"} in ({"Reuters"}, {"Wire Service"})
    assert any(copy.outlet in ("Reuters", "Wire Service") for h in hits for copy in h.also_in)
    answer = AnswerService(services.settings, kb).ask("why did Canada ban Hikvision?")
    assert len(answer.citations) == 1 and answer.citations[0].also_in


def test_ingest_leaves_the_embedders_cache_to_questions(services: Services) -> None:
    """Passages are embedded once, in bulk: caching them would only push out the questions and answer sentences the
    cache is for (and once made a benchmark of the model alone find part of its work done)."""
    kb = services.kb("bulk")
    article = Article(title="Short note", text="The council met on Tuesday. It approved the budget.", outlet="Test")
    kb.ingest_articles([article])
    passages = [c.indexed_text for c in services.records.chunks("bulk")]
    assert passages
    assert not any(text in services.embedder._cache for text in passages)  # the LRU the answer path uses


def test_chroma_keeps_vectors_and_the_fields_searches_filter_on_and_no_text(services: Services) -> None:
    """A passage's text lives in the records alone: a second copy in Chroma was ~4/5 of Chroma's write time at
    ingest and was never read."""
    kb = services.kb("default")
    kb.ingest([str(SAMPLE_CORPUS)])
    collection = open_collection(services.client, kb.name, services.embedder.name, create=False)
    stored = collection.get(include=["documents", "metadatas"])
    assert stored["ids"] and not any(stored["documents"])
    assert {key for meta in stored["metadatas"] for key in meta} == {"article_id", "outlet", "published_day"}
    reuters = {a.id for a in kb.articles() if a.outlet == "Reuters"}
    filtered = collection.query(
        query_embeddings=[services.embedder.embed_query("Hikvision")], where={"outlet": "Reuters"}
    )
    assert filtered["ids"][0] and {m["article_id"] for m in filtered["metadatas"][0]} == reuters


def test_ingest_reports_progress_as_each_batch_is_embedded(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """One embedding call per group of articles (its passages padded together), with a report after each batch."""
    kb = services.kb("default")
    calls: list[int] = []
    embed_bulk = services.embedder.embed_bulk
    monkeypatch.setattr(
        services.embedder, "embed_bulk", lambda texts, progress: calls.append(len(texts)) or embed_bulk(texts, progress)
    )
    text = " ".join(f"Council item {i} was approved after a short debate on its cost." for i in range(600))
    reports: list[tuple[int, int]] = []
    report = kb.ingest_articles(
        [Article(title="Long minutes", text=text, outlet="Test")], lambda d, t: reports.append((d, t))
    )
    total = report.chunks_embedded
    assert total > 32 and calls == [total]  # more than one batch, in one call
    assert reports[0] == (0, total) and reports[-1] == (total, total)
    done = [d for d, _ in reports]
    assert done == sorted(done) and len(set(done)) == len(done) >= 3
