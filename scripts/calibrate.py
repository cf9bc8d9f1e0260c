"""Calibrate the reader's thresholds and its weight in search on SQuAD v1.1 *train* articles it was not trained on.

scripts/train_reader.py holds out the first `--heldout-articles` (20) of the train set after its seeded shuffle;
this script takes the same 20, so nothing here was seen in training, and SQuAD dev (the evaluation set) is never
read. It prints the tables below and the numbers chosen from them by fixed rules (REFUSE_ANSWERABLE and the
others); `--write` writes those to retrieval/reader/weights/calibration.json, which the code reads, beside the weights
they were measured with. docs/CITATIONS.md records a run.

0. The reader's pool (`READER_POOL` in retrieval/search.py): how many leading passages search has the reader read.
   Each costs the reader ~6 sentence pairs, nearly all of an answer's time, so the pool is the smallest that keeps
   both the recall@1 of the question's own paragraph and the share of answers holding a gold answer within
   ANSWER_LOSS of the largest pool's. Chosen first: every table after it searches with it.
1. Answerability (`CONFIDENCE_SLOPE` and `CONFIDENT` in retrieval/answer/compose.py): every paragraph is its own
   article; each question is searched as is (answerable) and with its paragraph removed (unanswerable, same topic).
   Refused = `answer_confidence` below the threshold; first for each slope, then the whole table for the chosen one.
2. Support (`SUPPORTED` in retrieval/answer/citations.py): claims built by scripts/build_claims.py's rules from
   these articles, checked against their paragraph; then the floor under which the verifier's "no" is trusted
   without asking the LLM judge (`CONTRADICTED`). `--support-only` prints just this table.
3. Fusion (`READER_WEIGHT` in retrieval/search.py): how much the reader's best sentence adds to a passage's fused
   score, by the recall of the answering paragraph at 1 and 4.
4. The lead (`PASSAGE_WEIGHT` in retrieval/answer/extractive.py): how much a sentence's passage score counts next to
   its own reading when the offline answerer picks the sentence to lead with, by the share of answerable questions
   whose lead, and whose whole answer, holds a gold answer.
5. What follows the lead (`FOLLOW_MARGIN`): how far behind the lead's merit another sentence may be and still
   follow it, by the share of answers holding a gold answer and of answers citing only the question's own paragraph.
6. The quote floor (`QUOTE_FLOOR`): the reader probability under which no sentence is quoted, by the share of
   answerable questions whose answer holds a gold answer and of unanswerable ones (paragraph removed) left with no
   draft at all.
7. Cosine floors (`TOPIC_FLOOR`, `MIN_RELEVANCE` and `SUPPORTING_RELEVANCE` in retrieval/answer/compose.py): how
   close to the question the best passage of an answerable question, and its own paragraph, come.
8. Repeats (`REDUNDANT` in retrieval/answer/extractive.py): the embedding cosine from which two sentences count as
   one, by how many pairs of different sentences of one article it would merge.
9. The answerer on news, with `--news`: `ANSWERS` (the reader probability from which a sentence answers: its
   passage is shown, its span marked, and it may follow the newest article's lead) and `FRAGMENT_WORDS` (captions and
   other unterminated scraps, which are a news page's, not Wikipedia's). Both shape the offline answer, so they are
   measured where issue 22 judges answer rules: the news yardstick's *tuning* slice (which may calibrate, never
   train; the reported slice is never read), its answerable questions asked with each value, with and without their
   gold articles: the most answers that hold the quiz answer, then the fewest refusals, then the most refusals once
   the gold is gone. One setting at a time, in that order, the first one's choice in place for the second. (On
   SQuAD, the F1 of "this sentence holds a gold answer" is flat within 0.015 from 0.65 to 0.90 and settles nothing.)

    .venv/bin/python scripts/calibrate.py [--questions 400] [--support-only | --news-only] [--news] [--write]

`--write` replaces the values it measured and keeps the others in the file, so `--support-only --write` moves only
the support thresholds.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from ablate_rules import asked, remembered_search  # noqa: E402
from build_claims import claim_rows  # noqa: E402
from claims import reworded  # noqa: E402

from retrieval import search  # noqa: E402
from retrieval.answer import compose, extractive  # noqa: E402
from retrieval.answer.chain import AnswerService  # noqa: E402
from retrieval.answer.citations import SUPPORTED, CitationChecker  # noqa: E402
from retrieval.answer.compose import closest_similarity  # noqa: E402
from retrieval.answer.extractive import ExtractiveAnswerer  # noqa: E402
from retrieval.answer.sources import Source, number_sources, without_markers  # noqa: E402
from retrieval.embeddings import Embedder  # noqa: E402
from retrieval.evaluation import (  # noqa: E402
    THRESHOLD_GRID,
    ParagraphQuestion,
    answerability_hits,
    confidences,
    contains_answer,
    paragraph_articles,
)
from retrieval.ingest.chunker import split_sentences  # noqa: E402
from retrieval.knowledge_base import KnowledgeBase, Services  # noqa: E402
from retrieval.news_yardstick import load_news  # noqa: E402
from retrieval.reader import model  # noqa: E402
from retrieval.reader.calibration import CALIBRATION_FILE  # noqa: E402
from retrieval.reader.model import Reader  # noqa: E402
from retrieval.reader.onnx_graph import WEIGHTS_DIR, weights_version  # noqa: E402
from retrieval.settings import Settings, default_data_dir  # noqa: E402
from retrieval.types import SearchHit  # noqa: E402

TRAIN_SEED = 20261126  # scripts/train_reader.py's --seed: the held-out articles are its first shuffle's head


def heldout_articles(path: Path, count: int) -> list[dict]:
    articles = json.loads(path.read_text())["data"]
    random.Random(TRAIN_SEED).shuffle(articles)
    return articles[:count]


READER_POOLS = (4, 5, 6, 8, 12)
READER_WEIGHTS = (0.0, 0.03, 0.06, 0.1, 0.15)
PASSAGE_WEIGHTS = (0.0, 4.0, 8.0, 16.0, 24.0)
CONFIDENCE_SLOPES = (0.0, 4.0, 8.0, 12.0)
CONTRADICTION_FLOORS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5)
FOLLOW_MARGINS = (math.inf, 8.0, 6.0, 4.0, 3.0, 2.0)  # inf: any sentence that answers may follow
QUOTE_FLOORS = (0.0, 0.05, 0.1, 0.2, 0.3)
# What --write chooses by (docs/CITATIONS.md): the refusal where this share of answerable questions is refused; the
# lowest support threshold rejecting this share of contradicted claims; the highest contradiction floor (at most
# MAX_FLOOR: news paraphrases score lower than SQuAD's) with at most FLOOR_LOSS of supported claims under it.
REFUSE_ANSWERABLE = 0.05
REJECT_CONTRADICTED = 0.95
MAX_FLOOR, FLOOR_LOSS = 0.1, 0.005
# The narrowest follow margin that keeps answers holding gold within ANSWER_LOSS of the widest margin's: it exists to
# keep other stories' sentences out, so it may cost answers only within noise. The quote floor is a refusal (nothing
# quoted), so it is chosen like CONFIDENT: the highest floor costing at most REFUSE_ANSWERABLE of the answers holding
# gold without one.
ANSWER_LOSS = 0.005
# The cosine floors filter before anything reads: each is the highest that costs at most FLOOR_LOSS of answerable
# questions (TOPIC_FLOOR) or of their own paragraphs (SUPPORTING_RELEVANCE); MIN_RELEVANCE, a refusal, is where
# REFUSE_ANSWERABLE of answerable questions fall short. REDUNDANT is the lowest cosine merging at most
# MERGE_DISTINCT of the pairs of different sentences of one article: an edited article does not say the same thing
# twice, so a merge there loses a fact.
MERGE_DISTINCT = 0.001
REDUNDANT_GRID = tuple(round(0.01 * i, 2) for i in range(70, 100))
# Table 9's settings: (calibration name, the modules that bind it, its values); each chosen by `best`.
NEWS_SETTINGS = (
    ("answers", (extractive, compose, model), ("ANSWERS", "SPAN_FLOOR"), (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)),
    ("fragment_words", (extractive,), ("FRAGMENT_WORDS",), (0, 4, 6, 8, 10, 12, 16, 20)),  # 0: all may be quoted
)


def sweep(
    module: ModuleType, name: str, values: tuple[float, ...], items: list, measure: Callable[[Any], tuple[bool, bool]]
) -> dict[float, tuple[float, float]]:
    """For each value of the module setting `name` (read at each call, restored afterwards): the shares of `items`
    for which `measure` holds, two measures at a time. The values take turns per item, so the reader's readings of an
    item's question are cached after the first."""
    found = {v: np.zeros(2) for v in values}
    chosen = getattr(module, name)
    try:
        for item in items:
            for value in values:
                setattr(module, name, value)
                found[value] += measure(item)
    finally:
        setattr(module, name, chosen)
    return {v: tuple(hits / len(items)) for v, hits in found.items()}


