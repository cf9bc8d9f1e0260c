"""Retrieved text is data: sentences in it that try to instruct the model are kept out of answers and evidence.

The prompt already tells the LLM to ignore such text; this is the second line of defence, because a support check
would otherwise accept an obedient "HACKED [1]" as backed by the very source that asked for it.
"""

from __future__ import annotations

import re

from retrieval.text import normalised

_INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b.{0,40}\b(?:instructions?|rules?|prompts?|above|previous|prior)\b"
    r"|\b(?:system prompt|you are now|act as|pretend to be|new instructions?)\b"
    r"|\b(?:reply|respond|answer|say|write|output)\b.{0,20}\b(?:only|exactly|with the word)\b"
    r"|\b(?:reply|respond|answer)\s+(?:with\s+)?[\"'“]?[A-Z]{3,}\b",
    re.IGNORECASE,
)


def is_instruction(sentence: str) -> bool:
    """Matched on the normalised sentence: "ignore" split by a zero-width space is still "ignore"."""
    return bool(_INSTRUCTION.search(normalised(sentence)))
