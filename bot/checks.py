"""Who may do what, and how often: moderator gating, cooldowns and per-server concurrency.

Discord-side `default_permissions` can be changed by server admins, so moderator commands also check locally.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
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


def user_cooldown(interaction: discord.Interaction) -> app_commands.Cooldown | None:
    """One question per user per NEWSDESK_USER_COOLDOWN seconds (discord.py's own cooldown machinery)."""
    seconds = interaction.client.settings.user_cooldown_s  # type: ignore[attr-defined]
    return app_commands.Cooldown(1, seconds) if seconds > 0 else None


def message_cooldowns(settings: Settings) -> commands.CooldownMapping:
    """The same per-user limit for questions asked by @mention or in threads."""
    return commands.CooldownMapping.from_cooldown(1, settings.user_cooldown_s, commands.BucketType.user)


class GuildSlots:
    """At most N questions answered at once per server, so one busy server cannot starve the others."""

    def __init__(self, per_guild: int) -> None:
        self._per_guild = per_guild
        self._busy: dict[int, int] = {}

    @asynccontextmanager
    async def slot(self, guild_id: int | None) -> AsyncIterator[None]:
        key = guild_id or 0
        if self._busy.get(key, 0) >= self._per_guild:
            raise ServerBusy
        self._busy[key] = self._busy.get(key, 0) + 1
        try:
            yield
        finally:
            self._busy[key] -= 1
