"""The name rules beside the verifier: names must be in the cited window, and actors must not trade places."""

from __future__ import annotations

import pytest

from retrieval.answer.names import actors_swapped, claim_names, names_grounded

WINDOW = (
    "The US, UK, and Australia have previously placed sanctions on the company. Major retailers such as Best Buy "
    "and Home Depot stopped selling Hikvision products as early as 2021."
)


def test_claim_names_skip_titles_openers_and_months() -> None:
    names, first = claim_names("After talks, Prime Minister Mark Carney's office met Trump in June.")
    assert names == {"mark", "carney", "trump"} and first == set()
    assert claim_names("Walmart stopped selling cameras.") == (set(), {"walmart"})


@pytest.mark.parametrize(
    "claim",
    [
        "The United States, Britain and Australia had sanctioned Hikvision.",  # long form and another name for UK
        "Best Buy stopped selling Hikvision products in 2021.",
        "American and British authorities had sanctioned the company.",  # peoples for their countries
    ],
)
def test_names_said_another_way_are_grounded(claim: str) -> None:
    assert names_grounded(claim, WINDOW, WINDOW)


@pytest.mark.parametrize(
    "claim",
    [
        "Walmart stopped selling Hikvision products in 2021.",  # a name the passage never mentions
        "The US, Japan and Australia had sanctioned the company.",
        "French retailers stopped selling Hikvision products.",
    ],
)
def test_a_name_missing_from_the_window_is_not_grounded(claim: str) -> None:
    assert not names_grounded(claim, WINDOW, WINDOW)


def test_a_capitalised_opener_needs_only_the_passage() -> None:
    passage = "Advances in internal combustion engines replaced steam engines."
    assert names_grounded("Internal combustion engines replaced steam engines.", passage, passage)


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
