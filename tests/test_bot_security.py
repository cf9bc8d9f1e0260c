"""Attacks on the Discord layer, each replayed through the real discord.py objects (see tests/discord_harness.py)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tests.conftest import SAMPLE_CORPUS
from tests.discord_harness import BOT_ID, CHANNEL_A, GUILD_A, GUILD_B, Harness, message_payload, snowflake, user_payload
from tests.loopback import Route, serve
from tests.test_bot_discord import MEMBER, OTHER, _mention, ask_payload, assert_safe, component, kb_payload


def _text(sent) -> str:
    return json.dumps([s.body for s in sent])


def _message_with(*custom_ids: str) -> dict:
    """A bot message carrying buttons with these ids, as a forger's client would present them."""
    message = message_payload(0, {}, user_payload(BOT_ID, "newsdesk", True))
    buttons = [{"type": 2, "style": 2, "label": "x", "custom_id": c} for c in custom_ids]
    message["components"] = [{"type": 1, "components": buttons}]
    return message


async def _answer_buttons(h: Harness, **ask: object) -> tuple[list[str], dict]:
    sent = await h.interact(ask_payload(h, "why did Canada ban Hikvision?", **ask))
    components = sent[-1].body["components"]
    message = message_payload(0, {}, user_payload(BOT_ID, "newsdesk", True))
    message["components"] = components
    return [c["custom_id"] for row in components for c in row["components"]], message


async def test_kb_add_url_never_reads_host_files(harness: Harness, tmp_path: Path) -> None:
    secret = tmp_path / "bot.env"
    secret.write_text("Quarterly secrets\nDISCORD_TOKEN=abc.def.ghi and the launch code is 0000\n")
    before = len(harness.bot.services.kb(f"guild-{GUILD_A}").articles())
    for value in (str(secret), str(tmp_path), f"file://{secret}", "/dev/zero", "../../etc/passwd"):
        sent = await harness.interact(kb_payload(harness, "add", [{"name": "url", "type": 3, "value": value}]))
        assert "Only http and https links" in _text(sent) or "malformed" in _text(sent), value
    assert len(harness.bot.services.kb(f"guild-{GUILD_A}").articles()) == before


def _attachment(harness: Harness, name: str, data: bytes) -> dict:
    url = f"https://cdn.discordapp.com/attachments/1/2/{snowflake()}"
    harness.wire.cdn[url] = data
    attachment_id = str(snowflake())
    resolved = {
        "attachments": {
            attachment_id: {"id": attachment_id, "filename": name, "size": len(data), "url": url, "proxy_url": url}
        }
    }
    return kb_payload(harness, "add", [{"name": "attachment", "type": 11, "value": attachment_id}], resolved=resolved)


async def test_attachments_are_read_from_memory_whatever_their_name(harness: Harness) -> None:
    odd = await harness.interact(_attachment(harness, "..", b"Harbour reopens\nThe harbour reopened on Monday."))
    assert "Added 1" in _text(odd)
    leaked = await harness.interact(_attachment(harness, "notes.txt", b"Config\nOPENAI_API_KEY=sk-" + b"x" * 40))
    assert "looks like it holds credentials" in _text(leaked) and "Added 0" in _text(leaked)


async def test_a_forged_show_passage_button_cannot_read_another_server(harness: Harness) -> None:
    buttons, message = await _answer_buttons(harness, private=True)
    passage = next(b for b in buttons if b.startswith("nd:passage:"))
    answer_id = passage.rsplit(":", 1)[1]
    elsewhere = await harness.interact(component(harness, passage, message, guild=GUILD_B))
    assert "not available here" in _text(elsewhere) and "national security" not in _text(elsewhere)
    same_server_other_user = await harness.interact(component(harness, passage, message, user=OTHER))
    assert "not available here" in _text(same_server_other_user)
    owner = await harness.interact(component(harness, passage, message, user=MEMBER))
    assert "national security" in _text(owner)
    vote = await harness.interact(component(harness, f"nd:fb:down:{answer_id}", message, guild=GUILD_B, user=MEMBER))
    assert "not available here" in _text(vote) and harness.bot.store.feedback(answer_id) == []
    assert_safe(elsewhere + vote)


