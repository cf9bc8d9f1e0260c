"""The offline answerer: the reader picks the retrieved sentences that answer the question, and each is cited.

No generative model is involved, so nothing can be invented: every sentence is quoted from a source. The reader
(a cross-encoder that reads question and sentence together, retrieval/reader) scores each candidate sentence, and
the sentence's passage brings its search score: the best of the two together leads, and others that also answer,
from passages that match nearly as well, follow in source order. Sentences that cannot be an answer are never
quoted: questions, headline repeats and fragments (bylines, captions and timestamps end without a stop); a dateline
or stray dash at the start is trimmed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from retrieval.answer.labels import carries_label, headline_label
from retrieval.answer.sources import Source
from retrieval.answer.text import with_markers
from retrieval.embeddings import Embedder
from retrieval.reader.calibration import CALIBRATION
from retrieval.reader.model import Reader, log_odds
from retrieval.search import asks_for_recent, recency_bonus

MAX_SENTENCES = 3
# Reader probability below which a sentence is never quoted. Whether to answer at all is decided before, from the
# passages (retrieval/answer/compose.py); this only keeps sentences the reader is sure do not answer out.
QUOTE_FLOOR = CALIBRATION.quote_floor
# Reader probability at which a sentence answers: its passage is shown, its span marked (calibrate.py, table 9).
ANSWERS = CALIBRATION.answers
# How much the passage's search score counts next to the sentence's own log-odds in choosing the lead. The reader
# reads one sentence alone; the passage score knows whether the text around it is about what was asked ("the
# station was first built in 1968" reads like an answer to "when was it rebuilt?" wherever it stands). Calibrated
# with the reader (retrieval/reader/calibration.py).
PASSAGE_WEIGHT = CALIBRATION.passage_weight
# How far behind the lead's merit (log-odds plus PASSAGE_WEIGHT x passage score) a sentence may be and still follow
# it, so that a sentence the reader half-believes cannot join from a passage about something else (docs/CITATIONS.md,
# "Which sentences follow").
FOLLOW_MARGIN = CALIBRATION.follow_margin
REDUNDANT = CALIBRATION.redundant  # cosine from which two sentences say the same thing (calibrate.py, table 8)
# A text without a closing stop and shorter than this is a caption or fragment (calibrate.py, table 9).
FRAGMENT_WORDS = int(CALIBRATION.fragment_words)

# "OTTAWA, June 27 (Reuters) - ", "WASHINGTON (CNN) -- ", "-- ": where a wire story's text starts, not its content.
_LEAD_IN = re.compile(
    r"^(?:[-–—]+\s*|[A-Z][A-Z.' ]{2,}(?:,\s*[A-Z][a-z]+\.?(?:\s+\d{1,2})?)?\s*(?:\([^)]{1,30}\))?\s*[-–—]{1,2}\s+)"
)
_LABEL_WORDS = "By|Photo|Image|Video|Updated|Published"  # open bylines and captions, not datelines
# "New Delhi: Leaders met ...", "AP Chinese president Xi Jinping Beijing: Chinese President Xi Jinping called ...": a
# place and a colon open the story, sometimes after a photo credit and a caption that scraping glued on. The words
# before the place count as a caption only when they open with a credit in capitals and the story repeats them, since
# "Trump wrote on Truth Social: ..." has the same shape and is a sentence.
_DATELINE = re.compile(
    rf"^(?P<before>.{{0,80}}?)(?<![^\s])(?!(?:{_LABEL_WORDS})\b)"
    r"[A-Z][A-Za-z]+(?:[ -][A-Z][A-Za-z]+){0,2}:\s+(?=[A-Z\"'“‘])"
)
_CREDIT = re.compile(r"^[A-Z]{2,6}$")  # AP, AFP, PTI, REUTERS


def _key(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def without_lead_in(sentence: str) -> str:
    """The sentence without a wire-story lead-in, a dateline or a glued photo caption before it; a lead-in that is a
    label changing the meaning of what follows ("False:", "SATIRE -", "Police deny:") is never cut."""
    lead_in = _LEAD_IN.match(sentence)
    if lead_in and carries_label(lead_in.group()):
        return sentence.strip()
    text = sentence[lead_in.end() :].strip() if lead_in else sentence.strip()
    dateline = _DATELINE.match(text)
    if not dateline or carries_label(text[: dateline.end()]):
        return text
    rest = text[dateline.end() :]
    before = dateline["before"].split()
    caption = before and _CREDIT.match(before[0]) and set(_key(" ".join(before[1:])).split()) <= set(_key(rest).split())
    return rest if not before or caption else text


def quotable(sentence: str, title: str) -> str | None:
    """The sentence as it may be quoted in an answer, or None when it is not an answer at all. In an article headed
    by a label ("Satire: ...", "Fact check: ..."), a sentence is quoted under that label unless it carries one."""
    text = without_lead_in(sentence)
    if text.endswith("?"):
        return None
    if _key(text) == _key(title):  # the headline, repeated in the body
        return None
    if text[-1] not in ".!\"'’”)" and len(text.split()) < FRAGMENT_WORDS:
        return None
    label = headline_label(title)
    if label and headline_label(text) is None:  # "Fact check: Satire: ..." would say nothing more
        return f"{label}: {text}"
    return text


@dataclass(frozen=True)
class _Candidate:
    source: Source
    position: int
    sentence: str
    passage_score: float


class ExtractiveAnswerer:
    def __init__(
        self,
        embedder: Embedder,
        reader: Reader,
        max_sentences: int = MAX_SENTENCES,
        threshold: float | None = None,
        follow_margin: float | None = None,
    ) -> None:
        """`threshold` (QUOTE_FLOOR when None) 0 takes the most relevant sentences whatever their score (topic
        summaries ask no question); `follow_margin` (FOLLOW_MARGIN when None) is how far behind the lead's merit a
        later sentence may be."""
        self._embedder = embedder
        self._reader = reader
        self._max = max_sentences
        self._threshold = QUOTE_FLOOR if threshold is None else threshold
        self._follow_margin = FOLLOW_MARGIN if follow_margin is None else follow_margin

    def candidates(self, sources: list[Source]) -> list[_Candidate]:
        seen: set[str] = set()
        found: list[_Candidate] = []
        for source in sources:
            for position, sentence in enumerate(source.sentences):
                text = quotable(sentence, source.article.title)
                if text and text not in seen:
                    seen.add(text)
                    found.append(_Candidate(source, position, text, source.hit_of(sentence).score))
        return found

    def draft(self, question: str, sources: list[Source]) -> str:
        """A 1-to-`max_sentences` sentence answer, each sentence ending with its source number; "" when none answers."""
        candidates = self.candidates(sources)
        if not candidates:
            return ""
        scores = np.array([r.score for r in self._reader.read(question, [c.sentence for c in candidates], spans=False)])
        if scores.max() < self._threshold:
            return ""
        passage = np.array([c.passage_score for c in candidates])
        merit = np.array([log_odds(p) for p in scores]) + PASSAGE_WEIGHT * passage
        merit[scores < self._threshold] = -np.inf
        best = int(np.argmax(merit))
        keep = self._threshold  # no share of the lead's probability asked of later sentences: it cost answers
        close = merit >= merit[best] - self._follow_margin
        newness = np.zeros(len(candidates))
        if asks_for_recent(question):
            # "latest", "now": news replaces news, so of the sentences that answer at all, the newest article's
            # leads, even when an older one is worded closer to the question (or its passage matches less well).
            bonus = recency_bonus({str(s.n): s.article.published for s in sources})
            newness = np.array([bonus.get(str(c.source.n), 0.0) for c in candidates])
            keep = max(self._threshold, min(ANSWERS, scores[best]))
            close[:] = True
        answering = [i for i in range(len(candidates)) if scores[i] >= keep and close[i]]
        ranked = sorted(answering, key=lambda i: (-newness[i], -merit[i]))[: self._max * 2]
        chosen = [ranked[row] for row in self._distinct([candidates[i].sentence for i in ranked])]
        # The best sentence leads; the rest follow in source order, which keeps the story's own sequence.
        chosen[1:] = sorted(chosen[1:], key=lambda i: (candidates[i].source.n, candidates[i].position))
        return " ".join(with_markers(candidates[i].sentence, [candidates[i].source.n]) for i in chosen)

    def _distinct(self, sentences: list[str]) -> list[int]:
        """Positions of the first `max_sentences` of `sentences` that repeat no earlier one kept (cosine below
        REDUNDANT). Embeds `max_sentences` at a time and only as far as it has to look: usually the first ones
        differ, and an answer with one candidate needs no vector at all."""
        if len(sentences) <= 1:
            return list(range(len(sentences)))
        kept: list[int] = []
        vectors: list[np.ndarray] = []
        for row in range(len(sentences)):
            if len(kept) == self._max:
                break
            if row == len(vectors):
                vectors.extend(self._embedder.embed(sentences[row : row + self._max]))
            if all(vectors[row] @ vectors[k] < REDUNDANT for k in kept):
                kept.append(row)
        return kept
