"""What the bot counts for Prometheus (served at /metrics by bot.health): questions, latency, LLM trouble, queues,
ingests.

Each bot owns its registry instead of prometheus-client's global one, so several bots in one process (tests, a
process running many shards' bots) never collide over metric names.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Concatenate, ParamSpec

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from retrieval.errors import BadInputError, LLMError
from retrieval.feeds import RefreshReport
from retrieval.logs import new_request_id, request_id
from retrieval.types import Answer, IngestReport

if TYPE_CHECKING:
    from bot.client import NewsdeskBot

log = logging.getLogger(__name__)
P = ParamSpec("P")
# From 0.1 s to a minute: offline and LLM answers both fall inside; the top buckets catch retries and timeouts.
LATENCY_BUCKETS_S = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)


class BotMetrics:
    """The bot's metrics, all in `self.registry`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.questions = Counter(
            "newsdesk_questions",
            "Questions by outcome: answered, refused (not in the sources), invalid (bad input) or failed.",
            ["outcome"],
            registry=r,
        )
        self.latency = Histogram(
            "newsdesk_answer_seconds",
            "Time from question to checked answer, by the mode that answered.",
            ["mode"],
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )
        self.llm_errors = Counter("newsdesk_llm_errors", "Questions on which the language model failed.", registry=r)
        self.llm_fallbacks = Counter(
            "newsdesk_llm_fallbacks",
            "LLM failures answered offline instead (NEWSDESK_LLM_FALLBACK=offline).",
            registry=r,
        )
        self.dropped = Counter(
            "newsdesk_citation_sentences_dropped",
            "Answer sentences removed because no source supported them.",
            registry=r,
        )
        self.queue = Gauge(
            "newsdesk_queue_depth",
            "Questions waiting for an answering slot; knowledge-base jobs queued or running.",
            ["queue"],
            registry=r,
        )
        self.ingest_jobs = Counter(
            "newsdesk_ingest_jobs",
            "Finished ingests: moderators' (/kb) and background feed refreshes.",
            ["kind"],
            registry=r,
        )
        self.articles = Counter(
            "newsdesk_articles", "Articles added, updated or failed, by ingest kind.", ["kind", "result"], registry=r
        )
        # Every series exists from the start, at 0: a rate over a counter that appears late misses its first step.
        for outcome in ("answered", "refused", "invalid", "failed"):
            self.questions.labels(outcome)
        for mode in ("offline", "llm"):
            self.latency.labels(mode)
        for kind in ("ingest", "feed_refresh"):
            self.ingest_jobs.labels(kind)
            for result in ("added", "updated", "failed"):
                self.articles.labels(kind, result)

    def watch_queues(self, questions: Callable[[], float], ingest: Callable[[], float]) -> None:
        """Read the queue depths at scrape time from the bot's limiters."""
        self.queue.labels("questions").set_function(questions)
        self.queue.labels("ingest").set_function(ingest)

    def answered(self, answer: Answer, seconds: float, *, llm_configured: bool) -> None:
        self.questions.labels("answered" if answer.grounded else "refused").inc()
        self.latency.labels("llm" if answer.mode == "llm" else "offline").observe(seconds)
        self.dropped.inc(answer.dropped_sentences)
        if llm_configured and answer.mode != "llm":  # the LLM failed and the offline answerer stood in
            self.llm_errors.inc()
            self.llm_fallbacks.inc()

    def failed(self, error: Exception) -> None:
        self.questions.labels("invalid" if isinstance(error, BadInputError) else "failed").inc()
        if isinstance(error, LLMError):
            self.llm_errors.inc()

    def ingested(self, report: IngestReport) -> None:
        kind = "feed_refresh" if isinstance(report, RefreshReport) else "ingest"
        self.ingest_jobs.labels(kind).inc()
        self.articles.labels(kind, "added").inc(report.added)
        self.articles.labels(kind, "updated").inc(report.updated)
        self.articles.labels(kind, "failed").inc(len(report.failed))


def observed(
    produce: Callable[Concatenate[NewsdeskBot, P], Awaitable[Answer]],
) -> Callable[Concatenate[NewsdeskBot, P], Awaitable[Answer]]:
    """Count and time every answer `produce` makes, under the question's request id (a new one if the caller set
    none), and log its outcome."""

    @functools.wraps(produce)
    async def counted(bot: NewsdeskBot, *args: P.args, **kwargs: P.kwargs) -> Answer:
        if request_id.get() is None:
            new_request_id()
        start = time.perf_counter()
        try:
            answer = await produce(bot, *args, **kwargs)
        except Exception as error:
            bot.metrics.failed(error)
            raise
        seconds = time.perf_counter() - start
        bot.metrics.answered(answer, seconds, llm_configured=bot.settings.llm_enabled)
        outcome = "answered" if answer.grounded else "refused"
        log.info("question %s in %.2f s (%s mode)", outcome, seconds, answer.mode)
        return answer

    return counted
