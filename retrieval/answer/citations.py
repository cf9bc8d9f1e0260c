"""Citations are checked, not trusted.

For every sentence of a draft answer: citation numbers that name no given source are removed; a sentence left
without a citation is dropped; each remaining citation must be supported by the passage it names, or it is removed;
a sentence with no supported citation is dropped. Finally citations are renumbered 1..m in reading order.

Support is decided by the reader's verifier head (retrieval/reader: claim x passage window -> supported), trained
FactCC-style to reject changed numbers, dates, names, swapped actors, negations and antonyms, plus plain rules for
what a small model reads past: every number (in digits or words) and month the claim states appears in the passage;
the claim keeps the backing clause's negation, does not swap a word for its opposite ("agrees" / "disagrees",
retrieval/answer/opposites.py) and does not swap the subject and object of a verb it shares with the sentence it
restates (retrieval/answer/names.py). A claim quoted word for word from the passage needs no model. Each rule was
switched off and measured on claims it was not written from (scripts/ablate_rules.py, docs/CITATIONS.md); the one
that lost claims there (names must be grounded in the window) was removed. Thresholds are calibrated in
docs/CITATIONS.md.

With an LLM, a sentence the verifier is unsure of (scored between CONTRADICTED and SUPPORTED, every rule passed) gets
a second opinion from a judge (retrieval/answer/judge.py) before it is dropped.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from retrieval.answer.guard import is_instruction
from retrieval.answer.names import actors_swapped
from retrieval.answer.opposites import says_the_opposite
from retrieval.answer.sources import Source
from retrieval.answer.text import with_markers
from retrieval.ingest.chunker import split_sentences
from retrieval.reader.calibration import CALIBRATION
from retrieval.reader.model import Reader
from retrieval.text import content_words
from retrieval.types import Citation

log = logging.getLogger(__name__)

SUPPORTED = CALIBRATION.supported  # verifier probability from which a citation is backed (docs/CITATIONS.md)
# Below this the verifier is sure enough of a contradiction that no judge is asked (retrieval/reader/calibration.py).
CONTRADICTED = CALIBRATION.contradicted
_MARKER = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@dataclass
class Checked:
    text: str
    citations: list[Citation] = field(default_factory=list)
    total_sentences: int = 0
    dropped_sentences: int = 0
    invalid_markers: int = 0
    judge_kept: int = 0  # sentences the verifier was unsure of that the judge kept
    judge_dropped: int = 0  # ... and those it did not (its "not", a malformed reply, a failed call)


# (cited source, sentence) pairs -> whether each is supported: the LLM's second opinion (retrieval/answer/judge.py).
Judge = Callable[[list[tuple[Source, str]]], list[bool]]


def _split_claim(sentence: str) -> tuple[str, list[int]]:
    numbers = [int(n) for group in _MARKER.findall(sentence) for n in re.split(r"\s*,\s*", group)]
    return _MARKER.sub("", sentence).strip(), numbers


_MONTH = re.compile(r"\b(?:January|February|March|April|May|June|July|August|September|October|November|December)\b")
_NEGATION = re.compile(r"\b(?:not|never|no|none|nobody|nothing|neither|nor|cannot)\b|n't\b", re.IGNORECASE)
_CLAUSE = re.compile(r"[,;:]\s+|\s+(?:but|while|although|whereas)\s+")
_COUNT_WORDS = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
_SPELLED = {word: str(n) for n, word in enumerate(_COUNT_WORDS, start=2)}
_SPELLED_NUMBER = re.compile(r"\b(?:" + "|".join(_SPELLED) + r")\b", re.IGNORECASE)


def _plain(number: str) -> str:
    return number.replace(",", "")


def _numbers_backed(claim: str, passage: str) -> bool:
    """Every number and month the claim states appears in the passage; "five" and "5" back each other.

    Numbers are compared whole ("37" is not backed by "137"), with thousands separators ignored ("18,000" is
    "18000"). This is what keeps a figure an LLM made up out of an answer whatever the verifier says."""
    written = {_plain(n) for n in _NUMBER.findall(passage)}
    written |= {_SPELLED[word.lower()] for word in _SPELLED_NUMBER.findall(passage)}
    return (
        all(_plain(num) in written for num in _NUMBER.findall(claim))
        and all(_SPELLED[word.lower()] in written for word in _SPELLED_NUMBER.findall(claim))
        and all(month[:3] in passage for month in _MONTH.findall(claim))  # "Sept. 17" backs "September 17"
    )


def _contradicts(claim: str, sentence: str) -> bool:
    """Contradictions of form that a small verifier reads past: the claim drops or adds the negation of what it
    restates ("did not disclose" / "disclosed"), uses a word the sentence has only in its opposite form, or swaps
    its actors. Only the clauses sharing a word with the claim count for negation and opposites: "While X did not
    ..., the Act allows Y" still backs "the Act allows Y"."""
    words = content_words(claim)
    restated = [c for c in _CLAUSE.split(sentence) if words & content_words(c)]
    if len(_NEGATION.findall(claim)) % 2 != sum(len(_NEGATION.findall(c)) for c in restated) % 2:
        return True
    return says_the_opposite(claim, sentence, " ".join(restated)) or actors_swapped(claim, sentence)


