"""What moderators see, on the wire: reports that name articles, Discord timestamps, audit mentions that ping
nobody, insights, titles as typed, feed autocomplete, complete digests and an escaped Show passage."""

from __future__ import annotations

import json
import re

from retrieval.types import Article
from tests.discord_harness import BOT_ID, CHANNEL_A, GUILD_A, GUILD_B, Harness, message_payload, user_payload
from tests.test_bot_discord import (
    MEMBER,
    MOD,
    OTHER,
    ask_payload,
    assert_safe,
    component,
    final_embed,
    kb_payload,
    paste_article,
    slash,
)

AUDIT = 555555555555555555
TIMESTAMP = re.compile(r"<t:\d+:R>")


def _audit_channel(h: Harness) -> None:
    h.add_channel(GUILD_A, AUDIT, 0, "audit")
    h.bot.settings.audit_channel_id = AUDIT


def _bodies(sent) -> str:
    return json.dumps([s.body for s in sent], ensure_ascii=False)


def _clickable(sent_body: dict) -> dict:
    """A message payload carrying `sent_body`'s buttons, as Discord would send it back with a click."""
    message = message_payload(CHANNEL_A, {}, user_payload(BOT_ID, "newsdesk", True))
    message["components"] = sent_body["components"]
    return message


def _custom_ids(body: dict) -> dict[str, str]:
    return {c.get("label"): c["custom_id"] for row in body.get("components", []) for c in row["components"]}


async def test_bot_report_names_the_article_and_the_audit_line_mentions_the_moderator(harness: Harness) -> None:
    _audit_channel(harness)
    sent = await paste_article(
        harness,
        "Bridge reopens [early](https://evil.example)",
        "The harbour bridge reopened on Monday.",
        url="https://news.example/bridge",
    )
    report = [s.body["content"] for s in sent if s.method == "PATCH" and s.body.get("content")][-1]
    assert report.startswith("Adding Bridge reopens") and "Added 1 · updated 0 · unchanged 0 · failed 0" in report
    assert "**Added**\n• [Bridge reopens" in report and report.endswith("](https://news.example/bridge)")
    assert "](https://evil" not in report  # the title is text; only the article's own address is a link
    audit = next(s for s in sent if s.path == f"/channels/{AUDIT}/messages")
    assert audit.body["content"].startswith(f"<@{MOD}> — Adding") and "**Added**" in audit.body["content"]
    assert audit.body["allowed_mentions"]["parse"] == [] and "users" not in audit.body["allowed_mentions"]
    assert_safe(sent)


async def test_bot_failures_are_named_with_one_reason_and_clear_once_the_source_works(harness: Harness) -> None:
    from retrieval.types import IngestFailure

    url = "https://news.example/ferry"
    harness.bot.store.record_failures(GUILD_A, [IngestFailure(url, f"{url} answered HTTP 404; check the link.")])
    status = final_embed(await harness.interact(kb_payload(harness, "status", [])))
    failures = next(f["value"] for f in status["fields"] if f["name"] == "Recent failures")
    assert failures.count("news.example/ferry") == 1 and "answered HTTP 404" in failures  # the address once
    assert TIMESTAMP.search(failures) and TIMESTAMP.fullmatch(
        next(f["value"] for f in status["fields"] if f["name"] == "Last refresh")
    )
    await paste_article(harness, "Ferry timetable changes", "The ferry leaves at 9am.", url=url)
    status = final_embed(await harness.interact(kb_payload(harness, "status", [])))
    assert "Recent failures" not in [f["name"] for f in status["fields"]]


async def test_bot_kb_add_refuses_a_link_that_is_not_one_in_one_sentence(harness: Harness) -> None:
    sent = await harness.interact(kb_payload(harness, "add", [{"name": "url", "type": 3, "value": "not a url"}]))
    assert len(sent) == 1 and sent[0].body["data"]["flags"] == 64
    assert sent[0].body["data"]["content"] == "This link contains spaces or control characters: 'not a url'"
    bare = await harness.interact(kb_payload(harness, "add", [{"name": "url", "type": 3, "value": "notaurl"}]))
    assert len(bare) == 1 and bare[0].body["data"]["content"].startswith("Only http and https links can be added")


