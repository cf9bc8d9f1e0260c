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
class _Refused:
    """The little of an aiohttp response that discord.HTTPException reads."""

    status: int
    reason: str


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
    violations: list[str] = field(default_factory=list)  # requests Discord would have refused
    refuse_threads: bool = False  # answer "creating a thread" with 403, as a channel without the permission does
    tokens_expired: bool = False  # interaction replies can no longer be edited (15 minutes have passed)

    def record(self, sent: Sent) -> None:
        """Keep the request, and refuse it (as Discord would) when it breaks a limit."""
        self.sent.append(sent)
        try:
            check_request(sent.body)
        except LimitBroken as exc:
            self.violations.append(str(exc))
            raise

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
        self.wire.record(Sent(route.method, route.url.split("/api/v10")[-1], body))
        if self.wire.tokens_expired and route.method == "PATCH" and "/webhooks/" in route.url:
            raise discord.NotFound(_Refused(404, "Not Found"), "Unknown Webhook")
        if route.url.endswith("/callback"):
            return {"interaction": {"id": "1", "type": 2}}
        if route.method == "DELETE":
            return None
        return message_payload(1, body if isinstance(body, dict) else None, user_payload(BOT_ID, "newsdesk", True))


# Discord's documented limits; the harness rejects any request that breaks one, as Discord would with a 400.
LIMITS = {
    "content": 2000,
    "embeds": 10,
    "embed_title": 256,
    "embed_description": 4096,
    "embed_fields": 25,
    "field_name": 256,
    "field_value": 1024,
    "footer": 2048,
    "author": 256,
    "embed_total": 6000,
    "button_label": 80,
    "custom_id": 100,
    "select_options": 25,
    "option_text": 100,
    "placeholder": 150,
    "modal_title": 45,
    "input_label": 45,
    "choices": 25,
    "choice_text": 100,
}


class LimitBroken(AssertionError):
    """A request Discord would refuse with 400 Bad Request."""


def _check(condition: bool, what: str, body: object) -> None:
    if not condition:
        raise LimitBroken(f"{what}: {str(body)[:300]}")


def _check_components(rows: list[dict], body: object) -> None:
    for row in rows:
        for item in row.get("components", []):
            if "custom_id" in item:
                _check(len(item["custom_id"]) <= LIMITS["custom_id"], "custom_id over 100", body)
            _check(len(item.get("label") or "") <= LIMITS["button_label"], "component label over 80", body)
            _check(len(item.get("placeholder") or "") <= LIMITS["placeholder"], "placeholder over 150", body)
            options = item.get("options", [])
            _check(len(options) <= LIMITS["select_options"], "more than 25 select options", body)
            for option in options:
                for key in ("label", "value", "description"):
                    _check(len(option.get(key) or "") <= LIMITS["option_text"], f"select option {key} over 100", body)


def check_message(message: dict, body: object) -> None:
    """One message body (content, embeds, components) within Discord's limits, with allowed_mentions set."""
    if "content" in message or "embeds" in message:
        _check("allowed_mentions" in message, "a message without allowed_mentions", body)
    _check(len(message.get("content") or "") <= LIMITS["content"], "content over 2000", body)
    embeds = message.get("embeds") or []
    _check(len(embeds) <= LIMITS["embeds"], "more than 10 embeds", body)
    total = 0
    for embed in embeds:
        title, description = embed.get("title") or "", embed.get("description") or ""
        footer, author = (embed.get("footer") or {}).get("text") or "", (embed.get("author") or {}).get("name") or ""
        fields = embed.get("fields") or []
        _check(len(title) <= LIMITS["embed_title"], "embed title over 256", body)
        _check(len(description) <= LIMITS["embed_description"], "embed description over 4096", body)
        _check(len(footer) <= LIMITS["footer"], "embed footer over 2048", body)
        _check(len(author) <= LIMITS["author"], "embed author over 256", body)
        _check(len(fields) <= LIMITS["embed_fields"], "more than 25 embed fields", body)
        for f in fields:
            _check(len(f["name"]) <= LIMITS["field_name"], "field name over 256", body)
            _check(len(f["value"]) <= LIMITS["field_value"], "field value over 1024", body)
        total += len(title) + len(description) + len(footer) + len(author)
        total += sum(len(f["name"]) + len(f["value"]) for f in fields)
    _check(total <= LIMITS["embed_total"], f"embeds total {total} characters, over 6000", body)
    _check_components(message.get("components") or [], body)


def check_request(body: object) -> None:
    """Any body the bot sends: an interaction callback, a webhook/follow-up message or a channel message."""
    if not isinstance(body, dict):
        return
    if "type" in body and isinstance(body.get("data"), dict):  # an interaction callback
        data = body["data"]
        if body["type"] == 8:  # autocomplete
            choices = data.get("choices", [])
            _check(len(choices) <= LIMITS["choices"], "more than 25 autocomplete choices", body)
            for choice in choices:
                _check(len(choice["name"]) <= LIMITS["choice_text"], "choice name over 100", body)
                _check(len(str(choice["value"])) <= LIMITS["choice_text"], "choice value over 100", body)
            return
        if body["type"] == 9:  # modal
            _check(len(data.get("title", "")) <= LIMITS["modal_title"], "modal title over 45", body)
            for row in data.get("components", []):
                for item in row.get("components", []):
                    _check(len(item.get("label", "")) <= LIMITS["input_label"], "modal input label over 45", body)
            return
        check_message(data, body)
        return
    check_message(body, body)


