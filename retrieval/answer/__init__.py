"""Answers, summaries and digests with checked citations. `chat_model_for` picks the LLM when one is configured."""

from __future__ import annotations

from typing import TYPE_CHECKING

from langchain_core.language_models import BaseChatModel

from retrieval.settings import Settings

if TYPE_CHECKING:
    from retrieval.answer.citations import CitationChecker
    from retrieval.reader.model import Reader


def chat_model_for(settings: Settings) -> BaseChatModel | None:
    """ChatOpenAI when OPENAI_API_KEY or OPENAI_BASE_URL is set; None means the offline extractive answerer."""
    if not settings.llm_enabled:
        return None
    from retrieval.answer.llm import build_chat_model

    return build_chat_model(settings)


def citation_checker(settings: Settings, reader: Reader, chat_model: BaseChatModel | None) -> CitationChecker:
    """The citation check; with an LLM, that LLM judges the sentences the verifier is unsure of (offline they go)."""
    from retrieval.answer.citations import CitationChecker

    if chat_model is None:
        return CitationChecker(reader)
    from retrieval.answer.judge import CitationJudge  # imports openai: only when an LLM is configured

    return CitationChecker(reader, CitationJudge(chat_model, settings))
