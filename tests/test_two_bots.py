"""Two bot processes on shared state: one PostgreSQL database and one `chroma run` server, as README's Deployment
section sets up several hosts. Each bot is a real `NewsdeskBot` on the harness's recorded wire, with its own data dir,
so nothing reaches the other bot except through the database and the Chroma server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.client import NewsdeskBot
from retrieval.knowledge_base import Services
from tests.chroma_server import chroma_server
from tests.conftest import SAMPLE_CORPUS, make_settings
from tests.discord_harness import CHANNEL_A, GUILD_A, Harness, snowflake
from tests.loopback import Route, serve
from tests.test_bot_discord import MEMBER, OTHER, _answers, ask_payload, final_embed, kb_payload
from tests.test_feeds import RSS, page, rss

LEASE_S = 1.5  # short, so a lapsed lease is taken over quickly; the waits below allow far longer
WAIT_S = 120


async def eventually(check, what: str) -> None:  # type: ignore[no-untyped-def]
    """Wait (generously) until `check()` holds; the bound is a hang guard, not a timing assertion."""
    deadline = time.monotonic() + WAIT_S
    while not await check():
        assert time.monotonic() < deadline, f"waited {WAIT_S} s: {what}"
        await asyncio.sleep(0.1)


@pytest.fixture
async def two_bots(tmp_path: Path, model_dir: Path, postgres) -> AsyncIterator[tuple[Harness, Harness]]:
    url = postgres.new_database()
    with chroma_server(tmp_path / "chroma") as port:
        harnesses = []
        for name in ("first", "second"):
            settings = make_settings(
                tmp_path / name,
                model_dir,
                database_url=url,
                chroma_host="127.0.0.1",
                chroma_port=port,
                feed_lease_s=LEASE_S,
                settings_cache_s=0.5,
                allow_private_urls=True,  # the loopback site stands in for a public news feed
                user_cooldown_s=0,
            )
            h = Harness(NewsdeskBot(settings, Services(settings)))
            await h.start()
            h.add_guild(GUILD_A, CHANNEL_A)
            h.bot._ready.set()  # as if the gateway said READY: the feed lease loop waits for it
            harnesses.append(h)
        yield harnesses[0], harnesses[1]
        for h in harnesses:
            h.bot.get_cog("FeedRefreshCog").keep_lease.cancel()
            h.bot.services.close()


@pytest.mark.slow
async def test_two_bots_share_knowledge_settings_and_the_feed_lease(two_bots: tuple[Harness, Harness]) -> None:
    first, second = two_bots
    await asyncio.to_thread(first.bot.services.kb(f"guild-{GUILD_A}").ingest, [str(SAMPLE_CORPUS)])

    # Both answer from the one knowledge base (records in PostgreSQL, vectors in the Chroma server).
    for h, user in ((first, MEMBER), (second, OTHER)):
        h.use()
        answer = final_embed(await h.interact(ask_payload(h, "why did Canada ban Hikvision?", user=user)))
        assert "national security" in answer["description"]

    # A setting changed through the first is honoured by the second: its ask channel answers without a mention.
    ask_here = snowflake()
    for h in (first, second):
        h.add_channel(GUILD_A, ask_here, 0, "ask-the-news")
    resolved = {
        "channels": {str(ask_here): {"id": str(ask_here), "type": 0, "name": "ask-the-news", "permissions": "0"}}
    }
    first.use()
    await first.interact(
        kb_payload(first, "settings", [{"name": "ask_channel", "type": 7, "value": str(ask_here)}], resolved=resolved)
    )
    second.use()

    async def answered_in_ask_channel() -> bool:
        sent = await second.message(
            "why did Canada ban Hikvision?", guild_id=GUILD_A, channel_id=ask_here, user_id=MEMBER
        )
        return bool(_answers(sent))

    await eventually(answered_in_ask_channel, "the second bot never used the ask channel set through the first")

    # One feed leader at a time; when it dies (stops renewing, as a killed process would), the other takes over.
    leaders = [h.bot.get_cog("FeedRefreshCog") for h in (first, second)]
    leaders[0].start()

    async def first_leads() -> bool:
        return leaders[0].leading

    await eventually(first_leads, "the first bot never took the free lease")
    leaders[1].start()

    async def second_has_tried_twice() -> bool:
        return leaders[1].keep_lease.current_loop >= 2

    await eventually(second_has_tried_twice, "the second bot's lease loop did not run")
    assert leaders[0].leading and not leaders[1].leading

    routes: dict[str, Route] = {}
    with serve(routes) as site:
        routes["/ferry"] = Route(body=page("Night ferry returns", "The night ferry to the islands runs again."))
        routes["/feed.xml"] = Route(
            body=rss(site, [("/ferry", "Night ferry returns", "Sat, 28 Jun 2026 09:00:00 GMT")]),
            headers={"Content-Type": RSS},
        )
        leaders[0].keep_lease.cancel()  # the leader dies without handing the lease on
        await asyncio.to_thread(second.bot.feeds.add, f"guild-{GUILD_A}", site.url("/feed.xml"))

        async def second_refreshed() -> bool:
            titles = {a.title for a in await asyncio.to_thread(second.bot.services.kb(f"guild-{GUILD_A}").articles)}
            return leaders[1].leading and "Night ferry returns" in titles

        await eventually(second_refreshed, "the second bot never took over the lapsed lease and refreshed the feed")
    assert second.bot.feed_lease.current_holder() == second.bot.feed_lease.holder
