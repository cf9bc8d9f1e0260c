"""Text helpers for the extractive answerer and the citation checker."""

from __future__ import annotations

from retrieval.text import content_words


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
