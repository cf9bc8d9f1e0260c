"""Fetch web pages without becoming a proxy into the private network, and without unbounded work.

- Address: every URL, and every redirect target, is resolved and checked before a request is sent: only public
  addresses are allowed unless the settings opt in (`NEWSDESK_ALLOW_PRIVATE_URLS`, or named hosts in
  `NEWSDESK_PRIVATE_URL_HOSTS`). The connection then goes to the address that was checked, never to a second DNS
  answer (DNS rebinding), through a network backend that only knows the approved addresses.
- Time: one deadline per fetch covers connecting, headers and body, however slowly a server trickles bytes.
- Size: bodies are counted after decompression while they stream; stacked or unknown encodings are refused, so a
  small compressed body cannot expand into gigabytes.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import ssl
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import urljoin

import httpcore
import httpx

from retrieval.errors import BadInputError, FetchError, UnsafeURLError
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
# Only encodings we can decode with a bounded output size (zlib's max_length); brotli and zstd are not offered.
_ENCODINGS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
# Addresses that carry an IPv4 address inside IPv6: checked as the IPv4 address they embed.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")

Resolver = Callable[[str, int], list[str]]


def resolve_host(host: str, port: int) -> list[str]:
    """All addresses `host` resolves to; a name that does not resolve is a clear error, not a crash."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"The host {host} could not be found; check the address.") from exc
    return [str(info[4][0]) for info in infos]


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside a mapped, compatible, NAT64, 6to4 or Teredo IPv6 address, if any."""
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(address: str) -> bool:
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        inner = embedded_ipv4(ip)
        if inner is not None and not (inner.is_global and not inner.is_multicast):
            return False
    return ip.is_global and not ip.is_multicast


def check_link(url: str) -> None:
    """Refuse, in one sentence, a link that could never be fetched (not http(s), malformed, no host), without any
    network traffic: callers check a link when it is given rather than when its fetch fails later."""
    _parse(url)


def _parse(url: str) -> httpx.URL:
    """A URL we can fetch, or one sentence saying what is wrong with it (bad input, exit code 2)."""
    shown = url[:100]
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise BadInputError(f"This link contains spaces or control characters: {shown!r}")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, UnicodeError) as exc:
        raise BadInputError(f"This link is malformed ({exc}): {shown}") from None
    if parsed.scheme not in ("http", "https"):
        raise UnsafeURLError(f"Only http and https links can be added, not {parsed.scheme or 'this'}: {shown}")
    host = parsed.raw_host.decode("ascii")
    if not host:
        raise UnsafeURLError(f"This link has no host name: {shown}")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise BadInputError(f"This link has an invalid port: {shown}")
    if parsed.userinfo:
        raise UnsafeURLError("Links with a user name or password in them are not accepted.")
    if ":" not in host and (len(host) > 253 or any(not 0 < len(label) <= 63 for label in host.rstrip(".").split("."))):
        raise BadInputError(f"This link's host name is not valid (labels are 1-63 characters): {shown}")
    return parsed


class _DeadlineStream(httpcore.NetworkStream):
    """A socket whose every read and write stops at the fetch's deadline, however often bytes trickle in."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: float) -> None:
        self._inner = inner
        self._deadline = deadline

    def _left(self, timeout: float | None) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout("the fetch deadline passed")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._left(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context, server_hostname: str | None = None, timeout: float | None = None):
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, self._left(timeout)), self._deadline)

    def get_extra_info(self, info: str):
        return self._inner.get_extra_info(info)


