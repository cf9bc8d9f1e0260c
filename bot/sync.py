"""Sync slash commands only when their definitions change: Discord rate-limits syncing, and syncing on every
start (or worse, in on_ready) is the classic way to hit that limit."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import discord
from discord import app_commands

log = logging.getLogger(__name__)


def command_hash(tree: app_commands.CommandTree) -> str:
    """The definitions as Discord sees them, for the application the tree belongs to (two bots share no hash)."""
    payload = sorted((c.to_dict(tree) for c in tree.get_commands()), key=lambda c: c["name"])
    keyed = {"application": tree.client.application_id, "commands": payload}
    return hashlib.sha256(json.dumps(keyed, sort_keys=True, default=str).encode()).hexdigest()


def _hash_file(tree: app_commands.CommandTree, data_dir: Path, guild: discord.abc.Snowflake | None) -> Path:
    return data_dir / f"commands-{tree.client.application_id}-{guild.id if guild else 'global'}.sha256"


async def clear_guild_commands(tree: app_commands.CommandTree, data_dir: Path, guild: discord.abc.Snowflake) -> int:
    """Remove the commands a `--guild` sync put in one server (they would show twice beside the global ones)."""
    tree.clear_commands(guild=guild)
    removed = await tree.sync(guild=guild)
    _hash_file(tree, data_dir, guild).unlink(missing_ok=True)
    log.info("cleared the slash commands of guild %s", guild.id)
    return len(removed)


async def sync_commands(
    tree: app_commands.CommandTree, data_dir: Path, guild: discord.abc.Snowflake | None = None, *, force: bool = False
) -> bool:
    """Sync when the definitions' hash differs from the last synced one (or when forced); returns whether it did."""
    current = command_hash(tree)
    path = _hash_file(tree, data_dir, guild)
    if not force and path.exists() and path.read_text().strip() == current:
        log.info("slash commands unchanged; not syncing")
        return False
    if guild is not None:
        tree.copy_global_to(guild=guild)
    synced = await tree.sync(guild=guild)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(current)
    log.info("synced %d slash commands%s", len(synced), f" to guild {guild.id}" if guild else "")
    return True
