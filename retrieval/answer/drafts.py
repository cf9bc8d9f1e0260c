"""What summaries and digests are written from: the offline summary of one article, the map step that shortens long
sources for the LLM, and the digest of what is new. The answer chain (chain.py) runs them as named steps."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
from langchain_core.runnables import Runnable, RunnableConfig

import prompts
from retrieval.answer.compose import refusal
from retrieval.answer.extractive import without_lead_in
from retrieval.answer.sources import Source, as_data, format_sources, without_markers
from retrieval.answer.text import with_markers
from retrieval.dates import parse_since
from retrieval.embeddings import Embedder
from retrieval.ingest.chunker import split_sentences
from retrieval.knowledge_base import KnowledgeBase
from retrieval.types import Answer, Citation, SearchHit

MAP_REDUCE_CHARS = 8000  # above this much source text, each source is summarised on its own first
ARTICLE_SENTENCES = 4
DIGEST_STORIES = 60  # a digest lists the newest stories; more would not fit a Discord embed anyway


def lead_and_central(embedder: Embedder, sources: list[Source]) -> str:
    """An article's lead sentence plus its most central ones (closest to the article's mean vector), in order."""
    sentences = [
        (s.n, i, without_lead_in(text)) for s in sources for i, text in enumerate(s.sentences) if len(text.split()) >= 5
    ]
    if not sentences:
        return ""
    vectors = embedder.embed([text for _, _, text in sentences])
    centre = vectors.mean(axis=0)
    ranked = [int(i) for i in np.argsort(-(vectors @ centre)) if int(i) != 0]
    chosen = sorted([0, *ranked[: ARTICLE_SENTENCES - 1]])  # the lead, then the most central, in article order
    return " ".join(with_markers(sentences[i][2], [sentences[i][0]]) for i in chosen)


def summary_sources(mapper: Runnable, topic: str, sources: list[Source], config: RunnableConfig) -> str:
    """The sources as the summary prompt shows them; when long, each is first summarised on its own by `mapper`
    (the map step of map-reduce), and those that say nothing about the topic are left out."""
    blocks = format_sources(sources)
    if len(blocks) <= MAP_REDUCE_CHARS:
        return blocks
    partials = mapper.batch([{"topic": topic, "title": s.article.title, "text": s.text} for s in sources], config)
    kept = [(s, text) for s, text in zip(sources, partials, strict=True) if prompts.NOT_IN_SOURCES not in text]
    return "\n".join(
        f'<source n="{s.n}" title="{as_data(s.article.title)}">\n{as_data(text.strip())}\n</source>' for s, text in kept
    )


def digest_answer(kb: KnowledgeBase, since: str, mode: str) -> Answer:
    """One cited line per story new since `since`, grouped by publication day, newest first."""
    first = parse_since(since)
    first_day = first.isoformat()
    fresh = [a for a in kb.articles() if (a.published or a.ingested_at[:10]) >= first_day]
    label = digest_label(first, datetime.now(UTC).date())
    if not fresh:
        answer = refusal(label, mode, [], {})
        answer.answer = f"Nothing new in the knowledge base since {first_day}."
        return answer
    lines: list[str] = []
    citations: list[Citation] = []
    day = None
    leads = kb.lead_passages()  # one query, not one per article: digests stay linear in the KB size
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
    return Answer(question=label, answer="\n".join(lines), grounded=True, mode=mode, citations=citations)


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
