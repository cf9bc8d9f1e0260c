"""Operating the bot: /healthz and /metrics over real HTTP on 127.0.0.1, JSON logs with a request id per question.

The bot is the real one on the recorded Discord wire (tests/discord_harness.py); the HTTP server is the real aiohttp
one the bot starts, read with a real HTTP client.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import aiohttp
import chromadb
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from bot.client import NewsdeskBot
from bot.health import HealthServer
from cli.main import app
from retrieval.errors import ConfigError
from retrieval.knowledge_base import Services
from retrieval.logs import configure_logging
from tests.chroma_server import chroma_server, free_port
from tests.conftest import SAMPLE_CORPUS, make_settings
from tests.discord_harness import CHANNEL_A, GUILD_A, Harness
from tests.test_bot_discord import MEMBER, OTHER, ask_payload, final_embed

QUESTION = "why did Canada ban Hikvision?"


async def get(url: str) -> tuple[int, str, str]:
    """Status, content type and body of a GET; a fresh connection each time, so no keep-alive task lingers."""
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session, session.get(url) as response:
        return response.status, response.headers["Content-Type"], await response.text()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, sorted labels): value} from a Prometheus text exposition."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_healthz_and_metrics_over_http_with_counters_moving(harness: Harness, tmp_path: Path) -> None:
    bot = harness.bot
    port = await bot.health.start("127.0.0.1", 0)
    base = f"http://127.0.0.1:{port}"
    try:
        # discord.py's harness never saw READY: the gateway counts as down, and only it.
        status, kind, body = await get(f"{base}/healthz")
        assert status == 503 and kind.startswith("application/json")
        assert json.loads(body) == {
            "status": "unavailable",
            "checks": {"gateway": "down", "store": "up", "database": "up"},
        }
        bot._ready.set()  # what the gateway's READY does
        status, _, body = await get(f"{base}/healthz")
        assert status == 200 and json.loads(body)["status"] == "ok"

        status, kind, before = await get(f"{base}/metrics")
        assert status == 200 and kind.startswith("text/plain")
        start = samples(before)
        answered = ("newsdesk_questions_total", (("outcome", "answered"),))
        refused = ("newsdesk_questions_total", (("outcome", "refused"),))
        offline = ("newsdesk_answer_seconds_count", (("mode", "offline"),))
        queued = ("newsdesk_queue_depth", (("queue", "questions"),))
        assert start[answered] == start[refused] == start[offline] == 0 and start[queued] == 0

        assert "national security" in final_embed(await harness.interact(ask_payload(harness, QUESTION)))["description"]
        refusal = await harness.interact(ask_payload(harness, "who won the 2026 football world cup?", user=OTHER))
        assert final_embed(refusal)["description"].startswith("I couldn't find")

        _, _, after = await get(f"{base}/metrics")
        moved = samples(after)
        assert moved[answered] == 1 and moved[refused] == 1 and moved[offline] == 2
        assert moved[("newsdesk_answer_seconds_sum", (("mode", "offline"),))] > 0
        assert moved[("newsdesk_llm_errors_total", ())] == 0
        assert str(tmp_path) not in after and str(tmp_path) not in body  # no paths leak over HTTP
    finally:
        await bot.health.stop()
    with pytest.raises(aiohttp.ClientConnectionError):
        await get(f"{base}/healthz")


@pytest.mark.slow
async def test_healthz_names_a_vector_store_that_is_down(harness: Harness, tmp_path: Path) -> None:
    """A real Chroma server that stops answering shows as `store`, and nothing about it leaks but the name."""
    bot = harness.bot
    bot._ready.set()
    port = await bot.health.start("127.0.0.1", 0)
    try:
        with chroma_server(tmp_path / "chroma") as chroma_port:
            bot.services.client = chromadb.HttpClient(host="127.0.0.1", port=chroma_port)
            status, _, body = await get(f"http://127.0.0.1:{port}/healthz")
            assert status == 200, body
        status, _, body = await get(f"http://127.0.0.1:{port}/healthz")
    finally:
        await bot.health.stop()
    assert status == 503
    assert json.loads(body)["checks"] == {"gateway": "up", "store": "down", "database": "up"}
    assert str(chroma_port) not in body and "onnect" not in body  # the part's name only, not the error


async def test_newsdesk_health_bot_reads_the_running_bots_healthz(harness: Harness, model_dir: Path) -> None:
    """The image's health check: `newsdesk health --bot` fails while the gateway is down and passes once it is up."""
    bot = harness.bot
    port = await bot.health.start("127.0.0.1", 0)
    env = {
        "NEWSDESK_DATA_DIR": str(bot.settings.data_dir),
        "NEWSDESK_MODEL_DIR": str(model_dir),
        "NEWSDESK_METRICS_PORT": str(port),
    }

    async def health() -> tuple[int, dict]:
        # In a worker thread: the command blocks on HTTP, and this event loop is the one that answers it.
        result = await asyncio.to_thread(CliRunner().invoke, app, ["health", "--bot", "--json"], env=env)
        return result.exit_code, json.loads(result.stdout)

    try:
        code, report = await health()
        assert code == 1 and report["checks"]["bot"] == {"ok": False, "detail": "the bot reports down: gateway"}
        bot._ready.set()
        code, report = await health()
        assert code == 0 and report["checks"]["bot"]["ok"], report
    finally:
        await bot.health.stop()
    code, report = await health()
    assert code == 1 and not report["checks"]["bot"]["ok"]


