"""`newsdesk health`: can this process answer? The container HEALTHCHECK runs it.

It checks what a running bot depends on and a container can lose: the built models, a writable data dir (the
volume), and the Chroma server. With --bot it also asks the running bot's own /healthz (NEWSDESK_METRICS_PORT),
which alone knows whether the Discord gateway is connected.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Annotated

import typer
from rich.markup import escape

from cli.output import JSON_OPTION, console, emit, state
from retrieval.settings import Settings

UNHEALTHY = 1  # Docker reads exit 1 as "unhealthy" (2 is reserved there), so health never uses the usual 2
BOT_TIMEOUT_S = 10.0  # the bot's own checks give up after 5 s each


def _models(settings: Settings) -> str:
    """The graphs are built at install (or image build) time; here this is a lookup, never a rebuild in practice."""
    from retrieval.embeddings.model import prepare_model
    from retrieval.reader.model import prepare_reader

    embedder = prepare_model(settings.model_cache_dir)
    reader = prepare_reader(settings.model_cache_dir)
    for graph in (embedder, reader):
        if not os.access(graph, os.R_OK):  # built by root with a private mode, say, in an image run as another user
            raise PermissionError(f"{graph} is not readable by this user")
    return f"{embedder.name}, {reader.name} in {settings.model_cache_dir}"


def _data_dir(settings: Settings) -> str:
    """Records, feeds and bot settings are written here: a volume mounted read-only or owned by root shows up now."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if not os.access(settings.data_dir, os.W_OK | os.X_OK):
        raise PermissionError(f"{settings.data_dir} is not writable by this user")
    return f"{settings.data_dir} is writable"


def _store(settings: Settings) -> str:
    """A Chroma server must answer its heartbeat; an embedded store is not opened a second time beside the bot."""
    if not settings.chroma_host:
        return f"embedded store in {settings.chroma_dir}"
    from retrieval.store import connect

    connect(settings).heartbeat()
    return f"Chroma server at {settings.chroma_host}:{settings.chroma_port} answers"


def _database(settings: Settings) -> str:
    """Records, feed state and bot settings: a PostgreSQL server (DATABASE_URL) must answer."""
    from retrieval.state.database import ping

    return ping(settings)


def _bot(settings: Settings) -> str:
    """The bot in this host or container answers /healthz with 200; a 503 names the parts it found down."""
    if not settings.metrics_port:
        raise ValueError("NEWSDESK_METRICS_PORT is not set, so the bot serves no /healthz")
    host = settings.metrics_host
    host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else f"[{host}]" if ":" in host else host
    url = f"http://{host}:{settings.metrics_port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=BOT_TIMEOUT_S):
            return f"{url} answers: gateway, store and database up"
    except urllib.error.HTTPError as exc:
        checks = json.loads(exc.read() or b"{}").get("checks", {})
        down = ", ".join(name for name, value in checks.items() if value != "up") or f"HTTP {exc.code}"
        raise RuntimeError(f"the bot reports down: {down}") from None


CHECKS: dict[str, Callable[[Settings], str]] = {
    "models": _models,
    "data_dir": _data_dir,
    "store": _store,
    "database": _database,
}


def health(
    ctx: typer.Context,
    bot: Annotated[
        bool, typer.Option("--bot", help="Also ask the running bot's /healthz (the image's health check).")
    ] = False,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Check the models, the data dir, the store and the database; exit 1 if any fails (the container health check)."""
    settings = state(ctx).settings
    results: dict[str, dict[str, object]] = {}
    checks = {**CHECKS, "bot": _bot} if bot else CHECKS
    for name, check in checks.items():
        try:
            results[name] = {"ok": True, "detail": check(settings)}
        except Exception as exc:  # every failure is a finding to report, whatever raised it
            results[name] = {"ok": False, "detail": str(exc) or type(exc).__name__}
    healthy = all(result["ok"] for result in results.values())

    def render() -> None:
        for name, result in results.items():
            mark = "[green]ok[/green]" if result["ok"] else "[red]failed[/red]"
            console.print(f"{name}: {mark} {escape(str(result['detail']))}", highlight=False)

    emit({"healthy": healthy, "checks": results}, as_json, render)
    if not healthy:
        raise typer.Exit(UNHEALTHY)
