"""The reader on onnxruntime reproduces the training framework's scores, and reads the way answers need."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from retrieval.answer.citations import SUPPORTED, CitationChecker
from retrieval.errors import ConfigError
from retrieval.ingest.chunker import split_sentences
from retrieval.reader.calibration import CALIBRATION_FILE, load_calibration
from retrieval.reader.model import get_reader, graph_version, prepare_fast_readers, prepare_reader
from retrieval.reader.onnx_graph import WEIGHTS_DIR, weights_version

FIXTURE = Path(__file__).parent / "fixtures" / "reader_reference.json"


@pytest.fixture(scope="session")
def reader(model_dir: Path):
    return get_reader(model_dir)


def test_onnx_matches_the_training_framework(reader) -> None:
    """scripts/train_reader.py wrote these scores from torch with the committed fp16 weights."""
    reference = json.loads(FIXTURE.read_text())
    pairs = [tuple(p) for p in reference["pairs"]]
    logits, spans = reader.logits(pairs)
    np.testing.assert_allclose(logits, np.array(reference["logits"]), atol=1e-4)
    for (_, span_logits), start, end in zip(spans, reference["start"], reference["end"], strict=True):
        np.testing.assert_allclose(span_logits[:, 0], start, atol=1e-4)
        np.testing.assert_allclose(span_logits[:, 1], end, atol=1e-4)


def test_the_answer_sentence_outscores_its_neighbours_and_its_span_is_found(reader) -> None:
    question = "How much will the bike lanes cost?"
    sentences = [
        "City council approves downtown bike lanes",
        "The council voted 7-2 on Tuesday to build protected bike lanes on Main Street.",
        "The project will cost 18 million dollars and take two years to finish.",
        "Cyclists' groups welcomed the vote.",
    ]
    readings = reader.read(question, sentences)
    best = max(range(len(sentences)), key=lambda i: readings[i].score)
    assert best == 2
    start, end = readings[2].span
    assert "18 million" in sentences[2][start:end]


def test_support_prefers_the_faithful_claim_to_a_changed_fact(reader) -> None:
    """Numbers, antonyms and swapped names are caught (negations and swapped actors are not yet: docs/MODELS.md)."""
    passage = (
        "Hikvision has operated in Canada through a subsidiary since 2014. Best Buy stopped selling Hikvision "
        "products in 2021."
    )
    claims = [
        "Best Buy stopped selling Hikvision products in 2021.",
        "Hikvision's Canadian subsidiary has operated there since 2004.",
        "Best Buy began selling Hikvision products in 2021.",
        "Home Depot stopped selling Hikvision products in 2021.",
    ]
    faithful, *changed = reader.supports([(c, passage) for c in claims])
    assert all(faithful > c for c in changed)


SENTENCES = [
    "Trump has extended the deadline three times since January.",
    "China approved a dam costing 137 billion dollars; about 18000 workers will build it.",
]


@pytest.mark.parametrize(
    ("claim", "backed"),
    [
        ("Trump has extended the deadline five times.", False),  # a small verifier reads past "five" for "three"
        ("Trump has extended the deadline 4 times.", False),
        ("Trump has extended the deadline 3 times.", True),  # "3" and "three" back each other
        ("The dam costs 37 billion dollars.", False),  # numbers are whole: "137" does not back "37"
        ("About 18,000 workers will build the dam.", True),  # thousands separators aside
    ],
)
def test_numbers_must_match_the_passage(reader, claim: str, backed: bool) -> None:
    """The number rule zeroes a claim whose numbers the passage lacks; a backed one is left to the model."""
    [(probability, _)] = CitationChecker(reader).support_scores([(claim, SENTENCES)])
    assert (probability > 0.0) is backed


FERRY = (
    "The ferry service, which had run between the two islands since the 1960s, was suspended in 2019 when the last "
    "vessel failed its safety inspection and the operator could not afford repairs. In 2021 the regional government "
    "paid for a new hybrid ferry. Local businesses, many of which depend on summer visitors from the mainland, said "
    "the three-year gap had cost them a large share of their trade and that several shops and a hotel had closed."
)


def test_a_short_sentence_between_long_ones_is_also_read_alone(reader) -> None:
    """Its window scores its restatement 0.84 (the neighbours dilute the pooled vector); the sentence alone, 0.94."""
    sentences = split_sentences(FERRY)
    claims = [
        "The regional government paid for a new hybrid ferry in 2021.",
        "The regional government refused to pay for a new hybrid ferry in 2021.",
    ]
    (kept, i), (rejected, _) = CitationChecker(reader).support_scores([(c, sentences) for c in claims])
    assert kept >= SUPPORTED and sentences[i] == "In 2021 the regional government paid for a new hybrid ferry."
    assert rejected < SUPPORTED


def test_an_answers_branch_trained_on_other_reader_weights_is_refused(tmp_path: Path) -> None:
    """The branch reads the reader's lower layers, so it must never be built onto weights it was not trained on."""
    for name in ("reader.json", "reader.safetensors"):
        shutil.copy(WEIGHTS_DIR / name, tmp_path / name)
    save_file({"answers.head.bias": np.zeros(1, np.float16)}, str(tmp_path / "answers.safetensors"))
    (tmp_path / "answers.json").write_text(json.dumps({"reader": "0123456789ab"}))
    with pytest.raises(ConfigError, match="retrain"):
        prepare_reader(tmp_path / "models", tmp_path)


def test_graphs_built_to_an_older_layout_are_removed(tmp_path: Path) -> None:
    """Each graph file is named after its weights, part and layout; a rebuild removes what these weights left under
    older names (~90 MB each), and never another set of weights' graphs."""
    version = graph_version(WEIGHTS_DIR)
    stale = [tmp_path / f"reader-{version}.onnx", tmp_path / f"reader-{version}-answers.onnx"]
    other = tmp_path / "reader-0123456789ab.onnx"
    for path in [*stale, other]:
        path.write_bytes(b"an old graph")
    built = prepare_fast_readers(tmp_path)
    assert built is not None and all(path.exists() for path in built)
    assert not any(path.exists() for path in stale)
    assert other.exists()


def test_the_calibration_was_measured_with_the_committed_weights() -> None:
    """New weights read on another scale: their thresholds come from scripts/calibrate.py --write, not carried over."""
    measured = json.loads((WEIGHTS_DIR / CALIBRATION_FILE).read_text())["measured"]
    assert measured["reader"] == weights_version(WEIGHTS_DIR / "reader.safetensors")
    assert load_calibration().supported == SUPPORTED
