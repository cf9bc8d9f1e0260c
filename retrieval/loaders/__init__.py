"""Loaders: turn files, folders, uploads and URLs into `Article`s. Each source either loads or fails on its own.

The caller says what kind of source it has, and each kind has its own entry point, because the kinds are trusted
differently: `load_source` (the host operator's CLI) may read paths on this machine; `load_url` and `load_upload`
(anything that arrives from Discord) never touch the filesystem, whatever the text they are given looks like.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from retrieval.errors import BadInputError, NewsdeskError
from retrieval.loaders.decode import decode_text
from retrieval.loaders.html import articles_from_html
from retrieval.loaders.jsonl import articles_from_jsonl
from retrieval.loaders.pdf import PDF_SUFFIXES, articles_from_pdf
from retrieval.loaders.text import articles_from_text
from retrieval.loaders.url import SafeFetcher
from retrieval.settings import Settings
from retrieval.types import Article, IngestFailure

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
KNOWN_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES | PDF_SUFFIXES
READABLE = ".txt, .md, .html, .jsonl and .pdf"

# Credentials that must not become citable "articles" by accident (a `.env` added by mistake, a pasted config).
_SECRET_NAME = re.compile(r"^\.env|\.env$|^id_(rsa|ed25519|ecdsa)|\.(pem|key)$", re.IGNORECASE)
_SECRET_TEXT = re.compile(
    r"^\s*(?:export\s+)?[A-Z][A-Z0-9_]*(?:TOKEN|SECRET|PASSWORD|API_KEY|APIKEY)\s*=\s*\S"  # KEY=value lines
    r"|\bsk-[A-Za-z0-9_-]{20,}"  # OpenAI-style keys
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|\b[MN][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,}",  # Discord bot tokens
    re.MULTILINE,
)


@dataclass
class Loaded:
    articles: list[Article] = field(default_factory=list)
    failures: list[IngestFailure] = field(default_factory=list)
    skipped: int = 0  # files a folder walk passed over (unsupported type or hidden)

    def add(self, other: Loaded) -> None:
        self.articles += other.articles
        self.failures += other.failures
        self.skipped += other.skipped


def is_url(source: str) -> bool:
    return "://" in source or source.lower().startswith(("javascript:", "data:", "mailto:", "file:"))


def refuse_secrets(name: str, text: str) -> None:
    """BadInputError when a file name or its text looks like credentials."""
    if _SECRET_NAME.search(PurePosixPath(name).name) or _SECRET_TEXT.search(text):
        raise BadInputError(
            f"{name} looks like it holds credentials (an API key, token, password or private key), so it was not added."
        )


def _articles_from_bytes(
    data: bytes,
    name: str,
    allow_secrets: bool,
    settings: Settings,
    path: str | None = None,
    read_at: datetime | None = None,
) -> Loaded:
    """Parse by the name's suffix; the name is only a label here, never opened. `path`: the local file's identity;
    `read_at`: when the text was current (relative times on aggregator pages count back from it)."""
    read_at = read_at or datetime.now(UTC)
    suffix = PurePosixPath(name).suffix.lower()
    if suffix and suffix not in KNOWN_SUFFIXES:
        raise BadInputError(f"{name} is a {suffix} file; newsdesk reads {READABLE} files.")
    if suffix in PDF_SUFFIXES:
        limits = {"max_pages": settings.max_pdf_pages, "max_bytes": settings.max_pdf_bytes}
        articles, text = articles_from_pdf(data, name, path=path, **limits)
        if not allow_secrets:
            refuse_secrets(name, text)
        return Loaded(articles)
    text = decode_text(data, name)
    if not allow_secrets:
        refuse_secrets(name, text)
    if suffix in JSONL_SUFFIXES:
        articles, failures = articles_from_jsonl(text, name)
        return Loaded(articles, failures)
    if suffix in HTML_SUFFIXES:
        return Loaded(articles_from_html(text, name, path=path, read_at=read_at))
    markdown = suffix in (".md", ".markdown")
    return Loaded(articles_from_text(text, name, path=path, markdown=markdown, read_at=read_at))


def _too_large(name: str, size: int, limit: int) -> BadInputError:
    return BadInputError(f"{name} is {size / 1e6:.0f} MB, over the {limit / 1e6:.0f} MB limit; split it first.")


def read_regular_file(path: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; FIFOs, devices and sockets are refused unread.

    Opened non-blocking so a FIFO cannot stall us in open(); the size is checked before and while reading, so a file
    that grows (or lies about its size, like /proc files) is still cut off.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise BadInputError(f"{path} is not a regular file; newsdesk reads files, not devices, pipes or sockets.")
        if info.st_size > limit:
            raise _too_large(str(path), info.st_size, limit)
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise _too_large(str(path), len(data), limit)
    return data


def _files_under(folder: Path) -> tuple[list[Path], int]:
    """Readable article files under `folder`, and how many other files were skipped (hidden or unsupported)."""
    files, skipped = [], 0
    for p in sorted(folder.rglob("*")):
        if not p.is_file():
            continue
        hidden = any(part.startswith(".") for part in p.relative_to(folder).parts)
        if hidden or p.suffix.lower() not in KNOWN_SUFFIXES:
            skipped += 1
        else:
            files.append(p)
    return files, skipped


def _guarded(source: str, load) -> Loaded:
    """Run `load()`; any problem becomes a failure entry for `source` instead of an exception."""
    try:
        return load()
    except NewsdeskError as exc:
        return Loaded(failures=[IngestFailure(source, str(exc))])
    except OSError as exc:
        return Loaded(failures=[IngestFailure(source, f"{source} could not be read ({exc.strerror}).")])


def load_url(url: str, fetcher: SafeFetcher, *, allow_secrets: bool = False) -> Loaded:
    """An http(s) page, through the SSRF guard; never a path, whatever `url` looks like."""

    def load() -> Loaded:
        page = fetcher.fetch(url)
        if not allow_secrets:
            refuse_secrets(url, page.text)
        now = datetime.now(UTC)
        if page.content_type in ("text/html", "application/xhtml+xml"):
            return Loaded(articles_from_html(page.text, url, url=page.url, read_at=now))
        return Loaded(articles_from_text(page.text, url, url=page.url, read_at=now))

    return _guarded(url, load)


def load_upload(name: str, data: bytes, settings: Settings) -> Loaded:
    """A file uploaded to Discord, from memory: its name picks the parser and labels errors, nothing more."""

    def load() -> Loaded:
        if len(data) > settings.max_file_bytes:
            raise _too_large(name, len(data), settings.max_file_bytes)
        return _articles_from_bytes(data, name, False, settings)

    return _guarded(name, load)


def load_source(source: str, settings: Settings, fetcher: SafeFetcher, *, allow_secrets: bool = False) -> Loaded:
    """The CLI's loader: one path, folder or URL given by the host operator."""
    if is_url(source):
        return load_url(source, fetcher, allow_secrets=allow_secrets)

    def load() -> Loaded:
        path = Path(source).expanduser()
        if not path.exists():
            raise BadInputError(f"{source} does not exist; check the path.")
        if not path.is_dir():
            data = read_regular_file(path, settings.max_file_bytes)
            modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            return _articles_from_bytes(
                data, str(path), allow_secrets, settings, path=str(path.resolve()), read_at=modified
            )
        files, skipped = _files_under(path)
        if not files:
            raise BadInputError(f"{source} holds no {READABLE.replace(' and ', ' or ')} files.")
        combined = Loaded(skipped=skipped)
        for file in files:
            combined.add(load_source(str(file), settings, fetcher, allow_secrets=allow_secrets))
        return combined

    return _guarded(source, load)
