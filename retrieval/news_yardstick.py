"""The news yardstick: RealTime QA's weekly news quizzes (2023-2026) as a knowledge base and questions.

The reader was trained on Wikipedia (SQuAD train) and its thresholds were set on SQuAD too, so SQuAD dev alone cannot
say how newsdesk does on what it is for. Each quiz question comes with the up to six articles a web search returned
for it, some holding the answer and most merely about the same story: a slice of weeks, indexed together, is a
small newsroom archive in which every question has same-topic distractors.

The data has no licence: it is read to measure and to calibrate, never committed and never trained on.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from retrieval.answer.chain import AnswerService
from retrieval.answer.sources import without_markers
from retrieval.dates import iso_date
from retrieval.errors import BadInputError
from retrieval.evaluation import Dataset, Question, contains_answer, percentiles, sample
from retrieval.knowledge_base import KnowledgeBase
from retrieval.search import Filters
from retrieval.types import Answer, Article, SearchHit, stable_article_id

NEWS_SUFFIX = ".jsonl.gz"
# Deep enough that four distinct articles remain after several passages of one article.
SEARCH_DEPTH = 12


@dataclass(frozen=True)
class Slice:
    """Quiz weeks by question date, both ends inclusive (ISO dates)."""

    name: str
    first: str
    last: str

    def holds(self, day: str) -> bool:
        return self.first <= day <= self.last


# Chosen once, before any measurement, and never moved: moving a slice after seeing its numbers would tune on it.
# TUNING: seven weeks of early 2023 (184 questions, 112 with an answer-bearing article, 826 articles). Calibration
#   code (scripts/calibrate.py) may look at it as much as it likes.
# REPORTED: spring 2026, March to May (167 questions, 103 answerable, 842 articles). Only ever reported; nothing is
#   chosen by its numbers. Three years apart, the two share no story.
# Each holds 6,000-6,500 passages: indexing takes about 4 minutes on 2 idle cores (27 passages/s).
TUNING = Slice("tuning", "2023-01-01", "2023-02-17")
REPORTED = Slice("reported", "2026-03-01", "2026-05-31")
SLICES = {s.name: s for s in (TUNING, REPORTED)}

# The reported slice's targets (issue 22): metric -> (comparison, threshold).
TARGETS: dict[str, tuple[str, float]] = {
    "recall@1": (">=", 0.80),
    "answer_contains": (">=", 0.70),
    "false_refusals": ("<=", 0.05),
    "refused_without_gold": (">=", 0.60),
}


@dataclass
class NewsSet(Dataset):
    """A slice's knowledge base (`articles`) and its answerable questions (`questions`, with their gold ids)."""

    slice: Slice = REPORTED
    quiz_questions: int = 0  # every question of the slice's weeks, answerable or not


def is_news(path: Path) -> bool:
    return path.name.lower().endswith(NEWS_SUFFIX)


def _iso(value: object) -> str | None:
    """The file writes "2023/01/05" and "2024-03-08"; the fast ISO path reads both once slashes become dashes."""
    return iso_date(str(value).replace("/", "-")) if value else None


def _outlet(url: str) -> str | None:
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.") or None


def _is_true(flag: object) -> bool:
    return flag is True or str(flag).lower() == "true"


def _rows(path: Path) -> list[dict]:
    if not path.exists():
        raise BadInputError(f"{path} does not exist; check the path.")
    rows = []
    try:
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if line.strip():
                    rows.append(_checked(json.loads(line), path, number))
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError):
        raise BadInputError(f"{path} is not a gzip file of JSON lines.") from None
    return rows


def _checked(row: object, path: Path, number: int) -> dict:
    if not (
        isinstance(row, dict)
        and all(name in row for name in ("question", "date", "answer", "articles"))
        and _iso(row["date"]) is not None
        and isinstance(row["articles"], list)
        and all(_is_article(a) for a in row["articles"])
    ):
        raise BadInputError(
            f'{path}:{number} needs "question", a readable "date", "answer" and "articles" '
            '(each with a "url", "title" and "text").'
        )
    return row


def _is_article(raw: object) -> bool:
    return isinstance(raw, dict) and all(isinstance(raw.get(name), str) for name in ("url", "title", "text"))


def _article(raw: dict) -> Article:
    return Article(
        title=raw["title"].strip() or raw["url"],
        text=raw["text"],
        outlet=_outlet(raw["url"]),
        url=raw["url"],
        published=_iso(raw.get("published")),
        source=raw["url"],
    )


def _gold_ids(row: dict) -> tuple[str, ...]:
    """The question's own articles that the file flags as holding the answer.

    Only those: quiz answers are often a number, a month or a colour ("10", "May", "White") that hundreds of the
    slice's other articles contain without answering anything. So another article may answer a question too, and
    an answer given with the gold excluded is not always wrong: `answered_without_gold` counts those that still hold
    the quiz answer.
    """
    return tuple(sorted({_article_id(a["url"]) for a in row["articles"] if _is_true(a.get("has_answer"))}))


