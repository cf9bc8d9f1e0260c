"""Question and claim pairs as the reader's training scripts build them, and the SQuAD helpers they share.

Kept apart from scripts/train_reader.py so that scripts/reading_data.py can build pairs without importing the trainer.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from retrieval.ingest.chunker import split_sentences

ANSWERS, SUPPORTS = 0, 1  # the reader's two pooled outputs, in the order of its head's rows


@dataclass
class Example:
    task: int
    first: str
    second: str
    label: float
    answer: tuple[int, int] | None = None  # character span of the answer inside `second` (answers task, positives)


def _window(sentences: list[str], i: int) -> str:
    """The sentence with one neighbour on each side: the size of text the runtime verifies a claim against."""
    return " ".join(sentences[max(0, i - 1) : i + 2])


_WORD = re.compile(r"[a-z0-9]+")
_STOP_WORDS = (
    "the a an of in on at to for by with from and or is was were are be been what which who whom whose when where why "
    "how did does do that this these those it its as into than then there their they he she his her many much one"
)
_STOP = frozenset(_STOP_WORDS.split())


def _words(text: str) -> frozenset[str]:
    return frozenset(w for w in _WORD.findall(text.lower()) if w not in _STOP)


def _closest(question: frozenset[str], candidates: list[str], rng: random.Random) -> str | None:
    """The candidate sharing the most words with the question: the negative a word-overlap ranker would pick."""
    if not candidates:
        return None
    scored = [(len(question & _words(c)), rng.random(), c) for c in candidates]
    return max(scored)[2]


def _negatives(candidates: list[str], answer: str, golds: set[str]) -> list[str]:
    """Candidates other than the answer sentence that do not contain a gold answer (those may well answer)."""
    return [c for c in candidates if c != answer and not any(g in c.lower() for g in golds)]


Paragraph = tuple[int, str, list[str], list[dict]]  # article index, context, its sentences, its questions


def question_pool(articles: list[dict], rng: random.Random) -> tuple[list[Paragraph], list[tuple[int, dict]]]:
    """Paragraphs of two or more sentences, and every (paragraph index, question) pair in `rng`'s shuffled order:
    the order training samples questions in, so a later script can tell which questions a run has seen."""
    paragraphs = []
    for a, article in enumerate(articles):
        for p in article["paragraphs"]:
            sentences = split_sentences(p["context"])
            if len(sentences) >= 2:
                paragraphs.append((a, p["context"], sentences, p["qas"]))
    pool = [(i, qa) for i, (*_, qas) in enumerate(paragraphs) for qa in qas]
    rng.shuffle(pool)
    return paragraphs, pool


def answer_sentence(context: str, sentences: list[str], answer: dict) -> int | None:
    """The index of the sentence holding the answer (located by character offset), None when a split cut it."""
    offset = 0
    for s, sentence in enumerate(sentences):
        start = context.find(sentence, offset)
        if start <= answer["answer_start"] < start + len(sentence):
            return s if answer["text"] in sentence else None
        offset = max(offset, start)
    return None


def siblings_by_article(paragraphs: list[Paragraph]) -> dict[int, list[int]]:
    by_article: dict[int, list[int]] = {}
    for i, (a, *_) in enumerate(paragraphs):
        by_article.setdefault(a, []).append(i)
    return by_article


def answer_pair(question: str, context: str, sentences: list[str], answer: dict) -> tuple[int, Example] | None:
    """The sentence holding `answer` (its index) paired with the question as a positive with the answer's span; None
    when a sentence split cut the answer."""
    hit = answer_sentence(context, sentences, answer)
    if hit is None:
        return None
    at = sentences[hit].find(answer["text"])
    return hit, Example(ANSWERS, question, sentences[hit], 1.0, (at, at + len(answer["text"])))
