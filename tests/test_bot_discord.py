"""The Discord bot, driven by raw gateway payloads; assertions are on the HTTP requests Discord would receive."""

from __future__ import annotations

import json
from pathlib import Path

import discord

from bot.client import NewsdeskBot
from bot.cogs import kb_admin
from retrieval.knowledge_base import Services
from retrieval.types import Article
from tests.conftest import SAMPLE_CORPUS, make_settings
from tests.discord_harness import (
    BOT_ID,
    CHANNEL_A,
    CHANNEL_B,
    GUILD_A,
    GUILD_B,
    Harness,
    Sent,
    message_payload,
    snowflake,
    user_payload,
)

MOD, MEMBER, OTHER = 500000000000000001, 500000000000000002, 500000000000000003
MANAGE_GUILD = discord.Permissions(manage_guild=True).value
PINGY = Article(
    title="Hikvision protest planned",
    text="Organisers told @everyone and <@&123456789012345678> to meet <@500000000000000003> outside the Hikvision "
    "office in Ottawa on Monday to protest the camera maker.",
    outlet="Pingy Post",
)


def slash(
    h: Harness, name: str, options: list[dict] | None = None, *, guild: int | None = GUILD_A, user: int = MEMBER
) -> dict:
    """A plain slash command from `user` in `guild` (None: a direct message)."""
    channel = CHANNEL_B if guild == GUILD_B else CHANNEL_A
    return h.interaction_payload(name, options or [], guild_id=guild, channel_id=channel, user_id=user)


def ask_payload(
    h: Harness, question: str, *, guild: int | None = GUILD_A, user: int = MEMBER, private: bool = False
) -> dict:
    options = [{"name": "question", "type": 3, "value": question}]
    if private:
        options.append({"name": "private", "type": 5, "value": True})
    return slash(h, "ask", options, guild=guild, user=user)


def component(
    h: Harness,
    custom_id: str,
    message: dict,
    *,
    values: list[str] | None = None,
    guild: int = GUILD_A,
    user: int = OTHER,
) -> dict:
    """A click on a button (or a choice in a select, with `values`) under `message`, by OTHER in GUILD_A."""
    data: dict = {"custom_id": custom_id, "component_type": 3 if values else 2}
    if values:
        data["values"] = values
    channel = CHANNEL_B if guild == GUILD_B else CHANNEL_A
    return h.interaction_payload(
        "", [], guild_id=guild, channel_id=channel, user_id=user, kind=3, data=data, message=message
    )


def kb_payload(
    h: Harness,
    sub: str,
    options: list[dict],
    *,
    user: int = MOD,
    permissions: int = MANAGE_GUILD,
    guild: int = GUILD_A,
    resolved: dict | None = None,
) -> dict:
    data = {"id": str(snowflake()), "name": "kb", "type": 1, "options": [{"name": sub, "type": 1, "options": options}]}
    if resolved:
        data["resolved"] = resolved
    channel = CHANNEL_A if guild == GUILD_A else CHANNEL_B
    return h.interaction_payload(
        "kb", [], guild_id=guild, channel_id=channel, user_id=user, permissions=permissions, data=data
    )


async def paste_article(
    h: Harness, title: str, body: str, *, guild: int = GUILD_A, user: int = MOD, **fields: str
) -> list[Sent]:
    """`/kb add` with no link or file opens a form; fill it in and submit it, as a moderator would."""
    opened = await h.interact(kb_payload(h, "add", [], guild=guild, user=user))
    modal = opened[-1].body
    assert modal["type"] == 9, modal  # the form
    values = {"title": title, "body": body, **fields}
    rows = [
        {"type": 1, "components": [{"type": 4, "custom_id": i["custom_id"], "value": values.get(i["custom_id"], "")}]}
        for row in modal["data"]["components"]
        for i in row["components"]
    ]
    submit = h.interaction_payload(
        "",
        [],
        guild_id=guild,
        channel_id=CHANNEL_B if guild == GUILD_B else CHANNEL_A,
        user_id=user,
        permissions=MANAGE_GUILD,
        kind=5,
        data={"custom_id": modal["data"]["custom_id"], "components": rows},
    )
    return opened + await h.interact(submit)


def assert_safe(sent: list[Sent]) -> None:
    """Every message body pings nobody and fits Discord's limits."""
    for s in sent:
        if not s.is_message:
            continue
        body = s.body or {}
        assert body.get("allowed_mentions", {}).get("parse") == [], s
        assert len(body.get("content") or "") <= 2000
        for embed in body.get("embeds") or []:
            assert len(embed.get("description", "")) <= 4096 and len(embed.get("title", "")) <= 256
            assert len(embed.get("fields", [])) <= 25 and all(len(f["value"]) <= 1024 for f in embed.get("fields", []))
            total = (
                len(embed.get("title", ""))
                + len(embed.get("description", ""))
                + sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", []))
                + len(embed.get("footer", {}).get("text", ""))
            )
            assert total <= 6000


def final_embed(sent: list[Sent]) -> dict:
    return next(s.body["embeds"][0] for s in reversed(sent) if s.is_message and s.body.get("embeds"))


def private_text(sent: list[Sent]) -> str:
    messages = [s for s in sent if s.is_message and (s.body.get("flags", 0) & 64 or s.body.get("data", {}))]
    bodies = [m.body.get("data", m.body) for m in messages]
    return " ".join(b.get("content") or "" for b in bodies)


