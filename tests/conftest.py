"""Shared fixtures: isolated settings, one embedding model per test session, real Chroma."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from retrieval.embeddings.model import prepare_model
from retrieval.knowledge_base import Services
from retrieval.reader.model import Reader
from retrieval.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_CORPUS = ROOT / "examples" / "corpus"
SHARED_DATA = ROOT.parent / "shared" / "data"
_ENV_PREFIXES = ("NEWSDESK_", "OPENAI_", "CHROMA_", "DISCORD_", "LANGSMITH_", "LANGCHAIN_")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never inherit a developer's keys or data dir."""
    for name in list(os.environ):
        if name.startswith(_ENV_PREFIXES):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model")
    prepare_model(path)
    return path


def full_graph_runs(reader: Reader, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """From now on, the batch size of each run of `reader`'s full graph (the seven-layer one the faster paths avoid)."""
    runs: list[int] = []
    original = Reader._run_model
    full = reader._session

    def counted(self: Reader, session, feeds):
        if session is full:
            runs.append(len(next(iter(feeds.values()))))
        return original(self, session, feeds)

    monkeypatch.setattr(Reader, "_run_model", counted)
    return runs


def make_settings(data_dir: Path, model_dir: Path, **overrides: object) -> Settings:
    return Settings(_env_file=None, data_dir=data_dir, model_dir=model_dir, **overrides)


@pytest.fixture(scope="session")
def postgres():
    """One real PostgreSQL server for the session (tests/postgres_server.py); skipped only where it cannot start."""
    from tests.postgres_server import PostgresUnavailable, postgres_server

    try:
        with postgres_server() as server:
            yield server
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL could not be started, so the PostgreSQL runs are skipped: {exc}")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """The state-store tests run twice: on the SQLite files (no URL) and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("postgres").new_database()


@pytest.fixture
def settings(tmp_path: Path, model_dir: Path) -> Settings:
    return make_settings(tmp_path / "data", model_dir)


@pytest.fixture
def run(tmp_path: Path, model_dir: Path):
    runner = CliRunner()
    env = {"NEWSDESK_DATA_DIR": str(tmp_path / "data"), "NEWSDESK_MODEL_DIR": str(model_dir)}

    def invoke(*args: str, code: int = 0) -> dict:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == code, (result.output, result.exception)
        assert "Traceback" not in result.output
        return json.loads(result.stdout) if "--json" in args and result.stdout.strip() else {"text": result.output}

    return invoke


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    svc = Services(settings)
    yield svc
    svc.close()


@pytest.fixture
async def harness(tmp_path: Path, model_dir: Path):
    """The bot on a recorded wire, in two servers; server A's knowledge base holds the sample page."""
    from bot.client import NewsdeskBot
    from tests.discord_harness import CHANNEL_A, CHANNEL_B, GUILD_A, GUILD_B, Harness

    settings = make_settings(tmp_path / "data", model_dir, user_cooldown_s=30, guild_concurrency=2)
    services = Services(settings)
    services.kb(f"guild-{GUILD_A}").ingest([str(SAMPLE_CORPUS)])
    h = Harness(NewsdeskBot(settings, services))
    await h.start()
    h.add_guild(GUILD_A, CHANNEL_A)
    h.add_guild(GUILD_B, CHANNEL_B)
    yield h
    services.close()
