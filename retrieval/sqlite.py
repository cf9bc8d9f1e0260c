"""A SQLite file shared by the threads of one process: the small stores (feeds, bot state) use it as is."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path


class SharedSqlite:
    """One connection in autocommit mode; a lock serialises statements from worker threads."""

    def __init__(self, path: Path, schema: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")  # several bot processes on one host may share the file
        self._db.executescript(schema)

    def run(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def run_many(self, sql: str, rows: list[tuple]) -> None:
        """One transaction for many rows."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(sql, rows)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
