"""Which ask-channel messages read as questions (retrieval/questions.py), measured on a labelled set."""

from __future__ import annotations

import json

import pytest

from retrieval.questions import reads_as_question
from tests.conftest import ROOT

LABELLED = ROOT / "tests" / "fixtures" / "ask_channel_messages.jsonl"


@pytest.mark.parametrize("chat", ["lol", "good morning everyone!", "thanks!", "how are you?", "👍", "what a day!"])
def test_chit_chat_is_not_a_question(chat: str) -> None:
    assert not reads_as_question(chat)


@pytest.mark.parametrize(
    "question",
    [
        "why did Canada ban Hikvision?",
        "why did canada ban hikvision",  # no question mark
        "did Canada ban Hikvision",
        "tell me about the TikTok sale",
        "Hikvision?",
        "good morning everyone! quick question: who owns TikTok now",
        "<@900000000000000002> what did the minister say",
    ],
)
def test_questions_with_and_without_a_question_mark(question: str) -> None:
    assert reads_as_question(question)


def test_precision_and_recall_on_the_labelled_set() -> None:
    """The set was written together with the rules (see retrieval/questions.py), hard cases included on purpose:
    it pins what the rules do, not how well they would fare on a real server. Figures in docs/ARCHITECTURE.md."""
    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 60 and sum(r["question"] for r in rows) >= 30
    predicted = [(reads_as_question(r["text"]), r["question"]) for r in rows]
    true_positive = sum(p and t for p, t in predicted)
    precision = true_positive / sum(p for p, _ in predicted)
    recall = true_positive / sum(t for _, t in predicted)
    assert (round(precision, 2), round(recall, 2)) == (0.93, 0.93)
