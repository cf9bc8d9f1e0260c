"""Sentence-aware chunking bounded by the embedding model's own token count.

Passages never cut a sentence in half (unless one sentence alone is over the limit), consecutive passages share one
short sentence of overlap so a fact that straddles a boundary is still found, and ids are stable: the same article
content and settings always give the same chunk ids, and changed content or settings give new ones.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

from retrieval.types import Article, Chunk

TokenCounter = Callable[[list[str]], list[int]]

# A sentence ends at . ! ? (optionally closed by a quote or bracket) followed by space, or glued straight onto a
# capitalised word ("security.In a statement") as scraped pages often are. A single capital before the stop ends a
# sentence only when glued ("on X.Hikvision"), never before a space ("Donald J. Trump"). A bullet may open the next
# sentence ("... police said. • Kansas: ..."): list items joined on one line, as an answer of quoted items is, stay
# apart, so the citation check reads each item alone. The match is the separator
# between the two sentences (empty when glued), so passages can be put back together exactly as written.
_SENTENCE_END = re.compile(
    r"(?<=[a-z0-9%)\]'\"’”][.!?])\s+(?=(?:[•▪●]\s*)?[\"'‘“(]?[A-Z0-9])"
    r"|(?<=[a-z0-9%)\]][.!?]['\"’”)])\s+(?=(?:[•▪●]\s*)?[\"'‘“(]?[A-Z0-9])"
    r"|(?<=[a-z]{2}[.!?])(?=['‘“]?[A-Z][a-z])"
    r"|(?<=\b[A-Z][.!?])(?=[A-Z][a-z]{3,})"
    r"|(?<=[.!?]['\"’”])(?=[A-Z])"
)


# A stop after these words does not end a sentence ("Gov. Newsom", "Oct. 3", "No. 2", "Roe v. Wade"). The regex
# above cannot look behind by a variable width, so a split after one of them is undone below.
_ABBREVIATION = re.compile(
    r"(?:^|[\s(])(?:Gov|Govs|Lt|Gen|Col|Maj|Capt|Sgt|Adm|Cmdr|Mr|Mrs|Ms|Dr|Prof|Sen|Sens|Rep|Reps|Rev|Pres|"
    r"St|Mt|Ft|Ave|Blvd|No|Nos|Vol|vs|v|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|Inc|Corp|Co|Ltd|Jr|Sr|"
    r"approx|Calif|Conn|Fla|Ill|Mass|Mich|Minn|Penn|Tenn|Tex|Wash|Ariz|Colo)\.$"
)


_QUOTES = "'\"‘’“”"
_OPENING = re.compile(r"(?:^|(?<=\s))['\"‘“](?=\S)")  # a quote mark starting a word
_CLOSING = re.compile(r"(?<=\S)['\"’”](?=\s|$|[,.;:!?)])")  # one ending a word ("company's" is neither)


def _quote_open(sentence: str) -> bool:
    """More quotations open in the sentence than close. Scraped text glues sentences together with a quote mark
    between ("...companies.'Hikvision added", "...devices.'I strongly urge"); the mark closes the quotation before it
    if one is open, else it opens the next sentence."""
    return len(_OPENING.findall(sentence)) > len(_CLOSING.findall(sentence))


def sentence_spans(text: str) -> list[tuple[str, str]]:
    """(sentence, separator that followed it) pairs: joining them gives the text back, less stray whitespace."""
    spans: list[tuple[str, str]] = []
    for line in text.splitlines():
        pieces, start = [], 0
        for match in _SENTENCE_END.finditer(line):
            if _ABBREVIATION.search(line[start : match.start()]) and match.group(0):
                continue  # "Gov. Newsom": keep reading the same sentence
            pieces.append((line[start : match.start()], match.group(0)))
            start = match.end()
        pieces.append((line[start:], ""))
        carry = ""
        for piece, separator in pieces:
            piece = (carry + piece).strip()
            carry = ""
            # Glued on (an earlier line's last sentence ends in "\n"): which sentence owns a quote mark between?
            if spans and spans[-1][1] == "":
                before = spans[-1][0]
                if piece[:1] in _QUOTES and _quote_open(before):  # "... Chinese companies.'Hikvision added"
                    spans[-1], piece = (before + piece[0], ""), piece[1:].strip()
                elif before[-1:] in _QUOTES and not _quote_open(before[:-1]):  # "... devices.'I strongly urge ..."
                    spans[-1], piece = (before[:-1], ""), before[-1] + piece
            if not any(ch.isalnum() for ch in piece):
                carry = piece  # a lone quote mark belongs to the sentence it opens
            elif piece:
                spans.append((piece, separator and " "))
        if spans:
            spans[-1] = (spans[-1][0], "\n")
    return spans


def split_sentences(text: str) -> list[str]:
    """Split on line breaks first (paragraphs), then on sentence ends inside each line."""
    return [sentence for sentence, _ in sentence_spans(text)]


# Characters per sentence piece. Token counts alone do not bound a passage: one 10 MB "word" is one unit to split on
# spaces. 8 characters a token is above real prose (about 4-5) and keeps pathological input linear.
CHARS_PER_TOKEN = 8


def _hard_wrap(sentence: str, limit: int) -> list[str]:
    """Cut words longer than `limit` characters into pieces; ordinary sentences come back unchanged."""
    if len(sentence) <= limit:
        return [sentence]
    words = [w[i : i + limit] for w in sentence.split() for i in range(0, len(w), limit)]
    pieces, current = [], ""
    for word in words:
        if current and len(current) + 1 + len(word) > limit:
            pieces.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    return [*pieces, current] if current else pieces


def _split_long(sentence: str, tokens: int, limit: int) -> list[str]:
    """A sentence over the limit is cut on word boundaries into near-equal pieces."""
    words = sentence.split()
    pieces = -(-tokens // limit)
    size = -(-len(words) // pieces)
    return [" ".join(words[i : i + size]) for i in range(0, len(words), size)]


CHUNKER_VERSION = 4  # bump when chunking changes, so every article is re-chunked on its next ingest


def index_fingerprint(article: Article, max_tokens: int) -> str:
    """What decides an article's passages: its content and the chunking settings. Stored as its indexed hash."""
    key = f"{article.content_hash}:{max_tokens}:{CHUNKER_VERSION}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def chunk_article(article: Article, count_tokens: TokenCounter, max_tokens: int) -> list[Chunk]:
    char_limit = max_tokens * CHARS_PER_TOKEN
    spans = [
        (piece, separator if i == len(pieces) - 1 else " ")
        for sentence, separator in sentence_spans(article.text)
        for pieces in [_hard_wrap(sentence, char_limit)]
        for i, piece in enumerate(pieces)
    ]
    counts = count_tokens([sentence for sentence, _ in spans])
    units: list[tuple[str, int, str]] = []  # (text, tokens, separator after it)
    for (sentence, separator), n in zip(spans, counts, strict=True):
        if n > max_tokens:
            pieces = _split_long(sentence, n, max_tokens)
            separators = [" "] * (len(pieces) - 1) + [separator]
            units += zip(pieces, count_tokens(pieces), separators, strict=True)
        else:
            units.append((sentence, n, separator))

    groups: list[list[tuple[str, int, str]]] = []
    current: list[tuple[str, int, str]] = []
    size = chars = 0
    for unit in units:
        # Characters are capped too: the tokenizer reads an over-long "word" as one unknown token, so 192 pieces of
        # 1,536 letters each would otherwise make one 295,000-character passage.
        if current and (size + unit[1] > max_tokens or chars + len(unit[0]) + 1 > char_limit):
            groups.append(current)
            last = current[-1]
            # Carry the last sentence over when it is short: context across the boundary for little cost.
            current = [last] if last[1] <= max_tokens // 4 and len(last[0]) <= char_limit // 4 else []
            size = sum(n for _, n, _ in current)
            chars = sum(len(text) + 1 for text, _, _ in current)
        current.append(unit)
        size += unit[1]
        chars += len(unit[0]) + 1
    if current:
        groups.append(current)

    prefix = f"{article.id}-{index_fingerprint(article, max_tokens)[:8]}"
    return [
        Chunk(
            chunk_id=f"{prefix}-{i:04d}",
            article_id=article.id,
            ordinal=i,
            text="".join(text + separator for text, _, separator in group).strip(),
            title=article.title,
        )
        for i, group in enumerate(groups)
    ]
