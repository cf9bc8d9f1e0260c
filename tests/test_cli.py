"""The `newsdesk` CLI contract: JSON shapes, exit codes, one-sentence errors."""

from __future__ import annotations

from pathlib import Path

from retrieval.feeds import FeedRegistry
from retrieval.settings import Settings
from retrieval.state import FEEDS, open_database
from tests.conftest import SAMPLE_CORPUS


def test_ingest_search_and_kb_commands(run) -> None:
    report = run("ingest", str(SAMPLE_CORPUS), "--json")
    assert report == {
        "kb": "default",
        "added": 4,
        "updated": 0,
        "unchanged": 0,
        "chunks_embedded": report["chunks_embedded"],
        "failed": [],
        "skipped": 0,
        "warnings": [],
        "articles": report["articles"],
    }
    assert {a["outcome"] for a in report["articles"]} == {"added"} and len(report["articles"]) == 4
    assert "Canada kicks out Chinese surveillance giant Hikvision" in " ".join(a["title"] for a in report["articles"])
    again = run("ingest", str(SAMPLE_CORPUS), "--json")
    assert again["chunks_embedded"] == 0 and {a["outcome"] for a in again["articles"]} == {"unchanged"}

    results = run("search", "why did Canada ban Hikvision?", "-k", "3", "--json")["results"]
    assert len(results) == 3 and results[0]["outlet"] == "Reuters"
    assert set(results[0]) == set(
        [
            *("rank", "score", "answers", "article_id", "title", "outlet", "url", "published"),
            *("published_approximate", "chunk_id", "text"),
        ]
    )

    articles = run("kb", "list", "--json")["articles"]
    assert len(articles) == 4 and set(articles[0]) == {
        *("article_id", "title", "outlet", "url", "published", "published_approximate", "chunks")
    }
    reuters = next(a for a in articles if a["outlet"] == "Reuters")
    shown = run("kb", "show", reuters["article_id"], "--json")
    assert shown["article"]["title"].startswith("Canada kicks out") and len(shown["chunks"]) == reuters["chunks"]
    assert run("kb", "stats", "--json")["articles"] == 4
    assert run("kb", "remove", reuters["article_id"], "--json")["chunks"] == reuters["chunks"]
    assert run("kb", "stats", "--json")["articles"] == 3


def test_bad_input_exits_2_with_one_sentence(run, tmp_path: Path) -> None:
    (tmp_path / "blob").write_bytes(b"\x00" * 64)
    out = run("ingest", str(tmp_path / "blob"), "--json", code=2)
    assert out["failed"][0]["error"].endswith("HTML and JSONL.")
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.7")
    out = run("ingest", str(tmp_path / "report.pdf"), "--json", code=2)
    assert out["failed"][0]["error"] == f"{tmp_path / 'report.pdf'} is not a readable PDF."
    (tmp_path / "sheet.xlsx").write_bytes(b"PK")
    out = run("ingest", str(tmp_path / "sheet.xlsx"), "--json", code=2)
    assert out["failed"][0]["error"].endswith("newsdesk reads .txt, .md, .html, .jsonl and .pdf files.")
    assert "does not exist" in run("ingest", "no/such/file.txt", code=2)["text"]
    assert "not a valid knowledge base name" in run("kb", "list", "--kb", "../etc", code=2)["text"]
    assert "No article" in run("kb", "show", "deadbeef", "--json", code=2)["error"]
    assert "not a period" in run("search", "x", "--since", "last week", code=2)["text"]
    assert "later than --until" in run("search", "x", "--since", "2026-06-02", "--until", "2026-06-01", code=2)["text"]


def test_empty_states_are_helpful(run) -> None:
    assert "knowledge base is empty" in run("kb", "list")["text"]
    assert "No matching passages" in run("search", "anything")["text"]


def test_help_everywhere(run) -> None:
    for command in ([], ["ingest"], ["search"], ["kb"], ["kb", "list"]):
        assert "Usage" in run(*command, "--help")["text"]


def test_bot_dry_run_describes_commands_gating_and_mentions(run) -> None:
    described = run("bot", "--dry-run", "--json")
    names = {c["name"]: c for c in described["commands"]}
    assert {"ask", "summary", "digest", "sources", "kb add", "kb remove", "kb refresh", "kb list", "kb status"} <= set(
        names
    )
    assert names["kb add"]["guild_only"] and names["kb add"]["moderators"]  # checked locally; see /kb status
    assert names["kb status"]["guild_only"] and not names["kb status"]["moderators"]  # readable by every member
    assert names["ask"]["default_permissions"] is None and not names["ask"]["moderators"]
    assert [o["name"] for o in names["ask"]["options"]] == ["question", "private"]
    assert described["allowed_mentions"] == {"everyone": False, "roles": False, "users": False, "replied_user": False}
    assert "message_content" in described["intents"]
    assert "Set DISCORD_TOKEN" in run("bot", code=1)["text"]