async def test_bot_ask_defers_then_follows_up_with_a_cited_embed(harness: Harness) -> None:
    sent = await harness.interact(ask_payload(harness, "why did Canada ban Hikvision?"))
    assert sent[0].path.endswith("/callback") and sent[0].body["type"] == 5  # defer first
    embed = final_embed(sent)
    assert "national security" in embed["description"]
    sources = embed["fields"][0]
    assert sources["name"] == "Sources" and "[1]" in sources["value"] and "Reuters" in sources["value"]
    followup = sent[-1]
    assert followup.method == "POST" and f"/webhooks/{harness.bot.application_id}/" in followup.path
    buttons = [c["custom_id"] for row in followup.body["components"] for c in row["components"]]
    assert any(b.startswith("nd:fb:up:") for b in buttons) and any(b.startswith("nd:passage:") for b in buttons)
    assert_safe(sent)


async def test_bot_refusal_shows_nearest_articles_only_when_they_are_close(harness: Harness) -> None:
    far = final_embed(await harness.interact(ask_payload(harness, "who won the 2026 football world cup?")))
    assert far["description"].startswith("I couldn't find") and "fields" not in far  # nothing unrelated offered
    near = final_embed(await harness.interact(ask_payload(harness, "When was Hikvision founded?", user=OTHER)))
    assert near["description"].startswith("I couldn't find") and "Nearest articles" in near["fields"][0]["name"]
    assert "Canada kicks out Chinese" in near["fields"][0]["value"]


async def test_bot_private_ask_is_ephemeral(harness: Harness) -> None:
    sent = await harness.interact(ask_payload(harness, "why did Canada ban Hikvision?", private=True))
    assert sent[0].body["data"]["flags"] == 64 and sent[-1].body["flags"] == 64


async def test_bot_servers_are_isolated(harness: Harness) -> None:
    embed = final_embed(await harness.interact(ask_payload(harness, "why did Canada ban Hikvision?", guild=GUILD_B)))
    assert embed["description"].startswith("I couldn't find") and "fields" not in embed
    bridge = "The Ottawa harbour bridge reopened on Monday after repairs."
    await paste_article(harness, "Bridge", bridge, guild=GUILD_B)
    a = final_embed(await harness.interact(ask_payload(harness, "did the Ottawa harbour bridge reopen?", user=OTHER)))
    assert "bridge" not in a["description"].lower()


async def test_bot_user_cooldown_refuses_privately(harness: Harness) -> None:
    await harness.interact(ask_payload(harness, "why did Canada ban Hikvision?"))
    sent = await harness.interact(ask_payload(harness, "and TikTok?"))
    assert len(sent) == 1 and sent[0].body["type"] == 4 and sent[0].body["data"]["flags"] == 64
    assert "Slow down" in sent[0].body["data"]["content"]


async def test_bot_mentions_in_articles_ping_nobody(harness: Harness) -> None:
    harness.bot.services.kb(f"guild-{GUILD_A}").ingest_articles([PINGY])
    sent = await harness.interact(ask_payload(harness, "who was told to protest at the Hikvision office?"))
    embed = final_embed(sent)
    assert "@everyone" in embed["description"]  # shown as text...
    assert_safe(sent)  # ...with allowed_mentions {"parse": []} on every message


async def test_bot_non_moderators_cannot_change_the_knowledge_base(harness: Harness) -> None:
    add = kb_payload(
        harness, "add", [{"name": "url", "type": 3, "value": "https://example.org/x"}], user=MEMBER, permissions=0
    )
    sent = await harness.interact(add)
    assert len(sent) == 1 and sent[0].body["data"]["flags"] == 64
    assert "Only moderators" in sent[0].body["data"]["content"]


def _add_role(harness: Harness, role_id: int, name: str) -> None:
    guild = harness.bot.get_guild(GUILD_A)
    data = {"id": str(role_id), "name": name, "permissions": "0", "position": 1, "color": 0, "hoist": False}
    guild._add_role(discord.Role(guild=guild, state=harness.bot._connection, data={**data, "managed": False}))


async def test_bot_moderator_role_is_matched_by_id_not_name(harness: Harness) -> None:
    role_id, impostor = snowflake(), snowflake()
    harness.bot.settings.moderator_role_ids = frozenset({role_id})
    _add_role(harness, role_id, "news-mods")
    _add_role(harness, impostor, "news-mods")  # anyone can create a role with the same name
    payload = kb_payload(harness, "feedback", [], user=MEMBER, permissions=0)
    payload["member"]["roles"] = [str(impostor)]
    (refusal,) = await harness.interact(payload)
    assert "Only moderators" in refusal.body["data"]["content"]
    payload = kb_payload(harness, "feedback", [], user=MEMBER, permissions=0)
    payload["member"]["roles"] = [str(role_id)]
    sent = await harness.interact(payload)
    assert final_embed(sent)["title"] == "What members missed"


async def test_bot_attachment_ingest_reports_progress_and_a_summary(harness: Harness, monkeypatch) -> None:
    monkeypatch.setattr(kb_admin, "PROGRESS_INTERVAL_S", 0.0)
    lines = [json.dumps({"title": f"Council note {i}", "text": f"The council approved item {i}."}) for i in range(150)]
    url = "https://cdn.discordapp.com/attachments/1/2/notes.jsonl"
    harness.wire.cdn[url] = "\n".join(lines).encode()
    attachment_id = str(snowflake())
    resolved = {
        "attachments": {
            attachment_id: {
                "id": attachment_id,
                "filename": "notes.jsonl",
                "size": 5000,
                "url": url,
                "proxy_url": url,
                "content_type": "application/json",
            }
        }
    }
    payload = kb_payload(
        harness, "add", [{"name": "attachment", "type": 11, "value": attachment_id}], resolved=resolved
    )
    sent = await harness.interact(payload)
    edits = [s.body.get("content", "") for s in sent if s.method == "PATCH"]
    assert any("/150 passages embedded" in e for e in edits)
    assert edits[-1].startswith("Adding notes.jsonl done. Added 150 · updated 0 · unchanged 0 · failed 0")
    assert sent[0].body["data"]["flags"] == 64  # moderator replies are private
    assert_safe(sent)