def reader_pool_table(
    kb: KnowledgeBase, answers: AnswerService, items: list[ParagraphQuestion]
) -> dict[float, tuple[float, float]]:
    """For each reader pool: the recall@1 of each question's own paragraph, and the share of offline answers holding
    a gold answer."""

    def measure(item: ParagraphQuestion) -> tuple[bool, bool]:
        first = [hit.article.id for hit in kb.search(item.question, 1, rerank=True)]
        answer = answers.ask(item.question)
        return first == [item.article_id], answer.grounded and contains_answer(
            without_markers(answer.answer), item.answers
        )

    return sweep(search, "READER_POOL", READER_POOLS, items, measure)


def smallest_within(table: dict[float, tuple[float, ...]], loss: float = ANSWER_LOSS) -> float:
    """The smallest setting whose every measure is within `loss` of the largest setting's."""
    reference = table[max(table)]
    return min(
        v
        for v, measures in table.items()
        if all(m >= r - loss - 1e-9 for m, r in zip(measures, reference, strict=True))
    )


def reader_weight_recall(
    kb: KnowledgeBase, items: list[ParagraphQuestion], weights: tuple[float, ...]
) -> dict[float, tuple[float, float]]:
    """Recall@1 and @4 of each question's own paragraph, for each reader weight in fusion."""

    def recall(item: ParagraphQuestion) -> tuple[bool, bool]:
        ids = [hit.article.id for hit in kb.search(item.question, 4, rerank=True)]
        return ids[:1] == [item.article_id], item.article_id in ids

    return sweep(search, "READER_WEIGHT", weights, items, recall)


