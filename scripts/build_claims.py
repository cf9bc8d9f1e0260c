"""Build the verifier's evaluation set from SQuAD v1.1 *dev* (never used for training or calibration).

Each row is a claim, the paragraph it is checked against, and a label: `supported` (a SQuAD question turned into a
statement with its gold answer, which is a human paraphrase of the paragraph, or a clause / light rewording of the
answer sentence) or `contradicted` (the answer sentence with one fact changed by the rules in
scripts/claims.py, or the question-statement with another answer from the same paragraph).

    python scripts/build_claims.py            # writes bench/squad_claims.jsonl (seeded, reproducible)
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from claims import perturb, positive_variants, question_claim  # noqa: E402

from retrieval.ingest.chunker import split_sentences  # noqa: E402


def claim_rows(entries: list[dict], pairs: int, rng: random.Random) -> list[dict]:
    """Up to `pairs` supported and `pairs` contradicted claims from SQuAD entries, each with its paragraph."""
    items = [(p["context"], qa, p["qas"]) for article in entries for p in article["paragraphs"] for qa in p["qas"]]
    rng.shuffle(items)
    rows: list[dict] = []
    for context, qa, qas in items:
        if len(rows) >= 2 * pairs:
            break
        answer = qa["answers"][0]["text"]
        sentence = next((s for s in split_sentences(context) if answer in s), None)
        if sentence is None:
            continue
        others = [x["answers"][0]["text"] for x in qas if x is not qa and x["answers"][0]["text"] not in sentence]
        claim = question_claim(qa["question"], answer)
        rewordings = [v for v in positive_variants(sentence, rng) if v != sentence]
        positive = claim or (rewordings[0] if rewordings else None)
        wrong = question_claim(qa["question"], rng.choice(others)) if claim and others else None
        negative = wrong or perturb(sentence, rng, context, others)
        if positive is None or negative is None:
            continue
        kind = "question paraphrase" if claim else "rewording"
        rows.append({"claim": positive, "passage": context, "label": "supported", "kind": kind})
        rows.append(
            {
                "claim": negative,
                "passage": context,
                "label": "contradicted",
                "kind": "wrong answer" if wrong else "rule",
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--squad", type=Path, default=ROOT.parent / "shared/data/squad-v1.1-dev.json")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/squad_claims.jsonl")
    parser.add_argument("--questions", type=int, default=230)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rows = claim_rows(json.loads(args.squad.read_text())["data"], args.questions, random.Random(args.seed))
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    print(f"wrote {len(rows)} rows to {args.out}")


if __name__ == "__main__":
    main()
