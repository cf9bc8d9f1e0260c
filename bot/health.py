"""`/healthz` and `/metrics` over HTTP, served by aiohttp in the bot's own event loop (`newsdesk bot --metrics-port`).

/healthz answers 200 when the bot can do its job (gateway connected, vector store and state database reachable) and
503 naming the part that is down otherwise. Its body names parts only, never their addresses, paths or errors:
the port may be reachable by more than the operator. The details go to the log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from retrieval.errors import ConfigError

if TYPE_CHECKING:
    from bot.client import NewsdeskBot

log = logging.getLogger(__name__)
CHECK_TIMEOUT_S = 5.0  # a store that does not answer within this is down, as far as a health check is concerned


def gateway_connected(bot: NewsdeskBot) -> bool:
    """Ready (the gateway said READY), not closed, and every shard this process runs has an open connection."""
    return bot.is_ready() and not bot.is_closed() and all(not shard.is_closed() for shard in bot.shards.values())


class HealthServer:
    """The two endpoints; `start` binds them, `stop` closes them (both safe to call when not running)."""

    def __init__(self, bot: NewsdeskBot) -> None:
        self._bot = bot
        self._runner: web.AppRunner | None = None
        app = web.Application()
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.metrics)
        self._app = app
        # Blocking probes, run in a worker thread each: the Chroma heartbeat and a small read of the bot's state.
        self._probes: dict[str, Callable[[], object]] = {
            "store": lambda: bot.services.client.heartbeat(),
            "database": lambda: bot.store.recent_failures(0, limit=1),
        }

    async def start(self, host: str, port: int) -> int:
        """Listen on host:port (port 0: any free one); returns the port bound."""
        runner = web.AppRunner(self._app, access_log=None)  # scrapes every few seconds would flood the log
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:  # taken, or an address this host does not have: the operator's to fix
            await runner.cleanup()
            problem = f"Cannot serve /healthz on {host}:{port} ({exc.strerror}); check NEWSDESK_METRICS_PORT."
            raise ConfigError(problem) from None
        self._runner = runner
        bound = runner.addresses[0][1]
        log.info("health and metrics on http://%s:%s/", host, bound)
        return bound

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _probe(self, name: str, probe: Callable[[], object]) -> bool:
        try:
            await asyncio.wait_for(asyncio.to_thread(probe), CHECK_TIMEOUT_S)
        except Exception as exc:  # whatever went wrong, the part is down; the log keeps the why
            log.warning("health: %s is down: %r", name, exc)
            return False
        return True

    async def healthz(self, request: web.Request) -> web.Response:
        names = list(self._probes)
        results = await asyncio.gather(*(self._probe(name, self._probes[name]) for name in names))
        up = {"gateway": gateway_connected(self._bot), **dict(zip(names, results, strict=True))}
        healthy = all(up.values())
        body = {
            "status": "ok" if healthy else "unavailable",
            "checks": {k: "up" if v else "down" for k, v in up.items()},
        }
        return web.json_response(body, status=200 if healthy else 503)

    async def metrics(self, request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(self._bot.metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )
