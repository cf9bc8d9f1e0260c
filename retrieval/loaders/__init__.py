"""Loaders: turn files, folders and URLs into `Article`s. Each source either loads or fails on its own."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from retrieval.errors import BadInputError, NewsdeskError
from retrieval.loaders.decode import decode_text
from retrieval.loaders.html import articles_from_html
from retrieval.loaders.jsonl import articles_from_jsonl
from retrieval.loaders.text import articles_from_text
from retrieval.loaders.url import SafeFetcher
from retrieval.settings import Settings
from retrieval.types import Article, IngestFailure

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
KNOWN_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES


@dataclass
class Loaded:
    articles: list[Article] = field(default_factory=list)
    failures: list[IngestFailure] = field(default_factory=list)


def is_url(source: str) -> bool:
    return "://" in source or source.lower().startswith(("javascript:", "data:", "mailto:", "file:"))


def _load_file(path: Path, settings: Settings) -> Loaded:
    size = path.stat().st_size
    if size > settings.max_file_bytes:
        raise BadInputError(
            f"{path} is {size / 1e6:.0f} MB, over the {settings.max_file_bytes / 1e6:.0f} MB limit; split it first."
        )
    text = decode_text(path.read_bytes(), str(path))
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        articles, failures = articles_from_jsonl(text, str(path))
        return Loaded(articles, failures)
    if suffix in HTML_SUFFIXES:
        return Loaded(articles_from_html(text, str(path)))
    return Loaded(articles_from_text(text, str(path)))


def _load_url(url: str, fetcher: SafeFetcher) -> Loaded:
    page = fetcher.fetch(url)
    if page.content_type in ("text/html", "application/xhtml+xml"):
        return Loaded(articles_from_html(page.text, url, url=page.url))
    return Loaded(articles_from_text(page.text, url, url=page.url))


def _files_under(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.suffix.lower() in KNOWN_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def load_source(source: str, settings: Settings, fetcher: SafeFetcher) -> Loaded:
    """Load one path, folder or URL; any problem becomes a failure entry instead of an exception."""
    try:
        if is_url(source):
            return _load_url(source, fetcher)
        path = Path(source).expanduser()
        if not path.exists():
            raise BadInputError(f"{source} does not exist; check the path.")
        if path.is_dir():
            combined = Loaded()
            files = _files_under(path)
            if not files:
                raise BadInputError(f"{source} holds no .txt, .md, .html or .jsonl files.")
            for file in files:
                part = load_source(str(file), settings, fetcher)
                combined.articles += part.articles
                combined.failures += part.failures
            return combined
        return _load_file(path, settings)
    except NewsdeskError as exc:
        return Loaded(failures=[IngestFailure(source, str(exc))])
    except OSError as exc:
        return Loaded(failures=[IngestFailure(source, f"{source} could not be read ({exc.strerror}).")])
