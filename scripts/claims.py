"""Rule-based claims for training and testing the verifier (the FactCC recipe, Kryściński et al., 2020).

A supported claim is a source sentence, a clause of it, a light rewording, or a SQuAD question turned into a statement
with its answer ("Who won X?" + "Denver" -> "Denver won X"), which is a human paraphrase. An unsupported claim is the
same sentence with one fact changed: a number, a year, a month, a named entity, two actors swapped, a negation added
or removed, or a word replaced by its opposite. Used by scripts/train_reader.py (SQuAD train) and by
scripts/build_claims.py (SQuAD dev, the evaluation set); the runtime never calls these.
"""

from __future__ import annotations

import random
import re

from retrieval.names import DEMONYMS

_ANTONYMS = {
    "increased": "decreased", "rose": "fell", "won": "lost", "agreed": "disagreed", "supported": "opposed",
    "accepted": "rejected", "welcomed": "condemned", "approved": "blocked", "allowed": "banned", "before": "after",
    "more": "fewer", "larger": "smaller", "higher": "lower", "first": "last", "largest": "smallest", "began": "ended",
    "opened": "closed", "north": "south", "east": "west", "early": "late", "strong": "weak", "legal": "illegal",
    "success": "failure", "gained": "lost", "joined": "left", "bought": "sold", "raised": "cut", "maximum": "minimum",
    "agrees": "disagrees", "agree": "disagree", "supports": "opposes", "support": "oppose", "accepts": "rejects",
    "welcomes": "condemns", "allows": "bans", "increases": "decreases", "rises": "falls", "wins": "loses",
    "confirmed": "denied", "praised": "criticized", "lifted": "imposed", "included": "excluded", "ally": "rival",
    "permitted": "prohibited", "majority": "minority", "private": "public", "domestic": "foreign", "inside": "outside",
    "always": "never", "arrived": "departed", "guilty": "innocent", "profit": "loss", "ancient": "modern",
    "stopped": "began", "ceased": "started", "denies": "confirms", "lowered": "raised",
}  # fmt: skip
_ANTONYMS |= {v: k for k, v in list(_ANTONYMS.items())}
_SYNONYMS = {
    "said": "stated", "began": "started", "about": "around", "large": "big", "purchased": "bought", "help": "assist",
    "also": "additionally", "however": "but", "because": "since", "many": "numerous", "often": "frequently",
    "built": "constructed", "used": "employed", "received": "got", "announced": "declared", "called": "named",
}  # fmt: skip
_AUX = re.compile(r"\b(is|was|are|were|has|have|had|can|could|will|would|should|did|does|do)\b(?! not\b)")
_NEGATED = re.compile(r"\b(is|was|are|were|has|have|had|can|could|will|would|should|did|does|do) not\b")
_NUMBER = re.compile(r"\b\d+(?:[.,]\d+)*\b")
_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_MONTH = re.compile(r"\b(" + "|".join(_MONTHS) + r")\b")
_ENTITY = re.compile(r"(?<!^)(?<![.!?] )\b[A-Z][a-zA-Z]+(?: (?:of |the |de )?[A-Z][a-zA-Z]+)*")
_IRREGULAR = "won|led|made|became|took|wrote|built|gave|sent|began|held|found|left|lost|sold|bought|brought|ran|chose"
_PAST = re.compile(r"(?<=[a-z] )(?:[a-z]+ed|" + _IRREGULAR + r")\b(?= [a-z])")
# "Who founded ...", "Which NFL team won ...": a wh-phrase followed by a past-tense verb; other shapes are skipped.
_WH = re.compile(r"^(who|what|which(?: \w+){1,3}?)\s+(?=(?:\w+ed|" + _IRREGULAR + r")\b)", re.I)


def question_claim(question: str, answer: str) -> str | None:
    """'Who founded the city?' + 'Romans' -> 'Romans founded the city.'; None when the question has no simple shape."""
    match = _WH.match(question.strip())
    if not match or len(question.split()) < 4:
        return None
    rest = question.strip()[match.end() :].strip().rstrip("?").strip()
    return f"{answer[0].upper()}{answer[1:]} {rest}."


# Ways news prose names the same thing: a claim that switches between them is still supported. Without these, a
# verifier trained on rule-made negatives learns that any name missing from the text means "unsupported", and rejects
# "Canada ordered ..." cited to "The Canadian government has ordered ...".
_SAME_NAMES = [
    ("United States", "US"), ("United States", "U.S."), ("United Kingdom", "UK"), ("United Kingdom", "Britain"),
    ("European Union", "EU"), ("United Nations", "UN"), ("Soviet Union", "USSR"),
]  # fmt: skip
_GOVERNMENT = re.compile(r"\b[Tt]he (" + "|".join(DEMONYMS) + r") (?:government|authorities)\b")
_PERFECT = re.compile(r"\b(?:has|have) (\w+ed)\b")
# "Chinese surveillance technology company Hikvision" -> "Hikvision": a descriptor in front of a name.
_DESCRIPTOR = re.compile(
    r"(?:\b(?:the|a|an) (?:(?:" + "|".join(DEMONYMS) + r") )?|\b(?:" + "|".join(DEMONYMS) + r") )"
    r"(?:[a-z-]+ ){0,2}(?:company|firm|giant|maker|group|agency|official|spokesperson|spokesman|spokeswoman|"
    r"leader|star|singer|player|actor) (?=[A-Z][a-z])"
)


