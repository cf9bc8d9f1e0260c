"""Switch each rule beside the reader off in turn and measure what it is worth (issue 22, item 4).

A rule stays only where it measurably helps, on data it was not written from, and the decision is taken on the
*tuning* halves alone; the *reported* halves are only reported. Two kinds of rule, two yardsticks:

- **Check rules** (retrieval/answer/citations.py, names.py, opposites.py) decide whether a cited sentence is backed.
  Measured on the claim sets: every claim checked with all rules on, then with one rule off, then with none (the
  verifier alone). Decided on the tuning halves of bench/news_claims_rt_hand.json and bench/news_claims_rt_rules.json
  pooled, plus the older blind sets written before the rule (WRITTEN_BEFORE): a rule stays when, switched off,
  fewer of those claims are decided right (kept if supported, rejected if not). bench/squad_claims.jsonl and the
  other older sets (which rules were written after looking at) are reported beside them, as are the reported halves.
  A first run decided on the rt tuning halves alone and removed the number, negation and opposite-word rules, which
  cost nothing there; the blind sets, which none of the three was written from, lose 1 to 2 contradictions each
  without them, so they came back.
- **Answer rules** (retrieval/answer/extractive.py, compose.py) shape the offline answer; the citation check barely
  touches it (its sentences are quotes). Measured on the news yardstick (retrieval/news_yardstick.py): each slice's
  answerable questions asked as is and with their answer-bearing articles excluded. Decided on the TUNING slice: a
  rule stays when switching it off loses more questions than it wins, counting answers that hold the quiz answer and
  refusals once the gold articles are gone. A number rule is "off" at its neutral value (a floor of 0, no margin).
  Rules whose purpose those counts cannot see (OWN_MEASURE: repeated sentences, followers from other stories) are
  judged on their own measure instead, and each variant also counts how many answers it changed.
  Check rules are not run on the yardstick: they leave quoted sentences alone.

Each variant is measured in the same process with the same searches (searches are remembered per question and
filter, readings kept in an unbounded cache), so variants differ only by the rule switched off, and every run after
the first costs little. The results go to bench/rule_ablation.json; docs/CITATIONS.md tabulates them.

    .venv/bin/python scripts/ablate_rules.py --claims [--news tuning --news reported] [--json bench/rule_ablation.json]
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from retrieval.answer import citations, compose, extractive  # noqa: E402
from retrieval.answer.chain import AnswerService  # noqa: E402
from retrieval.answer.sources import without_markers  # noqa: E402
from retrieval.evaluation import Claim, claim_rates, contains_answer, load_claims, verifier_decisions  # noqa: E402
from retrieval.ingest.chunker import split_sentences  # noqa: E402
from retrieval.knowledge_base import KnowledgeBase, Services  # noqa: E402
from retrieval.news_yardstick import load_news  # noqa: E402
from retrieval.reader import model  # noqa: E402
from retrieval.search import Filters  # noqa: E402
from retrieval.settings import Settings, default_data_dir  # noqa: E402
from retrieval.text import content_words  # noqa: E402

REPEAT = 0.6  # share of content words two sentences of one answer share when they say the same thing
NEVER = re.compile(r"(?!)")  # a pattern that matches nothing: a regex rule switched off
Patch = tuple[Any, str, Any]  # (module, attribute, value while switched off)

CHECK_RULES: dict[str, list[Patch]] = {
    "numbers and months": [(citations, "_numbers_backed", lambda claim, passage: True)],
    "actors swapped": [(citations, "actors_swapped", lambda claim, sentence: False)],
    "negation parity": [(citations, "_NEGATION", NEVER)],
    "opposite words": [(citations, "says_the_opposite", lambda claim, sentence, restated: False)],
}
# Claim sets written before a rule was (git history): held out for that rule, so they count in its decision beside
# the rt tuning halves. The number and negation rules date from 2026-11-27, both blind sets from 2026-12-02;
# news_claims_blind2.json was written before the opposite-word pairs. Names grounded (removed at f64b73e; its rows are
# in docs/CITATIONS.md) and the actor rule arrived with news_claims_blind.json.
WRITTEN_BEFORE: dict[str, tuple[str, ...]] = {
    "numbers and months": ("news_claims_blind.json", "news_claims_blind2.json"),
    "negation parity": ("news_claims_blind.json", "news_claims_blind2.json"),
    "opposite words": ("news_claims_blind2.json",),
}
# KEEP_RATIO (at 09aadf9), label lines and MIN_WORDS (at 5cbbded) were measured and removed: switched off, KEEP_RATIO
# won answers, the other two changed 0 and 3 of the tuning slice's 224 answers and no count. Their rows are in
# docs/CITATIONS.md, and in bench/rule_ablation.json as those commits wrote it.
ANSWER_RULES: dict[str, list[Patch]] = {
    "lead-in cut": [(extractive, "_LEAD_IN", NEVER)],
    "dateline cut": [(extractive, "_DATELINE", NEVER)],
    "fragments (FRAGMENT_WORDS)": [(extractive, "FRAGMENT_WORDS", 0)],
    "QUOTE_FLOOR": [(extractive, "QUOTE_FLOOR", 0.0)],
    "ANSWERS (passages shown)": [(compose, "ANSWERS", math.inf)],
    "FOLLOW_MARGIN": [(extractive, "FOLLOW_MARGIN", math.inf)],
    "REDUNDANT": [(extractive, "REDUNDANT", math.inf)],
}
# Answer rules whose purpose the yardstick's counts cannot see, each judged on its own measure instead.
OWN_MEASURE: dict[str, str] = {
    "REDUNDANT": "answers that repeat a sentence ('repeats' in each variant's counts)",
    "FOLLOW_MARGIN": "answers citing a paragraph other than the question's own (scripts/calibrate.py, table 5)",
    "ANSWERS (passages shown)": "the reader's own threshold for marking spans and showing passages, not a rule",
    "lead-in cut": "wire lead-ins cut from quoted, digest and summary lines: cleaning, it decides nothing",
}
TUNING_SETS = ("news_claims_rt_hand.json", "news_claims_rt_rules.json")
OTHER_SETS = ("squad_claims.jsonl", "news_claims.json", "news_claims_blind.json", "news_claims_blind2.json")


@contextmanager
def switched_off(patches: list[Patch]) -> Iterator[None]:
    saved = [(module, name, getattr(module, name)) for module, name, _ in patches]
    try:
        for module, name, value in patches:
            setattr(module, name, value)
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)


def variants(rules: dict[str, list[Patch]]) -> dict[str, list[Patch]]:
    """All rules on, each one off, all off."""
    return {"all rules": [], **{f"without {name}": p for name, p in rules.items()}} | {
        "no rules": [patch for p in rules.values() for patch in p]
    }


def correct(claims: list[Claim], decisions: list[bool]) -> int:
    return sum(d == c.supported for c, d in zip(claims, decisions, strict=True))


def claim_effects(services: Services) -> dict[str, object]:
    """Per variant and claim set (and half): supported kept, contradictions rejected, claims decided right."""
    checker = citations.CitationChecker(services.reader)
    sets = {name: load_claims(ROOT / "bench" / name) for name in TUNING_SETS + OTHER_SETS}
    found: dict[str, object] = {}
    for variant, patches in variants(CHECK_RULES).items():
        rows: dict[str, object] = {}
        pooled = {"tuning": 0, "reported": 0}
        with switched_off(patches):
            for name, claims in sets.items():
                decisions = verifier_decisions(checker, claims)
                halves = sorted({c.split for c in claims}) if name in TUNING_SETS else [""]
                for half in halves:
                    chosen = [(c, d) for c, d in zip(claims, decisions, strict=True) if not half or c.split == half]
                    part = [c for c, _ in chosen]
                    said = [d for _, d in chosen]
                    rows[f"{name} {half}".strip()] = claim_rates(part, said) | {"correct": correct(part, said)}
                    if half:
                        pooled[half] += correct(part, said)
        found[variant] = {"decided right, rt sets pooled": pooled, "sets": rows}
        print(variant, pooled, flush=True)
    return found


def remembered_search(kb: KnowledgeBase) -> None:
    """Make `kb.search` answer each (query, k, filters, rerank) once: variants then differ only in the answer step."""
    search, seen = kb.search, {}

    def cached(query: str, k: int, filters: Filters | None = None, *, rerank: bool = False) -> list:
        key = (query, k, filters, rerank)
        if key not in seen:
            seen[key] = search(query, k, filters, rerank=rerank)
        return seen[key]

    kb.search = cached  # type: ignore[method-assign]  # a measurement's own instance only


def news_effects(
    services: Services, settings: Settings, path: Path, slice_name: str, changes: Path | None
) -> dict[str, object]:
    """Per variant: the yardstick's answer measures on one slice's answerable questions, and how many answers differ
    from those with every rule on (a rule that changes no answer on news does nothing there). With `changes`, each
    changed answer is written there beside the one it replaced, to read: never into the repository, since the
    yardstick's text has no licence."""
    news = load_news(path, slice_name)
    kb = services.kb(f"ablate-{slice_name}")
    kb.ingest_articles(news.articles)
    remembered_search(kb)
    found: dict[str, object] = {}
    baseline: list[str] = []
    for variant, patches in variants(ANSWER_RULES).items():
        with switched_off(patches):
            answers = AnswerService(settings, kb)  # built while switched off: the answerer reads its numbers now
            counts, texts = asked(answers, news.questions)
        baseline = baseline or texts
        pairs = zip(asked_questions(news.questions), baseline, texts, strict=True)
        changed = [(question, before, after) for question, before, after in pairs if before != after]
        found[variant] = counts | {"answers_changed": len(changed)}
        if changes and changed:
            with changes.open("a", encoding="utf-8") as out:
                for question, before, after in changed:
                    row = {"slice": slice_name, "variant": variant, "question": question, "all_rules": before}
                    out.write(json.dumps(row | {"switched_off": after}) + "\n")
        print(slice_name, variant, found[variant], flush=True)
    return {"questions": len(news.questions), "variants": found}


