"""Issue 26: one server can neither slow the others (fair ingest queues) nor fill the disk (quotas), and cheap
inputs cost little (addresses checked before any client, one TLS context, parsing under a deadline, capped passages).
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from bot.work import Busy, FairScheduler
from retrieval.errors import BadInputError, FetchError
from retrieval.feeds import FeedRefresher, FeedRegistry
from retrieval.ingest.chunker import chunk_article
from retrieval.knowledge_base import Services
from retrieval.loaders import url as url_module
from retrieval.loaders.html import articles_from_html
from retrieval.state import FEEDS, open_database
from retrieval.types import Article
from tests.conftest import SAMPLE_CORPUS, make_settings
from tests.discord_harness import GUILD_A, GUILD_B, Harness
from tests.loopback import Route, serve
from tests.test_bot_discord import ask_payload, kb_payload, paste_article
from tests.test_feeds import RSS, page, rss

# --- the scheduler -------------------------------------------------------------------------------------------------


async def _start_order(scheduler: FairScheduler, jobs: list[str]) -> list[str]:
    """Queue `jobs` ("A1" is server A's first job) while the first one holds the only worker; the start order."""
    started: list[str] = []
    gate = threading.Event()

    def work(name: str):
        def run() -> str:
            started.append(name)
            if name == jobs[0]:
                gate.wait(10)
            return name

        return run

    tasks = [asyncio.create_task(scheduler.run(name[0], work(name))) for name in jobs[:1]]
    await asyncio.sleep(0)
    tasks += [asyncio.create_task(scheduler.run(name[0], work(name))) for name in jobs[1:]]
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*tasks) == jobs  # every caller gets its own job's result
    return started


async def test_a_busy_server_delays_another_servers_start_by_at_most_its_running_job() -> None:
    """Server A queues three slow jobs, then B and C one each: B and C start right after A's running job."""
    order = await _start_order(FairScheduler(1, 5), ["A1", "A2", "A3", "B1", "C1"])
    assert order == ["A1", "B1", "C1", "A2", "A3"]


async def test_one_server_never_holds_two_workers() -> None:
    """Two workers: A's second job waits for its first, so B runs (and finishes) while A's first job still runs."""
    scheduler, gate = FairScheduler(2, 5), threading.Event()
    first = asyncio.create_task(scheduler.run("A", lambda: gate.wait(10)))
    second = asyncio.create_task(scheduler.run("A", lambda: "A2"))
    await asyncio.sleep(0)
    assert await scheduler.run("B", lambda: "B1") == "B1"
    assert not first.done() and not second.done()
    gate.set()
    assert await asyncio.gather(first, second) == [True, "A2"]


async def test_a_full_queue_says_roughly_when_to_come_back() -> None:
    ticks = iter([0.0, 180.0])  # the first job took three minutes
    scheduler = FairScheduler(1, 2, clock=lambda: next(ticks, 180.0))
    await scheduler.run("A", lambda: None)
    gate = threading.Event()
    running = asyncio.create_task(scheduler.run("A", lambda: gate.wait(10)))
    waiting = [asyncio.create_task(scheduler.run("A", lambda: None)) for _ in range(2)]
    await asyncio.sleep(0)
    with pytest.raises(Busy, match=r"2 knowledge-base jobs waiting; try again in about 9 minutes"):
        await scheduler.run("A", lambda: None)
    other = asyncio.create_task(scheduler.run("B", lambda: "B ran"))
    gate.set()
    await asyncio.gather(running, *waiting)
    assert await other == "B ran"


async def test_a_slow_server_in_discord_does_not_hold_back_another_servers_job(harness: Harness) -> None:
    """Wire level, one worker: server A adds three pages from a stalling site, B one quick page. The site sees B's
    request right after A's first: A's queue delays B by the one job it is running, not by all three."""
    harness.bot.settings.allow_private_urls = True
    harness.bot.work = FairScheduler(1, 5)
    routes = {f"/stall{i}": Route(body=page("Late", "late news " * 20), delay_s=0.5) for i in range(3)}
    routes["/quick"] = Route(body=page("Quick", "The quick story about the harbour opened today, the city said."))
    with serve(routes) as site:
        for i in range(3):
            harness.bot._connection.parse_interaction_create(
                kb_payload(harness, "add", [{"name": "url", "type": 3, "value": site.url(f"/stall{i}")}])
            )
            await asyncio.sleep(0.05)
        quick = [{"name": "url", "type": 3, "value": site.url("/quick")}]
        harness.bot._connection.parse_interaction_create(kb_payload(harness, "add", quick, guild=GUILD_B))
        await harness.settle()
        assert site.paths == ["/stall0", "/quick", "/stall1", "/stall2"]


