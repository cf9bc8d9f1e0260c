"""Numbered sources: how retrieved passages are shown to the answerer and mapped back to citations."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from retrieval.answer.guard import is_instruction
from retrieval.ingest.chunker import split_sentences
from retrieval.text import normalised
from retrieval.types import ArticleRecord, Citation, SearchHit

# An article's own reference markers ("[1]", "[2, 3]", "[12–14]") would read as our citations once quoted: a forum
# post writing "[1]" could then appear cited to source 1. They are removed before text becomes evidence or prompt.
_SOURCE_MARKERS = re.compile(r"\s*\[\s*\d+(?:\s*[,;–-]\s*\d+)*\s*\]")


def without_markers(text: str) -> str:
    """`text` normalised (retrieval.text.normalised), so that "[2]" hidden behind a zero-width space or written in
    full-width characters is found and removed like any other marker."""
    return _SOURCE_MARKERS.sub("", normalised(text))


@dataclass(frozen=True)
class Source:
    """Source [n]: one article, with the passages of it that retrieval found (so each article is cited once)."""

    n: int
    hits: tuple[SearchHit, ...]

    @property
    def article(self) -> ArticleRecord:
        return self.hits[0].article

    @property
    def text(self) -> str:
        return "\n…\n".join(without_markers(h.chunk.text) for h in self.hits)

    @cached_property
    def _sentence_hits(self) -> dict[str, SearchHit]:
        """Evidence sentence -> the passage it came from. Instruction-like sentences never count as evidence."""
        found: dict[str, SearchHit] = {}
        for hit in self.hits:
            for sentence in split_sentences(without_markers(hit.chunk.text)):
                if not is_instruction(sentence):
                    found.setdefault(sentence, hit)
        return found

    @property
    def sentences(self) -> list[str]:
        return list(self._sentence_hits)

    def hit_of(self, sentence: str) -> SearchHit:
        """The passage that holds one of `sentences` (the source's best passage for any other text)."""
        return self._sentence_hits.get(sentence, self.hits[0])

    def citation(self, n: int, quote: str) -> Citation:
        a = self.article
        chunk_id = self.hit_of(quote).chunk.chunk_id
        also_in = sorted({copy.outlet or copy.title for hit in self.hits for copy in hit.also_in})
        return Citation(
            n, a.id, a.title, a.outlet, a.url, a.published, chunk_id, quote, also_in, a.published_approximate
        )

    def as_prompt_block(self) -> str:
        a = self.article
        text = as_data(self.text)
        attrs = f'n="{self.n}" title="{_attr(a.title)}" outlet="{_attr(a.outlet or "unknown")}"'
        attrs += f' published="{a.published or "unknown"}"'
        if a.url:
            attrs += f' url="{_attr(a.url)}"'
        return f"<source {attrs}>\n{text}\n</source>"


def as_data(text: str) -> str:
    """`text` fit to go between prompt fences: angle brackets in it could close a fence early, so they become
    look-alikes."""
    return text.replace("<", "‹").replace(">", "›")


def _attr(value: str) -> str:
    return as_data(value.replace('"', "'"))


def number_sources(hits: list[SearchHit]) -> list[Source]:
    """One source per article, numbered in order of each article's best hit."""
    grouped: dict[str, list[SearchHit]] = {}
    for hit in hits:
        grouped.setdefault(hit.article.id, []).append(hit)
    return [Source(i + 1, tuple(group)) for i, group in enumerate(grouped.values())]


def format_sources(sources: list[Source]) -> str:
    return "\n".join(s.as_prompt_block() for s in sources)
