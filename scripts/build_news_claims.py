"""Build bench/news_claims_rt_rules.json: rule-made claims about single sentences of RealTime QA news articles.

For each sampled article (2023-2026, none of those in the hand-written set bench/news_claims_rt_hand.json) one clean,
self-contained sentence is quoted, with two claims about it: a supported one (the sentence without its attribution,
its main clause, or a light rewording) and an unsupported one (the sentence with one fact changed: a number, a year,
a month, a name swapped for another name from the same article, two names exchanged, a negation added or removed, a
word replaced by its opposite).

The changes come from scripts/claims.py, the same rules that made the verifier's training negatives, so
this set is not a blind test: the hand-written set is. The articles carry no licence, so only the one sentence each
claim is built on is written out, with its URL; the set is for measuring and calibrating, never for training.

    .venv/bin/python scripts/build_news_claims.py    # seeded: the same input always gives the same file
"""

from __future__ import annotations

import argparse
import difflib
import gzip
import json
import random
import re
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from claims import perturb, positive_variants, reworded  # noqa: E402

from retrieval.evaluation import claim_split  # noqa: E402
from retrieval.ingest.chunker import split_sentences  # noqa: E402

YEARS = ("2023", "2024", "2025", "2026")
MIN_WORDS, MAX_WORDS = 15, 45

# A sentence that quotes someone, leans on the sentence before it, or is page furniture rather than news.
_QUOTED = re.compile(r"[\"“”]|(?:^|\s)['‘]\S")
_LEANS_BACK = re.compile(
    r"^(?:He|She|It|They|We|I|You|This|That|These|Those|His|Her|Its|Their|Our|But|And|Or|So|Also|Still|Then|"
    r"However|Meanwhile|Instead|Yet|Here|There)\b"
)
_FURNITURE = re.compile(
    r"(?i)\b(?:photos?|getty|images|contributed|reporting by|editing by|staff writer|subscribe|newsletter|click|"
    r"sign up|privacy policy|editor's note|corrections?|clarifications|copyright|all rights reserved|"
    r"ai-assisted summary|follow us|watch|video|podcast)\b|@|https?:|www\.|©"
)
_SPOKEN = re.compile(r"\.\.\.|:(?!\d)|\b(?:I|I'm|I’m|my|we|we're|we’re|our|us|you|your)\b")
_TWO_SENTENCES = re.compile(r"\b[A-Z]{2,}\. [A-Z]")  # "... the pesticide DDT. Bald eagles ...": one split missed
_DATELINE = re.compile(r"^[A-Z][A-Z .,'’()]{2,}\s*[–—-]|\((?:AP|Reuters)\)")
# "According to the agency, ..." and "..., police said." / "..., according to the report.": who said it.
_OPENING_ATTRIBUTION = re.compile(r"^(?:According to|In a statement(?: to)?|In a post on) [^,]{2,60}, (?=[a-z]|[A-Z])")
_CLOSING_ATTRIBUTION = re.compile(
    r", (?:according to [^,]{2,70}|(?:[A-Z][\w.’'-]*|the|a|an|police|officials|authorities)(?: [\w.’'-]+){0,6} "
    r"(?:said|says|told [^,.]{2,50}|reported|reports|announced)(?: on)?(?: \w+day)?(?: in a statement)?)\.$"
)
_NEGATION_WORDS = {"not", "never", "no", "n't"}


def news_articles(path: Path) -> list[dict]:
    """Every distinct article published 2023-2026 in the RealTime QA file (the same article recurs under questions)."""
    articles: dict[str, dict] = {}
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            for article in json.loads(line)["articles"]:
                if str(article.get("published", ""))[:4] in YEARS and article.get("url", "").startswith("http"):
                    articles.setdefault(article["url"], article)
    return [articles[url] for url in sorted(articles)]


def clean_sentences(text: str) -> list[str]:
    """Sentences a claim can be checked against alone: 15-45 words, a statement, no quotation (marked, or spoken in
    the first or second person), no dateline, headline or credit, not opening with a word that points at the
    sentence before."""
    kept = []
    for sentence in split_sentences(text):
        words = len(sentence.split())
        if not MIN_WORDS <= words <= MAX_WORDS or not sentence[0].isupper() or not sentence.endswith("."):
            continue
        if "?" in sentence or _LEANS_BACK.match(sentence):
            continue
        if any(p.search(sentence) for p in (_QUOTED, _TWO_SENTENCES, _FURNITURE, _DATELINE, _SPOKEN)):
            continue
        kept.append(sentence)
    return kept


def without_attribution(sentence: str) -> str | None:
    """The sentence without who said it, or None when it names no speaker at its start or end."""
    text = _CLOSING_ATTRIBUTION.sub(".", _OPENING_ATTRIBUTION.sub("", sentence))
    if text == sentence or len(text.split()) < 8:
        return None
    return text[0].upper() + text[1:]


