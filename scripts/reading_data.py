"""Training pairs for what SQuAD v1.1 never showed the reader: questions built to look answerable, and paraphrase.

scripts/train_reader.py's SQuAD pairs teach `answers` that a sentence on the question's topic from another paragraph
does not answer it, and `supports` that a rule-made change of fact is not backed. On news the reader failed at the
neighbouring cases (docs/MODELS.md): it answered questions written to look answerable (a swapped entity, a negation,
an impossible condition) and its verifier rejected faithful paraphrases, because every supported claim it saw kept
the source's words. So this adds, every pair as a `train_reader.Example`:

- `answers`, from SQuAD 2.0's public dev half (CC BY-SA 4.0): each unanswerable question against the sentences of its
  paragraph (the one holding the "plausible answer" first), each answerable one against its answer sentence.
  Whole articles are held out (`SQUAD2_HELDOUT`) so the refusal can be measured on questions never trained on.
- `answers`, rewritten SQuAD v1.1 train questions: one fact of the question changed by the same rules that change a
  claim (scripts/claims.py: an entity or number from the article, a negation, an opposite word), paired with the
  sentence that answered the original. The original pair stays a positive, so the two differ by the change alone.
- `supports`, from the premise/claim pairs in ../shared/data/nli (MultiNLI and FEVER collapsed to entailed or not,
  Fool Me Twice, WiCE, Falke's news summary sentences): people's paraphrases and contradictions, not rules. A tenth of
  each source, chosen by a hash of the claim, is held out as a monitor.

The RealTime QA news questions are never read here: they carry no licence and are the yardstick, not training data.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from pathlib import Path

from claims import perturb
from pairs import ANSWERS, SUPPORTS, Example, Paragraph, _closest, _words, answer_pair, answer_sentence

from retrieval.ingest.chunker import split_sentences

# Articles of SQuAD 2.0's dev half kept out of training, to measure refusals on (about a quarter of its questions).
SQUAD2_HELDOUT = ("Normans", "Steam_engine", "Scottish_Parliament", "Force")
NLI_MONITOR_SHARE = 10  # percent of each NLI source held out
# WiCE evidence runs to a dozen sentences; past this many words truncation at 128 tokens would cut the support away.
MAX_PREMISE_WORDS = 90


def heldout_by_hash(text: str, percent: int) -> bool:
    """A stable split that does not depend on file order: the same claim always lands on the same side."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) % 100 < percent


# ------------------------------------------------------------------------------------------------------- SQuAD 2.0
def squad2_examples(articles: list[dict], rng: random.Random, negatives: int = 3) -> list[Example]:
    """Unanswerable questions against up to `negatives` sentences of their paragraph (the plausible answer's first,
    then the one sharing most words with the question, then at random); answerable ones against their answer
    sentence (with its span) and one other sentence of the paragraph."""
    examples: list[Example] = []
    for article in articles:
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            sentences = split_sentences(context)
            if len(sentences) < 2:
                continue
            for qa in paragraph["qas"]:
                question = qa["question"]
                if qa["is_impossible"]:
                    examples += _unanswerable_pairs(question, context, sentences, qa, rng, negatives)
                    continue
                found = answer_pair(question, context, sentences, qa["answers"][0])
                if found is None:
                    continue
                hit, positive = found
                sentence = sentences[hit]
                examples.append(positive)
                golds = {a["text"].lower() for a in qa["answers"]}
                others = [s for s in sentences if s != sentence and not any(g in s.lower() for g in golds)]
                if others:
                    examples.append(Example(ANSWERS, question, rng.choice(others), 0.0))
    return examples


def _unanswerable_pairs(
    question: str, context: str, sentences: list[str], qa: dict, rng: random.Random, negatives: int
) -> list[Example]:
    chosen = []
    for plausible in qa.get("plausible_answers", [])[:1]:
        hit = answer_sentence(context, sentences, plausible)
        if hit is not None:
            chosen.append(sentences[hit])
    rest = [s for s in sentences if s not in chosen]
    closest = _closest(_words(question), rest, rng)
    if closest:
        chosen.append(closest)
    rest = [s for s in rest if s not in chosen]
    chosen += rng.sample(rest, min(len(rest), negatives - len(chosen)))
    return [Example(ANSWERS, question, s, 0.0) for s in chosen[:negatives]]


