"""The answer chain: one LCEL expression for every answer newsdesk gives (questions, streamed or not, summaries,
digests, claim checks), named step by step so that a LangSmith or other callback trace reads like the diagram in
docs/ARCHITECTURE.md:

    newsdesk = digest                                           (task "digest")
             | condense_question -> retrieve -> select_sources -> check_claim        (task "check")
                                                             -> refuse               (nothing relevant)
                                                             -> write -> verify_sentences  (ask, summary, article)

`write` is the LLM (ChatPromptTemplate: instructions in the system message, sources and question in the human one)
with the offline answerer as its fallback for LLM and transport failures only; `verify_sentences` checks each
sentence as soon as it is complete and streams only those that pass (streaming.py). An exception raised by
retrieval or checking propagates: it is a bug, not a reason to answer offline.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import (
    Runnable,
    RunnableBranch,
    RunnableConfig,
    RunnableGenerator,
    RunnableLambda,
    RunnablePassthrough,
    RunnableWithFallbacks,
)
from langchain_core.tracers.schemas import Run

import prompts
from retrieval.answer import citation_checker
from retrieval.answer.citations import SUPPORTED
from retrieval.answer.compose import refusal, relevant_sources
from retrieval.answer.drafts import digest_answer, lead_and_central, summary_sources
from retrieval.answer.extractive import ExtractiveAnswerer
from retrieval.answer.sources import format_sources, number_sources
from retrieval.answer.streaming import OfflineDraft, Verified, Verifier
from retrieval.errors import BadInputError
from retrieval.knowledge_base import KnowledgeBase
from retrieval.search import Filters
from retrieval.settings import Settings
from retrieval.types import Answer, SearchHit

log = logging.getLogger(__name__)

HISTORY_TURNS = 10


@dataclass(frozen=True)
class Turn:
    role: str  # "user" or "assistant"
    text: str


@dataclass(frozen=True)
class Partial:
    """The checked sentences of an answer so far, while the LLM writes the rest; the final `Answer` follows."""

    text: str


def _timed(name: str, step: Callable[[dict], Any]) -> Runnable:
    def run(x: dict) -> Any:
        start = time.perf_counter()
        try:
            return step(x)
        finally:
            x["timings"][name] = (time.perf_counter() - start) * 1000

    return RunnableLambda(run).with_config(run_name=name)


def _task(name: str) -> Callable[[dict], bool]:
    return lambda x: x["task"] == name


class NewsdeskChain:
    """The chain for one knowledge base. `runnable` takes the inputs `AnswerService` and `SummaryService` build."""

    def __init__(self, settings: Settings, kb: KnowledgeBase, chat_model: BaseChatModel | None = None) -> None:
        self._settings = settings
        self._kb = kb
        self._llm = chat_model
        self.checker = citation_checker(settings, kb.reader, chat_model)
        self._answerer = ExtractiveAnswerer(kb.embedder, kb.reader)
        # A summary spans its sources: no sentence is held back for its passage matching the topic less well.
        self._summariser = ExtractiveAnswerer(
            kb.embedder, kb.reader, max_sentences=5, threshold=0.0, follow_margin=math.inf
        )
        self.prepare = (
            RunnablePassthrough.assign(query=self._condense())
            | RunnablePassthrough.assign(hits=_timed("retrieve", self._retrieve))
            | RunnablePassthrough.assign(sources=RunnableLambda(self._sources).with_config(run_name="select_sources"))
        ).with_config(run_name="prepare")
        verify = RunnableGenerator(self._verify, self._averify, name="verify_sentences")
        answer = RunnableBranch(
            (_task("check"), RunnableLambda(self._claim_verdict).with_config(run_name="check_claim")),
            (lambda x: not x["sources"], RunnableLambda(self._refusal).with_config(run_name="refuse")),
            RunnablePassthrough.assign(draft=self._writer()) | verify,
        ).with_config(run_name="answer")
        self.runnable: Runnable = RunnableBranch(
            (_task("digest"), RunnableLambda(self._digest).with_config(run_name="digest")),
            self.prepare | answer,
        ).with_config(run_name="newsdesk")

    # --- the LLM steps, each with the offline step as its fallback ---------------------------------------------

    def _with_fallback(self, llm_step: Runnable, offline: Runnable, name: str) -> Runnable:
        """`llm_step`, or `offline` when the LLM or its transport fails and the operator allows it
        (NEWSDESK_LLM_FALLBACK=offline). Nothing else is caught: other exceptions are bugs and propagate."""
        offline = offline.with_config(run_name=f"{name}_offline")
        if self._llm is None:
            return offline
        llm_step = llm_step.with_config(run_name=f"{name}_llm")
        if self._settings.llm_fallback != "offline":
            return llm_step
        from retrieval.answer.llm import LLM_FAILURES

        # The operator learns from the log why an answer came from the offline answerer (the member is not told).
        llm_step = llm_step.with_listeners(on_error=_log_llm_failure)

        # What `llm_step.with_fallbacks(...)` builds, named at construction: a run name given with `with_config`
        # would be inherited by both of its children in `invoke`, hiding which one ran.
        return RunnableWithFallbacks(
            runnable=llm_step, fallbacks=[offline], exceptions_to_handle=LLM_FAILURES, name=name
        )

    def _model(self) -> Runnable:
        from retrieval.answer.llm import with_malformed_retry  # openai costs ~0.8 s to import: only when used

        assert self._llm is not None
        return with_malformed_retry(self._llm, self._settings)

    def _condense(self) -> Runnable:
        """A follow-up as a standalone search query. Offline, it borrows the previous question's words ("what did
        the company say?")."""
        llm = None
        if self._llm is not None:
            llm = (
                RunnableLambda(lambda x: {"history": _conversation(x["history"]), "question": x["question"]})
                | prompts.load_chat(prompts.CONDENSE)
                | self._model()
                | RunnableLambda(lambda query: query.strip())
            )
        offline = RunnableLambda(_borrowed_words)
        return RunnableBranch(
            (lambda x: not x["history"], RunnableLambda(lambda x: x["question"]).with_config(run_name="no_history")),
            self._with_fallback(llm or offline, offline, "condense_question"),
        ).with_config(run_name="condense_question")

    def _writer(self) -> Runnable:
        """The draft of an answer or a summary: the LLM's words as it writes them, or the offline answerer's."""
        offline = RunnableLambda(self._offline_draft)
        if self._llm is None:
            return self._with_fallback(offline, offline, "write")
        model = self._model()
        answer = (
            RunnableLambda(lambda x: {"question": x["question"], "sources": format_sources(x["sources"])})
            | prompts.load_chat(prompts.ANSWER)
            | model
        )
        mapper = prompts.load_chat(prompts.MAP) | model
        summary = (
            RunnableLambda(
                lambda x, config: {
                    "topic": x["question"],
                    "sources": summary_sources(mapper, x["question"], x["sources"], config),
                }
            ).with_config(run_name="map_sources")
            | prompts.load_chat(prompts.SUMMARY)
            | model
        )
        llm = RunnableBranch((_task("ask"), answer), summary)
        return self._with_fallback(llm, offline, "write")

    def _offline_draft(self, x: dict) -> OfflineDraft:
        if x["task"] == "article":
            return OfflineDraft(lead_and_central(self._kb.embedder, x["sources"]))
        answerer = self._answerer if x["task"] == "ask" else self._summariser
        return OfflineDraft(answerer.draft(x["question"], x["sources"]))

    # --- the other steps ---------------------------------------------------------------------------------------

    def _retrieve(self, x: dict) -> list[SearchHit]:
        if x["task"] == "article":
            return x["hits"]  # the article's own passages, found by SummaryService
        return self._kb.search(x["query"], x["k"], x["filters"], rerank=x["rerank"])

    def _sources(self, x: dict) -> list:
        return number_sources(x["hits"]) if x["task"] in ("check", "article") else relevant_sources(x["hits"])

    def _refusal(self, x: dict) -> Verified:
        answer = refusal(x["label"], x["mode"], x["hits"], x["timings"])
        return Verified(answer.answer, answer)

    def _claim_verdict(self, x: dict) -> Verified:
        """Which sources back the claim: the verifier reads it against every passage found."""
        sources = x["sources"]
        scores = self.checker.support_scores([(x["question"], s.sentences) for s in sources])
        backing = [(s, s.sentences[i]) for s, (p, i) in zip(sources, scores, strict=True) if p >= SUPPORTED]
        if not backing:
            answer = refusal(x["label"], x["mode"], x["hits"], x["timings"])
            answer.answer = "No source found: nothing in this knowledge base supports that."
            return Verified(answer.answer, answer)
        citations = [source.citation(n, quote) for n, (source, quote) in enumerate(backing, start=1)]
        markers = "".join(f"[{c.n}]" for c in citations)
        answer = Answer(
            question=x["label"], answer=f"Supported by {markers}.", grounded=True, mode=x["mode"], citations=citations
        )
        return Verified(answer.answer, answer)

    def _digest(self, x: dict) -> Verified:
        answer = digest_answer(self._kb, x["since"], x["mode"])
        return Verified(answer.answer, answer)

    def _verify(self, chunks: Iterator[dict]) -> Iterator[Verified]:
        verifier = Verifier(self.checker, self._kb.reader)
        for chunk in chunks:
            if (update := verifier.take(chunk)) is not None:
                yield update
        yield verifier.finish()

    async def _averify(self, chunks: AsyncIterator[dict]) -> AsyncIterator[Verified]:
        verifier = Verifier(self.checker, self._kb.reader)
        async for chunk in chunks:
            # The verifier and the judge block (ONNX, a sync LLM call): in a thread, the event loop stays free.
            if (update := await asyncio.to_thread(verifier.take, chunk)) is not None:
                yield update
        yield await asyncio.to_thread(verifier.finish)


