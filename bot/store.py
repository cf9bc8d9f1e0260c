"""What the bot remembers locally (in the data dir): answers shown, feedback given, ingest failures per server."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from pathlib import Path

from retrieval.sqlite import SharedSqlite
from retrieval.types import Answer, IngestFailure

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (id TEXT PRIMARY KEY, guild_id INTEGER, question TEXT, payload TEXT, created TEXT);
CREATE TABLE IF NOT EXISTS feedback (
    answer_id TEXT, user_id INTEGER, helpful INTEGER, reason TEXT, created TEXT, PRIMARY KEY (answer_id, user_id)
);
CREATE TABLE IF NOT EXISTS failures (guild_id INTEGER, source TEXT, error TEXT, created TEXT);
"""
FEEDBACK_REASONS = {"wrong_source": "Wrong source", "outdated": "Outdated", "not_in_kb": "Not in the knowledge base"}


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


class BotStore:
    def __init__(self, path: Path) -> None:
        self._db = SharedSqlite(path, _SCHEMA)

    def remember(self, guild_id: int | None, answer: Answer) -> str:
        """Keep an answer so its buttons (feedback, show passage) work after a restart; returns its id."""
        answer_id = secrets.token_hex(6)
        self._db.run(
            "INSERT INTO answers VALUES (?, ?, ?, ?, ?)",
            (answer_id, guild_id, answer.question, json.dumps(answer.to_dict()), _now()),
        )
        return answer_id

    def answer(self, answer_id: str) -> dict | None:
        rows = self._db.run("SELECT payload FROM answers WHERE id = ?", (answer_id,))
        return json.loads(rows[0][0]) if rows else None

    def record_feedback(self, answer_id: str, user_id: int, helpful: bool, reason: str | None = None) -> None:
        self._db.run(
            "INSERT OR REPLACE INTO feedback VALUES (?, ?, ?, ?, ?)", (answer_id, user_id, int(helpful), reason, _now())
        )

    def feedback(self, answer_id: str) -> list[tuple[int, bool, str | None]]:
        rows = self._db.run("SELECT user_id, helpful, reason FROM feedback WHERE answer_id = ?", (answer_id,))
        return [(u, bool(h), r) for u, h, r in rows]

    def record_failures(self, guild_id: int, failures: list[IngestFailure]) -> None:
        for f in failures:
            self._db.run("INSERT INTO failures VALUES (?, ?, ?, ?)", (guild_id, f.source, f.error, _now()))

    def recent_failures(self, guild_id: int, limit: int = 5) -> list[tuple[str, str, str]]:
        return self._db.run(
            "SELECT source, error, created FROM failures WHERE guild_id = ? ORDER BY created DESC, rowid DESC LIMIT ?",
            (guild_id, limit),
        )
