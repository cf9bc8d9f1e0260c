"""`newsdesk bot`: run the Discord bot, describe it (`--dry-run`), or sync its slash commands."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

import typer

from cli.output import JSON_OPTION, Command, Group, console, emit, friendly_errors, state
from retrieval.logs import configure_logging
from retrieval.settings import Settings

bot_app = typer.Typer(cls=Group, help="Run the Discord bot (DISCORD_TOKEN in .env).")


@bot_app.callback(invoke_without_command=True)
def bot(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Build the bot and list its commands; don't connect.", metavar="")
    ] = False,
    shard_count: Annotated[int | None, typer.Option(help="Total shards across all processes.")] = None,
    shard_ids: Annotated[
        str | None, typer.Option(help="Shards this process runs, e.g. 0,1 (needs --shard-count).")
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            min=1, max=65535, help="Serve /healthz and /metrics on this port (NEWSDESK_METRICS_PORT; off by default)."
        ),
    ] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Run the bot, or with --dry-run show its commands, mention policy and intents."""
    if ctx.invoked_subcommand is not None:
        return
    from bot import runner

    settings = state(ctx).settings
    if metrics_port is not None:
        settings = settings.model_copy(update={"metrics_port": metrics_port})
    verbose = "-v" in sys.argv or "--verbose" in sys.argv
    configure_logging(verbose, service=not dry_run, json_format=settings.log_format == "json")
    with friendly_errors(as_json):
        if dry_run:
            description = asyncio.run(_describe(settings))

            def render() -> None:
                for command in description["commands"]:
                    gate = " (moderators)" if command["default_permissions"] or command["moderators"] else ""
                    console.print(f"/{command['name']}{gate}: {command['description']}")
                console.print(f"mentions: {description['allowed_mentions']}\nintents: {description['intents']}")

            emit(description, as_json, render)
            return
        ids = [int(x) for x in shard_ids.split(",")] if shard_ids else None
        runner.run(settings, ids, shard_count)


async def _describe(settings: Settings) -> dict:
    from bot import runner

    bot = await runner.build_bot(settings)
    try:
        return runner.describe(bot)
    finally:
        bot.services.close()  # the bot never connected, so there is no gateway to close


@bot_app.command("sync", cls=Command)
def sync(
    ctx: typer.Context,
    guild: Annotated[int | None, typer.Option(help="Sync to this server only (instant), instead of globally.")] = None,
    clear_guild: Annotated[
        int | None, typer.Option("--clear-guild", help="Remove the commands an earlier --guild sync put in a server.")
    ] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Push the slash command definitions to Discord now."""
    from bot import runner

    with friendly_errors(as_json):
        runner.sync(state(ctx).settings, guild, clear_guild)
    done = f"Slash commands removed from server {clear_guild}." if clear_guild else "Slash commands synced."
    emit({"synced": not clear_guild, "guild": guild, "cleared": clear_guild}, as_json, lambda: console.print(done))