async def test_bot_kb_add_goes_on_when_its_progress_edit_fails_and_reports_by_dm(harness: Harness) -> None:
    harness.wire.tokens_expired = True  # every edit of the reply fails, from the first progress line on
    sent = await paste_article(harness, "Harbour reopens", "The harbour reopened on Monday after the storm.")
    assert "Something went wrong" not in _bodies(sent)
    dm = [s for s in sent if s.method == "POST" and s.path.startswith("/channels/") and s.body.get("content")]
    assert (
        "Adding Harbour reopens done. Added 1" in dm[-1].body["content"]
        and "• Harbour reopens" in dm[-1].body["content"]
    )
    assert any(a.title == "Harbour reopens" for a in harness.bot.services.kb(f"guild-{GUILD_A}").articles())


async def test_bot_insights_count_top_questions_unanswered_topics_and_the_helpful_rate(harness: Harness) -> None:
    empty = final_embed(await harness.interact(kb_payload(harness, "insights", [])))
    assert empty["description"] == "0 questions, 0 unanswered. Helpful rate: no votes yet."
    first = await harness.interact(ask_payload(harness, "why did Canada ban Hikvision?", user=MEMBER))
    await harness.interact(ask_payload(harness, "Why did canada ban Hikvision", user=OTHER))
    gaps = ["What did lattice QCD results show about quark confinement?", "quark confinement lattice results"]
    for n, gap in enumerate(gaps):
        await harness.interact(ask_payload(harness, gap, user=600000000000000001 + n))
    await harness.interact(slash(harness, "digest", [], user=600000000000000009))  # not a question
    buttons = _custom_ids(first[-1].body)
    await harness.interact(component(harness, buttons["Helpful"], _clickable(first[-1].body)))
    await harness.interact(component(harness, buttons["Not helpful"], _clickable(first[-1].body), user=MOD))
    embed = final_embed(await harness.interact(kb_payload(harness, "insights", [])))
    assert embed["description"] == "4 questions, 2 unanswered. Helpful rate: 50% (1 of 2 votes)."
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Top questions"].startswith("• why did Canada ban Hikvision? — ×2")
    unanswered = fields["Unanswered, by topic (articles to add?)"]
    assert unanswered.startswith("• **") and "(2): What did lattice QCD" in unanswered and "quark" in unanswered
    elsewhere = final_embed(await harness.interact(kb_payload(harness, "insights", [], guild=GUILD_B)))
    assert elsewhere["description"].startswith("0 questions")


async def test_bot_kb_remove_takes_an_exact_title_and_suggests_the_closest(harness: Harness) -> None:
    option = [{"name": "article", "type": 3, "value": "Hikvision shut down in Canada"}]
    vague = await harness.interact(kb_payload(harness, "remove", option))
    text = vague[-1].body["content"]
    assert text.startswith("No article matches “Hikvision shut down in Canada”; the closest: “Canada kicks out")
    assert "newsdesk" not in text and vague[-1].body["flags"] == 64
    exact = [
        {
            "name": "article",
            "type": 3,
            "value": "  BUYER found for TikTok, identities to be revealed soon, says Donald Trump ",
        }
    ]
    removed = await harness.interact(kb_payload(harness, "remove", exact))
    assert removed[-1].body["content"].startswith("Removed “Buyer found for TikTok")


def _feeds(h: Harness, sub: str, options: list[dict], **kwargs) -> dict:
    payload = kb_payload(h, "feeds", [], **kwargs)
    payload["data"]["options"] = [
        {"name": "feeds", "type": 2, "options": [{"name": sub, "type": 1, "options": options}]}
    ]
    return payload


