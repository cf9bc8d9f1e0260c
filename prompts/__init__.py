"""Versioned prompt templates, shipped as package files (never fetched). Bump the suffix to change a prompt.

Each template carries a worked example of the reply it asks for, and fences retrieved text as data. Every template is
a chat template, one file in two sections: `[system]` holds the instructions (ours alone), `[human]` the data they
apply to (articles, members' words, another model's sentences), so that nothing untrusted shares the instructions'
message.
"""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files

from langchain_core.prompts import ChatPromptTemplate

ANSWER = "answer_v2"
CONDENSE = "condense_v2"
SUMMARY = "summary_v2"
MAP = "map_v2"
JUDGE = "judge_v1"

NOT_IN_SOURCES = "NOT_IN_SOURCES"


_SECTION = re.compile(r"^\[(system|human)\]\n", re.MULTILINE)


@cache
def load_chat(name: str) -> ChatPromptTemplate:
    """The chat template called `name` (e.g. ANSWER), parsed once per process: instructions in the system message,
    so that nothing in the human message (retrieved text, another model's words) can pass for them."""
    parts = _SECTION.split(_read(name))  # ["", "system", text, "human", text]
    sections = zip(parts[1::2], parts[2::2], strict=True)
    return ChatPromptTemplate.from_messages([(role, text.strip()) for role, text in sections])


def _read(name: str) -> str:
    return (files(__package__) / f"{name}.txt").read_text(encoding="utf-8")
