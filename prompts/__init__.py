"""Versioned prompt templates, shipped as package files (never fetched). Bump the suffix to change a prompt.

Each template carries a worked example of the citation format, and fences retrieved text as data.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from langchain_core.prompts import PromptTemplate

ANSWER = "answer_v1"
CONDENSE = "condense_v1"
SUMMARY = "summary_v1"
MAP = "map_v1"

NOT_IN_SOURCES = "NOT_IN_SOURCES"


@cache
def load(name: str) -> PromptTemplate:
    """The template called `name` (e.g. ANSWER), parsed once per process."""
    return PromptTemplate.from_template((files(__package__) / f"{name}.txt").read_text(encoding="utf-8"))