async def test_bot_kb_add_bad_url_is_one_private_sentence(harness: Harness) -> None:
    sent = await harness.interact(
        kb_payload(harness, "add", [{"name": "url", "type": 3, "value": "http://127.0.0.1/admin"}])
    )
    assert "private or local address" in sent[-1].body["content"]
    status = final_embed(await harness.interact(kb_payload(harness, "status", [])))
    assert "127.0.0.1" in status["fields"][-1]["value"]


async def test_bot_mention_answers_in_a_new_thread_and_uses_history_for_follow_ups(harness: Harness) -> None:
    sent = await _mention(harness, CHANNEL_A)
    thread_call = next(s for s in sent if s.path.endswith("/threads"))
    assert thread_call.body["name"] == "why did Canada ban Hikvision?"
    answer = next(s for s in sent if s.is_message)
    thread_id = int(answer.path.split("/")[2])
    assert "national security" in answer.body["embeds"][0]["description"]
    assert_safe(sent)

    harness.add_thread(thread_id, CHANNEL_A, GUILD_A, "why did Canada ban Hikvision?")
    bot_author = user_payload(BOT_ID, "newsdesk", True)
    previous = message_payload(thread_id, {"embeds": [answer.body["embeds"][0]]}, bot_author)
    harness.wire.history[thread_id] = [previous]
    follow = await harness.message("what did the company say?", guild_id=GUILD_A, channel_id=thread_id, user_id=OTHER)
    assert any(s.method == "GET" and s.path.startswith(f"/channels/{thread_id}/messages") for s in follow)
    reply = next(s for s in follow if s.is_message)
    assert reply.path == f"/channels/{thread_id}/messages"
    assert "Reuters" in reply.body["embeds"][0]["fields"][0]["value"]  # history made "the company" Hikvision


async def test_bot_ignores_other_bots_and_unrelated_messages(harness: Harness) -> None:
    assert await harness.message("hello all", guild_id=GUILD_A, channel_id=CHANNEL_A, user_id=MEMBER) == []


async def test_bot_feedback_and_show_passage_buttons(harness: Harness) -> None:
    sent = await harness.interact(ask_payload(harness, "why did Canada ban Hikvision?"))
    buttons = [c["custom_id"] for row in sent[-1].body["components"] for c in row["components"]]
    message = message_payload(CHANNEL_A, {}, user_payload(BOT_ID, "newsdesk", True))
    message["components"] = sent[-1].body["components"]

    passage = await harness.interact(
        component(harness, next(b for b in buttons if b.startswith("nd:passage:")), message)
    )
    shown = passage[0].body["data"]
    assert shown["flags"] == 64 and "national security" in json.dumps(shown["embeds"])
    down = await harness.interact(component(harness, next(b for b in buttons if b.startswith("nd:fb:down:")), message))
    assert down[0].body["type"] == 7  # the answer's buttons are redrawn with the count
    assert down[1].body["flags"] == 64 and "What was wrong" in down[1].body["content"]
    answer_id = buttons[0].rsplit(":", 1)[1]
    assert harness.bot.store.feedback(answer_id) == [(OTHER, False, None)]


async def test_bot_summary_digest_and_sources(harness: Harness) -> None:
    topic = [{"name": "topic", "type": 3, "value": "TikTok sale"}]
    summary = final_embed(await harness.interact(slash(harness, "summary", topic)))
    assert "TikTok" in summary["description"] and summary["fields"][0]["name"] == "Sources"
    digest = final_embed(await harness.interact(slash(harness, "digest", user=OTHER)))
    assert digest["description"].count("\n- ") >= 3
    sources = final_embed(await harness.interact(slash(harness, "sources", user=MOD)))
    assert {f["name"]: f["value"] for f in sources["fields"]}["Articles"] == "4"


async def test_bot_busy_server_refuses_privately_past_its_queue(harness: Harness) -> None:
    from bot.checks import GuildSlots

    harness.bot.slots = GuildSlots(2, queue=0)
    async with harness.bot.slots.slot(GUILD_A), harness.bot.slots.slot(GUILD_A):
        sent = await harness.interact(ask_payload(harness, "why did Canada ban Hikvision?"))
    assert "busy answering" in sent[-1].body["content"] and sent[-1].body["flags"] == 64
    assert any(s.method == "DELETE" for s in sent)  # the public "thinking…" placeholder was removed


