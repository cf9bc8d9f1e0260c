"""Engines and transactions for the state store, with what each backend needs to behave the same.

SQLite: WAL so readers never wait for the writer, a busy timeout so processes on one host take turns, and writes
begin with BEGIN IMMEDIATE so two writers queue instead of failing when one upgrades a read lock. PostgreSQL through
psycopg 3: connections are checked before use, so a restarted server costs one retry, not an error.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import (
    Connection,
    Engine,
    LargeBinary,
    Table,
    cast,
    create_engine,
    event,
    exc,
    func,
    literal_column,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.sql import Executable
from sqlalchemy.sql.elements import ColumnElement

from retrieval.errors import DatabaseUnavailableError
from retrieval.settings import Settings
from retrieval.state.migrations import migrate
from retrieval.state.tables import Part

log = logging.getLogger(__name__)
UNREACHABLE = "The state database cannot be reached; check DATABASE_URL and that PostgreSQL is running."
_SQLITE_BUSY_S = 30


def postgres_url(url: str) -> str:
    """`postgresql://…` as people write it, with SQLAlchemy told to use psycopg 3."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def _sqlite_engine(path: Path) -> Engine:
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": _SQLITE_BUSY_S})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # we send BEGIN ourselves (below), pysqlite must not
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("writes") else "BEGIN")

    return engine


def engine_for(url: str | None, sqlite_path: Path) -> Engine:
    """PostgreSQL when a URL is given, else the SQLite file."""
    if url is None:
        return _sqlite_engine(sqlite_path)
    return create_engine(postgres_url(url), pool_pre_ping=True, pool_size=4, max_overflow=8)


class Database:
    """One part's tables on an engine: short read and write transactions, and the dialect's upsert."""

    def __init__(self, engine: Engine, part: Part) -> None:
        self.engine = engine
        self.part = part
        self._writer = engine.execution_options(writes=True)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self._unavailable_as_error(), self.engine.connect() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self._unavailable_as_error(), self._writer.begin() as conn:
            yield conn

    def rows(self, query: Executable) -> list[tuple]:
        """Every row of a read-only query, as plain tuples."""
        with self.read() as conn:
            return [tuple(row) for row in conn.execute(query)]

    def insert(self, table: Table) -> postgresql.Insert | sqlite.Insert:
        """An INSERT that can say ON CONFLICT … (both dialects spell it the same through SQLAlchemy)."""
        return (postgresql.insert if self.is_postgres else sqlite.insert)(table)

    def now(self) -> ColumnElement[float]:
        """Epoch seconds on the database's clock: leases compare times from several hosts against one clock."""
        if self.is_postgres:
            return literal_column("extract(epoch from clock_timestamp())::double precision")
        return literal_column("((julianday('now') - 2440587.5) * 86400.0)")

    def text_bytes(self, column: ColumnElement[str]) -> ColumnElement[int]:
        """UTF-8 bytes of a text column (what quotas count); SQLite 3.40 has no octet_length."""
        if self.is_postgres:
            return func.octet_length(column)
        return func.length(cast(column, LargeBinary))

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _unavailable_as_error(self) -> Iterator[None]:
        try:
            yield
        except (exc.OperationalError, exc.InterfaceError) as error:
            log.warning("state database (%s) failed: %s", self.part.name, error.orig or error)
            raise DatabaseUnavailableError(UNREACHABLE) from error


def ping(settings: Settings) -> str:
    """Whether the state database answers (health checks); DatabaseUnavailableError when it does not."""
    if settings.database_url is None:
        return f"SQLite files in {settings.data_dir}"
    engine = engine_for(settings.database_url, settings.data_dir)
    try:
        with Database(engine, Part("ping", "", ())).read() as conn:
            conn.execute(text("SELECT 1"))
    finally:
        engine.dispose()
    return "PostgreSQL (DATABASE_URL) answers"


def open_database(settings: Settings, part: Part) -> Database:
    """The part's tables, migrated: DATABASE_URL's database, else `<data dir>/<part's file>`."""
    database = Database(engine_for(settings.database_url, settings.data_dir / part.sqlite_file), part)
    with database.write() as conn:
        applied = migrate(conn, part)
    if applied:
        log.info("state %s: applied %d schema steps", part.name, applied)
    return database
