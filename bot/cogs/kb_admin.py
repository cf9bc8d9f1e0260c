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
from bot.errors import send_private, user_message
from bot.formatting import BRAND, MESSAGE_LIMIT, NO_PINGS, add_fields, clip, clip_lines, plain, shown_address
from bot.store import FEEDBACK_REASONS, GuildSettings
from retrieval.dates import iso_date
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


def _who(interaction: discord.Interaction) -> str:
    """The member an audit line is about: their name as text (names may hold Markdown) and their id."""
    return f"{plain(str(interaction.user))} ({interaction.user.id})"


def report_line(report: IngestReport) -> str:
    line = f"Added {report.added} · updated {report.updated} · unchanged {report.unchanged}"
    line += f" · failed {len(report.failed)}"
    for failure in report.failed[:5]:
        line += f"\n• {shown_address(failure.source, 120)}: {plain(clip(failure.error, 300))}"
    return line


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
                edit = interaction.edit_original_response(content=f"{label}: {done}/{total} passages embedded…")
                edits.append(asyncio.run_coroutine_threadsafe(edit, loop))

        kb = await self.bot.knowledge_base(interaction.guild_id)
        await interaction.edit_original_response(content=f"{label}…")
        report: IngestReport = await self.bot.run_ingest(interaction.guild_id, lambda: work(kb, progress))
        self.bot.metrics.ingested(report)
        # Let progress edits land first, so none can overwrite the final summary.
        await asyncio.gather(*(asyncio.wrap_future(e) for e in edits), return_exceptions=True)
        await asyncio.to_thread(self.bot.store.record_failures, interaction.guild_id or 0, report.failed)
        await deliver_late(interaction, clip(f"{label} done. {report_line(report)}", MESSAGE_LIMIT))
        await self.bot.audit(interaction.guild, f"{_who(interaction)} — {label}: {report_line(report)}")
        return report

    @app_commands.command(
        name="add", description="Add an article from a link or a file, or leave both empty to paste one."
    )
    @app_commands.describe(url="A public http(s) link", attachment="A .txt, .md, .html or .jsonl file")
    async def add(
        self, interaction: discord.Interaction, url: str | None = None, attachment: discord.Attachment | None = None
    ) -> None:
        if url is not None and attachment is not None:
            raise BadInputError("Give a link or a file, not both.")
        if url is None and attachment is None:
            await interaction.response.send_modal(PasteArticle(self))  # a form: title, outlet, date, link, text
            return
        if attachment is not None and attachment.size > self.bot.settings.max_file_bytes:
            limit = self.bot.settings.max_file_bytes / 1e6
            raise BadInputError(f"{attachment.filename} is over the {limit:g} MB limit.")
        interaction.extras["private"] = True
        await interaction.response.defer(ephemeral=True, thinking=True)
        if url is not None:
            # Only http(s) through the SSRF guard: text from Discord never names a file on this machine.
            work = lambda kb, p: kb.ingest_loaded(load_url(url, kb.fetcher), p)  # noqa: E731
            await self._ingest(interaction, work, f"Adding {shown_address(url, 120)}")
        elif attachment is not None:
            data = await attachment.read()
            work = lambda kb, p: _ingest_upload(kb, attachment.filename, data, p)  # noqa: E731
            await self._ingest(interaction, work, f"Adding {plain(clip(attachment.filename, 100))}")

    async def add_pasted(self, interaction: discord.Interaction, article: Article) -> None:
        interaction.extras["private"] = True
        await interaction.response.defer(ephemeral=True, thinking=True)
        work = lambda kb, p: kb.ingest_articles([article], p)  # noqa: E731
        await self._ingest(interaction, work, f"Adding {plain(clip(article.title, 100))}")

    @app_commands.command(name="remove", description="Remove an article and all its passages.")
    @app_commands.describe(article="The article to remove (start typing its title)")
    @app_commands.autocomplete(article=moderator_article_choices)
    async def remove(self, interaction: discord.Interaction, article: str) -> None:
        interaction.extras["private"] = True
        await interaction.response.defer(ephemeral=True, thinking=True)
        kb = await self.bot.knowledge_base(interaction.guild_id)
        record, chunks = await asyncio.to_thread(kb.remove, article)
        await interaction.followup.send(
            f"Removed “{plain(clip(record.title, 200))}” ({chunks} passages).",
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )
        await self.bot.audit(interaction.guild, f"{_who(interaction)} removed {plain(clip(record.title, 200))}")

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
        checked = await asyncio.to_thread(self.bot.refresher.check, url)
        await asyncio.to_thread(self.bot.feeds.add, kb, url, parse_every(every))
        title = plain(clip(checked.title, 200)) if checked.title else shown_address(url)
        await interaction.followup.send(
            f"Following {title} ({checked.items} items) every {every}. Run `/kb refresh` to fetch it now.",
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )
        await self.bot.audit(interaction.guild, f"{_who(interaction)} followed {shown_address(url)}")

    @feeds.command(name="list", description="The feeds this server follows, with their state.")
    async def feeds_list(self, interaction: discord.Interaction) -> None:
        followed = await asyncio.to_thread(self.bot.feeds.feeds, self.bot.kb_name(interaction.guild_id))
        if not followed:
            await interaction.response.send_message("No feeds yet; add one with `/kb feeds add`.", ephemeral=True)
            return
        lines = [
            f"• {plain(clip(f.title, 80)) if f.title else shown_address(f.url, 120)} — every {f.every_s // 60} min, "
            f"last success {f.last_success or 'never'}"
            + (f", {f.failing_items} items failing (retried later)" if f.failing_items else "")
            + (f", **error:** {plain(clip(f.last_error, 120))}" if f.last_error else "")
            for f in followed
        ]
        embed = discord.Embed(title="Followed feeds", description=clip_lines("\n".join(lines), 4096), colour=BRAND)
        await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=NO_PINGS)

    @feeds.command(name="remove", description="Stop following a feed (its articles stay).")
    @app_commands.describe(url="The feed's address, as shown by /kb feeds list")
    async def feeds_remove(self, interaction: discord.Interaction, url: str) -> None:
        await asyncio.to_thread(self.bot.feeds.remove, self.bot.kb_name(interaction.guild_id), url)
        await interaction.response.send_message(
            f"No longer following {shown_address(url)}.", ephemeral=True, allowed_mentions=NO_PINGS
        )
        await self.bot.audit(interaction.guild, f"{_who(interaction)} unfollowed {shown_address(url)}")

    @app_commands.command(name="list", description="List the articles in this server's knowledge base.")
    @app_commands.describe(page="Which page of ten articles to show")
    async def list_articles(self, interaction: discord.Interaction, page: app_commands.Range[int, 1, 1000] = 1) -> None:
        interaction.extras["private"] = True
        await interaction.response.defer(ephemeral=True, thinking=True)
        kb = await self.bot.knowledge_base(interaction.guild_id)
        articles = await asyncio.to_thread(kb.articles)
        if not articles:
            await interaction.followup.send("The knowledge base is empty; add articles with `/kb add`.", ephemeral=True)
            return
        content, embed, view = article_page(articles, page)
        await interaction.followup.send(content, embed=embed, view=view, ephemeral=True, allowed_mentions=NO_PINGS)

    @app_commands.command(name="feedback", description="Answers marked not helpful, and questions it could not answer.")
    async def feedback(self, interaction: discord.Interaction) -> None:
        interaction.extras["private"] = True
        await interaction.response.defer(ephemeral=True, thinking=True)
        guild_id = interaction.guild_id or 0
        unhelpful = await asyncio.to_thread(self.bot.store.unhelpful, guild_id)
        refused = await asyncio.to_thread(self.bot.store.refused, guild_id)
        embed = discord.Embed(title="What members missed", colour=BRAND)
        if not unhelpful and not refused:
            embed.description = "No answers marked not helpful and no unanswered questions yet."
        reasons = dict(FEEDBACK_REASONS)
        lines = [f"• {plain(clip(q, 150))}" + (f" — {plain(reasons.get(r, r))}" if r else "") for q, r in unhelpful]
        gaps = [f"• {plain(clip(q, 150))}" for q in refused]
        add_fields(
            embed,
            [("Marked not helpful", clip_lines("\n".join(lines), 1024))] * bool(lines)
            + [("Could not answer (articles to add?)", clip_lines("\n".join(gaps), 1024))] * bool(gaps),
        )
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_PINGS)

    @app_commands.command(name="settings", description="Where newsdesk logs changes and answers questions here.")
    @app_commands.describe(
        audit_channel="Where knowledge-base changes are logged",
        ask_channel="A channel where every message is a question, answered in a thread",
        mentions="Answer @mentions in every channel, or only in the ask channel",
        reset="Forget this server's settings",
    )
    async def settings(
        self,
        interaction: discord.Interaction,
        audit_channel: discord.TextChannel | None = None,
        ask_channel: discord.TextChannel | None = None,
        mentions: Literal["everywhere", "ask channel only"] | None = None,
        reset: bool = False,
    ) -> None:
        guild_id = interaction.guild_id or 0
        current = GuildSettings() if reset else await asyncio.to_thread(self.bot.store.guild_settings, guild_id)
        changed = replace(
            current,
            audit_channel=audit_channel.id if audit_channel else current.audit_channel,
            ask_channel=ask_channel.id if ask_channel else current.ask_channel,
            mentions_only_in_ask_channel=(mentions == "ask channel only")
            if mentions
            else current.mentions_only_in_ask_channel,
        )
        if changed.mentions_only_in_ask_channel and not changed.ask_channel:
            raise BadInputError("Choose an ask channel before limiting mentions to it.")
        await asyncio.to_thread(self.bot.store.save_guild_settings, guild_id, changed)

        def where(channel_id: int | None) -> str:
            return f"<#{channel_id}>" if channel_id else "not set"

        text = (
            f"Audit channel: {where(changed.audit_channel)} · ask channel: {where(changed.ask_channel)} · "
            f"mentions answered {'only in the ask channel' if changed.mentions_only_in_ask_channel else 'everywhere'}."
        )
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)
        await self.bot.audit(interaction.guild, f"{_who(interaction)} changed settings: {text}")

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
            value = "\n".join(f"• {shown_address(src, 120)}: {plain(clip(err, 120))}" for src, err, _ in failures)
            embed.add_field(name="Recent failures", value=clip(value, 1024), inline=False)
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_PINGS)


