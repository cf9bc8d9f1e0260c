"""Logging set-up shared by the CLI and the bot."""

from __future__ import annotations

import logging

# Libraries that are chatty below WARNING on their own account (bm25s sets its logger to DEBUG on import).
_NOISY = ("bm25s", "httpx", "chromadb", "discord.gateway")


def configure_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for name in _NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
