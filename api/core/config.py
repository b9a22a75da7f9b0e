"""The API's settings: one pydantic-settings class, read from `CROWDLEDGER_*` environment variables.

    settings = get_settings()                  # cached, from the environment
    settings = Settings.from_env(rpc_url=...)  # the environment under options (`crowdledger serve`)
    app = create_app(Settings(db_url=...))     # tests build their own and pass them to create_app

Each field is one variable (`db_url` <- `CROWDLEDGER_DB_URL`); arguments given to `Settings(...)`
win over the environment. The validators run when the process starts, and `from_env` reports an
invalid value as a ConfigError naming the variable it came from.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ledger.chain.defaults import DEFAULT_MAX_ANSWER_BYTES, DEFAULT_TIMEOUT, MIN_ANSWER_BYTES
from ledger.core.addresses import checksum, checksum_error
from ledger.db.engine import DEFAULT_DB_URL
from ledger.errors import ConfigError

ENV_PREFIX = "CROWDLEDGER_"


class Settings(BaseSettings):
    """Everything the API process needs to know. Each field is `CROWDLEDGER_<FIELD>` in the
    environment (`CROWDLEDGER_DB_URL`, `CROWDLEDGER_RPC_URL`, ...)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_ignore_empty=True, frozen=True, extra="forbid"
    )

    db_url: str = Field(
        DEFAULT_DB_URL, description="database URL: sqlite:///file.db or postgresql+psycopg://..."
    )
    rpc_url: str | None = Field(
        None, description="JSON-RPC node: enables /health's node check, the auditor, the follower"
    )
    contract: str | None = Field(
        None, description="the escrow's address (default: the one the database indexes)"
    )
    start_block: int = Field(0, ge=0, description="first block the follower scans when the database is empty")
    finality_depth: int = Field(12, ge=0, description="blocks below the tip after which entries are final")
    follow: bool = Field(False, description="run the indexer in this process, following the chain")
    poll_interval: float = Field(0.5, gt=0, le=60, description="seconds between the follower's polls")
    audit_interval: float = Field(300.0, ge=0, description="seconds between audits; 0 turns the auditor off")
    stream_poll_interval: float = Field(
        0.25, gt=0, le=10, description="seconds between checks for new entries (SSE)"
    )
    node_timeout: float = Field(2.0, gt=0, le=60, description="timeout of /health's node check, in seconds")
    rpc_timeout: float = Field(
        DEFAULT_TIMEOUT,
        gt=0,
        le=600,
        description="seconds one request of the follower or the auditor to the node may take, its answer included",
    )
    max_answer_bytes: int = Field(
        DEFAULT_MAX_ANSWER_BYTES,
        ge=MIN_ANSWER_BYTES,
        description="largest node answer the follower or the auditor reads, in bytes",
    )
    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        ("*",), description="origins allowed to GET from a browser (comma-separated)"
    )
    db_pool_size: int = Field(
        4, ge=1, le=100, description="PostgreSQL connections the API's reads share (SQLite: unused)"
    )
    max_header_bytes: int = Field(
        16 * 1024,
        ge=1024,
        le=1 << 20,
        description="largest request head (request line and headers) in bytes; a larger one is a 431 and closed",
    )
    header_timeout: float = Field(
        10.0, gt=0, le=300, description="seconds a request's head may take to arrive; then 408 and closed"
    )
    forwarded_allow_ips: str = Field(
        "127.0.0.1,::1",
        description="proxies (addresses or networks, comma-separated; * for any; empty for none) whose "
        "X-Forwarded-For names the client, as uvicorn's --forwarded-allow-ips; `none` or empty: none",
    )
    stream_max_clients: int = Field(
        200, ge=1, le=100_000, description="open /ledger/stream connections at most (then 503)"
    )
    stream_max_per_client: int = Field(
        8,
        ge=1,
        le=100_000,
        description="open /ledger/stream connections per client address at most (then 503)",
    )
    stream_max_replay: int = Field(
        1000,
        ge=0,
        le=1_000_000,
        description="entries a new /ledger/stream may replay at most; a start further back is a 400 naming "
        "/ledger?after= for the history",
    )
    document_read_timeout: float = Field(
        10.0, gt=0, le=300, description="seconds an uploaded document's body may take to arrive (then 408)"
    )
    otel: bool = Field(
        False,
        description="FastAPI's OpenTelemetry spans and metrics, for a configured OpenTelemetry SDK (off: they "
        "cost every request a lookup of the providers, and /metrics serves Prometheus)",
    )

    @field_validator("db_url")
    @classmethod
    def _check_db_url(cls, value: str) -> str:
        try:
            backend = make_url(value).get_backend_name()
        except ArgumentError:
            raise ValueError(f"not a database URL: {value!r} (try sqlite:///crowdledger.db)") from None
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")
        return value

    @field_validator("rpc_url")
    @classmethod
    def _check_rpc_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"not an http(s) JSON-RPC URL: {value!r}")
        return value

    @field_validator("contract")
    @classmethod
    def _check_contract(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        problem = checksum_error(value)
        if problem is not None:
            raise ValueError(problem)
        return checksum(value)

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _check_proxies(cls, value: str) -> str:
        value = ",".join(part.strip() for part in value.split(",") if part.strip())
        return "" if value.lower() == "none" else value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Settings from `CROWDLEDGER_*` variables under `overrides` (None means "not given").
        Raises ConfigError naming the variable (or the option) whose value is invalid."""
        given = {name: value for name, value in overrides.items() if value is not None}
        try:
            return cls(**given)
        except ValidationError as exc:
            raise ConfigError(describe_errors(exc, given=set(given))) from None


def describe_errors(exc: ValidationError, given: set[str] | None = None) -> str:
    """One line per invalid setting: the environment variable it came from, or the name of the
    option in `given` (a default is always valid, so a setting not given came from the environment)."""
    lines = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "?"
        where = name if given is not None and name in given else f"{ENV_PREFIX}{name.upper()}"
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"invalid setting {where}: {message}")
    return "; ".join(lines)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once from the environment. Tests pass their own Settings to
    create_app(), or change the environment and call get_settings.cache_clear()."""
    return Settings.from_env()
