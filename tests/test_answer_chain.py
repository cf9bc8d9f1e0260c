"""The answer chain's contract: failures of the LLM fall back, bugs propagate, every step is named in a trace, and
article text never shares a message with the instructions (the real openai client against the scripted server)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler

import prompts
from retrieval.answer import chat_model_for
from retrieval.answer.summaries import SummaryService
from tests.openai_server import Step, fake_llm
from tests.test_answers_llm import service

QUESTION = "why did Canada ban Hikvision?"
REPLY = "Canada ordered Hikvision to shut down its Canadian operations [{Hikvision}]."
ARTICLE_WORDS = "injurious to Canada's national security"  # a phrase of the sample article


class RunNames(BaseCallbackHandler):
    """Collects the name of every chain run a trace would show."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def on_chain_start(self, serialized: dict[str, Any] | None, inputs: Any, **kwargs: Any) -> None:
        self.names.append(kwargs.get("name") or "")


def test_a_bug_in_retrieval_or_checking_propagates_instead_of_an_offline_answer(tmp_path, model_dir, monkeypatch):
    with fake_llm(Step(REPLY)) as llm:
        svc = service(tmp_path, model_dir, llm, llm_fallback="offline")

        def broken(*args: object, **kwargs: object) -> None:
            raise ValueError("a bug")

        with monkeypatch.context() as patch:
            patch.setattr(svc._kb, "search", broken)
            with pytest.raises(ValueError, match="a bug"):
                svc.ask(QUESTION)
        with monkeypatch.context() as patch:
            patch.setattr(svc._checker, "support_scores", broken)
            with pytest.raises(ValueError, match="a bug"):
                svc.ask(QUESTION)
        assert svc.ask(QUESTION).mode == "llm"  # unpatched, the same service answers with the LLM


async def test_a_bug_in_checking_propagates_from_the_stream_too(tmp_path, model_dir, monkeypatch):
    with fake_llm(Step(REPLY)) as llm:
        svc = service(tmp_path, model_dir, llm, llm_fallback="offline")
        monkeypatch.setattr(svc._checker, "support_scores", lambda pairs: {}["missing"])
        with pytest.raises(KeyError):
            [event async for event in svc.astream(QUESTION)]


def test_an_llm_transport_error_falls_back_offline_with_a_notice(tmp_path, model_dir):
    with fake_llm(Step(status=503)) as llm:
        answer = service(tmp_path, model_dir, llm, llm_fallback="offline").ask(QUESTION)
    assert answer.mode == "extractive" and answer.grounded and "offline" in (answer.notice or "")


def test_every_step_of_ask_summary_and_claim_check_is_named_in_a_trace(tmp_path, model_dir):
    with fake_llm(Step(REPLY)) as llm:
        svc = service(tmp_path, model_dir, llm, llm_fallback="offline")
        summaries = SummaryService(svc._settings, svc._kb, chat_model_for(svc._settings))
        traces = {}
        for task, run in {
            "ask": lambda config: svc.ask(QUESTION, config=config),
            "summary": lambda config: summaries.topic("Hikvision in Canada", config=config),
            "check": lambda config: svc.check_claim("Canada ordered Hikvision to shut down", config=config),
        }.items():
            handler = RunNames()
            run({"callbacks": [handler]})
            traces[task] = handler.names
    for names in traces.values():
        assert names[0] == "newsdesk" and {"prepare", "retrieve", "select_sources"} <= set(names)
    assert {"condense_question", "answer", "write", "write_llm", "verify_sentences"} <= set(traces["ask"])
    assert {"write", "write_llm", "map_sources", "verify_sentences"} <= set(traces["summary"])
    assert "check_claim" in traces["check"] and "write" not in traces["check"]


def test_article_text_is_only_in_the_human_message(tmp_path, model_dir):
    with fake_llm(Step(REPLY)) as llm:
        svc = service(tmp_path, model_dir, llm)
        svc.ask(QUESTION)
        SummaryService(svc._settings, svc._kb, chat_model_for(svc._settings)).topic("Hikvision in Canada")
    for request in llm.requests:
        system, human = request["messages"]
        assert (system["role"], human["role"]) == ("system", "user")
        assert ARTICLE_WORDS not in system["content"] and ARTICLE_WORDS in human["content"]
        assert "ignore any" in system["content"]


def test_the_prompt_templates_keep_data_out_of_the_system_message():
    for name in (prompts.ANSWER, prompts.SUMMARY, prompts.MAP, prompts.CONDENSE, prompts.JUDGE):
        system, human = prompts.load_chat(name).messages
        assert not system.prompt.input_variables, name  # nothing filled in: only our own words
        assert human.prompt.input_variables, name
