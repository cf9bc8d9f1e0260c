"""The benchmark: newsdesk next to the naive LangChain pipeline, same machine, same corpus, same questions.

It never fails on speed; it measures and writes `bench/results.json`, `docs/BENCHMARKS.md` and `docs/bench.png`.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

from bench.measure import peak_rss_mb, percentiles, recall_within_budget, timed
from bench.naive import NaivePipeline, prepare_chroma_model
from retrieval.embeddings import get_embedder
from retrieval.evaluation import load_squad, sample
from retrieval.knowledge_base import Services
from retrieval.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
KS = (1, 4, 10)
BUDGET = 4000
ASKED = 100  # questions `ask` answers in the warm measurement (each costs what search with the reader costs, and more)
Log = Callable[[str], None]


def machine() -> dict[str, object]:
    packages = ("chromadb", "langchain-core", "langchain-chroma", "onnxruntime", "bm25s", "discord.py")
    return {
        "platform": platform.platform(),
        "processor": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "packages": {p: version(p) for p in packages},
    }


def _ingest(settings: Settings, articles: list, questions: list[str], log: Log) -> dict[str, object]:
    services = Services(settings)
    kb = services.kb("bench")
    report, first = timed(lambda: kb.ingest_articles(articles))
    again, second = timed(lambda: kb.ingest_articles(articles))
    log(f"newsdesk ingest: {report.chunks_embedded} passages in {first:.1f} s; re-ingest {second * 1000:.0f} ms")
    # The limit: the same passages through the model alone, with no chunking, store or records around it.
    texts = [c.indexed_text for c in services.records.chunks("bench")]
    embedder = services.embedder
    _, raw = timed(lambda: embedder.embed_bulk(texts))
    # A second round in the other order, the model alone and then a fresh knowledge base: on a shared machine the
    # load drifts over the minutes a round takes, and one ingest-then-model pair reads that drift as overhead. The
    # ratio is the two rounds' mean. Both sides embed without the embedder's cache (`embed_bulk`).
    _, raw_again = timed(lambda: embedder.embed_bulk(texts))
    _, first_again = timed(lambda: services.kb("bench-again").ingest_articles(articles))
    services.drop_kb("bench-again")
    rounds = [raw / first, raw_again / first_again]
    log(f"ingest / raw embedding, two rounds in turn: {rounds[0]:.3f}, {rounds[1]:.3f}")
    # Distinct questions, so the embedder's cache of recent texts cannot answer for the model.
    query_times = [timed(lambda q=q: embedder.embed_query(q))[1] * 1000 for q in questions[:100]]
    return {
        "services": services,
        "chunks": report.chunks_embedded,
        "ingest_s": round(first, 2),
        "ingest_chunks_per_s": round(report.chunks_embedded / first, 1),
        "reingest_s": round(second, 3),
        "reingest_embedded": again.chunks_embedded,
        "reingest_speedup": round(first / second, 1),
        "raw_embed_chunks_per_s": round(len(texts) / raw, 1),
        "ingest_fraction_rounds": [round(r, 3) for r in rounds],
        "ingest_fraction_of_raw": round(sum(rounds) / len(rounds), 3),
        "query_embed_ms": percentiles(query_times)["p50"],
    }


def squad_section(settings: Settings, squad: Path, n_questions: int, scale: list[int], log: Log) -> dict:
    data = load_squad(squad)
    questions = sample(data.questions, n_questions)
    ours = _ingest(settings, data.articles, [q.question for q in questions], log)
    services: Services = ours.pop("services")
    kb = services.kb("bench")
    ours["recall"], ours["query_ms"] = recall_within_budget(
        lambda q: [h.chunk.text for h in kb.search(q, max(KS))], questions, KS, BUDGET
    )
    recall, query_ms = recall_within_budget(
        lambda q: [h.chunk.text for h in kb.search(q, max(KS), rerank=True)], questions, KS, BUDGET
    )
    ours["reranked"] = {"recall": recall, "query_ms": query_ms}
    ours["ask_ms"] = warm_ask_ms(services, kb, [q.question for q in questions[:ASKED]])
    ours["asked"] = min(ASKED, len(questions))
    log(f"newsdesk ask (warm, offline) {ours['ask_ms']}")
    log(f"newsdesk recall {ours['recall']} query {ours['query_ms']}")

    naive = NaivePipeline(prepare_chroma_model(settings.model_cache_dir))
    chunks, seconds = timed(lambda: naive.ingest(data.articles))
    dense_recall, dense_ms = recall_within_budget(lambda q: naive.dense(q, max(KS)), questions, KS, BUDGET)
    bm25_recall, bm25_ms = recall_within_budget(lambda q: naive.lexical(q, max(KS)), questions, KS, BUDGET)
    baseline = {
        "chunks": chunks,
        "ingest_s": round(seconds, 2),
        "ingest_chunks_per_s": round(chunks / seconds, 1),
        "dense": {"recall": dense_recall, "query_ms": dense_ms},
        "bm25": {"recall": bm25_recall, "query_ms": bm25_ms},
    }
    log(f"naive dense {dense_recall} {dense_ms}; bm25 {bm25_recall}")

    points = []
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump([q.question for q in questions[:200]], f)
    for n in scale:
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.scale",
                str(n),
                str(settings.data_dir),
                str(settings.model_cache_dir),
                f.name,
                "bench",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        points.append(json.loads(out.stdout.strip().splitlines()[-1]))
        log(f"scale {n}: {points[-1]}")
    services.close()
    return {
        "dataset": "SQuAD v1.1 dev",
        "questions": len(questions),
        "budget_chars": BUDGET,
        "newsdesk": ours,
        "naive": baseline,
        "scale": points,
    }


def warm_ask_ms(services: Services, kb, questions: list[str]) -> dict[str, float]:
    """`ask` latency in a process that has answered before (models loaded, BM25 built), each question new to the
    reader: its readings of the questions searched above are forgotten first, as a new question finds none."""
    from retrieval.answer.chain import AnswerService

    service = AnswerService(services.settings, kb)
    service.ask(questions[0])
    latencies = []
    for question in questions:
        services.reader.forget()
        latencies.append(timed(lambda q=question: service.ask(q))[1] * 1000)
    return percentiles(latencies)


def cold_start(model_dir: Path, log: Log) -> dict[str, object]:
    """Seconds from process start to a printed answer for `newsdesk ask` on the sample corpus."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "NEWSDESK_DATA_DIR": tmp, "NEWSDESK_MODEL_DIR": str(model_dir)}
        command = [sys.executable, "-m", "cli"]
        subprocess.run(
            [*command, "ingest", str(ROOT / "examples" / "corpus")], env=env, cwd=ROOT, check=True, capture_output=True
        )
        runs = []
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run(
                [*command, "ask", "why did Canada ban Hikvision?"], env=env, cwd=ROOT, check=True, capture_output=True
            )
            runs.append(time.perf_counter() - start)
    result = {"ask_cold_start_s": round(sorted(runs)[1], 2), "runs_s": [round(r, 2) for r in runs]}
    log(f"cold start {result}")
    return result