def test_ask_summarize_and_digest_follow_the_contract(run) -> None:
    run("ingest", str(SAMPLE_CORPUS), "--json")
    answer = run("ask", "why did Canada ban Hikvision?", "--json")
    assert set(answer) >= {"question", "answer", "grounded", "mode", "citations", "timings_ms"}
    assert answer["grounded"] and answer["mode"] == "extractive"
    assert set(answer["citations"][0]) == set(
        [
            *("n", "article_id", "title", "outlet", "url", "published", "chunk_id", "quote", "also_in"),
            "published_approximate",
        ]
    )
    assert set(answer["timings_ms"]) >= {"retrieve", "answer", "total"}
    text = run("ask", "why did Canada ban Hikvision?")["text"]
    assert "[1]" in text and "Sources" in text and "Reuters" in text
    refused = run("ask", "what is the capital of Peru?", "--json")
    assert refused["grounded"] is False and refused["nearest"] == []  # nothing close to offer instead
    assert run("summarize", "TikTok", "--json")["grounded"]
    assert "one of the two" in run("summarize", code=2)["text"]
    assert "one of the two" in run("summarize", "TikTok", "--article", "abc", code=2)["text"]
    assert run("digest", "--since", "7d", "--json")["citations"]
    assert "limited to 500 characters" in run("ask", "x" * 501, code=2)["text"]


def test_every_command_option_has_a_description(run) -> None:
    described = run("bot", "--dry-run", "--json")
    for command in described["commands"]:
        assert command["description"] and command["description"] != "…", command["name"]
        for option in command["options"]:
            assert option.get("description") not in (None, "", "…"), (command["name"], option["name"])


def test_knowledge_base_names_are_checked_and_listed(run) -> None:
    run("ingest", str(SAMPLE_CORPUS), "--kb", "news")
    assert "not a valid knowledge base name" in run("search", "x", "--kb", "", code=2)["text"]
    missing = run("ask", "why did Canada ban Hikvision?", "--kb", "nwes", "--json", code=2)["error"]
    assert missing == "No knowledge base 'nwes'; existing: news."
    listed = run("kb", "ls", "--json")
    assert listed["knowledge_bases"] == [
        {"kb": "news", "articles": 4, "passages": listed["knowledge_bases"][0]["passages"]}
    ]
    assert run("kb", "stats", "--kb", "news", "--json")["data_dir"] == listed["data_dir"]
    assert "empty" in run("kb", "list")["text"]  # the default knowledge base exists from the start


def test_exit_codes_and_settings_errors(run, tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "good.txt").write_text("Harbour reopens\nThe harbour reopened on Monday after the storm.\n")
    (tmp_path / "bad.pdf").write_bytes(b"%PDF")
    run("ingest", str(tmp_path / "good.txt"), str(tmp_path / "bad.pdf"), code=1)  # partial failure
    monkeypatch.setenv("NEWSDESK_TOP_K", "abc")
    out = run("kb", "stats", code=2)["text"]
    assert "NEWSDESK_TOP_K has an invalid value" in out and "Traceback" not in out


def test_version_and_comma_separated_hosts(run, monkeypatch) -> None:
    from retrieval.settings import Settings

    assert run("--version")["text"].startswith("newsdesk ")
    monkeypatch.setenv("NEWSDESK_PRIVATE_URL_HOSTS", "intranet.example, wiki.example")
    assert Settings(_env_file=None).private_url_hosts == ["intranet.example", "wiki.example"]


def test_search_reranks_on_request_and_refuses_empty_queries(run) -> None:
    run("ingest", str(SAMPLE_CORPUS))
    results = run("search", "How did Hikvision respond?", "--rerank", "-k", "2", "--json")["results"]
    assert results[0]["answers"] is not None and results[0]["outlet"] == "Reuters"
    assert "something to search for" in run("search", "  ", code=2)["text"]


def test_help_shows_flags_without_type_placeholders(run) -> None:
    for command in (["--help"], ["ingest", "--help"], ["search", "--help"], ["refresh", "--help"]):
        text = run(*command)["text"]
        assert "--json" in text or "--verbose" in text
        assert "--help" in text and "<bool>" not in text


def test_usage_errors_follow_json_like_every_other_error(run) -> None:
    assert run("ask", "--json", code=2) == {"error": "Missing argument 'question'."}
    assert "less than or equal to 20" in run("search", "x", "-k", "99", "--json", code=2)["error"]
    assert "Missing argument" in run("ask", code=2)["text"]  # without --json: click's usual message


