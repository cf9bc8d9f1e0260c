"""Quiet channels, a support forum and per-channel settings, on the wire: what newsdesk answers, where, and what it
leaves alone (issue 23, items 3 and 4)."""

from __future__ import annotations

import json

from bot.store import ChannelRule, GuildSettings
from retrieval.types import IngestFailure
from tests.discord_harness import BOT_ID, CHANNEL_A, GUILD_A, Harness, Sent, message_payload, snowflake, user_payload
from tests.test_bot_discord import MEMBER, MOD, OTHER, ask_payload, assert_safe, component, final_embed, kb_payload

CHAT = ("lol", "good morning everyone!", "thanks!")


def _answers(sent: list[Sent]) -> list[Sent]:
    return [s for s in sent if s.is_message and s.body.get("embeds")]


def _threads(sent: list[Sent]) -> list[Sent]:
    return [s for s in sent if s.path.endswith("/threads")]


async def _settings(h: Harness, options: list[dict], channels: dict[int, int] | None = None) -> list[Sent]:
    """`/kb settings` by a moderator; `channels` maps the channel ids it names to their Discord type."""
    resolved = {
        "channels": {str(c): {"id": str(c), "type": t, "name": "c", "permissions": "0"} for c, t in channels.items()}
    }
    return await h.interact(kb_payload(h, "settings", options, resolved=resolved if channels else None))


async def _ask_channel(h: Harness) -> int:
    channel = snowflake()
    h.add_channel(GUILD_A, channel, 0, "ask-the-news")
    await _settings(h, [{"name": "ask_channel", "type": 7, "value": str(channel)}], {channel: 0})
    return channel


async def test_ask_channel_ignores_chit_chat_and_answers_questions_without_a_question_mark(harness: Harness) -> None:
    ask_here = await _ask_channel(harness)
    for chat in CHAT:
        assert await harness.message(chat, guild_id=GUILD_A, channel_id=ask_here, user_id=MEMBER) == []
    question = "why did canada ban hikvision"
    asked = await harness.message(question, guild_id=GUILD_A, channel_id=ask_here, user_id=MEMBER)
    (answer,) = _answers(asked)  # chit-chat cost no cooldown turn either
    assert _threads(asked) and "national security" in answer.body["embeds"][0]["description"]
    assert harness.bot.store.refused(GUILD_A) == []  # nothing said in passing counts as a missed question


async def test_a_refusal_is_one_reply_without_a_thread_and_offers_only_close_articles(harness: Harness) -> None:
    ask_here = await _ask_channel(harness)
    far = await harness.message(
        "who won the 2026 football world cup?", guild_id=GUILD_A, channel_id=ask_here, user_id=MEMBER
    )
    assert _threads(far) == [] and len([s for s in far if s.is_message]) == 1
    (refusal,) = _answers(far)
    assert refusal.path == f"/channels/{ask_here}/messages" and refusal.body["message_reference"]
    assert "fields" not in refusal.body["embeds"][0]  # no unrelated "nearest articles"
    near = await harness.message("When was Hikvision founded?", guild_id=GUILD_A, channel_id=ask_here, user_id=OTHER)
    assert _threads(near) == []
    assert "Canada kicks out Chinese" in json.dumps(final_embed(near)["fields"])  # a close article is offered
    assert harness.bot.store.refused(GUILD_A) == ["When was Hikvision founded?", "who won the 2026 football world cup?"]
    assert_safe(far + near)


