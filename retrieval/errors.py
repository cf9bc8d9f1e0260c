"""Domain errors. Each message is one sentence a user can act on; the CLI and the bot show it as is."""


class NewsdeskError(Exception):
    """Base class: `str(error)` is safe to show to an end user."""


class ConfigError(NewsdeskError):
    """The installation or settings are wrong (missing model, bad value)."""


class BadInputError(NewsdeskError):
    """The user gave us something we cannot use (empty file, binary data, too long a question)."""


class FetchError(NewsdeskError):
    """A URL could not be fetched (timeout, HTTP error, wrong content type, too large)."""


class UnsafeURLError(FetchError):
    """A URL was refused before any request: bad scheme, or it points at a private or loopback address."""


class StoreUnavailableError(NewsdeskError):
    """The Chroma store cannot be reached or opened."""


class DatabaseUnavailableError(StoreUnavailableError):
    """The state database (DATABASE_URL's PostgreSQL, or a SQLite file) cannot be reached or used."""


class EmbeddingMismatchError(NewsdeskError):
    """A collection was built with a different embedding model than the one configured."""


class NotFoundError(NewsdeskError):
    """An article or knowledge base that was asked for does not exist."""


class LLMError(NewsdeskError):
    """The language model failed after retries (timeout, rate limit, server error, malformed reply)."""