def reworded(sentence: str, rng: random.Random) -> str | None:
    """The sentence said the way a summary would: a country for its government, an acronym for a name (or the
    reverse), the simple past for the present perfect, without the descriptor in front of a name. None when no rule
    applies."""
    text = _GOVERNMENT.sub(lambda m: DEMONYMS[m.group(1)], sentence)
    text = _PERFECT.sub(r"\1", text)
    if rng.random() < 0.7:
        text = _DESCRIPTOR.sub("", text, count=1)
    for long, short in _SAME_NAMES:
        if long in text:
            text = text.replace(long, short)
        elif re.search(rf"\b{re.escape(short)}(?!\w)", text) and rng.random() < 0.5:
            text = re.sub(rf"\b{re.escape(short)}(?!\w)", long, text)
    text = text[0].upper() + text[1:] if text else text
    return text if text != sentence else None


def positive_variants(sentence: str, rng: random.Random) -> list[str]:
    """Claims the sentence supports: itself, a long clause, without brackets, with a synonym or two, reworded."""
    variants = [sentence]
    summary = reworded(sentence, rng)
    if summary:
        variants += [summary, summary]  # twice: the rarer, more useful kind of positive
    clauses = [c.strip() for c in re.split(r",|;| and | but ", sentence) if len(c.split()) >= 6]
    if len(clauses) > 1:
        clause = rng.choice(clauses).rstrip(".")
        variants.append(clause[0].upper() + clause[1:] + ".")
    plain = re.sub(r"\s*\([^)]*\)", "", sentence)
    if plain != sentence:
        variants.append(plain)
    words = sentence.split()
    swapped = [_SYNONYMS.get(w, w) for w in words]
    if swapped != words:
        variants.append(" ".join(swapped))
    return variants


def _replace_one(pattern: re.Pattern[str], text: str, rng: random.Random, replace) -> str | None:
    matches = list(pattern.finditer(text))
    if not matches:
        return None
    m = rng.choice(matches)
    new = replace(m.group(0))
    if new is None or new == m.group(0):
        return None
    return text[: m.start()] + new + text[m.end() :]


def _other_number(value: str, rng: random.Random) -> str:
    digits = value.replace(",", "")
    if _YEAR.fullmatch(value):
        return str(int(value) + rng.choice([-10, -5, -3, -2, -1, 1, 2, 3, 5, 10]))
    try:
        number = float(digits)
    except ValueError:
        return value
    factor = rng.choice([0.5, 2, 3, 1.5, 0.25, 10])
    changed = number * factor if number else rng.randint(1, 9)
    text = f"{changed:.0f}" if "." not in digits else f"{changed:.1f}"
    return f"{int(text):,}" if "," in value and text.isdigit() else text


def perturb(sentence: str, rng: random.Random, context: str, distractors: list[str]) -> str | None:
    """One changed fact: the result contradicts or is not backed by `context`. None when no rule applies."""
    entities_here = [m.group(0) for m in _ENTITY.finditer(sentence)]
    others = [m.group(0) for m in _ENTITY.finditer(context) if m.group(0) not in sentence]
    others += [d for d in distractors if d and d[0].isupper() and d not in sentence]

    def swap_entity() -> str | None:
        if not others:
            return None
        return _replace_one(_ENTITY, sentence, rng, lambda _: rng.choice(others))

    def swap_actors() -> str | None:
        distinct = list(dict.fromkeys(entities_here))
        if len(distinct) < 2:
            return None
        a, b = rng.sample(distinct, 2)
        return sentence.replace(a, "\0").replace(b, a).replace("\0", b)

    def negate() -> str | None:
        if _NEGATED.search(sentence):
            return _NEGATED.sub(lambda m: m.group(1), sentence, count=1)
        if _AUX.search(sentence) and rng.random() < 0.6:
            return _AUX.sub(lambda m: m.group(1) + " not", sentence, count=1)
        # "Canada banned Hikvision" -> "Canada never banned Hikvision": a past-tense verb with no auxiliary.
        return _replace_one(_PAST, sentence, rng, lambda verb: f"never {verb}")

    def antonym() -> str | None:
        words = sentence.split(" ")
        spots = [i for i, w in enumerate(words) if w.lower().strip(",.") in _ANTONYMS]
        if not spots:
            return None
        i = rng.choice(spots)
        bare = words[i].strip(",.")
        opposite = _ANTONYMS[bare.lower()]
        words[i] = words[i].replace(bare, opposite.capitalize() if bare[0].isupper() else opposite)
        return " ".join(words)

    rules = [
        lambda: _replace_one(_NUMBER, sentence, rng, lambda v: _other_number(v, rng)),
        lambda: _replace_one(_MONTH, sentence, rng, lambda m: rng.choice([x for x in _MONTHS if x != m])),
        swap_entity,
        swap_actors,
        negate,
        antonym,
    ]
    rng.shuffle(rules)
    for rule in rules:
        changed = rule()
        if changed and changed != sentence:
            return changed
    return None
