"""Who may do what, and how often: moderator gating, cooldowns and per-server concurrency.

Discord-side `default_permissions` can be changed by server admins, so moderator commands also check locally.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import discord
from discord import app_commands
from discord.ext import commands

from retrieval.settings import Settings


class NotModerator(app_commands.CheckFailure):
    """The user lacks Manage Server and the configured moderator role."""


class ServerBusy(Exception):
    """Every answering slot of this server is taken."""


def is_moderator(member: discord.abc.User, permissions: discord.Permissions, settings: Settings) -> bool:
    if permissions.manage_guild or permissions.administrator:
        return True
    return any(r.id in settings.moderator_role_ids for r in getattr(member, "roles", []))


def _asker_id(who: discord.Message | discord.Interaction) -> int:
    return who.author.id if isinstance(who, discord.Message) else who.user.id


class UserCooldown:
    """One question per user per NEWSDESK_USER_COOLDOWN seconds, shared by /ask, /summary, /digest, mentions,
    replies and the context menu (discord.py's cooldown buckets, keyed by the asker)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._buckets = commands.CooldownMapping.from_cooldown(1, seconds, _asker_id) if seconds > 0 else None

    def retry_after(self, who: discord.Message | discord.Interaction) -> float | None:
        """Take this user's turn; seconds to wait when they have none left."""
        return self._buckets.get_bucket(who).update_rate_limit() if self._buckets else None

    def forgive(self, who: discord.Message | discord.Interaction) -> None:
        """A question refused for bad input costs nothing: give the turn back."""
        if self._buckets:
            self._buckets.get_bucket(who).reset()


async def shared_cooldown(interaction: discord.Interaction) -> bool:
    """The app-command check for UserCooldown."""
    cooldown: UserCooldown = interaction.client.cooldown  # type: ignore[attr-defined]
    retry_after = cooldown.retry_after(interaction)
    if retry_after:
        raise app_commands.CommandOnCooldown(app_commands.Cooldown(1, cooldown.seconds), retry_after)
    return True


OnQueued = Callable[[int], Awaitable[None]]


class GuildSlots:
    """At most N questions answered at once per server, so one busy server cannot starve the others.

    Beyond that, up to `queue` more wait their turn in order (for at most `wait_s`), told their place in line;
    only past the queue's bound is a question refused.
    """

    def __init__(self, per_guild: int, queue: int = 20, wait_s: float = 120.0) -> None:
        self._per_guild = per_guild
        self._queue = queue
        self._wait_s = wait_s
        self._slots: dict[int, asyncio.Semaphore] = {}
        self._waiting: dict[int, int] = {}

    @property
    def waiting(self) -> int:
        """Questions waiting for a slot, across every server (the metrics' queue depth)."""
        return sum(self._waiting.values())

    @asynccontextmanager
    async def slot(self, guild_id: int | None, on_queued: OnQueued | None = None) -> AsyncIterator[None]:
        key = guild_id or 0
        slots = self._slots.setdefault(key, asyncio.Semaphore(self._per_guild))
        if slots.locked():
            if self._waiting.get(key, 0) >= self._queue:
                raise ServerBusy
            self._waiting[key] = self._waiting.get(key, 0) + 1
            try:
                if on_queued is not None:
                    await on_queued(self._waiting[key])
                await asyncio.wait_for(slots.acquire(), self._wait_s)
            except TimeoutError:
                raise ServerBusy from None
            finally:
                self._waiting[key] -= 1
        else:
            await slots.acquire()
        try:
            yield
        finally:
            slots.release()


def queued_notice(interaction: discord.Interaction) -> OnQueued:
    """Tell a waiting asker their place in line, in the reply that will hold the answer."""

    async def notify(position: int) -> None:
        await interaction.edit_original_response(
            content=f"Many questions here right now: yours is number {position} in line and will be answered shortly."
        )

    return notify
