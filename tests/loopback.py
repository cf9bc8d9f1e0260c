"""A scriptable HTTP server on 127.0.0.1 for tests: routes map a path to (status, headers, body, delay)."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LoopbackServer(ThreadingHTTPServer):
    """A threaded test server for which a client hanging up mid-response is normal, not an error.

    The code under test drops connections on purpose (a timeout, a cancelled stream). The standard server prints a
    traceback to stderr for each one, from a thread that outlives the test, and a later test that captures stderr
    (a CLI run) would then read that traceback as its own.
    """

    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/html; charset=utf-8"})
    delay_s: float = 0.0
    trickle_s: float = 0.0  # send the whole response (status line, headers, body) one byte per this many seconds


@dataclass
class LoopbackSite:
    port: int
    routes: dict[str, Route]
    requests: list[tuple[str, dict[str, str]]]

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    @property
    def paths(self) -> list[str]:
        return [p for p, _ in self.requests]


@contextmanager
def serve(routes: dict[str, Route]) -> Iterator[LoopbackSite]:
    requests: list[tuple[str, dict[str, str]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append((self.path, dict(self.headers)))
            route = routes.get(self.path, Route(404, b"not found", {"Content-Type": "text/plain"}))
            if route.delay_s:
                time.sleep(route.delay_s)
            etag = route.headers.get("ETag")
            if etag and self.headers.get("If-None-Match") == etag:  # conditional GET, as real feed servers do
                route = Route(304, b"", {"ETag": etag})
            headers = {"Content-Length": str(len(route.body)), **route.headers}
            if route.trickle_s:
                head = f"HTTP/1.1 {route.status} OK\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
                for byte in (head + "\r\n").encode() + route.body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(route.trickle_s)
                return
            self.send_response(route.status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(route.body)

        def log_message(self, *args: object) -> None:
            pass

    server = LoopbackServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LoopbackSite(server.server_address[1], routes, requests)
    finally:
        server.shutdown()
        server.server_close()
