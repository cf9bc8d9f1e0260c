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
    """One vote per member and answer: pressing again changes nothing, and the label shows how many voted so."""

    def __init__(self, answer_id: str, helpful: bool, count: int = 0) -> None:
        label = "Helpful" if helpful else "Not helpful"
        super().__init__(
            discord.ui.Button(
                label=f"{label} · {count}" if count else label,
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
        stored = _visible_answer(interaction, self.answer_id)
        if stored is None:
            await interaction.response.send_message(NO_SUCH_ANSWER, ephemeral=True)
            return
        store = _store(interaction)
        earlier = {user: helpful for user, helpful, _ in store.feedback(self.answer_id)}.get(interaction.user.id)
        if earlier == self.helpful:
            said = "helpful" if self.helpful else "not helpful"
            await interaction.response.send_message(
                f"You already marked this answer {said}; it was counted once.", ephemeral=True
            )
            return
        store.record_feedback(self.answer_id, interaction.user.id, self.helpful)
        votes = [helpful for _, helpful, _ in store.feedback(self.answer_id)]
        counted = answer_view(self.answer_id, _stored_answer(stored), sum(votes), votes.count(False))
        await interaction.response.edit_message(view=counted)  # everyone sees the new count on the answer
        if self.helpful:
            await interaction.followup.send("Thanks, your vote was counted.", ephemeral=True)
            return
        await interaction.followup.send(
            "Thanks, your vote was counted. What was wrong?", view=reason_view(self.answer_id), ephemeral=True
        )


class ReasonSelect(discord.ui.DynamicItem[discord.ui.Select], template=r"nd:why:(?P<id>[0-9a-f]+)"):
    """Why an answer was not helpful. Keyed by the answer id like the buttons, so it works on the private message
    that carries it, even after a restart."""

    def __init__(self, answer_id: str) -> None:
        options = [discord.SelectOption(label=label, value=value) for value, label in FEEDBACK_REASONS.items()]
        super().__init__(
            discord.ui.Select(placeholder="Pick a reason (optional)", options=options, custom_id=f"nd:why:{answer_id}")
        )
        self.answer_id = answer_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Select, match: re.Match[str]
    ) -> ReasonSelect:
        return cls(match["id"])

    async def callback(self, interaction: discord.Interaction) -> None:
        reason = self.item.values[0] if self.item.values else ""
        if reason not in FEEDBACK_REASONS or _visible_answer(interaction, self.answer_id) is None:
            await interaction.response.send_message(NO_SUCH_ANSWER, ephemeral=True)
            return
        _store(interaction).record_feedback(self.answer_id, interaction.user.id, False, reason)
        await interaction.response.edit_message(content="Noted, thank you.", view=None)


def reason_view(answer_id: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(ReasonSelect(answer_id))
    return view


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


def answer_view(answer_id: str, answer: Answer, helpful: int = 0, unhelpful: int = 0) -> discord.ui.View:
    """Feedback always (with its counts); Show passage for a cited answer; Show more when the answer has more than its
    embed shows. A vote redraws it from the stored answer, so it works on answers given before a restart."""
    view = discord.ui.View(timeout=None)
    view.add_item(FeedbackButton(answer_id, True, helpful))
    view.add_item(FeedbackButton(answer_id, False, unhelpful))
    if answer.grounded:
        view.add_item(AnswerButton("passage", answer_id))
    if needs_pager(answer):
        view.add_item(AnswerButton("more", answer_id))
    return view
