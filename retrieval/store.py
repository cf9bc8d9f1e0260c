"""The vector store: embedded Chroma on disk by default, a Chroma server when CHROMA_HOST is set.

One collection per knowledge base. The collection's metadata names the embedding model, so vectors from two models
are never mixed: opening a collection built with another model is an error, not a silent quality loss.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

import chromadb
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.config import Settings as ChromaSettings

from retrieval.errors import BadInputError, EmbeddingMismatchError, NewsdeskError, StoreUnavailableError
from retrieval.settings import Settings

log = logging.getLogger(__name__)

UNREACHABLE = "The knowledge base store is unreachable; try again shortly."
_KB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
COLLECTION_PREFIX = "newsdesk-"


def validate_kb_name(name: str) -> str:
    """`name` when it is safe as a collection name and as a folder name under the data directory (no "/", no ".",
    no "..": `fullmatch`, since `$` alone would also accept a trailing newline)."""
    if not _KB_NAME.fullmatch(name):
        raise BadInputError(
            f"'{name[:40]}' is not a valid knowledge base name; use letters, digits, '-' and '_' (up to 63)."
        )
    return name


def connect(settings: Settings) -> ClientAPI:
    """Open the configured Chroma; a server that is down becomes one clear sentence."""
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    try:
        if settings.chroma_host:
            return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings)
        settings.chroma_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)
    except Exception as exc:  # chromadb raises bare ValueError/ConnectionError/httpx errors depending on mode
        where = f"{settings.chroma_host}:{settings.chroma_port}" if settings.chroma_host else str(settings.chroma_dir)
        log.error("cannot open the Chroma store at %s: %r", where, exc)  # the address goes to the log, not to users
        raise StoreUnavailableError(UNREACHABLE) from exc


@contextmanager
def store_errors() -> Iterator[None]:
    """A Chroma server that dies mid-ingest or mid-question becomes one sentence instead of a transport error."""
    try:
        yield
    except NewsdeskError:
        raise
    except Exception as exc:
        if not _is_transport_failure(exc):
            raise
        log.error("the Chroma store failed: %r", exc)
        raise StoreUnavailableError(UNREACHABLE) from exc


def _is_transport_failure(exc: BaseException) -> bool:
    import httpx

    chain: BaseException | None = exc
    while chain is not None:
        if isinstance(chain, httpx.TransportError | ConnectionError) or "Could not connect" in str(chain):
            return True
        chain = chain.__cause__ or chain.__context__
    return False


def drop_collection(client: ClientAPI, kb: str) -> None:
    """Delete the knowledge base's collection; nothing to do when it has none (a drop cut short, run again)."""
    name = COLLECTION_PREFIX + validate_kb_name(kb)
    with store_errors():
        if name in {c.name for c in client.list_collections()}:
            client.delete_collection(name)


def open_collection(client: ClientAPI, kb: str, model_name: str, *, create: bool) -> Collection | None:
    """The knowledge base's collection, created on demand; None when it does not exist and `create` is False."""
    name = COLLECTION_PREFIX + validate_kb_name(kb)
    try:
        if create:
            collection = client.get_or_create_collection(
                name,
                metadata={"embedding_model": model_name, "kb": kb},
                configuration={"hnsw": {"space": "cosine"}},
                embedding_function=None,
            )
        else:
            existing = {c.name for c in client.list_collections()}
            if name not in existing:
                return None
            collection = client.get_collection(name, embedding_function=None)
    except Exception as exc:
        log.error("the Chroma store could not open knowledge base %r: %r", kb, exc)
        raise StoreUnavailableError(UNREACHABLE) from exc
    built_with = (collection.metadata or {}).get("embedding_model")
    if built_with != model_name:
        raise EmbeddingMismatchError(
            f"Knowledge base '{kb}' was built with the embedding model {built_with!r}, not {model_name!r}; "
            f"remove it with `newsdesk kb drop {kb} --yes` and ingest again."
        )
    return collection