def asked_questions(questions: list) -> list[str]:
    """Each question twice, as `asked` asks it: with its gold articles, then without them."""
    return [f"{q.question}{suffix}" for q in questions for suffix in ("", " (gold excluded)")]


def asked(answers: AnswerService, questions: list) -> tuple[dict[str, int], list[str]]:
    """Counts over `questions`: answers holding the quiz answer, refusals, and refusals and answers holding it with
    every gold article excluded (the yardstick's measures, as counts); and every answer's text, in `asked_questions`
    order."""
    counts = dict.fromkeys(("contains", "refused", "refused_without_gold", "answered_without_gold", "repeats"), 0)
    texts: list[str] = []
    for q in questions:
        for key, filters in (("", None), ("_without_gold", Filters(exclude=frozenset(q.gold_article_ids)))):
            answer = answers.ask(q.question, filters=filters)
            texts.append(answer.answer)
            counts["repeats"] += repeats_itself(answer.answer)
            holds = answer.grounded and contains_answer(without_markers(answer.answer), q.answers)
            if key:
                counts["refused_without_gold"] += not answer.grounded
                counts["answered_without_gold"] += holds
            else:
                counts["contains"] += holds
                counts["refused"] += not answer.grounded
    return counts, texts


def repeats_itself(answer: str) -> bool:
    """Two sentences of the answer share at least REPEAT of their content words (together): the same news said twice,
    as syndicated copies and teasers say it. Word overlap, not the embedding cosine REDUNDANT itself uses."""
    words = [content_words(s) for s in split_sentences(without_markers(answer))]
    return any(a and b and len(a & b) >= REPEAT * len(a | b) for i, a in enumerate(words) for b in words[i + 1 :])


