"""Where the reader's committed weights live and how a set of them is named; no onnx here, so that answering,
which only loads the built graph, never pays for importing the graph-building packages (~0.6 s)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

WEIGHTS_DIR = Path(__file__).with_name("weights")

# The graphs built from one set of weights (retrieval/reader/onnx_graph.py), so that no pair pays for a layer it does
# not need. "full": every output, the verifier's `supports` and the span logits included. "answers": the `answers`
# logit alone, plus `lower`, the lower layers' token vectors; search and answer choice read every sentence with it,
# one layer in seven fewer than the full graph. "spans": the span logits from those `lower` vectors (the shared top
# layer and the span head), so marking the answer in a sentence already read costs one layer instead of seven.
GraphPart = Literal["full", "answers", "spans"]
# Part of each built graph's file name: raised whenever a part's inputs or outputs change, so that an install never
# loads a file built to an older layout.
GRAPH_LAYOUT = 2


def reader_meta(weights_dir: Path = WEIGHTS_DIR) -> dict:
    return json.loads((weights_dir / "reader.json").read_text())


def weights_version(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
