"""Kill an ingest mid-way, re-run it, and check the index is exactly what a clean build gives: with the records in
SQLite files and in PostgreSQL (the `database_url` fixture runs it on both)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from retrieval.knowledge_base import Services
from retrieval.state.database import engine_for
from retrieval.state.tables import chunks
from retrieval.store import open_collection
from tests.conftest import ROOT, make_settings

ARTICLES = 320


def write_corpus(path: Path, version: str) -> None:
    with path.open("w") as f:
        for i in range(ARTICLES):
            text = f"Report {i} ({version}): the council voted on budget item {i * 7} and the {version} figures."
            f.write(json.dumps({"title": f"Council report {i}", "text": text, "outlet": "Gazette"}) + "\n")


def snapshot(data_dir: Path, model_dir: Path, database_url: str | None) -> tuple[dict, dict]:
    """(chunk id -> text) of the vectors in Chroma and (article id -> content hash) in the records, after recovery."""
    services = Services(make_settings(data_dir, model_dir, database_url=database_url))
    kb = services.kb("default")  # opening replays the journal
    collection = open_collection(services.client, "default", services.embedder.name, create=False)
    passages = {c.chunk_id: c.text for c in services.records.chunks("default")}
    # Chroma holds vectors only; their text is the records'. Each vector has its passage there and each passage its
    # vector, so neither store is ahead of the other.
    ids = collection.get(include=[])["ids"]
    assert sorted(ids) == sorted(passages)
    vectors = {cid: passages[cid] for cid in ids}
    records = {a.id: a.content_hash for a in kb.articles()}
    services.close()
    # Chunk ids are "<article id>-<content hash>-<n>": each vector must belong to its article's recorded version,
    # so no article is half old and half new and no vector is orphaned.
    assert all(records.get(cid.split("-")[0], "")[:8] == cid.split("-")[1] for cid in vectors)
    return vectors, records


def run_ingest(data_dir: Path, model_dir: Path, corpus: Path, database_url: str | None) -> subprocess.Popen:
    env = {**os.environ, "NEWSDESK_DATA_DIR": str(data_dir), "NEWSDESK_MODEL_DIR": str(model_dir)}
    if database_url:
        env["DATABASE_URL"] = database_url
    return subprocess.Popen(
        [sys.executable, "-m", "cli", "ingest", str(corpus), "--json"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def exit_code(proc: subprocess.Popen) -> int:
    """Wait for `proc`, reading its output as it comes: a report that names every article outgrows a pipe's buffer,
    and an unread pipe would block the ingest for ever."""
    proc.communicate(timeout=300)
    return proc.returncode


def updated_articles(data_dir: Path, version: str, database_url: str | None) -> int:
    engine = engine_for(database_url, data_dir / "records.sqlite3")
    try:
        with engine.connect() as conn:
            return conn.scalar(select(func.count()).where(chunks.c.text.like(f"%({version})%")))
    except OperationalError:  # not created yet
        return 0
    finally:
        engine.dispose()


@pytest.mark.slow
def test_killed_ingest_recovers_to_the_clean_build(
    tmp_path: Path, model_dir: Path, database_url: str | None, request: pytest.FixtureRequest
) -> None:
    crashed_url = database_url  # the clean build gets a database of its own
    clean_url = request.getfixturevalue("postgres").new_database() if database_url else None
    v1, v2 = tmp_path / "v1.jsonl", tmp_path / "v2.jsonl"
    write_corpus(v1, "v1")
    write_corpus(v2, "v2")
    crashed, clean = tmp_path / "crashed", tmp_path / "clean"

    assert exit_code(run_ingest(crashed, model_dir, v1, crashed_url)) == 0
    proc = run_ingest(crashed, model_dir, v2, crashed_url)
    deadline = time.monotonic() + 300
    while updated_articles(crashed, "v2", crashed_url) == 0 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the ingest finished before it could be interrupted; make the corpus larger"
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    _, records = snapshot(crashed, model_dir, crashed_url)  # mid-way: a mix of whole v1 and whole v2 articles
    assert len(records) == ARTICLES

    rerun = run_ingest(crashed, model_dir, v2, crashed_url)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert json.loads(out)["unchanged"] > 0  # the work done before the kill was kept

    assert exit_code(run_ingest(clean, model_dir, v2, clean_url)) == 0
    assert snapshot(crashed, model_dir, crashed_url) == snapshot(clean, model_dir, clean_url)
