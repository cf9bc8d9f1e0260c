"""Server mode: the same knowledge base code against a real `chroma run` on loopback, and Chroma being down."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.errors import StoreUnavailableError
from retrieval.knowledge_base import Services
from tests.chroma_server import chroma_server, free_port
from tests.conftest import SAMPLE_CORPUS, make_settings


def _server_services(tmp_path: Path, model_dir: Path, port: int) -> Services:
    """Services on the `chroma run` at `port`, with the rest of the data dir under `tmp_path`."""
    return Services(make_settings(tmp_path / "data", model_dir, chroma_host="127.0.0.1", chroma_port=port))


@pytest.mark.slow
def test_ingest_and_search_against_a_chroma_server(tmp_path: Path, model_dir: Path) -> None:
    with chroma_server(tmp_path / "server") as port:
        services = _server_services(tmp_path, model_dir, port)
        kb = services.kb("default")
        assert kb.ingest([str(SAMPLE_CORPUS)]).added == 4
        assert kb.ingest([str(SAMPLE_CORPUS)]).chunks_embedded == 0
        assert kb.search("why did Canada ban Hikvision?")[0].article.outlet == "Reuters"
        assert "newsdesk-default" in {c.name for c in services.client.list_collections()}
        assert not (tmp_path / "data" / "chroma").exists(), "server mode must not write an embedded store"
        services.close()


def test_chroma_down_is_one_clear_sentence(tmp_path: Path, model_dir: Path) -> None:
    settings = make_settings(tmp_path, model_dir, chroma_host="127.0.0.1", chroma_port=free_port())
    with pytest.raises(StoreUnavailableError, match=r"^The knowledge base store is unreachable; try again shortly.$"):
        Services(settings).kb("default")


@pytest.mark.slow
def test_a_chroma_server_that_dies_is_one_clear_sentence(tmp_path: Path, model_dir: Path) -> None:
    from retrieval.types import Article

    with chroma_server(tmp_path / "server") as port:
        services = _server_services(tmp_path, model_dir, port)
        kb = services.kb("default")
        kb.ingest([str(SAMPLE_CORPUS)])
    # The server is gone now; the open knowledge base notices on its next call.
    with pytest.raises(StoreUnavailableError, match="unreachable"):
        kb.search("why did Canada ban Hikvision?")
    with pytest.raises(StoreUnavailableError, match="unreachable"):
        kb.ingest_articles([Article(title="Late story", text="The port reopened on Friday after the strike.")])
    services.close()
