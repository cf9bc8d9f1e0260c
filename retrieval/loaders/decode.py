"""Turn raw bytes into text, refusing what is not text with a sentence the user can act on."""

from __future__ import annotations

from retrieval.errors import BadInputError

_SNIFF_BYTES = 8192
# C0 control characters (and DEL) other than tab, newline, form feed and carriage return: never article text.
_CONTROLS = dict.fromkeys([*range(0, 9), 11, *range(14, 32), 127])


def decode_text(data: bytes, source: str) -> str:
    """UTF-8 (with or without BOM) first, then Windows-1252, the usual encoding of legacy news exports.

    Binary data (NUL bytes or many control characters) is refused rather than indexed as noise.
    """
    if not data.strip():
        raise BadInputError(f"{source} is empty; add a file with article text.")
    head = data[:_SNIFF_BYTES]
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    if b"\x00" in head or controls > len(head) * 0.05:
        raise BadInputError(f"{source} looks like a binary file; newsdesk reads text, Markdown, HTML and JSONL.")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding).translate(_CONTROLS)  # NULs past the sniffed head are dropped, not indexed
        except UnicodeDecodeError:
            continue
    raise BadInputError(f"{source} is not UTF-8 or Windows-1252 text; re-save it as UTF-8 and try again.")
