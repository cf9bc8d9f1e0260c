"""Verified streaming: an answer is shown sentence by sentence, each sentence only after its citation check passed.

The answerer's words arrive as a stream: the LLM's tokens, or the offline answerer's whole draft at once. A sentence
is complete once the next one has begun (only then can the splitter tell "Gov. Newsom" from a sentence end); it is
checked when the next piece arrives, while the LLM goes on writing, and what passes is yielded. A dropped sentence is
never yielded, and the finished answer is exactly the sentences yielded, because each one is checked and renumbered
on its own (retrieval/answer/citations.py, `SentenceCheck`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import prompts
from retrieval.answer.citations import CitationChecker, SentenceCheck
from retrieval.answer.compose import answer_spans, checked_answer
from retrieval.ingest.chunker import split_sentences
from retrieval.reader.model import Reader
from retrieval.text import normalised
from retrieval.types import Answer

OFFLINE_NOTICE = "The language model was unavailable, so this answer was composed offline from the articles."


@dataclass(frozen=True)
class Verified:
    """The answer so far: only sentences that passed the check. The last one of a stream carries the finished
    `Answer`. A stream's chunks are snapshots, so a chunk added to an earlier one is simply the later (LangChain adds
    up a stream's chunks to make `invoke`'s result)."""

    text: str
    answer: Answer | None = None

    def __add__(self, later: Verified) -> Verified:
        return later


class OfflineDraft(str):
    """A draft written by the offline answerer. As the LLM's fallback, it tells the answer to say so."""


class SentenceStream:
    """A growing draft, handed out as sentences once they are complete."""

    def __init__(self) -> None:
        self.text = ""
        self._handed_out = 0

    def feed(self, piece: str) -> list[str]:
        """Add `piece`; the sentences it completed (the last one may still grow)."""
        self.text += piece
        return self._hand_out(self._sentences()[:-1])

    def rest(self) -> list[str]:
        """The sentences not handed out yet, once the draft has ended."""
        return self._hand_out(self._sentences())

    def _sentences(self) -> list[str]:
        # Markers are read as a person reads them: "[\u200b2]" is "[2]".
        return split_sentences(" ".join(normalised(self.text).split()))

    def _hand_out(self, sentences: list[str]) -> list[str]:
        new = sentences[self._handed_out :]
        self._handed_out += len(new)
        return new


class Verifier:
    """The verify step for one answer: takes the chunks of `{...inputs, "draft": piece}` that the chain streams, and
    gives back what passed the check so far."""

    def __init__(self, checker: CitationChecker, reader: Reader) -> None:
        self._checker = checker
        self._reader = reader
        self._inputs: dict[str, Any] = {}
        self._stream = SentenceStream()
        self._check: SentenceCheck | None = None
        self._pending: list[str] = []  # complete sentences, checked when the next piece arrives (or at the end)
        self._offline = False
        self._start = time.perf_counter()

    def take(self, chunk: dict[str, Any]) -> Verified | None:
        """One chunk of the stream; the checked text when it let new sentences through."""
        piece = chunk.get("draft")
        self._inputs.update((k, v) for k, v in chunk.items() if k != "draft")
        if piece is None:
            return None
        self._offline = self._offline or isinstance(piece, OfflineDraft)
        # Checking what earlier pieces completed, not this one's: a draft that arrives whole (offline, `invoke`) is
        # then checked in one batch at the end, and appears at once.
        pending, self._pending = self._pending, self._stream.feed(piece)
        return Verified(self._text()) if self._checked(pending) else None

    def finish(self) -> Verified:
        """The end of the draft: check the rest, and the finished `Answer`."""
        self._checked(self._pending + self._stream.rest())
        x = self._inputs
        x["timings"]["answer"] = (time.perf_counter() - self._start) * 1000
        checked = self._check.result if self._check is not None and not self._declined() else None
        mode = "extractive" if self._offline else "llm"
        answer = checked_answer(x["label"], checked, x["sources"], mode, x["timings"])
        if self._offline and x["mode"] == "llm":
            answer.notice = OFFLINE_NOTICE
        if answer.grounded and x["task"] == "ask":
            answer.answer_spans = answer_spans(self._reader, x["question"], answer.answer)
        return Verified(answer.answer, answer)

    def _declined(self) -> bool:
        """The answerer said the sources do not answer: nothing of its reply is checked or shown."""
        return normalised(self._stream.text).lstrip().startswith(prompts.NOT_IN_SOURCES)

    def _checked(self, sentences: list[str]) -> list[str]:
        if not sentences or self._declined():
            return []
        if self._check is None:
            self._check = self._checker.begin(self._inputs["sources"])
        return self._check.add(sentences)

    def _text(self) -> str:
        assert self._check is not None
        return self._check.result.text