def split_squad2(path: Path) -> tuple[list[dict], list[dict]]:
    """(training articles, held-out articles) of SQuAD 2.0's dev half."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    train = [a for a in data if a["title"] not in SQUAD2_HELDOUT]
    return train, [a for a in data if a["title"] in SQUAD2_HELDOUT]


# ------------------------------------------------------------------------------------- rewritten SQuAD v1.1 questions
def rewritten_questions(
    paragraphs: list[Paragraph], pool: list[tuple[int, dict]], rng: random.Random, per_question: int = 1
) -> list[Example]:
    """The answer sentence with the original question (positive) and with the question changed by one fact
    (negative). A change whose new words the sentence holds is skipped: the sentence might answer it after all."""
    examples: list[Example] = []
    for i, qa in pool:
        _, context, sentences, qas = paragraphs[i]
        question = qa["question"]
        found = answer_pair(question, context, sentences, qa["answers"][0])
        if found is None:
            continue
        hit, positive = found
        sentence = sentences[hit]
        distractors = [x["answers"][0]["text"] for x in qas if x is not qa]
        rewrites = []
        for _ in range(4 * per_question):
            changed = perturb(question, rng, context, distractors)
            if changed and changed not in rewrites and _changes_what_is_asked(question, changed, sentence):
                rewrites.append(changed)
            if len(rewrites) == per_question:
                break
        if not rewrites:
            continue
        examples.append(positive)
        examples += [Example(ANSWERS, rewrite, sentence, 0.0) for rewrite in rewrites]
    return examples


def _changes_what_is_asked(question: str, changed: str, sentence: str) -> bool:
    added = _words(changed) - _words(question)
    negated = any(w in changed.lower().split() for w in ("not", "never")) != any(
        w in question.lower().split() for w in ("not", "never")
    )
    return negated or bool(added and not added <= _words(sentence))


# ---------------------------------------------------------------------------------------------------------- NLI
def nli_examples(folder: Path, monitor: bool = False) -> list[Example]:
    """`supports` pairs (claim first, premise second, as the runtime reads them) from every NLI source in `folder`;
    the held-out tenth when `monitor`, else the rest."""
    rows = [*_tab_pairs(folder / "mnli-binary"), *_tab_pairs(folder / "fever-binary")]
    rows += [*_fool_me_twice(folder / "fool-me-twice"), *_wice(folder / "wice"), *_falke(folder / "falke")]
    return [
        Example(SUPPORTS, claim, premise, label)
        for claim, premise, label in rows
        if heldout_by_hash(claim, NLI_MONITOR_SHARE) == monitor and len(premise.split()) <= MAX_PREMISE_WORDS
    ]


def _tab_pairs(folder: Path) -> Iterator[tuple[str, str, float]]:
    for name in ("dev.txt", "test.txt"):
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            label, premise, claim = line.split("\t")
            yield claim, premise, float(label == "entailment")


def _jsonl(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as f:
        yield from (json.loads(line) for line in f if line.strip())


def _fool_me_twice(folder: Path) -> Iterator[tuple[str, str, float]]:
    for name in ("dev.jsonl", "test.jsonl"):
        for row in _jsonl(folder / name):
            evidence = " ".join(e["text"] for e in row["gold_evidence"])
            if evidence:
                yield row["text"], evidence, float(row["label"] == "SUPPORTS")


def _wice(folder: Path) -> Iterator[tuple[str, str, float]]:
    """Partly supported counts as not supported: a cited sentence must be backed whole."""
    for name in ("oracle_claim_dev.jsonl", "oracle_claim_test.jsonl"):
        for row in _jsonl(folder / name):
            yield row["claim"], " ".join(row["evidence"]), float(row["label"] == "supported")


def _falke(folder: Path) -> Iterator[tuple[str, str, float]]:
    for row in json.loads((folder / "val_sentence_pairs.json").read_text(encoding="utf-8")):
        yield row["correct_sent"], row["article_sent"], 1.0
        yield row["incorrect_sent"], row["article_sent"], 0.0
