"""The answer chain (LCEL): question -> standalone query -> hybrid retrieval -> numbered sources -> answerer ->
citation check -> `Answer`.

Both answerers are Runnables in the same chain: the extractive one (offline default) and ChatOpenAI (when an API key
or base URL is configured). Refusals are decided before the answerer runs, from how relevant retrieval was.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import Runnable, RunnableBranch, RunnableLambda, RunnablePassthrough

import prompts
from retrieval.answer import citation_checker
from retrieval.answer.citations import SUPPORTED
from retrieval.answer.compose import answer_spans, checked_answer, refusal, relevant_sources
from retrieval.answer.extractive import ExtractiveAnswerer
from retrieval.answer.sources import format_sources, number_sources
from retrieval.errors import BadInputError, LLMError
from retrieval.knowledge_base import KnowledgeBase
from retrieval.search import Filters
from retrieval.settings import Settings
from retrieval.types import Answer, SearchHit

log = logging.getLogger(__name__)

HISTORY_TURNS = 10
OFFLINE_NOTICE = "The language model was unavailable, so this answer was composed offline from the articles."


@dataclass(frozen=True)
class Turn:
    role: str  # "user" or "assistant"
    text: str


@dataclass(frozen=True)
class Partial:
    """A streamed, not yet checked draft: shown while the LLM writes, replaced by the final `Answer`."""

    text: str


def _timed(name: str, step: Callable[[dict], Any]) -> Runnable:
    def run(x: dict) -> Any:
        start = time.perf_counter()
        try:
            return step(x)
        finally:
            x["timings"][name] = (time.perf_counter() - start) * 1000

    return RunnableLambda(run, name=name)


class AnswerService:
    """Answers questions from one knowledge base. Build one per knowledge base and reuse it."""

    def __init__(self, settings: Settings, kb: KnowledgeBase, chat_model: BaseChatModel | None = None) -> None:
        self._settings = settings
        self._kb = kb
        self._embedder = kb.embedder
        self._llm = chat_model
        self.mode = "llm" if chat_model is not None else "extractive"
        self._checker = citation_checker(settings, kb.reader, chat_model)
        self._extractive = ExtractiveAnswerer(self._embedder, kb.reader)
        self._prepare = self._prepare_chain()
        offline = RunnableLambda(lambda x: self._extractive.draft(x["question"], x["sources"]), name="extractive")
        self._draft = self._llm_draft() if chat_model is not None else offline
        self._chain = self._build_chain(self._draft)
        # When the LLM fails, the same chain with the offline answerer (NEWSDESK_LLM_FALLBACK=offline).
        self._offline_chain = self._build_chain(offline)

    # --- chain -------------------------------------------------------------------------------------------------

    def _llm_draft(self) -> Runnable:
        from retrieval.answer.llm import with_malformed_retry  # openai costs ~0.8 s to import: only when used

        return (
            RunnableLambda(lambda x: {"question": x["question"], "sources": format_sources(x["sources"])})
            | prompts.load(prompts.ANSWER)
            | with_malformed_retry(self._llm, self._settings)
            | StrOutputParser()
        )

    def _build_chain(self, draft: Runnable) -> Runnable:
        answer = RunnableBranch(
            (lambda x: not x["sources"], RunnableLambda(self._refusal)),
            RunnablePassthrough.assign(draft=_timed("answer", draft.invoke)) | RunnableLambda(self._finish),
        )
        return self._prepare | answer

    def _prepare_chain(self) -> Runnable:
        """The steps before the answerer; streaming runs them, then streams the answerer on its own."""
        return (
            RunnablePassthrough.assign(query=RunnableLambda(self._standalone_query))
            | RunnablePassthrough.assign(hits=_timed("retrieve", self._retrieve))
            | RunnablePassthrough.assign(sources=RunnableLambda(lambda x: relevant_sources(x["hits"])))
        )

    def _standalone_query(self, x: dict) -> str:
        history: list[Turn] = x["history"]
        if not history:
            return x["question"]
        if x["mode"] == "extractive":
            # Offline, a follow-up borrows the words of the previous question ("what did the company say?").
            previous = next((t.text for t in reversed(history) if t.role == "user"), "")
            return f"{previous} {x['question']}".strip()
        conversation = "\n".join(f"{t.role}: {t.text}" for t in history)
        chain = prompts.load(prompts.CONDENSE) | self._llm | StrOutputParser()
        return chain.invoke({"history": conversation, "question": x["question"]}).strip() or x["question"]

    def _retrieve(self, x: dict) -> list[SearchHit]:
        return self._kb.search(x["query"], x["k"], x["filters"], rerank=True)

    def _refusal(self, x: dict) -> Answer:
        return refusal(x["question"], x["mode"], x["hits"], x["timings"])

    def _finish(self, x: dict) -> Answer:
        answer = checked_answer(self._checker, x["question"], x["draft"], x["sources"], x["mode"], x["timings"])
        if answer.grounded:
            answer.answer_spans = answer_spans(self._kb.reader, x["question"], answer.answer)
        return answer

    # --- public API --------------------------------------------------------------------------------------------

    def _inputs(self, question: str, history: list[Turn] | None, k: int | None, filters: Filters | None = None) -> dict:
        question = " ".join(question.split())
        if not question:
            raise BadInputError("Ask a question, for example: why did Canada ban Hikvision?")
        if len(question) > self._settings.max_question_chars:
            raise BadInputError(
                f"Questions are limited to {self._settings.max_question_chars} characters; please shorten it."
            )
        return {
            "question": question,
            "history": (history or [])[-HISTORY_TURNS:],
            "k": k or self._settings.top_k,
            "filters": filters,
            "timings": {},
            "mode": self.mode,
        }

    def _fall_back(self, exc: Exception, inputs: dict) -> Answer:
        """The offline answer after an LLM failure, when the operator allows it; else the failure as one sentence."""
        error = exc if isinstance(exc, LLMError) else _as_llm_error(exc, self._settings)
        log.warning("LLM call failed: %r", exc)
        if self._settings.llm_fallback != "offline":
            raise error from exc
        answer: Answer = self._offline_chain.invoke({**inputs, "timings": {}, "mode": "extractive"})
        answer.notice = OFFLINE_NOTICE
        return answer

    def ask(
        self, question: str, history: list[Turn] | None = None, k: int | None = None, filters: Filters | None = None
    ) -> Answer:
        """`filters` narrow what is searched; the news yardstick asks with a question's gold articles excluded."""
        inputs = self._inputs(question, history, k, filters)
        start = time.perf_counter()
        try:
            answer: Answer = self._chain.invoke(inputs)
        except Exception as exc:
            if self._llm is None or not (isinstance(exc, LLMError) or _is_llm_failure(exc)):
                raise
            answer = self._fall_back(exc, inputs)
        answer.timings_ms["total"] = (time.perf_counter() - start) * 1000
        return answer

    def check_claim(self, claim: str) -> Answer:
        """Is `claim` (a sentence someone posted) backed by the knowledge base? The verifier reads it against the
        passages search finds; the answer names the supporting sources, or says that none was found."""
        inputs = self._inputs(claim, None, None)
        hits = self._kb.search(inputs["question"], inputs["k"], rerank=True)
        sources = number_sources(hits)
        scores = self._checker.support_scores([(inputs["question"], s.sentences) for s in sources])
        backing = [(s, s.sentences[i]) for s, (p, i) in zip(sources, scores, strict=True) if p >= SUPPORTED]
        if not backing:
            answer = refusal(f"check: {inputs['question']}", self.mode, hits, {})
            answer.answer = "No source found: nothing in this knowledge base supports that."
            return answer
        citations = [source.citation(n, quote) for n, (source, quote) in enumerate(backing, start=1)]
        markers = "".join(f"[{c.n}]" for c in citations)
        return Answer(
            question=f"check: {inputs['question']}",
            answer=f"Supported by {markers}.",
            grounded=True,
            mode=self.mode,
            citations=citations,
        )

    async def astream(
        self, question: str, history: list[Turn] | None = None, k: int | None = None
    ) -> AsyncIterator[Partial | Answer]:
        """Yield growing `Partial` drafts while the LLM writes, then the checked `Answer` (offline: just the answer)."""
        if self._llm is None:
            yield await asyncio.to_thread(self.ask, question, history, k)
            return
        inputs = self._inputs(question, history, k)
        start = time.perf_counter()
        try:
            x = await self._prepare.ainvoke(inputs)
            if not x["sources"]:
                yield self._refusal(x)
                return
            draft = ""
            answer_start = time.perf_counter()
            async for piece in self._draft.astream(x):
                draft += piece
                yield Partial(draft)
            x["timings"]["answer"] = (time.perf_counter() - answer_start) * 1000
        except Exception as exc:
            if not (isinstance(exc, LLMError) or _is_llm_failure(exc)):
                raise
            yield await asyncio.to_thread(self._fall_back, exc, inputs)
            return
        answer = await asyncio.to_thread(self._finish, {**x, "draft": draft})  # embeddings: keep the loop free
        answer.timings_ms["total"] = (time.perf_counter() - start) * 1000
        yield answer


def _is_llm_failure(exc: Exception) -> bool:
    from retrieval.answer.llm import MALFORMED, openai

    return isinstance(exc, (openai.OpenAIError, *MALFORMED))


def _as_llm_error(exc: Exception, settings: Settings) -> LLMError:
    from retrieval.answer.llm import as_llm_error

    return as_llm_error(exc, settings)
