"""Buttons under every answer: helpful / not helpful (with a reason), "Show passage" and, for long answers,
"Show more".

They are `DynamicItem`s keyed by the stored answer id, so they keep working after the bot restarts.
"""

from __future__ import annotations

import re

import discord

from bot.formatting import (
    BRAND,
    NO_PINGS,
    PAGE_LIMIT,
    TITLE_LIMIT,
    add_fields,
    clip,
    markup,
    needs_pager,
    pages_of,
    plain,
    source_pages,
    sources_in_embed,
)
from bot.store import FEEDBACK_REASONS, BotStore
from retrieval.types import Answer, Citation


def _store(interaction: discord.Interaction) -> BotStore:
    return interaction.client.store  # type: ignore[attr-defined]


def _visible_answer(interaction: discord.Interaction, answer_id: str) -> dict | None:
    """The answer a button names, if it was given in this server (and, when private, to this user)."""
    return _store(interaction).answer(answer_id, guild_id=interaction.guild_id, user_id=interaction.user.id)


NO_SUCH_ANSWER = "That answer is not available here."


class FeedbackButton(discord.ui.DynamicItem[discord.ui.Button], template=r"nd:fb:(?P<vote>up|down):(?P<id>[0-9a-f]+)"):
    def __init__(self, answer_id: str, helpful: bool) -> None:
        super().__init__(
            discord.ui.Button(
                label="Helpful" if helpful else "Not helpful",
                emoji="👍" if helpful else "👎",
                style=discord.ButtonStyle.secondary,
                custom_id=f"nd:fb:{'up' if helpful else 'down'}:{answer_id}",
            )
        )
        self.answer_id = answer_id
        self.helpful = helpful

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> FeedbackButton:
        return cls(match["id"], match["vote"] == "up")

    async def callback(self, interaction: discord.Interaction) -> None:
        if _visible_answer(interaction, self.answer_id) is None:
            await interaction.response.send_message(NO_SUCH_ANSWER, ephemeral=True)
            return
        _store(interaction).record_feedback(self.answer_id, interaction.user.id, self.helpful)
        if self.helpful:
            await interaction.response.send_message("Thanks for the feedback!", ephemeral=True)
            return
        await interaction.response.send_message(
            "Thanks. What was wrong?", view=ReasonView(self.answer_id), ephemeral=True
        )


class ReasonSelect(discord.ui.Select):
    def __init__(self, answer_id: str) -> None:
        options = [discord.SelectOption(label=label, value=value) for value, label in FEEDBACK_REASONS.items()]
        super().__init__(placeholder="Pick a reason (optional)", options=options, custom_id=f"nd:why:{answer_id}")
        self.answer_id = answer_id

    async def callback(self, interaction: discord.Interaction) -> None:
        reason = self.values[0] if self.values else ""
        if reason not in FEEDBACK_REASONS or _visible_answer(interaction, self.answer_id) is None:
            await interaction.response.send_message(NO_SUCH_ANSWER, ephemeral=True)
            return
        _store(interaction).record_feedback(self.answer_id, interaction.user.id, False, reason)
        await interaction.response.edit_message(content="Noted, thank you.", view=None)


class ReasonView(discord.ui.View):
    def __init__(self, answer_id: str) -> None:
        super().__init__(timeout=300)
        self.add_item(ReasonSelect(answer_id))


_LOOKS = {"passage": ("Show passage", "📄"), "more": ("Show more", "📜")}


