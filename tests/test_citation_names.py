"""The actor rule beside the verifier: a claim must not trade the places of the actors of the sentence it restates."""

from __future__ import annotations

import pytest

from retrieval.answer.names import actors_swapped

SOURCE = "The Canadian government has ordered Chinese surveillance company Hikvision to shut down its operations."


@pytest.mark.parametrize(
    ("claim", "swapped"),
    [
        ("Hikvision ordered the Canadian government to shut down its operations.", True),
        ("Canada ordered Hikvision to shut down its operations.", False),  # Canada is the Canadian government
        ("Hikvision was ordered by the Canadian government to shut down.", False),  # passive: roles kept
        ("The government ordered Hikvision to shut down.", False),  # no name as subject: nothing to compare
    ],
)
def test_swapped_actors(claim: str, swapped: bool) -> None:
    assert actors_swapped(claim, SOURCE) is swapped


def test_a_quote_attributed_after_its_verb_is_not_a_swap() -> None:
    assert not actors_swapped("Joly said the review was thorough.", "'The review was thorough,' said Joly.")
