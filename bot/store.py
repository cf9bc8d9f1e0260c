"""What the bot remembers locally (in the data dir): answers shown, feedback given, ingest failures per server."""

from __future__ import annotations

import dataclasses
import json
import secrets
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path

from retrieval.sqlite import SharedSqlite
from retrieval.types import Answer, IngestFailure

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY, guild_id INTEGER, question TEXT, payload TEXT, created TEXT, user_id INTEGER, private INTEGER
);
CREATE TABLE IF NOT EXISTS feedback (
    answer_id TEXT, user_id INTEGER, helpful INTEGER, reason TEXT, created TEXT, PRIMARY KEY (answer_id, user_id)
);
CREATE TABLE IF NOT EXISTS failures (guild_id INTEGER, source TEXT, error TEXT, created TEXT);
CREATE TABLE IF NOT EXISTS guild_settings (guild_id INTEGER PRIMARY KEY, payload TEXT);
"""
FEEDBACK_REASONS = {"wrong_source": "Wrong source", "outdated": "Outdated", "not_in_kb": "Not in the knowledge base"}


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class ChannelRule:
    """How newsdesk behaves in one channel (`/kb settings channel: answer_in: listen:`)."""

    answer_in: str = "thread"  # "thread": a new thread under the question; "reply": a reply right where it was asked
    listen: str = "mentions"  # "mentions": only when addressed; "questions": every message that reads as a question


@dataclass(frozen=True)
class GuildSettings:
    """What a server's moderators chose with `/kb settings`. Stored as one JSON object per server: a field added
    later needs a default, so that settings saved before it still load."""

    audit_channel: int | None = None  # where knowledge-base changes are logged
    ask_channel: int | None = None  # every question here is answered, in a thread (a #ask-the-news channel)
    mentions_only_in_ask_channel: bool = False  # otherwise mentions are answered in every channel
    forum_channel: int | None = None  # a support forum: every new post is answered inside the post
    channels: dict[str, ChannelRule] = field(default_factory=dict)  # per channel, keyed by its id as text (JSON)

    @classmethod
    def from_payload(cls, payload: dict) -> GuildSettings:
        """Settings as stored; keys this version does not know (written by a newer one) are ignored."""
        known = {f.name for f in fields(cls)} & payload.keys()
        values = {name: payload[name] for name in known}
        values["channels"] = {key: ChannelRule(**rule) for key, rule in payload.get("channels", {}).items()}
        return cls(**values)

    def rule_for(self, channel_id: int) -> ChannelRule:
        """A channel's own rule; the ask channel listens for questions unless moderators said otherwise."""
        if str(channel_id) in self.channels:
            return self.channels[str(channel_id)]
        return ChannelRule(listen="questions") if channel_id == self.ask_channel else ChannelRule()

    def with_rule(self, channel_id: int, **changes: str) -> GuildSettings:
        rule = dataclasses.replace(self.rule_for(channel_id), **changes)
        return dataclasses.replace(self, channels={**self.channels, str(channel_id): rule})

    def question_channels(self) -> set[int]:
        """Channels with the ask channel's behaviour."""
        listed = {int(key) for key, rule in self.channels.items() if rule.listen == "questions"}
        if self.ask_channel and self.rule_for(self.ask_channel).listen == "questions":
            listed.add(self.ask_channel)
        return listed

    def answers_mentions_in(self, channel: object) -> bool:
        """Mentions are answered everywhere, or only in the question channels and the forum (and their threads)."""
        if not self.mentions_only_in_ask_channel:
            return True
        where = {getattr(channel, "id", None), getattr(channel, "parent_id", None)}
        return bool(where & (self.question_channels() | {self.forum_channel}) - {None})


