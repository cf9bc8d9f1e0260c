"""The LLM answerer: any OpenAI-compatible server through langchain-openai's ChatOpenAI.

The openai client retries timeouts, 429 (honouring Retry-After) and 5xx with exponential backoff; a reply that
cannot be read becomes `MalformedReply` and is retried by LangChain's `with_retry`. Whatever still fails becomes one
`LLMError` sentence: never half an answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import openai
from langchain_core.messages import BaseMessageChunk
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import Runnable, RunnableConfig, RunnableGenerator
from langchain_openai import ChatOpenAI

from retrieval.errors import LLMError
from retrieval.settings import Settings

# What langchain-openai and openai raise on a reply body they cannot parse (not JSON, no choices, a null field).
_UNPARSABLE = (ValueError, KeyError, TypeError, AttributeError, IndexError)


class MalformedReply(Exception):
    """The LLM answered, but with something that is not a chat reply. Raised only around the model call itself, so
    that a bug anywhere else in the chain is never mistaken for a failing LLM."""


# The failures that are the LLM's or the network's: the offline fallback and the one-sentence error handle these only.
LLM_FAILURES: tuple[type[Exception], ...] = (openai.OpenAIError, MalformedReply)


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


def _text(chunk: BaseMessageChunk) -> str:
    if not isinstance(chunk.content, str):
        raise MalformedReply(f"the reply's content is a {type(chunk.content).__name__}, not text")
    return chunk.content


def reply_text(model: Runnable) -> Runnable:
    """`model` as a streaming step from a prompt to the text of its reply, piece by piece.

    The prompt is taken whole before the model is called, so an error in the steps before it propagates as it is;
    only what the model call itself raises on an unreadable reply becomes `MalformedReply`."""

    def stream(prompts: Iterator[PromptValue], config: RunnableConfig) -> Iterator[str]:
        (prompt,) = prompts
        try:
            for chunk in model.stream(prompt, config):
                yield _text(chunk)
        except _UNPARSABLE as exc:
            raise MalformedReply(repr(exc)) from exc

    async def astream(prompts: AsyncIterator[PromptValue], config: RunnableConfig) -> AsyncIterator[str]:
        (prompt,) = [p async for p in prompts]
        try:
            async for chunk in model.astream(prompt, config):
                yield _text(chunk)
        except _UNPARSABLE as exc:
            raise MalformedReply(repr(exc)) from exc

    return RunnableGenerator(stream, astream, name="reply_text")


def with_malformed_retry(model: Runnable, settings: Settings) -> Runnable:
    """`reply_text(model)`, asked again when a whole reply could not be read (a stream is never restarted)."""
    return reply_text(model).with_retry(
        retry_if_exception_type=(MalformedReply,),
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
