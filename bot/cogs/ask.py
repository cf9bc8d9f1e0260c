"""Asking: `/ask`, @mentions (answered in a new thread) and follow-ups inside those threads."""

from __future__ import annotations

import logging
import re

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import ServerBusy, message_cooldowns, user_cooldown
from bot.client import NewsdeskBot
from bot.delivery import produce_answer, thread_history
from bot.errors import user_message
from bot.formatting import NO_PINGS, answer_embed, clip
from bot.views import FeedbackButton, PassageButton, answer_view
from retrieval.errors import NewsdeskError
from retrieval.types import Answer

log = logging.getLogger(__name__)


class AskCog(commands.Cog):
    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot
        self._cooldowns = message_cooldowns(bot.settings)

    def _remember(
        self, guild_id: int | None, user_id: int, answer: Answer, private: bool = False
    ) -> tuple[discord.Embed, discord.ui.View]:
        answer_id = self.bot.store.remember(guild_id, user_id, answer, private=private)
        return answer_embed(answer), answer_view(answer_id, answer.grounded)

    @app_commands.command(description="Ask a question about the news in this server's knowledge base.")
    @app_commands.describe(question="What you want to know", private="Only you will see the answer")
    @app_commands.checks.dynamic_cooldown(user_cooldown)
    async def ask(
        self, interaction: discord.Interaction, question: app_commands.Range[str, 1, 500], private: bool = False
    ) -> None:
        interaction.extras["private"] = private
        await interaction.response.defer(ephemeral=private, thinking=True)
        streamed = False

        async def show_draft(text: str) -> None:
            nonlocal streamed
            streamed = True
            await interaction.edit_original_response(content=text, allowed_mentions=NO_PINGS)

        async with self.bot.slots.slot(interaction.guild_id):
            answer = await produce_answer(self.bot, interaction.guild_id, question, [], show_draft)
        embed, view = self._remember(interaction.guild_id, interaction.user.id, answer, private)
        if streamed:
            await interaction.edit_original_response(content=None, embed=embed, view=view, allowed_mentions=NO_PINGS)
        else:
            await interaction.followup.send(embed=embed, view=view, ephemeral=private, allowed_mentions=NO_PINGS)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        me = self.bot.user
        if me is None or message.author.bot:
            return
        channel = message.channel
        in_our_thread = isinstance(channel, discord.Thread) and channel.owner_id == me.id
        is_dm = message.guild is None
        if not (in_our_thread or me in message.mentions or is_dm):
            return
        if is_dm and not self.bot.settings.allow_dms:
            return
        question = re.sub(rf"<@!?{me.id}>", "", message.content).strip()
        if not question:
            await message.reply(
                "Ask me a question after the mention, for example: why did Canada ban Hikvision?",
                allowed_mentions=NO_PINGS,
            )
            return
        retry_after = self._cooldowns.get_bucket(message).update_rate_limit()
        if retry_after:
            await message.reply(
                f"Slow down a little: you can ask again in {retry_after:.0f} s.",
                allowed_mentions=NO_PINGS,
                delete_after=10,
            )
            return
        await self._answer_message(message, question, in_our_thread)

    async def _answer_message(self, message: discord.Message, question: str, in_our_thread: bool) -> None:
        assert self.bot.user is not None
        guild_id = message.guild.id if message.guild else None
        if in_our_thread:
            assert isinstance(message.channel, discord.Thread)
            target: discord.abc.Messageable = message.channel
            history = await thread_history(message.channel, message, self.bot.user.id)
        elif message.guild is not None:
            target = await message.create_thread(name=clip(question, 90), auto_archive_duration=1440)
            history = []
        else:
            target, history = message.channel, []
        placeholder: discord.Message | None = None

        async def show_draft(text: str) -> None:
            nonlocal placeholder
            if placeholder is None:
                placeholder = await target.send(text, allowed_mentions=NO_PINGS)
            else:
                await placeholder.edit(content=text, allowed_mentions=NO_PINGS)

        try:
            async with self.bot.slots.slot(guild_id):
                answer = await produce_answer(self.bot, guild_id, question, history, show_draft)
        except (NewsdeskError, ServerBusy) as exc:
            await target.send(user_message(exc, None), allowed_mentions=NO_PINGS)
            return
        embed, view = self._remember(guild_id, message.author.id, answer)
        if placeholder is not None:
            await placeholder.edit(content=None, embed=embed, view=view, allowed_mentions=NO_PINGS)
        else:
            await target.send(embed=embed, view=view, allowed_mentions=NO_PINGS)


async def setup(bot: NewsdeskBot) -> None:
    bot.add_dynamic_items(FeedbackButton, PassageButton)
    await bot.add_cog(AskCog(bot))
