"""Measure the word 3-gram Jaccard of syndicated copies vs different passages (calibrates DUPLICATE_JACCARD).

Copies are simulated from the sample page the way agency reprints differ: a share of words replaced, one sentence
dropped, a byline added. Different passages come from the sample page and from paragraphs of one SQuAD article.
Usage: .venv/bin/python scripts/measure_duplicates.py [../shared/data/squad-v1.1-dev.json]
"""

import itertools
import json
import random
import re
import sys
from pathlib import Path

import numpy as np

from retrieval.embeddings import get_embedder
from retrieval.ingest.chunker import chunk_article
from retrieval.loaders import load_source
from retrieval.loaders.url import SafeFetcher
from retrieval.settings import Settings

WORD = re.compile(r"\w+")
FILLERS = ["the", "a", "said", "officials", "Monday", "reported"]


def jaccard(a: str, b: str) -> float:
    def grams(text: str) -> set[tuple[str, ...]]:
        words = WORD.findall(text.lower())
        return set(zip(words, words[1:], words[2:], strict=False))

    x, y = grams(a), grams(b)
    return len(x & y) / max(1, len(x | y))


def reprint(text: str, share: float, rng: random.Random) -> str:
    words = text.split()
    for i in rng.sample(range(len(words)), int(len(words) * share)):
        words[i] = rng.choice(FILLERS)
    sentences = re.split(r"(?<=\.) ", " ".join(words))
    if len(sentences) > 3:
        sentences.pop(rng.randrange(len(sentences)))
    return "By Staff Writer. " + " ".join(sentences)


def main() -> None:
    settings = Settings(_env_file=None)
    articles = load_source("examples/corpus", settings, SafeFetcher(settings)).articles
    counter = get_embedder(settings.model_cache_dir).count_tokens
    passages = [c.text for a in articles for c in chunk_article(a, counter, settings.chunk_tokens)]
    rng = random.Random(0)
    for share in (0.02, 0.05, 0.10):
        scores = [jaccard(p, reprint(p, share, rng)) for p in passages]
        print(
            f"copies, {share:.0%} of words changed + a sentence dropped: min {min(scores):.3f}, "
            f"median {np.median(scores):.3f}"
        )
    different = max(jaccard(a, b) for a, b in itertools.combinations(passages, 2))
    print(f"different passages of the sample page: max {different:.3f}")
    squad = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/squad-v1.1-dev.json")
    if squad.exists():
        same_topic = [
            jaccard(a, b)
            for entry in json.loads(squad.read_text())["data"]
            for a, b in itertools.combinations([p["context"] for p in entry["paragraphs"][:12]], 2)
        ]
        print(f"paragraphs of the same SQuAD article ({len(same_topic)} pairs): max {max(same_topic):.3f}")


if __name__ == "__main__":
    main()
