"""Summaries of a topic or one article, and digests of what is new, in the same `Answer` shape as answers.

Offline, summaries are extractive: an article's lead sentence plus its most central sentences (closest to the
article's mean vector); a topic takes the sentences most related to the topic across the retrieved articles. With an
LLM, sources are summarised in one call, or map-reduced (each source summarised first) when they are long. Every
summary goes through the same citation check as answers.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, date, datetime
from typing import Literal

import numpy as np
from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser

import prompts
from retrieval.answer import citation_checker
from retrieval.answer.compose import checked_answer, refusal, relevant_sources
from retrieval.answer.extractive import ExtractiveAnswerer, without_lead_in
from retrieval.answer.sources import Source, format_sources, number_sources, without_markers
from retrieval.answer.text import with_markers
from retrieval.chunker import split_sentences
from retrieval.dates import parse_since
from retrieval.errors import BadInputError
from retrieval.knowledge_base import KnowledgeBase
from retrieval.settings import Settings
from retrieval.types import Answer, Citation, SearchHit

TOPIC_PASSAGES = 8
MAP_REDUCE_CHARS = 8000  # above this much source text, each source is summarised on its own first
ARTICLE_SENTENCES = 4
DIGEST_STORIES = 60  # a digest lists the newest stories; more would not fit a Discord embed anyway


class SummaryService:
    def __init__(self, settings: Settings, kb: KnowledgeBase, chat_model: BaseChatModel | None = None) -> None:
        self._settings = settings
        self._kb = kb
        self._llm = chat_model
        self.mode: Literal["extractive", "llm"] = "llm" if chat_model is not None else "extractive"
        self._checker = citation_checker(settings, kb.reader, chat_model)
        # A digest spans its sources: no sentence is held back for its passage matching the topic less well.
        self._extractive = ExtractiveAnswerer(
            kb.embedder, kb.reader, max_sentences=5, threshold=0.0, follow_margin=math.inf
        )

    def topic(self, topic: str) -> Answer:
        topic = " ".join(topic.split())
        if not topic:
            raise BadInputError("Name a topic to summarise, for example: Hikvision.")
        if len(topic) > self._settings.max_question_chars:
            raise BadInputError(f"Topics are limited to {self._settings.max_question_chars} characters; shorten it.")
        start = time.perf_counter()
        hits = self._kb.search(topic, TOPIC_PASSAGES)
        timings = {"retrieve": (time.perf_counter() - start) * 1000}
        sources = relevant_sources(hits)
        if not sources:
            return refusal(f"summary: {topic}", self.mode, hits, timings)
        draft = self._extractive.draft(topic, sources) if self._llm is None else self._llm_summary(topic, sources)
        timings["answer"] = (time.perf_counter() - start) * 1000 - timings["retrieve"]
        return checked_answer(self._checker, f"summary: {topic}", draft, sources, self.mode, timings)

    def article(self, article_id_or_title: str) -> Answer:
        record, chunks = self._kb.article(article_id_or_title)
        hits = [SearchHit(rank=i + 1, score=1.0, chunk=c, article=record, similarity=1.0) for i, c in enumerate(chunks)]
        sources = number_sources(hits)
        start = time.perf_counter()
        draft = self._lead_and_central(sources) if self._llm is None else self._llm_summary(record.title, sources)
        timings = {"answer": (time.perf_counter() - start) * 1000}
        return checked_answer(self._checker, f"summary: {record.title}", draft, sources, self.mode, timings)

    def _lead_and_central(self, sources: list[Source]) -> str:
        sentences = [
            (s.n, i, without_lead_in(text))
            for s in sources
            for i, text in enumerate(s.sentences)
            if len(text.split()) >= 5
        ]
        if not sentences:
            return ""
        vectors = self._kb.embedder.embed([text for _, _, text in sentences])
        centre = vectors.mean(axis=0)
        ranked = [int(i) for i in np.argsort(-(vectors @ centre)) if int(i) != 0]
        chosen = sorted([0, *ranked[: ARTICLE_SENTENCES - 1]])  # the lead, then the most central, in article order
        return " ".join(with_markers(sentences[i][2], [sentences[i][0]]) for i in chosen)

    def _llm_summary(self, topic: str, sources: list[Source]) -> str:
        from retrieval.answer.llm import with_malformed_retry  # imports openai: only when an LLM is configured

        assert self._llm is not None
        model = with_malformed_retry(self._llm, self._settings)
        blocks = format_sources(sources)
        if len(blocks) > MAP_REDUCE_CHARS:
            mapper = prompts.load(prompts.MAP) | model | StrOutputParser()
            partials = mapper.batch([{"topic": topic, "title": s.article.title, "text": s.text} for s in sources])
            kept = [(s, text) for s, text in zip(sources, partials, strict=True) if prompts.NOT_IN_SOURCES not in text]
            blocks = "\n".join(
                f'<source n="{s.n}" title="{s.article.title}">\n{text.strip()}\n</source>' for s, text in kept
            )
        reducer = prompts.load(prompts.SUMMARY) | model | StrOutputParser()
        return reducer.invoke({"topic": topic, "sources": blocks})

    def digest(self, since: str = "7d") -> Answer:
        """One cited line per story new since `since`, grouped by publication day, newest first."""
        first = parse_since(since)
        first_day = first.isoformat()
        fresh = [a for a in self._kb.articles() if (a.published or a.ingested_at[:10]) >= first_day]
        label = digest_label(first, datetime.now(UTC).date())
        if not fresh:
            answer = refusal(label, self.mode, [], {})
            answer.answer = f"Nothing new in the knowledge base since {first_day}."
            return answer
        lines: list[str] = []
        citations: list[Citation] = []
        day = None
        leads = self._kb.lead_passages()  # one query, not one per article: digests stay linear in the KB size
        shown = [record for record in fresh if record.id in leads][:DIGEST_STORIES]
        for n, record in enumerate(shown, start=1):
            when = record.shown_date or f"added {record.ingested_at[:10]}"
            if when != day:
                lines.append(when)  # plain text: the CLI and Discord each render it their own way
                day = when
            chunk = leads[record.id]
            lead = without_lead_in(without_markers(split_sentences(chunk.text)[0]))
            outlet = f" ({record.outlet})" if record.outlet else ""
            lines.append(f"- {record.title}{outlet}: {lead} [{n}]")
            hit = SearchHit(rank=n, score=1.0, chunk=chunk, article=record, similarity=1.0)
            citations.append(Source(n, (hit,)).citation(n, lead))
        if len(fresh) > len(shown):
            lines.append(f"… and {len(fresh) - len(shown)} older stories")
        return Answer(question=label, answer="\n".join(lines), grounded=True, mode=self.mode, citations=citations)


def digest_label(first: date, today: date) -> str:
    """How a digest is named to people: "Digest of the week to 4 Dec", not the window's first ISO day."""
    days = (today - first).days
    spans = {0: "the day", 1: "the day", 7: "the week", 14: "two weeks", 30: "the month", 31: "the month"}
    span = spans.get(days, f"{days} days")
    if days < 0:
        return f"Digest from {_day(first)}"
    return f"Digest of {span} to {_day(today)}"


def is_summary_label(question: str) -> bool:
    """Whether a stored answer's question is a summary's or digest's label rather than something a member asked
    (older stores labelled digests "digest since <day>")."""
    return question.startswith(("summary: ", "Digest of ", "Digest from ", "digest since "))


def _day(day: date) -> str:
    return f"{day.day} {day:%b}" + (f" {day.year}" if day.year != datetime.now(UTC).year else "")
