"""Titles as people type them (retrieval/matching.py) and the grouping behind `/kb insights` (retrieval/insights.py)."""

from __future__ import annotations

import pytest

from retrieval.errors import NotFoundError
from retrieval.insights import insights
from retrieval.matching import Candidate, closest, resolve

TITLES = [
    Candidate(
        "a1b2c3d4e5f60718", "Canada kicks out Chinese surveillance giant Hikvision over national security threat"
    ),
    Candidate("b2c3d4e5f6071829", "Buyer found for TikTok, identities to be revealed soon, says Donald Trump"),
    Candidate("c3d4e5f607182930", "Kisses, Praise, Power And Nothing In Return: Inside Trump's Ego Diplomacy"),
    Candidate("d4e5f60718293041", "Ferry timetable changes"),
]


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("d4e5f60718293041", "d4e5f60718293041"),  # an id
        ("b2c3d4", "b2c3d4e5f6071829"),  # a unique id prefix of 6+
        ("  FERRY   timetable changes ", "d4e5f60718293041"),  # the exact title, any case and spacing
        ("ferry timetable chnages", "d4e5f60718293041"),  # a typo
        ("canada kicks out chinese surveilance giant hikvision", "a1b2c3d4e5f60718"),  # part of it, misspelt
        ("Ego Diplomacy", "c3d4e5f607182930"),  # the one title holding these words
    ],
)
def test_an_id_an_exact_title_or_a_close_one_names_one_article(typed: str, key: str) -> None:
    assert resolve(typed, TITLES).key == key


def test_no_match_names_the_closest_titles_and_several_matches_ask_to_pick() -> None:
    with pytest.raises(NotFoundError) as vague:
        resolve("Hikvision shut down in Canada", TITLES)
    assert str(vague.value).startswith("No article matches “Hikvision shut down in Canada”; the closest: “Canada kicks")
    with pytest.raises(NotFoundError) as several:
        resolve("trump", TITLES)
    assert "Several articles match “trump”" in str(several.value) and "pick one" in str(several.value)
    with pytest.raises(NotFoundError) as nothing:
        resolve("quark confinement", TITLES)
    assert str(nothing.value) == "No article matches “quark confinement”."


def test_autocomplete_offers_titles_containing_the_text_then_close_ones() -> None:
    assert [c.key for c in closest("", TITLES, 2)] == ["a1b2c3d4e5f60718", "b2c3d4e5f6071829"]
    assert closest("fery timetable", TITLES)[0].name == "Ferry timetable changes"
    assert [c.name for c in closest("trump", TITLES)][:2] == [TITLES[1].name, TITLES[2].name]


def test_insights_count_one_question_in_many_wordings_and_group_gaps_by_topic() -> None:
    asked = [
        ("why did Canada ban Hikvision?", True),
        ("Why did canada ban Hikvision", True),
        ("What did lattice QCD results show about quark confinement?", False),
        ("quark confinement in lattice results", False),
        ("who won the ferry race", False),
    ]
    found = insights(asked, helpful=3, not_helpful=1)
    assert (found.asked, found.unanswered, found.helpful_rate) == (5, 3, 0.75)
    assert (found.top[0].shown, len(found.top[0].questions)) == ("why did Canada ban Hikvision?", 2)
    assert [len(g.questions) for g in found.gaps] == [2, 1]
    assert set(found.gaps[0].topic.split()) <= {"quark", "confinement", "lattice", "results"}
    assert insights([], 0, 0).helpful_rate is None
