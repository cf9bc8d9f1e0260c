"""The bot: settings and retrieval services are injected; extensions load in `setup_hook`; mentions are off."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import GuildSlots, UserCooldown
from bot.errors import NewsdeskTree
from bot.health import HealthServer
from bot.metrics import BotMetrics
from bot.store import BotStore
from bot.sync import sync_commands
from bot.work import FairScheduler
from retrieval.answer import chat_model_for
from retrieval.answer.chain import AnswerService
from retrieval.answer.summaries import SummaryService
from retrieval.errors import BadInputError
from retrieval.feeds import FeedRefresher, FeedRegistry
from retrieval.knowledge_base import KnowledgeBase, Services
from retrieval.quota import Quota
from retrieval.settings import Settings
from retrieval.state import BOT, FEEDS, open_database
from retrieval.state.lease import Lease

log = logging.getLogger(__name__)
T = TypeVar("T")
FEED_LEASE = "feed-refresh"  # the lease row naming the one process that refreshes feeds

EXTENSIONS = ("bot.cogs.ask", "bot.cogs.summaries", "bot.cogs.kb_admin", "bot.cogs.feeds")


def bot_intents(message_content: bool = True) -> discord.Intents:
    """Guilds and messages; message content (a privileged intent) so unaddressed thread follow-ups can be read.

    Without it the core still works: Discord sends the content of messages that mention the bot or reply to it,
    and slash commands and context menus need no intent. No presences or member lists either way.
    """
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.message_content = message_content
    return intents


class NewsdeskBot(commands.AutoShardedBot):
    def __init__(self, settings: Settings, services: Services, *, message_content: bool = True, **options: Any) -> None:
        # newsdesk never joins voice channels; skip discord.py's warnings about missing voice libraries.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=bot_intents(message_content),
            allowed_mentions=discord.AllowedMentions.none(),
            tree_cls=NewsdeskTree,
            help_command=None,
            **options,
        )
        self.settings = settings
        self.services = services
        bot_db, feeds_db = open_database(settings, BOT), open_database(settings, FEEDS)
        self._databases = (bot_db, feeds_db)  # their connection pools are closed with the bot
        self.store = BotStore(bot_db, settings.settings_cache_s)
        self.slots = GuildSlots(settings.guild_concurrency, settings.guild_queue)
        self.cooldown = UserCooldown(settings.user_cooldown_s)
        self.feeds = FeedRegistry(feeds_db)
        self.feed_lease = Lease(feeds_db, FEED_LEASE, settings.feed_lease_s)  # who refreshes feeds (cogs/feeds.py)
        self.quota = Quota.per_server(settings)
        self.refresher = FeedRefresher(self.feeds, services.fetcher, quota=self.quota)
        self.work = FairScheduler(settings.ingest_workers, settings.ingest_queue)
        self._chat_model = chat_model_for(settings)
        self._answerers: dict[str, tuple[AnswerService, SummaryService]] = {}
        self.metrics = BotMetrics()
        self.metrics.watch_queues(lambda: self.slots.waiting, lambda: self.work.waiting_everywhere)
        self.health = HealthServer(self)  # listens only once started (NEWSDESK_METRICS_PORT)

    async def on_message(self, message: discord.Message) -> None:
        """No prefix commands: mentions are questions (bot.cogs.ask), not "command not found" errors in the log."""

    async def load_features(self) -> None:
        """Load every feature cog; one broken cog is logged and the others still load."""
        for extension in EXTENSIONS:
            try:
                await self.load_extension(extension)
            except commands.ExtensionError:
                log.exception("could not load %s", extension)
        # Commands appear in DMs only when the host turned DMs on; never in group DMs.
        contexts = app_commands.AppCommandContext(guild=True, dm_channel=self.settings.allow_dms, private_channel=False)
        for command in self.tree.get_commands():
            if not getattr(command, "guild_only", False):  # server-only groups (/kb) stay so
                command.allowed_contexts = contexts

    async def setup_hook(self) -> None:
        if self.settings.metrics_port:
            await self.health.start(self.settings.metrics_host, self.settings.metrics_port)
        await self.load_features()
        if self.shard_ids is None or 0 in self.shard_ids:  # one process syncs; the others would race it
            await sync_commands(self.tree, self.settings.data_dir)
        refresher = self.get_cog("FeedRefreshCog")
        if refresher is not None:
            refresher.start()  # type: ignore[attr-defined]

    # --- per-server knowledge bases -----------------------------------------------------------------------------

    def kb_name(self, guild_id: int | None) -> str:
        """Each server has its own knowledge base; DMs use NEWSDESK_DM_KB when enabled."""
        if guild_id is not None:
            return f"guild-{guild_id}"
        if not self.settings.allow_dms:
            raise BadInputError("newsdesk answers inside servers; direct messages are turned off.")
        return self.settings.dm_kb

    async def knowledge_base(self, guild_id: int | None) -> KnowledgeBase:
        return await asyncio.to_thread(self.services.kb, self.kb_name(guild_id))

    async def answerers(self, guild_id: int | None) -> tuple[AnswerService, SummaryService]:
        name = self.kb_name(guild_id)
        if name not in self._answerers:
            kb = await self.knowledge_base(guild_id)
            self._answerers[name] = (
                AnswerService(self.settings, kb, self._chat_model),
                SummaryService(self.settings, kb, self._chat_model),
            )
        return self._answerers[name]

    async def run_ingest(self, kb: str, work: Callable[[], T]) -> T:
        """Run fetching, parsing or indexing for knowledge base `kb` (one server's) when it is that server's turn.

        Every such job of the bot goes through `bot.work.FairScheduler`: its own threads, servers in turn, one job
        at a time per server, a bounded queue. The threads that answer questions never fetch or parse.
        """
        return await self.work.run(kb, work)

    async def close(self) -> None:
        await self.health.stop()
        await super().close()
        self.work.close()
        for database in self._databases:
            database.close()

    async def audit(self, guild: discord.Guild | None, text: str) -> None:
        """Post a knowledge-base change to the server's audit channel (`/kb settings`, else NEWSDESK_AUDIT_CHANNEL_ID).

        Only ever a channel of the same server: one server's changes are not another server's business.
        """
        if guild is None:
            return
        chosen = await asyncio.to_thread(self.store.guild_settings, guild.id)
        channel_id = chosen.audit_channel or self.settings.audit_channel_id
        channel = guild.get_channel(channel_id) if channel_id else None
        if not isinstance(channel, discord.abc.Messageable):
            return
        try:
            await channel.send(text[:2000], allowed_mentions=discord.AllowedMentions.none())
        except discord.HTTPException:
            log.warning("could not write to the audit channel %s", channel_id)