async def test_a_refused_mention_opens_no_thread_and_chit_chat_to_the_bot_is_not_a_missed_question(
    harness: Harness,
) -> None:
    asked = await harness.message(
        "<@900000000000000002> who won the 2026 football world cup?",
        guild_id=GUILD_A,
        channel_id=CHANNEL_A,
        user_id=MEMBER,
        mentions_bot=True,
    )
    (refusal,) = _answers(asked)
    assert _threads(asked) == [] and refusal.path == f"/channels/{CHANNEL_A}/messages"
    thanks = await harness.message(
        "<@900000000000000002> thanks!", guild_id=GUILD_A, channel_id=CHANNEL_A, user_id=OTHER, mentions_bot=True
    )
    (reply,) = _answers(thanks)  # addressed to newsdesk, so answered...
    assert _threads(thanks) == [] and not reply.body.get("components")  # ...without buttons, and not kept
    assert harness.bot.store.refused(GUILD_A) == ["who won the 2026 football world cup?"]


def _labels(sent: Sent) -> dict[str, str]:
    return {
        c["custom_id"].split(":")[2]: c["label"] for row in sent.body["data"]["components"] for c in row["components"]
    }


async def test_feedback_counts_once_per_member_and_shows_the_count(harness: Harness) -> None:
    sent = await harness.interact(ask_payload(harness, "why did Canada ban Hikvision?"))
    buttons = [c["custom_id"] for row in sent[-1].body["components"] for c in row["components"]]
    answer_id = buttons[0].rsplit(":", 1)[1]
    message = message_payload(CHANNEL_A, {}, user_payload(BOT_ID, "newsdesk", True), GUILD_A)
    message["components"] = sent[-1].body["components"]
    up = f"nd:fb:up:{answer_id}"

    first = await harness.interact(component(harness, up, message, user=OTHER))
    assert first[0].body["type"] == 7 and _labels(first[0])["up"] == "Helpful · 1"  # the answer shows the count
    assert first[1].body["flags"] == 64 and "counted" in first[1].body["content"]
    message["components"] = first[0].body["data"]["components"]
    again = await harness.interact(component(harness, up, message, user=OTHER))
    assert len(again) == 1 and again[0].body["type"] == 4 and again[0].body["data"]["flags"] == 64
    assert "already marked this answer helpful" in again[0].body["data"]["content"]
    other = await harness.interact(component(harness, up, message, user=MOD))
    assert _labels(other[0])["up"] == "Helpful · 2" and _labels(other[0])["down"] == "Not helpful"
    assert sorted(harness.bot.store.feedback(answer_id)) == [(MOD, True, None), (OTHER, True, None)]
    assert_safe(first + again + other)


async def test_every_new_forum_post_is_answered_inside_the_post(harness: Harness) -> None:
    forum, elsewhere = snowflake(), snowflake()
    harness.add_channel(GUILD_A, forum, 15, "support")
    harness.add_channel(GUILD_A, elsewhere, 15, "showcase")
    chosen = await _settings(harness, [{"name": "forum", "type": 7, "value": str(forum)}], {forum: 15})
    assert f"forum: <#{forum}>" in json.dumps(chosen[0].body, ensure_ascii=False)

    post = snowflake()
    harness.add_thread(post, forum, GUILD_A, "Hikvision in Canada", owner_id=MEMBER)  # THREAD_CREATE
    harness.wire.history[post] = []
    sent = await harness.message(  # MESSAGE_CREATE: the post's first message, no mention, no question mark
        "the government ordered the company out, but why",
        guild_id=GUILD_A,
        channel_id=post,
        user_id=MEMBER,
        message_id=post,
    )
    (answer,) = _answers(sent)
    assert answer.path == f"/channels/{post}/messages" and str(answer.body["message_reference"]["message_id"]) == str(
        post
    )
    assert _threads(sent) == [] and "national security" in answer.body["embeds"][0]["description"]
    later = await harness.message("thanks, interesting", guild_id=GUILD_A, channel_id=post, user_id=OTHER)
    assert later == []  # only the post's opening is answered unasked
    other_post = snowflake()
    harness.add_thread(other_post, elsewhere, GUILD_A, "My new desk setup", owner_id=OTHER)
    shown = await harness.message(
        "why is it so tidy?", guild_id=GUILD_A, channel_id=other_post, user_id=OTHER, message_id=other_post
    )
    assert shown == []  # another forum is not newsdesk's