async def test_bot_streams_only_checked_sentences_then_the_final_embed(
    tmp_path: Path, model_dir: Path, monkeypatch
) -> None:
    """A model writing at a realistic pace, one sentence of four dropped by the check: every edit shows checked
    sentences only, in order, and the dropped one (or a draft) is in no request at all."""
    from bot import delivery
    from tests.openai_server import Step, fake_llm

    monkeypatch.setattr(delivery, "EDIT_INTERVAL_S", 0.0)  # every checked update becomes an edit
    kept = [
        "Canada ordered Hikvision to shut down its Canadian operations over national security",
        "Hikvision said it strongly disagrees with the government's decision",
        "Major retailers such as Best Buy and Home Depot stopped selling Hikvision products as early as 2021",
    ]
    dropped = "The Halifax ferry service was shut down by the same order"
    reply = " ".join(f"{s} [{{Hikvision}}]." for s in [kept[0], dropped, *kept[1:]])
    with fake_llm(Step(reply, chunk_delay_s=0.01)) as llm:
        settings = make_settings(tmp_path / "data", model_dir, openai_base_url=llm.base_url, openai_api_key="k")
        services = Services(settings)
        services.kb(f"guild-{GUILD_A}").ingest([str(SAMPLE_CORPUS)])
        h = Harness(NewsdeskBot(settings, services))
        await h.start()
        h.add_guild(GUILD_A, CHANNEL_A)
        sent = await h.interact(ask_payload(h, "why did Canada ban Hikvision?"))
    wire = json.dumps([s.body for s in sent])
    assert "Halifax" not in wire and "Draft" not in wire
    edits = [s for s in sent if s.method == "PATCH"]
    progress = [e.body["content"] for e in edits[:-1] if e.body["content"] != delivery.SLOW_NOTICE]
    shown = [content.removesuffix(delivery.WRITING) for content in progress]
    checked = [f"{s} [1]." for s in kept]
    assert shown == [checked[0], " ".join(checked[:2])]  # sentence by sentence, in order
    final = edits[-1].body
    assert final["content"] is None and final["embeds"][0]["description"].replace("**", "") == " ".join(checked)
    assert final["embeds"][0]["footer"]["text"] == "LLM answer, citations checked"
    assert_safe(sent)
    services.close()


async def test_bot_direct_messages_are_off_by_default(harness: Harness) -> None:
    sent = await harness.interact(ask_payload(harness, "why did Canada ban Hikvision?", guild=None))
    assert "direct messages are turned off" in json.dumps([s.body for s in sent])


async def test_bot_kb_list_remove_and_refresh(harness: Harness) -> None:
    listed = final_embed(await harness.interact(kb_payload(harness, "list", [])))
    assert listed["title"] == "Articles (page 1/1)" and "Reuters" in listed["description"]
    reuters = next(a for a in harness.bot.services.kb(f"guild-{GUILD_A}").articles() if a.outlet == "Reuters")
    removed = await harness.interact(
        kb_payload(harness, "remove", [{"name": "article", "type": 3, "value": reuters.id}])
    )
    assert "Removed" in removed[-1].body["content"] and removed[-1].body["flags"] == 64
    answer = final_embed(await harness.interact(ask_payload(harness, "why did Canada ban Hikvision?", user=OTHER)))
    assert "Reuters" not in json.dumps(answer)
    refresh = await harness.interact(kb_payload(harness, "refresh", []))
    assert "Nothing to refresh" in refresh[-1].body["content"]
    empty = await harness.interact(kb_payload(harness, "list", [], guild=GUILD_B))
    assert "knowledge base is empty" in empty[-1].body["content"]


async def test_bot_feeds_follow_refresh_status_and_background_refresh(harness: Harness) -> None:
    from tests.loopback import Route, serve
    from tests.test_feeds import DATE_1, DOCK, page, rss

    harness.bot.settings.allow_private_urls = True  # the loopback site stands in for a public news site
    routes: dict[str, Route] = {}
    with serve(routes) as site:
        routes["/dock"] = Route(body=page("Dock strike ends", DOCK))
        routes["/feed.xml"] = Route(
            body=rss(site, [("/dock", "Dock strike ends", DATE_1)]), headers={"Content-Type": "application/rss+xml"}
        )

        def feeds_payload(sub: str, options: list[dict]) -> dict:
            payload = kb_payload(harness, "feeds", [])
            payload["data"]["options"] = [
                {"name": "feeds", "type": 2, "options": [{"name": sub, "type": 1, "options": options}]}
            ]
            return payload

        added = await harness.interact(
            feeds_payload("add", [{"name": "url", "type": 3, "value": site.url("/feed.xml")}])
        )
        # Acknowledged (privately) before the feed's host is resolved; the result follows.
        assert added[0].body["type"] == 5 and added[0].body["data"]["flags"] == 64
        assert "Following" in added[-1].body["content"] and added[-1].body["flags"] == 64
        refreshed = await harness.interact(kb_payload(harness, "refresh", []))
        assert "Added 1" in refreshed[-1].body["content"]
        listed = await harness.interact(feeds_payload("list", []))
        assert "Harbour Times" in listed[0].body["data"]["embeds"][0]["description"]
        status = final_embed(await harness.interact(kb_payload(harness, "status", [])))
        assert "1 / 25 followed, 0 failing" in json.dumps(status)

        routes["/feed.xml"] = Route(500, b"down")
        cog = harness.bot.get_cog("FeedRefreshCog")
        for feed in harness.bot.feeds.feeds(f"guild-{GUILD_A}"):
            feed.next_due = 0
            harness.bot.feeds.save(f"guild-{GUILD_A}", feed)
        await cog.run_due()
        (feed,) = harness.bot.feeds.feeds(f"guild-{GUILD_A}")
        assert "HTTP 500" in feed.last_error

        await harness.interact(kb_payload(harness, "refresh", []))  # still down: a recent failure in the status
        assert "Recent failures" in json.dumps(final_embed(await harness.interact(kb_payload(harness, "status", []))))
        routes["/feed.xml"] = Route(
            body=rss(site, [("/dock", "Dock strike ends", DATE_1)]), headers={"Content-Type": "application/rss+xml"}
        )
        await harness.interact(kb_payload(harness, "refresh", []))  # it works again: its failure is forgotten
        assert "Recent failures" not in json.dumps(
            final_embed(await harness.interact(kb_payload(harness, "status", [])))
        )


