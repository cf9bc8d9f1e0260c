"""Turning a checked draft into the `Answer` users see, or into an honest refusal."""

from __future__ import annotations

import math
import re
from typing import Literal

from retrieval.answer.citations import Checked
from retrieval.answer.extractive import ANSWERS
from retrieval.answer.sources import Source, number_sources
from retrieval.ingest.chunker import split_sentences
from retrieval.reader.calibration import CALIBRATION
from retrieval.reader.model import Reader, log_odds
from retrieval.types import Answer, ArticleRecord, SearchHit

_MARKERS = re.compile(r"\s*\[\d+\]")
REFUSAL = "I couldn't find that in the knowledge base."
# Cosine floors, calibrated with the reader (scripts/calibrate.py, table 7). The closest passage's cosine below which
# the question is refused when the reader did not read:
MIN_RELEVANCE = CALIBRATION.min_relevance
SUPPORTING_RELEVANCE = CALIBRATION.supporting_relevance  # passages below this that no sentence answers are not shown
# With the reader: a question whose closest passage is this far from it is off-topic, however answer-like a
# sentence reads ("who won the world cup?" against "I think President Xi will probably do it": cosine 0.17).
TOPIC_FLOOR = CALIBRATION.topic_floor
# The refusal. The reader reads one sentence at a time, so a look-alike in a neighbouring paragraph ("The station was
# first built in 1968" for "When was the station rebuilt?") can read as an answer; how well the whole passage matches
# the question (search's fused score) tells the two apart. A passage's evidence is the reader's log-odds moved by
# CONFIDENCE_SLOPE per unit of fused score away from SCORE_PIVOT; the best passage decides, against CONFIDENT.
# Both are calibrated with the reader (retrieval/reader/calibration.py): CONFIDENT where 5% of answerable held-out
# questions are refused. SCORE_PIVOT is only where the scale is read from: another pivot moves CONFIDENT with it.
CONFIDENCE_SLOPE = CALIBRATION.confidence_slope
SCORE_PIVOT = 0.75
CONFIDENT = CALIBRATION.confident


def closest_similarity(hits: list[SearchHit]) -> float:
    """The cosine of the passage closest to the question (0 for no hits): what the topic and relevance floors read."""
    return max((h.similarity for h in hits), default=0.0)


def answer_confidence(hits: list[SearchHit], slope: float = CONFIDENCE_SLOPE) -> float | None:
    """How sure we are that the hits answer the question (a probability), 0 when nothing is on topic; None when the
    reader did not read them (search without rerank)."""
    read = [h for h in hits if h.answers is not None]
    if not read:
        return None
    if closest_similarity(hits) < TOPIC_FLOOR:
        return 0.0
    evidence = max(log_odds(h.answers) + slope * (h.score - SCORE_PIVOT) for h in read)
    return 1 / (1 + math.exp(-evidence))


def relevant_sources(hits: list[SearchHit]) -> list[Source]:
    """Numbered sources for the answerer, or none at all when nothing retrieved answers the question.

    When the reader read the passages (search with rerank), it decides: no sentence it judged an answer means a
    refusal, even on the right topic. Otherwise the passages' cosine to the question must reach MIN_RELEVANCE.
    """
    if not hits:
        return []
    confidence = answer_confidence(hits)
    if (confidence < CONFIDENT) if confidence is not None else (closest_similarity(hits) < MIN_RELEVANCE):
        return []
    return number_sources([h for h in hits if h.similarity >= SUPPORTING_RELEVANCE or (h.answers or 0) >= ANSWERS])


def answer_spans(reader: Reader, question: str, answer: str) -> list[str]:
    """The words of each answer sentence that answer the question, as the reader marks them (for **bold**)."""
    sentences = [_MARKERS.sub("", s).strip() for s in split_sentences(answer)]
    readings = reader.read(question, sentences)
    return [s[r.span[0] : r.span[1]] for s, r in zip(sentences, readings, strict=True) if r.span and r.score >= ANSWERS]


def nearest_articles(hits: list[SearchHit], limit: int = 3) -> list[ArticleRecord]:
    """What a refusal offers instead: only articles with a passage as close to the question as an answerable one
    must be (MIN_RELEVANCE). An article at chit-chat distance ("lol" reaches 0.22 on the sample page) would only
    suggest the knowledge base thinks it is related."""
    unique: dict[str, ArticleRecord] = {}
    for hit in hits:
        if hit.similarity >= MIN_RELEVANCE:
            unique.setdefault(hit.article.id, hit.article)
    return list(unique.values())[:limit]


def refusal(question: str, mode: Literal["extractive", "llm"], hits: list[SearchHit], timings: dict) -> Answer:
    return Answer(
        question=question, answer=REFUSAL, grounded=False, mode=mode, nearest=nearest_articles(hits), timings_ms=timings
    )


def checked_answer(
    question: str, checked: Checked | None, sources: list[Source], mode: Literal["extractive", "llm"], timings: dict
) -> Answer:
    """The `Answer` of a finished check. No check (the answerer said the sources do not answer) or nothing supported
    left is a refusal, naming the nearest articles."""
    hits = [h for s in sources for h in s.hits]
    if checked is None or not checked.citations:
        answer = refusal(question, mode, hits, timings)
    else:
        answer = Answer(
            question=question,
            answer=checked.text,
            grounded=True,
            mode=mode,
            citations=checked.citations,
            timings_ms=timings,
        )
    if checked is not None:
        answer.total_sentences, answer.dropped_sentences = checked.total_sentences, checked.dropped_sentences
        answer.judge_kept, answer.judge_dropped = checked.judge_kept, checked.judge_dropped
    return answer