class PasteArticle(discord.ui.Modal, title="Add an article"):
    """`/kb add` with neither link nor file: the article's fields in a form rather than long slash options."""

    headline = discord.ui.TextInput(label="Title", custom_id="title", max_length=200)
    outlet = discord.ui.TextInput(label="Outlet", custom_id="outlet", required=False, max_length=100)
    published = discord.ui.TextInput(
        label="Published", custom_id="published", required=False, max_length=40, placeholder="2026-11-26"
    )
    link = discord.ui.TextInput(label="Link", custom_id="url", required=False, max_length=500)
    body = discord.ui.TextInput(label="Text", custom_id="body", style=discord.TextStyle.paragraph, max_length=4000)

    def __init__(self, cog: KnowledgeBaseAdmin) -> None:
        super().__init__()
        self.cog = cog

    async def on_submit(self, interaction: discord.Interaction) -> None:
        published = iso_date(self.published.value) if self.published.value.strip() else None
        if self.published.value.strip() and published is None:
            raise BadInputError(f"{self.published.value[:40]!r} is not a date; use YYYY-MM-DD.")
        url = self.link.value.strip() or None
        if url and not url.lower().startswith(("http://", "https://")):
            raise BadInputError("The link must start with http:// or https://.")
        article = Article(
            title=" ".join(self.headline.value.split()),
            text=self.body.value.strip(),
            outlet=self.outlet.value.strip() or None,
            url=url,
            published=published,
            source=f"discord:{interaction.user.id}",
        )
        await self.cog.add_pasted(interaction, article)

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:
        await send_private(interaction, user_message(error, interaction))


