"""One settings object, built once from the environment and `.env`, then passed to whatever needs it.

Nothing in newsdesk reads the environment anywhere else; tests build `Settings(...)` directly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def default_data_dir() -> Path:
    """The platform's user data folder (~/.local/share/newsdesk on Linux), whatever the working directory."""
    import platformdirs

    return platformdirs.user_data_path("newsdesk")


def settings_problem(error: ValidationError) -> str:
    """One sentence naming the setting that is wrong, for a ValidationError from `Settings()`."""
    first = error.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else "a setting"
    name = Settings.model_fields[field].alias if field in Settings.model_fields else field
    problem = first["msg"].removeprefix("Value error, ")
    return f"{name} has an invalid value ({problem}); fix it in .env or the environment."


class Settings(BaseSettings):
    """Every knob newsdesk has. `.env.example` documents each one."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True)

    # Storage
    data_dir: Path = Field(default_factory=default_data_dir, alias="NEWSDESK_DATA_DIR")
    model_dir: Path | None = Field(None, alias="NEWSDESK_MODEL_DIR")
    chroma_host: str | None = Field(None, alias="CHROMA_HOST")
    chroma_port: int = Field(8000, alias="CHROMA_PORT")
    default_kb: str = Field("default", alias="NEWSDESK_KB")

    # Ingestion
    allow_private_urls: bool = Field(False, alias="NEWSDESK_ALLOW_PRIVATE_URLS")
    private_url_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list, alias="NEWSDESK_PRIVATE_URL_HOSTS")
    fetch_timeout_s: float = Field(10.0, alias="NEWSDESK_FETCH_TIMEOUT")  # one read
    fetch_deadline_s: float = Field(20.0, alias="NEWSDESK_FETCH_DEADLINE")  # a whole fetch, redirects included
    max_fetch_bytes: int = Field(5_000_000, alias="NEWSDESK_MAX_FETCH_BYTES")
    max_file_bytes: int = Field(20_000_000, alias="NEWSDESK_MAX_FILE_BYTES")
    # PDFs: a parser reads them, so they are bounded apart from other files (bytes, then pages).
    max_pdf_bytes: int = Field(10_000_000, alias="NEWSDESK_MAX_PDF_BYTES")
    max_pdf_pages: int = Field(200, alias="NEWSDESK_MAX_PDF_PAGES")
    max_redirects: int = Field(5, alias="NEWSDESK_MAX_REDIRECTS")
    chunk_tokens: int = Field(192, alias="NEWSDESK_CHUNK_TOKENS")

    # Answering
    openai_api_key: SecretStr | None = Field(None, alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(None, alias="OPENAI_BASE_URL")
    model: str = Field("gpt-4o-mini", alias="NEWSDESK_MODEL")
    llm_timeout_s: float = Field(30.0, alias="NEWSDESK_LLM_TIMEOUT")
    llm_max_retries: int = Field(2, alias="NEWSDESK_LLM_RETRIES")
    llm_deadline_s: float = Field(30.0, alias="NEWSDESK_LLM_DEADLINE")  # one answer, retries included
    llm_fallback: Literal["offline", "error"] = Field("offline", alias="NEWSDESK_LLM_FALLBACK")
    # The citation judge's one call per answer, retries included; past it, the sentences it was asked about go.
    judge_timeout_s: float = Field(8.0, alias="NEWSDESK_JUDGE_TIMEOUT")
    max_question_chars: int = Field(500, alias="NEWSDESK_MAX_QUESTION_CHARS")
    top_k: int = Field(6, alias="NEWSDESK_TOP_K")

    # Discord
    discord_token: SecretStr | None = Field(None, alias="DISCORD_TOKEN")
    # Role ids, not names: any server can create a role called "newsdesk-mods", but ids are unique across Discord.
    moderator_role_ids: Annotated[frozenset[int], NoDecode] = Field(frozenset(), alias="NEWSDESK_MODERATOR_ROLE")
    audit_channel_id: int | None = Field(None, alias="NEWSDESK_AUDIT_CHANNEL_ID")
    allow_dms: bool = Field(False, alias="NEWSDESK_ALLOW_DMS")
    dm_kb: str = Field("default", alias="NEWSDESK_DM_KB")
    user_cooldown_s: float = Field(10.0, alias="NEWSDESK_USER_COOLDOWN")
    guild_concurrency: int = Field(3, alias="NEWSDESK_GUILD_CONCURRENCY")
    guild_queue: int = Field(20, alias="NEWSDESK_GUILD_QUEUE")  # questions that may wait for a slot per server

    # State shared by processes (retrieval/state): PostgreSQL when set, SQLite files in the data dir otherwise.
    database_url: str | None = Field(None, alias="DATABASE_URL")
    feed_lease_s: float = Field(60.0, gt=0, alias="NEWSDESK_FEED_LEASE")  # the feed refresher's lease, renewed at 1/3
    refresh_feeds: bool = Field(True, alias="NEWSDESK_REFRESH_FEEDS")  # false: this process never takes the lease
    settings_cache_s: float = Field(5.0, ge=0, alias="NEWSDESK_SETTINGS_CACHE")  # how stale a server's settings may be

    # Fair share per server (the bot only; the CLI is the host operator and unlimited). Fetching, parsing and
    # indexing run on their own workers, taking servers in turn; each server may queue a few jobs and hold so much.
    ingest_workers: int = Field(4, ge=1, alias="NEWSDESK_INGEST_WORKERS")
    ingest_queue: int = Field(5, ge=1, alias="NEWSDESK_INGEST_QUEUE")  # jobs a server may have waiting
    max_articles_per_server: int = Field(5_000, ge=1, alias="NEWSDESK_MAX_ARTICLES_PER_SERVER")
    max_bytes_per_server: int = Field(50_000_000, ge=1, alias="NEWSDESK_MAX_BYTES_PER_SERVER")  # passage text
    max_feeds_per_server: int = Field(25, ge=1, alias="NEWSDESK_MAX_FEEDS_PER_SERVER")

    # Operating: the bot's health and metrics endpoint, the log format, LangSmith tracing (README, "Operating")
    metrics_port: int | None = Field(None, ge=1, le=65535, alias="NEWSDESK_METRICS_PORT")  # off unless set
    metrics_host: str = Field("127.0.0.1", alias="NEWSDESK_METRICS_HOST")  # 0.0.0.0 in a container
    log_format: Literal["text", "json"] = Field("text", alias="NEWSDESK_LOG_FORMAT")
    langsmith_tracing: bool = Field(False, alias="LANGSMITH_TRACING")
    langsmith_api_key: SecretStr | None = Field(None, alias="LANGSMITH_API_KEY")
    langsmith_endpoint: str | None = Field(None, alias="LANGSMITH_ENDPOINT")  # None: LangSmith's cloud
    langsmith_project: str | None = Field(None, alias="LANGSMITH_PROJECT")  # None: LangSmith's "default"

    @field_validator("private_url_hosts", mode="before")
    @classmethod
    def _host_list(cls, value: object) -> object:
        """'a.example, b.example' or a JSON list, as the environment spells it."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    return json.loads(text)
                except json.JSONDecodeError:
                    raise ValueError("write host names separated by commas, or a JSON list") from None
            return [h.strip() for h in text.split(",") if h.strip()]
        return value

    @field_validator("database_url", mode="before")
    @classmethod
    def _postgres_url(cls, value: object) -> object:
        """Only PostgreSQL is shared state; an empty value means the SQLite files."""
        if isinstance(value, str):
            if not value.strip():
                return None
            if not value.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
                raise ValueError("use postgresql://user:password@host:5432/database, or leave it empty for SQLite")
            from sqlalchemy.engine import make_url

            url = "postgresql://" + value.split("://", 1)[1]
            try:
                make_url(url).port  # noqa: B018 - a port that is not a number fails here
            except ValueError:
                raise ValueError("it is not a valid database address") from None
            return url
        return value

    @field_validator("moderator_role_ids", mode="before")
    @classmethod
    def _role_ids(cls, value: object) -> object:
        """'123, 456' (the environment's spelling) or any iterable of ids."""
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            if not all(p.isdigit() for p in parts):
                raise ValueError("NEWSDESK_MODERATOR_ROLE takes role ids (numbers), separated by commas")
            return frozenset(int(p) for p in parts)
        return value

    @property
    def model_cache_dir(self) -> Path:
        return self.model_dir or self.data_dir / "models"

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def bm25_dir(self) -> Path:
        """Each knowledge base's saved BM25 index (retrieval/bm25_files.py), in a folder named after it."""
        return self.data_dir / "bm25"

    @property
    def llm_enabled(self) -> bool:
        return self.openai_api_key is not None or self.openai_base_url is not None