def _conversation(history: list[Turn]) -> str:
    return "\n".join(f"{t.role}: {t.text}" for t in history)


def _borrowed_words(x: dict) -> str:
    previous = next((t.text for t in reversed(x["history"]) if t.role == "user"), "")
    return f"{previous} {x['question']}".strip()


def inputs(task: str, question: str, settings: Settings, mode: str, **fields: Any) -> dict:
    """The chain's input for one task; `fields` override the defaults (history, k, filters, rerank, hits...)."""
    return {
        "task": task,
        "question": question,
        "label": question,
        "history": [],
        "k": settings.top_k,
        "filters": None,
        "rerank": True,
        "timings": {},
        "mode": mode,
        **fields,
    }


def llm_failures(chat_model: BaseChatModel | None) -> tuple[type[Exception], ...]:
    """The exceptions that mean the LLM failed; none without an LLM (and openai is then never imported)."""
    if chat_model is None:
        return ()
    from retrieval.answer.llm import LLM_FAILURES

    return LLM_FAILURES


def _log_llm_failure(run: Run) -> None:
    reason = (run.error or "unknown error").strip().splitlines()[0]
    log.warning("LLM step %s failed: %s", run.name, reason)


def _as_llm_error(exc: Exception, settings: Settings) -> Exception:
    from retrieval.answer.llm import as_llm_error

    log.warning("LLM call failed: %r", exc)
    return as_llm_error(exc, settings)