def switched(table: dict[str, Any]) -> list[str]:
    """The rules a results table switched off one at a time (those measured then, removed since or not)."""
    return [v.removeprefix("without ") for v in table if v.startswith("without ")]


def decisions(results: dict[str, Any]) -> dict[str, object]:
    """The fixed rules of the module docstring, applied to the tuning halves and slice only."""
    decided: dict[str, object] = {}
    if "claims" in results:
        claims = results["claims"]
        base = claims["all rules"]["decided right, rt sets pooled"]
        for name in switched(claims):
            off = claims[f"without {name}"]["decided right, rt sets pooled"]
            gain = {half: base[half] - off[half] for half in base}
            held_out = sum(
                claims["all rules"]["sets"][s]["correct"] - claims[f"without {name}"]["sets"][s]["correct"]
                for s in WRITTEN_BEFORE.get(name, ())
            )
            decided[name] = {
                "gain_tuning": gain["tuning"],
                "gain_written_before": held_out,
                "gain_reported": gain["reported"],
                "keep": gain["tuning"] + held_out > 0,
            }
    if "news tuning" in results:
        tuning = results["news tuning"]["variants"]
        reported = results.get("news reported", {}).get("variants", {})
        for name in switched(tuning):
            gain = {
                half: worth(table["all rules"], table[f"without {name}"])
                for half, table in (("tuning", tuning), ("reported", reported))
                if table
            }
            decided[name] = {f"gain_{half}": g for half, g in gain.items()} | {"keep": gain["tuning"] > 0}
            if name in OWN_MEASURE:
                decided[name] |= {"keep": True, "judged_by": OWN_MEASURE[name]}
    return decided


def worth(on: dict[str, int], off: dict[str, int]) -> int:
    """Questions won by the rule: answers holding the quiz answer plus refusals without the gold articles."""
    return (on["contains"] - off["contains"]) + (on["refused_without_gold"] - off["refused_without_gold"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", action="store_true", help="the check rules on the claim sets")
    parser.add_argument("--news", action="append", default=[], choices=("tuning", "reported"), help="a slice")
    parser.add_argument(
        "--news-file", type=Path, default=ROOT.parent / "shared/data/realtimeqa-2023-2026-news.jsonl.gz"
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="keep the slices' index here between runs")
    parser.add_argument("--json", type=Path, default=None, help="write (merge into) this file")
    parser.add_argument("--changes", type=Path, default=None, help="append changed answers here (outside the repo)")
    args = parser.parse_args()
    model.CACHE_SIZE = 10**7  # every reading kept: each variant re-reads what the first read
    results: dict[str, Any] = json.loads(args.json.read_text()) if args.json and args.json.exists() else {}
    with tempfile.TemporaryDirectory() as scratch:
        data_dir = args.data_dir or Path(scratch)
        settings = Settings(_env_file=None, data_dir=data_dir, model_dir=default_data_dir() / "models")
        services = Services(settings)
        if args.claims:
            results["claims"] = claim_effects(services)
        for slice_name in args.news:
            results[f"news {slice_name}"] = news_effects(services, settings, args.news_file, slice_name, args.changes)
        services.close()
    results["decisions"] = decisions(results)
    if args.claims or args.news:  # with neither, only the decisions are taken again from the file's tables
        results["commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()
        results["command"] = " ".join(["scripts/ablate_rules.py", *sys.argv[1:]])
    print(json.dumps(results["decisions"], indent=1))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
