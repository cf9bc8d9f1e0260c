"""Build the reader's ONNX graph: the lower MiniLM layers fine-tuned as a cross-encoder, plus its two heads.

The word embeddings stay those of the installed all-MiniLM-L6-v2 package (they were frozen in training), so the
committed weights (`weights/reader.safetensors`, fp16) hold only what training changed. The graph mirrors
`scripts/train_reader.py`: BERT layers on a sentence pair, the mean of the token vectors into a linear head
(answers, supports), and a per-token linear head (answer span start, end). Where `weights/answers.safetensors` is
committed (`scripts/train_answers.py`), the `answers` logit comes from a second copy of the last layer and its own
head, reading the same lower layers: one more layer per pair, so the verifier and the span marker stay as trained.

Run time uses three graphs of these weights (`GraphPart` in files.py), so that no pair pays for a layer it does not
need.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper
from safetensors.numpy import load_file

from retrieval.embeddings.onnx_graph import (
    _GraphBuilder,
    bert_layer,
    embed,
    finish,
    float_mask,
    int_input,
    padding_bias,
)
from retrieval.errors import ConfigError
from retrieval.reader.files import WEIGHTS_DIR, GraphPart, reader_meta, weights_version


def answers_branch(weights_dir: Path) -> dict[str, np.ndarray]:
    """The `answers` output's own top layer and head (scripts/train_answers.py), empty when none is committed.

    It reads the output of the reader's second-to-last layer, so it is only valid for the reader weights it was
    trained on; answers.json records them.
    """
    path = weights_dir / "answers.safetensors"
    if not path.exists():
        return {}
    trained_on = json.loads((weights_dir / "answers.json").read_text())["reader"]
    if trained_on != weights_version(weights_dir / "reader.safetensors"):
        raise ConfigError("The answers branch was trained on other reader weights; retrain it (make train).")
    return {name: value.astype(np.float32) for name, value in load_file(str(path)).items()}


def build_reader_onnx(
    minilm_dir: Path, weights_dir: Path = WEIGHTS_DIR, *, part: GraphPart = "full"
) -> onnx.ModelProto:
    """The reader's graph `part` (see GraphPart). The answers and spans parts need the committed answers branch;
    their numbers are the full graph's (tests/test_reader_speed.py)."""
    config = json.loads((minilm_dir / "config.json").read_text())
    layers = reader_meta(weights_dir)["layers"]
    w = load_file(str(minilm_dir / "model.safetensors"))
    w |= {name: value.astype(np.float32) for name, value in load_file(str(weights_dir / "reader.safetensors")).items()}
    branch = answers_branch(weights_dir)
    if part != "full" and not branch:
        raise ConfigError(f"A {part}-only reader graph needs the committed answers branch (answers.safetensors).")
    w |= branch
    g = _GraphBuilder()
    hidden = config["hidden_size"]
    mask = int_input("attention_mask")
    if part == "spans":
        lower = helper.make_tensor_value_info("lower", TensorProto.FLOAT, ["batch", "seq", hidden])
        top = bert_layer(g, "lower", padding_bias(g), w, config, f"encoder.layer.{layers - 1}")
        g.nodes.append(helper.make_node("Identity", [g.linear(top, w, "span")], ["span_logits"]))
        output = helper.make_tensor_value_info("span_logits", TensorProto.FLOAT, ["batch", "seq", 2])
        return finish(g, "newsdesk-reader-spans", [lower, mask], [output])

    x, mask_bias = embed(g, w, config, "token_type_ids")
    for i in range(layers - 1):
        x = bert_layer(g, x, mask_bias, w, config, f"encoder.layer.{i}")

    # Mean over real tokens -> [answers, supports] logits; per token -> answer span [start, end] logits.
    weights = g.op("Unsqueeze", float_mask(g), g.const("axis2", np.array([2], dtype=np.int64)))
    axis1 = g.const("axis1", np.array([1], dtype=np.int64))
    count = g.op("ReduceSum", weights, axis1, keepdims=0)

    def pooled(tokens: str) -> str:
        return g.op("Div", g.op("ReduceSum", g.op("Mul", tokens, weights), axis1, keepdims=0), count)

    inputs = [int_input("input_ids"), int_input("token_type_ids"), mask]
    answers = None
    if branch:
        answers = g.linear(pooled(bert_layer(g, x, mask_bias, w, config, "answers.layer")), w, "answers.head")
    if part == "answers":
        g.nodes.append(helper.make_node("Identity", [answers], ["answers"]))
        g.nodes.append(helper.make_node("Identity", [x], ["lower"]))
        outputs = [
            helper.make_tensor_value_info("answers", TensorProto.FLOAT, ["batch", 1]),
            helper.make_tensor_value_info("lower", TensorProto.FLOAT, ["batch", "seq", hidden]),
        ]
        return finish(g, "newsdesk-reader-answers", inputs, outputs)

    top = bert_layer(g, x, mask_bias, w, config, f"encoder.layer.{layers - 1}")
    logits = g.linear(pooled(top), w, "head")
    if answers is not None:  # the branch's answers logit replaces the shared head's
        one, two = (g.const(f"col{n}", np.array([n], dtype=np.int64)) for n in (1, 2))
        logits = g.op("Concat", answers, g.op("Slice", logits, one, two, one), axis=1)
    g.nodes.append(helper.make_node("Identity", [logits], ["logits"]))
    g.nodes.append(helper.make_node("Identity", [g.linear(top, w, "span")], ["span_logits"]))
    outputs = [
        helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 2]),
        helper.make_tensor_value_info("span_logits", TensorProto.FLOAT, ["batch", "seq", 2]),
    ]
    return finish(g, "newsdesk-reader", inputs, outputs)