async def test_a_port_in_use_is_one_clear_sentence(harness: Harness) -> None:
    """A second server on a port already taken (another bot, say) stops with one sentence that names the setting."""
    port = await harness.bot.health.start("127.0.0.1", 0)
    try:
        with pytest.raises(ConfigError, match=f"Cannot serve /healthz on 127.0.0.1:{port}.*NEWSDESK_METRICS_PORT"):
            await HealthServer(harness.bot).start("127.0.0.1", port)
    finally:
        await harness.bot.health.stop()


@pytest.fixture
async def llm_down_harness(tmp_path: Path, model_dir: Path):
    """A bot set up for an LLM that does not answer (a closed port): every question falls back to offline."""
    settings = make_settings(
        tmp_path / "data",
        model_dir,
        openai_base_url=f"http://127.0.0.1:{free_port()}/v1",
        openai_api_key="test-key",
        llm_max_retries=0,
    )
    services = Services(settings)
    services.kb(f"guild-{GUILD_A}").ingest([str(SAMPLE_CORPUS)])
    h = Harness(NewsdeskBot(settings, services))
    await h.start()
    h.add_guild(GUILD_A, CHANNEL_A)
    yield h
    services.close()


async def test_json_logs_carry_one_request_id_per_question_into_worker_threads(
    llm_down_harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    """The LLM is down, so answering logs from worker threads (the fallback) as well as from the event loop."""
    configure_logging(True, service=True, json_format=True)
    try:
        await llm_down_harness.interact(ask_payload(llm_down_harness, QUESTION, user=MEMBER))
        await llm_down_harness.interact(ask_payload(llm_down_harness, "what did Canada order?", user=OTHER))
    finally:
        configure_logging()
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    finished = [line for line in lines if line["name"] == "bot.metrics"]
    assert len(finished) == 2, lines
    ids = [line["request_id"] for line in finished]
    assert all(ids) and ids[0] != ids[1]
    for request in ids:
        threads = {line["threadName"] for line in lines if line["request_id"] == request}
        assert "MainThread" in threads and len(threads) > 1, (request, lines)  # the loop's lines and a worker's
    metrics = samples(generate_latest(llm_down_harness.bot.metrics.registry).decode())
    assert metrics[("newsdesk_llm_fallbacks_total", ())] == 2 and metrics[("newsdesk_llm_errors_total", ())] == 2


def test_text_logs_stay_as_they_were(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(service=True)
    logging.getLogger("newsdesk.test").warning("plain line")
    err = capsys.readouterr().err
    assert "WARNING newsdesk.test: plain line" in err and not err.lstrip().startswith("{")


def test_a_bad_metrics_port_or_log_format_is_one_sentence(tmp_path: Path) -> None:
    for name, value in (("NEWSDESK_METRICS_PORT", "70000"), ("NEWSDESK_LOG_FORMAT", "xml")):
        result = CliRunner().invoke(app, ["kb", "list"], env={"NEWSDESK_DATA_DIR": str(tmp_path), name: value})
        assert result.exit_code == 2 and name in result.output and "Traceback" not in result.output, result.output
