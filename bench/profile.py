"""Where an offline answer's time goes, stage by stage: `python -m bench.profile [--articles N] [--questions N]`.

Each stage is timed exclusively (a stage's own time, not that of the stages it calls), by wrapping the functions
that do the work for the duration of the run, so the product code carries no timers. The reader's model time and
its tokenising are attributed to the stage that asked for them (search, answer choice, spans, check), which is what
tells a cache or a shorter input where it would pay. The textbook LangChain pipeline's query runs on the same
articles in the same process, so its p50 is the yardstick the issue's ratios use.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SQUAD = ROOT.parent / "shared" / "data" / "squad-v1.1-dev.json"


class StageClock:
    """Exclusive wall time per stage; the innermost active stage owns the clock."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)
        self._stack: list[tuple[str, float]] = []

    def outer(self) -> str:
        """The stage that asked for the current work (the reader is timed per asker)."""
        names = [n for n, _ in self._stack if not n.startswith(("reader", "tokenise"))]
        return names[-1] if names else "other"

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        now = time.perf_counter()
        if self._stack:
            parent, since = self._stack[-1]
            self.totals[parent] += now - since
        self._stack.append((name, now))
        try:
            yield
        finally:
            end = time.perf_counter()
            done, since = self._stack.pop()
            self.totals[done] += end - since
            if self._stack:
                self._stack[-1] = (self._stack[-1][0], end)


def _wrap(clock: StageClock, owner: object, attribute: str, name: str | Callable[[], str]) -> None:
    """Time `owner.attribute` as stage `name`, also where modules imported the function by name."""
    original = getattr(owner, attribute)

    @functools.wraps(original)
    def timed(*args, **kwargs):
        with clock.stage(name() if callable(name) else name):
            return original(*args, **kwargs)

    setattr(owner, attribute, timed)
    for module in list(sys.modules.values()):
        if module is not owner and getattr(module, attribute, None) is original:
            setattr(module, attribute, timed)


class _TimedTokenizer:
    """Stands in for a reader's tokenizer so its encoding time is counted apart from the model's."""

    def __init__(self, clock: StageClock, tokenizer: object) -> None:
        self._clock, self._tokenizer = clock, tokenizer

    def encode_batch(self, *args, **kwargs):
        with self._clock.stage(f"tokenise ({self._clock.outer()})"):
            return self._tokenizer.encode_batch(*args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._tokenizer, name)


def instrument(clock: StageClock, reader: object, embedder: object) -> None:
    from chromadb.api.models.Collection import Collection

    from retrieval import search
    from retrieval.answer import streaming
    from retrieval.answer.citations import SentenceCheck
    from retrieval.answer.extractive import ExtractiveAnswerer
    from retrieval.embeddings.model import Embedder
    from retrieval.reader import model

    _wrap(clock, search.HybridSearcher, "search", "search (rest)")
    _wrap(clock, Embedder, "embed", "embed")
    _wrap(clock, Collection, "query", "chroma")
    _wrap(clock, search._LexicalIndex, "rank", "bm25")
    _wrap(clock, search, "_fuse", "fusion")
    _wrap(clock, search, "_read_with_question", "search reader")
    _wrap(clock, ExtractiveAnswerer, "draft", "answer choice")
    _wrap(clock, SentenceCheck, "add", "check")  # the chain checks sentence by sentence
    _wrap(clock, streaming, "answer_spans", "spans")  # where the chain calls it
    _wrap(clock, model.Reader, "_run_model", lambda: f"reader ({clock.outer()})")
    reader._tokenizer = _TimedTokenizer(clock, reader._tokenizer)
    embedder._tokenizer = _TimedTokenizer(clock, embedder._tokenizer)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def profile(squad: Path, data_dir: Path, n_articles: int, n_questions: int, repeats: int) -> dict:
    from bench.naive import NaivePipeline, prepare_chroma_model
    from retrieval.answer.chain import AnswerService
    from retrieval.evaluation import load_squad, sample
    from retrieval.knowledge_base import Services
    from retrieval.settings import Settings

    base = Settings(_env_file=None)
    settings = base.model_copy(update={"data_dir": data_dir, "model_dir": base.model_cache_dir})
    data = load_squad(squad)
    articles = data.articles[:n_articles]
    ids = {a.id for a in articles}
    questions = [q.question for q in sample([q for q in data.questions if q.gold_article_ids[0] in ids], n_questions)]

    services = Services(settings)
    kb = services.kb("profile")
    kb.ingest_articles(articles)
    naive = NaivePipeline(prepare_chroma_model(settings.model_cache_dir))
    naive.ingest(articles)
    service = AnswerService(settings, kb)
    service.ask(questions[0])  # loads the reader and builds the BM25 index, as a running bot has

    clock = StageClock()
    instrument(clock, services.reader, services.embedder)
    runs = []
    for _ in range(repeats):
        textbook, search_ms, ask_ms = [], [], []
        clock.totals.clear()
        for q in questions:
            start = time.perf_counter()
            naive.dense(q, 4)
            textbook.append((time.perf_counter() - start) * 1000)
        for q in questions:  # search with the reader from cold reader caches, as a new question is
            services.reader.forget()
            start = time.perf_counter()
            kb.search(q, 6, rerank=True)
            search_ms.append((time.perf_counter() - start) * 1000)
        clock.totals.clear()
        for q in questions:
            services.reader.forget()
            start = time.perf_counter()
            with clock.stage("answer (rest)"):
                service.ask(q)
            ask_ms.append((time.perf_counter() - start) * 1000)
        total = sum(clock.totals.values())
        textbook_p50 = statistics.median(textbook)
        runs.append(
            {
                "textbook_query_ms": {"p50": _percentile(textbook, 0.5), "p95": _percentile(textbook, 0.95)},
                "search_reader_ms": {"p50": _percentile(search_ms, 0.5), "p95": _percentile(search_ms, 0.95)},
                "ask_ms": {"p50": _percentile(ask_ms, 0.5), "p95": _percentile(ask_ms, 0.95)},
                "search_reader_over_textbook": round(statistics.median(search_ms) / textbook_p50, 2),
                "ask_over_textbook": round(statistics.median(ask_ms) / textbook_p50, 2),
                "stages_ms_per_question": {
                    name: round(seconds * 1000 / len(questions), 2)
                    for name, seconds in sorted(clock.totals.items(), key=lambda kv: -kv[1])
                },
                "stage_share": {name: round(seconds / total, 3) for name, seconds in clock.totals.items()},
            }
        )
    services.close()
    return {"articles": n_articles, "questions": len(questions), "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=SQUAD)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/newsdesk-profile"))
    parser.add_argument("--articles", type=int, default=6)
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print(json.dumps(profile(args.squad, args.data_dir, args.articles, args.questions, args.repeats), indent=1))


if __name__ == "__main__":
    main()
