"""Feeds in Discord: the background refresh that keeps every server's knowledge base current.

The `/kb feeds ...` commands live in the knowledge-base admin cog; this cog only runs due refreshes, in a worker
thread so the gateway never waits for a slow feed. Only one process should do this (NEWSDESK_REFRESH_FEEDS).
"""

from __future__ import annotations

import asyncio
import logging

from discord.ext import commands, tasks

from bot.client import NewsdeskBot
from retrieval.errors import NewsdeskError

log = logging.getLogger(__name__)
CHECK_EVERY_MINUTES = 5  # how often due feeds are looked for; each feed has its own interval (>= 5 minutes)


class FeedRefreshCog(commands.Cog):
    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot

    def start(self) -> None:
        """Called by the bot once it is logging in (never in dry runs or tests)."""
        if self.bot.settings.refresh_feeds:
            self.refresh_due.start()

    async def cog_unload(self) -> None:
        self.refresh_due.cancel()

    @tasks.loop(minutes=CHECK_EVERY_MINUTES)
    async def refresh_due(self) -> None:
        await self.run_due()

    async def run_due(self) -> None:
        """Refresh every due feed of every knowledge base; a failing one is recorded and the rest go on."""
        for name in await asyncio.to_thread(self.bot.feeds.knowledge_bases):
            try:
                kb = await asyncio.to_thread(self.bot.services.kb, name)
                report = await self.bot.run_ingest(None, lambda kb=kb: self.bot.refresher.refresh(kb, only_due=True))
                self.bot.metrics.ingested(report)
            except NewsdeskError as exc:
                log.warning("background refresh of %s failed: %s", name, exc)
                continue
            if report.feeds:
                log.info("refreshed %s: %s", name, report.to_dict())

    @refresh_due.before_loop
    async def _wait_until_ready(self) -> None:
        await self.bot.wait_until_ready()


async def setup(bot: NewsdeskBot) -> None:
    await bot.add_cog(FeedRefreshCog(bot))