# A first clause that is not a sentence alone ("If you needed ...", "Located across from ..."), and the perfect turned
# past inside an infinitive ("claim to have started" -> "claim to started").
_SUBORDINATE = re.compile(
    r"^(?:If|When|Since|Though|Although|While|With|As|After|Before|Because|Despite|Unless|Until|Once|Whether|"
    r"\w+ed|\w+ing)\b|\b(?:if|when|whether|because|although|though|since|while|until|unless)\b"
)
_INTERRUPTION = re.compile(r"(?:who|which|whose|where) [^,]*, [a-z]+ ")
_BROKEN_INFINITIVE = re.compile(r"\bto (?!be\b)\w+ed\b")


def supported_claim(sentence: str, rng: random.Random) -> tuple[str, str] | None:
    """(claim, kind) the sentence backs, never the sentence itself; None when no rule changes it. Of the training
    rules' rewordings only those that keep every word's place are used (a synonym for a word, brackets dropped):
    their clause split cuts inside names and numbers ("000 jobs would ...") too often to stand as news claims."""
    plain = without_attribution(sentence)
    if plain:
        return plain, "attribution_dropped"
    options: list[tuple[str, str]] = []
    summary = reworded(sentence, rng)
    if summary and not _BROKEN_INFINITIVE.search(summary):
        options.append((summary, "reworded"))
    main, *rest = re.split(r", |; ", sentence)
    # Not where the comma opens a list ("Robert Stark, 54-year-old Stephen Stark and ...") or a relative clause
    # inside the subject ("Zelenskyy, who is defending ..., were in the background").
    tail = sentence[len(main) + 2 :]
    cut_inside = tail[:1].isupper() or tail[:1].isdigit() or _INTERRUPTION.match(tail) is not None
    if len(main.split()) >= 10 and rest and not cut_inside and not _SUBORDINATE.search(main):
        options.append((main.rstrip(".") + ".", "main_clause"))
    words = len(sentence.split())
    for variant in positive_variants(sentence, rng)[1:]:
        if variant == re.sub(r"\s*\([^)]*\)", "", sentence):
            options.append((variant, "brackets_dropped"))
        elif len(variant.split()) == words and variant != summary:
            options.append((variant, "synonyms"))
    options = list(dict.fromkeys((claim, kind) for claim, kind in options if claim != sentence))
    return rng.choice(options) if options else None


# Capitalised words that are not names: swapping "Sunday" for "Putin", or taking "For" for a name, makes a claim
# no one would write.
_NOT_NAMES = re.compile(
    r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|January|February|March|April|May|June|July|"
    r"August|September|October|November|December|The|A|An|In|On|At|For|Of|And|But|By|To|With|From|As)\W*"
)
_CONNECTORS = {"of", "the", "de", "and"}


def changed_words(sentence: str, claim: str) -> tuple[list[str], list[str]]:
    """The words the claim removed from the sentence and the words it added, in order."""
    before, after = sentence.replace("n't", " n't").split(), claim.replace("n't", " n't").split()
    removed, added = [], []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=before, b=after, autojunk=False).get_opcodes():
        if tag != "equal":
            removed += before[i1:i2]
            added += after[j1:j2]
    return removed, added


def change_kind(sentence: str, claim: str) -> str:
    """Which one fact `perturb` changed, read off the words that differ: for the per-kind breakdown."""
    removed, added = changed_words(sentence, claim)
    if {w.strip(",.;:").lower() for w in removed + added} <= _NEGATION_WORDS or any(
        w.startswith("never") for w in added
    ):
        return "negation"
    if sorted(sentence.split()) == sorted(claim.split()):
        return "role_swap"
    if removed and all(re.search(r"\d", w) for w in removed + added):
        return "year" if all(re.fullmatch(r"\D*(?:1[5-9]|20)\d\d\D*", w) for w in removed) else "number"
    months = "January|February|March|April|May|June|July|August|September|October|November|December"
    if removed and all(re.fullmatch(rf"(?:{months})\W*", w) for w in removed + added):
        return "month"
    if all(w[:1].isupper() or w in _CONNECTORS for w in removed + added):
        return "entity"
    return "antonym"


def _list_items(text: str) -> list[str]:
    return sorted(re.split(r",? and |,? or |, ", text.rstrip(".")))


