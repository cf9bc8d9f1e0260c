"""Discord rendering limits, on answers far larger than real ones (bot formatting)."""

from __future__ import annotations

from bot.formatting import answer_embed, clip, clip_lines, pages_of
from retrieval.types import Answer, ArticleRecord, Citation


def citation(n: int) -> Citation:
    return Citation(
        n,
        f"id{n}",
        f"Story {n} " + "word " * 40,
        "Outlet",
        f"https://example.org/{n}",
        "2026-06-28",
        f"id{n}-c",
        "quote",
    )


def test_bot_huge_digest_fits_every_discord_limit() -> None:
    lines = [f"- Story {i}: something happened in town number {i} today [{i}]" for i in range(1, 400)]
    answer = Answer(
        "digest since 2026-06-01", "\n".join(lines), True, "extractive", citations=[citation(n) for n in range(1, 400)]
    )
    embed = answer_embed(answer, title="What's new " * 40)
    data = embed.to_dict()
    assert len(data["title"]) <= 256 and len(data["description"]) <= 4096
    assert data["description"].endswith("press Show more to read on.*") and "\n- Story 2:" in data["description"]
    assert len(data["fields"]) <= 25 and all(len(f["value"]) <= 1024 for f in data["fields"])
    assert len(embed) <= 6000


def test_bot_refusal_lists_nearest_articles_without_markup_tricks() -> None:
    nearest = ArticleRecord("a", "Click [here](https://evil.example) *now*", "Outlet", None, None, "", "", "h", 1)
    answer = Answer("q", "I couldn't find that in the knowledge base.", False, "extractive", nearest=[nearest])
    field = answer_embed(answer).to_dict()["fields"][0]
    assert "](https://evil.example)" not in field["value"]


def test_clipping_helpers() -> None:
    assert clip("short", 10) == "short" and len(clip("word " * 100, 50)) <= 50
    assert clip_lines("a\nb\nc", 100) == "a\nb\nc"
    assert clip_lines("x" * 30 + "\n" + "y" * 30, 45) == "x" * 30 + "\n… and 1 more"
    assert clip_lines("x" * 60, 20).endswith("…") and len(clip_lines("x" * 60, 20)) <= 20


def test_article_markup_cannot_make_links_or_formatting_in_answers() -> None:
    from bot.formatting import answer_markup
    from retrieval.types import Answer

    answer = Answer(
        question="q",
        answer="See [the official timetable](https://evil.example/login) and **act now** [1].",
        grounded=True,
        mode="extractive",
        answer_spans=["act now"],
    )
    text = answer_markup(answer)
    assert "](" not in text and "\\*\\*act now\\*\\*" not in text.replace("**\\*\\*", "")
    assert "**act now**" in text  # the answer span is bold, the article's own asterisks are escaped


def test_long_text_is_paged_at_line_breaks_and_nothing_is_lost() -> None:
    lines = [f"- line {i} " + "word " * 20 for i in range(100)]
    pages = pages_of("\n".join(lines), 1000)
    assert all(len(p) <= 1000 for p in pages) and "\n".join(pages).split("\n") == lines
    assert pages_of("short", 1000) == ["short"] and len(pages_of("x" * 5000, 1000)[0]) <= 1000
