"""The reader at run time: onnxruntime over the graph built from the committed weights; never torch.

One model answers three questions about a pair of texts (see scripts/train_reader.py and docs/MODELS.md):
does this sentence answer the question, does this passage support the claim, and which words are the answer.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from retrieval.embeddings.model import packaged_model_dir
from retrieval.errors import ConfigError
from retrieval.loading import loaded_once
from retrieval.reader.calibration import CALIBRATION
from retrieval.reader.files import GRAPH_LAYOUT, WEIGHTS_DIR, GraphPart, reader_meta, weights_version

log = logging.getLogger(__name__)
MAX_SPAN_TOKENS = 24  # an answer span is a phrase, not a sentence
# Search reads the leading passages, then the answerer and the span marker read the same sentences again: recent
# readings are kept so that costs nothing.
CACHE_SIZE = 4096
# Pairs per onnxruntime call. Small batches of length-sorted pairs pad less and stay in cache: reading the ~47 pairs
# of one question's leading passages took 389 ms p50 at 8, 403 at 4, 409 at 16 and 457 at 32 (2 cores, interleaved).
BATCH_SIZE = 8
# Reading probability from which a sentence's answer span is marked. Spans cost a layer or more per sentence, and
# the only reader of spans (answer/compose.answer_spans) marks them from the calibrated `answers` probability
# (answer/extractive.ANSWERS) up; a lower floor here only costs time.
SPAN_FLOOR = CALIBRATION.answers
# The answers-only graph's lower-layer vectors of the last pairs it read that reach SPAN_FLOOR (the only ones whose
# span is ever asked for), from which the spans graph marks a span with one layer: the answer asks for the spans of
# sentences its search has just read. ~60 kB a pair.
LOWER_CACHE_SIZE = 256


@dataclass(frozen=True)
class Reading:
    """How well a sentence answers a question (a probability), and where the answer is in it (characters)."""

    score: float
    span: tuple[int, int] | None


def graph_version(weights_dir: Path) -> str:
    """Names the built graph after every weights file in it, so new weights never reuse an old graph."""
    files = [weights_dir / "reader.safetensors", weights_dir / "answers.safetensors"]
    return "-".join(weights_version(f) for f in files if f.exists())


def prepare_reader(cache_dir: Path, weights_dir: Path = WEIGHTS_DIR) -> Path:
    """Build the reader's full ONNX graph for the committed weights into `cache_dir` once; return its path."""
    if not (weights_dir / "reader.safetensors").exists():
        raise ConfigError("The reader weights are missing from this install; reinstall newsdesk.")
    (full,) = _built(cache_dir, weights_dir, ("full",))
    return full


def prepare_fast_readers(cache_dir: Path, weights_dir: Path = WEIGHTS_DIR) -> tuple[Path, Path] | None:
    """The same for the answers-only and spans-only graphs (files.GraphPart); None when the weights have no
    answers branch to build them from."""
    if not (weights_dir / "answers.safetensors").exists():
        return None
    answers, spans = _built(cache_dir, weights_dir, ("answers", "spans"))
    return answers, spans


def _graph_name(version: str, part: GraphPart) -> str:
    return f"reader-{version}-{part}-{GRAPH_LAYOUT}.onnx"


def _built(cache_dir: Path, weights_dir: Path, parts: tuple[GraphPart, ...]) -> list[Path]:
    """The graph files of `parts`, built where missing (the weights are hashed once for all of them)."""
    version = graph_version(weights_dir)
    targets = [cache_dir / _graph_name(version, part) for part in parts]
    for target, part in zip(targets, parts, strict=True):
        if not target.exists():
            _build(target, weights_dir, part)
    # What these weights were built to under an older layout is never loaded again (~90 MB a file).
    current = {_graph_name(version, part) for part in get_args(GraphPart)}
    for stale in cache_dir.glob(f"reader-{version}*.onnx"):
        if stale.name not in current:
            stale.unlink(missing_ok=True)
    return targets


def _build(target: Path, weights_dir: Path, part: GraphPart) -> None:
    import onnx  # building only: answering loads the built file and never pays for this import

    from retrieval.reader.onnx_graph import build_reader_onnx

    target.parent.mkdir(parents=True, exist_ok=True)
    log.info("building the reader ONNX graph into %s", target)
    model = build_reader_onnx(packaged_model_dir(), weights_dir, part=part)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".onnx.tmp")  # rename into place: never a half file
    os.close(fd)
    onnx.save_model(model, tmp)
    os.replace(tmp, target)


