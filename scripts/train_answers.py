"""Give the reader's `answers` output a top layer of its own, trained on the sentences the reader mistakes for answers.

Why: refusals fail where a sentence of the article's *other* paragraphs is on the question's topic and the reader
takes it for the answer (docs/MODELS.md). Two GPU runs that trained the whole reader longer, or on more such
negatives, sharpened the verifier (`supports`) and blunted `answers`. So this leaves the committed reader as it is and
trains a copy of its last layer, plus the `answers` row of its head, for `answers` alone; the verifier and the span
marker keep the original top layer. The five lower layers are shared and frozen, so their output is computed once
and training runs on the CPU in minutes.

Data (SQuAD v1.1 *train*; SQuAD dev is never read; the 20 articles train_reader.py holds out stay out):
1. questions train_reader.py did not sample (its seed and shuffle, past its --questions);
2. candidates per question: the sentences of its paragraph, and the `--far` sentences of the article's other
   paragraphs sharing the most words with it;
3. the committed reader scores them. Pairs: the answer sentence (positive), the paragraph's best-scored other
   sentence and one at random, the other paragraphs' `--mined` best-scored sentences and one at random (negatives).
   A candidate that may well answer is skipped: one holding a gold answer's text, or one whose three-sentence window
   the reader says supports the question turned into a statement with its answer ("Who ...?" + "the sultan" ->
   "The sultan ...").

    .venv-train/bin/python scripts/train_answers.py            # see `make train` and docs/MODELS.md
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from safetensors.numpy import save_file
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_reader import (
    ANSWERS,
    SUPPORTS,
    AnswersBranch,
    Encoder,
    Example,
    Reader,
    _negatives,
    _window,
    _words,
    answer_sentence,
    base_model,
    collate,
    load_committed,
    load_squad,
    mask_bias_of,
    mean_pool,
    question_pool,
    shared_arguments,
    siblings_by_article,
    write_fixture,
)

from retrieval.reader.claims import question_claim

ROOT = Path(__file__).resolve().parents[1]
READ_BATCH = 64


@torch.no_grad()
def read(model: Reader, encoder: Encoder, examples: list[Example]) -> tuple[np.ndarray, list[np.ndarray]]:
    """The committed reader's logits for each pair, and the shared lower layers' output (fp16, real tokens only)."""
    rows = encoder.encode(examples)
    logits = np.zeros((len(examples), 2), np.float32)
    lower: list[np.ndarray] = [np.zeros(0)] * len(examples)
    order = sorted(range(len(rows)), key=lambda i: len(rows[i].ids))
    top = model.encoder["layer"][-1]
    for at in range(0, len(order), READ_BATCH):
        chosen = order[at : at + READ_BATCH]
        batch = collate([rows[i] for i in chosen], [examples[i] for i in chosen], torch.device("cpu"))
        x = model.lower(batch["ids"], batch["types"], batch["mask"], len(model.encoder["layer"]) - 1)
        logits[chosen] = model.head(mean_pool(top(x, mask_bias_of(batch["mask"])), batch["mask"])).numpy()
        for row, i in enumerate(chosen):
            lower[i] = x[row, : len(rows[i].ids)].numpy().astype(np.float16)
    return logits, lower


def unseen_questions(articles: list[dict], args: argparse.Namespace) -> tuple[list, list]:
    """train_reader.py's paragraphs and the questions its run did not sample, drawn exactly as it draws them."""
    rng = random.Random(args.seed)
    rng.shuffle(articles)
    paragraphs, pool = question_pool(articles[args.heldout_articles :], rng)
    return paragraphs, pool[args.reader_questions :]


class Candidate(NamedTuple):
    sentence: str
    window: str  # the sentence with a neighbour on each side, what the verifier reads
    own: bool  # from the question's own paragraph


class Scored(NamedTuple):
    score: float  # the committed reader's answers logit
    candidate: Candidate
    lower: np.ndarray  # the shared lower layers' output for the pair


def candidates(paragraphs: list, by_article: dict, i: int, question: str, far: int) -> list[Candidate]:
    """The paragraph's sentences, and the `far` sentences of the article's other paragraphs sharing the most words
    with the question."""
    words = _words(question)
    own = [Candidate(s, _window(paragraphs[i][2], k), True) for k, s in enumerate(paragraphs[i][2])]
    others = [
        Candidate(s, _window(paragraphs[j][2], k), False)
        for j in by_article[paragraphs[i][0]]
        if j != i
        for k, s in enumerate(paragraphs[j][2])
    ]
    others.sort(key=lambda c: -len(words & _words(c.sentence)))
    return own + others[:far]