async def deliver_late(interaction: discord.Interaction, text: str) -> None:
    """The final report of long work. An interaction's reply can be edited for 15 minutes only; a refresh of many
    feeds can outlive that, so the report then goes to the moderator by direct message, or to the channel."""
    try:
        await interaction.edit_original_response(content=text)
        return
    except discord.HTTPException as exc:
        log.info("the interaction expired before the report (%s); sending it another way", exc.status)
    try:
        await interaction.user.send(text, allowed_mentions=NO_PINGS)
    except discord.HTTPException:
        if isinstance(interaction.channel, discord.abc.Messageable):
            await interaction.channel.send(
                f"For {interaction.user.display_name}: {text}"[:MESSAGE_LIMIT], allowed_mentions=NO_PINGS
            )


def article_page(articles: list, page: int) -> tuple[str | None, discord.Embed, discord.ui.View]:
    """One page of the article list with previous/next buttons; a page past the end says so and shows the last."""
    pages = -(-len(articles) // PAGE_SIZE)
    note = f"There are only {pages} pages; here is the last." if page > pages else None
    page = min(page, pages)
    lines = [
        f"`{a.id[:8]}` {plain(clip(a.title, 80))} — {plain(a.outlet or 'unknown')}, {a.published or 'undated'}"
        for a in articles[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    ]
    embed = discord.Embed(title=f"Articles (page {page}/{pages})", description="\n".join(lines), colour=BRAND)
    view = discord.ui.View(timeout=None)
    view.add_item(ArticlePageButton(page - 1, "Previous", disabled=page <= 1))
    view.add_item(ArticlePageButton(page + 1, "Next", disabled=page >= pages))
    return note, embed, view


class ArticlePageButton(discord.ui.DynamicItem[discord.ui.Button], template=r"nd:kbl:(?P<page>\d{1,6})"):
    """Turns the page of `/kb list`. The id carries only a page number: the server and the moderator check come
    from whoever clicks, so a forged id shows nothing it should not."""

    def __init__(self, page: int, label: str = "Page", *, disabled: bool = False) -> None:
        super().__init__(discord.ui.Button(label=label, custom_id=f"nd:kbl:{max(page, 1)}", disabled=disabled))
        self.page = max(page, 1)

    @classmethod
    async def from_custom_id(cls, interaction, item, match) -> ArticlePageButton:
        return cls(int(match["page"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: NewsdeskBot = interaction.client  # type: ignore[assignment]
        if interaction.guild_id is None or not is_moderator(interaction.user, interaction.permissions, bot.settings):
            await interaction.response.send_message("Only moderators can list the articles.", ephemeral=True)
            return
        kb = await bot.knowledge_base(interaction.guild_id)
        articles = await asyncio.to_thread(kb.articles)
        if not articles:
            await interaction.response.edit_message(content="The knowledge base is empty.", embed=None, view=None)
            return
        content, embed, view = article_page(articles, self.page)
        await interaction.response.edit_message(content=content, embed=embed, view=view)


def _ingest_upload(kb: KnowledgeBase, filename: str, data: bytes, progress: Progress | None) -> IngestReport:
    """Ingest an uploaded file from memory (never written to disk), crediting the upload as the source."""
    loaded = load_upload(filename, data, kb.settings)
    loaded.articles = [replace(a, source=f"upload:{filename}") for a in loaded.articles]
    return kb.ingest_loaded(loaded, progress)


async def setup(bot: NewsdeskBot) -> None:
    bot.add_dynamic_items(ArticlePageButton)
    cog = KnowledgeBaseAdmin(bot)
    await bot.add_cog(cog)
