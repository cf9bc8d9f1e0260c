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
3. Adversarial unanswerables: SQuAD 2.0's questions written to look answerable, about the four articles of its public
   dev half that training kept apart (scripts/reading_data.py), each paragraph its own article.

    .venv/bin/python scripts/evaluate_reader.py [--questions 500] [--json bench/reader_results.json]
    .venv/bin/python scripts/evaluate_reader.py --only claims --json bench/reader_results.json   # minutes, not hours
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
sys.path.insert(0, str(ROOT / "scripts"))

from reading_data import SQUAD2_HELDOUT  # noqa: E402

from retrieval.answer.citations import _NUMBER, CitationChecker  # noqa: E402
from retrieval.answer.compose import CONFIDENT  # noqa: E402
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
from retrieval.ingest.chunker import split_sentences  # noqa: E402
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


SECTIONS = ("claims", "adversarial", "answerability")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--squad", type=Path, default=ROOT.parent / "shared/data/squad-v1.1-dev.json")
    parser.add_argument("--squad2", type=Path, default=ROOT.parent / "shared/data/squad-v2.0-dev-half.json")
    parser.add_argument("--questions", type=int, default=500)
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    parser.add_argument(
        "--only",
        choices=SECTIONS,
        help="measure one section (claims: minutes, not hours); with --json, the file's other entries are kept",
    )
    args = parser.parse_args()
    command = " ".join(["scripts/evaluate_reader.py", *sys.argv[1:]])
    keep = args.only is not None and args.json is not None and args.json.exists()
    results: dict[str, object] = json.loads(args.json.read_text(encoding="utf-8")) if keep else {}
    commands: dict[str, str] = results.pop("commands", {})  # type: ignore[assignment]  # JSON: a dict of str
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(_env_file=None, data_dir=Path(data_dir), model_dir=default_data_dir() / "models")
        services = Services(settings)
        for section in [args.only] if args.only else SECTIONS:
            results |= MEASURES[section](services, args)
            commands[section] = command
        services.close()
    finish(results, commands, args.json)


def claim_sets(services: Services, args: argparse.Namespace) -> dict[str, object]:
    checker = CitationChecker(services.reader)
    results: dict[str, object] = {}
    for name in CLAIM_SETS:
        claims = load_claims(ROOT / "bench" / name)
        results[f"verifier {name}"] = claim_breakdown(claims, verifier_decisions(checker, claims))
        results[f"heuristic {name}"] = claim_rates(claims, heuristic_decisions(services.embedder, claims))
    return results


def refusals(answerable: np.ndarray, unanswerable: np.ndarray) -> dict[str, object]:
    """Refusal rates at the calibrated CONFIDENT, and the whole trade-off to compare readers (the threshold itself is
    chosen on train: scripts/calibrate.py)."""
    return {
        "threshold": CONFIDENT,
        "answerable_refused": round(float(np.mean(answerable < CONFIDENT)), 4),
        "unanswerable_questions": len(unanswerable),
        "unanswerable_refused": round(float(np.mean(unanswerable < CONFIDENT)), 4),
        "curve": [
            {
                "threshold": round(float(t), 2),
                "answerable_refused": round(float(np.mean(answerable < t)), 4),
                "unanswerable_refused": round(float(np.mean(unanswerable < t)), 4),
            }
            for t in THRESHOLD_GRID
        ],
    }


def adversarial(services: Services, args: argparse.Namespace) -> dict[str, object]:
    """SQuAD 2.0's unanswerable questions, written to look answerable, about the dev half's articles that training
    kept apart (scripts/reading_data.py): each paragraph indexed as its own article, every question asked."""
    entries = [a for a in json.loads(args.squad2.read_text())["data"] if a["title"] in SQUAD2_HELDOUT]
    articles, _ = paragraph_articles(entries)
    kb = services.kb("adversarial")
    kb.ingest_articles(articles)
    questions = [(qa["question"], qa["is_impossible"]) for a in entries for p in a["paragraphs"] for qa in p["qas"]]
    questions = random.Random(0).sample(questions, min(args.questions, len(questions)))
    scores = confidences([kb.search(question, 6, rerank=True) for question, _ in questions])
    impossible = np.array([flag for _, flag in questions])
    return {"adversarial": {"articles": list(SQUAD2_HELDOUT), **refusals(scores[~impossible], scores[impossible])}}


def answerability(services: Services, args: argparse.Namespace) -> dict[str, object]:
    entries = json.loads(args.squad.read_text())["data"]
    random.Random(0).shuffle(entries)
    articles, items = paragraph_articles(entries[: len(entries) // 2])
    kb = services.kb("answerability")
    kb.ingest_articles(articles)
    items = random.Random(1).sample(items, min(args.questions, len(items)))
    answerable_hits, removed_hits, elsewhere = answerability_hits(kb, items, articles)
    answerable, removed = confidences(answerable_hits), confidences(removed_hits)
    unanswerable = removed[~np.array(elsewhere)]  # the paragraph removed and the answer's words nowhere else
    return {
        "answerability": {
            "questions": len(items),
            **refusals(answerable, unanswerable),
            # Every question with its paragraph removed, including those another paragraph still answers.
            "paragraph_removed_refused": round(float(np.mean(removed < CONFIDENT)), 4),
        }
    }


MEASURES = {"claims": claim_sets, "adversarial": adversarial, "answerability": answerability}


def finish(results: dict[str, object], commands: dict[str, str], path: Path | None) -> None:
    """Print the numbers and write them, with the commands that made each part, where asked."""
    results["commands"] = commands
    print(json.dumps(results, indent=1))
    if path:
        path.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