class BotStore:
    def __init__(self, path: Path) -> None:
        self._db = SharedSqlite(path, _SCHEMA)
        self._settings: dict[int, GuildSettings] = {}
        columns = {row[1] for row in self._db.run("PRAGMA table_info(answers)")}
        for column in ("user_id", "private"):  # stores written before answers had owners
            if column not in columns:
                self._db.run(f"ALTER TABLE answers ADD COLUMN {column} INTEGER")

    def remember(self, guild_id: int | None, user_id: int, answer: Answer, *, private: bool = False) -> str:
        """Keep an answer so its buttons (feedback, show passage) work after a restart; returns its id."""
        answer_id = secrets.token_hex(6)
        self._db.run(
            "INSERT INTO answers (id, guild_id, question, payload, created, user_id, private) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (answer_id, guild_id, answer.question, json.dumps(answer.to_dict()), _now(), user_id, int(private)),
        )
        return answer_id

    def answer(self, answer_id: str, *, guild_id: int | None, user_id: int) -> dict | None:
        """The stored answer, only for the server it was given in, and only for its asker when it was private.

        Button ids are plain text that anyone can forge, so the id alone never reveals an answer.
        """
        rows = self._db.run("SELECT payload, guild_id, user_id, private FROM answers WHERE id = ?", (answer_id,))
        if not rows:
            return None
        payload, owner_guild, owner, private = rows[0]
        if owner_guild != guild_id or (private and owner != user_id):
            return None
        return json.loads(payload)

    def record_feedback(self, answer_id: str, user_id: int, helpful: bool, reason: str | None = None) -> None:
        self._db.run(
            "INSERT OR REPLACE INTO feedback VALUES (?, ?, ?, ?, ?)", (answer_id, user_id, int(helpful), reason, _now())
        )

    def feedback(self, answer_id: str) -> list[tuple[int, bool, str | None]]:
        rows = self._db.run("SELECT user_id, helpful, reason FROM feedback WHERE answer_id = ?", (answer_id,))
        return [(u, bool(h), r) for u, h, r in rows]

    def unhelpful(self, guild_id: int, limit: int = 10) -> list[tuple[str, str | None]]:
        """(question, reason) of the answers this server's members marked not helpful, newest first."""
        return self._db.run(
            "SELECT a.question, f.reason FROM feedback f JOIN answers a ON a.id = f.answer_id "
            "WHERE a.guild_id = ? AND f.helpful = 0 ORDER BY f.created DESC, f.rowid DESC LIMIT ?",
            (guild_id, limit),
        )

    def refused(self, guild_id: int, limit: int = 10, scan: int = 500) -> list[str]:
        """Recent questions this server asked that the knowledge base could not answer: its coverage gaps."""
        rows = self._db.run(
            "SELECT question, payload FROM answers WHERE guild_id = ? ORDER BY created DESC, rowid DESC LIMIT ?",
            (guild_id, scan),
        )
        gaps = [question for question, payload in rows if not json.loads(payload).get("grounded")]
        return list(dict.fromkeys(gaps))[:limit]

    def guild_settings(self, guild_id: int) -> GuildSettings:
        """Read on every message in a server, so kept in memory; this process's `/kb settings` updates it."""
        if guild_id not in self._settings:
            rows = self._db.run("SELECT payload FROM guild_settings WHERE guild_id = ?", (guild_id,))
            self._settings[guild_id] = GuildSettings.from_payload(json.loads(rows[0][0])) if rows else GuildSettings()
        return self._settings[guild_id]

    def save_guild_settings(self, guild_id: int, settings: GuildSettings) -> None:
        self._db.run(
            "INSERT OR REPLACE INTO guild_settings VALUES (?, ?)", (guild_id, json.dumps(dataclasses.asdict(settings)))
        )
        self._settings[guild_id] = settings

    def record_failures(self, guild_id: int, failures: list[IngestFailure]) -> None:
        """One statement for any number of failures (a 100k-item feed can fail every item); call it off the loop."""
        now = _now()
        self._db.run_many(
            "INSERT INTO failures VALUES (?, ?, ?, ?)", [(guild_id, f.source, f.error, now) for f in failures]
        )

    def recent_failures(self, guild_id: int, limit: int = 5) -> list[tuple[str, str, str]]:
        return self._db.run(
            "SELECT source, error, created FROM failures WHERE guild_id = ? ORDER BY created DESC, rowid DESC LIMIT ?",
            (guild_id, limit),
        )