def lead_contains_gold(
    answerer: ExtractiveAnswerer, items: list[ParagraphQuestion], searches: list[list[SearchHit]], weights: tuple
) -> dict[float, tuple[float, float]]:
    """For each passage weight: the share of questions whose offline answer's first sentence, and whole answer,
    holds a gold answer (from the hits already searched, so only the drafting is repeated), compared without our [n]
    markers as `newsdesk eval` compares them."""

    def holds_gold(asked: tuple[ParagraphQuestion, list[Source]]) -> tuple[bool, bool]:
        item, sources = asked
        draft = without_markers(answerer.draft(item.question, sources))
        sentences = split_sentences(draft) or [""]
        return contains_answer(sentences[0], item.answers), contains_answer(draft, item.answers)

    asked = [(item, number_sources(hits)) for item, hits in zip(items, searches, strict=True)]
    return sweep(extractive, "PASSAGE_WEIGHT", weights, asked, holds_gold)


_CITED = re.compile(r"\[(\d+)\]")


def follow_margin_table(
    embedder: Embedder, reader: Reader, items: list[ParagraphQuestion], searches: list[list[SearchHit]]
) -> dict[float, tuple[float, float]]:
    """For each follow margin: the share of answerable questions whose offline answer holds a gold answer, and of
    those whose answer cites no paragraph but the question's own."""
    answerers = {m: ExtractiveAnswerer(embedder, reader, follow_margin=m) for m in FOLLOW_MARGINS}
    found = {m: np.zeros(2) for m in FOLLOW_MARGINS}
    for item, hits in zip(items, searches, strict=True):
        sources = number_sources(hits)
        ids = {str(source.n): source.article.id for source in sources}
        for margin, answerer in answerers.items():
            draft = answerer.draft(item.question, sources)
            own = {ids[n] for n in _CITED.findall(draft)} <= {item.article_id}
            found[margin] += (contains_answer(without_markers(draft), item.answers), own)
    return {m: tuple(hits / len(items)) for m, hits in found.items()}


