"""Where the reader's committed weights live and how a set of them is named; no onnx here, so that answering,
which only loads the built graph, never pays for importing the graph-building packages (~0.6 s)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

WEIGHTS_DIR = Path(__file__).with_name("weights")


def reader_meta(weights_dir: Path = WEIGHTS_DIR) -> dict:
    return json.loads((weights_dir / "reader.json").read_text())


def weights_version(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
