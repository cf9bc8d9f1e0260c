"""`newsdesk eval` on a small SQuAD-format file: the JSON contract and the budget rule."""

from __future__ import annotations

import json
from pathlib import Path

from retrieval.evaluation import within_budget

SQUAD = {
    "version": "1.1",
    "data": [
        {
            "title": "Harbour_Bridge",
            "paragraphs": [
                {
                    "context": "The harbour bridge opened in 1932. It carries eight "
                    "lanes of traffic and two rail lines across the harbour.",
                    "qas": [
                        {
                            "id": "1",
                            "question": "When did the harbour bridge open?",
                            "answers": [{"text": "1932", "answer_start": 29}],
                        }
                    ],
                }
            ],
        },
        {
            "title": "Rail_Museum",
            "paragraphs": [
                {
                    "context": "The rail museum holds forty steam locomotives. Its "
                    "oldest engine was built in 1851 in Leeds.",
                    "qas": [
                        {
                            "id": "2",
                            "question": "Where was the oldest engine built?",
                            "answers": [{"text": "Leeds", "answer_start": 70}],
                        }
                    ],
                }
            ],
        },
    ],
}


def test_eval_prints_the_contract(run, tmp_path: Path) -> None:
    dataset = tmp_path / "mini.json"
    dataset.write_text(json.dumps(SQUAD))
    report = run("eval", str(dataset), "--json")
    assert set(report) == {
        "questions",
        "recall",
        "mrr",
        "answer_contains",
        "lead_contains",
        "refused",
        "citations_valid",
        "dropped_sentences",
        "query_ms",
        "ask_ms",
    }
    assert report["questions"] == 2 and report["recall"] == {"1": 1.0, "4": 1.0, "10": 1.0}
    assert report["citations_valid"] == 1.0 and set(report["ask_ms"]) == {"p50", "p95"}
    assert report["lead_contains"] <= report["answer_contains"]
    again = run("eval", str(dataset), "--json", "--skip-answers", "--k", "1")
    assert again["recall"] == {"1": 1.0} and again["answer_contains"] is None


def test_budget_cuts_the_passage_that_crosses_it() -> None:
    assert [len(t) for t in within_budget(["x" * 300] * 3, 700)] == [300, 300, 100]
    assert within_budget(["x" * 300] * 3, 300) == ["x" * 300]
