"""Give the reader's `supports` output (the citation verifier) a top layer of its own, trained on news-style claims.

Why: the verifier learned SQuAD-style perturbations well but keeps too few faithful news paraphrases and passes
news-style contradictions (docs/MODELS.md). A GPU run that retrained the whole reader with the news-style claim rules
(run 5) kept more news paraphrases (0.704 -> 0.815) but blunted the `answers` output. So, as scripts/train_answers.py
does for `answers`, this trains a copy of the reader's last layer plus the `supports` row of its head, reading the
frozen lower layers; `answers` and the span marker stay as they are.

Data (SQuAD v1.1 *train*; SQuAD dev is never read; the 20 held-out articles stay out): questions neither
train_reader.py nor train_answers.py sampled (their seed and shuffle, past both), four claims each against the answer
sentence's window (`train_reader.claim_examples` with `news_style`): the question turned into a statement with its
answer and a rewording of the sentence (backed); the sentence with one fact changed, now also the opening actor, a
nationality or a count in words, the question-statement with another answer, or a sentence from another paragraph
(not backed). Clauses are cut at ", " only, so "21,000" stays whole.

    .venv-train/bin/python scripts/train_supports.py            # see `make train` and docs/MODELS.md
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_answers import unseen_questions
from train_branch import Pair, branch_arguments, logits_of, read, save, train
from train_reader import (
    SUPPORTS,
    Branch,
    Encoder,
    Example,
    Reader,
    answer_sentence,
    base_model,
    claim_examples,
    load_committed,
    load_squad,
    siblings_by_article,
)

SUPPORTED = 0.90  # retrieval/answer/citations.py's threshold, where the monitor also reports accuracy


def claims(model: Reader, encoder: Encoder, articles: list[dict], args: argparse.Namespace) -> list[Pair]:
    """Four claim x window pairs per question, with the lower layers' output for each."""
    paragraphs, pool = unseen_questions(articles, args)
    by_article = siblings_by_article(paragraphs)
    rng = random.Random(args.seed + 4)
    numbered: list[tuple[int, Example]] = []
    for n, (i, qa) in enumerate(pool[args.skip : args.skip + args.questions]):
        a, context, sentences, qas = paragraphs[i]
        answer = qa["answers"][0]
        hit = answer_sentence(context, sentences, answer)
        if hit is None:
            continue
        distractors = [x["answers"][0]["text"] for x in qas if x is not qa]
        siblings = rng.sample([j for j in by_article[a] if j != i], min(10, len(by_article[a]) - 1))
        golds = [x["text"].lower() for x in qa["answers"]]
        far = [s for j in siblings for s in paragraphs[j][2] if not any(g in s.lower() for g in golds)]
        made = claim_examples(qa["question"], answer["text"], sentences, hit, context, distractors, far, rng, True)
        numbered += [(n, e) for e in made]
    began = time.time()
    pairs: list[Pair] = []
    for at in range(0, len(numbered), 4096):  # in parts, so progress shows
        part = numbered[at : at + 4096]
        _, lower = read(model, encoder, [e for _, e in part])
        pairs += [{"question": n, "label": e.label, "lower": x} for (n, e), x in zip(part, lower, strict=True)]
        print(f"read {len(pairs)}/{len(numbered)} pairs, {time.time() - began:.0f} s", flush=True)
    return pairs


def evaluate(branch: Branch, pairs: list[Pair]) -> dict[str, float]:
    """Backed claims kept and unbacked ones rejected, at 0.5 and at the runtime's threshold."""
    scores = logits_of(branch, pairs)
    labels = np.array([p["label"] for p in pairs]) > 0.5
    line = math.log(SUPPORTED / (1 - SUPPORTED))
    return {
        "kept": round(float(np.mean(scores[labels] > 0)), 4),
        "rejected": round(float(np.mean(scores[~labels] <= 0)), 4),
        "kept_at_threshold": round(float(np.mean(scores[labels] >= line)), 4),
        "rejected_at_threshold": round(float(np.mean(scores[~labels] < line)), 4),
    }


def main() -> None:
    parser = branch_arguments(__doc__)
    parser.add_argument("--questions", type=int, default=12000, help="questions to build claims from")
    parser.add_argument("--skip", type=int, default=8000, help="unseen questions train_answers.py already used")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    source = base_model(args.base)
    encoder = Encoder(source / "tokenizer.json", json.loads((args.weights / "reader.json").read_text())["max_tokens"])
    reader = load_committed(source, args.weights)
    began = time.time()
    pairs = claims(reader, encoder, load_squad(args.squad), args)
    built = time.time() - began
    monitor = [p for p in pairs if p["question"] % 20 == 0]  # 5% of the questions, never trained on
    pairs = [p for p in pairs if p["question"] % 20]
    branch = Branch(reader, SUPPORTS)
    steps = train(branch, pairs, monitor, args, evaluate)
    meta = {k: getattr(args, k) for k in ("questions", "skip", "batch", "lr", "epochs", "seed")} | {
        "pairs": len(pairs),
        "steps": steps,
        "build_seconds": round(built),
        "train_seconds": round(time.time() - began - built),
    }
    save(branch, reader, encoder, args, meta, lambda: evaluate(branch, monitor))


if __name__ == "__main__":
    main()