def mine(model: Reader, encoder: Encoder, articles: list[dict], args: argparse.Namespace) -> list[dict]:
    """Training pairs: {"question": n, "label": 1.0 or 0.0, "lower": the lower layers' output for the pair}."""
    paragraphs, pool = unseen_questions(articles, args)
    by_article = siblings_by_article(paragraphs)
    rng = random.Random(args.seed + 2)
    pairs: list[dict] = []
    began, done = time.time(), 0
    for at in range(0, len(pool), args.chunk):
        if done >= args.questions:
            break
        chunk = []  # (question number, question, question-statement or None, answer sentence, candidates)
        for i, qa in pool[at : at + args.chunk]:
            hit = answer_sentence(paragraphs[i][1], paragraphs[i][2], qa["answers"][0])
            if hit is None:
                continue
            golds = {x["text"].lower() for x in qa["answers"]}
            sentence = paragraphs[i][2][hit]
            found = [
                c for c in candidates(paragraphs, by_article, i, qa["question"], args.far) if c.sentence != sentence
            ]
            kept = set(_negatives([c.sentence for c in found], sentence, golds))
            claim = question_claim(qa["question"], qa["answers"][0]["text"])
            chunk.append((done + len(chunk), qa["question"], claim, sentence, [c for c in found if c.sentence in kept]))
        examples = [Example(ANSWERS, q, s, 1.0) for _, q, _, s, _ in chunk]
        examples += [Example(ANSWERS, q, c.sentence, 0.0) for _, q, _, _, found in chunk for c in found]
        logits, lower = read(model, encoder, examples)
        scores = iter(logits[len(chunk) :, ANSWERS].tolist())
        ranked: list[list[Scored]] = []  # per question, best first
        lowers = iter(lower[len(chunk) :])
        for _, _, _, _, found in chunk:
            scored = [Scored(next(scores), c, next(lowers)) for c in found]
            ranked.append(sorted(scored, key=lambda x: -x.score))
        # The question made a statement, checked against the windows of each question's best-scored far sentences.
        checks = [
            (n, far.candidate)
            for (n, _, claim, _, _), r in zip(chunk, ranked, strict=True)
            if claim
            for far in [x for x in r if not x.candidate.own][: args.mined + 1]
        ]
        claims = {n: claim for n, _, claim, _, _ in chunk}
        supported = set()
        if checks:
            support, _ = read(model, encoder, [Example(SUPPORTS, claims[n], c.window, 0.0) for n, c in checks])
            supported = {(n, c.sentence) for (n, c), s in zip(checks, support[:, SUPPORTS], strict=True) if s > 0}
        for (n, *_), positive, r in zip(chunk, lower[: len(chunk)], ranked, strict=True):
            pairs.append({"question": n, "label": 1.0, "lower": positive})
            own = [x for x in r if x.candidate.own]
            far = [x for x in r if not x.candidate.own and (n, x.candidate.sentence) not in supported]
            chosen = own[:1] + rng.sample(own[1:], max(0, min(1, len(own) - 1)))
            chosen += far[: args.mined] + rng.sample(far[args.mined :], max(0, min(1, len(far) - args.mined)))
            pairs += [{"question": n, "label": 0.0, "lower": x.lower} for x in chosen]
        done += len(chunk)
        rate = (time.time() - began) / done
        print(
            f"mined {done} questions, {len(pairs)} pairs, {len(supported)} skipped as answering; {rate:.2f} s/q",
            flush=True,
        )
    return pairs


