"""Moderators keep the server's knowledge base fresh: `/kb add|remove|refresh|list|status` and `/kb feeds ...`.

The group is guild-only. Discord can only hide a whole top-level command from members, and `/kb status` is for
everyone, so the group is visible and each command is gated here: Manage Server or the configured moderator role,
except the commands in PUBLIC (whose moderator-only parts check again).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import NotModerator, is_moderator
from bot.client import NewsdeskBot
from bot.cogs.summaries import article_choices
from bot.errors import send_private, user_message
from bot.formatting import (
    BRAND,
    MESSAGE_LIMIT,
    NO_PINGS,
    add_fields,
    clip,
    clip_lines,
    link,
    named_list,
    plain,
    shown_address,
    timestamp,
)
from bot.store import FEEDBACK_REASONS, GuildSettings
from retrieval.answer.drafts import is_summary_label
from retrieval.dates import iso_date
from retrieval.errors import BadInputError
from retrieval.feeds import FeedCheck, parse_every
from retrieval.ingest.indexer import Progress
from retrieval.insights import Insights, insights
from retrieval.knowledge_base import KnowledgeBase
from retrieval.loaders import Loaded, load_upload, load_url
from retrieval.loaders.url import check_link
from retrieval.matching import Candidate, closest, resolve
from retrieval.text import visible
from retrieval.types import Article, IngestFailure, IngestReport

log = logging.getLogger(__name__)
PROGRESS_INTERVAL_S = 1.0
PAGE_SIZE = 10
INSIGHTS_DAYS = 7
REPORT_NAMED = 8  # articles named per outcome in a report; the rest are counted
GROUP_DESCRIPTION = "The knowledge base: status for everyone, changes for moderators"
PUBLIC = frozenset({"kb status"})  # every member may use these; the rest of /kb is for moderators
ANSWER_IN = {"a thread": "thread", "a reply": "reply"}
LISTEN = {"mentions only": "mentions", "every question": "questions"}
IngestWork = Callable[[KnowledgeBase, Progress], IngestReport]


def _who(interaction: discord.Interaction) -> str:
    """The member an audit line is about, as a mention: shown as their name, and audit lines ping nobody."""
    return f"<@{interaction.user.id}>"


def report_line(report: IngestReport) -> str:
    return (
        f"Added {report.added} · updated {report.updated} · unchanged {report.unchanged} · failed {len(report.failed)}"
    )


def report_text(head: str, report: IngestReport, limit: int = MESSAGE_LIMIT) -> str:
    """`head`, the counts, then the articles by name: added and updated ones as links, every failure with its
    reason, unchanged ones briefly; each list cut with how many more there are, the whole within `limit`."""
    sections = [f"{head} {report_line(report)}"]
    for outcome in ("added", "updated"):
        named = [link(clip(a.title, 90), a.url) for a in report.named(outcome)]
        if named:
            sections.append(named_list(outcome.capitalize(), named, REPORT_NAMED))
    if report.failed:
        failed = [f"{shown_address(f.source, 120)}: {plain(clip(f.reason, 200))}" for f in report.failed]
        sections.append(named_list("Failed", failed, REPORT_NAMED))
    if report.warnings:
        checks = [f"{shown_address(w.source, 120)}: {plain(clip(w.reason, 200))}" for w in report.warnings]
        sections.append(named_list("To check", checks, REPORT_NAMED // 2))
    unchanged = [plain(clip(a.title, 60)) for a in report.named("unchanged")]
    if unchanged:
        sections.append(named_list("Unchanged", unchanged, REPORT_NAMED // 2))
    return clip_lines("\n".join(sections), limit)


async def moderator_article_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Autocomplete for moderator commands: nothing at all for anyone else."""
    settings = interaction.client.settings  # type: ignore[attr-defined]
    if interaction.guild_id is None or not is_moderator(interaction.user, interaction.permissions, settings):
        return []
    return await article_choices(interaction, current)


