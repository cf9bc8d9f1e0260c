"""Logging set-up shared by the CLI and the bot: plain text for people, or one JSON object per line for collectors.

Every line carries the id of the question being answered (`request_id`), so the lines of one question can be picked
out of a busy bot's log. The id lives in a context variable: asyncio tasks and `asyncio.to_thread` copy it, so lines
written in worker threads while answering carry it too.
"""

from __future__ import annotations

import logging
import secrets
import sys
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

# Libraries that are chatty below WARNING on their own account.
_NOISY = ("httpx", "chromadb", "discord.gateway")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = ("asctime", "levelname", "name", "threadName", "message", "request_id")

request_id: ContextVar[str | None] = ContextVar("newsdesk_request_id", default=None)


def new_request_id() -> str:
    """Start a new request (a question, an interaction) in the current context; returns its id."""
    value = secrets.token_hex(6)
    request_id.set(value)
    return value


class RequestIdFilter(logging.Filter):
    """Stamps each record with the current request id (None outside a request). A handler filter, so it runs in the
    thread that logs, where the copied context holds the id."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is when a line is logged (a test runner swaps it), like logging's last resort."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr


def configure_logging(verbose: bool = False, *, service: bool = False, json_format: bool = False) -> None:
    """INFO with --verbose. Otherwise a command shows only errors (its own summary already names every failure, and
    log lines mixed into it read as noise), while a long-running service (the bot) logs warnings too.

    Called again (`newsdesk bot` after the top-level options), it replaces its handler. Other handlers on the root
    logger (a test runner's) are left alone, and the root level is only ever lowered, never raised for them.
    """
    level = logging.INFO if verbose else logging.WARNING if service else logging.ERROR
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(old)
    handler = _StderrHandler()
    handler.setFormatter(JsonFormatter(list(JSON_FIELDS)) if json_format else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RequestIdFilter())
    # bm25s sets its own logger to DEBUG when first imported, after this runs; the handler's level still holds.
    handler.setLevel(level)
    root.addHandler(handler)
    if root.getEffectiveLevel() > level:
        root.setLevel(level)
    for name in _NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
