"""Time to the first checked sentence: how long a member waits before an LLM answer starts to appear in Discord,
next to how long the whole checked answer takes. Run in its own process from the repository root, because the
scripted OpenAI-compatible server lives with the tests: `python -m bench.streaming DATA MODEL`.

The scripted model streams a four-sentence answer word by word at TOKENS_PER_S (a hosted small model's pace), one
sentence of which the check drops. Prints one JSON line: medians over RUNS questions, in seconds.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

from retrieval.answer import chat_model_for
from retrieval.answer.chain import AnswerService, Partial
from retrieval.knowledge_base import Services
from retrieval.settings import Settings
from retrieval.types import Answer
from tests.openai_server import Step, fake_llm

ROOT = Path(__file__).resolve().parents[1]
TOKENS_PER_S = 40
TOKENS_PER_WORD = 1.3  # English prose in a GPT-style tokenizer
RUNS = 3
QUESTION = "why did Canada ban Hikvision?"
REPLY = " ".join(
    f"{sentence} [{{Hikvision}}]."
    for sentence in (
        "Canada ordered Hikvision to shut down its Canadian operations over national security",
        "The Halifax ferry service was shut down by the same order",  # unsupported: the check drops it
        "Hikvision said it strongly disagrees with the government's decision",
        "Major retailers such as Best Buy and Home Depot stopped selling Hikvision products as early as 2021",
    )
)


async def _timed_answer(service: AnswerService) -> tuple[float, float]:
    """(seconds to the first checked sentence, seconds to the finished answer)."""
    start = time.perf_counter()
    first = None
    async for event in service.astream(QUESTION):
        if isinstance(event, Partial) and first is None:
            first = time.perf_counter() - start
        elif isinstance(event, Answer):
            total = time.perf_counter() - start
    return (first if first is not None else total), total


async def _measure(service: AnswerService) -> list[tuple[float, float]]:
    await _timed_answer(service)  # warm-up: models loaded, BM25 index built
    return [await _timed_answer(service) for _ in range(RUNS)]


def main() -> None:
    data_dir, model_dir = sys.argv[1:3]
    delay = TOKENS_PER_WORD / TOKENS_PER_S
    with fake_llm(Step(REPLY, chunk_delay_s=delay)) as llm:
        settings = Settings(
            _env_file=None,
            data_dir=Path(data_dir),
            model_dir=Path(model_dir),
            openai_base_url=llm.base_url,
            openai_api_key="bench",
            model="scripted",
            llm_fallback="error",
        )
        services = Services(settings)
        kb = services.kb("bench-streaming")
        kb.ingest([str(ROOT / "examples" / "corpus")])
        service = AnswerService(settings, kb, chat_model_for(settings))
        runs = asyncio.run(_measure(service))
        services.close()
    first, total = (statistics.median(r[i] for r in runs) for i in (0, 1))
    print(
        json.dumps(
            {
                "tokens_per_s": TOKENS_PER_S,
                "llm_writing_s": round(len(REPLY.split()) * delay, 2),
                "first_checked_sentence_s": round(first, 2),
                "full_answer_s": round(total, 2),
                "runs": [[round(f, 2), round(t, 2)] for f, t in runs],
            }
        )
    )


if __name__ == "__main__":
    main()
