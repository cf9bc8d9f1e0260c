"""`newsdesk migrate`: copy a SQLite data dir's state into the PostgreSQL database named by DATABASE_URL.

Both sides are migrated to the current schema first (the SQLite files upgrade in place, as on any start). Rows are
inserted with ON CONFLICT DO NOTHING on each table's key, so running it again copies only what is new and never
overwrites what the running bots wrote since. Leases are not copied: they belong to running processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Table, func, select, text

from retrieval.errors import BadInputError
from retrieval.settings import Settings
from retrieval.state.database import Database, open_database
from retrieval.state.tables import PARTS, failures, leases

_RENUMBER_FAILURES = (
    "SELECT setval(pg_get_serial_sequence('failures', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM failures"
)
BATCH = 2000  # rows per INSERT: a big records file is copied without holding it all in memory


@dataclass
class CopyReport:
    source: str
    tables: dict[str, dict[str, int]] = field(default_factory=dict)  # table -> {"read", "added"}
    missing: list[str] = field(default_factory=list)  # SQLite files the data dir does not have

    def to_dict(self) -> dict[str, object]:
        return {"source": self.source, "tables": self.tables, "missing": self.missing}


def copy_sqlite_state(settings: Settings, source_dir: Path) -> CopyReport:
    """Copy every part's SQLite file under `source_dir` into `settings.database_url`."""
    if not settings.database_url:
        raise BadInputError("DATABASE_URL is not set; set it to the PostgreSQL database to copy the state into.")
    report = CopyReport(str(source_dir))
    if not any((source_dir / part.sqlite_file).is_file() for part in PARTS):
        names = ", ".join(part.sqlite_file for part in PARTS)
        raise BadInputError(f"{source_dir} holds none of {names}; point --from at a newsdesk data dir.")
    local = settings.model_copy(update={"database_url": None, "data_dir": source_dir})
    for part in PARTS:
        if not (source_dir / part.sqlite_file).is_file():
            report.missing.append(part.sqlite_file)
            continue
        source, target = open_database(local, part), open_database(settings, part)
        try:
            for table in part.tables:
                if table is not leases:
                    report.tables[table.name] = _copy_table(source, target, table)
        finally:
            source.close()
            target.close()
    return report


def _copy_table(source: Database, target: Database, table: Table) -> dict[str, int]:
    keys = [c for c in table.primary_key.columns]
    insert = target.insert(table).on_conflict_do_nothing(index_elements=keys)
    with target.write() as out:
        before = out.scalar(select(func.count()).select_from(table))
        read = 0
        with source.read() as conn:
            rows = conn.execute(select(table))
            while batch := rows.fetchmany(BATCH):
                out.execute(insert, [dict(row._mapping) for row in batch])
                read += len(batch)
        if table is failures and target.is_postgres:  # ids were copied: new rows must number after them
            out.execute(text(_RENUMBER_FAILURES))
        added = out.scalar(select(func.count()).select_from(table)) - before
    return {"read": read, "added": added}
