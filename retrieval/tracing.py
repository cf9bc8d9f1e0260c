"""LangSmith tracing from `Settings`: the LANGSMITH_* values handed to LangChain explicitly.

pydantic-settings reads `.env` into `Settings` without exporting anything, so LangChain (which looks at the process
environment) would never see them. Rather than write them into `os.environ`, the CLI and the bot enter
`langsmith_tracing(settings)` once at start-up: a LangSmith tracing context with its own client, which LangChain's
callback manager picks up for every chain run in this context (asyncio tasks and worker threads copy it).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from retrieval.settings import Settings

log = logging.getLogger(__name__)
FLUSH_TIMEOUT_S = 10.0  # at exit, how long queued traces may take to send before they are given up


@contextmanager
def langsmith_tracing(settings: Settings) -> Iterator[None]:
    """Trace every chain run inside the block to LangSmith when LANGSMITH_TRACING is on; a no-op otherwise.

    On the way out, runs still queued are sent, so a short CLI command loses none of its trace.
    """
    if not settings.langsmith_tracing:
        yield
        return
    from langsmith import Client  # only when tracing: langsmith costs start-up time
    from langsmith.run_helpers import tracing_context

    key = settings.langsmith_api_key
    client = Client(api_url=settings.langsmith_endpoint, api_key=key.get_secret_value() if key else None)
    try:
        with tracing_context(enabled=True, client=client, project_name=settings.langsmith_project):
            yield
    finally:
        try:
            client.flush(timeout=FLUSH_TIMEOUT_S)
        except Exception as exc:  # tracing is an aid: an unreachable LangSmith never fails the command
            log.warning("could not send the last traces to LangSmith: %s", exc)
