"""The tree's error handler: every failure reaches the user as one short private sentence; the rest is logged."""

from __future__ import annotations

import contextlib
import logging

import discord
from discord import app_commands

from bot.checks import NotModerator, ServerBusy
from bot.formatting import MESSAGE_LIMIT, clip, plain
from retrieval.errors import BadInputError, NewsdeskError, NotFoundError
from retrieval.logs import new_request_id

log = logging.getLogger(__name__)


def user_message(error: BaseException, interaction: discord.Interaction | None) -> str:
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down a little: you can ask again in {error.retry_after:.0f} s."
    if isinstance(error, NotModerator):
        return "Only moderators (Manage Server, or a moderator role the host set) can change the knowledge base."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command only works inside a server."
    if isinstance(error, ServerBusy):
        return "newsdesk is busy answering other questions in this server; try again in a moment."
    if isinstance(error, NewsdeskError):
        return plain(str(error))  # it may quote a title, a link or a page's words
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use this command here."
    command = interaction.command.qualified_name if interaction and interaction.command else "?"
    log.error("unexpected error in /%s", command, exc_info=error)
    return "Something went wrong on our side; it has been logged. Please try again later."


async def send_private(interaction: discord.Interaction, message: str) -> None:
    """Reply privately, even when the interaction was already deferred publicly; long errors are clipped."""
    none = discord.AllowedMentions.none()
    message = clip(message, MESSAGE_LIMIT)
    if not interaction.response.is_done():
        await interaction.response.send_message(message, ephemeral=True, allowed_mentions=none)
        return
    if not interaction.extras.get("private"):
        # A public "thinking…" placeholder would otherwise show the error to everyone: remove it first.
        with contextlib.suppress(discord.HTTPException):
            await interaction.delete_original_response()
    await interaction.followup.send(message, ephemeral=True, allowed_mentions=none)


class NewsdeskTree(app_commands.CommandTree):
    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Runs first in the task that handles the command: every log line written for it carries this id."""
        new_request_id()
        return True

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        if isinstance(cause, BadInputError | NotFoundError | ServerBusy):
            interaction.client.cooldown.forgive(interaction)  # type: ignore[attr-defined]
        await send_private(interaction, user_message(error, interaction))
