"""Logging set-up shared by the CLI and the bot."""

from __future__ import annotations

import logging

# Libraries that are chatty below WARNING on their own account.
_NOISY = ("httpx", "chromadb", "discord.gateway")


def configure_logging(verbose: bool = False) -> None:
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        # bm25s sets its own logger to DEBUG when first imported, after this runs; the handler's level still holds.
        handler.setLevel(level)
    for name in _NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