def _idle_timer(task: asyncio.Task) -> bool:
    """discord.py's own timers (view timeouts, delayed deletes) sleep for minutes, and background loops
    (`tasks.loop`, such as the feed lease) run for the bot's life; they are not work in flight."""
    name = getattr(task.get_coro(), "__qualname__", "")
    return "timeout_task" in name or name.endswith("delete.<locals>.delete") or name == "Loop._loop"


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
        self.use()

    def use(self) -> None:
        """Send interaction replies to this harness's wire (with two bots in one test, the one being driven)."""
        async_context.set(RecordingAdapter(self.wire))

    async def _rest(self, route, *, files=None, form=None, **kwargs: Any) -> Any:
        body = kwargs.get("json")
        if form:
            raw = next((p["value"] for p in form if p["name"] == "payload_json"), None)
            body = discord.utils._from_json(raw) if raw else None
        path = route.url.split("/api/v10")[-1]
        self.wire.record(Sent(route.method, path, body))
        channel_id = int(route.channel_id) if route.channel_id else 0
        if path.endswith("/threads"):
            if self.wire.refuse_threads:
                raise discord.Forbidden(_Refused(403, "Forbidden"), "Missing Permissions")
            return self.thread_payload(snowflake(), channel_id, route.guild_id or 0, body.get("name", "thread"))
        if path == "/users/@me/channels":  # opening a DM
            recipient = body["recipient_id"]
            return {"id": str(snowflake()), "type": 1, "recipients": [user_payload(int(recipient), "someone")]}
        if route.method == "PUT" and path.endswith("/commands"):
            return []  # a bulk overwrite of slash commands; nothing the bot reads back
        if route.method == "GET" and path.endswith("/messages"):
            return self.wire.history.get(channel_id, [])
        if route.method == "GET" and "/messages/" in path:
            wanted = path.rsplit("/", 1)[1]
            found = [m for m in self.wire.history.get(channel_id, []) if m["id"] == wanted]
            if not found:
                raise discord.NotFound(_Refused(404, "Not Found"), "Unknown Message")
            return found[0]
        if route.method in ("POST", "PATCH") and "/messages" in path:
            return message_payload(channel_id, body, self._bot_user)
        return None

    async def _cdn(self, url: str) -> bytes:
        self.wire.sent.append(Sent("GET", url, None))
        return self.wire.cdn[url]

    def thread_payload(self, thread_id: int, parent_id: int, guild_id: int, name: str, owner_id: int = BOT_ID) -> dict:
        return {
            "id": str(thread_id),
            "type": 11,
            "guild_id": str(guild_id),
            "parent_id": str(parent_id),
            "owner_id": str(owner_id),
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

    def add_thread(self, thread_id: int, parent_id: int, guild_id: int, name: str, owner_id: int = BOT_ID) -> None:
        self.bot._connection.parse_thread_create(
            {**self.thread_payload(thread_id, parent_id, guild_id, name, owner_id), "newly_created": True}
        )

    def add_channel(self, guild_id: int, channel_id: int, kind: int, name: str = "channel") -> None:
        """Another channel in a server: 2 voice (with its text chat), 15 forum, 0 text."""
        payload = {"id": str(channel_id), "type": kind, "name": name, "position": 1, "permission_overwrites": []}
        payload |= {"bitrate": 64000, "user_limit": 0} if kind == 2 else {}
        self.bot._connection.parse_channel_create({**payload, "guild_id": str(guild_id)})

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
        self,
        content: str,
        *,
        guild_id: int | None,
        channel_id: int,
        user_id: int,
        mentions_bot: bool = False,
        replying_to: dict | None = None,
        message_id: int | None = None,
    ) -> list[Sent]:
        """Feed a MESSAGE_CREATE from a user (optionally a reply to `replying_to`) and wait for the bot's reaction.

        A forum post's first message has the post's (thread's) id: pass it as `message_id`."""
        start = len(self.wire.sent)
        author = user_payload(user_id, f"user{user_id}")
        payload = message_payload(channel_id, {"content": content}, author, guild_id)
        if message_id is not None:
            payload["id"] = str(message_id)
        if replying_to is not None:
            payload["type"] = 19
            payload["message_reference"] = {"message_id": replying_to["id"], "channel_id": str(channel_id)}
            payload["referenced_message"] = replying_to
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
                assert not self.wire.violations, f"Discord would refuse: {self.wire.violations}"
                return
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"tasks still running: {pending}")
            await asyncio.wait(pending, timeout=remaining)
