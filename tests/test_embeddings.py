"""The offline MiniLM must give the upstream model's vectors, batch after batch."""

import json
from pathlib import Path

import numpy as np

from retrieval.embeddings import Embedder, get_embedder
from retrieval.embeddings.model import packaged_model_dir, prepare_model

FIXTURE = Path(__file__).parent / "fixtures" / "minilm_reference.json"


def test_vectors_match_upstream_sentence_transformers(model_dir: Path) -> None:
    reference = json.loads(FIXTURE.read_text())["rows"]
    embedder = get_embedder(model_dir)
    vectors = embedder.embed([r["text"] for r in reference])
    expected = np.array([r["vector"] for r in reference], dtype=np.float32)
    cosines = (vectors * expected).sum(axis=1) / np.linalg.norm(expected, axis=1)
    assert cosines.min() >= 0.999, cosines


def fresh_embedder(model_dir: Path) -> Embedder:
    """An embedder with an empty cache, so every text is really encoded."""
    return Embedder(prepare_model(model_dir), packaged_model_dir() / "tokenizer.json")


def test_padding_to_the_longest_member_does_not_change_a_vector(model_dir: Path) -> None:
    short = "Canada bans Hikvision."
    alone = fresh_embedder(model_dir).embed([short])[0]
    in_batch = fresh_embedder(model_dir).embed([short, "A much longer sentence " * 20])[0]
    assert float(alone @ in_batch) > 0.99999


def test_cached_vectors_equal_fresh_ones(model_dir: Path) -> None:
    embedder = fresh_embedder(model_dir)
    first = embedder.embed(["Ottawa acted.", "Beijing objected."])
    again = embedder.embed(["Beijing objected.", "A new sentence.", "Ottawa acted."])
    assert np.allclose(again[[2, 0]], first) and np.allclose(
        again[1], fresh_embedder(model_dir).embed(["A new sentence."])[0]
    )


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
