"""Text helpers for the extractive answerer and the citation checker."""

from __future__ import annotations


def with_markers(claim: str, numbers: list[int]) -> str:
    """'Prices rose.' + [1, 3] -> 'Prices rose [1][3].': markers sit inside the sentence they support."""
    body = claim.rstrip(" .!?")
    end = claim[len(body) :].strip() or "."
    return f"{body} {''.join(f'[{n}]' for n in numbers)}{end}"
