"""Loading: the sample aggregator page, text/Markdown/HTML/JSONL files, folders, and every kind of bad file."""

from pathlib import Path

import pytest

from retrieval.ingest.chunker import chunk_article, split_sentences
from retrieval.loaders import load_source
from retrieval.loaders.url import SafeFetcher
from retrieval.settings import Settings
from retrieval.types import Article
from tests.conftest import SAMPLE_CORPUS

FURNITURE = (
    "Hashtags",
    "Try Our AI Features",
    "Comments",
    "No comments yet",
    "Related Articles",
    "minutes ago",
    "an hour ago",
    "&w=3840",
)


def load(source: Path | str, settings: Settings):
    return load_source(str(source), settings, SafeFetcher(settings))


def test_sample_page_becomes_four_articles_with_outlets_and_titles(settings: Settings) -> None:
    loaded = load(SAMPLE_CORPUS, settings)
    assert loaded.failures == []
    assert [a.outlet for a in loaded.articles] == [
        "Reuters",
        "India.com",
        "Economic Times",
        "Business Standard",
    ]
    assert (
        loaded.articles[0].title
        == "Canada kicks out Chinese surveillance giant Hikvision over national security threat"
    )
    assert loaded.articles[3].title.startswith("Buyer found for TikTok")
    for article in loaded.articles:
        for junk in FURNITURE:
            assert junk not in article.text, (article.outlet, junk)
        assert not article.text.startswith("- ")


def test_splitter_handles_another_page_of_the_same_family(tmp_path: Path, settings: Settings) -> None:
    page = (
        "Floods close Rhine shipping\nAFP Barges halted near Cologne\nWater levels rose overnight.\n"
        "Comments\nRelated Articles\n\nThe Guardian\n2 hours ago\n- The Guardian\nHeat records fall in Spain\n"
        "Seville reached 46C on Monday.\n?fit=crop)\n\nDW\nyesterday\nElection night in Berlin\nPolls closed at 6pm.\n"
    )
    (tmp_path / "page.txt").write_text(page)
    loaded = load(tmp_path / "page.txt", settings)
    assert [(a.outlet, a.title) for a in loaded.articles] == [
        ("AFP", "Floods close Rhine shipping"),
        ("The Guardian", "Heat records fall in Spain"),
        ("DW", "Election night in Berlin"),
    ]
    assert "fit=crop" not in loaded.articles[1].text