def quote_floor_table(
    embedder: Embedder, reader: Reader, items: list[ParagraphQuestion], answerable: list, unanswerable: list
) -> dict[float, tuple[float, float]]:
    """For each quote floor: the share of answerable questions whose offline answer holds a gold answer, and of
    unanswerable ones (paragraph removed) for which nothing is quoted."""
    answerers = {f: ExtractiveAnswerer(embedder, reader, threshold=f) for f in QUOTE_FLOORS}
    found = {f: np.zeros(2) for f in QUOTE_FLOORS}
    for item, hits in zip(items, answerable, strict=True):
        for floor, answerer in answerers.items():
            found[floor][0] += contains_answer(
                without_markers(answerer.draft(item.question, number_sources(hits))), item.answers
            )
    for item, hits in unanswerable:
        for floor, answerer in answerers.items():
            found[floor][1] += not answerer.draft(item.question, number_sources(hits))
    return {f: (hits[0] / len(items), hits[1] / max(1, len(unanswerable))) for f, hits in found.items()}


def closeness(items: list[ParagraphQuestion], searches: list[list[SearchHit]]) -> tuple[np.ndarray, np.ndarray]:
    """Per answerable question: the cosine of its closest passage; and of its own paragraph, where search found it
    (a floor can only drop a passage that was found)."""
    own = [
        max(h.similarity for h in hits if h.article.id == item.article_id)
        for item, hits in zip(items, searches, strict=True)
        if any(h.article.id == item.article_id for h in hits)
    ]
    return np.array([closest_similarity(hits) for hits in searches]), np.array(own)


def highest_within(values: np.ndarray, loss: float) -> float:
    """The highest grid floor with at most `loss` of `values` under it."""
    return max((t for t in THRESHOLD_GRID if np.mean(values < t) <= loss), default=0.0)


def redundant_table(embedder: Embedder, entries: list[dict]) -> dict[float, tuple[float, float]]:
    """For each cosine: the share of pairs of different sentences of one article it counts as one, and the share of
    sentences it counts as one with their rewording (scripts/claims.py's `reworded`, for scale)."""
    rng = random.Random(3)
    distinct, reworded_pairs = [], []
    for entry in entries:
        sentences = list(dict.fromkeys(s for p in entry["paragraphs"] for s in split_sentences(p["context"])))
        vectors = embedder.embed(sentences)
        similarity = vectors @ vectors.T
        distinct.append(similarity[np.triu_indices(len(sentences), k=1)])
        for sentence, vector in zip(sentences, vectors, strict=True):
            variant = reworded(sentence, rng)
            if variant and variant != sentence:
                reworded_pairs.append((vector, variant))
    pairs = np.concatenate(distinct)
    variants = embedder.embed([v for _, v in reworded_pairs])
    rewordings = np.array([vector @ variant for (vector, _), variant in zip(reworded_pairs, variants, strict=True)])
    return {t: (float(np.mean(pairs >= t)), float(np.mean(rewordings >= t))) for t in REDUNDANT_GRID}