class _PinnedBackend(httpcore.NetworkBackend):
    """Connects a host name only to the address the guard approved for it (TLS still verifies the host name)."""

    def __init__(self, pins: dict[str, str], deadline: float) -> None:
        self._inner = httpcore.SyncBackend()
        self._pins = pins
        self._deadline = deadline

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        address = self._pins.get(host)
        if address is None:  # every hop is checked first, so this is a bug, not an attacker: fail closed
            raise httpcore.ConnectError(f"{host} was not checked before connecting")
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ConnectTimeout("the fetch deadline passed")
        timeout = left if timeout is None else min(timeout, left)
        stream = self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
        return _DeadlineStream(stream, self._deadline)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise httpcore.ConnectError("unix sockets are never used for fetching")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _PinnedTransport(httpx.HTTPTransport):
    """httpx's own transport, with its connection pool rebuilt on `_PinnedBackend`: httpx has no backend option.

    The TLS context is given, not built: building one costs tens of milliseconds, more than a small fetch."""

    def __init__(self, backend: _PinnedBackend, ssl_context: ssl.SSLContext) -> None:
        super().__init__(verify=ssl_context, trust_env=False)
        self._pool = httpcore.ConnectionPool(ssl_context=ssl_context, network_backend=backend, max_connections=4)


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
    """An HTTP client that checks where it is going before it goes, and goes only there."""

    def __init__(self, settings: Settings, *, resolver: Resolver = resolve_host) -> None:
        self._settings = settings
        self._resolver = resolver

    @cached_property
    def _tls(self) -> ssl.SSLContext:
        """One TLS context for every fetch: certificates are loaded once, not per page (a feed may list thousands)."""
        return httpx.create_ssl_context(trust_env=False)

    def check(self, url: str) -> str:
        """The address to connect to for `url`; UnsafeURLError unless it is http(s) and every address is allowed."""
        parsed = _parse(url)
        host = parsed.raw_host.decode("ascii")
        addresses = self._resolver(host, parsed.port or (443 if parsed.scheme == "https" else 80))
        if not addresses:
            raise FetchError(f"The host {host} could not be found; check the address.")
        if self._settings.allow_private_urls or host in self._settings.private_url_hosts:
            return addresses[0]
        for address in addresses:
            if not is_public(address):
                raise UnsafeURLError(
                    f"{host} points to a private or local address ({address}); newsdesk only fetches public sites "
                    "unless the host operator allows it."
                )
        return addresses[0]

    def fetch(
        self, url: str, *, accept: tuple[str, ...] = _TEXT_TYPES, headers: dict[str, str] | None = None
    ) -> FetchedPage:
        """GET `url` with the guard applied on every hop. 304 responses are returned with an empty body."""
        deadline = time.monotonic() + self._settings.fetch_deadline_s
        # The address is checked before anything is built for it: a refused link costs a DNS lookup, nothing more.
        pins: dict[str, str] = {_parse(url).raw_host.decode("ascii"): self.check(url)}
        client = httpx.Client(
            transport=_PinnedTransport(_PinnedBackend(pins, deadline), self._tls),
            timeout=httpx.Timeout(self._settings.fetch_timeout_s),
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": ", ".join(_ENCODINGS)},
            follow_redirects=False,
            trust_env=False,
        )
        current = url
        with client:
            for hop in range(self._settings.max_redirects + 1):
                if hop:  # every redirect target is checked like the first address
                    pins[_parse(current).raw_host.decode("ascii")] = self.check(current)
                try:
                    with client.stream("GET", current, headers=headers) as response:
                        if response.status_code in _REDIRECTS and "location" in response.headers:
                            current = urljoin(current, response.headers.get("location", ""))
                            continue
                        return self._read(current, response, accept, deadline)
                except httpx.TimeoutException as exc:
                    if time.monotonic() >= deadline:
                        raise FetchError(
                            f"{current} took longer than the {self._settings.fetch_deadline_s:g} s limit; "
                            "try again later."
                        ) from exc
                    raise FetchError(
                        f"{current} did not answer within {self._settings.fetch_timeout_s:g} s; try again later."
                    ) from exc
                except (httpx.RemoteProtocolError, httpx.DecodingError) as exc:
                    raise FetchError(f"{_parse(current).host} sent a malformed HTTP response.") from exc
                except httpx.HTTPError as exc:
                    raise FetchError(f"Could not connect to {_parse(current).host}; check the address.") from exc
        raise FetchError(f"{url} redirected more than {self._settings.max_redirects} times.")

    def _read(self, url: str, response: httpx.Response, accept: tuple[str, ...], deadline: float) -> FetchedPage:
        if response.status_code == 304:
            return FetchedPage(url, "", b"", dict(response.headers), 304)
        if response.status_code >= 400:
            raise FetchError(f"{url} answered HTTP {response.status_code}; check that the link still works.")
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in accept:
            raise FetchError(f"{url} is not a web page (content type {content_type or 'unknown'}).")
        limit = self._settings.max_fetch_bytes
        declared = response.headers.get("content-length", "").strip()
        if declared and not declared.isdigit():
            raise FetchError(f"{url} sent a malformed Content-Length header.")
        if declared and int(declared) > limit and "content-encoding" not in response.headers:
            raise FetchError(f"{url} is larger than the {limit / 1e6:g} MB limit.")
        body = _bounded_body(url, response, limit, deadline)
        return FetchedPage(url, content_type, body, dict(response.headers), response.status_code)


def _bounded_body(url: str, response: httpx.Response, limit: int, deadline: float) -> bytes:
    """The decoded body, refused as soon as it passes `limit` bytes or the deadline (not after inflating it all)."""
    encodings = [e.strip().lower() for e in response.headers.get("content-encoding", "").split(",")]
    encodings = [e for e in encodings if e and e != "identity"]
    if len(encodings) > 1:
        raise FetchError(f"{url} is compressed more than once ({', '.join(encodings)}); newsdesk refuses that.")
    if encodings and encodings[0] not in _ENCODINGS:
        raise FetchError(f"{url} uses a compression newsdesk does not accept ({encodings[0]}).")
    decoder = zlib.decompressobj(_ENCODINGS[encodings[0]]) if encodings else None
    too_large = FetchError(f"{url} is larger than the {limit / 1e6:g} MB limit.")
    body = bytearray()
    for raw in response.iter_raw():
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("the fetch deadline passed")
        if decoder is None:
            body += raw
        else:
            pending = raw
            while pending and len(body) <= limit:
                try:
                    body += decoder.decompress(pending, limit + 1 - len(body))  # max_length >= 1: never unbounded
                except zlib.error as exc:
                    raise FetchError(f"{url} sent a corrupt compressed body.") from exc
                pending = decoder.unconsumed_tail
        if len(body) > limit:
            raise too_large
    return bytes(body)
