"""Feeds against a loopback site: RSS and Atom, added / edited items, conditional requests, failures, the guard."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retrieval.errors import BadInputError
from retrieval.feeds import FeedRefresher, FeedRegistry, parse_every
from retrieval.knowledge_base import Services
from retrieval.state import FEEDS, open_database
from tests.conftest import make_settings
from tests.loopback import Route, serve

RSS = "application/rss+xml"
HTML = {"Content-Type": "text/html; charset=utf-8"}


def page(title: str, body: str, date: str = "2026-06-28") -> bytes:
    return (
        f"<html><head><title>{title}</title><meta name='date' content='{date}'></head><body><article><h1>{title}</h1>"
        f"<p>{body}</p></article></body></html>"
    ).encode()


def rss(site, items: list[tuple[str, str, str]]) -> bytes:
    entries = "".join(
        f"<item><title>{title}</title><link>{site.url(path)}</link><pubDate>{date}</pubDate>"
        f"<description>{title}</description></item>"
        for path, title, date in items
    )
    channel = f"<channel><title>Harbour Times</title>{entries}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()


def atom(site) -> bytes:
    return (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>City Wire</title>'
        f'<entry><title>Tram line opens</title><link href="{site.url("/tram")}"/>'
        "<updated>2026-06-27T09:00:00Z</updated><summary>Tram</summary></entry></feed>"
    ).encode()


@pytest.fixture
def site():
    routes: dict[str, Route] = {}
    with serve(routes) as s:
        yield s


@pytest.fixture
def setup(tmp_path: Path, model_dir: Path):
    settings = make_settings(tmp_path, model_dir, allow_private_urls=True, fetch_timeout_s=0.5, max_fetch_bytes=20000)
    services = Services(settings)
    registry = FeedRegistry(open_database(settings, FEEDS))
    yield settings, services, registry, FeedRefresher(registry, services.fetcher)
    services.close()


DATE_1, DATE_2 = "Sat, 27 Jun 2026 10:00:00 GMT", "Sun, 28 Jun 2026 10:00:00 GMT"
FERRY = "The island ferry now leaves at 9am every day, the harbour authority said on Saturday after a review."
FERRY_EDITED = (
    "The island ferry now leaves at 11am every day, the harbour authority said on Sunday after a second review."
)
DOCK = "Dock workers accepted a pay offer on Saturday, ending a strike that had lasted three weeks at the harbour."
BRIDGE = "The harbour bridge will close for repairs for two weeks from Monday, the city engineer said."


def test_refresh_indexes_rss_and_atom_then_reports_added_updated_unchanged(site, setup) -> None:
    _, services, registry, refresher = setup
    kb = services.kb("default")
    site.routes.update(
        {
            "/ferry": Route(body=page("Ferry timetable changes", FERRY)),
            "/dock": Route(body=page("Dock strike ends", DOCK), headers={**HTML, "ETag": '"d1"'}),
            "/tram": Route(
                body=page("Tram line opens", "The new tram line opened to passengers in the city centre."),
                headers={**HTML, "Last-Modified": "Sat, 27 Jun 2026 10:00:00 GMT"},
            ),
            "/feed.xml": Route(
                body=rss(site, [("/ferry", "Ferry timetable changes", DATE_1), ("/dock", "Dock strike ends", DATE_1)]),
                headers={"Content-Type": RSS},
            ),
            "/atom.xml": Route(body=atom(site), headers={"Content-Type": "application/atom+xml", "ETag": '"v1"'}),
        }
    )
    registry.add("default", site.url("/feed.xml"), parse_every("1h"))
    registry.add("default", site.url("/atom.xml"))
    first = refresher.refresh(kb)
    assert (first.feeds, first.added, first.updated, first.failed) == (2, 3, 0, [])
    dock = next(a for a in kb.articles() if a.title == "Dock strike ends")
    assert (dock.outlet, dock.published, dock.url) == ("Harbour Times", "2026-06-28", site.url("/dock"))

    site.routes["/ferry"] = Route(body=page("Ferry timetable changes", FERRY_EDITED))
    site.routes["/bridge"] = Route(body=page("Bridge closes for repairs", BRIDGE))
    site.routes["/feed.xml"] = Route(
        body=rss(
            site,
            [
                ("/ferry", "Ferry timetable changes", DATE_2),
                ("/dock", "Dock strike ends", DATE_1),
                ("/bridge", "Bridge closes for repairs", DATE_2),
            ],
        ),
        headers={"Content-Type": RSS},
    )
    site.requests.clear()
    second = refresher.refresh(kb)
    assert (second.added, second.updated, second.unchanged) == (1, 1, 2)  # the Atom feed answered 304
    # Unchanged items are only re-checked, conditionally: the pages answer 304 and nothing is re-embedded.
    rechecks = {path: headers for path, headers in site.requests if path in ("/dock", "/tram")}
    assert rechecks["/dock"]["If-None-Match"] == '"d1"' and "If-Modified-Since" in rechecks["/tram"]
    atom_request = next(headers for path, headers in site.requests if path == "/atom.xml")
    assert atom_request["If-None-Match"] == '"v1"'

    passages = " ".join(h.chunk.text for h in kb.search("when does the island ferry leave?", 4, rerank=True))
    assert "11am" in passages and "9am" not in passages  # the edited article replaced the old text

    # An item dropped from the feed stays in the knowledge base: feeds show the latest items, not the archive.
    site.routes["/feed.xml"] = Route(
        body=rss(site, [("/bridge", "Bridge closes for repairs", DATE_2)]), headers={"Content-Type": RSS}
    )
    third = refresher.refresh(kb)
    assert (third.added, third.updated, third.failed) == (0, 0, [])
    assert "Dock strike ends" in {a.title for a in kb.articles()}


def test_failing_feeds_are_reported_and_do_not_block_the_others(site, setup) -> None:
    _, services, registry, refresher = setup
    site.routes.update(
        {
            "/good.xml": Route(body=rss(site, [("/dock", "Dock strike ends", DATE_1)]), headers={"Content-Type": RSS}),
            "/dock": Route(body=page("Dock strike ends", DOCK)),
            "/broken.xml": Route(body=b"<rss><channel><item>not closed", headers={"Content-Type": RSS}),
            "/error.xml": Route(500, b"oops"),
            "/slow.xml": Route(body=b"", delay_s=1.5, headers={"Content-Type": RSS}),
            "/huge.xml": Route(body=b"<rss>" + b" " * 30000 + b"</rss>", headers={"Content-Type": RSS}),
        }
    )
    for path in ("/good.xml", "/broken.xml", "/error.xml", "/slow.xml", "/huge.xml"):
        registry.add("default", site.url(path), 3600)
    report = refresher.refresh(services.kb("default"))
    assert report.feeds == 5 and report.added == 1
    errors = {f.source.rsplit("/", 1)[1]: f.error for f in report.failed}
    assert "not a readable RSS or Atom feed" in errors["broken.xml"]
    assert "HTTP 500" in errors["error.xml"] and "did not answer" in errors["slow.xml"]
    assert "larger than" in errors["huge.xml"]
    state = {f.url.rsplit("/", 1)[1]: f for f in registry.feeds("default")}
    assert state["error.xml"].last_error and state["good.xml"].last_success and state["good.xml"].next_due > 0


def test_loopback_feeds_need_the_opt_in(site, tmp_path: Path, model_dir: Path) -> None:
    settings = make_settings(tmp_path, model_dir, private_url_hosts=["localhost"])
    services = Services(settings)
    registry = FeedRegistry(open_database(settings, FEEDS))
    site.routes["/moved.xml"] = Route(302, headers={"Location": site.url("/feed.xml")})  # to 127.0.0.1
    registry.add("default", site.url("/feed.xml"), 3600)
    registry.add("default", site.url("/moved.xml", host="localhost"), 3600)
    report = FeedRefresher(registry, services.fetcher).refresh(services.kb("default"))
    assert [f.error.split(" points to")[0] for f in report.failed] == ["127.0.0.1", "127.0.0.1"]
    assert site.paths == ["/moved.xml"]  # the direct URL sent nothing; the redirect was refused before following
    services.close()


def test_feed_cli(run, site) -> None:
    assert "private or local address" in run("feeds", "add", site.url("/feed.xml"), code=2)["text"]
    assert run("feeds", "list", "--json") == {"feeds": []}
    assert "No feeds to refresh" in run("refresh")["text"]
    assert json.loads(json.dumps(run("refresh", "--json")))["feeds"] == 0
    with pytest.raises(BadInputError):
        parse_every("hourly")
    assert parse_every("1m") == 300


@pytest.mark.slow
def test_feed_refresh_ask_against_a_chroma_server(site, tmp_path: Path, model_dir: Path) -> None:
    from tests.chroma_server import chroma_server

    with chroma_server(tmp_path / "server") as port:
        settings = make_settings(
            tmp_path / "data", model_dir, allow_private_urls=True, chroma_host="127.0.0.1", chroma_port=port
        )
        services = Services(settings)
        registry = FeedRegistry(open_database(settings, FEEDS))
        site.routes.update(
            {
                "/ferry": Route(body=page("Ferry timetable changes", FERRY_EDITED)),
                "/feed.xml": Route(
                    body=rss(site, [("/ferry", "Ferry timetable changes", DATE_2)]), headers={"Content-Type": RSS}
                ),
            }
        )
        registry.add("default", site.url("/feed.xml"), 3600)
        kb = services.kb("default")
        assert FeedRefresher(registry, services.fetcher).refresh(kb).added == 1
        (hit,) = kb.search("when does the island ferry leave?", 1, rerank=True)
        assert "11am" in hit.chunk.text and hit.article.url == site.url("/ferry")
        services.close()


def test_feeds_add_checks_the_feed_and_says_what_changed(run, site, monkeypatch) -> None:
    monkeypatch.setenv("NEWSDESK_ALLOW_PRIVATE_URLS", "true")
    site.routes["/dock"] = Route(body=page("Dock strike ends", DOCK))
    items = [("/dock", "Dock strike ends", DATE_1)]
    site.routes["/feed.xml"] = Route(body=rss(site, items), headers={"Content-Type": RSS})
    first = run("feeds", "add", site.url("/feed.xml"), "--json")
    assert first["items"] >= 1 and first["already_followed"] is False and first["every_s"] == 3600
    shown = run("feeds", "add", site.url("/feed.xml"))["text"]
    assert "already followed; nothing changed" in shown and "Following “" in shown
    again = run("feeds", "add", site.url("/feed.xml"), "--every", "1m", "--json")
    assert again["every_s"] == 300 and "interval raised to the 5-minute minimum" in again["notes"]
    web_page = run("feeds", "add", site.url("/dock"), code=2)["text"]
    assert "is a web page, not a feed" in web_page


def test_a_failed_item_waits_out_its_backoff_on_schedule_but_an_asked_refresh_retries_it_now(site, setup) -> None:
    _, services, registry, _ = setup
    now = [1_000_000.0]
    refresher = FeedRefresher(registry, services.fetcher, clock=lambda: now[0])
    kb = services.kb("default")
    site.routes["/ferry"] = Route(404, b"not yet")
    feed = rss(site, [("/ferry", "Ferry timetable changes", DATE_1)])
    site.routes["/feed.xml"] = Route(body=feed, headers={"Content-Type": RSS, "ETag": '"v1"'})
    registry.add("default", site.url("/feed.xml"), 300)
    first = refresher.refresh(kb)
    assert first.added == 0 and [f.source for f in first.failed] == [site.url("/ferry")]
    assert first.failed[0].reason.startswith("answered HTTP 404")  # the address is not said twice
    assert registry.feeds("default")[0].failing_items == 1
    site.routes["/ferry"] = Route(body=page("Ferry timetable changes", FERRY))  # the page exists now
    now[0] += 301  # the feed is due again (every 5 minutes); the item's 10-minute backoff is not over
    scheduled = refresher.refresh(kb, only_due=True)  # the feed answers 304 and the retry is not due yet
    assert scheduled.feeds == 1 and scheduled.added == 0 and site.paths.count("/ferry") == 1
    asked = refresher.refresh(kb)  # someone asked for a refresh: no waiting
    assert (asked.added, asked.retried) == (1, 1) and registry.feeds("default")[0].failing_items == 0
    assert [a.title for a in asked.named("added")] == ["Ferry timetable changes"]
    assert any("9am" in h.chunk.text for h in kb.search("ferry timetable", 2))


def test_an_edited_article_is_re_read_although_its_feed_entry_did_not_change(site, setup) -> None:
    _, services, registry, refresher = setup
    kb = services.kb("default")
    site.routes["/ferry"] = Route(body=page("Ferry timetable changes", FERRY), headers={**HTML, "ETag": '"f1"'})
    site.routes["/dock"] = Route(body=page("Dock strike ends", DOCK), headers={**HTML, "ETag": '"d1"'})
    items = [("/ferry", "Ferry timetable changes", DATE_1), ("/dock", "Dock strike ends", DATE_1)]
    site.routes["/feed.xml"] = Route(body=rss(site, items), headers={"Content-Type": RSS})
    registry.add("default", site.url("/feed.xml"))
    assert refresher.refresh(kb).added == 2
    # The site fixes the ferry time in the article; its feed entry (guid, date, title) stays the same.
    site.routes["/ferry"] = Route(body=page("Ferry timetable changes", FERRY_EDITED), headers={**HTML, "ETag": '"f2"'})
    site.routes["/bridge"] = Route(body=page("Bridge closes for repairs", BRIDGE))
    site.routes["/feed.xml"] = Route(
        body=rss(site, [*items, ("/bridge", "Bridge closes for repairs", DATE_2)]), headers={"Content-Type": RSS}
    )
    second = refresher.refresh(kb)
    assert (second.added, second.updated, second.unchanged) == (1, 1, 1)
    assert any("11am" in h.chunk.text for h in kb.search("island ferry time", 3))


def test_a_slow_site_does_not_hold_up_feeds_on_other_hosts(site, setup) -> None:
    _, services, registry, refresher = setup
    site.routes["/a.xml"] = Route(
        body=rss(site, [("/a-item", "Dock strike ends", DATE_1)]), headers={"Content-Type": RSS}, delay_s=0.4
    )
    b_items = [("/b-item", "Bridge closes for repairs", DATE_2)]
    site.routes["/b.xml"] = Route(
        body=rss(site, b_items).replace(b"127.0.0.1", b"localhost"), headers={"Content-Type": RSS}
    )
    site.routes["/a-item"] = Route(body=page("Dock strike ends", DOCK))
    site.routes["/b-item"] = Route(body=page("Bridge closes for repairs", BRIDGE))
    registry.add("default", site.url("/a.xml"))  # 127.0.0.1 sorts first: one at a time, it would go first
    registry.add("default", site.url("/b.xml", host="localhost"))
    report = refresher.refresh(services.kb("default"))
    assert (report.feeds, report.added, report.failed) == (2, 2, [])
    assert site.paths.index("/b-item") < site.paths.index("/a-item")  # the other host went ahead meanwhile


def test_an_item_whose_dates_cannot_be_read_is_indexed_undated_with_a_warning(site, setup) -> None:
    _, services, registry, refresher = setup
    kb = services.kb("default")
    undated = (
        "<html><head><title>Ferry timetable changes</title></head><body><article><h1>Ferry timetable changes</h1>"
        f"<p>{FERRY}</p></article></body></html>"
    ).encode()
    site.routes["/ferry"] = Route(body=undated)
    feed = rss(site, [("/ferry", "Ferry timetable changes", "the day after tomorrow")])
    site.routes["/feed.xml"] = Route(body=feed, headers={"Content-Type": RSS})
    registry.add("default", site.url("/feed.xml"))
    report = refresher.refresh(kb)
    assert report.added == 1 and [w.source for w in report.warnings] == [site.url("/feed.xml")]
    assert "'the day after tomorrow' could not be read" in report.warnings[0].error
    assert kb.articles()[0].published is None


def test_refresh_report_names_articles_and_feeds_are_removed_by_title(run, site, monkeypatch) -> None:
    monkeypatch.setenv("NEWSDESK_ALLOW_PRIVATE_URLS", "true")
    site.routes["/dock"] = Route(body=page("Dock strike ends", DOCK))
    site.routes["/ferry"] = Route(404, b"gone")
    items = [("/dock", "Dock strike ends", DATE_1), ("/ferry", "Ferry timetable changes", DATE_1)]
    site.routes["/feed.xml"] = Route(body=rss(site, items), headers={"Content-Type": RSS})
    run("feeds", "add", site.url("/feed.xml"), "--json")
    shown = " ".join(run("refresh", code=1)["text"].split())
    assert "added Dock strike ends" in shown
    assert f"failed {site.url('/ferry')}: answered HTTP 404; check that the link still works." in shown
    report = run("refresh", "--json", code=1)
    assert [a["title"] for a in report["articles"] if a["outcome"] == "unchanged"] == ["Dock strike ends"]
    assert report["failed"][0]["source"] == site.url("/ferry")
    assert "No followed feed matches “Harbor Tims Daily”" in run("feeds", "remove", "Harbor Tims Daily", code=2)["text"]
    removed = run("feeds", "remove", "harbour times", "--json")
    assert removed == {"removed": site.url("/feed.xml")}
    assert run("feeds", "list", "--json")["feeds"] == []
