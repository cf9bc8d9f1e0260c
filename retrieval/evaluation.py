"""`newsdesk eval`: retrieval recall within a context budget, answer quality and latency on a question set.

Recall is measured at equal context, not equal k: passages count in rank order until the character budget is spent,
so bigger chunks earn nothing. A question is a hit at k when a gold answer text occurs in its first k passages.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from retrieval.answer.chain import AnswerService
from retrieval.answer.citations import CitationChecker
from retrieval.answer.compose import CONFIDENCE_SLOPE, answer_confidence
from retrieval.answer.sources import without_markers
from retrieval.errors import BadInputError
from retrieval.ingest.chunker import split_sentences
from retrieval.knowledge_base import KnowledgeBase
from retrieval.search import Filters
from retrieval.types import Article, SearchHit, stable_article_id

SEED = 0
# Refusal and support thresholds tried by scripts/calibrate.py and reported by scripts/evaluate_reader.py: one grid,
# so the train calibration and the dev curve line up row for row.
THRESHOLD_GRID = tuple(round(0.05 * i, 2) for i in range(1, 20))
_MARKER = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True)
class Question:
    question: str
    answers: tuple[str, ...]
    gold_article_ids: tuple[str, ...] = ()


@dataclass
class Dataset:
    name: str
    articles: list[Article]
    questions: list[Question]


def load_squad(path: Path) -> Dataset:
    """SQuAD v1.1 JSON: each Wikipedia article becomes one document, one paragraph per line."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    articles, questions = [], []
    for entry in data:
        title = entry["title"].replace("_", " ")
        article = Article(
            title=title, text="\n".join(p["context"] for p in entry["paragraphs"]), outlet="Wikipedia", source=str(path)
        )
        articles.append(article)
        for paragraph in entry["paragraphs"]:
            for qa in paragraph["qas"]:
                answers = tuple(dict.fromkeys(a["text"] for a in qa["answers"]))
                questions.append(Question(qa["question"], answers, (article.id,)))
    return Dataset(path.stem, articles, questions)


def load_jsonl(path: Path) -> Dataset:
    """The project's own format: one {"question", "answers": [...], "gold_article_ids"?: [...]} per line."""
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            questions.append(Question(row["question"], tuple(row["answers"]), tuple(row.get("gold_article_ids", ()))))
        except (json.JSONDecodeError, KeyError, TypeError):
            raise BadInputError(f'{path}:{number} needs "question" and "answers".') from None
    return Dataset(path.stem, [], questions)


def load_dataset(path: Path) -> Dataset:
    if not path.exists():
        raise BadInputError(f"{path} does not exist; check the path.")
    if path.suffix.lower() == ".json":
        return load_squad(path)
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return load_jsonl(path)
    raise BadInputError(f"{path} is not a SQuAD .json or a questions .jsonl file.")


def eval_kb_name(dataset: Dataset) -> str:
    """A knowledge base per dataset content, so a re-run reuses every embedding."""
    digest = hashlib.sha256("".join(a.content_hash for a in dataset.articles).encode()).hexdigest()[:10]
    return f"eval-{digest}"


def sample(questions: list[Question], limit: int | None) -> list[Question]:
    """The same seeded sample the naive baseline used: random.seed(0); random.sample(all, n) in file order."""
    if limit is None or limit >= len(questions):
        return questions
    random.seed(SEED)
    return random.sample(questions, limit)


def within_budget(passages: list[str], budget: int) -> list[str]:
    """Passages in rank order, the last one cut where the character budget runs out."""
    kept, used = [], 0
    for passage in passages:
        if used >= budget:
            break
        kept.append(passage[: budget - used])
        used += len(kept[-1])
    return kept


def contains_answer(text: str, answers: tuple[str, ...]) -> bool:
    lowered = text.lower()
    return any(a.lower() in lowered for a in answers)


def percentiles(values: list[float]) -> dict[str, float]:
    """Median and nearest-rank 95th percentile, rounded to 0.01."""
    if not values:
        return {"p50": 0.0, "p95": 0.0}
    ordered = sorted(values)
    return {"p50": round(statistics.median(ordered), 2), "p95": round(ordered[math.ceil(0.95 * len(ordered)) - 1], 2)}


