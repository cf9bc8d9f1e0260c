"""What scripts/train_answers.py and scripts/train_supports.py share: training one output's own top layer (a
`Branch`) on the frozen lower layers of the committed reader.

The lower layers' output for every pair is computed once (`read`), kept in memory as fp16, and the branch trains on
it; so a branch trains on 2 CPU cores in minutes where the whole reader takes hours. The weights are written in
fp16, then reloaded, so the recorded scores and the parity fixture come from exactly what is committed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import save_file
from torch import nn
from train_reader import (
    BRANCHES,
    ROOT,
    Branch,
    Encoder,
    Example,
    Reader,
    collate,
    load_branches,
    mask_bias_of,
    mean_pool,
    shared_arguments,
    write_fixture,
)

READ_BATCH = 64
Pair = dict  # {"question": n, "label": 1.0 or 0.0, "lower": the lower layers' output for the pair}


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


def batches_of(pairs: list[Pair], size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar lengths (less padding), in shuffled order."""
    order = list(range(len(pairs)))
    rng.shuffle(order)
    out = []
    for at in range(0, len(order), size * 50):
        block = sorted(order[at : at + size * 50], key=lambda i: len(pairs[i]["lower"]))
        out += [block[i : i + size] for i in range(0, len(block), size)]
    rng.shuffle(out)
    return out


def stack(pairs: list[Pair]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    width = max(len(p["lower"]) for p in pairs)
    lower = np.zeros((len(pairs), width, pairs[0]["lower"].shape[1]), np.float32)
    mask = np.zeros((len(pairs), width), np.int64)
    for row, p in enumerate(pairs):
        lower[row, : len(p["lower"])], mask[row, : len(p["lower"])] = p["lower"], 1
    labels = torch.tensor([p["label"] for p in pairs])
    return torch.from_numpy(lower), torch.from_numpy(mask), labels


@torch.no_grad()
def logits_of(branch: Branch, pairs: list[Pair]) -> np.ndarray:
    branch.eval()
    scores = np.zeros(len(pairs))
    for at in range(0, len(pairs), 256):
        lower, mask, _ = stack(pairs[at : at + 256])
        scores[at : at + 256] = branch(lower, mask).numpy()
    branch.train()
    return scores


Evaluate = Callable[[Branch, list[Pair]], dict[str, float]]


def train(branch: Branch, pairs: list[Pair], monitor: list[Pair], args: argparse.Namespace, evaluate: Evaluate) -> int:
    """AdamW with 5% warm-up and linear decay over `args.epochs`; the monitor's scores every 200 steps."""
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


def save(
    branch: Branch, reader: Reader, encoder: Encoder, args: argparse.Namespace, meta: dict, monitor: Callable[[], dict]
) -> None:
    """Write the branch as fp16 (`<name>.safetensors`), reload exactly that, and write `<name>.json` (`meta`, the
    reader weights it reads from, and `monitor()`'s scores of the fp16 weights) and the parity fixture."""
    name = BRANCHES[branch.row]
    weights = {f"{name}.{k}": v.detach().numpy().astype(np.float16) for k, v in branch.state_dict().items()}
    state = {k[len(name) + 1 :]: torch.from_numpy(v.astype(np.float32)) for k, v in weights.items()}
    branch.load_state_dict(state)
    save_file(weights, str(args.weights / f"{name}.safetensors"))
    # retrieval/reader/onnx_graph.py's weights_version, which the graph builder compares; it is not imported because
    # that module needs onnx, which the training environment does not install.
    meta = {"reader": hashlib.sha256((args.weights / "reader.safetensors").read_bytes()).hexdigest()[:12]} | meta
    meta["monitor"] = monitor()
    (args.weights / f"{name}.json").write_text(json.dumps(meta, indent=1) + "\n")
    write_fixture(reader, encoder, args.fixture, load_branches(reader, args.weights))
    print("done", meta, flush=True)


def branch_arguments(doc: str) -> argparse.ArgumentParser:
    """Options both branch scripts take, on top of train_reader.py's shared ones."""
    parser = shared_arguments(doc)  # --seed and --heldout-articles must be train_reader.py's
    parser.add_argument("--weights", type=Path, default=ROOT / "retrieval/reader/weights")
    parser.add_argument("--reader-questions", type=int, default=50000, help="train_reader.py's --questions")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--epochs", type=int, default=2)
    return parser
