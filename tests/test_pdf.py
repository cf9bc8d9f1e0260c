"""PDF files: read with pypdf, bounded in bytes and pages, one sentence for what cannot be read. Every PDF here is
built in the test (a text PDF written by hand, blank and encrypted ones by pypdf), never a downloaded fixture."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfWriter

from retrieval.errors import BadInputError
from retrieval.loaders import load_upload
from retrieval.loaders.pdf import articles_from_pdf
from tests.conftest import make_settings


def text_pdf(*pages: list[str], title: str | None = None) -> bytes:
    """A minimal valid PDF: one page per list of lines, Helvetica text, a correct cross-reference table."""
    count = len(pages)
    page_ids = [4 + 2 * i for i in range(count)]
    objects = {
        1: "<< /Type /Catalog /Pages 2 0 R >>",
        2: f"<< /Type /Pages /Kids [{' '.join(f'{p} 0 R' for p in page_ids)}] /Count {count} >>",
        3: "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    }
    for page_id, lines in zip(page_ids, pages, strict=True):
        shown = " ".join(f"({line}) Tj 0 -16 Td" for line in lines)
        stream = f"BT /F1 12 Tf 72 720 Td {shown} ET"
        objects[page_id] = (
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {page_id + 1} 0 R >>"
        )
        objects[page_id + 1] = f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream"
    info = max(objects) + 1
    objects[info] = f"<< /Title ({title}) >>" if title else "<< >>"
    out = bytearray(b"%PDF-1.4\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += f"{number} 0 obj\n{objects[number]}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {info + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offsets[n]:010d} 00000 n \n" for n in range(1, info + 1)).encode()
    out += f"trailer\n<< /Size {info + 1} /Root 1 0 R /Info {info} 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def blank_pdf(pages: int = 1, password: str | None = None) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(612, 792)
    if password:
        writer.encrypt(password, algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


LIMITS = {"max_pages": 5, "max_bytes": 100_000}
MINUTES = [
    "Harbour council approves ferry timetable",
    "The harbour council approved the new ferry timetable on Monday.",
    "Boats will leave every hour from 7am.",
]


def test_a_text_pdf_becomes_one_article_titled_by_its_first_line() -> None:
    (article,), _ = articles_from_pdf(text_pdf(MINUTES[:2], MINUTES[2:]), "minutes.pdf", **LIMITS)
    assert article.title == "Harbour council approves ferry timetable"
    assert "approved the new ferry timetable" in article.text and "every hour from 7am" in article.text


def test_the_document_title_wins_when_it_reads_like_one() -> None:
    (article,), _ = articles_from_pdf(text_pdf(MINUTES[1:], title="Ferry timetable decision"), "m.pdf", **LIMITS)
    assert article.title == "Ferry timetable decision" and article.text.startswith("The harbour council")


@pytest.mark.parametrize(
    ("data", "sentence"),
    [
        (blank_pdf(), "m.pdf has no text to read (it looks like scanned images); add a PDF with a text layer."),
        (blank_pdf(password="s3cret"), "m.pdf is password-protected; add an unprotected copy instead."),
        (blank_pdf(pages=6), "m.pdf has 6 pages, over the 5-page limit; split it."),
        (b"%PDF-1.7\n" + b"\x00" * 50, "m.pdf is not a readable PDF."),
        (b"%PDF-1.4\n" + b" " * 100_000, "m.pdf is 0.1 MB, over the 0.1 MB limit for PDFs."),
    ],
    ids=["image-only", "encrypted", "too-many-pages", "corrupt", "too-large"],
)
def test_unreadable_pdfs_are_one_sentence(data: bytes, sentence: str) -> None:
    with pytest.raises(BadInputError) as refused:
        articles_from_pdf(data, "m.pdf", **LIMITS)
    assert str(refused.value) == sentence


def test_an_uploaded_pdf_is_read_from_memory_and_its_limits_come_from_settings(tmp_path: Path, model_dir) -> None:
    settings = make_settings(tmp_path, model_dir, max_pdf_pages=1)
    loaded = load_upload("minutes.pdf", text_pdf(MINUTES), settings)
    assert [a.title for a in loaded.articles] == [MINUTES[0]] and not loaded.failures
    refused = load_upload("long.pdf", text_pdf(MINUTES, MINUTES), settings)
    assert [f.error for f in refused.failures] == ["long.pdf has 2 pages, over the 1-page limit; split it."]
    secret = load_upload("keys.pdf", text_pdf(["Keys", "OPENAI_API_KEY=sk-abcdefghijklmnopqrstuvwxyz123456"]), settings)
    assert "looks like it holds credentials" in secret.failures[0].error