def _article_id(url: str) -> str:
    return stable_article_id(url=url, outlet=None, title="")


def load_news(path: Path, slice_name: str = REPORTED.name) -> NewsSet:
    """One slice of the RealTime QA file: every article of its weeks' questions (deduplicated by URL) and the
    questions that have an answer-bearing article."""
    if slice_name not in SLICES:
        raise BadInputError(f"--slice is one of {', '.join(SLICES)}, not {slice_name!r}.")
    chosen = SLICES[slice_name]
    rows = [r for r in _rows(path) if chosen.holds(_iso(r["date"]) or "")]
    articles: dict[str, Article] = {}
    for row in rows:
        for raw in row["articles"]:
            if raw["url"] and raw["text"].strip():
                articles.setdefault(raw["url"], _article(raw))
    kept = list(articles.values())
    questions = [Question(row["question"], (row["answer"],), _gold_ids(row)) for row in rows]
    answerable = [q for q in questions if q.gold_article_ids]
    name = path.name.removesuffix(NEWS_SUFFIX)
    return NewsSet(f"{name} ({chosen.name})", kept, answerable, slice=chosen, quiz_questions=len(rows))


@dataclass
class NewsReport:
    slice: str
    dates: str
    quiz_questions: int  # in the slice's weeks
    answerable: int  # of those, the ones with an answer-bearing article
    questions: int  # measured: the answerable ones (a seeded sample of them with --limit)
    articles: int
    passages: int
    recall: dict[str, float]  # a gold article among the first k distinct articles of the reranked search
    query_ms: dict[str, float]
    answer_contains: float | None = None
    false_refusals: float | None = None
    refused_without_gold: float | None = None  # the same questions, every gold article excluded from search
    answered_without_gold: float | None = None  # ... and answered with the quiz answer all the same (found elsewhere)
    ask_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def distinct_articles(hits: list[SearchHit]) -> list[set[str]]:
    """Each article once, in rank order, with the syndicated copies its passage stands for."""
    seen: set[str] = set()
    ranked = []
    for hit in hits:
        if hit.article.id not in seen:
            seen.add(hit.article.id)
            ranked.append({hit.article.id, *(copy.id for copy in hit.also_in)})
    return ranked


def _found_within(ranked: list[set[str]], gold: set[str], k: int) -> bool:
    return any(ids & gold for ids in ranked[:k])


def _holds(answer: Answer, quiz_answers: tuple[str, ...]) -> bool:
    """A given (not refused) answer containing the quiz answer, compared without our [n] markers."""
    return answer.grounded and contains_answer(without_markers(answer.answer), quiz_answers)


def evaluate_news(
    kb: KnowledgeBase,
    news: NewsSet,
    answers: AnswerService | None = None,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> NewsReport:
    """Recall of a gold article, then (with `answers`) the offline answer as asked and as asked without its gold."""
    questions = sample(news.questions, limit)
    ids = {a.id for a in news.articles}
    found = {1: 0, 4: 0}
    contains = refused = refused_without = answered_without = 0
    query_ms, ask_ms = [], []
    for i, q in enumerate(questions):
        gold = set(q.gold_article_ids)
        start = time.perf_counter()
        ranked = distinct_articles(kb.search(q.question, SEARCH_DEPTH, rerank=True))
        query_ms.append((time.perf_counter() - start) * 1000)
        for k in found:
            found[k] += _found_within(ranked, gold, k)
        if answers is not None:
            start = time.perf_counter()
            answer = answers.ask(q.question)
            ask_ms.append((time.perf_counter() - start) * 1000)
            contains += _holds(answer, q.answers)
            refused += not answer.grounded
            without = answers.ask(q.question, filters=Filters(exclude=frozenset(gold)))
            refused_without += not without.grounded
            answered_without += _holds(without, q.answers)
        if progress:
            progress(i + 1, len(questions))
    n = len(questions) or 1
    report = NewsReport(
        slice=news.slice.name,
        dates=f"{news.slice.first}..{news.slice.last}",
        quiz_questions=news.quiz_questions,
        answerable=len(news.questions),
        questions=len(questions),
        articles=len(news.articles),
        passages=sum(r.chunks for r in kb.articles() if r.id in ids),
        recall={str(k): round(hits / n, 4) for k, hits in found.items()},
        query_ms=percentiles(query_ms),
    )
    if answers is not None:
        report.answer_contains = round(contains / n, 4)
        report.false_refusals = round(refused / n, 4)
        report.refused_without_gold = round(refused_without / n, 4)
        report.answered_without_gold = round(answered_without / n, 4)
        report.ask_ms = percentiles(ask_ms)
    return report


def target_met(metric: str, value: float) -> bool:
    comparison, threshold = TARGETS[metric]
    return value >= threshold if comparison == ">=" else value <= threshold