def log_odds(probability: float) -> float:
    """A reader probability back on the logit scale, where sure answers still differ (0.99 is 4.6, 0.9999 is 9.2)."""
    p = min(max(probability, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class Reader:
    def __init__(
        self,
        onnx_path: Path,
        tokenizer_path: Path,
        max_tokens: int,
        batch_size: int = BATCH_SIZE,
        fast_paths: tuple[Path, Path] | None = None,
    ) -> None:
        """`fast_paths`: the answers-only and spans-only graphs (prepare_fast_readers). `read` then reads every
        sentence with the first and marks spans with the second, from the first's lower-layer vectors; the full
        graph runs only for the verifier and for a span of a pair whose vectors are no longer kept."""
        self._session = _session(onnx_path)
        self._answers_session, self._spans_session = map(_session, fast_paths) if fast_paths else (None, None)
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_tokens, strategy="longest_first")
        self._batch_size = batch_size
        self._lock = threading.Lock()  # the tokenizer and the cache are not thread-safe; the session is
        self._cache: OrderedDict[tuple[str, str], float] = OrderedDict()  # (question, sentence) -> answers
        self._span_cache: OrderedDict[tuple[str, str], tuple[int, int] | None] = OrderedDict()
        self._support_cache: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._lower_cache: OrderedDict[tuple[str, str], tuple] = OrderedDict()  # pair -> (encoding, vectors)

    def _batches(self, pairs: list[tuple[str, str]]) -> Iterator[tuple[list[int], dict[str, np.ndarray], list]]:
        """Length-sorted batches of `pairs`, each padded to its longest member: (pair indices, model inputs,
        encodings)."""
        with self._lock:
            encodings = self._tokenizer.encode_batch(pairs)
        order = sorted(range(len(pairs)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), self._batch_size):
            batch = order[start : start + self._batch_size]
            width = max(len(encodings[i].ids) for i in batch)
            ids = np.zeros((len(batch), width), np.int64)
            types, mask = np.zeros_like(ids), np.zeros_like(ids)
            for row, i in enumerate(batch):
                n = len(encodings[i].ids)
                ids[row, :n], types[row, :n], mask[row, :n] = encodings[i].ids, encodings[i].type_ids, 1
            feeds = {"input_ids": ids, "token_type_ids": types, "attention_mask": mask}
            yield batch, feeds, [encodings[i] for i in batch]

    def _run_model(self, session: ort.InferenceSession, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        return session.run(None, feeds)

    def logits(self, pairs: list[tuple[str, str]]) -> tuple[np.ndarray, list]:
        """Raw [answers, supports] logits per pair, plus each pair's encoding and span logits (for spans)."""
        out = np.zeros((len(pairs), 2), np.float32)
        spans: list = [None] * len(pairs)
        for batch, feeds, encodings in self._batches(pairs):
            logits, span_logits = self._run_model(self._session, feeds)
            out[batch] = logits
            for row, (i, encoding) in enumerate(zip(batch, encodings, strict=True)):
                spans[i] = (encoding, span_logits[row, : len(encoding.ids)])
        return out, spans

    def answer_logits(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        """The `answers` logit per pair, from the answers-only graph where there is one (which also keeps the
        lower-layer vectors of the pairs that answer, for their spans)."""
        if self._answers_session is None:
            return self.logits(pairs)[0][:, 0]
        out = np.zeros(len(pairs), np.float32)
        kept = {}
        floor = log_odds(SPAN_FLOOR)
        for batch, feeds, encodings in self._batches(pairs):
            answers, lower = self._run_model(self._answers_session, feeds)
            out[batch] = answers[:, 0]
            for row, (i, encoding) in enumerate(zip(batch, encodings, strict=True)):
                if answers[row, 0] >= floor:
                    kept[pairs[i]] = (encoding, lower[row, : len(encoding.ids)].copy())
        with self._lock:
            _remember(self._lower_cache, kept, LOWER_CACHE_SIZE)
        return out

    def span_logits(self, pairs: list[tuple[str, str]]) -> list:
        """Each pair's encoding and span logits: by the spans graph from the lower-layer vectors the answers-only
        graph kept, where it read the pair recently; by the full graph otherwise."""
        with self._lock:
            lower = {p: self._lower_cache[p] for p in pairs if p in self._lower_cache}
        found = self._spans_from_lower(lower) if self._spans_session is not None else {}
        rest = list(dict.fromkeys(p for p in pairs if p not in found))
        if rest:
            found |= dict(zip(rest, self.logits(rest)[1], strict=True))
        return [found[p] for p in pairs]

    def _spans_from_lower(self, lower: dict[tuple[str, str], tuple]) -> dict[tuple[str, str], tuple]:
        """The spans graph over kept (encoding, lower-layer vectors), in length-sorted batches as `_batches` pads."""
        ordered = sorted(lower, key=lambda p: len(lower[p][1]))
        found = {}
        for start in range(0, len(ordered), self._batch_size):
            batch = ordered[start : start + self._batch_size]
            width = max(len(lower[p][1]) for p in batch)
            vectors = np.zeros((len(batch), width, lower[batch[0]][1].shape[1]), np.float32)
            mask = np.zeros((len(batch), width), np.int64)
            for row, pair in enumerate(batch):
                kept = lower[pair][1]
                vectors[row, : len(kept)], mask[row, : len(kept)] = kept, 1
            (logits,) = self._run_model(self._spans_session, {"lower": vectors, "attention_mask": mask})
            for row, pair in enumerate(batch):
                encoding = lower[pair][0]
                found[pair] = (encoding, logits[row, : len(encoding.ids)])
        return found

    def forget(self) -> None:
        """Drop every cached reading (measurements of a new question's cost start from here)."""
        with self._lock:
            self._cache.clear()
            self._span_cache.clear()
            self._support_cache.clear()
            self._lower_cache.clear()

    def read(self, question: str, sentences: list[str], *, spans: bool = True) -> list[Reading]:
        """For each sentence: the probability that it answers `question`, and the answer's character span in it.

        The span is None where the probability is below SPAN_FLOOR (a sentence that does not answer has no answer to
        mark) and wherever `spans` is False: search and answer choice only rank, and a span costs another layer at
        least (`span_logits`), so it is read only for the few sentences an answer shows (answer/compose.answer_spans).
        """
        keys = [(question, s) for s in sentences]
        with self._lock:
            known = {k: self._cache[k] for k in keys if k in self._cache}
        missing = list(dict.fromkeys(k for k in keys if k not in known))
        fresh = dict(zip(missing, map(float, _sigmoid(self.answer_logits(missing))), strict=True)) if missing else {}
        scores = known | fresh
        found: dict[tuple[str, str], tuple[int, int] | None] = {}
        if spans:
            with self._lock:
                found = {k: self._span_cache[k] for k in keys if k in self._span_cache}
            wanted = list(dict.fromkeys(k for k in keys if scores[k] >= SPAN_FLOOR and k not in found))
            marked = {k: _best_span(*pair) for k, pair in zip(wanted, self.span_logits(wanted), strict=True)}
            found |= marked
        with self._lock:
            _remember(self._cache, fresh)
            if spans:
                _remember(self._span_cache, marked)
        return [Reading(scores[k], found.get(k) if scores[k] >= SPAN_FLOOR else None) for k in keys]

    def supports(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        """For each (claim, passage): the probability that the passage supports the claim. Kept by content like
        readings, since a question asked again (or a claim checked again) meets the same pairs."""
        with self._lock:
            known = {p: self._support_cache[p] for p in pairs if p in self._support_cache}
        missing = list(dict.fromkeys(p for p in pairs if p not in known))
        fresh = dict(zip(missing, _sigmoid(self.logits(missing)[0][:, 1]), strict=True)) if missing else {}
        with self._lock:
            _remember(self._support_cache, fresh)
        return np.array([known.get(p, fresh.get(p)) for p in pairs], np.float32)


def _remember(cache: OrderedDict, fresh: dict, size: int | None = None) -> None:
    """Add `fresh` to a cache that keeps its newest `size` entries (CACHE_SIZE, read at the call, when None; the
    caller holds the lock)."""
    for key, value in fresh.items():
        cache[key] = value
    while len(cache) > (CACHE_SIZE if size is None else size):
        cache.popitem(last=False)


def _best_span(encoding, span_logits: np.ndarray) -> tuple[int, int] | None:
    """The highest-scoring start <= end within the second text, as character offsets into it."""
    second = [t for t, seq in enumerate(encoding.sequence_ids) if seq == 1]
    if not second:
        return None
    lo, hi = second[0], second[-1]
    start, end = span_logits[lo : hi + 1, 0], span_logits[lo : hi + 1, 1]
    best, best_score = None, -np.inf
    for s in range(len(start)):
        e_stop = min(len(end), s + MAX_SPAN_TOKENS)
        e = s + int(np.argmax(end[s:e_stop]))
        if start[s] + end[e] > best_score:
            best, best_score = (s, e), start[s] + end[e]
    assert best is not None
    return encoding.offsets[lo + best[0]][0], encoding.offsets[lo + best[1]][1]


@loaded_once
def get_reader(cache_dir: Path) -> Reader:
    """The process's one reader: loading costs ~0.2 s and ~40 MB, so every knowledge base shares it."""
    meta = reader_meta()
    return Reader(
        prepare_reader(cache_dir),
        packaged_model_dir() / "tokenizer.json",
        meta["max_tokens"],
        fast_paths=prepare_fast_readers(cache_dir),
    )
