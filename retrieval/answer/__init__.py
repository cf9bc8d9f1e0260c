"""Answers, summaries and digests with checked citations. `chat_model_for` picks the LLM when one is configured."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel

from retrieval.settings import Settings


def chat_model_for(settings: Settings) -> BaseChatModel | None:
    """ChatOpenAI when OPENAI_API_KEY or OPENAI_BASE_URL is set; None means the offline extractive answerer."""
    if not settings.llm_enabled:
        return None
    from retrieval.answer.llm import build_chat_model

    return build_chat_model(settings)