def test_markdown_html_and_jsonl(tmp_path: Path, settings: Settings) -> None:
    (tmp_path / "a.md").write_text("# Port strike ends\n\nDockers accepted the offer on Tuesday.\n")
    (tmp_path / "b.html").write_text(
        "<html><head><title>Rail fares frozen</title><meta property='og:site_name' content='Daily Example'>"
        "<meta name='date' content='2026-03-04'>"
        "<meta name='author' content='Jane Doe'></head><body><nav>Home | World | Sport</nav><article>"
        "<h1>Rail fares frozen</h1><p>The government froze rail fares for a year, the transport minister said on "
        "Wednesday, after months of pressure from commuter groups across the country.</p><p>Operators will be "
        "compensated from the general budget, which critics say shifts the cost to taxpayers.</p></article>"
        "<footer>Copyright</footer></body></html>"
    )
    (tmp_path / "c.jsonl").write_text(
        '{"title": "Wheat prices rise", "text": "Prices rose 4%.", "outlet": "Agri News", "published": '
        '"Tue, 03 Mar 2026 10:00:00 GMT", "url": "https://example.org/wheat"}\n'
        "not json\n"
        '{"title": "", "text": "no title"}\n'
    )
    loaded = load(tmp_path, settings)
    by_title = {a.title: a for a in loaded.articles}
    assert by_title["Port strike ends"].text == "Dockers accepted the offer on Tuesday."
    html = by_title["Rail fares frozen"]
    assert "froze rail fares" in html.text and "Home | World" not in html.text and "Copyright" not in html.text
    assert (html.published, html.author) == ("2026-03-04", "Jane Doe")
    wheat = by_title["Wheat prices rise"]
    assert (wheat.outlet, wheat.published, wheat.url) == (
        "Agri News",
        "2026-03-03",
        "https://example.org/wheat",
    )
    assert sorted(f.source.rsplit(":", 1)[1] for f in loaded.failures) == ["2", "3"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"   \n\n", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
        (b"Title\nSome text \x81\x8d\x8f bytes that are neither UTF-8 nor cp1252", "not UTF-8"),
        (b"only a title", "no body text"),
    ],
)
def test_bad_files_are_refused_with_one_sentence(
    tmp_path: Path, settings: Settings, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    loaded = load(path, settings)
    assert loaded.articles == []
    assert len(loaded.failures) == 1 and message in loaded.failures[0].error


def test_windows_1252_text_is_decoded(tmp_path: Path, settings: Settings) -> None:
    (tmp_path / "legacy.txt").write_bytes("Café owners protest\nPrices rose by 5€ – again.".encode("cp1252"))
    (article,) = load(tmp_path / "legacy.txt", settings).articles
    assert article.title == "Café owners protest" and "5€ – again" in article.text


def test_huge_and_missing_files_are_refused_without_reading_them(tmp_path: Path, settings: Settings) -> None:
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as f:
        f.truncate(50 * 1024 * 1024)  # sparse: 50 MB on paper, nothing on disk
    assert "over the 20 MB limit" in load(huge, settings).failures[0].error
    assert "does not exist" in load(tmp_path / "nope.txt", settings).failures[0].error


def test_sentences_split_on_glued_and_quoted_boundaries() -> None:
    text = "Ottawa acted on security grounds.In a statement, it said 'no'. The U.S. agreed. Prices fell 5%. Next"
    assert split_sentences(text) == [
        "Ottawa acted on security grounds.",
        "In a statement, it said 'no'.",
        "The U.S. agreed.",
        "Prices fell 5%.",
        "Next",
    ]


def test_a_quote_mark_glued_between_sentences_goes_to_the_quotation_it_closes_or_opens() -> None:
    """Scraped pages drop the space after a quotation: the mark closes an open quotation, else opens the next one."""
    text = "'We object to the order.'The firm appealed.It closed its shops.'We will return,' it said.'No.'Done."
    assert split_sentences(text) == [
        "'We object to the order.'",
        "The firm appealed.",
        "It closed its shops.",
        "'We will return,' it said.",
        "'No.'",
        "Done.",
    ]


def test_chunks_are_bounded_stable_and_overlap(model_dir: Path) -> None:
    from retrieval.embeddings import get_embedder

    embedder = get_embedder(model_dir)
    body = " ".join(f"Sentence number {i} reports a fact about the harbour." for i in range(60))
    article = Article(title="Harbour facts", text=body, outlet="Test")
    chunks = chunk_article(article, embedder.count_tokens, 64)
    assert len(chunks) > 5
    assert all(n <= 64 for n in embedder.count_tokens([c.text for c in chunks]))
    assert [c.chunk_id for c in chunk_article(article, embedder.count_tokens, 64)] == [c.chunk_id for c in chunks]
    assert chunks[1].text.split(". ")[0] in chunks[0].text  # one sentence of overlap
    assert chunks[0].indexed_text.startswith("Harbour facts\n")


def test_passages_split_back_into_the_articles_own_sentences(settings: Settings, model_dir: Path) -> None:
    """Citations quote sentences of passages; they must be the article's sentences, glued ones included."""
    from retrieval.embeddings import get_embedder

    counter = get_embedder(model_dir).count_tokens
    for article in load(SAMPLE_CORPUS, settings).articles:
        sentences = set(split_sentences(article.text))
        for chunk in chunk_article(article, counter, 192):  # no sentence here is long enough to be cut
            assert set(split_sentences(chunk.text)) <= sentences
    assert "Joly wrote in a post on X." in " ".join(split_sentences(load(SAMPLE_CORPUS, settings).articles[0].text))


def test_markdown_reaches_answers_as_plain_words(tmp_path: Path, settings: Settings) -> None:
    note = tmp_path / "kestrel.md"
    note.write_text(
        "# Kestrel ferry returns\n**Kestrel** sails again from [the north pier](https://x.example) at _9am_.\n"
    )
    (article,) = load(note, settings).articles
    assert article.title == "Kestrel ferry returns"
    assert article.text == "Kestrel sails again from the north pier at 9am."


def test_html_outlet_comes_from_the_publisher_then_the_host(tmp_path: Path, settings: Settings) -> None:
    body = "<p>Dock workers in the port accepted a new pay offer on Tuesday, ending a three week strike.</p>"
    page = tmp_path / "dock.html"
    page.write_text(
        '<html><head><title>Dock strike ends</title><meta property="og:site_name" content="Harbour Times">'
        f"</head><body><article><h1>Dock strike ends</h1>{body}</article></body></html>"
    )
    (article,) = load(page, settings).articles
    assert article.outlet == "Harbour Times"


@pytest.mark.parametrize(
    "text",
    ["2022/06/12", "June 12, 2022", "12 Jun 2022", "Sunday, June 12, 2022 10:30 AM ET", "2022-06-12T10:30:00Z"],
)
def test_dates_in_the_ways_news_sites_write_them(text: str) -> None:
    from retrieval.dates import iso_date

    assert iso_date(text) == "2022-06-12"


def test_teasers_dated_relative_to_when_the_page_was_read(tmp_path: Path, settings: Settings) -> None:
    import os
    from datetime import datetime

    page = tmp_path / "page.txt"
    page.write_text(SAMPLE_CORPUS.joinpath("hikvision-aggregator-page.txt").read_text())
    read_at = datetime(2026, 11, 26, 0, 10).timestamp()
    os.utime(page, (read_at, read_at))
    dates = {a.outlet: a.published for a in load(page, settings).articles}
    assert dates["India.com"] == "2026-11-25"  # "32 minutes ago" at 00:10
    assert dates["Reuters"] is None  # the lead story gives no time at all


def test_editing_a_headline_updates_the_file_s_article(tmp_path: Path, services) -> None:
    story = tmp_path / "ferry.txt"
    story.write_text("Ferry timetable changes\nThe island ferry now leaves at 9am.\n")
    kb = services.kb("default")
    kb.ingest([str(story)])
    story.write_text("Ferry timetable changes again\nThe island ferry now leaves at 10am.\n")
    report = kb.ingest([str(story)])
    assert (report.added, report.updated) == (0, 1)
    assert [a.title for a in kb.articles()] == ["Ferry timetable changes again"]


def test_a_file_indexed_under_its_old_title_identity_is_replaced_not_duplicated(
    tmp_path: Path, services, settings: Settings
) -> None:
    from dataclasses import replace

    story = tmp_path / "ferry.txt"
    story.write_text("Ferry timetable changes\nThe island ferry now leaves at 9am.\n")
    (article,) = load(story, settings).articles
    old = services.kb("old")
    old.ingest_articles([replace(article, path=None)])  # how releases before path identity stored it
    report = old.ingest([str(story)])
    assert (report.added, report.updated) == (0, 1) and [a.id for a in old.articles()] == [article.id]

    other = services.kb("other")  # the same headline from another source is a different story: kept
    other.ingest_articles([replace(article, path=None, source="elsewhere.jsonl")])
    assert other.ingest([str(story)]).added == 1 and len(other.articles()) == 2
