"""The LLM answerer: any OpenAI-compatible server through langchain-openai's ChatOpenAI.

The openai client retries timeouts, 429 (honouring Retry-After) and 5xx with exponential backoff; malformed replies
are retried by LangChain's `with_retry`. Whatever still fails becomes one `LLMError` sentence: never half an answer.
"""

from __future__ import annotations

import openai
from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable
from langchain_openai import ChatOpenAI

from retrieval.errors import LLMError
from retrieval.settings import Settings

MALFORMED = (ValueError, KeyError, TypeError, AttributeError, IndexError, openai.APIResponseValidationError)


def build_chat_model(settings: Settings) -> ChatOpenAI:
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
    return ChatOpenAI(
        model=settings.model,
        api_key=key,
        base_url=settings.openai_base_url,
        timeout=settings.llm_timeout_s,
        max_retries=settings.llm_max_retries,
        temperature=0,
    )


def with_malformed_retry(model: BaseChatModel, settings: Settings) -> Runnable:
    return model.with_retry(
        retry_if_exception_type=MALFORMED,
        stop_after_attempt=settings.llm_max_retries + 1,
        wait_exponential_jitter=True,
    )


def as_llm_error(exc: Exception, settings: Settings) -> LLMError:
    """One sentence per failure kind, saying what happened and what to do."""
    if isinstance(exc, openai.APITimeoutError):
        message = f"The language model did not answer within {settings.llm_timeout_s:g} s; try again shortly."
    elif isinstance(exc, openai.RateLimitError):
        message = "The language model is rate-limiting requests; try again in a minute."
    elif isinstance(exc, openai.AuthenticationError):
        message = "The language model rejected the API key; check OPENAI_API_KEY."
    elif isinstance(exc, openai.APIConnectionError):
        where = settings.openai_base_url or "OpenAI"
        message = f"Could not reach the language model at {where}; check OPENAI_BASE_URL."
    elif isinstance(exc, openai.APIStatusError):
        message = f"The language model failed with HTTP {exc.status_code}; try again shortly."
    else:
        message = "The language model sent a reply newsdesk could not read; try again shortly."
    return LLMError(message)