def feed_candidates(followed: list) -> list[Candidate]:
    """Followed feeds as things a moderator may name: by address, or by the title the feed gives itself."""
    return [Candidate(f.url, f.title or f.url) for f in followed]


async def moderator_feed_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Autocomplete for `/kb feeds remove`: the server's feeds by title; nothing for anyone but moderators."""
    bot: NewsdeskBot = interaction.client  # type: ignore[assignment]
    if interaction.guild_id is None or not is_moderator(interaction.user, interaction.permissions, bot.settings):
        return []
    followed = await asyncio.to_thread(bot.feeds.feeds, bot.kb_name(interaction.guild_id))
    # A choice's value holds at most 100 characters: a longer address is sent as its start, which resolves too.
    return [
        app_commands.Choice(name=clip(visible(c.name), 100), value=c.key[:100])
        for c in closest(current, feed_candidates(followed))
    ]


@app_commands.guild_only()
class KnowledgeBaseAdmin(commands.GroupCog, group_name="kb", group_description=GROUP_DESCRIPTION):
    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot
        super().__init__()
        for command in self.walk_app_commands():  # the one mark that the check and `bot --dry-run` both read
            command.extras["moderators"] = command.qualified_name not in PUBLIC

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage
        for_moderators = interaction.command is None or interaction.command.extras.get("moderators", True)
        if for_moderators and not is_moderator(interaction.user, interaction.permissions, self.bot.settings):
            raise NotModerator
        return True

    async def _ingest(
        self, interaction: discord.Interaction, work: IngestWork, label: str, *, adds: bool = True
    ) -> IngestReport:
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
        if adds:  # a full knowledge base is refused before anything is fetched or queued
            self.bot.quota.check_room(await asyncio.to_thread(kb.usage))
        waiting = self.bot.work.waiting(kb.name)
        try:
            await interaction.edit_original_response(
                content=f"{label}…" + (f" ({waiting} jobs ahead)" if waiting else "")
            )
        except discord.HTTPException as exc:  # the reply expired: the work goes on; the report finds another way
            log.info("could not show progress (%s); going on", exc.status)
        report: IngestReport = await self.bot.run_ingest(kb.name, lambda: work(kb, progress))
        self.bot.metrics.ingested(report)
        # Let progress edits land first, so none can overwrite the final summary.
        await asyncio.gather(*(asyncio.wrap_future(e) for e in edits), return_exceptions=True)
        guild_id = interaction.guild_id or 0
        await asyncio.to_thread(self.bot.store.record_failures, guild_id, report.failed)
        worked = {s for a in report.articles for s in (a.source, a.url) if s}
        await asyncio.to_thread(self.bot.store.clear_failures, guild_id, sorted(worked))
        await deliver_late(interaction, report_text(f"{label} done.", report))
        await self.bot.audit(interaction.guild, report_text(f"{_who(interaction)} — {label}:", report))
        return report

    @app_commands.command(
        name="add", description="Add an article from a link or a file, or leave both empty to paste one."
    )
    @app_commands.describe(url="A public http(s) link", attachment="A .txt, .md, .html, .jsonl or .pdf file")
    async def add(
        self, interaction: discord.Interaction, url: str | None = None, attachment: discord.Attachment | None = None
    ) -> None:
        if url is not None and attachment is not None:
            raise BadInputError("Give a link or a file, not both.")
        if url is not None:
            check_link(url)
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
            work = lambda kb, p: kb.ingest_loaded(load_url(url, kb.fetcher), p, quota=self.bot.quota)  # noqa: E731
            await self._ingest(interaction, work, f"Adding {shown_address(url, 120)}")
        elif attachment is not None:
            data = await attachment.read()
            work = lambda kb, p: _ingest_upload(kb, attachment.filename, data, p, self.bot)  # noqa: E731
            await self._ingest(interaction, work, f"Adding {plain(clip(attachment.filename, 100))}")

    async def add_pasted(self, interaction: discord.Interaction, article: Article) -> None:
        interaction.extras["private"] = True
        await interaction.response.defer(ephemeral=True, thinking=True)
        work = lambda kb, p: kb.ingest_articles([article], p, quota=self.bot.quota)  # noqa: E731
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
            failing = {failure.source for failure in feeds.failed}
            self.bot.store.clear_failures(interaction.guild_id or 0, [f.url for f in followed if f.url not in failing])
            links = Loaded()
            for url in urls:
                links.add(load_url(url, base.fetcher))
            report = base.ingest_loaded(links, progress, quota=self.bot.quota)
            report.absorb(feeds)
            return report

        label = f"Refreshing {len(followed)} feeds and {len(urls)} links"
        await self._ingest(interaction, work, label, adds=False)  # updates still fit a full knowledge base

    feeds = app_commands.Group(name="feeds", description="Follow RSS and Atom feeds")

    @feeds.command(name="add", description="Follow an RSS or Atom feed; it is refreshed in the background.")
    @app_commands.describe(url="The feed's http(s) address", every="How often to check it")
    async def feeds_add(
        self, interaction: discord.Interaction, url: str, every: Literal["30m", "1h", "6h", "1d"] = "1h"
    ) -> None:
        interaction.extras["private"] = True
        await interaction.response.defer(ephemeral=True, thinking=True)  # acknowledge before any DNS lookup
        kb = self.bot.kb_name(interaction.guild_id)
        interval = parse_every(every)

        def follow() -> FeedCheck:
            """Check the feed (the address first, then one fetch) and follow it, if this server has room for it.
            Run as one job of this server, so two adds cannot both take its last place."""
            followed = [f.url for f in self.bot.feeds.feeds(kb)]
            if url not in followed:
                self.bot.quota.check_feeds(len(followed))
            checked = self.bot.refresher.check(url)
            self.bot.feeds.add(kb, url, interval)
            return checked

        checked = await self.bot.run_ingest(kb, follow)
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
            f"last success {timestamp(f.last_success)}"
            + (f", {f.failing_items} items failing (retried later)" if f.failing_items else "")
            + (f", **error:** {plain(clip(f.last_error, 120))}" if f.last_error else "")
            for f in followed
        ]
        embed = discord.Embed(title="Followed feeds", description=clip_lines("\n".join(lines), 4096), colour=BRAND)
        await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=NO_PINGS)

    @feeds.command(name="remove", description="Stop following a feed (its articles stay).")
    @app_commands.describe(feed="The feed's title or address (start typing to choose)")
    @app_commands.autocomplete(feed=moderator_feed_choices)
    async def feeds_remove(self, interaction: discord.Interaction, feed: str) -> None:
        kb = self.bot.kb_name(interaction.guild_id)
        followed = await asyncio.to_thread(self.bot.feeds.feeds, kb)
        if not followed:
            raise BadInputError("This server follows no feeds.")
        chosen = resolve(feed, feed_candidates(followed), what="followed feed")
        await asyncio.to_thread(self.bot.feeds.remove, kb, chosen.key)
        shown = shown_address(chosen.key)
        if chosen.name != chosen.key:
            shown = f"{plain(clip(chosen.name, 120))} ({shown})"
        await interaction.response.send_message(
            f"No longer following {shown}.", ephemeral=True, allowed_mentions=NO_PINGS
        )
        await self.bot.audit(interaction.guild, f"{_who(interaction)} unfollowed {shown}")

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

    @app_commands.command(name="insights", description="This week's top questions, unanswered topics, helpful rate.")
    async def insights(self, interaction: discord.Interaction) -> None:
        interaction.extras["private"] = True
        await interaction.response.defer(ephemeral=True, thinking=True)
        guild_id = interaction.guild_id or 0
        since = (datetime.now(UTC) - timedelta(days=INSIGHTS_DAYS)).replace(microsecond=0).isoformat()
        asked = await asyncio.to_thread(self.bot.store.questions_since, guild_id, since)
        helpful, not_helpful = await asyncio.to_thread(self.bot.store.votes_since, guild_id, since)
        found = await asyncio.to_thread(
            insights, [(q, answered) for q, answered in asked if not is_summary_label(q)], helpful, not_helpful
        )
        await interaction.followup.send(embed=insights_embed(found), ephemeral=True, allowed_mentions=NO_PINGS)

    @app_commands.command(name="settings", description="Where newsdesk logs changes and answers questions here.")
    @app_commands.describe(
        audit_channel="Where knowledge-base changes are logged",
        ask_channel="A channel where every question is answered, without a mention",
        forum="A forum where every new post is answered inside the post",
        mentions="Answer @mentions in every channel, or only in the ask channels and the forum",
        channel="The channel that answer_in and listen apply to (default: this one)",
        answer_in="In that channel, answer in a new thread or as a reply",
        listen="In that channel, answer mentions only, or every message that reads as a question",
        reset="Forget this server's settings",
    )
    async def settings(
        self,
        interaction: discord.Interaction,
        audit_channel: discord.TextChannel | None = None,
        ask_channel: discord.TextChannel | None = None,
        forum: discord.ForumChannel | None = None,
        mentions: Literal["everywhere", "ask channel only"] | None = None,
        channel: discord.TextChannel | None = None,
        answer_in: Literal["a thread", "a reply"] | None = None,
        listen: Literal["mentions only", "every question"] | None = None,
        reset: bool = False,
    ) -> None:
        guild_id = interaction.guild_id or 0
        current = GuildSettings() if reset else await asyncio.to_thread(self.bot.store.guild_settings, guild_id)
        changed = replace(
            current,
            audit_channel=audit_channel.id if audit_channel else current.audit_channel,
            ask_channel=ask_channel.id if ask_channel else current.ask_channel,
            forum_channel=forum.id if forum else current.forum_channel,
            mentions_only_in_ask_channel=(mentions == "ask channel only")
            if mentions
            else current.mentions_only_in_ask_channel,
        )
        rule = {"answer_in": ANSWER_IN.get(answer_in or ""), "listen": LISTEN.get(listen or "")}
        rule = {key: value for key, value in rule.items() if value}
        if rule:
            if channel is None and not isinstance(interaction.channel, discord.TextChannel):
                raise BadInputError("Choose the channel these answers apply to with channel:.")
            changed = changed.with_rule(channel.id if channel else interaction.channel_id or 0, **rule)
        if changed.mentions_only_in_ask_channel and not (changed.question_channels() or changed.forum_channel):
            raise BadInputError("Choose an ask channel or a forum before limiting mentions to them.")
        await asyncio.to_thread(self.bot.store.save_guild_settings, guild_id, changed)
        text = clip(settings_text(changed), MESSAGE_LIMIT)
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)
        await self.bot.audit(interaction.guild, f"{_who(interaction)} changed settings: {text}")

    @app_commands.command(name="status", description="Counts, last refresh and feeds (for everyone); failures too.")
    async def status(self, interaction: discord.Interaction) -> None:
        interaction.extras["private"] = True
        await interaction.response.defer(ephemeral=True, thinking=True)
        kb = await self.bot.knowledge_base(interaction.guild_id)
        stats = await asyncio.to_thread(kb.stats)
        usage = await asyncio.to_thread(kb.usage)
        quota = self.bot.quota
        embed = discord.Embed(title="Knowledge base status", colour=BRAND)
        embed.add_field(name="Articles", value=f"{stats.articles:,} / {quota.articles:,}")
        embed.add_field(name="Passages", value=str(stats.chunks))
        embed.add_field(name="Article text", value=f"{usage.bytes / 1e6:.1f} MB / {quota.bytes / 1e6:g} MB")
        embed.add_field(name="Last refresh", value=timestamp(stats.last_ingest))
        followed = await asyncio.to_thread(self.bot.feeds.feeds, kb.name)
        if followed:
            due = min(f.next_due for f in followed)
            failing = [f for f in followed if f.last_error]
            value = (
                f"{len(followed)} / {quota.feeds} followed, {len(failing)} failing; next check <t:{int(due)}:R>"
                if due
                else (f"{len(followed)} / {quota.feeds} followed; not fetched yet")
            )
            embed.add_field(name="Feeds", value=value, inline=False)
        # Failed sources can name addresses and errors only moderators should read.
        moderator = is_moderator(interaction.user, interaction.permissions, self.bot.settings)
        failures = self.bot.store.recent_failures(interaction.guild_id or 0) if moderator else []
        if failures:
            value = "\n".join(
                f"• {shown_address(src, 120)}: {plain(clip(IngestFailure(src, err).reason, 120))} {timestamp(when)}"
                for src, err, when in failures
            )
            embed.add_field(name="Recent failures", value=clip(value, 1024), inline=False)
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_PINGS)


