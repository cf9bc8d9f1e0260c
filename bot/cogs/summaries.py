"""Summaries for everyone: `/summary`, `/digest` and `/sources`."""

from __future__ import annotations

import asyncio
from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import shared_cooldown
from bot.client import NewsdeskBot
from bot.formatting import BRAND, NO_PINGS, answer_embed, clip, plain, timestamp
from bot.views import answer_view
from retrieval.errors import BadInputError
from retrieval.matching import Candidate, closest
from retrieval.text import visible
from retrieval.types import Answer


async def article_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Autocomplete: this server's articles whose title contains what was typed so far, then the closest."""
    bot: NewsdeskBot = interaction.client  # type: ignore[assignment]
    if interaction.guild_id is None and not bot.settings.allow_dms:
        return []
    kb = await bot.knowledge_base(interaction.guild_id)
    articles = await asyncio.to_thread(kb.articles)
    found = closest(current, [Candidate(a.id, a.title) for a in articles])
    return [app_commands.Choice(name=clip(visible(c.name), 100), value=c.key) for c in found]


class SummariesCog(commands.Cog):
    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot

    async def _send(self, interaction: discord.Interaction, answer: Answer, title: str) -> None:
        answer_id = self.bot.store.remember(interaction.guild_id, interaction.user.id, answer)
        await interaction.followup.send(
            embed=answer_embed(answer, title=title),
            view=answer_view(answer_id, answer),
            allowed_mentions=NO_PINGS,
        )

    @app_commands.command(description="Summarise a topic across articles, or one article.")
    @app_commands.describe(topic="A topic, e.g. Hikvision", article="One article from this server's knowledge base")
    @app_commands.autocomplete(article=article_choices)
    @app_commands.check(shared_cooldown)
    async def summary(
        self,
        interaction: discord.Interaction,
        topic: app_commands.Range[str, 1, 200] | None = None,
        article: str | None = None,
    ) -> None:
        if (topic is None) == (article is None):
            raise BadInputError("Give either a topic or an article to summarise.")
        await interaction.response.defer(thinking=True)
        _, summaries = await self.bot.answerers(interaction.guild_id)
        async with self.bot.slots.slot(interaction.guild_id):
            if topic is not None:
                answer = await asyncio.to_thread(summaries.topic, topic)
            else:
                answer = await asyncio.to_thread(summaries.article, article or "")
        title = f"Summary: {topic}" if topic else f"Summary: {answer.question.removeprefix('summary: ')}"
        await self._send(interaction, answer, title)

    @app_commands.command(description="What is new in this server's knowledge base.")
    @app_commands.describe(since="How far back to look")
    @app_commands.check(shared_cooldown)
    async def digest(self, interaction: discord.Interaction, since: Literal["24h", "3d", "7d", "30d"] = "7d") -> None:
        await interaction.response.defer(thinking=True)
        _, summaries = await self.bot.answerers(interaction.guild_id)
        async with self.bot.slots.slot(interaction.guild_id):  # counted like /ask: eight digests cannot crowd it out
            answer = await asyncio.to_thread(summaries.digest, since)
        await self._send(interaction, answer, f"What's new (last {since})")

    @app_commands.command(name="help", description="What newsdesk can do here, with examples.")
    async def help_command(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        kb = await self.bot.knowledge_base(interaction.guild_id)
        stats = await asyncio.to_thread(kb.stats)
        embed = discord.Embed(title="newsdesk: news answers with checked sources", colour=BRAND)
        embed.description = (
            "• `/ask` a question, or mention me in a message; reply to one of my answers to follow up.\n"
            "• On any message: right-click (long-press on mobile) → *Apps* → **Ask newsdesk about this**: "
            "a question in it is answered, a statement is checked against the sources (only you see the result).\n"
            "• `/summary` of a topic or one article, `/digest` of what is new, `/sources` for what I know.\n"
            "• Every sentence of an answer cites an article, and every citation is checked against it."
        )
        if stats.articles:
            kb_articles = await asyncio.to_thread(kb.articles)
            newest = max(kb_articles, key=lambda a: a.ingested_at)
            embed.add_field(
                name="This server's knowledge base",
                value=f"{stats.articles} articles, {stats.chunks} passages; newest published "
                f"{stats.newest or 'undated'}, last updated {timestamp(stats.last_ingest)}.",
                inline=False,
            )
            examples = [f"`/summary article:` {_plain_title(a.title)}" for a in kb_articles[:2]]
            examples.insert(0, f"`/ask question:` what happened with {_plain_title(newest.title)}?")
            embed.add_field(name="Try", value=clip("\n".join(examples), 1024), inline=False)
        else:
            embed.add_field(
                name="This server's knowledge base",
                value="It is empty: moderators add articles and feeds with `/kb add` and `/kb feeds add`.",
                inline=False,
            )
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_PINGS)

    @app_commands.command(description="What this server's knowledge base covers.")
    async def sources(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        kb = await self.bot.knowledge_base(interaction.guild_id)
        stats = await asyncio.to_thread(kb.stats)
        if not stats.articles:
            text = "This server's knowledge base is empty. Moderators can add articles with `/kb add`."
            await interaction.followup.send(text, allowed_mentions=NO_PINGS)
            return
        embed = discord.Embed(title="This server's knowledge base", colour=BRAND)
        embed.add_field(name="Articles", value=str(stats.articles))
        embed.add_field(name="Passages", value=str(stats.chunks))
        embed.add_field(name="Published", value=f"{stats.oldest or '?'} → {stats.newest or '?'}")
        outlets = ", ".join(f"{plain(o)} ({n})" for o, n in stats.outlets.items())
        embed.add_field(name="Outlets", value=clip(outlets, 1024), inline=False)
        embed.add_field(name="Last updated", value=timestamp(stats.last_ingest), inline=False)
        await interaction.followup.send(embed=embed, allowed_mentions=NO_PINGS)


def _plain_title(title: str) -> str:
    return plain(clip(title, 80))


async def setup(bot: NewsdeskBot) -> None:
    await bot.add_cog(SummariesCog(bot))