async def test_bot_audit_channel_records_knowledge_base_changes(harness: Harness) -> None:
    audit_channel = 555555555555555555
    harness.bot._connection.parse_channel_create(
        {
            "id": str(audit_channel),
            "type": 0,
            "name": "audit",
            "position": 1,
            "permission_overwrites": [],
            "guild_id": str(GUILD_A),
        }
    )
    harness.bot.settings.audit_channel_id = audit_channel
    bridge = "The harbour bridge reopened on Monday after repairs."
    sent = await paste_article(harness, "Bridge reopens @everyone", bridge)
    audit = next(s for s in sent if s.path == f"/channels/{audit_channel}/messages")
    assert str(MOD) in audit.body["content"] and "Added 1" in audit.body["content"]
    assert audit.body["allowed_mentions"]["parse"] == []


async def test_bot_not_helpful_reason_is_stored(harness: Harness) -> None:
    sent = await harness.interact(ask_payload(harness, "why did Canada ban Hikvision?"))
    answer_id = next(c["custom_id"] for row in sent[-1].body["components"] for c in row["components"]).rsplit(":", 1)[1]
    message = message_payload(CHANNEL_A, {}, user_payload(BOT_ID, "newsdesk", True))
    message["components"] = sent[-1].body["components"]  # discord.py matches buttons against the message's own
    down = component(harness, f"nd:fb:down:{answer_id}", message)
    await pick_reason(harness, await harness.interact(down), "outdated")
    assert harness.bot.store.feedback(answer_id) == [(OTHER, False, "outdated")]


async def pick_reason(harness: Harness, pressed: list[Sent], reason: str, user: int = OTHER) -> list[Sent]:
    """Choose a reason in the private "What was wrong?" message that pressing Not helpful sent."""
    asked = next(s for s in pressed if s.is_message and "What was wrong" in (s.body.get("content") or ""))
    private = message_payload(CHANNEL_A, asked.body, user_payload(BOT_ID, "newsdesk", True), GUILD_A)
    private["components"] = asked.body["components"]
    select = asked.body["components"][0]["components"][0]["custom_id"]
    return await harness.interact(component(harness, select, private, values=[reason], user=user))


async def test_bot_show_passage_of_a_long_digest_fits_one_embed(harness: Harness) -> None:
    quote = "The council approved the harbour plan after a long debate about costs and schedules. " * 4
    stories = [
        Article(title=f"Harbour story {i} " + "with a long headline " * 6, text=quote, published="2099-03-01")
        for i in range(30)
    ]
    harness.bot.services.kb(f"guild-{GUILD_A}").ingest_articles(stories)
    sent = await harness.interact(slash(harness, "digest", [{"name": "since", "type": 3, "value": "30d"}]))
    buttons = [c["custom_id"] for row in sent[-1].body["components"] for c in row["components"]]
    message = message_payload(CHANNEL_A, {}, user_payload(BOT_ID, "newsdesk", True))
    message["components"] = sent[-1].body["components"]
    shown = await harness.interact(component(harness, next(b for b in buttons if b.startswith("nd:passage:")), message))
    embed = shown[0].body["data"]["embeds"][0]
    assert "did not fit" in embed["footer"]["text"]  # the harness already refused anything over 6000 characters


async def test_bot_long_digest_shows_more_privately_page_by_page(harness: Harness) -> None:
    lead = "The council approved the harbour plan after a long debate about costs and schedules."
    stories = [
        Article(title=f"Harbour story {i} " + "with a long headline " * 6, text=lead, published="2099-03-01")
        for i in range(60)
    ]
    harness.bot.services.kb(f"guild-{GUILD_A}").ingest_articles(stories)
    sent = await harness.interact(slash(harness, "digest", [{"name": "since", "type": 3, "value": "30d"}]))
    assert "press Show more" in sent[-1].body["embeds"][0]["description"]
    buttons = [c["custom_id"] for row in sent[-1].body["components"] for c in row["components"]]
    message = message_payload(CHANNEL_A, {}, user_payload(BOT_ID, "newsdesk", True))
    message["components"] = sent[-1].body["components"]
    more = next(b for b in buttons if b.startswith("nd:more:"))

    shown = (await harness.interact(component(harness, more, message)))[0].body["data"]
    assert shown["flags"] & 64  # private: the channel keeps one message
    assert shown["embeds"][0]["footer"]["text"].startswith("Page 2 of ")
    assert "Harbour story" in shown["embeds"][0]["description"]
    labels = [c["label"] for row in shown["components"] for c in row["components"]]
    assert labels == ["Previous", "Next"]
    elsewhere = await harness.interact(component(harness, more, message, guild=GUILD_B))
    assert elsewhere[0].body["data"]["content"] == "That answer is not available here."


async def test_bot_long_error_replies_are_clipped(harness: Harness, monkeypatch) -> None:
    from retrieval.answer.summaries import SummaryService
    from retrieval.errors import BadInputError

    def refuse(self, topic: str) -> None:
        raise BadInputError("This topic is not summarisable: " + "x" * 2500)

    monkeypatch.setattr(SummaryService, "topic", refuse)
    sent = await harness.interact(slash(harness, "summary", [{"name": "topic", "type": 3, "value": "anything"}]))
    assert "not summarisable" in json.dumps([s.body for s in sent])  # and within 2000 (the harness checks)


async def _mention(h: Harness, channel_id: int, user: int = MEMBER) -> list[Sent]:
    question = f"<@{BOT_ID}> why did Canada ban Hikvision?"
    return await h.message(question, guild_id=GUILD_A, channel_id=channel_id, user_id=user, mentions_bot=True)


def _answers(sent: list[Sent]) -> list[Sent]:
    return [s for s in sent if s.is_message and s.body.get("embeds")]


