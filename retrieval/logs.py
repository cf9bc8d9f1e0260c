"""Logging set-up shared by the CLI and the bot."""

from __future__ import annotations

import logging

# Libraries that are chatty below WARNING on their own account.
_NOISY = ("httpx", "chromadb", "discord.gateway")


def configure_logging(verbose: bool = False, *, service: bool = False) -> None:
    """INFO with --verbose. Otherwise a command shows only errors (its own summary already names every failure, and
    log lines mixed into it read as noise), while a long-running service (the bot) logs warnings too."""
    level = logging.INFO if verbose else logging.WARNING if service else logging.ERROR
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        # bm25s sets its own logger to DEBUG when first imported, after this runs; the handler's level still holds.
        handler.setLevel(level)
    for name in _NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
