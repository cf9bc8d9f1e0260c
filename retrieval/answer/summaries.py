"""Summaries of a topic or one article, and digests of what is new, in the same `Answer` shape as answers.

They run through the answer chain (chain.py) like questions do. Offline, summaries are extractive: an article's lead
sentence plus its most central sentences; a topic takes the sentences most related to the topic across the
retrieved articles. With an LLM, sources are summarised in one call, or map-reduced (each source summarised first)
when they are long. Every summary goes through the same sentence-by-sentence citation check as answers.
"""

from __future__ import annotations

from typing import Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig

from retrieval.answer.chain import NewsdeskChain, answer_of, inputs, llm_failures
from retrieval.errors import BadInputError
from retrieval.knowledge_base import KnowledgeBase
from retrieval.settings import Settings
from retrieval.types import Answer, SearchHit

TOPIC_PASSAGES = 8


class SummaryService:
    def __init__(self, settings: Settings, kb: KnowledgeBase, chat_model: BaseChatModel | None = None) -> None:
        self._settings = settings
        self._kb = kb
        self.mode: Literal["extractive", "llm"] = "llm" if chat_model is not None else "extractive"
        self._chain = NewsdeskChain(settings, kb, chat_model)
        self._failures = llm_failures(chat_model)

    def _run(self, x: dict, config: RunnableConfig | None) -> Answer:
        return answer_of(lambda: self._chain.runnable.invoke(x, config), self._settings, self._failures)

    def topic(self, topic: str, config: RunnableConfig | None = None) -> Answer:
        topic = " ".join(topic.split())
        if not topic:
            raise BadInputError("Name a topic to summarise, for example: Hikvision.")
        if len(topic) > self._settings.max_question_chars:
            raise BadInputError(f"Topics are limited to {self._settings.max_question_chars} characters; shorten it.")
        x = inputs(
            "summary", topic, self._settings, self.mode, label=f"summary: {topic}", k=TOPIC_PASSAGES, rerank=False
        )
        return self._run(x, config)

    def article(self, article_id_or_title: str, config: RunnableConfig | None = None) -> Answer:
        record, chunks = self._kb.article(article_id_or_title)
        hits = [SearchHit(rank=i + 1, score=1.0, chunk=c, article=record, similarity=1.0) for i, c in enumerate(chunks)]
        x = inputs("article", record.title, self._settings, self.mode, label=f"summary: {record.title}", hits=hits)
        return self._run(x, config)

    def digest(self, since: str = "7d", config: RunnableConfig | None = None) -> Answer:
        """One cited line per story new since `since`, grouped by publication day, newest first."""
        return self._run(inputs("digest", "", self._settings, self.mode, since=since), config)
