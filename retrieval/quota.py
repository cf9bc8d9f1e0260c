"""How much one knowledge base may hold: articles, bytes of passage text and followed feeds.

The bot gives each server one `Quota` (settings `NEWSDESK_MAX_*_PER_SERVER`), so one server cannot fill the disk
for all; the CLI, run by the host operator, passes none and is unlimited. Limits are checked before work where the
answer is already known (a full knowledge base is refused before anything is fetched) and enforced again when
articles are written, article by article, since a single upload can hold thousands.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from retrieval.errors import BadInputError
from retrieval.settings import Settings
from retrieval.types import Article, IngestFailure


class QuotaError(BadInputError):
    """A limit of the knowledge base is reached; the message names it and how to make room."""


@dataclass(frozen=True)
class Usage:
    articles: int
    bytes: int  # UTF-8 bytes of passage text


@dataclass(frozen=True)
class Quota:
    articles: int
    bytes: int
    feeds: int
    # How a user makes room, in the words of the interface that enforces the quota.
    make_room: str = "remove articles with `/kb remove` or stop a feed with `/kb feeds remove`"

    @classmethod
    def per_server(cls, settings: Settings) -> Quota:
        return cls(settings.max_articles_per_server, settings.max_bytes_per_server, settings.max_feeds_per_server)

    def problem(self, usage: Usage) -> str | None:
        """Which limit `usage` is over, as the end of a sentence; None when it fits."""
        if usage.articles > self.articles:
            return f"this server's knowledge base may hold {self.articles:,} articles; {self.make_room} to make room"
        if usage.bytes > self.bytes:
            return (
                f"this server's knowledge base may hold {self.bytes / 1e6:g} MB of article text; "
                f"{self.make_room} to make room"
            )
        return None

    def check_room(self, usage: Usage) -> None:
        """Before work: refuse when not even one more small article fits."""
        problem = self.problem(Usage(usage.articles + 1, usage.bytes + 1))
        if problem:
            raise QuotaError(f"Nothing can be added: {problem}.")

    def check_feeds(self, following: int) -> None:
        """Before following one more feed."""
        if following >= self.feeds:
            raise QuotaError(
                f"This server already follows as many feeds as it may ({self.feeds}); "
                "stop one with `/kb feeds remove` to follow another."
            )

    def admit(
        self,
        articles: Iterable[Article],
        usage: Usage,
        unchanged: Callable[[Article], bool],
        stored_bytes: Callable[[str], int],
    ) -> tuple[list[Article], list[IngestFailure]]:
        """The articles that fit, in order, and a failure naming each one that does not.

        `unchanged(article)`: it is stored as it is (costs nothing); `stored_bytes(id)`: the passage bytes an
        updated article holds now (0 for a new one), which its new text replaces.
        """
        kept: list[Article] = []
        refused: list[IngestFailure] = []
        count, size = usage.articles, usage.bytes
        for article in {a.id: a for a in articles}.values():  # the last copy of a story wins, as in the indexer
            if unchanged(article):
                kept.append(article)
                continue
            old = stored_bytes(article.id)
            new = 0 if old else 1  # an article with stored passages is an update
            grown = size + len(article.text.encode()) - old
            problem = self.problem(Usage(count + new, grown))
            if problem:
                refused.append(IngestFailure(article.url or article.source, f"“{article.title[:80]}”: {problem}."))
                continue
            kept.append(article)
            count, size = count + new, grown
        return kept, refused