async def test_feedback_on_unknown_answers_and_bad_reasons_is_refused(harness: Harness) -> None:
    buttons, message = await _answer_buttons(harness)
    answer_id = buttons[0].rsplit(":", 1)[1]
    ghost = await harness.interact(component(harness, "nd:fb:up:0123456789ab", _message_with("nd:fb:up:0123456789ab")))
    assert "not available here" in _text(ghost) and harness.bot.store.feedback("0123456789ab") == []
    pressed = await harness.interact(component(harness, f"nd:fb:down:{answer_id}", message))  # sends the select
    asked = next(s for s in pressed if s.is_message and "What was wrong" in (s.body.get("content") or ""))
    private = message_payload(0, asked.body, user_payload(BOT_ID, "newsdesk", True))
    private["components"] = asked.body["components"]
    forged = await harness.interact(component(harness, f"nd:why:{answer_id}", private, values=["<script>"]))
    assert "not available here" in _text(forged)
    assert harness.bot.store.feedback(answer_id) == [(OTHER, False, None)]


async def test_moderator_autocomplete_is_empty_for_members(harness: Harness) -> None:
    def autocomplete(user: int, permissions: int) -> dict:
        payload = kb_payload(harness, "remove", [], user=user, permissions=permissions)
        payload["type"] = 4
        payload["data"]["options"][0]["options"] = [{"name": "article", "type": 3, "value": "", "focused": True}]
        return payload

    member = await harness.interact(autocomplete(MEMBER, 0))
    assert member[-1].body["data"]["choices"] == []
    moderator = await harness.interact(autocomplete(OTHER, 32))
    assert len(moderator[-1].body["data"]["choices"]) == 4


async def test_slow_knowledge_base_jobs_cannot_starve_answers(harness: Harness) -> None:
    """Six /kb add calls to a site that stalls: answers in another server still go out first; the queue is bounded."""
    harness.bot.settings.allow_private_urls = True
    harness.bot.services.kb(f"guild-{GUILD_B}").ingest([str(SAMPLE_CORPUS)])
    with serve({f"/stall{i}": Route(body=b"<p>late</p>", delay_s=1.0) for i in range(7)}) as site:
        stalls = [
            kb_payload(harness, "add", [{"name": "url", "type": 3, "value": site.url(f"/stall{i}")}]) for i in range(7)
        ]
        for payload in stalls:
            harness.bot._connection.parse_interaction_create(payload)
        await asyncio.sleep(0.2)
        start = len(harness.wire.sent)
        question = ask_payload(harness, "why did Canada ban Hikvision?", guild=GUILD_B)
        harness.bot._connection.parse_interaction_create(question)
        await harness.settle()
    sent = harness.wire.sent
    finals = [i for i, s in enumerate(sent) if s.body and "done." in str(s.body.get("content", ""))]
    answer = next(i for i, s in enumerate(sent) if i >= start and s.body and s.body.get("embeds"))
    assert finals and answer < min(finals)
    assert "knowledge-base jobs waiting; try again in about" in _text(sent)


async def _llm_bot(tmp_path: Path, model_dir: Path, **overrides: object) -> Harness:
    from bot.client import NewsdeskBot
    from retrieval.knowledge_base import Services
    from tests.conftest import make_settings
    from tests.discord_harness import CHANNEL_A

    settings = make_settings(tmp_path / "data", model_dir, openai_api_key="k", **overrides)
    services = Services(settings)
    services.kb(f"guild-{GUILD_A}").ingest([str(SAMPLE_CORPUS)])
    h = Harness(NewsdeskBot(settings, services))
    await h.start()
    h.add_guild(GUILD_A, CHANNEL_A)
    return h


