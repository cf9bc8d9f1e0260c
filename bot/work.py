"""Fetching, parsing and indexing for every server, on a fixed number of worker threads, taken in turns.

Why not one shared thread pool: a pool serves jobs in arrival order, so a server that queues many slow jobs (or
whose background refresh and `/kb add` both hold a thread, one of them waiting on the other's write lock) delays
every other server. Here each server has its own first-in-first-out queue and runs one job at a time; a server
whose job finishes goes to the back of the line, so a job waits for at most one job of each server ahead of it.
A server's queue is bounded, and past it the member is told roughly how long to wait instead of piling up work.
The threads that answer questions (asyncio's default executor) are never used for this work.
"""

from __future__ import annotations

import asyncio
import contextvars
import math
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from retrieval.errors import NewsdeskError

T = TypeVar("T")
RECENT_JOBS = 20  # job durations kept per server (and overall) for the "try again in N minutes" estimate
UNKNOWN_JOB_S = 60.0  # assumed length of a job before any has finished


class Busy(NewsdeskError):
    """A server already has as many jobs waiting as it may; the message says roughly when to try again."""


@dataclass
class _Job:
    work: Callable[[], Any]
    context: contextvars.Context
    result: asyncio.Future


class FairScheduler:
    """Per-server queues served round-robin by `workers` threads; at most `queue_limit` jobs waiting per server."""

    def __init__(self, workers: int, queue_limit: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="newsdesk-ingest")
        self._workers = workers
        self._limit = queue_limit
        self._clock = clock
        self._waiting: dict[str, deque[_Job]] = {}
        self._turns: deque[str] = deque()  # servers with a job waiting and none running, in the order they go next
        self._running: set[str] = set()
        self._recent: dict[str, deque[float]] = {}

    def waiting(self, server: str) -> int:
        return len(self._waiting.get(server, ()))

    @property
    def waiting_everywhere(self) -> int:
        """Jobs waiting across all servers (the ingest queue gauge)."""
        return sum(len(queue) for queue in self._waiting.values())

    async def run(self, server: str, work: Callable[[], T]) -> T:
        """Run `work()` on a worker thread when it is `server`'s turn; `Busy` if the server's queue is full."""
        queue = self._waiting.setdefault(server, deque())
        if len(queue) >= self._limit:
            raise Busy(
                f"This server already has {len(queue)} knowledge-base jobs waiting; "
                f"try again in about {self.wait_minutes(server)} minutes."
            )
        # Like asyncio.to_thread, the worker sees the caller's context variables (log fields, traces).
        job = _Job(work, contextvars.copy_context(), asyncio.get_running_loop().create_future())
        queue.append(job)
        if server not in self._running and server not in self._turns:
            self._turns.append(server)
        self._dispatch()
        return await job.result  # cancelling the caller cancels this future; a queued job is then skipped

    def wait_minutes(self, server: str) -> int:
        """Roughly how long the server's queue takes to drain: jobs ahead × the length of its recent jobs."""
        durations = self._recent.get(server) or self._recent.get("") or [UNKNOWN_JOB_S]
        ahead = self.waiting(server) + (server in self._running)
        return max(1, math.ceil(ahead * (sum(durations) / len(durations)) / 60))

    def _dispatch(self) -> None:
        loop = asyncio.get_running_loop()
        while len(self._running) < self._workers and self._turns:
            server = self._turns.popleft()
            queue = self._waiting[server]
            while queue and queue[0].result.done():  # its caller gave up while it waited
                queue.popleft()
            if not queue:
                del self._waiting[server]
                continue
            job = queue.popleft()
            self._running.add(server)
            started = self._clock()
            running = loop.run_in_executor(self._pool, job.context.run, job.work)
            running.add_done_callback(lambda done, s=server, j=job, t=started: self._finished(s, j, t, done))

    def _finished(self, server: str, job: _Job, started: float, done: asyncio.Future) -> None:
        self._running.discard(server)
        for key in (server, ""):  # "" keeps the durations of every server, for servers with no history yet
            self._recent.setdefault(key, deque(maxlen=RECENT_JOBS)).append(self._clock() - started)
        if job.result.done():  # the caller gave up; nobody reads the outcome
            pass
        elif done.cancelled():
            job.result.cancel()
        elif done.exception() is not None:
            job.result.set_exception(done.exception())  # type: ignore[arg-type]
        else:
            job.result.set_result(done.result())
        if self._waiting.get(server):
            self._turns.append(server)  # to the back of the line: everyone waiting goes first
        else:
            self._waiting.pop(server, None)
        self._dispatch()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
