"""BM25 indexes kept on disk, so a new process (a cold `newsdesk ask`) loads a knowledge base's index instead of
tokenising and indexing every passage again.

An index is named after a digest of exactly what it was built from (the passages' indexed text, in order, and how
they were tokenised), so a knowledge base that changed in any way (ingest, remove, refresh, or deleted and made
again) never meets its old index: it simply does not find one under the new name. Each knowledge base keeps one
index; a new one replaces the older ones. Indexes are written to a temporary folder and renamed into place, so a
crashed or concurrent writer never leaves a half index to be loaded.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import bm25s

log = logging.getLogger(__name__)
_TEMPORARY = ".tmp-"


def index_name(texts: Sequence[str], tokenising: str) -> str:
    """What the index is built from, as a file name: the texts in order and a description of their tokenisation."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"bm25s {bm25s.__version__} {tokenising}".encode())
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def load_or_build(folder: Path | None, name: str, build: Callable[[], bm25s.BM25]) -> bm25s.BM25:
    """The index saved in `folder` as `name`, or `build()` saved there for the next process. `folder` None: build
    and keep nothing (no data directory to keep it in)."""
    if folder is None:
        return build()
    target = folder / name
    if target.is_dir():
        try:
            return bm25s.BM25.load(str(target), show_progress=False)
        except (OSError, ValueError, EOFError) as exc:  # removed by a newer writer meanwhile, or damaged: rebuild
            log.warning("could not load the BM25 index %s (%s); rebuilding it", target, exc)
    index = build()
    try:
        _save(index, target)
    except OSError as exc:  # a read-only or full disk costs the next process a rebuild, never this answer
        log.warning("could not save the BM25 index into %s: %s", folder, exc)
    return index


def _save(index: bm25s.BM25, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=_TEMPORARY))
    try:
        index.save(str(staging), show_progress=False)
        os.replace(staging, target)
    except OSError:
        if not target.is_dir():  # another process renamed the same index into place first: that one serves
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    for old in target.parent.iterdir():
        if old != target and not old.name.startswith(_TEMPORARY):
            shutil.rmtree(old, ignore_errors=True)
