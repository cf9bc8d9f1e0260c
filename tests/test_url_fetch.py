"""URL ingestion against a real HTTP server on loopback: the SSRF guard, timeouts, errors and caps."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.errors import BadInputError, FetchError, UnsafeURLError
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
    settings = make_settings(tmp_path, model_dir, **{"fetch_timeout_s": 0.5, **overrides})
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
    ],
)
def test_hostile_urls_are_refused(url: str, tmp_path, model_dir) -> None:
    with pytest.raises(UnsafeURLError):
        fetcher(tmp_path, model_dir).check(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://example.org:99999/",
        "http://[::1",
        "http://" + "a" * 64 + ".example/",
        "http://127.0.0.1:80:80/",
        "http://exa\tmple.org/",
        "http://example.org/ a",
    ],
)
def test_malformed_urls_are_bad_input_not_a_crash(url: str, tmp_path, model_dir) -> None:
    with pytest.raises(BadInputError, match="link"):
        fetcher(tmp_path, model_dir).check(url)


@pytest.mark.parametrize(
    "address", ["::127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::", "64:ff9b::a00:1", "::ffff:10.0.0.1"]
)
def test_ipv6_addresses_embedding_private_ipv4_are_private(address: str, tmp_path, model_dir) -> None:
    guarded = SafeFetcher(make_settings(tmp_path, model_dir), resolver=lambda host, port: [address])
    with pytest.raises(UnsafeURLError):
        guarded.check("https://news.example/story")


def test_dns_rebinding_cannot_reach_loopback(site, tmp_path, model_dir) -> None:
    """The resolver approves a public address, then would answer 127.0.0.1: we connect only to what was checked."""
    answers = iter([["192.0.2.10"], ["127.0.0.1"], ["127.0.0.1"]])
    settings = make_settings(tmp_path, model_dir, fetch_timeout_s=0.3, fetch_deadline_s=1.0)
    rebinding = SafeFetcher(settings, resolver=lambda host, port: next(answers))
    with pytest.raises(UnsafeURLError):  # 192.0.2.0/24 is documentation space: not public either
        rebinding.fetch(site.url("/article", host="rebind.example"))
    answers = iter([["93.184.216.34"], ["127.0.0.1"], ["127.0.0.1"]])
    with pytest.raises(FetchError):
        rebinding.fetch(f"http://rebind.example:{site.port}/article")
    assert site.requests == []


def test_a_trickling_server_hits_one_overall_deadline(site, tmp_path, model_dir) -> None:
    site.routes["/trickle"] = Route(body=ARTICLE, trickle_s=0.05)  # each read is quick; the whole is ~20 s
    f = fetcher(tmp_path, model_dir, allow_private_urls=True, fetch_timeout_s=1.0, fetch_deadline_s=1.0)
    with pytest.raises(FetchError, match="longer than the 1 s limit"):  # not the per-read timeout
        f.fetch(site.url("/trickle"))


def _gzip(data: bytes) -> bytes:
    import gzip

    return gzip.compress(data, compresslevel=9)


def test_decompression_bombs_stop_at_the_cap(site, tmp_path, model_dir) -> None:
    import zstandard

    html = {"Content-Type": "text/html"}
    bomb = b"<p>" + b"x" * 20_000_000 + b"</p>"
    site.routes["/gzip-bomb"] = Route(body=_gzip(bomb), headers={**html, "Content-Encoding": "gzip"})
    site.routes["/stacked"] = Route(body=_gzip(_gzip(bomb)), headers={**html, "Content-Encoding": "gzip, gzip"})
    zstd = zstandard.ZstdCompressor().compress(bomb)
    site.routes["/zstd"] = Route(body=zstd, headers={**html, "Content-Encoding": "zstd"})
    site.routes["/ok-gzip"] = Route(body=_gzip(ARTICLE), headers={**html, "Content-Encoding": "gzip"})
    f = fetcher(tmp_path, model_dir, allow_private_urls=True, max_fetch_bytes=100_000)
    with pytest.raises(FetchError, match="larger than"):
        f.fetch(site.url("/gzip-bomb"))
    with pytest.raises(FetchError, match="compressed more than once"):
        f.fetch(site.url("/stacked"))
    with pytest.raises(FetchError, match="does not accept"):
        f.fetch(site.url("/zstd"))
    assert f.fetch(site.url("/ok-gzip")).body == ARTICLE
    assert site.requests[0][1]["Accept-Encoding"] == "gzip, x-gzip, deflate"


def test_a_malformed_content_length_is_one_sentence(site, tmp_path, model_dir) -> None:
    site.routes["/bad-length"] = Route(body=ARTICLE, headers={"Content-Type": "text/html", "Content-Length": "12abc"})
    with pytest.raises(FetchError, match="malformed"):
        fetcher(tmp_path, model_dir, allow_private_urls=True).fetch(site.url("/bad-length"))


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