async def test_bot_mentions_inside_threads_forums_and_voice_chats_are_answered_in_place(harness: Harness) -> None:
    someone_elses = snowflake()
    harness.add_thread(someone_elses, CHANNEL_A, GUILD_A, "news chat", owner_id=OTHER)
    forum, post = snowflake(), snowflake()
    harness.add_channel(GUILD_A, forum, 15, "ask-the-news")
    harness.add_thread(post, forum, GUILD_A, "Hikvision in Canada", owner_id=MEMBER)
    harness.wire.history[post] = []
    voice = snowflake()
    harness.add_channel(GUILD_A, voice, 2, "voice")
    for channel, user in ((someone_elses, MEMBER), (post, OTHER), (voice, MOD)):  # one question each (cooldown)
        sent = await _mention(harness, channel, user)
        assert not any(s.path.endswith("/threads") for s in sent)  # never a thread from inside a thread
        (answer,) = _answers(sent)
        assert answer.path == f"/channels/{channel}/messages" and answer.body["message_reference"]
        assert any(s.path == f"/channels/{channel}/typing" for s in sent)  # "newsdesk is typing…" while it works
        assert "national security" in answer.body["embeds"][0]["description"]


async def test_bot_replies_in_the_channel_when_it_cannot_start_a_thread(harness: Harness) -> None:
    harness.wire.refuse_threads = True
    (answer,) = _answers(await _mention(harness, CHANNEL_A))
    assert answer.path == f"/channels/{CHANNEL_A}/messages" and answer.body["message_reference"]


async def test_bot_a_reply_to_an_answer_is_a_follow_up_anywhere(harness: Harness) -> None:
    harness.wire.refuse_threads = True
    (first,) = _answers(await _mention(harness, CHANNEL_A))
    ours = message_payload(CHANNEL_A, first.body, user_payload(BOT_ID, "newsdesk", True), GUILD_A)
    sent = await harness.message(
        "what did the company say?", guild_id=GUILD_A, channel_id=CHANNEL_A, user_id=OTHER, replying_to=ours
    )
    (reply,) = _answers(sent)
    assert "Reuters" in reply.body["embeds"][0]["fields"][0]["value"]  # the answered question gave "the company"


async def test_bot_stays_out_of_conversations_between_people_in_its_threads(harness: Harness) -> None:
    thread = snowflake()
    harness.add_thread(thread, CHANNEL_A, GUILD_A, "why did Canada ban Hikvision?")
    asker = message_payload(thread, {"content": "why did Canada ban Hikvision?"}, user_payload(MEMBER, "member"))
    harness.wire.history[thread] = [asker]
    thanks = await harness.message("thanks, that's all!", guild_id=GUILD_A, channel_id=thread, user_id=OTHER)
    assert _answers(thanks) == [] and not any(s.is_message for s in thanks)
    again = await harness.message("and what did the company say?", guild_id=GUILD_A, channel_id=thread, user_id=MEMBER)
    assert len(_answers(again)) == 1  # one person asking: the thread is theirs and ours


async def test_bot_commands_show_in_dms_only_when_dms_are_on(tmp_path: Path, model_dir: Path) -> None:
    from bot.client import bot_intents
    from bot.runner import build_bot, describe

    off = describe(await build_bot(make_settings(tmp_path / "a", model_dir)))
    assert off["contexts"]["ask"] == ["guild"] and off["contexts"]["digest"] == ["guild"]
    on = describe(await build_bot(make_settings(tmp_path / "b", model_dir, allow_dms=True)))
    assert on["contexts"]["ask"] == ["guild", "dm_channel"]
    assert on["contexts"].get("kb", ["guild"]) == ["guild"]  # moderator commands stay server-only
    assert not bot_intents(message_content=False).message_content  # the fallback when the portal lacks the intent


async def test_bot_autocomplete_in_a_dm_returns_nothing(harness: Harness) -> None:
    payload = slash(harness, "summary", guild=None)
    payload["type"] = 4
    payload["data"]["options"] = [{"name": "article", "type": 3, "value": "Hik", "focused": True}]
    sent = await harness.interact(payload)
    assert sent[-1].body["data"]["choices"] == []


async def test_bot_busy_server_queues_questions_and_says_their_place(harness: Harness) -> None:
    import asyncio

    release = asyncio.Event()

    async def hold() -> None:
        async with harness.bot.slots.slot(GUILD_A):
            await release.wait()

    holders = [asyncio.create_task(hold()) for _ in range(2)]
    await asyncio.sleep(0)
    start = len(harness.wire.sent)
    harness.bot._connection.parse_interaction_create(ask_payload(harness, "why did Canada ban Hikvision?"))
    for _ in range(50):
        await asyncio.sleep(0.02)
        if any("number 1 in line" in str(s.body) for s in harness.wire.sent[start:]):
            break
    release.set()
    await asyncio.gather(*holders)
    await harness.settle()
    sent = harness.wire.sent[start:]
    assert any("number 1 in line" in str(s.body) for s in sent)
    assert "national security" in final_embed(sent)["description"]


async def test_bot_help_describes_the_server_knowledge_base(harness: Harness) -> None:
    full = final_embed(await harness.interact(slash(harness, "help")))
    assert "/ask" in full["description"] and "4 articles" in json.dumps(full["fields"])
    empty = final_embed(await harness.interact(slash(harness, "help", guild=GUILD_B)))
    assert "It is empty" in json.dumps(empty["fields"])


