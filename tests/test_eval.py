"""`newsdesk eval` on a small SQuAD-format file and a small made-up news file: the JSON contracts, the budget rule
and the news yardstick's slices."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from bench.report import markdown
from retrieval.evaluation import within_budget
from retrieval.news_yardstick import REPORTED, TUNING, load_news

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


# --- the news yardstick: a made-up RealTime QA file, one question in each fixed slice -------------------------------


def _news_article(url: str, title: str, text: str, has_answer: object) -> dict:
    return {"url": url, "title": title, "published": "2023/01/10", "text": text, "has_answer": has_answer}


LANTERNS = _news_article(
    "https://www.harbourtimes.example/2023/01/lanterns",
    "Lantern festival moves to Brightwater",
    "The winter lantern festival will be held in Brightwater this year, its organisers said on Tuesday. "
    "More than four thousand paper lanterns are expected on the river.",
    "True",
)
FERRY = _news_article(
    "https://news.example.org/ferry-timetable",
    "Ferry timetable changes",
    "The island ferry will run every forty minutes from March, the port authority announced. "
    "Tickets bought before the change remain valid.",
    False,
)
ORCHARD = _news_article(
    "https://www.valleypost.example/orchard",
    "Orchard harvest breaks record",
    "Apple growers in the northern valley picked a record crop this autumn, thanks to a mild spring. "
    "The growers' cooperative sold most of it to local cider makers.",
    True,
)
NEWS_ROWS = [
    {
        "id": "1",
        "date": "2023/01/12",
        "question": "Which town will host the winter lantern festival?",
        "choices": ["Brightwater", "Eastfield", "Oldport", "Marsh End"],
        "answer": "Brightwater",
        "articles": [LANTERNS, FERRY],
    },
    {  # nothing answers it: counted in the slice's weeks, not measured
        "id": "2",
        "date": "2023-01-13",
        "question": "How often will the island ferry run?",
        "choices": ["Hourly", "Every forty minutes", "Twice a day", "Daily"],
        "answer": "Every twenty minutes",
        "articles": [FERRY],
    },
    {
        "id": "3",
        "date": "2026-04-09",
        "question": "Who bought most of the record apple crop?",
        "choices": ["Cider makers", "Supermarkets", "Bakers", "Exporters"],
        "answer": "cider makers",
        "articles": [ORCHARD],
    },
]


@pytest.fixture
def news_file(tmp_path: Path) -> Path:
    path = tmp_path / "quiz-news.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.writelines(json.dumps(row) + "\n" for row in NEWS_ROWS)
    return path


def test_each_slice_holds_its_own_weeks(news_file: Path) -> None:
    tuning = load_news(news_file, "tuning")
    assert tuning.quiz_questions == 2 and len(tuning.articles) == 2  # the ferry story twice, kept once
    assert [q.question for q in tuning.questions] == ["Which town will host the winter lantern festival?"]
    lanterns = next(a for a in tuning.articles if a.title.startswith("Lantern"))
    assert tuning.questions[0].gold_article_ids == (lanterns.id,)
    assert (lanterns.outlet, lanterns.published) == ("harbourtimes.example", "2023-01-10")
    reported = load_news(news_file, "reported")
    assert [a.outlet for a in reported.articles] == ["valleypost.example"]
    assert reported.questions[0].answers == ("cider makers",)
    assert TUNING.last < REPORTED.first


def test_news_eval_asks_with_and_without_the_gold_article(run, news_file: Path) -> None:
    report = run("eval", str(news_file), "--slice", "tuning", "--json")
    assert (report["slice"], report["quiz_questions"], report["questions"]) == ("tuning", 2, 1)
    assert report["articles"] == 2 and report["passages"] >= 2
    assert report["recall"] == {"1": 1.0, "4": 1.0}
    assert report["answer_contains"] == 1.0 and report["false_refusals"] == 0.0
    # With the lantern story excluded, only the ferry story is left: the answer must be a refusal.
    assert report["refused_without_gold"] == 1.0 and report["answered_without_gold"] == 0.0
    assert set(report["ask_ms"]) == {"p50", "p95"}
    reported = run("eval", str(news_file), "--json", "--skip-answers")  # the reported slice is the default
    assert reported["slice"] == "reported" and reported["answer_contains"] is None


def test_news_eval_bad_input_is_one_sentence(run, news_file: Path, tmp_path: Path) -> None:
    assert "is one of tuning, reported" in run("eval", str(news_file), "--slice", "spring", "--json", code=2)["error"]
    not_gzip = tmp_path / "plain.jsonl.gz"
    not_gzip.write_text("{}")
    assert "not a gzip file" in run("eval", str(not_gzip), "--json", code=2)["error"]
    no_text = tmp_path / "no-text.jsonl.gz"
    no_text.write_bytes(
        gzip.compress(json.dumps({**NEWS_ROWS[0], "articles": [{"url": "https://a.example"}]}).encode())
    )
    assert f"{no_text}:1 needs" in run("eval", str(no_text), "--json", code=2)["error"]
    squad = tmp_path / "mini.json"
    squad.write_text(json.dumps(SQUAD))
    assert "--slice applies" in run("eval", str(squad), "--slice", "tuning", "--json", code=2)["error"]


def test_benchmarks_report_renders_the_news_runs() -> None:
    run = {
        "slice": "reported",
        "dates": "2026-03-01..2026-05-31",
        "quiz_questions": 167,
        "answerable": 103,
        "questions": 103,
        "articles": 842,
        "passages": 6000,
        "recall": {"1": 0.81, "4": 0.9},
        "query_ms": {"p50": 500.0, "p95": 700.0},
        "answer_contains": 0.5,
        "false_refusals": 0.2,
        "refused_without_gold": 0.7,
        "answered_without_gold": 0.1,
        "ask_ms": {"p50": 60.0, "p95": 200.0},
    }
    results = {"date": "2026-12-04", "machine": {"platform": "x", "cpus": 2, "python": "3.11", "packages": {}}}
    text = markdown({**results, "cold_start": {"ask_cold_start_s": 3.0}}, {"reported": run})
    assert "## News yardstick (RealTime QA 2023-2026)" in text
    assert "| recall@1 | >= 0.8 | 0.81 (met) |" in text and "| false refusals | <= 0.05 | 0.2 (not met) |" in text
    assert "News yardstick" not in markdown({**results, "cold_start": {"ask_cold_start_s": 3.0}})