def plausible(sentence: str, claim: str, article_text: str) -> bool:
    """A name the change brings in must be a name of the article: a word it uses after a lower-case word (so not
    a capitalised sentence opening such as "More" or "Though"), never a weekday, month or function word, and never
    a fragment cut inside a word ("Wrobleskiés"); and reordering a list changes no fact."""
    if _list_items(sentence) == _list_items(claim):
        return False  # "Hashcat and Ophcrack" for "Ophcrack and Hashcat": the same list in another order
    _, added = changed_words(sentence, claim)
    for word in (w.strip(",.;:()’'s") for w in added if w[:1].isupper()):
        if _NOT_NAMES.fullmatch(word) or not re.search(rf"[a-z,] {re.escape(word)}(?![\w’'-])", article_text):
            return False
    return True


def unsupported_claim(sentence: str, article_text: str, rng: random.Random, tries: int = 6) -> tuple[str, str] | None:
    """(claim, kind): the sentence with one fact changed by the training rules (names swapped in come from the same
    article); None when no rule gives a plausible change in `tries` draws."""
    for _ in range(tries):
        changed = perturb(sentence, rng, article_text, [])
        if changed and changed != sentence and plausible(sentence, changed, article_text):
            return changed, change_kind(sentence, changed)
    return None


def by_year(articles: list[dict], rng: random.Random) -> Iterator[dict]:
    """Articles shuffled, then taken one year at a time in turn, so 2025 and 2026 are not crowded out by 2023."""
    queues = {year: [a for a in articles if a["published"].startswith(year)] for year in YEARS}
    for queue in queues.values():
        rng.shuffle(queue)
    while any(queues.values()):
        for year in YEARS:
            if queues[year]:
                yield queues[year].pop()


def topic(url: str) -> str:
    """The section of the site the article sits in ('news/politics', 'sports/nfl', ...), for reading results."""
    parts = [p for p in url.split("/")[3:] if p and not p.isdigit()]
    parts = parts[1:] if parts[:1] == ["story"] else parts
    return "/".join(parts[:2])


def build(articles: list[dict], count: int, rng: random.Random) -> tuple[dict[str, dict], list[dict]]:
    """One sentence from each of `count` articles, with a supported and an unsupported claim about it."""
    passages: dict[str, dict] = {}
    claims: list[dict] = []
    for article in by_year(articles, rng):
        if len(passages) >= count:
            break
        text = unicodedata.normalize("NFC", article["text"])  # one spelling of "é" in sentence, names and claims
        candidates = clean_sentences(text)
        rng.shuffle(candidates)
        for sentence in candidates:
            good, bad = supported_claim(sentence, rng), unsupported_claim(sentence, text, rng)
            if good is None or bad is None or good[0] == bad[0]:
                continue
            key = f"rt{len(passages) + 1:03d}"
            passages[key] = {
                "text": sentence,
                "url": article["url"],
                "published": article["published"].replace("/", "-"),
                "topic": topic(article["url"]),
            }
            split = claim_split(article["url"])
            for (claim, kind), label in ((good, "supported"), (bad, "unsupported")):
                claims.append({"claim": claim, "passage": key, "label": label, "kind": kind, "split": split})
            break
    return passages, claims


METADATA = {
    "source": (
        "Made by scripts/build_news_claims.py (seeded) from single sentences of RealTime QA news articles "
        "(2023-2026), one sentence per article, none from an article of the hand-written set."
    ),
    "not_blind": (
        "The unsupported claims are made by scripts/claims.py's perturb, the same rules that made the "
        "verifier's training negatives (and positive_variants / reworded for some supported ones): a measure of "
        "those rules on news text, not a blind test; bench/news_claims_rt_hand.json is the blind one."
    ),
    "licence": (
        "The articles carry no licence: each passage is the one sentence its claims are built on, quoted with "
        "its URL. For measuring and calibrating only; never train on it."
    ),
    "split": (
        "tuning / reported: by article, retrieval.evaluation.claim_split(url) (a seeded hash of the URL); "
        "calibration may look at the tuning half only"
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--news", type=Path, default=ROOT.parent / "shared/data/realtimeqa-2023-2026-news.jsonl.gz")
    parser.add_argument("--hand", type=Path, default=ROOT / "bench/news_claims_rt_hand.json")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/news_claims_rt_rules.json")
    parser.add_argument("--articles", type=int, default=130, help="sentences (one per article); two claims each")
    parser.add_argument("--seed", type=int, default=22)
    args = parser.parse_args()
    for path in (args.news, args.hand):
        if not path.is_file():
            print(f"{path} does not exist; give its path with --news or --hand.", file=sys.stderr)
            sys.exit(2)
    hand_urls = {p["url"] for p in json.loads(args.hand.read_text(encoding="utf-8"))["passages"].values()}
    articles = [a for a in news_articles(args.news) if a["url"] not in hand_urls]
    passages, claims = build(articles, args.articles, random.Random(args.seed))
    data = {**METADATA, "seed": args.seed, "passages": passages, "claims": claims}
    args.out.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(claims)} claims about {len(passages)} sentences to {args.out}")


if __name__ == "__main__":
    main()
