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
        # Each attempt gets its share of the answer's deadline, so retries cannot stack up past it.
        timeout=attempt_timeout(settings),
        max_retries=settings.llm_max_retries,
        temperature=0,
    )


def attempt_timeout(settings: Settings, deadline_s: float | None = None) -> float:
    """One attempt's share of `deadline_s` (the answer's deadline unless given), never more than the LLM timeout."""
    deadline = settings.llm_deadline_s if deadline_s is None else deadline_s
    return min(settings.llm_timeout_s, deadline / (settings.llm_max_retries + 1))


def with_malformed_retry(model: BaseChatModel, settings: Settings) -> Runnable:
    return model.with_retry(
        retry_if_exception_type=MALFORMED,
        stop_after_attempt=settings.llm_max_retries + 1,
        wait_exponential_jitter=True,
    )


def as_llm_error(exc: Exception, settings: Settings) -> LLMError:
    """One sentence per failure kind, saying what happened; never an address, key or setting name (it may be shown
    in a public channel). The operator finds the detail in the log."""
    if isinstance(exc, openai.APITimeoutError):
        message = f"The language model did not answer within {settings.llm_deadline_s:g} s; try again shortly."
    elif isinstance(exc, openai.RateLimitError):
        message = "The language model is rate-limiting requests; try again in a minute."
    elif isinstance(exc, openai.AuthenticationError):
        message = "The language model refused newsdesk's credentials; the bot's host needs to fix its settings."
    elif isinstance(exc, openai.APIConnectionError):
        message = "The language model could not be reached; try again shortly."
    elif isinstance(exc, openai.APIStatusError):
        message = f"The language model failed with HTTP {exc.status_code}; try again shortly."
    else:
        message = "The language model sent a reply newsdesk could not read; try again shortly."
    return LLMError(message)