async def test_bot_summary_accepts_a_typed_title_and_keeps_its_case(harness: Harness) -> None:
    option = [{"name": "article", "type": 3, "value": "buyer found for tiktok"}]
    summary = final_embed(await harness.interact(slash(harness, "summary", option)))
    assert summary["title"].startswith("Summary: Buyer found for TikTok")
    typo = [{"name": "article", "type": 3, "value": "Canada kicks out Hikvisoin"}]
    vague = json.dumps([s.body for s in await harness.interact(slash(harness, "summary", typo, user=OTHER))])
    assert "closest" in vague and "Canada kicks out Chinese" in vague and "newsdesk kb" not in vague


async def test_bot_moderators_see_unhelpful_answers_and_coverage_gaps(harness: Harness) -> None:
    empty = final_embed(await harness.interact(kb_payload(harness, "feedback", [])))
    assert "No answers marked not helpful" in empty["description"]
    sent = await harness.interact(ask_payload(harness, "why did Canada ban Hikvision?"))
    buttons = [c["custom_id"] for row in sent[-1].body["components"] for c in row["components"]]
    message = message_payload(CHANNEL_A, {}, user_payload(BOT_ID, "newsdesk", True))
    message["components"] = sent[-1].body["components"]
    answer_id = buttons[0].rsplit(":", 1)[1]
    pressed = await harness.interact(component(harness, f"nd:fb:down:{answer_id}", message))
    await pick_reason(harness, pressed, "outdated")
    gap = "What did lattice QCD results show about quark confinement?"
    await harness.interact(ask_payload(harness, gap, user=OTHER))
    report = json.dumps(final_embed(await harness.interact(kb_payload(harness, "feedback", []))), ensure_ascii=False)
    assert "why did Canada ban Hikvision? — Outdated" in report and "quark confinement" in report
    other_server = json.dumps(final_embed(await harness.interact(kb_payload(harness, "feedback", [], guild=GUILD_B))))
    assert "quark" not in other_server


async def test_bot_per_server_settings_choose_audit_and_ask_channels(harness: Harness) -> None:
    audit, ask_here = snowflake(), snowflake()
    harness.add_channel(GUILD_A, audit, 0, "audit")
    harness.add_channel(GUILD_A, ask_here, 0, "ask-the-news")
    harness.add_channel(GUILD_B, snowflake(), 0, "elsewhere")
    resolved = {
        "channels": {
            str(c): {"id": str(c), "type": 0, "name": n, "permissions": "0"}
            for c, n in ((audit, "audit"), (ask_here, "ask-the-news"))
        }
    }
    options = [
        {"name": "audit_channel", "type": 7, "value": str(audit)},
        {"name": "ask_channel", "type": 7, "value": str(ask_here)},
        {"name": "mentions", "type": 3, "value": "ask channel only"},
    ]
    sent = await harness.interact(kb_payload(harness, "settings", options, resolved=resolved))
    assert any(s.path == f"/channels/{audit}/messages" for s in sent)  # the change itself is audited there
    asked = await harness.message(
        "why did Canada ban Hikvision?", guild_id=GUILD_A, channel_id=ask_here, user_id=MEMBER
    )
    assert any(s.path.endswith("/threads") for s in asked) and _answers(asked)  # no mention needed here
    elsewhere = await _mention(harness, CHANNEL_A, OTHER)
    assert elsewhere == []  # mentions are answered only in the ask channel now
    member = await harness.interact(kb_payload(harness, "settings", [], user=MEMBER, permissions=0))
    assert "Only moderators" in json.dumps([s.body for s in member])


def _context_menu(h: Harness, text: str, user: int = MEMBER) -> dict:
    target = message_payload(CHANNEL_A, {"content": text}, user_payload(OTHER, "other"), GUILD_A)
    data = {
        "id": str(snowflake()),
        "name": "Ask newsdesk about this",
        "type": 3,
        "target_id": target["id"],
        "resolved": {"messages": {target["id"]: target}},
    }
    return h.interaction_payload("", [], guild_id=GUILD_A, channel_id=CHANNEL_A, user_id=user, data=data)


async def test_bot_context_menu_answers_questions_and_checks_claims(harness: Harness) -> None:
    question = final_embed(await harness.interact(_context_menu(harness, "why did Canada ban Hikvision?")))
    assert "national security" in question["description"]
    claim = "Canada ordered Hikvision to shut down its Canadian operations over national security concerns."
    supported = final_embed(await harness.interact(_context_menu(harness, claim, user=OTHER)))
    assert supported["description"].startswith("Supported by [1]") and "Reuters" in json.dumps(supported["fields"])
    rumour = "Hikvision will pay every Canadian customer a refund next month."
    unsupported = final_embed(await harness.interact(_context_menu(harness, rumour, user=MOD)))
    assert unsupported["description"].startswith("No source found")


async def test_bot_one_cooldown_across_commands_and_mentions_and_bad_input_is_free(harness: Harness) -> None:
    await harness.interact(ask_payload(harness, "why did Canada ban Hikvision?"))
    mention = await _mention(harness, CHANNEL_A, MEMBER)
    assert "Slow down" in json.dumps([s.body for s in mention])  # /ask used the turn that mentions share
    bad = await harness.interact(slash(harness, "summary", user=OTHER))  # neither topic nor article: refused
    assert "Give either a topic or an article" in json.dumps([s.body for s in bad])
    fine = await harness.interact(ask_payload(harness, "why did Canada ban Hikvision?", user=OTHER))
    assert "national security" in final_embed(fine)["description"]  # the refused command cost nothing


