"""Words of opposite meaning beside the verifier: a claim that flips the source's verb is a contradiction."""

from __future__ import annotations

import pytest

from retrieval.answer.citations import CitationChecker
from retrieval.answer.opposites import says_the_opposite
from retrieval.reader.model import get_reader

SENTENCE = "The city council approved the budget on Tuesday, while the mayor criticised its transit cuts."


def _opposite(claim: str, sentence: str = SENTENCE) -> bool:
    return says_the_opposite(claim, sentence, sentence)


@pytest.mark.parametrize(
    "claim",
    [
        "The city council rejected the budget on Tuesday.",
        "The mayor praised the budget's transit cuts.",
        "The council disapproved of the budget.",  # a prefixed opposite
    ],
)
def test_a_flipped_verb_is_an_opposite(claim: str) -> None:
    assert _opposite(claim)


@pytest.mark.parametrize(
    "claim, sentence",
    [
        ("The council approved the budget.", SENTENCE),
        ("He was convicted of fraud.", "A jury found him guilty of fraud in May."),  # one family, two words
        ("The firm bought a rival and sold its old plant.", "The firm bought a rival and sold its old plant."),
        ("Sales rose last year.", "Sales rose last year even as costs fell."),  # the opposite is said of another thing
    ],
)
def test_the_same_sense_is_not_an_opposite(claim: str, sentence: str) -> None:
    assert not _opposite(claim, sentence)


def test_the_checker_scores_a_reversed_claim_zero(model_dir) -> None:
    """Through the whole check: the verifier alone gives the reversed claim 0.6, the rule takes it to 0."""
    checker = CitationChecker(get_reader(model_dir))
    sentences = ["Shares of the carmaker rose 4 percent on Thursday after it lifted its forecast.", "Analysts cheered."]
    faithful, reversed_ = checker.support_scores(
        [(f"Shares of the carmaker {verb} 4 percent on Thursday.", sentences) for verb in ("rose", "fell")]
    )
    assert faithful[0] >= 0.9 and reversed_[0] == 0.0
