"""Asking: `/ask`, @mentions (answered in a new thread) and follow-ups inside those threads."""

from __future__ import annotations

import asyncio
import logging
import re

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import ServerBusy, queued_notice, shared_cooldown
from bot.client import NewsdeskBot
from bot.delivery import HISTORY_TURNS, answer_turns, produce_answer, turns_from
from bot.errors import user_message
from bot.formatting import NO_PINGS, answer_embed, clip
from bot.store import GuildSettings
from bot.views import AnswerButton, FeedbackButton, ReasonSelect, answer_view
from retrieval.answer.chain import Turn
from retrieval.errors import BadInputError, NewsdeskError
from retrieval.logs import new_request_id
from retrieval.questions import reads_as_question
from retrieval.types import Answer

log = logging.getLogger(__name__)


class AskCog(commands.Cog):
    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot
        self._context_menu = app_commands.ContextMenu(name="Ask newsdesk about this", callback=self.about_message)
        self._context_menu.add_check(shared_cooldown)

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self._context_menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self._context_menu.name, type=self._context_menu.type)

    async def about_message(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """A question in the message is answered; a statement is checked against the knowledge base."""
        text = " ".join(message.content.split())[: self.bot.settings.max_question_chars]
        if not text:
            raise BadInputError("That message has no text to ask about.")
        interaction.extras["private"] = True
        await interaction.response.defer(ephemeral=True, thinking=True)
        answers, _ = await self.bot.answerers(interaction.guild_id)
        async with self.bot.slots.slot(interaction.guild_id, queued_notice(interaction)):
            if reads_as_question(text):
                answer = await produce_answer(self.bot, interaction.guild_id, text, [])
            else:
                answer = await asyncio.to_thread(answers.check_claim, text)
        embed, view = self._remember(interaction.guild_id, interaction.user.id, answer, private=True)
        await interaction.followup.send(embed=embed, view=view, ephemeral=True, allowed_mentions=NO_PINGS)

    def _remember(
        self, guild_id: int | None, user_id: int, answer: Answer, private: bool = False, *, asked: bool = False
    ) -> tuple[discord.Embed, discord.ui.View]:
        """Keep the answer for its buttons. A refusal of something that is no question ("thanks!" to a mention, an
        unsupported claim) is not kept: it has no buttons and never shows as a question the knowledge base missed.
        What members type into `/ask` (`asked`) is a question however it is worded ("quark confinement results")."""
        if not answer.grounded and not asked and not reads_as_question(answer.question):
            return answer_embed(answer), discord.ui.View()
        answer_id = self.bot.store.remember(guild_id, user_id, answer, private=private)
        return answer_embed(answer), answer_view(answer_id, answer)

    @app_commands.command(description="Ask a question about the news in this server's knowledge base.")
    @app_commands.describe(question="What you want to know", private="Only you will see the answer")
    @app_commands.check(shared_cooldown)
    async def ask(
        self, interaction: discord.Interaction, question: app_commands.Range[str, 1, 500], private: bool = False
    ) -> None:
        interaction.extras["private"] = private
        await interaction.response.defer(ephemeral=private, thinking=True)
        streamed = False

        async def show_progress(text: str) -> None:
            nonlocal streamed
            streamed = True
            await interaction.edit_original_response(content=text, allowed_mentions=NO_PINGS)

        async with self.bot.slots.slot(interaction.guild_id, queued_notice(interaction)):
            answer = await produce_answer(self.bot, interaction.guild_id, question, [], show_progress)
        embed, view = self._remember(interaction.guild_id, interaction.user.id, answer, private, asked=True)
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
        is_dm = message.guild is None
        if is_dm and not self.bot.settings.allow_dms:
            return
        mentioned = me in message.mentions
        replied = _replied_to(message, me.id)
        in_our_thread = isinstance(channel, discord.Thread) and channel.owner_id == me.id
        chosen = self.bot.store.guild_settings(message.guild.id) if message.guild else GuildSettings()
        if _opens_forum_post(message, chosen):
            await self._answer_forum_post(message)
            return
        rule = chosen.rule_for(channel.id)
        addressed = mentioned or replied is not None or is_dm
        if mentioned and not (replied or in_our_thread or chosen.answers_mentions_in(channel)):
            return  # moderators chose where newsdesk answers mentions
        if not (addressed or in_our_thread or rule.listen == "questions"):
            return
        if not addressed and not reads_as_question(message.content):
            return  # "lol", "thanks!": talk between people, not a question for newsdesk
        recent = await _recent(channel, message) if in_our_thread or is_dm else []
        # Unaddressed talk in our thread is for us only while one person is asking: "thanks, that's all!" from a
        # second person is conversation between people.
        humans = {m.author.id for m in recent if not m.author.bot} | {message.author.id}
        if in_our_thread and not (mentioned or replied is not None) and len(humans) > 1:
            return
        question = re.sub(rf"<@!?{me.id}>", "", message.content).strip()
        if not question:
            await message.reply(
                "Ask me a question after the mention, for example: why did Canada ban Hikvision?",
                allowed_mentions=NO_PINGS,
            )
            return
        if not await self._take_turn(message):
            return
        if replied is not None:
            history = answer_turns(replied)
        elif recent:
            history = turns_from(recent, me.id)
        else:
            history = await _post_context(channel)
        in_place = replied is not None or rule.answer_in == "reply"
        await self._answer_message(message, question, history, in_place=in_place)

    async def _take_turn(self, message: discord.Message) -> bool:
        """The asker's cooldown turn; when they have none left, say so briefly and answer nothing."""
        retry_after = self.bot.cooldown.retry_after(message)
        if retry_after:
            await message.reply(
                f"Slow down a little: you can ask again in {retry_after:.0f} s.",
                allowed_mentions=NO_PINGS,
                delete_after=10,
            )
        return not retry_after

    async def _answer_forum_post(self, message: discord.Message) -> None:
        """A new post in the server's support forum: its title and first message are the question, answered in
        the post itself, whatever it says (posting there is asking)."""
        post = message.channel
        text = " ".join(f"{getattr(post, 'name', '')}. {message.content}".split())
        if await self._take_turn(message):
            await self._answer_message(message, text[: self.bot.settings.max_question_chars], [], in_place=True)

    async def _thread_for(self, message: discord.Message, question: str) -> discord.abc.Messageable:
        """A new thread under a text-channel message when possible, else right here (threads, forum posts,
        voice-channel chats, DMs)."""
        channel = message.channel
        if not isinstance(channel, discord.TextChannel):
            return channel
        try:
            return await message.create_thread(name=clip(question, 90), auto_archive_duration=1440)
        except discord.HTTPException as exc:  # no permission, archived parent, ...: answer where we were asked
            log.info("could not start a thread in %s (%s); replying in the channel", channel.id, exc)
            return channel

    async def _answer_message(self, message: discord.Message, question: str, history, in_place: bool) -> None:
        new_request_id()  # every log line written while answering this message carries it
        guild_id = message.guild.id if message.guild else None
        placeholder: discord.Message | None = None
        where: discord.abc.Messageable | None = None  # decided by the first message sent

        async def send(opens_thread: bool, **kwargs) -> discord.Message:
            """Only an answer earns a thread; a refusal or an error is one short reply where the question was."""
            nonlocal where
            if where is None:
                where = await self._thread_for(message, question) if opens_thread and not in_place else message.channel
            if where is message.channel:  # answering where we were asked: as a reply, so it is clear to whom
                return await message.reply(allowed_mentions=NO_PINGS, mention_author=False, **kwargs)
            return await where.send(allowed_mentions=NO_PINGS, **kwargs)

        async def show_progress(text: str) -> None:
            nonlocal placeholder
            if placeholder is None:
                placeholder = await send(True, content=text)
            else:
                await placeholder.edit(content=text, allowed_mentions=NO_PINGS)

        try:
            async with self.bot.slots.slot(guild_id), message.channel.typing():
                answer = await produce_answer(self.bot, guild_id, question, history, show_progress)
        except (NewsdeskError, ServerBusy) as exc:
            await send(False, content=user_message(exc, None))
            return
        embed, view = self._remember(guild_id, message.author.id, answer)
        if placeholder is not None:
            await placeholder.edit(content=None, embed=embed, view=view, allowed_mentions=NO_PINGS)
        else:
            await send(answer.grounded, embed=embed, view=view)


def _opens_forum_post(message: discord.Message, chosen: GuildSettings) -> bool:
    """The first message of a new post in the server's support forum (a post's id is its first message's id)."""
    post = message.channel
    return (
        chosen.forum_channel is not None
        and isinstance(post, discord.Thread)
        and post.parent_id == chosen.forum_channel
        and message.id == post.id
    )


def _replied_to(message: discord.Message, bot_id: int) -> discord.Message | None:
    """The bot's answer this message replies to, if it is one (Discord sends the referenced message along)."""
    reference = message.reference
    resolved = reference.resolved if reference else None
    if isinstance(resolved, discord.Message) and resolved.author.id == bot_id and resolved.embeds:
        return resolved
    return None


async def _recent(channel: discord.abc.Messageable, before: discord.Message) -> list[discord.Message]:
    return [m async for m in channel.history(limit=HISTORY_TURNS, before=before)]


async def _post_context(channel: discord.abc.Messageable) -> list[Turn]:
    """In a forum post, the post's title and opening message are what the question is about."""
    if not isinstance(channel, discord.Thread) or not isinstance(channel.parent, discord.ForumChannel):
        return []
    starter = channel.starter_message
    if starter is None:
        try:
            starter = await channel.fetch_message(channel.id)
        except discord.HTTPException:
            starter = None
    text = f"{channel.name}. {starter.content}" if starter and starter.content else channel.name
    return [Turn("user", text)]


async def setup(bot: NewsdeskBot) -> None:
    bot.add_dynamic_items(FeedbackButton, ReasonSelect, AnswerButton)
    await bot.add_cog(AskCog(bot))
