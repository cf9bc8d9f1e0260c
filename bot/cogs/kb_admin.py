"""Moderators keep the server's knowledge base fresh: `/kb add|remove|refresh|list|status` and `/kb feeds ...`.

The group is guild-only with `default_permissions(manage_guild=True)`; every command also checks locally (Manage
Server or the configured moderator role), because server admins can change Discord-side defaults.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import NotModerator, is_moderator
from bot.client import NewsdeskBot
from bot.cogs.summaries import article_choices
from bot.formatting import BRAND, NO_PINGS, clip, clip_lines
from retrieval.errors import BadInputError
from retrieval.feeds import parse_every
from retrieval.indexer import Progress
from retrieval.knowledge_base import KnowledgeBase
from retrieval.loaders import Loaded, load_upload, load_url
from retrieval.types import Article, IngestReport

log = logging.getLogger(__name__)
PROGRESS_INTERVAL_S = 1.0
PAGE_SIZE = 10
IngestWork = Callable[[KnowledgeBase, Progress], IngestReport]


def report_line(report: IngestReport) -> str:
    line = f"Added {report.added} · updated {report.updated} · unchanged {report.unchanged}"
    line += f" · failed {len(report.failed)}"
    for failure in report.failed[:5]:
        line += f"\n• {clip(failure.source, 80)}: {failure.error}"
    return clip(line, 2000)


async def moderator_article_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Autocomplete for moderator commands: nothing at all for anyone else."""
    settings = interaction.client.settings  # type: ignore[attr-defined]
    if interaction.guild_id is None or not is_moderator(interaction.user, interaction.permissions, settings):
        return []
    return await article_choices(interaction, current)


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class KnowledgeBaseAdmin(commands.GroupCog, group_name="kb", group_description="Moderators: manage the knowledge base"):
    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage
        if not is_moderator(interaction.user, interaction.permissions, self.bot.settings):
            raise NotModerator
        return True

    async def _ingest(self, interaction: discord.Interaction, work: IngestWork, label: str) -> IngestReport:
        """Run `work(kb, progress)` in a thread, editing the private reply with progress about once a second."""
        loop = asyncio.get_running_loop()
        last = 0.0
        edits: list[concurrent.futures.Future] = []

        def progress(done: int, total: int) -> None:
            nonlocal last
            if time.monotonic() - last >= PROGRESS_INTERVAL_S and done < total:
                last = time.monotonic()
                edit = interaction.edit_original_response(content=f"{label}: {done}/{total} articles indexed…")
                edits.append(asyncio.run_coroutine_threadsafe(edit, loop))

        kb = await self.bot.knowledge_base(interaction.guild_id)
        await interaction.edit_original_response(content=f"{label}…")
        report: IngestReport = await self.bot.run_ingest(interaction.guild_id, lambda: work(kb, progress))
        # Let progress edits land first, so none can overwrite the final summary.
        await asyncio.gather(*(asyncio.wrap_future(e) for e in edits), return_exceptions=True)
        await asyncio.to_thread(self.bot.store.record_failures, interaction.guild_id or 0, report.failed)
        await interaction.edit_original_response(content=f"{label} done. {report_line(report)}")
        await self.bot.audit(
            interaction.guild, f"{interaction.user} ({interaction.user.id}) — {label}: {report_line(report)}"
        )
        return report

    @app_commands.command(name="add", description="Add articles from a link, an uploaded file or pasted text.")
    @app_commands.describe(
        url="A public http(s) link",
        attachment="A .txt, .md, .html or .jsonl file",
        text="Article text to paste",
        title="Title for pasted text",
    )
    async def add(
        self,
        interaction: discord.Interaction,
        url: str | None = None,
        attachment: discord.Attachment | None = None,
        text: app_commands.Range[str, 1, 4000] | None = None,
        title: app_commands.Range[str, 1, 200] | None = None,
    ) -> None:
        if sum(x is not None for x in (url, attachment, text)) != 1:
            raise BadInputError("Give exactly one of url, attachment or text.")
        if text is not None and title is None:
            raise BadInputError("Pasted text needs a title.")
        if attachment is not None and attachment.size > self.bot.settings.max_file_bytes:
            limit = self.bot.settings.max_file_bytes / 1e6
            raise BadInputError(f"{attachment.filename} is over the {limit:g} MB limit.")
        interaction.extras["private"] = True
        await interaction.response.defer(ephemeral=True, thinking=True)
        if url is not None:
            # Only http(s) through the SSRF guard: text from Discord never names a file on this machine.
            work = lambda kb, p: kb.ingest_loaded(load_url(url, kb.fetcher), p)  # noqa: E731
            await self._ingest(interaction, work, f"Adding {clip(url, 100)}")
        elif attachment is not None:
            data = await attachment.read()
            work = lambda kb, p: _ingest_upload(kb, attachment.filename, data, p)  # noqa: E731
            await self._ingest(interaction, work, f"Adding {clip(attachment.filename, 100)}")
        else:
            article = Article(title=title or "", text=text or "", source=f"discord:{interaction.user.id}")
            work = lambda kb, p: kb.ingest_articles([article], p)  # noqa: E731
            await self._ingest(interaction, work, f"Adding {clip(title or '', 100)}")

    @app_commands.command(name="remove", description="Remove an article and all its passages.")
    @app_commands.autocomplete(article=moderator_article_choices)
    async def remove(self, interaction: discord.Interaction, article: str) -> None:
        interaction.extras["private"] = True
        await interaction.response.defer(ephemeral=True, thinking=True)
        kb = await self.bot.knowledge_base(interaction.guild_id)
        record, chunks = await asyncio.to_thread(kb.remove, article)
        await interaction.followup.send(
            f"Removed “{clip(record.title, 200)}” ({chunks} passages).", ephemeral=True, allowed_mentions=NO_PINGS
        )
        await self.bot.audit(interaction.guild, f"{interaction.user} ({interaction.user.id}) removed {record.title}")

    @app_commands.command(name="refresh", description="Fetch followed feeds and linked articles now; index changes.")
    async def refresh(self, interaction: discord.Interaction) -> None:
        interaction.extras["private"] = True
        await interaction.response.defer(ephemeral=True, thinking=True)
        kb = await self.bot.knowledge_base(interaction.guild_id)
        followed = await asyncio.to_thread(self.bot.feeds.feeds, kb.name)
        # Articles added by link (not through a feed) are fetched again too; feed items come with their feed.
        urls = sorted({a.url for a in await asyncio.to_thread(kb.articles) if a.url and a.source == a.url})
        if not followed and not urls:
            await interaction.followup.send(
                "Nothing to refresh: follow a feed with `/kb feeds add` or add links with `/kb add url:`.",
                ephemeral=True,
            )
            return

        def work(base: KnowledgeBase, progress: Progress) -> IngestReport:
            feeds = self.bot.refresher.refresh(base)
            links = Loaded()
            for url in urls:
                links.add(load_url(url, base.fetcher))
            report = base.ingest_loaded(links, progress)
            report.absorb(feeds)
            return report

        await self._ingest(interaction, work, f"Refreshing {len(followed)} feeds and {len(urls)} links")

    feeds = app_commands.Group(name="feeds", description="Follow RSS and Atom feeds")

    @feeds.command(name="add", description="Follow an RSS or Atom feed; it is refreshed in the background.")
    @app_commands.describe(url="The feed's http(s) address", every="How often to check it")
    async def feeds_add(
        self, interaction: discord.Interaction, url: str, every: Literal["30m", "1h", "6h", "1d"] = "1h"
    ) -> None:
        interaction.extras["private"] = True
        await interaction.response.defer(ephemeral=True, thinking=True)  # acknowledge before any DNS lookup
        await asyncio.to_thread(self.bot.services.fetcher.check, url)
        kb = self.bot.kb_name(interaction.guild_id)
        await asyncio.to_thread(self.bot.feeds.add, kb, url, parse_every(every))
        await interaction.followup.send(
            f"Following {clip(url, 200)} every {every}. Run `/kb refresh` to fetch it now.", ephemeral=True
        )
        await self.bot.audit(interaction.guild, f"{interaction.user} ({interaction.user.id}) followed {url}")

    @feeds.command(name="list", description="The feeds this server follows, with their state.")
    async def feeds_list(self, interaction: discord.Interaction) -> None:
        followed = await asyncio.to_thread(self.bot.feeds.feeds, self.bot.kb_name(interaction.guild_id))
        if not followed:
            await interaction.response.send_message("No feeds yet; add one with `/kb feeds add`.", ephemeral=True)
            return
        lines = [
            f"• {discord.utils.escape_markdown(clip(f.title or f.url, 80))} — every {f.every_s // 60} min, "
            f"last success {f.last_success or 'never'}"
            + (f", **error:** {clip(f.last_error, 120)}" if f.last_error else "")
            for f in followed
        ]
        embed = discord.Embed(title="Followed feeds", description=clip_lines("\n".join(lines), 4096), colour=BRAND)
        await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=NO_PINGS)

    @feeds.command(name="remove", description="Stop following a feed (its articles stay).")
    async def feeds_remove(self, interaction: discord.Interaction, url: str) -> None:
        await asyncio.to_thread(self.bot.feeds.remove, self.bot.kb_name(interaction.guild_id), url)
        await interaction.response.send_message(f"No longer following {clip(url, 200)}.", ephemeral=True)
        await self.bot.audit(interaction.guild, f"{interaction.user} ({interaction.user.id}) unfollowed {url}")

    @app_commands.command(name="list", description="List the articles in this server's knowledge base.")
    async def list_articles(self, interaction: discord.Interaction, page: app_commands.Range[int, 1, 1000] = 1) -> None:
        interaction.extras["private"] = True
        await interaction.response.defer(ephemeral=True, thinking=True)
        kb = await self.bot.knowledge_base(interaction.guild_id)
        articles = await asyncio.to_thread(kb.articles)
        if not articles:
            await interaction.followup.send("The knowledge base is empty; add articles with `/kb add`.", ephemeral=True)
            return
        pages = -(-len(articles) // PAGE_SIZE)
        shown = articles[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        lines = [
            f"`{a.id[:8]}` {discord.utils.escape_markdown(clip(a.title, 80))} — "
            f"{discord.utils.escape_markdown(a.outlet or 'unknown')}, {a.published or 'undated'}"
            for a in shown
        ]
        embed = discord.Embed(
            title=f"Articles (page {min(page, pages)}/{pages})",
            description="\n".join(lines) or "No articles on this page.",
            colour=BRAND,
        )
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_PINGS)

    @app_commands.command(name="status", description="Counts, last refresh and recent failures.")
    async def status(self, interaction: discord.Interaction) -> None:
        interaction.extras["private"] = True
        await interaction.response.defer(ephemeral=True, thinking=True)
        kb = await self.bot.knowledge_base(interaction.guild_id)
        stats = await asyncio.to_thread(kb.stats)
        embed = discord.Embed(title="Knowledge base status", colour=BRAND)
        embed.add_field(name="Articles", value=str(stats.articles))
        embed.add_field(name="Passages", value=str(stats.chunks))
        embed.add_field(name="Last refresh", value=stats.last_ingest or "never")
        followed = await asyncio.to_thread(self.bot.feeds.feeds, kb.name)
        if followed:
            due = min(f.next_due for f in followed)
            failing = [f for f in followed if f.last_error]
            value = (
                f"{len(followed)} followed, {len(failing)} failing; next check <t:{int(due)}:R>"
                if due
                else (f"{len(followed)} followed; not fetched yet")
            )
            embed.add_field(name="Feeds", value=value, inline=False)
        failures = self.bot.store.recent_failures(interaction.guild_id or 0)
        if failures:
            value = "\n".join(f"• {clip(src, 60)}: {clip(err, 120)}" for src, err, _ in failures)
            embed.add_field(name="Recent failures", value=clip(value, 1024), inline=False)
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_PINGS)


def _ingest_upload(kb: KnowledgeBase, filename: str, data: bytes, progress: Progress | None) -> IngestReport:
    """Ingest an uploaded file from memory (never written to disk), crediting the upload as the source."""
    loaded = load_upload(filename, data, kb.settings)
    loaded.articles = [replace(a, source=f"upload:{filename}") for a in loaded.articles]
    return kb.ingest_loaded(loaded, progress)


async def setup(bot: NewsdeskBot) -> None:
    cog = KnowledgeBaseAdmin(bot)
    await bot.add_cog(cog)
