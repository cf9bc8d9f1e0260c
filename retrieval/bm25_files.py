"""BM25 indexes kept on disk, so a new process (a cold `newsdesk ask`) loads a knowledge base's index instead of
tokenising and indexing every passage again.

An index is named after a digest of exactly what it was built from (the passages' indexed text, in order, and how
they were tokenised), so a knowledge base that changed in any way (ingest, remove, refresh, or deleted and made
again) never meets its old index: it simply does not find one under the new name. Each knowledge base keeps one
index; a new one replaces the older ones. Indexes are written to a temporary folder and renamed into place, so a
crashed or concurrent writer never leaves a half index to be loaded; the temporary folders of writers that died are
deleted by a later save or load once they are STALE_AFTER_S old. Dropping a knowledge base deletes its folder
(`delete_all`).
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import bm25s

log = logging.getLogger(__name__)
_TEMPORARY = ".tmp-"

STALE_AFTER_S = 3600.0
"""Age (since its last change) past which a temporary folder is a dead writer's leftover, deleted by the next save
or load. A live writer changes its folder while `bm25s` writes the index's few files (an index of 20k passages saved
in 8-54 ms here), so an hour-old one can only belong to a process killed mid-save; anything younger may be another
process saving right now, and deleting it would make that save fail."""


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
            index = bm25s.BM25.load(str(target), show_progress=False)
        except (OSError, ValueError, EOFError) as exc:  # removed by a newer writer meanwhile, or damaged: rebuild
            log.warning("could not load the BM25 index %s (%s); rebuilding it", target, exc)
        else:
            _remove_leftovers(folder, keep=None)
            return index
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
    _remove_leftovers(target.parent, keep=target.name)


def _remove_leftovers(folder: Path, *, keep: str | None) -> None:
    """Delete the temporary folders in `folder` older than STALE_AFTER_S and, when `keep` names the index just
    saved, every other index: they were built from passages the knowledge base no longer has. Failures are left for
    the next call: a leftover wastes disk, it is never loaded."""
    stale_before = time.time() - STALE_AFTER_S
    try:
        entries = list(folder.iterdir())
    except OSError:  # the knowledge base was dropped meanwhile
        return
    for entry in entries:
        if entry.name.startswith(_TEMPORARY):
            if _changed_at(entry) < stale_before:
                shutil.rmtree(entry, ignore_errors=True)
        elif keep is not None and entry.name != keep:
            shutil.rmtree(entry, ignore_errors=True)


def _changed_at(path: Path) -> float:
    """When `path` last changed; never stale when it has gone (its writer renamed it into place meanwhile)."""
    try:
        return path.stat().st_mtime
    except OSError:
        return math.inf


def delete_all(folder: Path) -> None:
    """Delete `folder` with every index and temporary folder in it: its knowledge base is being dropped. A failure
    is logged, not raised, so it never stops the drop: an index left behind matches only the passages it was built
    from, so at worst it wastes disk."""
    try:
        shutil.rmtree(folder)
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("could not delete the BM25 indexes in %s: %s", folder, exc)