class AnswerButton(discord.ui.DynamicItem[discord.ui.Button], template=r"nd:(?P<kind>passage|more):(?P<id>[0-9a-f]+)"):
    """More of a stored answer, shown privately: its cited passages ("Show passage"), or the rest of a long answer
    (a digest, a summary) page by page ("Show more"), so the channel keeps one message."""

    def __init__(self, kind: str, answer_id: str) -> None:
        label, emoji = _LOOKS[kind]
        custom_id = f"nd:{kind}:{answer_id}"
        super().__init__(
            discord.ui.Button(label=label, emoji=emoji, style=discord.ButtonStyle.secondary, custom_id=custom_id)
        )
        self.kind, self.answer_id = kind, answer_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> AnswerButton:
        return cls(match["kind"], match["id"])

    async def callback(self, interaction: discord.Interaction) -> None:
        stored = _visible_answer(interaction, self.answer_id)
        if stored is None:
            await interaction.response.send_message(NO_SUCH_ANSWER, ephemeral=True)
        elif self.kind == "more":
            answer = _stored_answer(stored)
            pages = pages_of(markup(answer.answer, answer.answer_spans), PAGE_LIMIT)
            pages += source_pages(answer) if answer.grounded else []
            pager = PageView(
                clip(plain(pager_title(answer.question)), TITLE_LIMIT), pages, start=min(1, len(pages) - 1)
            )
            await interaction.response.send_message(
                embed=pager.page(), view=pager, ephemeral=True, allowed_mentions=NO_PINGS
            )
        elif not stored["citations"]:
            await interaction.response.send_message("There is no cited passage for this answer.", ephemeral=True)
        else:
            await interaction.response.send_message(
                embed=passages_embed(_stored_answer(stored)), ephemeral=True, allowed_mentions=NO_PINGS
            )


def passages_embed(answer: Answer) -> discord.Embed:
    """The cited passages, article text escaped in every part (title, quote) so none of it becomes a link or
    markup; those that do not fit are counted, pointing to where their sources are."""
    embed = discord.Embed(title="Cited passages", colour=BRAND)
    fields = [
        (f"[{c.n}] {plain(clip(c.title, 200))}", f"> {plain(' '.join(c.quote.split()))}") for c in answer.citations
    ]
    left_out = add_fields(embed, fields, reserve=80)
    if left_out:
        where = "under the answer" if sources_in_embed(answer) == len(answer.citations) else "under Show more"
        embed.set_footer(text=f"{left_out} more cited passages did not fit; their Sources are {where}.")
    return embed


def pager_title(question: str) -> str:
    """A pager's title from the stored answer's label: summaries are labelled "summary: <topic>"."""
    if question.startswith("summary: "):
        return f"Summary: {question.removeprefix('summary: ')}"
    return question


def _stored_answer(stored: dict) -> Answer:
    """The parts of a stored answer the buttons show again (text, marked words, citations)."""
    return Answer(
        question=stored["question"],
        answer=stored["answer"],
        grounded=stored["grounded"],
        mode=stored["mode"],
        citations=[Citation(**c) for c in stored["citations"]],
        answer_spans=stored["answer_spans"],
    )


class PageView(discord.ui.View):
    """Previous / Next over the pages of one answer. It lives on a private message, so only its reader can press it;
    it is not kept across restarts (pressing Show more again makes a new one)."""

    def __init__(self, title: str, pages: list[str], start: int) -> None:
        super().__init__(timeout=900)
        self.title, self.pages, self.at = title, pages, start
        self._sync()

    def page(self) -> discord.Embed:
        embed = discord.Embed(title=self.title, description=self.pages[self.at], colour=BRAND)
        return embed.set_footer(text=f"Page {self.at + 1} of {len(self.pages)}")

    def _sync(self) -> None:
        self.previous.disabled = self.at == 0
        self.next.disabled = self.at == len(self.pages) - 1

    async def _turn(self, interaction: discord.Interaction, step: int) -> None:
        self.at = max(0, min(len(self.pages) - 1, self.at + step))
        self._sync()
        await interaction.response.edit_message(embed=self.page(), view=self, allowed_mentions=NO_PINGS)

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        await self._turn(interaction, -1)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        await self._turn(interaction, 1)


def answer_view(answer_id: str, answer: Answer) -> discord.ui.View:
    """Feedback always; Show passage for a cited answer; Show more when the answer is longer than one page."""
    view = discord.ui.View(timeout=None)
    view.add_item(FeedbackButton(answer_id, True))
    view.add_item(FeedbackButton(answer_id, False))
    if answer.grounded:
        view.add_item(AnswerButton("passage", answer_id))
    if needs_pager(answer):
        view.add_item(AnswerButton("more", answer_id))
    return view
