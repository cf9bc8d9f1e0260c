"""What moderators learn from a week of questions: the most asked ones, the unanswered ones grouped by topic, and
how often answers helped.

Members word the same question many ways ("why did Canada ban Hikvision", "Hikvision banned in Canada why?"), so
questions are counted as groups: two questions join when rapidfuzz's token-set similarity is high, or when they
share enough content words. A topic is named by the content words its questions share most. Greedy grouping in
one pass is plenty for a week of one server's questions (hundreds, not millions).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from rapidfuzz import fuzz, utils

from retrieval.matching import squeezed

SAME_QUESTION = 85  # token-set similarity above which two questions are the same question
SAME_TOPIC = 60  # ... and above which two unanswered questions are about the same thing
SHARED_WORDS = 2  # or: this many content words in common
_WORD = re.compile(r"[^\W\d_][\w'-]{2,}")
# Words that say nothing about a topic: question words, auxiliaries, pronouns and the like.
_FILLER_WORDS = """the and for are was were what when where which who whom whose why how did does do has have had will
would can could should about with from that this these those there their they them its it's into over under than then
been being any some more most much many very just also not you your our out new news latest today week year said says
say tell told know there's what's who's"""
_FILLER = frozenset(_FILLER_WORDS.split())


def content_words(text: str) -> set[str]:
    """The words of `text` that carry its topic (3+ letters, no question words or auxiliaries)."""
    return {w for w in _WORD.findall(squeezed(text)) if w not in _FILLER}


@dataclass
class QuestionGroup:
    """Questions that ask the same thing, or (for unanswered ones) about the same topic."""

    questions: list[str] = field(default_factory=list)
    words: Counter[str] = field(default_factory=Counter)

    @property
    def shown(self) -> str:
        """The wording most often used (as first typed), else the first one asked."""
        if not self.questions:
            return ""
        usual = Counter(squeezed(q) for q in self.questions).most_common(1)[0][0]
        return next(q for q in self.questions if squeezed(q) == usual)

    @property
    def topic(self) -> str:
        """The content words most of the group's questions share, in order of how often they come up."""
        common = [w for w, n in self.words.most_common(3) if n > 1 or len(self.questions) == 1]
        return " ".join(common) or self.shown

    def add(self, question: str) -> None:
        self.questions.append(question)
        self.words.update(content_words(question))


def grouped(questions: list[str], *, topic: bool) -> list[QuestionGroup]:
    """`questions` in groups, biggest first: the same question (`topic=False`), or the same topic (`topic=True`)."""
    threshold = SAME_TOPIC if topic else SAME_QUESTION
    groups: list[QuestionGroup] = []
    for question in questions:
        words = content_words(question)
        for group in groups:
            similar = fuzz.token_set_ratio(question, group.questions[0], processor=utils.default_process)
            shared = len(words & set(group.words)) if topic else 0
            if similar >= threshold or shared >= SHARED_WORDS:
                group.add(question)
                break
        else:
            groups.append(QuestionGroup())
            groups[-1].add(question)
    return sorted(groups, key=lambda g: -len(g.questions))


@dataclass(frozen=True)
class Insights:
    """A period's questions for moderators: counts first, then the groups behind them."""

    asked: int
    unanswered: int
    helpful: int
    not_helpful: int
    top: list[QuestionGroup]
    gaps: list[QuestionGroup]

    @property
    def helpful_rate(self) -> float | None:
        votes = self.helpful + self.not_helpful
        return self.helpful / votes if votes else None


def insights(asked: list[tuple[str, bool]], helpful: int, not_helpful: int, limit: int = 10) -> Insights:
    """From (question, answered) pairs and the feedback votes of the same period."""
    questions = [q for q, _ in asked if q.strip()]
    unanswered = [q for q, answered in asked if not answered and q.strip()]
    return Insights(
        asked=len(questions),
        unanswered=len(unanswered),
        helpful=helpful,
        not_helpful=not_helpful,
        top=grouped(questions, topic=False)[:limit],
        gaps=grouped(unanswered, topic=True)[:limit],
    )
