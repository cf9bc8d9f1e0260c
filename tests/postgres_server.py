"""Start a real PostgreSQL server (initdb + postgres from PATH) for the test session, on a free loopback port.

initdb refuses to run as root, and CI may run as root: then the cluster is made and run by `nobody`, in a temporary
folder under /tmp that this user owns (pytest's own temp folders are private to root). Each test gets a database of
its own from `new_database`, so tests never see each other's rows.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from tests.chroma_server import free_port

UNPRIVILEGED = "nobody"
_names = itertools.count(1)
# A throw-away cluster: durability settings off for speed; room for several bots' connection pools.
_FAST = ("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=300")


class PostgresUnavailable(RuntimeError):
    """PostgreSQL cannot be started here; the message says why."""


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    runuser = shutil.which("runuser") or shutil.which("setpriv")
    if runuser is None:
        raise PostgresUnavailable("running as root and neither runuser nor setpriv is available to drop privileges")
    if runuser.endswith("setpriv"):
        return [runuser, "--reuid", UNPRIVILEGED, "--regid", "nogroup", "--clear-groups", *command]
    return [runuser, "-u", UNPRIVILEGED, "--", *command]


class PostgresServer:
    def __init__(self, port: int) -> None:
        self.port = port

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database; returns its DATABASE_URL."""
        name = f"newsdesk_test_{os.getpid()}_{next(_names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """A running server for the duration of the block; PostgresUnavailable when it cannot start."""
    for binary in ("initdb", "postgres"):
        if shutil.which(binary) is None:
            raise PostgresUnavailable(f"{binary} is not on PATH (install PostgreSQL 15 or newer)")
    home = Path(tempfile.mkdtemp(prefix="newsdesk-pg-", dir="/tmp"))
    data = home / "data"
    if os.geteuid() == 0:
        shutil.chown(home, UNPRIVILEGED)
    port = free_port()
    try:
        init = subprocess.run(
            _as_server_user(["initdb", "-D", str(data), "-U", "postgres", "-A", "trust", "--locale=C", "-E", "UTF8"]),
            capture_output=True,
            text=True,
        )
        if init.returncode != 0:
            raise PostgresUnavailable(f"initdb failed: {init.stderr.strip()[-300:]}")
        server = subprocess.Popen(
            _as_server_user(["postgres", "-D", str(data), "-h", "127.0.0.1", "-p", str(port), "-k", str(home), *_FAST]),
            stdout=subprocess.DEVNULL,
            stderr=(home / "server.log").open("wb"),  # a file, not a pipe: a full pipe would stall the server
        )
        try:
            _wait_until_accepting(server, port, home / "server.log")
            yield PostgresServer(port)
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _wait_until_accepting(server: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if server.poll() is not None:
                error = log.read_text(errors="replace")
                raise PostgresUnavailable(f"postgres exited: {error.strip()[-300:]}") from None
            if time.monotonic() > deadline:
                raise PostgresUnavailable("postgres did not accept connections within 60 s") from None
            time.sleep(0.1)