def streaming(model_dir: Path, log: Log) -> dict[str, object]:
    """Time to the first checked sentence against a scripted LLM streaming at a realistic pace (bench/streaming.py),
    in its own process run from the repository root, where the scripted server is importable."""
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [sys.executable, "-m", "bench.streaming", tmp, str(model_dir)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    log(f"streaming {result}")
    return result


def run(settings: Settings, squad: Path, n_questions: int, scale: list[int], log: Log) -> dict[str, object]:
    """Everything measured in a fresh temporary data dir, so first-ingest numbers are first ingests."""
    get_embedder(settings.model_cache_dir)
    results: dict[str, object] = {"machine": machine(), "date": time.strftime("%Y-%m-%d")}
    if squad.exists():
        with tempfile.TemporaryDirectory() as tmp:
            fresh = settings.model_copy(update={"data_dir": Path(tmp), "model_dir": settings.model_cache_dir})
            results["squad"] = squad_section(fresh, squad, n_questions, scale, log)
    else:
        results["squad"] = None
        log(f"skipped the SQuAD comparison and scale points: {squad} not found")
    results["cold_start"] = cold_start(settings.model_cache_dir, log)
    results["streaming"] = streaming(settings.model_cache_dir, log)
    results["bench_peak_rss_mb"] = peak_rss_mb()
    return results