async def test_bot_feeds_remove_autocompletes_titles_and_takes_one_as_typed(harness: Harness) -> None:
    kb = f"guild-{GUILD_A}"
    for url, title in (("https://harbour.example/feed.xml", "Harbour Times"), ("https://city.example/atom", None)):
        feed, _ = harness.bot.feeds.add(kb, url)
        feed.title = title
        harness.bot.feeds.save(kb, feed)
    typing = _feeds(harness, "remove", [{"name": "feed", "type": 3, "value": "harbr", "focused": True}])
    typing["type"] = 4
    choices = (await harness.interact(typing))[-1].body["data"]["choices"]
    assert choices[0] == {"name": "Harbour Times", "value": "https://harbour.example/feed.xml"}
    member = _feeds(
        harness, "remove", [{"name": "feed", "type": 3, "value": "h", "focused": True}], user=MEMBER, permissions=0
    )
    member["type"] = 4
    assert (await harness.interact(member))[-1].body["data"]["choices"] == []  # moderators only
    unknown = await harness.interact(_feeds(harness, "remove", [{"name": "feed", "type": 3, "value": "Dock News"}]))
    assert unknown[-1].body["data"]["content"].startswith("No followed feed matches “Dock News”")
    assert "newsdesk" not in _bodies(unknown)
    removed = await harness.interact(_feeds(harness, "remove", [{"name": "feed", "type": 3, "value": "harbour times"}]))
    assert removed[-1].body["data"]["content"] == (
        "No longer following Harbour Times (<https://harbour.example/feed.xml>)."
    )
    assert [f.url for f in harness.bot.feeds.feeds(kb)] == ["https://city.example/atom"]


async def test_bot_every_source_of_a_34_story_digest_is_reachable_in_a_titled_pager(harness: Harness) -> None:
    stories = [
        Article(
            title=f"Harbour story {i}",
            text=f"The council approved harbour item {i} on Monday.",
            url=f"https://news.example/harbour/2099/03/01/{i}-" + "x" * 60,
            outlet="Harbour Times",
            published="2099-03-01",
        )
        for i in range(1, 35)
    ]
    harness.bot.services.kb(f"guild-{GUILD_B}").ingest_articles(stories)
    sent = await harness.interact(
        slash(harness, "digest", [{"name": "since", "type": 3, "value": "30d"}], guild=GUILD_B)
    )
    answer = sent[-1].body
    embed = answer["embeds"][0]
    under = " ".join(f["value"] for f in embed["fields"])
    assert "[34]" not in under and re.search(r"Sources \[\d+\]-\[34\]: press Show more", embed["footer"]["text"])
    shown = (
        await harness.interact(component(harness, _custom_ids(answer)["Show more"], _clickable(answer), guild=GUILD_B))
    )[0].body["data"]
    assert re.fullmatch(r"Digest of the month to \d+ \w+", shown["embeds"][0]["title"])  # not "digest since …"
    seen = [shown["embeds"][0]["description"]]
    while not next(c for row in shown["components"] for c in row["components"] if c["label"] == "Next").get("disabled"):
        shown = (
            await harness.interact(component(harness, _custom_ids(shown)["Next"], _clickable(shown), guild=GUILD_B))
        )[0].body["data"]
        seen.append(shown["embeds"][0]["description"])
    pages = "\n".join(seen)
    assert "**Sources**" in pages
    assert all(
        f"[{n}] [Harbour story " in pages and f"[Harbour story {n}](https://news.example/" in pages
        for n in range(1, 35)
    )


async def test_bot_show_passage_escapes_article_text_in_every_field(harness: Harness) -> None:
    trap = Article(
        title="Timetable [update](https://evil.example/t) @everyone",
        text="See [the official timetable](https://evil.example/login) for the new ferry times from Monday.",
        published="2099-03-01",
    )
    harness.bot.services.kb(f"guild-{GUILD_B}").ingest_articles([trap])
    sent = await harness.interact(
        slash(harness, "digest", [{"name": "since", "type": 3, "value": "30d"}], guild=GUILD_B)
    )
    answer = sent[-1].body
    shown = (
        await harness.interact(
            component(harness, _custom_ids(answer)["Show passage"], _clickable(answer), guild=GUILD_B)
        )
    )[0].body["data"]
    fields = shown["embeds"][0]["fields"]
    assert "evil.example/login" in fields[0]["value"] and "evil.example/t" in fields[0]["name"]
    for f in fields:
        assert "](" not in f["name"] + f["value"]  # no "[text](url)" can form
    assert_safe(sent)
