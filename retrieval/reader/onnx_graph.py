"""Build the reader's ONNX graph: the lower MiniLM layers fine-tuned as a cross-encoder, plus its two heads.

The word embeddings stay those of the installed all-MiniLM-L6-v2 package (they were frozen in training), so the
committed weights (`weights/reader.safetensors`, fp16) hold only what training changed. The graph mirrors
`scripts/train_reader.py`: BERT layers on a sentence pair, the mean of the token vectors into a linear head
(answers, supports), and a per-token linear head (answer span start, end).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper
from safetensors.numpy import load_file

from retrieval.embeddings.onnx_graph import _GraphBuilder, encode, finish, float_mask, int_input

WEIGHTS_DIR = Path(__file__).with_name("weights")


def reader_meta(weights_dir: Path = WEIGHTS_DIR) -> dict:
    return json.loads((weights_dir / "reader.json").read_text())


def build_reader_onnx(minilm_dir: Path, weights_dir: Path = WEIGHTS_DIR) -> onnx.ModelProto:
    config = json.loads((minilm_dir / "config.json").read_text())
    meta = reader_meta(weights_dir)
    w = load_file(str(minilm_dir / "model.safetensors"))
    w |= {name: value.astype(np.float32) for name, value in load_file(str(weights_dir / "reader.safetensors")).items()}
    g = _GraphBuilder()
    x = encode(g, w, config, layers=meta["layers"], token_types="token_type_ids")

    # Mean over real tokens -> [answers, supports] logits.
    weights = g.op("Unsqueeze", float_mask(g), g.const("axis2", np.array([2], dtype=np.int64)))
    axis1 = g.const("axis1", np.array([1], dtype=np.int64))
    pooled = g.op(
        "Div",
        g.op("ReduceSum", g.op("Mul", x, weights), axis1, keepdims=0),
        g.op("ReduceSum", weights, axis1, keepdims=0),
    )
    g.nodes.append(helper.make_node("Identity", [g.linear(pooled, w, "head")], ["logits"]))
    g.nodes.append(helper.make_node("Identity", [g.linear(x, w, "span")], ["span_logits"]))

    inputs = [int_input("input_ids"), int_input("token_type_ids"), int_input("attention_mask")]
    outputs = [
        helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 2]),
        helper.make_tensor_value_info("span_logits", TensorProto.FLOAT, ["batch", "seq", 2]),
    ]
    return finish(g, "newsdesk-reader", inputs, outputs)
