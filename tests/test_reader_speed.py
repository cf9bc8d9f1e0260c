"""The reader's faster paths give the reference graph's numbers and decisions (issue 25).

The answers-only graph (retrieval/reader/onnx_graph.build_reader_onnx) leaves out a layer that the `answers` logit
never reads, so its scores must equal the full graph's; the spans-only graph continues from the answers-only graph's
lower-layer vectors, so its span logits must equal the full graph's too; and `read`, which marks spans only where a
sentence answers and only when asked, must decide exactly as reading everything with the full graph did.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from retrieval.embeddings.model import packaged_model_dir
from retrieval.reader import model
from retrieval.reader.files import reader_meta
from retrieval.reader.model import SPAN_FLOOR, Reader, _best_span, _sigmoid, get_reader, prepare_reader
from tests.conftest import full_graph_runs

FIXTURE = Path(__file__).parent / "fixtures" / "reader_reference.json"
QUESTION = "How much will the bike lanes cost?"
SENTENCES = [
    "City council approves downtown bike lanes",
    "The council voted 7-2 on Tuesday to build protected bike lanes on Main Street.",
    "The project will cost 18 million dollars and take two years to finish.",
    "Cyclists' groups welcomed the vote.",
    "Construction of the lanes is expected to cost the city about $18 million over two years.",
]


@pytest.fixture(scope="module")
def fast(model_dir: Path) -> Reader:
    return get_reader(model_dir)


@pytest.fixture(scope="module")
def reference(model_dir: Path) -> Reader:
    """The full graph alone: every reading and its span from one model run, as before the answers-only graph."""
    return Reader(prepare_reader(model_dir), packaged_model_dir() / "tokenizer.json", reader_meta()["max_tokens"])


def test_the_answers_only_and_spans_only_graphs_are_in_use(fast: Reader) -> None:
    assert fast._answers_session is not None
    assert fast._spans_session is not None


def _fixture_pairs() -> list[tuple[str, str]]:
    return [tuple(p) for p in json.loads(FIXTURE.read_text())["pairs"]] + [(QUESTION, s) for s in SENTENCES]


@pytest.mark.parametrize("read_first", [True, False])
def test_span_logits_match_the_full_graph(fast: Reader, reference: Reader, read_first: bool, monkeypatch) -> None:
    """From the vectors the answers-only graph kept for the pairs that answer (no full-graph run for those), and by
    the full graph for the others or where nothing was read first; the same logits and spans either way."""
    pairs = _fixture_pairs()
    fast.forget()
    answering = set()
    if read_first:
        logits = fast.answer_logits(pairs)
        answering = {pair for pair, logit in zip(pairs, logits, strict=True) if _sigmoid(logit) >= SPAN_FLOOR}
        assert 0 < len(answering) < len(pairs)  # both paths in one call
    runs = full_graph_runs(fast, monkeypatch)
    found = fast.span_logits(pairs)
    assert sum(runs) == len(pairs) - len(answering)
    for (encoding, logits), (expected_encoding, expected) in zip(found, reference.logits(pairs)[1], strict=True):
        assert encoding.ids == expected_encoding.ids
        np.testing.assert_allclose(logits, expected, atol=1e-3)
        assert _best_span(encoding, logits) == _best_span(expected_encoding, expected)


def test_answers_only_scores_match_the_full_graph(fast: Reader, reference: Reader) -> None:
    pairs = _fixture_pairs()
    full, _ = reference.logits(pairs)
    np.testing.assert_allclose(fast.answer_logits(pairs), full[:, 0], atol=1e-3)


@pytest.mark.parametrize("before", ["nothing", "ranked", "ranked, vectors not kept"])
def test_readings_decide_as_the_full_graph_did(fast: Reader, reference: Reader, before: str, monkeypatch) -> None:
    """Also when search ranked the sentences first (no spans) and the answer asks for its spans afterwards, from
    the kept vectors or, where none were kept, from the full graph."""
    fast.forget()
    if before == "ranked, vectors not kept":
        monkeypatch.setattr(model, "LOWER_CACHE_SIZE", 0)
    if before != "nothing":
        assert all(r.span is None for r in fast.read(QUESTION, SENTENCES, spans=False))
    runs = full_graph_runs(fast, monkeypatch)
    readings = fast.read(QUESTION, SENTENCES)
    assert bool(runs) == (before == "ranked, vectors not kept")
    logits, spans = reference.logits([(QUESTION, s) for s in SENTENCES])
    for reading, logit, found in zip(readings, logits[:, 0], spans, strict=True):
        probability = float(_sigmoid(np.array(logit)))
        assert reading.score == pytest.approx(probability, abs=1e-3)
        assert reading.span == (_best_span(*found) if probability >= SPAN_FLOOR else None)
    assert any(r.span for r in readings)  # the fixture has sentences that answer, so spans were marked


def test_support_readings_are_kept_by_content(fast: Reader, reference: Reader, monkeypatch) -> None:
    pairs = [(SENTENCES[4], " ".join(SENTENCES[1:3])), (SENTENCES[3], SENTENCES[1])]
    fast.forget()
    first = fast.supports(pairs)
    np.testing.assert_allclose(first, _sigmoid(reference.logits(pairs)[0][:, 1]), atol=1e-3)
    runs: list[int] = []
    original = Reader._run_model
    monkeypatch.setattr(Reader, "_run_model", lambda self, *a: runs.append(1) or original(self, *a))
    np.testing.assert_array_equal(fast.supports(pairs[::-1]), first[::-1])
    assert runs == []  # answered from the cache, no model run