def news_tables(services: Services, settings: Settings, news_file: Path) -> dict[str, float]:
    """Table 9: the news yardstick's tuning slice asked with each value of each setting (searches asked once)."""
    news = load_news(news_file, "tuning")
    model.CACHE_SIZE = 10**7  # every reading kept: each value re-reads what the first read
    kb = services.kb("calibrate-news")
    kb.ingest_articles(news.articles)
    remembered_search(kb)
    chosen: dict[str, float] = {}
    for name, modules, attributes, values in NEWS_SETTINGS:
        print(f"\n## {name}: {len(news.questions)} answerable questions of the news tuning slice")
        print("| value | answers holding the quiz answer | refused | refused without gold |\n|---|---|---|---|")
        table = {}
        for value in values:
            set_in(modules, attributes, value)
            counts, _ = asked(AnswerService(settings, kb), news.questions)
            table[value] = (counts["contains"], -counts["refused"], counts["refused_without_gold"])
            print(f"| {value} | {counts['contains']} | {counts['refused']} | {counts['refused_without_gold']} |")
        chosen[name] = best(table)
        set_in(modules, attributes, chosen[name])  # in place for the next setting, as the file will have it
    return chosen


def set_in(modules: tuple[ModuleType, ...], attributes: tuple[str, ...], value: float) -> None:
    """Set every one of `attributes` that a module of `modules` binds (a script's own process only)."""
    for module in modules:
        for attribute in attributes:
            if hasattr(module, attribute):
                setattr(module, attribute, value)


