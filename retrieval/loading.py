"""Each model is loaded once per process, and a command that will answer starts loading them before it needs them.

onnxruntime reads a model's weights and builds its session without holding the GIL, so on two cores the ~0.5 s the
embedder and both reader graphs take to load can run while the main thread imports the answer chain (langchain-core
and chromadb alone take ~0.7 s). A second caller of a model that is still loading waits for that load instead of
starting its own.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import cache, wraps
from pathlib import Path
from typing import TypeVar

log = logging.getLogger(__name__)
Model = TypeVar("Model")


def loaded_once(load: Callable[[Path], Model]) -> Callable[[Path], Model]:
    """`load` cached per folder, one load at a time: a caller that arrives during a load gets that load's model."""
    cached = cache(load)
    lock = threading.Lock()

    @wraps(load)
    def get(folder: Path) -> Model:
        with lock:
            return cached(folder)

    return get


def load_models_ahead(model_dir: Path) -> threading.Thread:
    """Start loading the embedder and the reader in a daemon thread. A failure there is only logged: the command
    loads the model again when it needs it and reports the same failure in its own words."""

    def load() -> None:
        try:
            from retrieval.embeddings import get_embedder
            from retrieval.reader.model import get_reader

            get_embedder(model_dir)
            get_reader(model_dir)
        except Exception:
            log.debug("loading the models ahead failed", exc_info=True)

    thread = threading.Thread(target=load, name="load-models", daemon=True)
    thread.start()
    return thread
