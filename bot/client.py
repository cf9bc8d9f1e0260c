"""The bot: settings and retrieval services are injected; extensions load in `setup_hook`; mentions are off."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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
from retrieval.answer import chat_model_for
from retrieval.answer.chain import AnswerService
from retrieval.answer.summaries import SummaryService
from retrieval.errors import BadInputError
from retrieval.feeds import FeedRefresher, FeedRegistry
from retrieval.knowledge_base import KnowledgeBase, Services
from retrieval.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
INGEST_WORKERS = 2  # threads for fetching and indexing, apart from the ones that answer questions
INGEST_QUEUE = 5  # knowledge-base jobs a server may have waiting before new ones are refused

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
        self.store = BotStore(settings.data_dir / "bot.sqlite3")
        self.slots = GuildSlots(settings.guild_concurrency, settings.guild_queue)
        self.cooldown = UserCooldown(settings.user_cooldown_s)
        self.feeds = FeedRegistry(settings.feeds_path)
        self.refresher = FeedRefresher(self.feeds, services.fetcher)
        self.ingest_pool = ThreadPoolExecutor(INGEST_WORKERS, thread_name_prefix="newsdesk-ingest")
        self._ingest_locks: dict[int, asyncio.Lock] = {}
        self._ingest_waiting: dict[int, int] = {}
        self._chat_model = chat_model_for(settings)
        self._answerers: dict[str, tuple[AnswerService, SummaryService]] = {}
        self.metrics = BotMetrics()
        self.metrics.watch_queues(lambda: self.slots.waiting, lambda: sum(self._ingest_waiting.values()))
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

    async def run_ingest(self, guild_id: int | None, work: Callable[[], T]) -> T:
        """Run knowledge-base work for a server: one job at a time per server, on the ingest pool.

        Fetching and indexing get their own small pool, so however many slow `/kb add` calls are waiting, the
        threads that answer questions in every server stay free; a server's jobs queue behind each other.
        """
        key = guild_id or 0
        if self._ingest_waiting.get(key, 0) >= INGEST_QUEUE:
            raise BadInputError("This server already has several knowledge-base jobs waiting; try again shortly.")
        self._ingest_waiting[key] = self._ingest_waiting.get(key, 0) + 1
        try:
            async with self._ingest_locks.setdefault(key, asyncio.Lock()):
                # Like asyncio.to_thread, carry the caller's context variables into the worker thread.
                context = contextvars.copy_context()
                return await asyncio.get_running_loop().run_in_executor(self.ingest_pool, context.run, work)
        finally:
            self._ingest_waiting[key] -= 1

    async def close(self) -> None:
        await self.health.stop()
        await super().close()
        self.ingest_pool.shutdown(wait=False, cancel_futures=True)

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
