"""Building, describing, running and syncing the bot: what `newsdesk bot` calls."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
from discord import app_commands

from bot.client import NewsdeskBot
from bot.sync import clear_guild_commands, sync_commands
from retrieval.errors import ConfigError
from retrieval.knowledge_base import Services
from retrieval.settings import Settings

log = logging.getLogger(__name__)


async def build_bot(settings: Settings, **options: Any) -> NewsdeskBot:
    """A bot with every feature loaded and nothing connected."""
    bot = NewsdeskBot(settings, Services(settings), **options)
    await bot.load_features()
    return bot


def _option(parameter: app_commands.Parameter) -> dict[str, Any]:
    option: dict[str, Any] = {
        "name": parameter.name,
        "description": parameter.description,
        "type": parameter.type.name,
        "required": parameter.required,
    }
    if parameter.choices:
        option["choices"] = [c.value for c in parameter.choices]
    if parameter.min_value is not None or parameter.max_value is not None:
        option["range"] = [parameter.min_value, parameter.max_value]
    if parameter.autocomplete:
        option["autocomplete"] = True
    return option


def describe(bot: NewsdeskBot) -> dict[str, Any]:
    """The bot's commands, mention policy and intents, as `newsdesk bot --dry-run --json` prints them."""
    commands = []
    for command in bot.tree.walk_commands():
        if isinstance(command, app_commands.Group):
            continue
        root = command.root_parent or command
        commands.append(
            {
                "name": command.qualified_name,
                "description": command.description,
                "options": [_option(p) for p in command.parameters],
                "default_permissions": root.default_permissions.value if root.default_permissions else None,
                "moderators": bool(command.extras.get("moderators")),  # checked by the bot itself (bot/checks.py)
                "guild_only": bool(root.guild_only),
            }
        )
    mentions = bot.allowed_mentions or discord.AllowedMentions.all()
    return {
        "commands": commands,
        "allowed_mentions": {
            "everyone": mentions.everyone,
            "roles": bool(mentions.roles),
            "users": bool(mentions.users),
            "replied_user": mentions.replied_user,
        },
        "intents": sorted(name for name, enabled in bot.intents if enabled),
        "contexts": {
            c.name: [k for k in ("guild", "dm_channel", "private_channel") if getattr(c.allowed_contexts, k, False)]
            for c in bot.tree.get_commands()
            if c.allowed_contexts is not None
        },
    }


def _token(settings: Settings) -> str:
    if settings.discord_token is None:
        raise ConfigError("Set DISCORD_TOKEN in .env (see README, 'Running the Discord bot').")
    return settings.discord_token.get_secret_value()


def run(settings: Settings, shard_ids: list[int] | None = None, shard_count: int | None = None) -> None:
    token = _token(settings)

    async def main() -> None:
        options: dict[str, Any] = {}
        if shard_count:
            options.update(shard_count=shard_count, shard_ids=shard_ids)
        services = Services(settings)
        try:
            async with NewsdeskBot(settings, services, **options) as bot:
                await bot.start(token)
        except discord.PrivilegedIntentsRequired:
            log.warning(
                "The Message Content intent is not enabled for this application in the Discord developer portal; "
                "starting without it. Slash commands, context menus, mentions and replies to answers work; "
                "unaddressed follow-ups in threads are not seen. Enable the intent to get them back."
            )
            async with NewsdeskBot(settings, services, message_content=False, **options) as bot:
                await bot.start(token)

    asyncio.run(main())


def sync(settings: Settings, guild_id: int | None, clear_guild: int | None = None) -> bool:
    """Log in, load the commands and sync them (to one guild, or globally), whatever the stored hash says; or,
    with `clear_guild`, remove one guild's copies."""
    token = _token(settings)

    async def main() -> bool:
        bot = await build_bot(settings)
        async with bot:
            await bot.login(token)
            if clear_guild:
                await clear_guild_commands(bot.tree, settings.data_dir, discord.Object(clear_guild))
                return True
            guild = discord.Object(guild_id) if guild_id else None
            return await sync_commands(bot.tree, settings.data_dir, guild, force=True)

    return asyncio.run(main())
