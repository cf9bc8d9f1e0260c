"""LangSmith tracing: LANGSMITH_* settings reach LangChain, whose tracer posts the answer chain's runs.

The LangSmith side is a scripted stand-in on 127.0.0.1 that accepts what the real langsmith client sends (it asks
GET /info, then posts runs as multipart to /runs/multipart) and keeps every request.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from tests.conftest import SAMPLE_CORPUS
from tests.loopback import LoopbackServer


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeLangSmith:
    port: int
    requests: list[Received] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def posted(self) -> bytes:
        return b"".join(r.body for r in self.requests if r.method == "POST")


@contextmanager
def fake_langsmith() -> Iterator[FakeLangSmith]:
    site = FakeLangSmith(0)

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            size = int(self.headers.get("Content-Length") or 0)
            site.requests.append(Received(self.command, self.path, dict(self.headers), self.rfile.read(size)))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        do_GET = do_POST = do_PATCH = _answer

        def log_message(self, *args: object) -> None:
            """Quiet: the test reads `requests`."""

    server = LoopbackServer(("127.0.0.1", 0), Handler)
    site.port = server.server_port
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


def ask(tmp_path: Path, model_dir: Path, env: dict[str, str]) -> None:
    runner = CliRunner()
    base = {"NEWSDESK_DATA_DIR": str(tmp_path / "data"), "NEWSDESK_MODEL_DIR": str(model_dir)}
    for argv in (["ingest", str(SAMPLE_CORPUS)], ["ask", "why did Canada ban Hikvision?", "--json"]):
        result = runner.invoke(app, argv, env={**base, **env})
        assert result.exit_code == 0, result.output


def test_langsmith_settings_trace_the_answer_chain(tmp_path: Path, model_dir: Path) -> None:
    with fake_langsmith() as langsmith:
        env = {
            "LANGSMITH_TRACING": "true",
            "LANGSMITH_ENDPOINT": langsmith.url,
            "LANGSMITH_API_KEY": "ls-test-key",
            "LANGSMITH_PROJECT": "newsdesk-tests",
        }
        ask(tmp_path, model_dir, env)
    posts = [r for r in langsmith.requests if r.method == "POST"]
    assert posts, [r.path for r in langsmith.requests]
    assert all(r.headers.get("x-api-key") == "ls-test-key" for r in posts)
    body = langsmith.posted()
    assert b'"session_name":"newsdesk-tests"' in body
    # The chain's own named steps (docs/ARCHITECTURE.md): the whole run, retrieval, the offline writer, the check.
    for step in ("newsdesk", "retrieve", "write_offline", "verify_sentences"):
        assert f'"name":"{step}"'.encode() in body, step
    assert b"why did Canada ban Hikvision?" in body


def test_nothing_is_sent_unless_tracing_is_on(tmp_path: Path, model_dir: Path) -> None:
    with fake_langsmith() as langsmith:
        ask(tmp_path, model_dir, {"LANGSMITH_ENDPOINT": langsmith.url, "LANGSMITH_API_KEY": "ls-test-key"})
    assert langsmith.requests == []