async def test_an_llm_outage_answers_offline_and_exposes_nothing(tmp_path: Path, model_dir: Path) -> None:
    down = "http://127.0.0.1:9/v1"
    h = await _llm_bot(tmp_path / "a", model_dir, openai_base_url=down, llm_max_retries=0)
    sent = await h.interact(ask_payload(h, "why did Canada ban Hikvision?"))
    final = sent[-1].body
    assert "national security" in final["embeds"][0]["description"]
    assert "composed offline" in final["embeds"][0]["footer"]["text"]
    h = await _llm_bot(tmp_path / "b", model_dir, openai_base_url=down, llm_max_retries=0, llm_fallback="error")
    sent = await h.interact(ask_payload(h, "why did Canada ban Hikvision?"))
    assert "could not be reached" in _text(sent)
    for leak in ("127.0.0.1", "OPENAI", "/v1", "guild-"):
        assert leak not in _text(sent)
    assert_safe(sent)


async def test_a_slow_llm_says_it_is_still_working(tmp_path: Path, model_dir: Path, monkeypatch) -> None:
    from bot import delivery
    from tests.openai_server import Step, fake_llm

    monkeypatch.setattr(delivery, "SLOW_NOTICE_S", 0.2)
    reply = "Canada ordered Hikvision to shut down its Canadian operations over national security [{Hikvision}]."
    with fake_llm(Step(reply, delay_s=1.0)) as llm:
        h = await _llm_bot(tmp_path, model_dir, openai_base_url=llm.base_url)
        sent = await h.interact(ask_payload(h, "why did Canada ban Hikvision?"))
    edits = [s.body.get("content") for s in sent if s.method == "PATCH"]
    assert edits[0] == delivery.SLOW_NOTICE and "national security" in _text(sent[-1:])


async def test_digests_take_a_server_slot_like_questions(harness: Harness) -> None:
    from bot.checks import GuildSlots
    from tests.test_bot_discord import slash

    harness.bot.slots = GuildSlots(2, queue=0)
    async with harness.bot.slots.slot(GUILD_A), harness.bot.slots.slot(GUILD_A):
        sent = await harness.interact(slash(harness, "digest"))
    assert "busy answering" in _text(sent)


async def test_failure_records_of_a_huge_refresh_are_written_off_the_event_loop(harness: Harness, monkeypatch) -> None:
    """A 100k-item feed that fails every item must not stall every server's gateway while its failures are saved."""
    import threading

    from retrieval.types import IngestFailure, IngestReport

    writers: list[str] = []
    record = harness.bot.store.record_failures

    def watched(guild_id: int, failures: list) -> None:
        writers.append(threading.current_thread().name)
        record(guild_id, failures)

    monkeypatch.setattr(harness.bot.store, "record_failures", watched)
    failures = [IngestFailure(f"https://feed.example/item/{i}", "answered HTTP 500") for i in range(100_000)]
    monkeypatch.setattr(harness.bot.refresher, "refresh", lambda kb, **_: IngestReport(failed=failures))
    harness.bot.feeds.add(f"guild-{GUILD_A}", "https://feed.example/rss")
    sent = await harness.interact(kb_payload(harness, "refresh", []))
    assert "failed 100000" in _text(sent)
    assert writers and writers[0] != threading.main_thread().name  # a worker thread, not the loop's
    assert len(harness.bot.store.recent_failures(GUILD_A, limit=3)) == 3


async def test_an_unreachable_store_is_one_sentence_in_a_mention_thread_too(harness: Harness, monkeypatch) -> None:
    from retrieval.errors import StoreUnavailableError
    from retrieval.knowledge_base import KnowledgeBase
    from retrieval.store import UNREACHABLE

    def down(*_args, **_kwargs):
        raise StoreUnavailableError(UNREACHABLE)

    monkeypatch.setattr(KnowledgeBase, "search", down)
    sent = await _mention(harness, CHANNEL_A)
    replies = [s for s in sent if s.is_message]
    assert replies and replies[-1].body["content"] == UNREACHABLE  # not silence, not internals
