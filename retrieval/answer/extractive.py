"""The offline answerer: picks the retrieved sentences that best answer the question and cites each one.

No generative model is involved, so nothing can be invented: every sentence is quoted from a source. Sentences are
scored by meaning (MiniLM cosine to the question) plus word overlap with the question, near-duplicates are skipped,
and the chosen ones are put back in source order so the answer reads naturally.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from retrieval.answer.sources import Source
from retrieval.answer.text import with_markers
from retrieval.embeddings import Embedder
from retrieval.search import asks_for_recent, recency_bonus
from retrieval.text import content_words

MAX_SENTENCES = 3
LEXICAL_WEIGHT = 0.3  # a full word match is worth 0.3 of cosine: names and numbers matter in news questions
KEEP_RATIO = 0.8  # a sentence must score at least this share of the best one to join the answer
REDUNDANT = 0.85  # cosine above which two sentences say the same thing


@dataclass(frozen=True)
class _Candidate:
    source: Source
    position: int
    sentence: str


def _lexical(question_words: set[str], sentence: str) -> float:
    return len(question_words & content_words(sentence)) / len(question_words) if question_words else 0.0


class ExtractiveAnswerer:
    def __init__(self, embedder: Embedder, max_sentences: int = MAX_SENTENCES) -> None:
        self._embedder = embedder
        self._max = max_sentences

    def draft(self, question: str, sources: list[Source]) -> str:
        """A 1-to-`max_sentences` sentence answer, each sentence ending with its source number."""
        seen: set[str] = set()
        candidates: list[_Candidate] = []
        for source in sources:
            for position, sentence in enumerate(source.sentences):
                if len(sentence.split()) >= 5 and sentence not in seen:
                    seen.add(sentence)
                    candidates.append(_Candidate(source, position, sentence))
        if not candidates:
            return ""
        vectors = self._embedder.embed([question] + [c.sentence for c in candidates])
        question_vec, sentence_vecs = vectors[0], vectors[1:]
        words = content_words(question)
        scores = sentence_vecs @ question_vec + LEXICAL_WEIGHT * np.array(
            [_lexical(words, c.sentence) for c in candidates]
        )
        if asks_for_recent(question):  # "latest", "this week": the newer of two similar sentences should lead
            bonus = recency_bonus({str(s.n): s.article.published for s in sources})
            scores += np.array([bonus.get(str(c.source.n), 0.0) for c in candidates])
        chosen: list[int] = []
        for i in np.argsort(-scores):
            if scores[i] < KEEP_RATIO * scores[int(np.argmax(scores))] or len(chosen) == self._max:
                break
            if all(sentence_vecs[i] @ sentence_vecs[j] < REDUNDANT for j in chosen):
                chosen.append(int(i))
        # The best sentence leads; the rest follow in source order, which keeps the story's own sequence.
        chosen[1:] = sorted(chosen[1:], key=lambda i: (candidates[i].source.n, candidates[i].position))
        return " ".join(with_markers(candidates[i].sentence, [candidates[i].source.n]) for i in chosen)