def batches_of(pairs: list[dict], size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar lengths (less padding), in shuffled order."""
    order = list(range(len(pairs)))
    rng.shuffle(order)
    out = []
    for at in range(0, len(order), size * 50):
        block = sorted(order[at : at + size * 50], key=lambda i: len(pairs[i]["lower"]))
        out += [block[i : i + size] for i in range(0, len(block), size)]
    rng.shuffle(out)
    return out


def stack(pairs: list[dict]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    width = max(len(p["lower"]) for p in pairs)
    lower = np.zeros((len(pairs), width, pairs[0]["lower"].shape[1]), np.float32)
    mask = np.zeros((len(pairs), width), np.int64)
    for row, p in enumerate(pairs):
        lower[row, : len(p["lower"])], mask[row, : len(p["lower"])] = p["lower"], 1
    labels = torch.tensor([p["label"] for p in pairs])
    return torch.from_numpy(lower), torch.from_numpy(mask), labels


@torch.no_grad()
def logits_of(branch: AnswersBranch, pairs: list[dict]) -> np.ndarray:
    branch.eval()
    scores = np.zeros(len(pairs))
    for at in range(0, len(pairs), 256):
        lower, mask, _ = stack(pairs[at : at + 256])
        scores[at : at + 256] = branch(lower, mask).numpy()
    branch.train()
    return scores


def evaluate(branch: AnswersBranch, pairs: list[dict]) -> dict[str, float]:
    """Accuracy at 0 on answer sentences and on negatives, and how often the answer sentence outscores every
    negative of its question."""
    scores = logits_of(branch, pairs)
    labels = np.array([p["label"] for p in pairs]) > 0.5
    best: dict[int, tuple[float, float]] = {}
    for p, s in zip(pairs, scores, strict=True):
        positive, negative = best.get(p["question"], (-np.inf, -np.inf))
        best[p["question"]] = (max(positive, s), negative) if p["label"] else (positive, max(negative, s))
    return {
        "positives_accuracy": round(float(np.mean(scores[labels] > 0)), 4),
        "negatives_accuracy": round(float(np.mean(scores[~labels] <= 0)), 4),
        "answer_ranked_first": round(float(np.mean([p > n for p, n in best.values()])), 4),
    }


def train(branch: AnswersBranch, pairs: list[dict], monitor: list[dict], args: argparse.Namespace) -> int:
    rng = random.Random(args.seed + 3)
    batches = [b for _ in range(args.epochs) for b in batches_of(pairs, args.batch, rng)]
    optimizer = torch.optim.AdamW(branch.parameters(), lr=args.lr, weight_decay=0.01)
    warmup = max(1, len(batches) // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (len(batches) - s) / (len(batches) - warmup)))
    )
    print("before", evaluate(branch, monitor), flush=True)
    branch.train()
    for step, chosen in enumerate(batches, 1):
        lower, mask, labels = stack([pairs[i] for i in chosen])
        loss = nn.functional.binary_cross_entropy_with_logits(branch(lower, mask), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(branch.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        if step % 200 == 0 or step == len(batches):
            print(f"step {step}/{len(batches)} loss {loss.item():.4f}", evaluate(branch, monitor), flush=True)
    return len(batches)


def recentre(branch: AnswersBranch, original: AnswersBranch, monitor: list[dict]) -> float:
    """Shift the branch's bias so the monitor's answer sentences score, at the median, what the committed reader gave
    them; return the shift.

    Trained on six negatives per answer, the branch scores everything lower (the median answer sentence by about 1.3
    in log-odds), while the thresholds that read its probability (marking a span, showing a passage, fusing it into
    search) were set on the committed reader's scale. A constant shift changes no ranking and no refusal: those
    compare scores with each other, or move with the calibrated threshold.
    """
    positives = [p for p in monitor if p["label"]]
    shift = float(np.median(logits_of(original, positives)) - np.median(logits_of(branch, positives)))
    with torch.no_grad():
        branch.head.bias += shift
    return shift


def main() -> None:
    parser = shared_arguments(__doc__)  # --seed and --heldout-articles must be train_reader.py's
    parser.add_argument("--weights", type=Path, default=ROOT / "retrieval/reader/weights")
    parser.add_argument("--questions", type=int, default=8000, help="questions to mine pairs from")
    parser.add_argument("--reader-questions", type=int, default=50000, help="train_reader.py's --questions")
    parser.add_argument("--far", type=int, default=16, help="other paragraphs' sentences read per question")
    parser.add_argument("--mined", type=int, default=3, help="best-scored of those kept as negatives")
    parser.add_argument("--chunk", type=int, default=200, help="questions read together")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    source = base_model(args.base)
    encoder = Encoder(source / "tokenizer.json", json.loads((args.weights / "reader.json").read_text())["max_tokens"])
    reader = load_committed(source, args.weights)
    began = time.time()
    pairs = mine(reader, encoder, load_squad(args.squad), args)
    mined = time.time() - began
    monitor = [p for p in pairs if p["question"] % 20 == 0]  # 5% of the questions, never trained on
    pairs = [p for p in pairs if p["question"] % 20]
    branch = AnswersBranch(reader)
    steps = train(branch, pairs, monitor, args)
    shift = recentre(branch, AnswersBranch(reader), monitor)

    # Round to fp16 as committed, reload, and take the scores and the fixture from exactly those weights.
    weights = {f"answers.{k}": v.detach().numpy().astype(np.float16) for k, v in branch.state_dict().items()}
    branch.load_state_dict({k[len("answers.") :]: torch.from_numpy(v.astype(np.float32)) for k, v in weights.items()})
    save_file(weights, str(args.weights / "answers.safetensors"))
    # retrieval/reader/onnx_graph.py's weights_version, which the graph builder compares; it is not imported because
    # that module needs onnx, which the training environment does not install.
    reader_sha = hashlib.sha256((args.weights / "reader.safetensors").read_bytes()).hexdigest()[:12]
    meta = {k: getattr(args, k) for k in ("questions", "far", "mined", "batch", "lr", "epochs", "seed")} | {
        "reader": reader_sha,  # the reader weights whose lower layers this branch reads
        "pairs": len(pairs),
        "steps": steps,
        "bias_shift": round(shift, 4),
        "mine_seconds": round(mined),
        "train_seconds": round(time.time() - began - mined),
        "monitor": evaluate(branch, monitor),
    }
    (args.weights / "answers.json").write_text(json.dumps(meta, indent=1) + "\n")
    write_fixture(reader, encoder, args.fixture, branch)
    print("done", meta, flush=True)


if __name__ == "__main__":
    main()
