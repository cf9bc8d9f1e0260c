"""Fetch web pages without becoming a proxy into the private network (SSRF guard).

Every URL, and every redirect target, is resolved and checked before a request is sent: only public addresses are
allowed unless the settings opt in (`NEWSDESK_ALLOW_PRIVATE_URLS`, or named hosts in `NEWSDESK_PRIVATE_URL_HOSTS`).
Redirects are followed by hand for that reason. Bodies are streamed and cut off at a size cap.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from retrieval.errors import FetchError, UnsafeURLError
from retrieval.settings import Settings

log = logging.getLogger(__name__)

USER_AGENT = "newsdesk/0.1 (news question-answering bot; respects robots and size limits)"
_TEXT_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "text/markdown")
FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/xml",
    "text/xml",
    "application/rdf+xml",
)

_REDIRECTS = (301, 302, 303, 307, 308)  # not 304: "not modified" is an answer, not a redirect

Resolver = Callable[[str, int], list[str]]


def resolve_host(host: str, port: int) -> list[str]:
    """All addresses `host` resolves to; a name that does not resolve is a clear error, not a crash."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError(f"The host {host} could not be found; check the address.") from exc
    return [str(info[4][0]) for info in infos]


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


@dataclass(frozen=True)
class FetchedPage:
    url: str  # after redirects
    content_type: str
    body: bytes
    headers: dict[str, str]
    status: int

    @property
    def text(self) -> str:
        from retrieval.loaders.decode import decode_text

        return decode_text(self.body, self.url)


class SafeFetcher:
    """An HTTP client that checks where it is going before it goes."""

    def __init__(self, settings: Settings, *, resolver: Resolver = resolve_host, client: httpx.Client | None = None):
        self._settings = settings
        self._resolver = resolver
        self._client = client or httpx.Client(
            timeout=httpx.Timeout(settings.fetch_timeout_s),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
            trust_env=False,
        )

    def check(self, url: str) -> None:
        """Raise UnsafeURLError unless `url` is http(s) and every address it resolves to is allowed."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise UnsafeURLError(f"Only http and https links can be added, not {parts.scheme or 'this'}: {url[:100]}")
        if not parts.hostname:
            raise UnsafeURLError(f"This link has no host name: {url[:100]}")
        if parts.username or parts.password:
            raise UnsafeURLError("Links with a user name or password in them are not accepted.")
        host = parts.hostname
        if self._settings.allow_private_urls or host in self._settings.private_url_hosts:
            return
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise UnsafeURLError(f"This link has an invalid port: {url[:100]}") from exc
        for address in self._resolver(host, port):
            if not _is_public(address):
                raise UnsafeURLError(
                    f"{host} points to a private or local address ({address}); newsdesk only fetches public sites "
                    "unless NEWSDESK_ALLOW_PRIVATE_URLS is set."
                )

    def fetch(
        self, url: str, *, accept: tuple[str, ...] = _TEXT_TYPES, headers: dict[str, str] | None = None
    ) -> FetchedPage:
        """GET `url` with the guard applied on every hop. 304 responses are returned with an empty body."""
        current = url
        for _ in range(self._settings.max_redirects + 1):
            self.check(current)
            try:
                with self._client.stream("GET", current, headers=headers) as response:
                    if response.status_code in _REDIRECTS and "location" in response.headers:
                        current = urljoin(current, response.headers.get("location", ""))
                        continue
                    return self._read(current, response, accept)
            except httpx.TimeoutException as exc:
                raise FetchError(
                    f"{current} did not answer within {self._settings.fetch_timeout_s:g} s; try again later."
                ) from exc
            except httpx.HTTPError as exc:
                raise FetchError(f"Could not connect to {urlsplit(current).hostname}; check the address.") from exc
        raise FetchError(f"{url} redirected more than {self._settings.max_redirects} times.")

    def _read(self, url: str, response: httpx.Response, accept: tuple[str, ...]) -> FetchedPage:
        if response.status_code == 304:
            return FetchedPage(url, "", b"", dict(response.headers), 304)
        if response.status_code >= 400:
            raise FetchError(f"{url} answered HTTP {response.status_code}; check that the link still works.")
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in accept:
            raise FetchError(f"{url} is not a web page (content type {content_type or 'unknown'}).")
        limit = self._settings.max_fetch_bytes
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise FetchError(f"{url} is larger than the {limit / 1e6:g} MB limit.")
        body = bytearray()
        for piece in response.iter_bytes():
            body.extend(piece)
            if len(body) > limit:
                raise FetchError(f"{url} is larger than the {limit / 1e6:g} MB limit.")
        return FetchedPage(url, content_type, bytes(body), dict(response.headers), response.status_code)

    def close(self) -> None:
        self._client.close()
