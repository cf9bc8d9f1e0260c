"""Links and text from websites are data in every message the bot sends: replayed through real discord.py objects
(tests/discord_harness.py) with a feed, a redirect and a page written by an attacker."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from email.utils import format_datetime

from bot.formatting import link, plain, safe_url, shown_address
from tests.discord_harness import BOT_ID, CHANNEL_A, GUILD_A, Harness, Sent, message_payload, user_payload
from tests.loopback import Route, serve
from tests.test_bot_discord import ask_payload, assert_safe, component, kb_payload, slash

EVIL = "[Reuters: verify your account](https://evil.example/phish)"
MARKUP = "**loud** ||hidden|| __under__ <#123456789012345678> <t:0:R>"
INVISIBLE = "\u200b\u202e\u2066"
BUDGET = (
    "The city council approved the harbour budget of forty million dollars on Monday after a long debate "
    f"about the new ferry terminal [\u200b2]. Read {EVIL} and {MARKUP} now{INVISIBLE}."
)


class _AnyQuery(dict):
    """Routes matched on the path alone: the redirect target carries an attacker's query string."""

    def get(self, path: str, default: Route | None = None) -> Route | None:  # type: ignore[override]
        return super().get(path.split("?", 1)[0], default)


def _feed(site, today: dt.datetime) -> bytes:
    items = [
        (site.url("/tram"), f"Tram line opens {EVIL} {MARKUP}{INVISIBLE}"),
        ("[Discord: re-verify your server](https://evil.example/p)", "Verify now"),
    ]
    entries = "".join(
        f"<item><title>{html.escape(title)}</title><link>{html.escape(url)}</link>"
        f"<pubDate>{format_datetime(today)}</pubDate></item>"
        for url, title in items
    )
    channel = f"<channel><title>{html.escape('Harbour Times ' + EVIL)}</title>{entries}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()


def _texts(sent: list[Sent]) -> list[str]:
    """Every piece of text Discord would render from what was sent: contents, embed titles, descriptions, fields."""
    found: list[str] = []
    for s in sent:
        if not s.is_message and not (s.body and isinstance(s.body.get("data"), dict)):
            continue
        body = s.body.get("data") if isinstance(s.body.get("data"), dict) else s.body
        found.append(body.get("content") or "")
        for embed in body.get("embeds") or []:
            found += [embed.get("title") or "", embed.get("description") or "", embed.get("footer", {}).get("text", "")]
            found += [part for f in embed.get("fields", []) for part in (f["name"], f["value"])]
    return [t for t in found if t]


def assert_inert(sent: list[Sent], site_url: str) -> None:
    """No masked link but to the article's own page, no raw markup, no invisible characters, no citation laundered."""
    for shown in _texts(sent):
        text = re.sub(r"(?<!\\)`[^`]*(?<!\\)`", "`code`", shown)  # inside code nothing renders: not a link
        for target in re.findall(r"\]\(([^)\s]*)", text):  # what Discord would render as a masked link
            assert target.startswith(site_url) and not re.search(r"[\[\]()<>]", target), text
        assert not re.search(r"(?<!\\)(\*\*loud|\|\|hidden|__under|<#\d|<t:0:)", text), text
        assert not re.search(r"(?m)^#{1,3} ", text) and not re.search(f"[{INVISIBLE}]", text), text


def test_link_is_the_only_way_to_a_masked_link() -> None:
    assert safe_url("javascript:alert(1)") is None and safe_url("https://bank.example@evil.example/") is None
    assert safe_url("http://h.example/p?x=1)[a](https://evil.example)") == (
        "http://h.example/p?x=1%29%5Ba%5D%28https://evil.example%29"
    )
    assert link("Title [x]", "https://user:pw@evil.example/") == "Title (x)"
    assert link("Title [x]", "https://news.example/a b") == "[Title (x)](https://news.example/a%20b)"
    assert plain(f"{EVIL}{INVISIBLE}").count("](") == 0 and "\u200b" not in plain("a\u200bb")
    assert shown_address("[Discord](https://evil.example/p)").startswith("`")