def answer_of(run: Callable[[], Verified], settings: Settings, failures: tuple[type[Exception], ...]) -> Answer:
    """The finished answer of one chain run; an LLM failure (`failures`) the fallback did not handle becomes one
    sentence, anything else propagates as it is."""
    start = time.perf_counter()
    try:
        result = run()
    except failures as exc:
        raise _as_llm_error(exc, settings) from exc
    assert result.answer is not None, "a chain run always ends with the finished answer"
    result.answer.timings_ms["total"] = (time.perf_counter() - start) * 1000
    return result.answer


class AnswerService:
    """Answers questions from one knowledge base. Build one per knowledge base and reuse it."""

    def __init__(self, settings: Settings, kb: KnowledgeBase, chat_model: BaseChatModel | None = None) -> None:
        self._settings = settings
        self._kb = kb
        self._llm = chat_model
        self.mode = "llm" if chat_model is not None else "extractive"
        self._chain = NewsdeskChain(settings, kb, chat_model)
        self._checker = self._chain.checker
        self._failures = llm_failures(chat_model)

    def _inputs(
        self, question: str, history: list[Turn] | None, k: int | None, filters: Filters | None = None, **fields: Any
    ) -> dict:
        question = " ".join(question.split())
        if not question:
            raise BadInputError("Ask a question, for example: why did Canada ban Hikvision?")
        if len(question) > self._settings.max_question_chars:
            raise BadInputError(
                f"Questions are limited to {self._settings.max_question_chars} characters; please shorten it."
            )
        return inputs(
            "ask",
            question,
            self._settings,
            self.mode,
            history=(history or [])[-HISTORY_TURNS:],
            k=k or self._settings.top_k,
            filters=filters,
            **fields,
        )

    def ask(
        self,
        question: str,
        history: list[Turn] | None = None,
        k: int | None = None,
        filters: Filters | None = None,
        config: RunnableConfig | None = None,
    ) -> Answer:
        """`filters` narrow what is searched; the news yardstick asks with a question's gold articles excluded.
        `config` reaches every step (callbacks, tags)."""
        x = self._inputs(question, history, k, filters)
        return answer_of(lambda: self._chain.runnable.invoke(x, config), self._settings, self._failures)

    def check_claim(self, claim: str, config: RunnableConfig | None = None) -> Answer:
        """Is `claim` (a sentence someone posted) backed by the knowledge base? The verifier reads it against the
        passages search finds; the answer names the supporting sources, or says that none was found."""
        x = self._inputs(claim, None, None)
        x.update(task="check", label=f"check: {x['question']}")
        return answer_of(lambda: self._chain.runnable.invoke(x, config), self._settings, self._failures)

    async def astream(
        self, question: str, history: list[Turn] | None = None, k: int | None = None
    ) -> AsyncIterator[Partial | Answer]:
        """The chain's own stream: `Partial`s holding only checked sentences while the LLM writes, then the
        `Answer` (exactly the last `Partial`'s text when the answer is grounded). Offline, just the answer."""
        x = self._inputs(question, history, k)
        start = time.perf_counter()
        try:
            async for update in self._chain.runnable.astream(x):
                if update.answer is None:
                    yield Partial(update.text)
                else:
                    update.answer.timings_ms["total"] = (time.perf_counter() - start) * 1000
                    yield update.answer
        except self._failures as exc:
            raise _as_llm_error(exc, self._settings) from exc
