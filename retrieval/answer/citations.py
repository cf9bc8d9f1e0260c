"""Citations are checked, not trusted.

For every sentence of a draft answer: citation numbers that name no given source are removed; a sentence left
without a citation is dropped; each remaining citation must be supported by the passage it names, or it is removed;
a sentence with no supported citation is dropped. Support means the claim is close in meaning to one passage
sentence (MiniLM cosine) or most of its content words appear in the passage, and every number it states appears
there too. Thresholds are calibrated in docs/CITATIONS.md. Finally citations are renumbered 1..m in reading order.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import numpy as np

from retrieval.answer.guard import is_instruction
from retrieval.answer.sources import Source
from retrieval.answer.text import containment, with_markers
from retrieval.chunker import split_sentences
from retrieval.embeddings import Embedder
from retrieval.types import Citation

log = logging.getLogger(__name__)

MIN_COSINE = 0.62  # calibrated: see docs/CITATIONS.md
MIN_CONTAINMENT = 0.60
_MARKER = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@dataclass
class Checked:
    text: str
    citations: list[Citation] = field(default_factory=list)
    total_sentences: int = 0
    dropped_sentences: int = 0
    invalid_markers: int = 0


def _split_claim(sentence: str) -> tuple[str, list[int]]:
    numbers = [int(n) for group in _MARKER.findall(sentence) for n in re.split(r"\s*,\s*", group)]
    return _MARKER.sub("", sentence).strip(), numbers


def _numbers_backed(claim: str, passage: str) -> bool:
    return all(num in passage for num in _NUMBER.findall(claim))


class CitationChecker:
    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder

    def check(self, draft: str, sources: list[Source]) -> Checked:
        sentences = split_sentences(" ".join(draft.split()))
        parsed = [_split_claim(s) for s in sentences]
        result = Checked(text="", total_sentences=len(sentences))
        claims = [claim for claim, _ in parsed]
        evidence = [sentence for source in sources for sentence in source.sentences]
        vectors = self._embedder.embed(claims + evidence)
        claim_vecs, evidence_vecs = vectors[: len(claims)], vectors[len(claims) :]
        offsets = np.cumsum([0] + [len(s.sentences) for s in sources])

        kept: list[tuple[str, list[int]]] = []
        quotes: dict[int, str] = {}
        for i, (claim, numbers) in enumerate(parsed):
            valid = [n for n in dict.fromkeys(numbers) if 1 <= n <= len(sources)]
            result.invalid_markers += len(numbers) - len([n for n in numbers if 1 <= n <= len(sources)])
            supported = []
            if claim and any(ch.isalpha() for ch in claim) and not is_instruction(claim):
                for n in valid:
                    lo, hi = offsets[n - 1], offsets[n]
                    quote = self._support(claim, claim_vecs[i], sources[n - 1], evidence_vecs[lo:hi])
                    if quote is not None:
                        supported.append(n)
                        quotes.setdefault(n, quote)
            if supported:
                kept.append((claim, supported))
            else:
                result.dropped_sentences += 1
                log.info("dropped unsupported sentence %r (cited %s)", claim[:80], numbers)
        if result.invalid_markers:
            log.warning("removed %d citation(s) to sources that were not given", result.invalid_markers)

        renumber: dict[int, int] = {}
        for _, numbers in kept:
            for n in numbers:
                renumber.setdefault(n, len(renumber) + 1)
        result.text = " ".join(with_markers(claim, [renumber[n] for n in numbers]) for claim, numbers in kept)
        result.citations = [sources[old - 1].citation(new, quotes[old]) for old, new in renumber.items()]
        return result

    @staticmethod
    def _support(claim: str, claim_vec: np.ndarray, source: Source, evidence_vecs: np.ndarray) -> str | None:
        """The passage sentence that backs `claim`, or None when the passage does not support it."""
        if not source.sentences:
            return None
        passage = " ".join(source.sentences)
        if not _numbers_backed(claim, passage):
            return None
        cosines = evidence_vecs @ claim_vec
        best = int(np.argmax(cosines))
        if cosines[best] >= MIN_COSINE or containment(claim, passage) >= MIN_CONTAINMENT:
            return source.sentences[best]
        return None