def _closest_in_window(claim: str, sentences: list[str], center: int) -> int:
    """Which sentence of the window around `center` to quote: the one sharing most words with the claim."""
    words = content_words(claim)
    candidates = range(max(0, center - 1), min(len(sentences), center + 2))
    return max(candidates, key=lambda i: (len(words & content_words(sentences[i])), i == center))


def _most_shared(claim: str, sentences: list[str]) -> int:
    """The sentence the claim most likely restates: the one sharing most content words with it. The rules check it
    as well as the verifier's best reading, which can be a neighbour ("Hikvision strongly agrees with the decision"
    read best against a minister's quote beside the sentence saying it "strongly disagrees")."""
    words = content_words(claim)
    return max(range(len(sentences)), key=lambda i: len(words & content_words(sentences[i])))


def readings(sentences: list[str]) -> list[tuple[int, str]]:
    """What the verifier reads a claim against, each with the sentence it centres on: every sentence with one
    neighbour on each side (the unit it was trained on), and every sentence alone.

    Why both: the model pools claim and text into one vector, so the neighbours of the sentence a claim restates can
    dilute it; reading the sentence alone as well kept 1.3 points more of SQuAD dev's supported claims and 3.7 more of
    the blind news set's, rejecting the same contradictions, and changed nothing on the held-out calibration claims
    at 0.90 (docs/CITATIONS.md)."""
    windows = [(i, " ".join(sentences[max(0, i - 1) : i + 2])) for i in range(len(sentences))]
    return windows + [(i, s) for i, s in enumerate(sentences) if s != windows[i][1]]


class CitationChecker:
    def __init__(self, reader: Reader, judge: Judge | None = None) -> None:
        """Without a `judge` (offline), a sentence the verifier is unsure of is dropped; with one, the judge decides."""
        self._reader = reader
        self.judge = judge

    def support_scores(self, pairs: list[tuple[str, list[str]]]) -> list[tuple[float, int]]:
        """For each (claim, passage sentences): the support probability and the index of the backing sentence.

        A claim whose numbers are not all in the passage scores 0, and so does one that contradicts the sentence it
        restates in form (`_contradicts`); one quoted word for word scores 1.
        """
        scores: list[tuple[float, int]] = [(0.0, 0)] * len(pairs)
        asks: list[tuple[int, int, str]] = []  # (pair, sentence centred on, text read) that need the model
        for p, (claim, sentences) in enumerate(pairs):
            if not sentences or not _numbers_backed(claim, " ".join(sentences)):
                continue
            verbatim = next((i for i, s in enumerate(sentences) if claim.rstrip(".") in s), None)
            if verbatim is not None:
                scores[p] = (1.0, verbatim)
                continue
            asks += [(p, i, text) for i, text in readings(sentences)]
        probabilities = self._reader.supports([(pairs[p][0], w) for p, _, w in asks])
        for (p, i, text), probability in zip(asks, probabilities, strict=True):
            if probability > scores[p][0]:
                alone = text == pairs[p][1][i]
                scores[p] = (float(probability), i if alone else _closest_in_window(pairs[p][0], pairs[p][1], i))
        for p, (probability, i) in enumerate(scores):
            if not 0.0 < probability < 1.0:
                continue
            claim, sentences = pairs[p]
            if any(_contradicts(claim, sentences[j]) for j in {i, _most_shared(claim, sentences)}):
                scores[p] = (0.0, i)
        return scores

    def supported(self, pairs: list[tuple[str, list[str]]]) -> list[str | None]:
        """For each (claim, passage sentences): the sentence that backs the claim, or None when none does."""
        return [
            sentences[i] if probability >= SUPPORTED else None
            for (probability, i), (_, sentences) in zip(self.support_scores(pairs), pairs, strict=True)
        ]

    def check(self, draft: str, sources: list[Source]) -> Checked:
        """The whole of `draft` checked at once: one verifier batch, one judge call."""
        run = SentenceCheck(self, sources)
        run.add(split_sentences(" ".join(draft.split())))
        return run.result

    def begin(self, sources: list[Source]) -> SentenceCheck:
        """A check of an answer that arrives sentence by sentence, as an LLM writes it."""
        return SentenceCheck(self, sources)


