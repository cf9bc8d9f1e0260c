"""Measure the reader where the answers' promise depends on it: refusing what the knowledge base does not answer,
and rejecting citations that contradict their passage. Reads SQuAD v1.1 *dev* (the evaluation set) and the
hand-written news claims; nothing here feeds back into training or thresholds (scripts/calibrate.py does that on
held-out train articles).

1. Answerability: a knowledge base of half the dev articles (seeded), one article per paragraph; each sampled
   question is asked as is (answerable) and with its paragraph removed (unanswerable, same topic).
2. Verifier: bench/squad_claims.jsonl (scripts/build_claims.py), bench/news_claims.json,
   bench/news_claims_blind.json (hand-written before the name rules it tests), bench/news_claims_blind2.json
   (before the opposite-words rule), and the RealTime QA news sentences: bench/news_claims_rt_hand.json (written by
   hand, blind) and bench/news_claims_rt_rules.json (scripts/build_news_claims.py), for the reader's verifier (per
   kind, and per tuning / reported half where a set has them) and for the cosine/word-overlap heuristic it replaced
   (cosine >= 0.62 or containment >= 0.60).

    .venv/bin/python scripts/evaluate_reader.py [--questions 500] [--json bench/reader_results.json]
    .venv/bin/python scripts/evaluate_reader.py --claims-only --json bench/reader_results.json   # minutes, not hours
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from retrieval.answer.citations import _NUMBER, CitationChecker  # noqa: E402
from retrieval.answer.compose import CONFIDENT  # noqa: E402
from retrieval.chunker import split_sentences  # noqa: E402
from retrieval.embeddings import Embedder  # noqa: E402
from retrieval.evaluation import (  # noqa: E402
    THRESHOLD_GRID,
    Claim,
    answerability_hits,
    claim_breakdown,
    claim_rates,
    confidences,
    load_claims,
    paragraph_articles,
    verifier_decisions,
)
from retrieval.knowledge_base import Services  # noqa: E402
from retrieval.settings import Settings, default_data_dir  # noqa: E402
from retrieval.text import content_words  # noqa: E402

OLD_COSINE, OLD_CONTAINMENT = 0.62, 0.60  # the heuristic's calibrated thresholds (before the reader)
CLAIM_SETS = (
    "squad_claims.jsonl",
    "news_claims.json",
    "news_claims_blind.json",
    "news_claims_blind2.json",
    "news_claims_rt_hand.json",
    "news_claims_rt_rules.json",
)


def heuristic_decisions(embedder: Embedder, claims: list[Claim]) -> list[bool]:
    """The citation check before the reader: close in meaning to one sentence, or most content words present."""
    decisions = []
    for c in claims:
        sentences = split_sentences(c.passage)
        if not all(n in c.passage for n in _NUMBER.findall(c.claim)):  # its number rule, as it was
            decisions.append(False)
            continue
        vectors = embedder.embed([c.claim, *sentences])
        words = content_words(c.claim)
        containment = len(words & content_words(c.passage)) / len(words) if words else 0.0
        decisions.append(float(np.max(vectors[1:] @ vectors[0])) >= OLD_COSINE or containment >= OLD_CONTAINMENT)
    return decisions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--squad", type=Path, default=ROOT.parent / "shared/data/squad-v1.1-dev.json")
    parser.add_argument("--questions", type=int, default=500)
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    parser.add_argument(
        "--claims-only",
        action="store_true",
        help="measure the claim sets only, not answerability; with --json, the file's other entries are kept",
    )
    args = parser.parse_args()
    command = " ".join(["scripts/evaluate_reader.py", *sys.argv[1:]])
    keep = args.claims_only and args.json is not None and args.json.exists()
    results: dict[str, object] = json.loads(args.json.read_text(encoding="utf-8")) if keep else {}
    commands: dict[str, str] = results.pop("commands", {})  # type: ignore[assignment]  # JSON: a dict of str
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(_env_file=None, data_dir=Path(data_dir), model_dir=default_data_dir() / "models")
        services = Services(settings)

        checker = CitationChecker(services.reader)
        for name in CLAIM_SETS:
            claims = load_claims(ROOT / "bench" / name)
            results[f"verifier {name}"] = claim_breakdown(claims, verifier_decisions(checker, claims))
            results[f"heuristic {name}"] = claim_rates(claims, heuristic_decisions(services.embedder, claims))
        commands["claims"] = command
        if args.claims_only:
            services.close()
            finish(results, commands, args.json)
            return

        entries = json.loads(args.squad.read_text())["data"]
        random.Random(0).shuffle(entries)
        articles, items = paragraph_articles(entries[: len(entries) // 2])
        kb = services.kb("answerability")
        kb.ingest_articles(articles)
        items = random.Random(1).sample(items, min(args.questions, len(items)))
        answerable_hits, removed_hits, elsewhere = answerability_hits(kb, items, articles)
        answerable, removed = confidences(answerable_hits), confidences(removed_hits)
        unanswerable = removed[~np.array(elsewhere)]  # the paragraph removed and the answer's words nowhere else
        results["answerability"] = {
            "questions": len(items),
            "threshold": CONFIDENT,
            "answerable_refused": round(float(np.mean(answerable < CONFIDENT)), 4),
            "unanswerable_questions": len(unanswerable),
            "unanswerable_refused": round(float(np.mean(unanswerable < CONFIDENT)), 4),
            # Every question with its paragraph removed, including those another paragraph still answers.
            "paragraph_removed_refused": round(float(np.mean(removed < CONFIDENT)), 4),
            # The whole trade-off, to compare readers; the threshold itself is chosen on train (scripts/calibrate.py).
            "curve": [
                {
                    "threshold": round(float(t), 2),
                    "answerable_refused": round(float(np.mean(answerable < t)), 4),
                    "unanswerable_refused": round(float(np.mean(unanswerable < t)), 4),
                }
                for t in THRESHOLD_GRID
            ],
        }
        commands["answerability"] = command
        services.close()
    finish(results, commands, args.json)


def finish(results: dict[str, object], commands: dict[str, str], path: Path | None) -> None:
    """Print the numbers and write them, with the commands that made each part, where asked."""
    results["commands"] = commands
    print(json.dumps(results, indent=1))
    if path:
        path.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