def test_relative_dates_are_approximate_and_unreadable_dates_are_warned(run, tmp_path: Path) -> None:
    import os
    from datetime import datetime

    page = tmp_path / "page.txt"
    page.write_text(SAMPLE_CORPUS.joinpath("hikvision-aggregator-page.txt").read_text())
    read_at = datetime(2026, 11, 26, 0, 10).timestamp()
    os.utime(page, (read_at, read_at))
    run("ingest", str(page))
    india = next(a for a in run("kb", "list", "--json")["articles"] if a["outlet"] == "India.com")
    assert (india["published"], india["published_approximate"]) == ("2026-11-25", True)  # "32 minutes ago"
    assert "India.com about 2026-11-25" in run("kb", "show", india["article_id"])["text"]

    story = tmp_path / "ferry.html"
    story.write_text(
        '<html><head><title>Ferry back</title><meta property="article:published_time" content="sometime last spring">'
        "</head><body><article><h1>Ferry back</h1><p>The island ferry returned to service on its old timetable, "
        "leaving the north pier every morning at nine.</p></article></body></html>"
    )
    report = run("ingest", str(story), "--json")
    assert report["added"] == 1 and len(report["warnings"]) == 1
    assert "'sometime last spring' could not be read" in report["warnings"][0]["error"]
    assert "warning" in run("ingest", str(story))["text"]  # unchanged, but still undated: said again


def test_ingest_names_what_it_added_and_why_each_source_failed(run, tmp_path: Path) -> None:
    (tmp_path / "ferry.txt").write_text("Ferry timetable changes\nThe island ferry now leaves at 9am every day.\n")
    (tmp_path / "empty.txt").write_text("Only a title\n")
    shown = run("ingest", str(tmp_path / "ferry.txt"), str(tmp_path / "empty.txt"), code=1)["text"]
    shown = " ".join(shown.split())  # the terminal wraps long lines
    assert "added Ferry timetable changes" in shown
    assert f"failed {tmp_path / 'empty.txt'}: has no body text" in shown  # the path is not said twice


def test_articles_are_named_by_id_exact_title_or_a_close_one(run) -> None:
    run("ingest", str(SAMPLE_CORPUS), "--json")
    shown = run("kb", "show", "  BUYER found for   tiktok, identities to be revealed soon, says donald trump", "--json")
    assert shown["article"]["title"].startswith("Buyer found for TikTok")
    typo = run("kb", "show", "Buyer fund for TikTok, identities to be revealed son, says Donald Trump", "--json")
    assert typo["article"]["title"].startswith("Buyer found for TikTok")
    vague = run("kb", "remove", "Hikvision shut down in Canada", code=2)["text"]
    assert "No article matches" in vague and "the closest: “Canada kicks out Chinese surveillance giant" in vague
    removed = run("kb", "remove", "canada kicks out chinese surveillance giant hikvision", "--json")
    assert removed["title"].startswith("Canada kicks out Chinese surveillance giant Hikvision")
    summary = run("summarize", "--article", "buyer found for tiktok", "--json")
    assert summary["question"].startswith("summary: Buyer found for TikTok")


def test_kb_drop_deletes_one_whole_knowledge_base_once_confirmed(run, settings: Settings) -> None:
    """Its records, vectors and saved BM25 index go; another knowledge base keeps all of its own."""
    for kb in ("news", "default"):
        run("ingest", str(SAMPLE_CORPUS), "--kb", kb, "--json")
        assert run("search", "why did Canada ban Hikvision?", "--kb", kb, "--json")["results"]  # saves its index
    assert "No knowledge base 'nwes'; existing: default, news." in run("kb", "drop", "nwes", "--yes", code=2)["text"]
    assert "not a valid knowledge base name" in run("kb", "drop", "../news", "--yes", "--json", code=2)["error"]
    assert run("kb", "drop", "news", "--json", code=2)["error"] == (
        "Dropping 'news' deletes its 4 articles for good; add --yes to confirm."
    )
    feeds = FeedRegistry(open_database(settings, FEEDS))
    feeds.add("news", "https://example.com/feed.xml")
    assert "stop following them first" in run("kb", "drop", "news", "--yes", "--json", code=2)["error"]
    assert (settings.bm25_dir / "news").is_dir()
    feeds.remove("news", "https://example.com/feed.xml")

    dropped = run("kb", "drop", "news", "--yes", "--json")
    assert dropped == {"kb": "news", "articles": 4, "passages": dropped["passages"], "dropped": True}
    assert dropped["passages"] >= 4
    assert [k["kb"] for k in run("kb", "ls", "--json")["knowledge_bases"]] == ["default"]
    assert not (settings.bm25_dir / "news").exists() and any((settings.bm25_dir / "default").iterdir())
    assert "No knowledge base 'news'" in run("search", "Hikvision", "--kb", "news", code=2)["text"]
    assert run("kb", "stats", "--json")["articles"] == 4
