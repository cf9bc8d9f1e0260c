"""Versioned schema changes, run whenever a part is opened.

Each part has an ordered list of steps; `schema_version` counts how many a database has had, so a step runs once.
Step 1 creates the current tables where they are missing, so later steps that add a column first look whether it is
there: on a new database it already is, on an old SQLite file (records.sqlite3 from before `author`, say) it is not.
Steps run in one transaction, under an advisory lock on PostgreSQL, so processes starting together migrate once.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Column, Connection, inspect, select, text

from retrieval.state import tables
from retrieval.state.tables import Part

Step = Callable[[Connection], None]
_MIGRATION_LOCK = 7_061_736  # any constant: the advisory lock every newsdesk process takes to migrate


def _columns(conn: Connection, table: str) -> set[str]:
    return {c["name"] for c in inspect(conn).get_columns(table)}


def _create(part: Part) -> Step:
    def step(conn: Connection) -> None:
        tables.metadata.create_all(conn, tables=list(part.tables), checkfirst=True)

    return step


def _add_column(table: str, column: Column, fill: Callable[[], object] | None = None) -> Step:
    """ALTER TABLE … ADD COLUMN when the column is missing, optionally filling existing rows."""

    def step(conn: Connection) -> None:
        if column.name in _columns(conn, table):
            return
        kind = column.type.compile(dialect=conn.dialect)
        default = f" NOT NULL DEFAULT {column.server_default.arg}" if column.server_default is not None else ""
        conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {column.name} {kind}{default}")
        if fill is not None:
            conn.execute(text(f"UPDATE {table} SET {column.name} = :value"), {"value": fill()})

    return step


def _number_failures(conn: Connection) -> None:
    """Old bot files ordered failures by SQLite's hidden rowid; give them a real id (PostgreSQL has no rowid)."""
    if "id" in _columns(conn, "failures"):
        return
    conn.exec_driver_sql("ALTER TABLE failures RENAME TO failures_before_ids")
    tables.failures.create(conn)
    conn.exec_driver_sql(
        "INSERT INTO failures (guild_id, source, error, created) "
        "SELECT guild_id, source, error, created FROM failures_before_ids ORDER BY rowid"
    )
    conn.exec_driver_sql("DROP TABLE failures_before_ids")


STEPS: dict[str, list[Step]] = {
    tables.RECORDS.name: [
        _create(tables.RECORDS),
        _add_column("articles", tables.articles.c.author),
        _add_column("articles", tables.articles.c.published_approximate),
    ],
    tables.FEEDS.name: [
        _create(tables.FEEDS),
        _add_column("failed_items", tables.failed_items.c.first_failed, fill=time.time),
    ],
    tables.BOT.name: [
        _create(tables.BOT),
        _add_column("answers", tables.answers.c.user_id),
        _add_column("answers", tables.answers.c.private),
        _number_failures,
    ],
}


def migrate(conn: Connection, part: Part) -> int:
    """Bring `part` up to date inside the caller's transaction; returns the number of steps applied."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
    tables.schema_version.create(conn, checkfirst=True)
    version = tables.schema_version.c.version
    done = conn.scalar(select(version).where(tables.schema_version.c.part == part.name)) or 0
    steps = STEPS[part.name][done:]
    for step in steps:
        step(conn)
    if steps:
        conn.execute(tables.schema_version.delete().where(tables.schema_version.c.part == part.name))
        conn.execute(tables.schema_version.insert().values(part=part.name, version=len(STEPS[part.name])))
    return len(steps)
