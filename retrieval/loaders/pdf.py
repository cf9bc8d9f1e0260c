"""PDF files (press releases, reports, council minutes) read with pypdf: one PDF is one article.

A PDF is untrusted input with a parser behind it, so it is bounded before its text is read: its size in bytes and its
number of pages (both settings). Encrypted PDFs and PDFs with no text layer (scans) are refused with one sentence
each, since newsdesk has no password and no OCR.
"""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING

from retrieval.errors import BadInputError
from retrieval.loaders.text import MAX_TITLE_CHARS
from retrieval.types import Article

if TYPE_CHECKING:
    from pypdf import PdfReader

log = logging.getLogger(__name__)
PDF_SUFFIXES = {".pdf"}


def articles_from_pdf(
    data: bytes, name: str, *, max_pages: int, max_bytes: int, path: str | None = None
) -> tuple[list[Article], str]:
    """The PDF's text as one article (its title from the document's metadata, else its first line), and the text
    itself so the caller can screen it like any other file's."""
    if len(data) > max_bytes:
        raise BadInputError(f"{name} is {len(data) / 1e6:.1f} MB, over the {max_bytes / 1e6:g} MB limit for PDFs.")
    from pypdf import PdfReader  # ~50 ms of imports that only a PDF needs, kept out of `ask`'s start

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not _opened_without_password(reader):
            raise BadInputError(f"{name} is password-protected; add an unprotected copy instead.")
        if len(reader.pages) > max_pages:
            raise BadInputError(f"{name} has {len(reader.pages)} pages, over the {max_pages}-page limit; split it.")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = _metadata_title(reader)
    except BadInputError:
        raise
    except Exception as exc:  # pypdf raises many kinds of error on a malformed file; each means "unreadable"
        log.info("could not read PDF %s: %r", name, exc)
        raise BadInputError(f"{name} is not a readable PDF.") from None
    lines = [" ".join(line.split()) for page in pages for line in page.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        raise BadInputError(f"{name} has no text to read (it looks like scanned images); add a PDF with a text layer.")
    if title is None:
        title, lines = lines[0], lines[1:] or lines
    article = Article(title=title[:MAX_TITLE_CHARS], text="\n".join(lines), source=name, path=path)
    return [article], "\n".join(pages)


def _opened_without_password(reader: PdfReader) -> bool:
    """Many PDFs are encrypted only against editing, with an empty password for reading."""
    from pypdf.errors import DependencyError, FileNotDecryptedError, PyPdfError

    try:
        return bool(reader.decrypt(""))
    except (DependencyError, FileNotDecryptedError, NotImplementedError, PyPdfError):
        return False  # AES needs an extra package; either way newsdesk cannot read it


def _metadata_title(reader: PdfReader) -> str | None:
    """The document title, when it was set to something that reads like one (not a file name or "Untitled")."""
    title = " ".join(str((reader.metadata or {}).get("/Title") or "").split())
    if len(title) < 8 or title.lower().startswith(("untitled", "microsoft word")) or title.lower().endswith(".pdf"):
        return None
    return title
