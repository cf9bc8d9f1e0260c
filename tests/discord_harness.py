"""Drive the real discord.py bot with raw gateway payloads and record every HTTP request it would send to Discord.

Nothing inside discord.py is replaced: interactions go through `ConnectionState.parse_interaction_create`, messages
through `parse_message_create`. Only the network edge is swapped: REST calls land in a recorder instead of
`HTTPClient.request`'s socket, and interaction callbacks/webhooks in a recording `AsyncWebhookAdapter`.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any

import discord
from discord.webhook.async_ import AsyncWebhookAdapter, async_context

from bot.client import NewsdeskBot

GUILD_A, GUILD_B = 111111111111111111, 222222222222222222
CHANNEL_A, CHANNEL_B = 333333333333333333, 444444444444444444
APP_ID = 900000000000000001
BOT_ID = 900000000000000002
_ids = itertools.count(1_100_000_000_000_000_000)


def snowflake() -> int:
    return next(_ids)


def user_payload(user_id: int, name: str, bot: bool = False) -> dict:
    return {"id": str(user_id), "username": name, "discriminator": "0", "avatar": None, "global_name": name, "bot": bot}


@dataclass
class Sent:
    """One request the bot sent to Discord."""

    method: str
    path: str
    body: dict | None

    @property
    def is_message(self) -> bool:
        return bool(self.body) and any(k in self.body for k in ("content", "embeds"))


@dataclass
class Wire:
    """Every request, in order, plus canned replies for the few GETs the bot makes."""

    sent: list[Sent] = field(default_factory=list)
    history: dict[int, list[dict]] = field(default_factory=dict)  # channel id -> messages returned by GET
    cdn: dict[str, bytes] = field(default_factory=dict)  # attachment URL -> bytes

    def messages(self) -> list[Sent]:
        return [s for s in self.sent if s.is_message]

    def clear(self) -> None:
        self.sent.clear()


def message_payload(channel_id: int, body: dict | None, author: dict, guild_id: int | None = None) -> dict:
    body = body or {}
    payload = {
        "id": str(snowflake()),
        "channel_id": str(channel_id),
        "author": author,
        "content": body.get("content") or "",
        "timestamp": "2026-11-26T08:00:00+00:00",
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": body.get("embeds") or [],
        "pinned": False,
        "type": 0,
        "flags": body.get("flags", 0),
        "components": [],
    }
    if guild_id:
        payload["guild_id"] = str(guild_id)
    return payload


class RecordingAdapter(AsyncWebhookAdapter):
    """Interaction callbacks and follow-ups (discord.py's webhook adapter) captured instead of sent."""

    def __init__(self, wire: Wire) -> None:
        super().__init__()
        self.wire = wire

    async def request(self, route, session, *, payload=None, multipart=None, files=None, **kwargs: Any) -> Any:
        body = payload
        if multipart:
            body = next((p["value"] for p in multipart if p["name"] == "payload_json"), None)
            body = discord.utils._from_json(body) if isinstance(body, str) else body
        self.wire.sent.append(Sent(route.method, route.url.split("/api/v10")[-1], body))
        if route.url.endswith("/callback"):
            return {"interaction": {"id": "1", "type": 2}}
        if route.method == "DELETE":
            return None
        return message_payload(1, body if isinstance(body, dict) else None, user_payload(BOT_ID, "newsdesk", True))


def _idle_timer(task: asyncio.Task) -> bool:
    """discord.py's own timers (view timeouts, delayed deletes) sleep for minutes; they are not work in flight."""
    name = getattr(task.get_coro(), "__qualname__", "")
    return "timeout_task" in name or name.endswith("delete.<locals>.delete")


class Harness:
    """A `NewsdeskBot` that believes it is connected, with its traffic on `wire`."""

    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot
        self.wire = Wire()
        self._bot_user = user_payload(BOT_ID, "newsdesk", bot=True)

    async def start(self) -> None:
        await self.bot._async_setup_hook()
        await self.bot.load_features()
        state = self.bot._connection
        state.user = discord.ClientUser(state=state, data=self._bot_user)
        state.application_id = APP_ID
        self.bot.http.request = self._rest  # type: ignore[method-assign]
        self.bot.http.get_from_cdn = self._cdn  # type: ignore[method-assign]
        async_context.set(RecordingAdapter(self.wire))

    async def _rest(self, route, *, files=None, form=None, **kwargs: Any) -> Any:
        body = kwargs.get("json")
        if form:
            raw = next((p["value"] for p in form if p["name"] == "payload_json"), None)
            body = discord.utils._from_json(raw) if raw else None
        path = route.url.split("/api/v10")[-1]
        self.wire.sent.append(Sent(route.method, path, body))
        channel_id = int(route.channel_id) if route.channel_id else 0
        if path.endswith("/threads"):
            return self.thread_payload(snowflake(), channel_id, route.guild_id or 0, body.get("name", "thread"))
        if route.method == "GET" and path.endswith("/messages"):
            return self.wire.history.get(channel_id, [])
        if route.method in ("POST", "PATCH") and "/messages" in path:
            return message_payload(channel_id, body, self._bot_user)
        return None

    async def _cdn(self, url: str) -> bytes:
        self.wire.sent.append(Sent("GET", url, None))
        return self.wire.cdn[url]

    def thread_payload(self, thread_id: int, parent_id: int, guild_id: int, name: str) -> dict:
        return {
            "id": str(thread_id),
            "type": 11,
            "guild_id": str(guild_id),
            "parent_id": str(parent_id),
            "owner_id": str(BOT_ID),
            "name": name,
            "last_message_id": None,
            "member_count": 1,
            "message_count": 0,
            "rate_limit_per_user": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "locked": False,
                "archive_timestamp": "2026-11-26T08:00:00+00:00",
            },
        }

    def add_guild(self, guild_id: int, channel_id: int) -> None:
        self.bot._connection.parse_guild_create(
            {
                "id": str(guild_id),
                "name": f"guild {guild_id}",
                "owner_id": "1",
                "unavailable": False,
                "member_count": 2,
                "roles": [
                    {
                        "id": str(guild_id),
                        "name": "@everyone",
                        "permissions": "0",
                        "position": 0,
                        "color": 0,
                        "hoist": False,
                        "managed": False,
                        "mentionable": False,
                        "flags": 0,
                    }
                ],
                "channels": [
                    {
                        "id": str(channel_id),
                        "type": 0,
                        "name": "news",
                        "position": 0,
                        "permission_overwrites": [],
                        "guild_id": str(guild_id),
                    }
                ],
                "threads": [],
                "members": [],
                "emojis": [],
                "stickers": [],
                "features": [],
                "voice_states": [],
                "presences": [],
                "stage_instances": [],
                "guild_scheduled_events": [],
                "soundboard_sounds": [],
            }
        )

    def add_thread(self, thread_id: int, parent_id: int, guild_id: int, name: str) -> None:
        self.bot._connection.parse_thread_create(
            {**self.thread_payload(thread_id, parent_id, guild_id, name), "newly_created": True}
        )

    # --- feeding events -------------------------------------------------------------------------------------

    def interaction_payload(
        self,
        name: str,
        options: list[dict],
        *,
        guild_id: int | None,
        channel_id: int,
        user_id: int,
        permissions: int = 0,
        roles: list[dict] | None = None,
        kind: int = 2,
        data: dict | None = None,
        message: dict | None = None,
    ) -> dict:
        user = user_payload(user_id, f"user{user_id}")
        payload: dict[str, Any] = {
            "id": str(snowflake()),
            "application_id": str(APP_ID),
            "type": kind,
            "token": f"token-{snowflake()}",
            "version": 1,
            "locale": "en-US",
            "attachment_size_limit": 25_000_000,
            "entitlements": [],
            "authorizing_integration_owners": {},
            "app_permissions": str(discord.Permissions.all().value),
            "channel_id": str(channel_id),
            "channel": {
                "id": str(channel_id),
                "type": 0 if guild_id else 1,
                "name": "news",
                "position": 0,
                "permission_overwrites": [],
                **({"guild_id": str(guild_id)} if guild_id else {}),
            },
            "data": data or {"id": str(snowflake()), "name": name, "type": 1, "options": options},
        }
        if guild_id:
            payload["guild_id"] = str(guild_id)
            payload["guild_locale"] = "en-US"
            payload["member"] = {
                "user": user,
                "roles": [r["id"] for r in roles or []],
                "joined_at": "2026-01-01T00:00:00+00:00",
                "deaf": False,
                "mute": False,
                "flags": 0,
                "permissions": str(permissions),
            }
            if roles:
                payload["data"].setdefault("resolved", {})
        else:
            payload["user"] = user
        if message is not None:
            payload["message"] = message
        return payload

    async def interact(self, payload: dict) -> list[Sent]:
        """Feed an INTERACTION_CREATE and wait for everything it started; return what was sent."""
        start = len(self.wire.sent)
        self.bot._connection.parse_interaction_create(payload)
        await self.settle()
        return self.wire.sent[start:]

    async def message(
        self, content: str, *, guild_id: int, channel_id: int, user_id: int, mentions_bot: bool = False
    ) -> list[Sent]:
        """Feed a MESSAGE_CREATE from a user and wait for the bot's reaction."""
        start = len(self.wire.sent)
        author = user_payload(user_id, f"user{user_id}")
        payload = message_payload(channel_id, {"content": content}, author, guild_id)
        payload["member"] = {
            "roles": [],
            "joined_at": "2026-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
        }
        if mentions_bot:
            payload["mentions"] = [
                {
                    **self._bot_user,
                    "member": {
                        "roles": [],
                        "joined_at": "2026-01-01T00:00:00+00:00",
                        "deaf": False,
                        "mute": False,
                        "flags": 0,
                    },
                }
            ]
        self.bot._connection.parse_message_create(payload)
        await self.settle()
        return self.wire.sent[start:]

    async def settle(self, timeout: float = 60) -> None:
        """Wait until every task the event started (and the tasks they started) has finished."""
        current = asyncio.current_task()
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            pending = [t for t in asyncio.all_tasks() if t is not current and not t.done() and not _idle_timer(t)]
            if not pending:
                return
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"tasks still running: {pending}")
            await asyncio.wait(pending, timeout=remaining)