class SentenceCheck:
    """One answer's citation check, fed its sentences in reading order, some at a time.

    Each sentence is checked on its own (its markers, its cited passages, the judge for it), so a sentence can be
    shown as soon as it passes, and renumbering in reading order means the sentences shown first never change: the
    text after the last `add` is the same as checking the whole answer at once.
    """

    def __init__(self, checker: CitationChecker, sources: list[Source]) -> None:
        self._checker = checker
        self._sources = sources
        self._kept: list[str] = []
        self._renumber: dict[int, int] = {}  # source number -> citation number, in reading order of kept sentences
        self._quotes: dict[int, str] = {}  # source number -> the sentence of it that first backed a claim
        self.result = Checked(text="")

    def add(self, sentences: list[str]) -> list[str]:
        """Check the answer's next `sentences` together; return the kept ones as they are shown (renumbered)."""
        sources, result = self._sources, self.result
        parsed = [_split_claim(s) for s in sentences]
        result.total_sentences += len(sentences)
        wanted: list[tuple[int, int]] = []  # (sentence, source number) pairs to verify
        for i, (claim, numbers) in enumerate(parsed):
            valid = [n for n in dict.fromkeys(numbers) if 1 <= n <= len(sources)]
            invalid = len([n for n in numbers if not 1 <= n <= len(sources)])
            if invalid:
                result.invalid_markers += invalid
                log.warning("removed %d citation(s) to sources that were not given", invalid)
            if claim and any(ch.isalpha() for ch in claim) and not is_instruction(claim):
                wanted += [(i, n) for n in valid]
        scores = self._checker.support_scores([(parsed[i][0], sources[n - 1].sentences) for i, n in wanted])
        backed = [(i, n, b) for (i, n), (p, b) in zip(wanted, scores, strict=True) if p >= SUPPORTED]
        verified = {i for i, _, _ in backed}
        unsure = [
            (i, n, b)
            for (i, n), (p, b) in zip(wanted, scores, strict=True)
            if i not in verified and CONTRADICTED <= p < SUPPORTED
        ]
        if unsure and self._checker.judge is not None:
            backed += _second_opinion(self._checker.judge, unsure, [claim for claim, _ in parsed], sources, result)

        supported: dict[int, list[int]] = {}
        for i, n, b in backed:
            supported.setdefault(i, []).append(n)
            self._quotes.setdefault(n, sources[n - 1].sentences[b])
        kept: list[str] = []
        for i, (claim, numbers) in enumerate(parsed):
            if i not in supported:
                result.dropped_sentences += 1
                log.info("dropped unsupported sentence %r (cited %s)", claim[:80], numbers)
                continue
            for n in supported[i]:
                self._renumber.setdefault(n, len(self._renumber) + 1)
            kept.append(with_markers(claim, [self._renumber[n] for n in supported[i]]))
        self._kept += kept
        result.text = " ".join(self._kept)
        result.citations = [sources[old - 1].citation(new, self._quotes[old]) for old, new in self._renumber.items()]
        return kept


def _second_opinion(
    judge: Judge, unsure: list[tuple[int, int, int]], claims: list[str], sources: list[Source], result: Checked
) -> list[tuple[int, int, int]]:
    """The (sentence, source, backing sentence) triples of `unsure` that the judge calls supported, asked in one
    call; counts in `result` the sentences it kept and those it dropped."""
    said = judge([(sources[n - 1], claims[i]) for i, n, _ in unsure])
    kept = [triple for triple, ok in zip(unsure, said, strict=True) if ok]
    judge_kept = len({i for i, _, _ in kept})
    result.judge_kept += judge_kept
    result.judge_dropped += len({i for i, _, _ in unsure}) - judge_kept
    return kept
