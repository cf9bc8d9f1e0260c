"""Sentence-aware chunking bounded by the embedding model's own token count.

Passages never cut a sentence in half (unless one sentence alone is over the limit), consecutive passages share one
short sentence of overlap so a fact that straddles a boundary is still found, and ids are stable: the same article
content and settings always give the same chunk ids, and changed content or settings give new ones.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable

from retrieval.types import Article, Chunk

TokenCounter = Callable[[list[str]], list[int]]

# A sentence ends at . ! ? (optionally closed by a quote or bracket) followed by space, or glued straight onto a
# capitalised word ("security.In a statement") as scraped pages often are. Single capitals ("U.S.", "X.Hikvision")
# are not treated as sentence ends.
_SENTENCE_END = re.compile(
    r"(?<=[a-z0-9%)\]'\"’”][.!?])['\"’”)]?\s+(?=[\"'‘“(]?[A-Z0-9])"
    r"|(?<=[a-z]{2}[.!?])(?=['‘“]?[A-Z][a-z])"
    r"|(?<=\b[A-Z][.!?])(?=[A-Z][a-z]{3,})"
    r"|(?<=[.!?]['\"’”])(?=[A-Z])"
)


def split_sentences(text: str) -> list[str]:
    """Split on line breaks first (paragraphs), then on sentence ends inside each line."""
    sentences: list[str] = []
    for line in text.splitlines():
        carry = ""
        for piece in _SENTENCE_END.split(line):
            piece = (carry + piece).strip()
            carry = ""
            if not any(ch.isalnum() for ch in piece):
                carry = piece  # a lone quote mark belongs to the sentence it opens
            elif piece:
                sentences.append(piece)
    return sentences


def _join(sentences: Iterable[str]) -> str:
    """Sentences joined by spaces, except after a headline-like line with no final stop, which keeps its break."""
    out = ""
    for sentence in sentences:
        out += (("\n" if out[-1] not in ".!?\"'’”)" else " ") if out else "") + sentence
    return out


def _split_long(sentence: str, tokens: int, limit: int) -> list[str]:
    """A sentence over the limit is cut on word boundaries into near-equal pieces."""
    words = sentence.split()
    pieces = -(-tokens // limit)
    size = -(-len(words) // pieces)
    return [" ".join(words[i : i + size]) for i in range(0, len(words), size)]


CHUNKER_VERSION = 1  # bump when chunking changes, so every article is re-chunked on its next ingest


def index_fingerprint(article: Article, max_tokens: int) -> str:
    """What decides an article's passages: its content and the chunking settings. Stored as its indexed hash."""
    key = f"{article.content_hash}:{max_tokens}:{CHUNKER_VERSION}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def chunk_article(article: Article, count_tokens: TokenCounter, max_tokens: int) -> list[Chunk]:
    sentences = split_sentences(article.text)
    counts = count_tokens(sentences)
    units: list[tuple[str, int]] = []
    for sentence, n in zip(sentences, counts, strict=True):
        if n > max_tokens:
            pieces = _split_long(sentence, n, max_tokens)
            units += zip(pieces, count_tokens(pieces), strict=True)
        else:
            units.append((sentence, n))

    groups: list[list[tuple[str, int]]] = []
    current: list[tuple[str, int]] = []
    size = 0
    for unit in units:
        if current and size + unit[1] > max_tokens:
            groups.append(current)
            last = current[-1]
            # Carry the last sentence over when it is short: context across the boundary for little cost.
            current = [last] if last[1] <= max_tokens // 4 else []
            size = sum(n for _, n in current)
        current.append(unit)
        size += unit[1]
    if current:
        groups.append(current)

    prefix = f"{article.id}-{index_fingerprint(article, max_tokens)[:8]}"
    return [
        Chunk(
            chunk_id=f"{prefix}-{i:04d}",
            article_id=article.id,
            ordinal=i,
            text=_join(s for s, _ in group),
            title=article.title,
        )
        for i, group in enumerate(groups)
    ]
