"""The offline MiniLM must give the upstream model's vectors, batch after batch."""

import json
from pathlib import Path

import numpy as np

from retrieval.embeddings import get_embedder

FIXTURE = Path(__file__).parent / "fixtures" / "minilm_reference.json"


def test_vectors_match_upstream_sentence_transformers(model_dir: Path) -> None:
    reference = json.loads(FIXTURE.read_text())["rows"]
    embedder = get_embedder(model_dir)
    vectors = embedder.embed([r["text"] for r in reference])
    expected = np.array([r["vector"] for r in reference], dtype=np.float32)
    cosines = (vectors * expected).sum(axis=1) / np.linalg.norm(expected, axis=1)
    assert cosines.min() >= 0.999, cosines


def test_padding_to_the_longest_member_does_not_change_a_vector(model_dir: Path) -> None:
    embedder = get_embedder(model_dir)
    short = "Canada bans Hikvision."
    alone = embedder.embed([short])[0]
    in_batch = embedder.embed([short, "A much longer sentence " * 20])[0]
    assert float(alone @ in_batch) > 0.99999


def test_similar_texts_score_higher_than_unrelated_ones(model_dir: Path) -> None:
    embedder = get_embedder(model_dir)
    q, near, far = embedder.embed(
        ["why did Canada ban Hikvision?", "Canada ordered Hikvision to close.", "TikTok buyer"]
    )
    assert q @ near > q @ far + 0.3


def test_one_model_instance_per_process(model_dir: Path) -> None:
    assert get_embedder(model_dir) is get_embedder(model_dir)


def test_token_counts_use_the_models_own_tokenizer(model_dir: Path) -> None:
    embedder = get_embedder(model_dir)
    assert embedder.count_tokens(["Hikvision"]) == [
        len(embedder._counter.encode("Hikvision", add_special_tokens=False).ids)
    ]
    assert embedder.count_tokens([]) == []