async def test_per_channel_reply_or_thread_and_mentions_only(harness: Harness) -> None:
    replies = snowflake()
    harness.add_channel(GUILD_A, replies, 0, "quick-questions")
    options = [
        {"name": "channel", "type": 7, "value": str(replies)},
        {"name": "answer_in", "type": 3, "value": "a reply"},
        {"name": "listen", "type": 3, "value": "every question"},
    ]
    chosen = json.dumps((await _settings(harness, options, {replies: 0}))[0].body, ensure_ascii=False)
    assert f"<#{replies}>: every question, answered in a reply" in chosen
    asked = await harness.message("who is buying TikTok?", guild_id=GUILD_A, channel_id=replies, user_id=MEMBER)
    (answer,) = _answers(asked)
    assert _threads(asked) == [] and answer.path == f"/channels/{replies}/messages" and answer.body["message_reference"]
    assert await harness.message("lol same", guild_id=GUILD_A, channel_id=replies, user_id=OTHER) == []

    ask_here = await _ask_channel(harness)
    muted = [
        {"name": "channel", "type": 7, "value": str(ask_here)},
        {"name": "listen", "type": 3, "value": "mentions only"},
    ]
    await _settings(harness, muted, {ask_here: 0})
    question = "why did Canada ban Hikvision?"
    assert await harness.message(question, guild_id=GUILD_A, channel_id=ask_here, user_id=OTHER) == []
    mention = await harness.message(
        f"<@{BOT_ID}> {question}", guild_id=GUILD_A, channel_id=ask_here, user_id=OTHER, mentions_bot=True
    )
    assert _threads(mention) and _answers(mention)  # mentions still answered, in a thread (the channel's default)


async def test_per_channel_settings_need_a_channel_and_old_settings_still_load(harness: Harness) -> None:
    old = {"audit_channel": 1, "ask_channel": 2, "mentions_only_in_ask_channel": True}
    loaded = GuildSettings.from_payload({**old, "written_by_a_newer_version": 1})
    assert loaded.forum_channel is None and loaded.channels == {}
    assert loaded.rule_for(2) == ChannelRule(listen="questions") and loaded.rule_for(3) == ChannelRule()
    chosen = loaded.with_rule(3, answer_in="reply")
    harness.bot.store.save_guild_settings(GUILD_A, chosen)
    harness.bot.store._settings.clear()  # read it back from the database, as another process would
    assert harness.bot.store.guild_settings(GUILD_A) == chosen


async def test_members_read_kb_status_without_the_moderators_part(harness: Harness) -> None:
    harness.bot.store.record_failures(GUILD_A, [IngestFailure("http://10.0.0.7/internal", "connection refused")])
    member = final_embed(await harness.interact(kb_payload(harness, "status", [], user=MEMBER, permissions=0)))
    fields = {f["name"]: f["value"] for f in member["fields"]}
    assert fields["Articles"] == "4 / 5,000" and "Recent failures" not in fields
    assert "10.0.0.7" not in json.dumps(member)
    moderator = final_embed(await harness.interact(kb_payload(harness, "status", [])))
    assert "10.0.0.7" in {f["name"]: f["value"] for f in moderator["fields"]}["Recent failures"]
    refused = await harness.interact(kb_payload(harness, "refresh", [], user=OTHER, permissions=0))
    assert "Only moderators" in json.dumps([s.body for s in refused])  # the rest of /kb stays theirs


async def test_help_mentions_the_message_menu(harness: Harness) -> None:
    shown = final_embed(
        await harness.interact(
            harness.interaction_payload("help", [], guild_id=GUILD_A, channel_id=CHANNEL_A, user_id=MEMBER)
        )
    )
    assert "Ask newsdesk about this" in shown["description"] and "*Apps*" in shown["description"]
