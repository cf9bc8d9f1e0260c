"""Hostile files and content: pipes and devices, credentials, giant words, hidden NULs, tag floods, wrong JSON types,
and text that looks like terminal markup. Each was an attack that once hung, leaked or crashed something."""

from __future__ import annotations

import json
import os
from pathlib import Path

from retrieval.ingest.chunker import chunk_article
from retrieval.loaders import load_source, load_upload
from retrieval.loaders.url import SafeFetcher
from retrieval.settings import Settings
from retrieval.types import Article


def _load(source: Path | str, settings: Settings, **options: bool):
    return load_source(str(source), settings, SafeFetcher(settings), **options)


def test_pipes_and_devices_are_refused_unread(tmp_path: Path, settings: Settings) -> None:
    fifo = tmp_path / "feed.txt"
    os.mkfifo(fifo)  # nobody writes to it: opening it for a blocking read would hang forever
    for source in (fifo, Path("/dev/zero")):
        (failure,) = _load(source, settings).failures
        assert "not a regular file" in failure.error


def test_credentials_are_not_indexed_unless_the_operator_insists(tmp_path: Path, settings: Settings) -> None:
    env = tmp_path / ".env"
    env.write_text("DISCORD_TOKEN=MTExMTExMTExMTExMTExMTEx.GaBcDe.abcdefghijklmnopqrstuvwxyz12345\n")
    key = tmp_path / "notes.txt"
    key.write_text("Deploy notes\nThe key is sk-proj-abcdefghijklmnopqrstuvwx and must stay private.\n")
    for source in (env, key):
        (failure,) = _load(source, settings).failures
        assert "looks like it holds credentials" in failure.error
        assert "sk-proj" not in failure.error and "MTEx" not in failure.error  # the secret is not echoed
    assert len(_load(key, settings, allow_secrets=True).articles) == 1
    assert _load(tmp_path, settings).skipped == 1  # the folder walk skips .env and says so


def test_a_giant_word_becomes_bounded_passages(settings: Settings) -> None:
    article = Article(title="Spam", text="Intro sentence here. " + "x" * 1_000_000)
    chunks = chunk_article(article, lambda texts: [len(t) // 4 for t in texts], max_tokens=192)
    # Each sentence piece is at most 192 x 8 characters; a passage joins pieces up to its token budget.
    assert len(chunks) > 100 and max(len(c.text) for c in chunks) <= 2 * 192 * 8


def test_control_characters_after_the_sniffed_head_are_stripped(settings: Settings) -> None:
    data = b"Harbour news\n" + b"The harbour reopened. " * 500 + b"Hidden\x00NUL and \x1b[31mescape\x07 codes.\n"
    (article,) = load_upload("story.txt", data, settings).articles
    assert "\x00" not in article.text and "\x1b" not in article.text and "HiddenNUL" in article.text


def test_a_flood_of_tags_is_refused_quickly(settings: Settings) -> None:
    (failure,) = load_upload("flood.html", b"<html><body>" + b"<p>x</p>" * 1_000_000, settings).failures
    assert "HTML tags" in failure.error


def test_jsonl_fields_of_the_wrong_type_fail_their_line_only(settings: Settings) -> None:
    good = {"title": "Dock strike ends", "text": "Dock workers accepted the offer."}
    lines = [
        good,
        {**good, "outlet": {"x": 1}},
        {**good, "url": 5},
        {**good, "author": ["a", "b"]},
        {**good, "url": "file:///etc/passwd"},
        {**good, "published": "sometime soon"},
        ["not", "an", "object"],
    ]
    loaded = load_upload("batch.jsonl", "\n".join(json.dumps(x) for x in lines).encode(), settings)
    assert [a.title for a in loaded.articles] == ["Dock strike ends"]
    reasons = {f.source.rsplit(":", 1)[1]: f.error for f in loaded.failures}
    assert set(reasons) == {"2", "3", "4", "5", "6", "7"}
    assert '"url" must be an http(s) link' in reasons["5"] and '"published"' in reasons["6"]


def test_markup_in_paths_and_titles_does_not_crash_the_cli(run, tmp_path: Path) -> None:
    (tmp_path / "news[").mkdir()
    odd = tmp_path / "news[/x].txt"  # the path reads as a closing tag to Rich
    odd.write_text("Council [/bold] vote [red]delayed\nThe council delayed its vote on the harbour plan to May.\n")
    run("ingest", str(odd))
    assert "[/bold]" in run("kb", "list")["text"]
    assert "[/bold]" in run("search", "council vote delayed")["text"]
    missing = run("ingest", str(tmp_path / "[/x]missing.txt"), code=2)["text"]
    assert "[/x]missing.txt does not exist" in missing