def insights_embed(found: Insights) -> discord.Embed:
    """The week in numbers, then the questions behind them; members' words escaped, never markup."""
    embed = discord.Embed(title=f"Questions of the last {INSIGHTS_DAYS} days", colour=BRAND)
    rate = found.helpful_rate
    votes = found.helpful + found.not_helpful
    embed.description = f"{found.asked} questions, {found.unanswered} unanswered. Helpful rate: " + (
        f"{rate:.0%} ({found.helpful} of {votes} votes)." if rate is not None else "no votes yet."
    )
    top = [f"{plain(clip(g.shown, 150))} — ×{len(g.questions)}" for g in found.top]
    gaps = [
        plain(clip(g.shown, 150))
        if len(g.questions) == 1
        else f"**{plain(clip(g.topic, 60))}** ({len(g.questions)}): "
        + "; ".join(plain(clip(q, 80)) for q in g.questions[:3])
        for g in found.gaps
    ]
    add_fields(
        embed,
        [("Top questions", clip_lines("\n".join(f"• {t}" for t in top), 1024))] * bool(top)
        + [("Unanswered, by topic (articles to add?)", clip_lines("\n".join(f"• {g}" for g in gaps), 1024))]
        * bool(gaps),
    )
    return embed


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


def settings_text(chosen: GuildSettings) -> str:
    """The server's settings in one message, channels as mentions (which ping nobody)."""

    def where(channel_id: int | None) -> str:
        return f"<#{channel_id}>" if channel_id else "not set"

    mentions = "only in the ask channels and the forum" if chosen.mentions_only_in_ask_channel else "everywhere"
    lines = [
        f"Audit channel: {where(chosen.audit_channel)} · ask channel: {where(chosen.ask_channel)} · "
        f"forum: {where(chosen.forum_channel)} · mentions answered {mentions}."
    ]
    for key, rule in chosen.channels.items():
        listens = "every question" if rule.listen == "questions" else "mentions only"
        lines.append(f"• <#{key}>: {listens}, answered in {'a thread' if rule.answer_in == 'thread' else 'a reply'}")
    return "\n".join(lines)


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


def _ingest_upload(
    kb: KnowledgeBase, filename: str, data: bytes, progress: Progress | None, bot: NewsdeskBot
) -> IngestReport:
    """Ingest an uploaded file from memory (never written to disk), crediting the upload as the source."""
    loaded = load_upload(filename, data, kb.settings)
    loaded.articles = [replace(a, source=f"upload:{filename}") for a in loaded.articles]
    return kb.ingest_loaded(loaded, progress, quota=bot.quota)


async def setup(bot: NewsdeskBot) -> None:
    bot.add_dynamic_items(ArticlePageButton)
    cog = KnowledgeBaseAdmin(bot)
    await bot.add_cog(cog)
