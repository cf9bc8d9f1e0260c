"""What the bot remembers in the state store: answers shown, feedback given, ingest failures, server settings."""

from __future__ import annotations

import dataclasses
import json
import secrets
import threading
import time
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select

from retrieval.state import Database
from retrieval.state.tables import answers as AN
from retrieval.state.tables import failures as FA
from retrieval.state.tables import feedback as FB
from retrieval.state.tables import guild_settings as GS
from retrieval.types import Answer, IngestFailure

FEEDBACK_REASONS = {"wrong_source": "Wrong source", "outdated": "Outdated", "not_in_kb": "Not in the knowledge base"}
FAILURES_PER_SERVER = 200  # failure rows kept per server (the newest): a feed can fail thousands of items a refresh
FAILURE_TTL = timedelta(days=30)


def _now() -> str:
    """Sortable to the microsecond: the newest-first lists order by it, and several processes write them."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


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
    def __init__(self, database: Database, settings_cache_s: float = 5.0) -> None:
        self._db = database
        self._settings_cache_s = settings_cache_s
        self._settings: dict[int, tuple[float, GuildSettings]] = {}  # guild -> (read at, settings)
        self._settings_lock = threading.Lock()

    def remember(self, guild_id: int | None, user_id: int, answer: Answer, *, private: bool = False) -> str:
        """Keep an answer so its buttons (feedback, show passage) work after a restart; returns its id."""
        answer_id = secrets.token_hex(6)
        row = {
            "id": answer_id,
            "guild_id": guild_id,
            "question": answer.question,
            "payload": json.dumps(answer.to_dict()),
            "created": _now(),
            "user_id": user_id,
            "private": int(private),
        }
        with self._db.write() as conn:
            conn.execute(AN.insert(), row)
        return answer_id

    def answer(self, answer_id: str, *, guild_id: int | None, user_id: int) -> dict | None:
        """The stored answer, only for the server it was given in, and only for its asker when it was private.

        Button ids are plain text that anyone can forge, so the id alone never reveals an answer.
        """
        rows = self._db.rows(
            select(AN.c.payload, AN.c.guild_id, AN.c.user_id, AN.c.private).where(AN.c.id == answer_id)
        )
        if not rows:
            return None
        payload, owner_guild, owner, private = rows[0]
        if owner_guild != guild_id or (private and owner != user_id):
            return None
        return json.loads(payload)

    def record_feedback(self, answer_id: str, user_id: int, helpful: bool, reason: str | None = None) -> None:
        insert = self._db.insert(FB).values(
            answer_id=answer_id, user_id=user_id, helpful=int(helpful), reason=reason, created=_now()
        )
        changed = {k: insert.excluded[k] for k in ("helpful", "reason", "created")}
        with self._db.write() as conn:
            conn.execute(insert.on_conflict_do_update(index_elements=[FB.c.answer_id, FB.c.user_id], set_=changed))

    def feedback(self, answer_id: str) -> list[tuple[int, bool, str | None]]:
        rows = self._db.rows(select(FB.c.user_id, FB.c.helpful, FB.c.reason).where(FB.c.answer_id == answer_id))
        return [(u, bool(h), r) for u, h, r in rows]

    def unhelpful(self, guild_id: int, limit: int = 10) -> list[tuple[str, str | None]]:
        """(question, reason) of the answers this server's members marked not helpful, newest first."""
        query = (
            select(AN.c.question, FB.c.reason)
            .select_from(FB.join(AN, AN.c.id == FB.c.answer_id))
            .where(AN.c.guild_id == guild_id, FB.c.helpful == 0)
            .order_by(FB.c.created.desc())
            .limit(limit)
        )
        return self._db.rows(query)

    def refused(self, guild_id: int, limit: int = 10, scan: int = 500) -> list[str]:
        """Recent questions this server asked that the knowledge base could not answer: its coverage gaps."""
        query = (
            select(AN.c.question, AN.c.payload)
            .where(AN.c.guild_id == guild_id)
            .order_by(AN.c.created.desc())
            .limit(scan)
        )
        gaps = [question for question, payload in self._db.rows(query) if not json.loads(payload).get("grounded")]
        return list(dict.fromkeys(gaps))[:limit]

    def questions_since(self, guild_id: int, since: str) -> list[tuple[str, bool]]:
        """(question, answered) of every answer given in this server since `since` (ISO time), oldest first."""
        query = (
            select(AN.c.question, AN.c.payload)
            .where(AN.c.guild_id == guild_id, AN.c.created >= since)
            .order_by(AN.c.created, AN.c.id)
        )
        rows = self._db.rows(query)
        return [(question, bool(json.loads(payload).get("grounded"))) for question, payload in rows]

    def votes_since(self, guild_id: int, since: str) -> tuple[int, int]:
        """(helpful, not helpful) votes this server's members gave since `since`, one per member and answer."""
        query = (
            select(FB.c.helpful, func.count())
            .select_from(FB.join(AN, AN.c.id == FB.c.answer_id))
            .where(AN.c.guild_id == guild_id, FB.c.created >= since)
            .group_by(FB.c.helpful)
        )
        rows = self._db.rows(query)
        counts = {bool(helpful): n for helpful, n in rows}
        return counts.get(True, 0), counts.get(False, 0)

    def guild_settings(self, guild_id: int) -> GuildSettings:
        """Read on every message in a server, so cached, but only for a few seconds: another process (another host)
        may change them with `/kb settings`, and its change must reach this one soon."""
        with self._settings_lock:
            cached = self._settings.get(guild_id)
        if cached and time.monotonic() - cached[0] < self._settings_cache_s:
            return cached[1]
        rows = self._db.rows(select(GS.c.payload).where(GS.c.guild_id == guild_id))
        settings = GuildSettings.from_payload(json.loads(rows[0][0])) if rows else GuildSettings()
        with self._settings_lock:
            self._settings[guild_id] = (time.monotonic(), settings)
        return settings

    def save_guild_settings(self, guild_id: int, settings: GuildSettings) -> None:
        insert = self._db.insert(GS).values(guild_id=guild_id, payload=json.dumps(dataclasses.asdict(settings)))
        with self._db.write() as conn:
            conn.execute(
                insert.on_conflict_do_update(index_elements=[GS.c.guild_id], set_={"payload": insert.excluded.payload})
            )
        with self._settings_lock:
            self._settings[guild_id] = (time.monotonic(), settings)

    def record_failures(self, guild_id: int, failures: list[IngestFailure]) -> None:
        """One transaction for any number of failures (a 100k-item feed can fail every item); call it off the loop.

        Only the newest rows of a server are kept, and none older than FAILURE_TTL: they are a recent history."""
        if not failures:
            return
        now = _now()
        rows = [{"guild_id": guild_id, "source": f.source, "error": f.error, "created": now} for f in failures]
        server = FA.c.guild_id == guild_id
        newest = select(FA.c.id).where(server).order_by(FA.c.id.desc()).limit(FAILURES_PER_SERVER)
        expired = (datetime.now(UTC) - FAILURE_TTL).isoformat()
        with self._db.write() as conn:
            conn.execute(FA.insert(), rows[-FAILURES_PER_SERVER:])
            conn.execute(delete(FA).where(server, FA.c.id.not_in(newest.scalar_subquery())))
            conn.execute(delete(FA).where(server, FA.c.created < expired))

    def clear_failures(self, guild_id: int, sources: list[str]) -> None:
        """Forget the failures of sources that work again (a feed that answers now is not a 'recent failure')."""
        if not sources:
            return
        with self._db.write() as conn:
            conn.execute(delete(FA).where(FA.c.guild_id == guild_id, FA.c.source.in_(sources)))

    def recent_failures(self, guild_id: int, limit: int = 5) -> list[tuple[str, str, str]]:
        query = (
            select(FA.c.source, FA.c.error, FA.c.created)
            .where(FA.c.guild_id == guild_id)
            .order_by(FA.c.id.desc())
            .limit(limit)
        )
        return self._db.rows(query)