async def test_hostile_feed_redirect_and_page_stay_text_in_every_message(harness: Harness) -> None:
    harness.bot.settings.allow_private_urls = True  # the loopback site stands in for a public news site
    audit_channel = 555555555555555555
    harness.add_channel(GUILD_A, audit_channel, 0, "audit")
    harness.bot.settings.audit_channel_id = audit_channel
    today = dt.datetime.now(dt.UTC)
    routes = _AnyQuery()
    sent: list[Sent] = []
    with serve(routes) as site:
        routes["/feed.xml"] = Route(body=_feed(site, today), headers={"Content-Type": "application/rss+xml"})
        routes["/go"] = Route(
            302, b"", {"Location": "/page?x=1)[Reuters:%20verify%20your%20account](https://evil.example/phish)"}
        )
        title = f"Harbour budget {EVIL} {MARKUP}"
        routes["/page"] = Route(
            body=(
                f"<html><head><title>{html.escape(title)}</title><meta name='date' content='{today.date()}'></head>"
                f"<body><article><h1>{html.escape(title)}</h1><p>{html.escape(BUDGET)}</p>"
                f"<p>{html.escape('# Heading ' + EVIL)}</p></article></body></html>"
            ).encode()
        )

        routes["/tram"] = Route(
            body=f"<html><body><article><p>The new tram line opened to passengers on Sunday. {html.escape(EVIL)}</p>"
            "</article></body></html>".encode()
        )

        def feeds(sub: str, options: list[dict]) -> dict:
            payload = kb_payload(harness, "feeds", [])
            payload["data"]["options"] = [
                {"name": "feeds", "type": 2, "options": [{"name": sub, "type": 1, "options": options}]}
            ]
            return payload

        sent += await harness.interact(feeds("add", [{"name": "url", "type": 3, "value": site.url("/feed.xml")}]))
        refreshed = await harness.interact(kb_payload(harness, "refresh", []))
        assert "Added 1" in json.dumps([s.body for s in refreshed]) and "failed 1" in json.dumps(
            [s.body for s in refreshed]
        )
        sent += refreshed
        sent += await harness.interact(
            kb_payload(harness, "add", [{"name": "url", "type": 3, "value": site.url("/go")}])
        )
        sent += await harness.interact(feeds("list", []))
        sent += await harness.interact(kb_payload(harness, "status", []))
        sent += await harness.interact(kb_payload(harness, "list", []))
    article = next(a for a in harness.bot.services.kb(f"guild-{GUILD_A}").articles() if "Harbour budget" in a.title)
    assert "evil.example/phish" in (article.url or "")  # the redirect target became the article's address
    answered = await harness.interact(ask_payload(harness, "Did the city council approve the harbour budget?"))
    sent += answered
    answer = answered[-1].body["embeds"][0]
    assert answer["fields"][0]["name"] == "Sources" and "harbour budget" in answer["description"].lower()
    assert f"](http://127.0.0.1:{site.port}/page?x=1%29%5BReuters:%20verify" in answer["fields"][0]["value"]
    assert re.search(r"\[\d\]", answer["description"]) and "[2]" not in answer["description"].replace("[1]", "")
    message = message_payload(CHANNEL_A, {}, user_payload(BOT_ID, "newsdesk", True))
    message["components"] = answered[-1].body["components"]
    passage = next(
        c["custom_id"] for row in message["components"] for c in row["components"] if "passage" in c["custom_id"]
    )
    sent += await harness.interact(component(harness, passage, message))
    sent += await harness.interact(slash(harness, "digest", [{"name": "since", "type": 3, "value": "30d"}]))
    sent += await harness.interact(slash(harness, "summary", [{"name": "article", "type": 3, "value": article.id}]))
    sent += await harness.interact(slash(harness, "sources"))
    sent += await harness.interact(slash(harness, "help"))
    sent += await harness.interact(kb_payload(harness, "remove", [{"name": "article", "type": 3, "value": article.id}]))
    assert any(s.path == f"/channels/{audit_channel}/messages" for s in sent)
    assert_inert(sent, f"http://127.0.0.1:{site.port}/")
    assert_safe(sent)
