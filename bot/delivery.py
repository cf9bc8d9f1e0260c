"""Producing an answer for Discord: offline in a worker thread, or streamed from the LLM with throttled edits that
only ever show sentences the citation check has passed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import discord

from bot.formatting import MESSAGE_LIMIT, clip, plain
from bot.metrics import observed
from retrieval.answer.chain import Partial, Turn
from retrieval.types import Answer

if TYPE_CHECKING:
    from bot.client import NewsdeskBot

EDIT_INTERVAL_S = 1.0  # Discord allows about five edits per five seconds per message; one a second leaves room
SLOW_NOTICE_S = 4.0  # with no checked sentence yet after this long, say that the answer is coming
SLOW_NOTICE = "Still working on it: the language model is taking longer than usual…"
WRITING = " ▌"  # after the checked sentences shown so far: more are being written and checked
HISTORY_TURNS = 10

OnProgress = Callable[[str], Awaitable[None]]


@observed
async def produce_answer(
    bot: NewsdeskBot, guild_id: int | None, question: str, history: list[Turn], on_progress: OnProgress | None = None
) -> Answer:
    """The checked answer. In LLM mode `on_progress` sees the sentences checked so far, at most once per
    EDIT_INTERVAL_S: a sentence appears only once it passed, and one the check drops never does."""
    answers, _ = await bot.answerers(guild_id)
    if answers.mode != "llm" or on_progress is None:
        return await asyncio.to_thread(answers.ask, question, history)
    last_edit = 0.0
    final: Answer | None = None

    async def notice_when_slow() -> None:
        await asyncio.sleep(SLOW_NOTICE_S)
        await on_progress(SLOW_NOTICE)

    slow = asyncio.create_task(notice_when_slow())
    try:
        async for event in answers.astream(question, history):
            if isinstance(event, Partial):
                slow.cancel()
                if time.monotonic() - last_edit >= EDIT_INTERVAL_S:
                    last_edit = time.monotonic()
                    await on_progress(clip(plain(event.text), MESSAGE_LIMIT - len(WRITING)) + WRITING)
            else:
                final = event
    finally:
        slow.cancel()
    assert final is not None, "astream always ends with an Answer"
    return final


def answer_turns(message: discord.Message) -> list[Turn]:
    """One of our answers as conversation: its embed title is the question, its description the answer."""
    embed = message.embeds[0]
    turns = [Turn("user", embed.title)] if embed.title else []
    return [*turns, Turn("assistant", embed.description or "")]


def turns_from(messages: list[discord.Message], bot_id: int) -> list[Turn]:
    """Recent messages (newest first, as history() gives them) as the conversation's turns, oldest first."""
    turns: list[Turn] = []
    for message in reversed(messages):
        if message.author.id == bot_id and message.embeds:
            turns += answer_turns(message)
        elif message.author.id != bot_id and message.content:
            turns.append(Turn("user", message.content))
    return turns[-HISTORY_TURNS:]
