"""Producing an answer for Discord: offline in a worker thread, or streamed from the LLM with throttled edits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import discord

from bot.formatting import MESSAGE_LIMIT, clip
from retrieval.answer.chain import Partial, Turn
from retrieval.types import Answer

if TYPE_CHECKING:
    from bot.client import NewsdeskBot

EDIT_INTERVAL_S = 1.0  # Discord allows about five edits per five seconds per message; one a second leaves room
SLOW_NOTICE_S = 4.0  # with no draft yet after this long, say that the answer is coming
SLOW_NOTICE = "Still working on it: the language model is taking longer than usual…"
HISTORY_TURNS = 10

OnPartial = Callable[[str], Awaitable[None]]


async def produce_answer(
    bot: NewsdeskBot, guild_id: int | None, question: str, history: list[Turn], on_partial: OnPartial | None = None
) -> Answer:
    """The checked answer; in LLM mode `on_partial` sees the growing draft at most once per EDIT_INTERVAL_S."""
    answers, _ = await bot.answerers(guild_id)
    if answers.mode != "llm" or on_partial is None:
        return await asyncio.to_thread(answers.ask, question, history)
    last_edit = 0.0
    final: Answer | None = None

    async def notice_when_slow() -> None:
        await asyncio.sleep(SLOW_NOTICE_S)
        await on_partial(SLOW_NOTICE)

    slow = asyncio.create_task(notice_when_slow())
    try:
        async for event in answers.astream(question, history):
            if isinstance(event, Partial):
                slow.cancel()
                if time.monotonic() - last_edit >= EDIT_INTERVAL_S:
                    last_edit = time.monotonic()
                    await on_partial(clip(event.text, MESSAGE_LIMIT - 2) + " ▌")
            else:
                final = event
    finally:
        slow.cancel()
    assert final is not None, "astream always ends with an Answer"
    return final


async def thread_history(thread: discord.Thread, before: discord.Message, bot_id: int) -> list[Turn]:
    """The thread's recent turns. Our answers carry the question as the embed title and the answer as its body."""
    turns: list[Turn] = []
    async for message in thread.history(limit=HISTORY_TURNS, before=before):
        if message.author.id == bot_id and message.embeds:
            embed = message.embeds[0]
            turns.append(Turn("assistant", embed.description or ""))
            if embed.title:
                turns.append(Turn("user", embed.title))
        elif message.author.id != bot_id and message.content:
            turns.append(Turn("user", message.content))
    return list(reversed(turns))[-HISTORY_TURNS:]