@dataclass
class EvalReport:
    questions: int
    recall: dict[str, float]
    mrr: float
    query_ms: dict[str, float]
    answer_contains: float | None = None
    lead_contains: float | None = None  # the answer's first sentence alone: what a reader sees first
    refused: float | None = None
    citations_valid: float | None = None
    dropped_sentences: float | None = None
    ask_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def evaluate(
    kb: KnowledgeBase,
    questions: list[Question],
    ks: list[int],
    budget: int,
    answers: AnswerService | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> EvalReport:
    depth = max(ks)
    hits_at = {k: 0 for k in ks}
    reciprocal, query_ms, ask_ms = [], [], []
    contains = lead = refused = valid = dropped = sentences = 0
    for i, q in enumerate(questions):
        start = time.perf_counter()
        hits = kb.search(q.question, depth, rerank=True)
        query_ms.append((time.perf_counter() - start) * 1000)
        texts = within_budget([h.chunk.text for h in hits], budget)
        for k in ks:
            hits_at[k] += contains_answer(" ".join(texts[:k]), q.answers)
        first = next((rank for rank, text in enumerate(texts, start=1) if contains_answer(text, q.answers)), None)
        reciprocal.append(1 / first if first else 0.0)
        if answers is not None:
            start = time.perf_counter()
            answer = answers.ask(q.question)
            ask_ms.append((time.perf_counter() - start) * 1000)
            # Compared without our [n] markers: "... in May [1]." must still contain the gold "... in May.".
            text = without_markers(answer.answer)
            contains += answer.grounded and contains_answer(text, q.answers)
            lead += answer.grounded and contains_answer(split_sentences(text)[0], q.answers)
            refused += not answer.grounded
            cited = {c.n for c in answer.citations}
            valid += all(int(n) in cited for n in _MARKER.findall(answer.answer))
            dropped += answer.dropped_sentences
            sentences += answer.total_sentences
        if progress:
            progress(i + 1, len(questions))
    n = len(questions) or 1
    report = EvalReport(
        questions=len(questions),
        recall={str(k): round(hits_at[k] / n, 4) for k in ks},
        mrr=round(sum(reciprocal) / n, 4),
        query_ms=percentiles(query_ms),
    )
    if answers is not None:
        report.answer_contains = round(contains / n, 4)
        report.lead_contains = round(lead / n, 4)
        report.refused = round(refused / n, 4)
        report.citations_valid = round(valid / n, 4)
        report.dropped_sentences = round(dropped / sentences, 4) if sentences else 0.0
        report.ask_ms = percentiles(ask_ms)
    return report


# --- answerability: does the reader refuse what the knowledge base does not answer? --------------------------------


@dataclass(frozen=True)
class ParagraphQuestion:
    question: str
    article_id: str  # the paragraph (indexed as its own article) that answers it
    answers: tuple[str, ...]


def paragraph_articles(entries: list[dict]) -> tuple[list[Article], list[ParagraphQuestion]]:
    """SQuAD entries with each paragraph as its own article, and each question with the paragraph that answers it."""
    articles, items = [], []
    for entry in entries:
        for i, paragraph in enumerate(entry["paragraphs"]):
            title = f"{entry['title'].replace('_', ' ')} ({i + 1})"
            articles.append(Article(title=title, text=paragraph["context"], outlet="Wikipedia"))
            article_id = stable_article_id(url=None, outlet="Wikipedia", title=title)
            items += [
                ParagraphQuestion(qa["question"], article_id, tuple(a["text"] for a in qa["answers"]))
                for qa in paragraph["qas"]
            ]
    return articles, items


def answered_elsewhere(item: ParagraphQuestion, texts: dict[str, str]) -> bool:
    """Whether a gold answer's words appear in some other paragraph (`texts`: article id -> lower-cased text): then
    removing the question's own paragraph does not make it unanswerable (SQuAD articles repeat dates and names
    across paragraphs; 39% of dev questions)."""
    answers = [a.lower() for a in item.answers]
    return any(
        answer in text for article_id, text in texts.items() if article_id != item.article_id for answer in answers
    )


def answerability_hits(
    kb: KnowledgeBase, items: list[ParagraphQuestion], articles: list[Article], k: int = 6
) -> tuple[list[list[SearchHit]], list[list[SearchHit]], list[bool]]:
    """For each question: its hits as searched, its hits with its paragraph removed, and whether the rest of the
    knowledge base still holds its answer's words.

    The first is an answerable question; the second, where the answer is nowhere else, is the same question on the
    same topic that the knowledge base no longer answers: exactly the case a topic-level similarity cannot refuse.
    """
    answerable, unanswerable, elsewhere = [], [], []
    texts = {a.id: a.text.lower() for a in articles}  # once, not once per question
    for item in items:
        answerable.append(kb.search(item.question, k, rerank=True))
        unanswerable.append(kb.search(item.question, k, Filters(exclude=frozenset({item.article_id})), rerank=True))
        elsewhere.append(answered_elsewhere(item, texts))
    return answerable, unanswerable, elsewhere


def confidences(searches: list[list[SearchHit]], slope: float = CONFIDENCE_SLOPE) -> np.ndarray:
    """`answer_confidence` of each search's hits (0 where the reader did not read)."""
    return np.array([answer_confidence(hits, slope) or 0.0 for hits in searches])


# --- the verifier: does the citation check keep paraphrases and reject contradictions? --------------------------


@dataclass(frozen=True)
class Claim:
    claim: str
    passage: str
    supported: bool
    kind: str
    split: str = ""  # "tuning" or "reported" in the news claim sets: calibration may look at the tuning half only


# The news claim sets are halved by article, so that no article's sentences sit on both sides; the seed only fixes
# which half is which, and changing it would reshuffle both sets.
CLAIM_SPLIT_SEED = 22


def claim_split(url: str, seed: int = CLAIM_SPLIT_SEED) -> str:
    """The half a claim about the article at `url` belongs to: a hash of the seed and the URL, stable across runs."""
    digest = hashlib.sha256(f"{seed}:{url}".encode()).digest()
    return "tuning" if digest[0] % 2 == 0 else "reported"


def load_claims(path: Path) -> list[Claim]:
    """bench/squad_claims.jsonl rows, or bench/news_claims*.json ({passages, claims}); a passage there is its text,
    or an object with its `text` and metadata such as its `url`."""
    if path.suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        passages = {key: p["text"] if isinstance(p, dict) else p for key, p in data["passages"].items()}
        rows = [{**c, "passage": passages[c["passage"]]} for c in data["claims"]]
    else:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [Claim(r["claim"], r["passage"], r["label"] == "supported", r["kind"], r.get("split", "")) for r in rows]


def claim_rates(claims: list[Claim], decisions: list[bool]) -> dict[str, float]:
    """Share of supported claims kept and of contradicted claims rejected."""
    kept = [d for c, d in zip(claims, decisions, strict=True) if c.supported]
    rejected = [not d for c, d in zip(claims, decisions, strict=True) if not c.supported]
    return {
        "claims": len(claims),
        "supported_kept": round(sum(kept) / max(1, len(kept)), 4),
        "contradictions_rejected": round(sum(rejected) / max(1, len(rejected)), 4),
    }


def claim_breakdown(claims: list[Claim], decisions: list[bool]) -> dict[str, object]:
    """`claim_rates` overall, per split (where the set has splits) and per kind: a kind is either supported or not,
    so its one figure is the share kept (supported kinds) or rejected (the others)."""
    pairs = list(zip(claims, decisions, strict=True))
    report: dict[str, object] = dict(claim_rates(claims, decisions))
    splits = sorted({c.split for c in claims if c.split})
    if splits:
        report["by_split"] = {
            s: claim_rates([c for c, _ in pairs if c.split == s], [d for c, d in pairs if c.split == s]) for s in splits
        }
    kinds: dict[str, dict[str, float]] = {}
    for label, verb in ((True, "kept"), (False, "rejected")):
        for kind in sorted({c.kind for c in claims if c.supported == label}):
            chosen = [d for c, d in pairs if c.supported == label and c.kind == kind]
            share = sum(chosen) if label else len(chosen) - sum(chosen)
            kinds[f"{'supported' if label else 'unsupported'} {kind}"] = {
                "claims": len(chosen),
                verb: round(share / len(chosen), 4),
            }
    report["by_kind"] = kinds
    return report


def verifier_decisions(checker: CitationChecker, claims: list[Claim]) -> list[bool]:
    quotes = checker.supported([(c.claim, split_sentences(c.passage)) for c in claims])
    return [q is not None for q in quotes]
