"""Feeds in Discord: the background refresh that keeps every server's knowledge base current.

The `/kb feeds ...` commands live in the knowledge-base admin cog; this cog only runs due refreshes, in a worker
thread so the gateway never waits for a slow feed. Any process may do it, but only the one holding the feed lease
in the state store does (`retrieval/state/lease.py`): it renews the lease every third of NEWSDESK_FEED_LEASE, also
while a refresh is running, and when it dies another process takes the lease once it lapses and refreshes at once.
NEWSDESK_REFRESH_FEEDS=false keeps a process from ever taking it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from discord.ext import commands, tasks

from bot.client import NewsdeskBot
from retrieval.errors import NewsdeskError

log = logging.getLogger(__name__)
CHECK_EVERY_S = 5 * 60  # how often the leader looks for due feeds; each feed has its own interval (>= 5 minutes)


class FeedRefreshCog(commands.Cog):
    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot
        self.leading = False
        self._last_check: float | None = None  # monotonic time of the last look for due feeds, while leading
        self._refreshing: asyncio.Task | None = None

    def start(self) -> None:
        """Called by the bot once it is logging in (never in dry runs or tests)."""
        if self.bot.settings.refresh_feeds:
            self.keep_lease.change_interval(seconds=self.bot.settings.feed_lease_s / 3)
            self.keep_lease.start()

    async def cog_unload(self) -> None:
        """A clean stop hands the lease on at once instead of letting it lapse."""
        self.keep_lease.cancel()
        if self.leading:
            self.leading = False
            try:
                await asyncio.to_thread(self.bot.feed_lease.release)
            except NewsdeskError as exc:
                log.warning("could not release the feed lease: %s", exc)

    @tasks.loop(seconds=20)
    async def keep_lease(self) -> None:
        """Take or renew the lease; while holding it, look for due feeds every CHECK_EVERY_S (at once when new)."""
        try:
            leading = await asyncio.to_thread(self.bot.feed_lease.acquire)
        except NewsdeskError as exc:  # the database is away: assume another process may hold the lease now
            log.warning("feed lease check failed: %s", exc)
            leading = False
        if leading != self.leading:
            log.info("feed refresh lease %s by %s", "taken" if leading else "lost", self.bot.feed_lease.holder)
            self.leading, self._last_check = leading, None
        if not leading or (self._refreshing is not None and not self._refreshing.done()):
            return
        if self._last_check is None or time.monotonic() - self._last_check >= CHECK_EVERY_S:
            self._last_check = time.monotonic()
            # A task of its own, so the lease keeps being renewed while it runs.
            self._refreshing = asyncio.create_task(self.run_due(still_leading=lambda: self.leading))

    async def run_due(self, still_leading: Callable[[], bool] = lambda: True) -> None:
        """Refresh every due feed of every knowledge base; a failing one is recorded and the rest go on."""
        for name in await asyncio.to_thread(self.bot.feeds.knowledge_bases):
            if not still_leading():  # the lease went to another process mid-way: it carries on from here
                return
            try:
                kb = await asyncio.to_thread(self.bot.services.kb, name)
                # In the server's own queue: its turn among the others, never beside its own /kb jobs.
                report = await self.bot.run_ingest(name, lambda kb=kb: self.bot.refresher.refresh(kb, only_due=True))
                self.bot.metrics.ingested(report)
            except NewsdeskError as exc:
                log.warning("background refresh of %s failed: %s", name, exc)
                continue
            if report.feeds:
                log.info("refreshed %s: %s", name, report.to_dict())

    @keep_lease.before_loop
    async def _wait_until_ready(self) -> None:
        await self.bot.wait_until_ready()


async def setup(bot: NewsdeskBot) -> None:
    await bot.add_cog(FeedRefreshCog(bot))
