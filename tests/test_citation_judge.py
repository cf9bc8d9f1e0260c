"""The citation judge on the wire: sentences the verifier is unsure of go to the LLM (the real openai client against
the scripted server on loopback) in one batched request, and only its "supported" keeps them.

The sentences were picked by what the verifier scores against the sample page's Hikvision source (asked "why did
Canada ban Hikvision?"): VERIFIED 0.99 (kept without asking), PARAPHRASE 0.52 (true, but under SUPPORTED: the judge
decides), NUMBER and OPPOSITE 0 (the number rule, the opposite-words rule: dropped without asking).
`test_the_sentences_score_where_these_tests_need_them` fails if a new verifier moves them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.answer.chain import AnswerService
from retrieval.answer.citations import CONTRADICTED, SUPPORTED
from retrieval.answer.judge import verdicts
from retrieval.answer.sources import Source
from retrieval.knowledge_base import Services
from tests.conftest import SAMPLE_CORPUS, make_settings
from tests.openai_server import FakeLLM, Step, fake_llm
from tests.test_answers_llm import service

QUESTION = "why did Canada ban Hikvision?"
VERIFIED = "Canada ordered Hikvision to shut down its Canadian operations, citing national security concerns"
PARAPHRASE = "Hikvision's Canadian arm must cease its activities, the government said"
NUMBER = "Stocks fell 40% after the decision"
OPPOSITE = "Hikvision said it strongly agrees with the government's decision"
BACKING = "The Canadian government has ordered Chinese surveillance technology company Hikvision"


def cited(*sentences: str) -> str:
    """A draft citing the Hikvision source for every sentence (the server fills in its number)."""
    return " ".join(f"{s} [{{Hikvision}}]." for s in sentences)


def ask(tmp_path: Path, model_dir: Path, draft: str, judge: Step, **overrides):
    with fake_llm(Step(draft), judge) as llm:
        answer = service(tmp_path, model_dir, llm, **overrides).ask(QUESTION)
    return answer, llm


def judge_request(llm: FakeLLM) -> tuple[str, str]:
    """The judge's (system, human) messages; the first request is the answer's draft."""
    system, human = llm.requests[1]["messages"]
    assert system["role"] == "system" and human["role"] == "user"
    return system["content"], human["content"]


def offline(tmp_path: Path, model_dir: Path) -> tuple[AnswerService, list[Source], Source]:
    """An offline service, the sources it retrieves for QUESTION, and the Hikvision one among them."""
    settings = make_settings(tmp_path / "data", model_dir)
    kb = Services(settings).kb("default")
    kb.ingest([str(SAMPLE_CORPUS)])
    svc = AnswerService(settings, kb)
    sources = svc._chain.prepare.invoke(svc._inputs(QUESTION, None, None))["sources"]
    return svc, sources, next(s for s in sources if "Hikvision" in s.article.title)


def test_the_sentences_score_where_these_tests_need_them(tmp_path, model_dir) -> None:
    svc, _, hikvision = offline(tmp_path, model_dir)
    claims = [VERIFIED, PARAPHRASE, NUMBER, OPPOSITE]
    scores = [p for p, _ in svc._checker.support_scores([(c, hikvision.sentences) for c in claims])]
    assert scores[0] >= SUPPORTED
    assert CONTRADICTED <= scores[1] < SUPPORTED
    assert scores[2] == scores[3] == 0.0


def test_a_paraphrase_the_judge_supports_is_kept_after_one_batched_request(tmp_path, model_dir) -> None:
    answer, llm = ask(tmp_path, model_dir, cited(VERIFIED, PARAPHRASE), Step('{"1": "supported"}'))
    assert answer.grounded and PARAPHRASE + " [1]." in answer.answer and VERIFIED in answer.answer
    assert (answer.judge_kept, answer.judge_dropped, answer.dropped_sentences) == (1, 0, 0)
    assert len(llm.requests) == 2
    system, human = judge_request(llm)
    assert "JSON" in system and PARAPHRASE not in system and BACKING not in system
    assert f'source="1">{PARAPHRASE}.</sentence>' in human and BACKING in human
    assert VERIFIED not in human.split("Sentences to check:")[1]  # confirmed by the verifier: not asked about


def test_a_sentence_the_judge_rejects_is_dropped(tmp_path, model_dir) -> None:
    answer, llm = ask(tmp_path, model_dir, cited(VERIFIED, PARAPHRASE), Step('{"1": "not"}'))
    assert answer.grounded and PARAPHRASE not in answer.answer and VERIFIED in answer.answer
    assert (answer.judge_kept, answer.judge_dropped, answer.dropped_sentences) == (0, 1, 1)
    assert len(llm.requests) == 2


def test_rule_failures_are_dropped_without_asking_the_judge(tmp_path, model_dir) -> None:
    answer, llm = ask(tmp_path, model_dir, cited(NUMBER, PARAPHRASE, OPPOSITE), Step('{"1": "supported"}'))
    assert answer.answer == PARAPHRASE + " [1]."
    assert (answer.judge_kept, answer.dropped_sentences) == (1, 2)
    _, human = judge_request(llm)
    assert "40%" not in human and "strongly agrees" not in human and 'id="2"' not in human


def test_a_judge_that_times_out_drops_the_unsure_sentence_and_the_answer_arrives(tmp_path, model_dir) -> None:
    """Only the judge's own timeout can cut it short here: the answer's timeout and deadline are far longer."""
    late = Step('{"1": "supported"}', delay_s=3.0)
    limits = {"judge_timeout_s": 0.3, "llm_timeout_s": 30.0, "llm_deadline_s": 30.0}
    answer, llm = ask(tmp_path, model_dir, cited(VERIFIED, PARAPHRASE), late, **limits)
    assert answer.grounded and answer.answer == VERIFIED + " [1]."
    assert (answer.judge_kept, answer.judge_dropped) == (0, 1)
    assert 2 <= len(llm.requests) <= 4  # the draft, then the judge's attempts within its one timeout


@pytest.mark.parametrize("reply", ['{"1": "supported"', '{"1": "supported", "2": "supported"}', "Supported."])
def test_a_malformed_judge_reply_drops_the_unsure_sentence(tmp_path, model_dir, reply) -> None:
    answer, llm = ask(tmp_path, model_dir, cited(VERIFIED, PARAPHRASE), Step(reply))
    assert answer.answer == VERIFIED + " [1]." and answer.judge_dropped == 1
    assert len(llm.requests) == 2  # a malformed verdict is not retried: it counts as "not"


def test_offline_the_unsure_sentence_is_dropped_without_a_judge(tmp_path, model_dir) -> None:
    svc, sources, hikvision = offline(tmp_path, model_dir)
    checked = svc._checker.check(cited(VERIFIED, PARAPHRASE).replace("{Hikvision}", str(hikvision.n)), sources)
    assert checked.text == VERIFIED + " [1]." and (checked.judge_kept, checked.judge_dropped) == (0, 0)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('{"1": "supported", "2": "not"}', [True, False]),
        ('```json\n{"1": "Supported", "2": "supported"}\n```', [True, True]),
        ('{"2": "supported"}', [False, True]),  # a missing id is "not"
        ('{"1": "supported", "3": "supported"}', [False, False]),  # an id not asked: nothing is trusted
        ('{"1": true, "2": ["supported"]}', [False, False]),
        ('Sure! {"1": "supported", "2": "supported"}', [False, False]),
        ('["supported", "supported"]', [False, False]),
        ("", [False, False]),
        ("[" * 100_000, [False, False]),
    ],
)
def test_verdicts_count_anything_unclear_as_not(reply: str, expected: list[bool]) -> None:
    assert verdicts(reply, 2) == expected
