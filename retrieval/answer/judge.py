"""The citation judge: the LLM's second opinion on answer sentences the verifier could neither confirm nor reject.

The verifier (retrieval/reader) reads claim and passage almost as bags of words, so it scores some faithful
paraphrases under `SUPPORTED`; without a second opinion those sentences would simply vanish from LLM answers. When
an LLM answers, the sentences it scores between `CONTRADICTED` and `SUPPORTED` go back to that LLM in one batched
call per answer, each with the source it cites, and come back "supported" or "not". Anything else counts as "not":
a reply that is not one JSON object keyed by the ids asked (and no others), a missing id, an LLM error, a timeout.
The judge can only keep a sentence the rules (numbers, negation, opposite words, actors) let through; it never
overrules them.
"""

from __future__ import annotations

import json
import logging
import re

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable

import prompts
from retrieval.answer.llm import LLM_FAILURES, attempt_timeout, reply_text
from retrieval.answer.sources import Source, as_data, format_sources
from retrieval.settings import Settings

log = logging.getLogger(__name__)

SUPPORTED_VERDICT = "supported"
_FENCED = re.compile(r"```(?:json)?\s*(.*?)\s*```", re.DOTALL)  # a model may wrap its JSON in a code block


def verdicts(reply: str, count: int) -> list[bool]:
    """Which of sentences 1..count the reply calls supported. Only a JSON object whose keys are among the ids asked
    counts; an unknown key means the model lost track of the numbering, so then nothing is trusted."""
    text = reply.strip()
    fenced = _FENCED.fullmatch(text)
    try:
        parsed = json.loads(fenced.group(1) if fenced else text)
    except (ValueError, RecursionError):
        return [False] * count
    ids = [str(k) for k in range(1, count + 1)]
    if not isinstance(parsed, dict) or not set(parsed) <= set(ids):
        return [False] * count
    return [isinstance(parsed.get(k), str) and parsed[k].strip().lower() == SUPPORTED_VERDICT for k in ids]


def _sentence_block(k: int, source: Source, sentence: str) -> str:
    return f'<sentence id="{k}" source="{source.n}">{as_data(sentence)}</sentence>'


class CitationJudge:
    """Asks the answering LLM whether each (cited source, sentence) pair is supported; one call for all pairs."""

    def __init__(self, model: BaseChatModel, settings: Settings) -> None:
        # Each attempt gets its share of the judge's time, so the openai client's retries cannot stack past it.
        timeout = attempt_timeout(settings, settings.judge_timeout_s)
        self._chain: Runnable = (
            prompts.load_chat(prompts.JUDGE) | reply_text(model.bind(timeout=timeout))
        ).with_config(run_name="citation_judge")

    def __call__(self, pairs: list[tuple[Source, str]]) -> list[bool]:
        """For each (source, sentence citing it): whether the LLM says the source supports the sentence."""
        if not pairs:
            return []
        cited = list({source.n: source for source, _ in pairs}.values())
        sentences = "\n".join(_sentence_block(k, s, text) for k, (s, text) in enumerate(pairs, start=1))
        try:
            reply = self._chain.invoke({"sources": format_sources(cited), "sentences": sentences})
        except LLM_FAILURES as exc:
            log.warning("citation judge failed, dropping the %d sentence(s) it was asked about: %r", len(pairs), exc)
            return [False] * len(pairs)
        found = verdicts(reply, len(pairs))
        log.info("citation judge: %d of %d supported", sum(found), len(pairs))
        return found
