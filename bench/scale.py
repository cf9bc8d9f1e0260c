"""One scale point, run in its own process so its peak memory is its own: `python -m bench.scale N DATA MODEL`.

The corpus is N passages made from the SQuAD passages newsdesk indexed, repeated with small random perturbations
of their real embeddings (and a numbered suffix on their text), so 100k passages do not need 100k embeddings.
Prints one JSON line: retrieval p50/p95 and peak RSS.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from bench.measure import peak_rss_mb, percentiles
from retrieval.ingest.records import StagedArticle
from retrieval.knowledge_base import Services
from retrieval.settings import Settings
from retrieval.store import COLLECTION_PREFIX, open_collection
from retrieval.types import Article, Chunk

PER_ARTICLE = 10
SCALE_KB = "bench-scale"


def build(services: Services, source_kb: str, n: int) -> None:
    """Write `n` perturbed copies of `source_kb`'s passages into the scale knowledge base, records included."""
    source = open_collection(services.client, source_kb, services.embedder.name, create=False)
    passages = {c.chunk_id: c.text for c in services.records.chunks(source_kb)}  # Chroma keeps no text
    got = source.get(ids=list(passages), include=["embeddings"])
    vectors = np.asarray(got["embeddings"], dtype=np.float32)
    texts = [passages[cid] for cid in got["ids"]]
    rng = np.random.default_rng(0)
    collection = open_collection(services.client, SCALE_KB, services.embedder.name, create=True)
    for start in range(0, n, 1000):
        ids = range(start, min(n, start + 1000))
        base = np.array([i % len(texts) for i in ids])
        noisy = vectors[base] + rng.normal(0, 0.01, (len(base), vectors.shape[1])).astype(np.float32)
        noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
        staged = []
        for a in range(0, len(base), PER_ARTICLE):
            article = Article(title=f"Synthetic {start + a}", text="-", outlet="Bench")
            chunks = [
                Chunk(f"s{start + a + j}", article.id, j, f"{texts[base[a + j]]} ({start + a + j})", article.title)
                for j in range(min(PER_ARTICLE, len(base) - a))
            ]
            staged.append(StagedArticle(article, article.content_hash, chunks, []))
        collection.upsert(
            ids=[c.chunk_id for s in staged for c in s.chunks],
            embeddings=noisy,
            metadatas=[{"article_id": s.article.id} for s in staged for _ in s.chunks],
        )
        services.records.commit_articles(SCALE_KB, staged)


def main() -> None:
    n, data_dir, model_dir, questions_file, source_kb = sys.argv[1:6]
    questions = json.loads(Path(questions_file).read_text())
    services = Services(Settings(_env_file=None, data_dir=Path(data_dir), model_dir=Path(model_dir)))
    try:
        build(services, source_kb, int(n))
        kb = services.kb(SCALE_KB)
        kb.search(questions[0])  # builds the BM25 index once, as a long-running bot would
        latencies = []
        for q in questions:
            start = time.perf_counter()
            kb.search(q, 10)
            latencies.append((time.perf_counter() - start) * 1000)
    finally:
        services.client.delete_collection(COLLECTION_PREFIX + SCALE_KB)
        services.records.drop_kb(SCALE_KB)
        shutil.rmtree(services.settings.bm25_dir / SCALE_KB, ignore_errors=True)  # its saved BM25 index
    print(json.dumps({"chunks": int(n), "query_ms": percentiles(latencies), "peak_rss_mb": peak_rss_mb()}))


if __name__ == "__main__":
    main()