def _feeds_add(harness: Harness, url: str, guild: int = GUILD_A) -> dict:
    """`/kb feeds add url:` (a subcommand of a subcommand group)."""
    payload = kb_payload(harness, "feeds", [], guild=guild)
    add = {"name": "add", "type": 1, "options": [{"name": "url", "type": 3, "value": url}]}
    payload["data"]["options"] = [{"name": "feeds", "type": 2, "options": [add]}]
    return payload


async def test_slow_feed_adds_never_take_the_threads_that_answer(harness: Harness) -> None:
    """Eight `/kb feeds add` in A whose feed never answers (more than asyncio's default pool has threads on this
    machine): an /ask in B is still answered while all of them wait, and those past A's queue are told when to
    come back."""
    harness.bot.services.kb(f"guild-{GUILD_B}").ingest([str(SAMPLE_CORPUS)])
    gate = threading.Event()

    def stalled_check(url: str):
        gate.wait(60)
        raise FetchError(f"{url} is not a readable RSS or Atom feed.")

    harness.bot.refresher.check = stalled_check  # type: ignore[method-assign]
    for i in range(8):
        harness.bot._connection.parse_interaction_create(_feeds_add(harness, f"https://feeds.example/{i}"))
    await asyncio.sleep(0.1)
    start = len(harness.wire.sent)
    harness.bot._connection.parse_interaction_create(
        ask_payload(harness, "why did Canada ban Hikvision?", guild=GUILD_B)
    )
    for _ in range(600):  # until the answer is out; no feed check has returned, since the gate is still shut
        if any(m.body and m.body.get("embeds") for m in harness.wire.sent[start:]):
            break
        await asyncio.sleep(0.1)
    answered = _texts(harness.wire.sent[start:])
    gate.set()
    await harness.settle()
    assert "national security" in answered and "not a readable" not in answered
    assert "try again in about" in _texts(harness.wire.sent)


# --- quotas ----------------------------------------------------------------------------------------------------------


def _limit(harness: Harness, **limits: int) -> None:
    harness.bot.quota = replace(harness.bot.quota, **limits)
    harness.bot.refresher._quota = harness.bot.quota


def _texts(sent) -> str:
    return json.dumps([s.body for s in sent])


async def test_quotas_refuse_with_the_limit_and_how_to_make_room(harness: Harness) -> None:
    _limit(harness, articles=2, feeds=1)
    lines = [
        {"title": f"Harbour story {n}", "text": f"The harbour council met for the {n} time this year and voted."}
        for n in ("first", "second", "third")
    ]
    data = "\n".join(json.dumps(line) for line in lines).encode()
    url = "https://cdn.discordapp.com/attachments/1/2/stories.jsonl"
    harness.wire.cdn[url] = data
    attachment = {"id": "77", "filename": "stories.jsonl", "size": len(data), "url": url, "proxy_url": url}
    payload = kb_payload(
        harness,
        "add",
        [{"name": "attachment", "type": 11, "value": "77"}],
        guild=GUILD_B,
        resolved={"attachments": {"77": attachment}},
    )
    sent = await harness.interact(payload)
    # Enforced when written: two fit, the third is refused by name, with the limit and the way out.
    assert "Added 2" in _texts(sent) and "failed 1" in _texts(sent)
    assert "Harbour story third" in _texts(sent) and "may hold 2 articles" in _texts(sent)
    # Checked before work: a full knowledge base refuses the next article before anything runs.
    sent = await paste_article(harness, "One more", "Another harbour story for the full server.", guild=GUILD_B)
    text = _texts(sent)
    assert "Nothing can be added" in text and "/kb remove" in text and "/kb feeds remove" in text
    assert len(harness.bot.services.kb(f"guild-{GUILD_B}").articles()) == 2
    # /kb status shows usage against each limit.
    sent = await harness.interact(kb_payload(harness, "status", [], guild=GUILD_B))
    fields = {f["name"]: f["value"] for f in sent[-1].body["embeds"][0]["fields"]}
    assert fields["Articles"] == "2 / 2" and fields["Article text"].endswith("/ 50 MB")


async def test_a_feed_past_the_limit_is_refused_before_it_is_fetched(harness: Harness) -> None:
    _limit(harness, feeds=1)
    harness.bot.settings.allow_private_urls = True
    with serve({}) as site:
        site.routes["/one"] = Route(body=rss(site, []), headers={"Content-Type": RSS})
        site.routes["/two"] = Route(body=rss(site, []), headers={"Content-Type": RSS})
        for path in ("/one", "/two"):
            sent = await harness.interact(_feeds_add(harness, site.url(path), guild=GUILD_B))
        assert site.paths == ["/one"]  # the second was never fetched
    assert "already follows as many feeds as it may (1)" in _texts(sent) and "/kb feeds remove" in _texts(sent)