async def test_bot_kb_list_pages_with_buttons_and_says_when_out_of_range(harness: Harness) -> None:
    harness.bot.services.kb(f"guild-{GUILD_A}").ingest_articles(
        [Article(title=f"Council note {i}", text=f"The council approved item {i} on Monday.") for i in range(20)]
    )
    first = await harness.interact(kb_payload(harness, "list", []))
    body = first[-1].body
    assert body["embeds"][0]["title"] == "Articles (page 1/3)"
    buttons = {c["label"]: c for row in body["components"] for c in row["components"]}
    assert buttons["Previous"]["disabled"] and not buttons["Next"].get("disabled")
    message = message_payload(CHANNEL_A, body, user_payload(BOT_ID, "newsdesk", True), GUILD_A)
    message["components"] = body["components"]
    click = kb_payload(harness, "list", [])
    click.update(type=3, data={"custom_id": buttons["Next"]["custom_id"], "component_type": 2}, message=message)
    turned = await harness.interact(click)
    assert turned[-1].body["data"]["embeds"][0]["title"] == "Articles (page 2/3)"
    member_click = kb_payload(harness, "list", [], user=MEMBER, permissions=0)
    member_click.update(type=3, data={"custom_id": buttons["Next"]["custom_id"], "component_type": 2}, message=message)
    assert "Only moderators" in json.dumps([s.body for s in await harness.interact(member_click)])
    beyond = await harness.interact(kb_payload(harness, "list", [{"name": "page", "type": 4, "value": 9}]))
    assert "only 3 pages" in beyond[-1].body["content"] and "page 3/3" in beyond[-1].body["embeds"][0]["title"]


async def test_bot_sync_only_on_change_per_application_and_guild_copies_can_be_cleared(harness: Harness) -> None:
    from bot.sync import clear_guild_commands, sync_commands

    tree, data_dir = harness.bot.tree, harness.bot.settings.data_dir
    assert await sync_commands(tree, data_dir) and not await sync_commands(tree, data_dir)
    puts = [s for s in harness.wire.sent if s.method == "PUT"]
    assert len(puts) == 1 and puts[0].path == f"/applications/{harness.bot.application_id}/commands"
    harness.bot._connection.application_id = 900000000000000099  # another bot sharing the data folder
    assert await sync_commands(tree, data_dir)
    harness.bot._connection.application_id = 900000000000000001
    guild = discord.Object(GUILD_B)
    assert await sync_commands(tree, data_dir, guild)
    assert await clear_guild_commands(tree, data_dir, guild) == 0
    cleared = [s for s in harness.wire.sent if s.method == "PUT" and f"/guilds/{GUILD_B}/" in s.path]
    assert cleared[-1].body == []


async def test_bot_reports_long_work_by_dm_once_the_interaction_expired(harness: Harness, monkeypatch) -> None:
    from retrieval.knowledge_base import KnowledgeBase

    real = KnowledgeBase.ingest_articles

    def slow_then_expired(self, articles, progress=None, **options):
        harness.wire.tokens_expired = True  # as if the indexing took longer than 15 minutes
        return real(self, articles, progress, **options)

    monkeypatch.setattr(KnowledgeBase, "ingest_articles", slow_then_expired)
    sent = await paste_article(harness, "Harbour reopens", "The harbour reopened on Monday after the storm.")
    dm = [s for s in sent if s.method == "POST" and s.path.startswith("/channels/") and s.body.get("content")]
    assert dm and "Adding Harbour reopens done. Added 1" in dm[-1].body["content"]


async def test_bot_kb_add_without_a_link_opens_a_form_with_every_field(harness: Harness) -> None:
    sent = await paste_article(
        harness,
        "Ferry fares rise",
        "Ferry fares to the island rise by ten percent from June.",
        outlet="Harbour Times",
        published="June 1, 2026",
        url="https://harbour.example/fares",
    )
    assert "Added 1" in sent[-1].body["content"]
    (article,) = [a for a in harness.bot.services.kb(f"guild-{GUILD_A}").articles() if a.title == "Ferry fares rise"]
    assert (article.outlet, article.published) == ("Harbour Times", "2026-06-01")
    assert article.url == "https://harbour.example/fares"
    bad = await paste_article(harness, "Fares", "Fares rise again next year on every route.", url="file:///etc/passwd")
    assert "must start with http" in json.dumps([s.body for s in bad])


async def test_bot_audit_channel_of_another_server_is_never_used(harness: Harness) -> None:
    audit_channel = 555555555555555556
    harness.add_channel(GUILD_A, audit_channel, 0, "audit")
    harness.bot.settings.audit_channel_id = audit_channel  # a channel in server A
    sent = await paste_article(harness, "Bridge", "The harbour bridge reopened on Monday after repairs.", guild=GUILD_B)
    assert "Added 1" in sent[-1].body["content"]
    assert not any(s.path == f"/channels/{audit_channel}/messages" for s in sent)  # B's changes stay out of A


async def test_bot_direct_messages_keep_their_history_when_on(harness: Harness) -> None:
    harness.bot.settings.allow_dms = True
    harness.bot.services.kb(harness.bot.settings.dm_kb).ingest([str(SAMPLE_CORPUS)])
    dm = snowflake()
    bot_answer = {"title": "why did Canada ban Hikvision?", "description": "National security [1]."}
    previous = message_payload(dm, {"embeds": [bot_answer]}, user_payload(BOT_ID, "newsdesk", True))
    harness.wire.history[dm] = [previous]
    sent = await harness.message("what did the company say?", guild_id=None, channel_id=dm, user_id=MEMBER)
    assert any(s.method == "GET" and s.path.startswith(f"/channels/{dm}/messages") for s in sent)
    assert "Reuters" in json.dumps([s.body for s in sent])  # "the company" resolved through the DM's history
