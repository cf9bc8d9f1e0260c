"""Build the reader's ONNX graphs: the lower MiniLM layers fine-tuned as a cross-encoder, plus its heads.

The word embeddings stay those of the installed all-MiniLM-L6-v2 package (they were frozen in training), so the
committed weights (`weights/reader.safetensors`, fp16) hold only what training changed. The graph mirrors
`scripts/train_reader.py`: BERT layers on a sentence pair, the mean of the token vectors into a linear head
(answers, supports), and a per-token linear head (answer span start, end). Where `weights/answers.safetensors` is
committed (`scripts/train_answers.py`), the `answers` logit comes from a second copy of the last layer and its own
head, reading the same lower layers: one more layer per pair, so the verifier and the span marker stay as trained.
Where `weights/supports.safetensors` is committed (`scripts/train_supports.py`), the verifier is a second graph: the
same lower layers and the supports branch's own top layer and head.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper
from safetensors.numpy import load_file

from retrieval.embeddings.onnx_graph import _GraphBuilder, bert_layer, embed, finish, float_mask, int_input
from retrieval.errors import ConfigError

WEIGHTS_DIR = Path(__file__).with_name("weights")


def reader_meta(weights_dir: Path = WEIGHTS_DIR) -> dict:
    return json.loads((weights_dir / "reader.json").read_text())


def branch_weights(weights_dir: Path, name: str) -> dict[str, np.ndarray]:
    """An output's own top layer and head (`answers`: scripts/train_answers.py, `supports`: scripts/train_supports.py),
    empty when none is committed.

    A branch reads the output of the reader's second-to-last layer, so it is only valid for the reader weights it was
    trained on; `<name>.json` records them.
    """
    path = weights_dir / f"{name}.safetensors"
    if not path.exists():
        return {}
    trained_on = json.loads((weights_dir / f"{name}.json").read_text())["reader"]
    if trained_on != weights_version(weights_dir / "reader.safetensors"):
        raise ConfigError(f"The {name} branch was trained on other reader weights; retrain it (make train).")
    return {key: value.astype(np.float32) for key, value in load_file(str(path)).items()}


def weights_version(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


class _Trunk:
    """The graph up to the last shared layer: embeddings and the reader's lower layers, plus mean pooling."""

    def __init__(self, minilm_dir: Path, weights_dir: Path, branch: str) -> None:
        self.config = json.loads((minilm_dir / "config.json").read_text())
        layers = reader_meta(weights_dir)["layers"]
        w = load_file(str(minilm_dir / "model.safetensors"))
        w |= {k: v.astype(np.float32) for k, v in load_file(str(weights_dir / "reader.safetensors")).items()}
        self.w = w | branch_weights(weights_dir, branch)
        self.has_branch = len(self.w) > len(w)
        self.g = g = _GraphBuilder()
        x, self.mask_bias = embed(g, self.w, self.config, "token_type_ids")
        for i in range(layers - 1):
            x = bert_layer(g, x, self.mask_bias, self.w, self.config, f"encoder.layer.{i}")
        self.x, self.top_name = x, f"encoder.layer.{layers - 1}"
        self._weights = g.op("Unsqueeze", float_mask(g), g.const("axis2", np.array([2], dtype=np.int64)))
        self._axis1 = g.const("axis1", np.array([1], dtype=np.int64))
        self._count = g.op("ReduceSum", self._weights, self._axis1, keepdims=0)

    def layer(self, prefix: str) -> str:
        return bert_layer(self.g, self.x, self.mask_bias, self.w, self.config, prefix)

    def pooled(self, tokens: str) -> str:
        """The mean of the real tokens' vectors."""
        g = self.g
        return g.op("Div", g.op("ReduceSum", g.op("Mul", tokens, self._weights), self._axis1, keepdims=0), self._count)

    def finish(self, name: str, outputs: dict[str, tuple[str, list[str]]]) -> onnx.ModelProto:
        """Name the outputs ({name: (node output, shape)}) and close the graph."""
        for out, (node, _) in outputs.items():
            self.g.nodes.append(helper.make_node("Identity", [node], [out]))
        inputs = [int_input("input_ids"), int_input("token_type_ids"), int_input("attention_mask")]
        values = [helper.make_tensor_value_info(k, TensorProto.FLOAT, shape) for k, (_, shape) in outputs.items()]
        return finish(self.g, name, inputs, values)


def build_reader_onnx(minilm_dir: Path, weights_dir: Path = WEIGHTS_DIR) -> onnx.ModelProto:
    """[answers, supports] logits (from the mean of the token vectors) and per-token span [start, end] logits; where
    an answers branch is committed, the answers logit is the branch's."""
    t = _Trunk(minilm_dir, weights_dir, "answers")
    top = t.layer(t.top_name)
    logits = t.g.linear(t.pooled(top), t.w, "head")
    if t.has_branch:  # the branch's answers logit replaces the shared head's
        answers = t.g.linear(t.pooled(t.layer("answers.layer")), t.w, "answers.head")
        one, two = (t.g.const(f"col{n}", np.array([n], dtype=np.int64)) for n in (1, 2))
        logits = t.g.op("Concat", answers, t.g.op("Slice", logits, one, two, one), axis=1)
    span = t.g.linear(top, t.w, "span")
    return t.finish("newsdesk-reader", {"logits": (logits, ["batch", 2]), "span_logits": (span, ["batch", "seq", 2])})


def build_verifier_onnx(minilm_dir: Path, weights_dir: Path = WEIGHTS_DIR) -> onnx.ModelProto | None:
    """The supports logit from the committed supports branch, or None when none is committed (the reader graph's
    own supports logit serves then).

    A graph of its own because onnxruntime runs every node of a graph whatever outputs are asked for: in the reader
    graph the branch would cost search, which never verifies, one more layer per pair."""
    t = _Trunk(minilm_dir, weights_dir, "supports")
    if not t.has_branch:
        return None
    supports = t.g.linear(t.pooled(t.layer("supports.layer")), t.w, "supports.head")
    return t.finish("newsdesk-verifier", {"supports": (supports, ["batch", 1])})