def within_loss(
    table: dict[float, tuple[float, float]], reference: float, pick: Callable[..., float], loss: float = ANSWER_LOSS
) -> float:
    """Of the settings whose first measure is within `loss` of the `reference` setting's, the one `pick` (max or min)
    chooses."""
    floor = table[reference][0] - loss
    return pick(v for v, (first, _) in table.items() if first >= floor - 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--squad", type=Path, default=ROOT.parent / "shared/data/squad-v1.1-train.json")
    parser.add_argument("--heldout-articles", type=int, default=20)
    parser.add_argument("--questions", type=int, default=400)
    parser.add_argument("--support-only", action="store_true", help="only the support and contradiction tables")
    parser.add_argument("--news", action="store_true", help="also table 9, on the news yardstick's tuning slice")
    parser.add_argument("--news-only", action="store_true", help="only table 9")
    parser.add_argument(
        "--news-file", type=Path, default=ROOT.parent / "shared/data/realtimeqa-2023-2026-news.jsonl.gz"
    )
    parser.add_argument("--write", action="store_true", help=f"write the chosen numbers to weights/{CALIBRATION_FILE}")
    args = parser.parse_args()
    entries = heldout_articles(args.squad, args.heldout_articles)

    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(_env_file=None, data_dir=Path(data_dir), model_dir=default_data_dir() / "models")
        services = Services(settings)
        chosen = {} if args.support_only or args.news_only else answerability_tables(services, entries, args.questions)
        if not args.news_only:
            chosen |= support_tables(services, entries, args.questions)
        if args.news or args.news_only:
            chosen |= news_tables(services, settings, args.news_file)
        services.close()
    print("\nChosen:", chosen)
    if args.write:
        path = WEIGHTS_DIR / CALIBRATION_FILE
        values = json.loads(path.read_text())["values"] | chosen
        meta = {"reader": weights_version(WEIGHTS_DIR / "reader.safetensors"), "questions": args.questions}
        path.write_text(json.dumps({"values": values, "measured": meta}, indent=1) + "\n")


def answerability_tables(services: Services, entries: list[dict], questions: int) -> dict[str, float]:
    """Tables 1, 3 and 4: all read the same questions searched in one knowledge base; the numbers chosen from them."""
    kb = services.kb("calibrate")
    articles, items = paragraph_articles(entries)
    kb.ingest_articles(articles)
    items = random.Random(1).sample(items, min(questions, len(items)))
    print(f"\n## Reader pool: {len(items)} questions, {len(articles)} paragraphs of {len(entries)} articles")
    print("| passages read | recall@1 | answer holds gold |\n|---|---|---|")
    pools = reader_pool_table(kb, AnswerService(services.settings, kb), items)
    for pool, (at_1, whole) in pools.items():
        print(f"| {pool} | {at_1:.3f} | {whole:.3f} |")
    search.READER_POOL = smallest_within(pools)  # the searches below read as the file will have it
    answerable_hits, removed_hits, elsewhere = answerability_hits(kb, items, articles)
    unanswerable_hits = [hits for hits, found in zip(removed_hits, elsewhere, strict=True) if not found]
    print(f"\n## Answerability: {len(items)} questions, {len(articles)} paragraphs of {len(entries)} articles")
    print(f"{len(unanswerable_hits)} of them unanswerable once their paragraph is removed")
    print("\nConfidence slope (0: the reader alone): unanswerables refused where 5% / 8% of answerables are")
    print("| slope | threshold at 5% | unanswerable refused | threshold at 8% | unanswerable refused |")
    print("|---|---|---|---|---|")
    refused_at_target = {}
    for slope in CONFIDENCE_SLOPES:
        answerable, unanswerable = confidences(answerable_hits, slope), confidences(unanswerable_hits, slope)
        cells = []
        for share in (0.05, 0.08):
            threshold = np.quantile(answerable, share)
            cells += [f"{threshold:.3f}", f"{np.mean(unanswerable < threshold):.3f}"]
        print(f"| {slope:.0f} | " + " | ".join(cells) + " |")
        threshold = math.floor(100 * np.quantile(answerable, REFUSE_ANSWERABLE)) / 100
        refused_at_target[slope] = (float(np.mean(unanswerable < threshold)), threshold)
    slope = max(CONFIDENCE_SLOPES, key=lambda s: (refused_at_target[s][0], -s))
    answerable, unanswerable = confidences(answerable_hits, slope), confidences(unanswerable_hits, slope)
    removed = confidences(removed_hits, slope)
    print(f"\nAt the chosen slope {slope:.0f}:")
    print("| threshold | answerable refused | unanswerable refused | paragraph removed refused |\n|---|---|---|---|")
    for t in THRESHOLD_GRID:
        rates = (np.mean(answerable < t), np.mean(unanswerable < t), np.mean(removed < t))
        print(f"| {t:.2f} | " + " | ".join(f"{r:.3f}" for r in rates) + " |")

    print(f"\n## Reader weight in fusion: {len(items)} questions")
    print("| weight | recall@1 | recall@4 |\n|---|---|---|")
    recalls = reader_weight_recall(kb, items, READER_WEIGHTS)
    for weight, (at_1, at_4) in recalls.items():
        print(f"| {weight:.2f} | {at_1:.3f} | {at_4:.3f} |")

    print(f"\n## Passage weight in choosing the lead: {len(items)} answerable questions")
    print("| weight | lead holds gold | answer holds gold |\n|---|---|---|")
    answerer = ExtractiveAnswerer(services.embedder, services.reader)
    leads = lead_contains_gold(answerer, items, answerable_hits, PASSAGE_WEIGHTS)
    for weight, (lead, whole) in leads.items():
        print(f"| {weight:.0f} | {lead:.3f} | {whole:.3f} |")

    print(f"\n## Follow margin: {len(items)} answerable questions")
    print("| margin | answer holds gold | answer cites only its paragraph |\n|---|---|---|")
    follows = follow_margin_table(services.embedder, services.reader, items, answerable_hits)
    for margin, (whole, own) in follows.items():
        print(f"| {margin:.0f} | {whole:.3f} | {own:.3f} |")

    unanswerable = [(item, hits) for item, hits, found in zip(items, removed_hits, elsewhere, strict=True) if not found]
    print(f"\n## Quote floor: {len(items)} answerable, {len(unanswerable)} unanswerable questions")
    print("| floor | answer holds gold | unanswerable: nothing quoted |\n|---|---|---|")
    floors = quote_floor_table(services.embedder, services.reader, items, answerable_hits, unanswerable)
    for floor, (whole, empty) in floors.items():
        print(f"| {floor:.2f} | {whole:.3f} | {empty:.3f} |")
    print(f"\n## Cosine floors: {len(items)} answerable questions")
    print("| cosine | best passage under it | own paragraph (found) under it | unanswerable: best under it |")
    print("|---|---|---|---|")
    best_cosine, own_cosine = closeness(items, answerable_hits)
    unanswerable_best = np.array([closest_similarity(hits) for hits in unanswerable_hits])
    for t in THRESHOLD_GRID[:12]:
        shares = (np.mean(best_cosine < t), np.mean(own_cosine < t), np.mean(unanswerable_best < t))
        print(f"| {t:.2f} | " + " | ".join(f"{r:.3f}" for r in shares) + " |")

    print(f"\n## Repeats: pairs of different sentences of the {len(entries)} articles")
    print("| cosine | distinct pairs merged | rewordings merged |\n|---|---|---|")
    repeats = redundant_table(services.embedder, entries)
    for t, (distinct, rewordings) in repeats.items():
        print(f"| {t:.2f} | {distinct:.4f} | {rewordings:.3f} |")
    return {
        "topic_floor": highest_within(best_cosine, FLOOR_LOSS),
        "supporting_relevance": highest_within(own_cosine, FLOOR_LOSS),
        "min_relevance": math.floor(100 * np.quantile(best_cosine, REFUSE_ANSWERABLE)) / 100,
        "redundant": min(t for t, (distinct, _) in repeats.items() if distinct <= MERGE_DISTINCT),
        "reader_pool": search.READER_POOL,
        "confidence_slope": slope,
        "confident": refused_at_target[slope][1],
        "reader_weight": best(recalls),
        "passage_weight": best(leads),
        "follow_margin": within_loss(follows, math.inf, min),
        "quote_floor": within_loss(floors, min(QUOTE_FLOORS), max, loss=REFUSE_ANSWERABLE),
    }


def best(table: dict[float, tuple[float, ...]]) -> float:
    """The setting with the best first measure, then the best second (and so on), then the smallest (the least
    departure); a measure where less is better is entered negated."""
    return max(table, key=lambda v: (*(round(m, 6) for m in table[v]), -v))


def support_tables(services: Services, entries: list[dict], questions: int) -> dict[str, float]:
    """Table 2: claims checked against their paragraph, by the support threshold and by the contradiction floor."""
    rows = claim_rows(entries, questions // 2, random.Random(2))
    checker = CitationChecker(services.reader)
    scores = np.array(
        [p for p, _ in checker.support_scores([(r["claim"], split_sentences(r["passage"])) for r in rows])]
    )
    supported = np.array([r["label"] == "supported" for r in rows])
    print(f"\n## Support: {len(rows)} claims ({supported.sum()} supported)")
    print("| threshold | supported kept | contradicted rejected |\n|---|---|---|")
    for t in THRESHOLD_GRID:
        print(f"| {t:.2f} | {np.mean(scores[supported] >= t):.3f} | {np.mean(scores[~supported] < t):.3f} |")
    contradicted, let_through = scores[~supported], scores[supported & (scores > 0)]
    print(
        f"\nContradiction floor: the rules (score 0) reject {np.mean(scores[supported] == 0):.3f} of supported and"
        f" {np.mean(contradicted == 0):.3f} of contradicted claims; the supported claims they let through score"
        f" {let_through.min():.3f} or more. Under the floor no LLM judge is asked; up to SUPPORTED, it decides."
    )
    print("| floor | supported under it | contradicted under it | contradicted left to the judge |\n|---|---|---|---|")
    for t in CONTRADICTION_FLOORS:
        judged = np.mean((contradicted >= t) & (contradicted < SUPPORTED))
        print(f"| {t:.2f} | {np.mean(scores[supported] < t):.3f} | {np.mean(contradicted < t):.3f} | {judged:.3f} |")
    rejecting = [t for t in THRESHOLD_GRID if np.mean(contradicted < t) >= REJECT_CONTRADICTED]
    floors = [t for t in CONTRADICTION_FLOORS if t <= MAX_FLOOR and np.mean(let_through < t) <= FLOOR_LOSS]
    return {
        "supported": rejecting[0] if rejecting else THRESHOLD_GRID[-1],
        "contradicted": max(floors, default=CONTRADICTION_FLOORS[0]),
    }


if __name__ == "__main__":
    main()
