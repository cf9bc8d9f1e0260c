"""Calibrate newsdesk's two thresholds on SQuAD v1.1 dev (CC BY-SA 4.0, Rajpurkar et al., 2016).

1. Relevance (MIN_RELEVANCE): index half of the articles; questions about that half should be answered, questions
   about the other half refused. Prints, per threshold, the share of answerable questions kept and of unanswerable
   ones refused.
2. Support (MIN_COSINE, MIN_CONTAINMENT): a claim "question + gold answer" checked against its own paragraph should
   pass; the same claim against another paragraph of the same article (same topic, no answer) should fail.

Usage: .venv/bin/python scripts/calibrate.py ../shared/data/squad-v1.1-dev.json [--questions 500]
Writes its tables to stdout; docs/CITATIONS.md records the numbers of a run.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from pathlib import Path

import numpy as np

from retrieval.answer.text import containment
from retrieval.chunker import split_sentences
from retrieval.knowledge_base import Services
from retrieval.settings import Settings
from retrieval.types import Article


def relevance(services: Services, data: list[dict], n: int) -> None:
    random.seed(0)
    order = list(range(len(data)))
    random.shuffle(order)
    inside, outside = [data[i] for i in order[: len(data) // 2]], [data[i] for i in order[len(data) // 2 :]]
    kb = services.kb("calibrate-half")
    kb.ingest_articles(
        [
            Article(
                title=e["title"].replace("_", " "),
                text="\n".join(p["context"] for p in e["paragraphs"]),
                outlet="Wikipedia",
            )
            for e in inside
        ]
    )

    def top_similarity(entries: list[dict]) -> list[float]:
        questions = [qa["question"] for e in entries for p in e["paragraphs"] for qa in p["qas"]]
        return [max((h.similarity for h in kb.search(q, 6)), default=0.0) for q in random.sample(questions, n)]

    answerable, unanswerable = np.array(top_similarity(inside)), np.array(top_similarity(outside))
    print("\n## Relevance: top passage cosine")
    print(
        f"answerable p5/p50: {np.percentile(answerable, 5):.3f} / {np.median(answerable):.3f}; "
        f"unanswerable p50/p95: {np.median(unanswerable):.3f} / {np.percentile(unanswerable, 95):.3f}"
    )
    print("| threshold | answerable kept | unanswerable refused |\n|---|---|---|")
    for t in np.arange(0.20, 0.52, 0.04):
        print(f"| {t:.2f} | {np.mean(answerable >= t):.3f} | {np.mean(unanswerable < t):.3f} |")


def support(services: Services, data: list[dict], n: int) -> None:
    random.seed(1)
    cases = []
    for entry in data:
        paragraphs = [p["context"] for p in entry["paragraphs"]]
        for i, p in enumerate(entry["paragraphs"]):
            for qa in p["qas"]:
                answer = qa["answers"][0]["text"]
                others = [o for j, o in enumerate(paragraphs) if j != i and answer not in o]
                if others:
                    cases.append((f"{qa['question'].rstrip('?')} {answer}.", p["context"], random.choice(others)))
    cases = random.sample(cases, n)
    embed = services.embedder.embed

    def scores(claim: str, passage: str) -> tuple[float, float]:
        sentences = split_sentences(passage)
        vectors = embed([claim, *sentences])
        return float(np.max(vectors[1:] @ vectors[0])), containment(claim, passage)

    positive = np.array([scores(c, gold) for c, gold, _ in cases])
    negative = np.array([scores(c, other) for c, _, other in cases])
    print("\n## Support: claim vs its own paragraph (positive) and another paragraph of the article (negative)")
    print("| min cosine | min containment | positives accepted | negatives rejected |\n|---|---|---|---|")
    for cos in (0.5, 0.55, 0.6, 0.62, 0.65, 0.7):
        for cont in (0.6, 0.75, 0.9):
            ok_pos = np.mean((positive[:, 0] >= cos) | (positive[:, 1] >= cont))
            ok_neg = np.mean(~((negative[:, 0] >= cos) | (negative[:, 1] >= cont)))
            print(f"| {cos:.2f} | {cont:.2f} | {ok_pos:.3f} | {ok_neg:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("squad", type=Path)
    parser.add_argument("--questions", type=int, default=500)
    args = parser.parse_args()
    data = json.loads(args.squad.read_text())["data"]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, data_dir=Path(tmp), model_dir=Path("data/models"))
        services = Services(settings)
        support(services, data, args.questions)
        relevance(services, data, args.questions)


if __name__ == "__main__":
    main()