def test_the_command_line_is_not_limited(run, monkeypatch) -> None:
    monkeypatch.setenv("NEWSDESK_MAX_ARTICLES_PER_SERVER", "1")
    monkeypatch.setenv("NEWSDESK_MAX_BYTES_PER_SERVER", "1")
    report = run("ingest", str(SAMPLE_CORPUS), "--json")
    assert report["added"] > 1 and not report["failed"]


# --- cost bounded before work ----------------------------------------------------------------------------------------


def test_a_feed_of_refused_links_builds_no_client_per_item(tmp_path: Path, model_dir: Path, monkeypatch) -> None:
    """300 items on a host that resolves to a private address: each is refused by the guard before anything is
    built; the feed's own fetch is the only client, and the TLS context is made once."""
    built = {"clients": 0, "tls": 0}
    real_transport, real_tls = url_module._PinnedTransport, httpx.create_ssl_context

    class Counted(real_transport):  # type: ignore[misc, valid-type]
        def __init__(self, *args, **kwargs) -> None:
            built["clients"] += 1
            super().__init__(*args, **kwargs)

    def counted_tls(*args, **kwargs):
        built["tls"] += 1
        return real_tls(*args, **kwargs)

    monkeypatch.setattr(url_module, "_PinnedTransport", Counted)
    monkeypatch.setattr(url_module.httpx, "create_ssl_context", counted_tls)
    settings = make_settings(tmp_path, model_dir, private_url_hosts=["127.0.0.1"])
    resolver = lambda host, port: ["127.0.0.1"] if host == "127.0.0.1" else ["10.0.0.7"]  # noqa: E731
    services = Services(settings, fetcher=url_module.SafeFetcher(settings, resolver=resolver))
    registry = FeedRegistry(open_database(settings, FEEDS))
    with serve({}) as site:
        items = "".join(
            f"<item><title>Story {i}</title><link>http://intranet.example/{i}</link></item>" for i in range(300)
        )
        body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'
        site.routes["/feed"] = Route(body=body.encode(), headers={"Content-Type": RSS})
        kb = services.kb("default")
        registry.add(kb.name, site.url("/feed"))
        report = FeedRefresher(registry, services.fetcher).refresh(kb)
    services.close()
    assert len(report.failed) == 300 and "private or local address" in report.failed[0].error
    assert built == {"clients": 1, "tls": 1}


@pytest.mark.slow
def test_a_link_bomb_page_is_given_up_at_the_parse_deadline() -> None:
    """One paragraph of 16,000 links took trafilatura 38 s (90 s on a busy machine); now it is one sentence at
    the deadline, and the next page is read by a fresh child."""
    links = " ".join(f'<a href="/p{i}">word{i}</a>' for i in range(16_000))
    bomb = f"<html><head><title>t</title></head><body><article><p>{links}</p></article></body></html>"
    with pytest.raises(BadInputError, match="took more than 5 s to read"):
        articles_from_html(bomb, "bomb.html", url="https://example.com/bomb")
    (article,) = articles_from_html(page("Harbour", "The harbour reopened on Friday, officials said.").decode(), "ok")
    assert "harbour reopened" in article.text


def test_a_passage_is_capped_in_characters_whatever_the_tokenizer_counts(model_dir: Path) -> None:
    """A 2 MB line without spaces reads as a few unknown tokens per piece; it used to become one passage of
    ~295,000 characters (10 MB line). Every passage now stays within the character cap."""
    from retrieval.embeddings import get_embedder

    embedder = get_embedder(model_dir)
    article = Article(title="Wall of letters", text="a" * 2_000_000, source="wall.txt")
    chunks = chunk_article(article, embedder.count_tokens, 192)
    assert chunks and max(len(c.text) for c in chunks) <= 192 * 8
    assert sum(len(c.text) for c in chunks) >= 2_000_000


def test_a_full_knowledge_base_still_takes_updates_of_its_articles(services: Services) -> None:
    """At the article limit an edited story replaces its old text (it adds no article); a new one is refused."""
    from retrieval.quota import Quota

    kb, quota = services.kb("default"), Quota(articles=1, bytes=10_000, feeds=1)
    story = Article(
        title="Ferry times", text="The ferry leaves at 9am daily, the port said.", url="https://a.example/f"
    )
    assert kb.ingest_articles([story], quota=quota).added == 1
    edited = replace(story, text="The ferry leaves at 11am daily, the port said on Sunday.")
    assert kb.ingest_articles([edited], quota=quota).updated == 1
    other = Article(title="Bridge shut", text="The bridge closes on Monday for repairs.", url="https://a.example/b")
    report = kb.ingest_articles([other], quota=quota)
    assert report.added == 0 and "may hold 1 articles" in report.failed[0].error
    assert kb.usage().articles == 1
