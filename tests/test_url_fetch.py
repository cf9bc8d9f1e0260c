"""URL ingestion against a real HTTP server on loopback: the SSRF guard, timeouts, errors and caps."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.errors import FetchError, UnsafeURLError
from retrieval.loaders import load_source
from retrieval.loaders.url import SafeFetcher
from tests.conftest import make_settings
from tests.loopback import Route, serve

ARTICLE = (
    b"<html><head><title>Dock strike ends</title></head><body><article><h1>Dock strike ends</h1>"
    b"<p>Dock workers in the port accepted a new pay offer on Tuesday, ending a strike that had lasted three weeks "
    b"and held up thousands of containers.</p></article></body></html>"
)


@pytest.fixture
def site():
    routes = {
        "/article": Route(body=ARTICLE),
        "/slow": Route(body=ARTICLE, delay_s=2.0),
        "/missing": Route(404, b"gone"),
        "/broken": Route(500, b"oops"),
        "/image": Route(body=b"\x89PNG....", headers={"Content-Type": "image/png"}),
        "/huge": Route(body=b"<p>" + b"x" * 3000 + b"</p>"),
    }
    with serve(routes) as s:
        routes["/to-private"] = Route(302, headers={"Location": s.url("/article")})
        routes["/loop"] = Route(302, headers={"Location": "/loop"})
        yield s


def fetcher(tmp_path: Path, model_dir: Path, **overrides: object) -> SafeFetcher:
    settings = make_settings(tmp_path, model_dir, fetch_timeout_s=0.5, **overrides)
    return SafeFetcher(settings)


def test_loopback_is_refused_without_the_opt_in_and_no_request_is_sent(site, tmp_path, model_dir) -> None:
    with pytest.raises(UnsafeURLError, match="private or local address"):
        fetcher(tmp_path, model_dir).fetch(site.url("/article"))
    with pytest.raises(UnsafeURLError):
        fetcher(tmp_path, model_dir).fetch(site.url("/article", host="localhost"))
    assert site.requests == []


def test_the_opt_in_allows_loopback(site, tmp_path, model_dir) -> None:
    settings = make_settings(tmp_path, model_dir, allow_private_urls=True)
    loaded = load_source(site.url("/article"), settings, SafeFetcher(settings))
    assert loaded.failures == []
    (article,) = loaded.articles
    assert article.title == "Dock strike ends" and article.url == site.url("/article")
    assert "three weeks" in article.text
    assert site.requests[0][1]["User-Agent"].startswith("newsdesk/")


def test_redirect_to_a_private_address_is_refused_before_following(site, tmp_path, model_dir) -> None:
    # "localhost" is explicitly trusted; the redirect target 127.0.0.1 is not, so it must not be requested.
    f = fetcher(tmp_path, model_dir, private_url_hosts=["localhost"])
    with pytest.raises(UnsafeURLError):
        f.fetch(site.url("/to-private", host="localhost"))
    assert site.paths == ["/to-private"]


def test_hosts_resolving_to_private_ranges_are_refused(tmp_path, model_dir) -> None:
    settings = make_settings(tmp_path, model_dir)
    for address in ("10.1.2.3", "192.168.0.10", "169.254.169.254", "::ffff:127.0.0.1", "fd00::1", "0.0.0.0"):
        guarded = SafeFetcher(settings, resolver=lambda host, port, a=address: [a])
        with pytest.raises(UnsafeURLError):
            guarded.check("https://news.example/story")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/x",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "http://",
        "https://user:pw@example.org/",
        "http://example.org:99999/",
    ],
)
def test_malformed_and_hostile_urls(url: str, tmp_path, model_dir) -> None:
    with pytest.raises(UnsafeURLError):
        fetcher(tmp_path, model_dir).check(url)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/slow", "did not answer within"),
        ("/missing", "HTTP 404"),
        ("/broken", "HTTP 500"),
        ("/image", "not a web page"),
        ("/huge", "larger than"),
        ("/loop", "redirected more than"),
    ],
)
def test_fetch_failures_are_one_clear_sentence(site, tmp_path, model_dir, path: str, message: str) -> None:
    f = fetcher(tmp_path, model_dir, allow_private_urls=True, max_fetch_bytes=1000)
    with pytest.raises(FetchError, match=message):
        f.fetch(site.url(path))


def test_failed_urls_leave_the_knowledge_base_unchanged(site, tmp_path, model_dir) -> None:
    from retrieval.knowledge_base import Services
    from tests.conftest import SAMPLE_CORPUS

    services = Services(make_settings(tmp_path, model_dir, fetch_timeout_s=0.5, max_fetch_bytes=1000))
    kb = services.kb("default")
    kb.ingest([str(SAMPLE_CORPUS)])
    before = [(a.id, a.content_hash) for a in kb.articles()]
    urls = [site.url(p) for p in ("/slow", "/missing", "/broken", "/image", "/huge", "/to-private")]
    report = kb.ingest(urls)
    assert len(report.failed) == len(urls) and report.added == report.updated == report.chunks_embedded == 0
    assert [(a.id, a.content_hash) for a in kb.articles()] == before
    services.close()
