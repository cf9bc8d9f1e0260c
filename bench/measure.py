"""Small measuring helpers: timers, percentiles, recall within a budget, peak memory."""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from retrieval.evaluation import Question, contains_answer, percentiles, within_budget


def timed(func: Callable[[], object]) -> tuple[object, float]:
    start = time.perf_counter()
    result = func()
    return result, time.perf_counter() - start


def recall_within_budget(
    search: Callable[[str], list[str]], questions: Iterable[Question], ks: tuple[int, ...], budget: int
) -> tuple[dict[str, float], dict[str, float]]:
    """(recall@k, query latency percentiles), counting passages in rank order until `budget` characters."""
    hits = dict.fromkeys(ks, 0)
    latencies: list[float] = []
    for q in questions:
        start = time.perf_counter()
        passages = search(q.question)
        latencies.append((time.perf_counter() - start) * 1000)
        kept = within_budget(passages, budget)
        for k in ks:
            hits[k] += contains_answer(" ".join(kept[:k]), q.answers)
    n = max(1, len(latencies))
    return {str(k): round(v / n, 4) for k, v in hits.items()}, percentiles(latencies)


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB.

    Linux's VmHWM, not getrusage: ru_maxrss survives exec, so a child started by a large parent would report the
    parent's size.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)
