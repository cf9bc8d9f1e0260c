"""Small text helpers shared by the extractive answerer and the citation checker."""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
# Function words carry no evidence: "the", "did", "why" match everything.
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "being",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "more",
        "most",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "out",
        "over",
        "she",
        "so",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "to",
        "up",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "about",
        "after",
        "again",
        "against",
        "also",
        "any",
        "because",
        "before",
        "between",
        "both",
        "during",
        "each",
        "few",
        "further",
        "here",
        "just",
        "many",
        "much",
        "only",
        "other",
        "own",
        "same",
        "should",
        "some",
        "such",
        "too",
        "under",
        "until",
        "very",
        "said",
        "says",
        "say",
    ]
)


def content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1}


def containment(claim: str, evidence: str) -> float:
    """Share of the claim's content words that the evidence contains (1.0 = every word is backed)."""
    words = content_words(claim)
    if not words:
        return 0.0
    return len(words & content_words(evidence)) / len(words)


def with_markers(claim: str, numbers: list[int]) -> str:
    """'Prices rose.' + [1, 3] -> 'Prices rose [1][3].': markers sit inside the sentence they support."""
    body = claim.rstrip(" .!?")
    end = claim[len(body) :].strip() or "."
    return f"{body} {''.join(f'[{n}]' for n in numbers)}{end}"
