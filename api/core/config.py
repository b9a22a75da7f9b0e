"""The API's settings: one class, read from `CROWDLEDGER_*` environment variables.

    settings = get_settings()          # cached, from the environment
    app = create_app(settings)         # tests build their own Settings(...) and pass it here

Why not pydantic-settings: eth-brownie pins python-dotenv 0.16.0 and pydantic-settings needs
python-dotenv >= 1.2, so the two cannot share the venv. This is the same idea on plain pydantic:
one field per variable (`db_url` <- CROWDLEDGER_DB_URL), validators that fail at start-up with a
message naming the variable, and a cached reader.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from eth_utils import is_address, to_checksum_address
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ledger.errors import ConfigError

ENV_PREFIX = "CROWDLEDGER_"
DEFAULT_DB_URL = "sqlite:///crowdledger.db"


class Settings(BaseModel):
    """Everything the API process needs to know. Each field is `CROWDLEDGER_<FIELD>` in the
    environment (`CROWDLEDGER_DB_URL`, `CROWDLEDGER_RPC_URL`, ...)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    db_url: str = Field(DEFAULT_DB_URL, description="database URL: sqlite:///file.db or postgresql+psycopg://...")
    rpc_url: str | None = Field(None, description="JSON-RPC node: enables /health's node check, the auditor, the follower")
    contract: str | None = Field(None, description="the escrow's address (default: the one the database indexes)")
    start_block: int = Field(0, ge=0, description="first block the follower scans when the database is empty")
    finality_depth: int = Field(12, ge=0, description="blocks below the tip after which entries are final")
    follow: bool = Field(False, description="run the indexer in this process, following the chain")
    poll_interval: float = Field(0.5, gt=0, le=60, description="seconds between the follower's polls")
    audit_interval: float = Field(300.0, ge=0, description="seconds between audits; 0 turns the auditor off")
    stream_poll_interval: float = Field(0.25, gt=0, le=10, description="seconds between checks for new entries (SSE)")
    node_timeout: float = Field(2.0, gt=0, le=60, description="timeout of /health's node check, in seconds")
    cors_origins: tuple[str, ...] = Field(("*",), description="origins allowed to GET from a browser (comma-separated)")
    otel: bool = Field(
        False,
        description="FastAPI's OpenTelemetry spans and metrics, for a configured OpenTelemetry SDK; every request "
        "then goes through FastAPI's full path (off: /metrics serves Prometheus, and the hot routes skip FastAPI's "
        "inner layers)",
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
        if value in (None, ""):
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"not an http(s) JSON-RPC URL: {value!r}")
        return value

    @field_validator("contract")
    @classmethod
    def _check_contract(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not is_address(value):
            raise ValueError(f"{value!r} is not an address (0x followed by 40 hex digits)")
        return to_checksum_address(value)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from `CROWDLEDGER_*` variables (only this class's fields are read), then
        `overrides`. Raises ConfigError naming the variable when a value is invalid."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            raw = environ.get(ENV_PREFIX + name.upper())
            if raw is not None and raw.strip() != "":
                values[name] = raw.strip()
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls(**values)
        except ValidationError as exc:
            given = {name for name, value in overrides.items() if value is not None}
            raise ConfigError(describe_errors(exc, from_env=set(values) - given)) from None


def describe_errors(exc: ValidationError, from_env: set[str] = frozenset()) -> str:  # type: ignore[assignment]
    """One line per invalid setting, naming the environment variable when it came from one."""
    lines = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "?"
        where = f"{ENV_PREFIX}{name.upper()}" if name in from_env else name
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"invalid setting {where}: {message}")
    return "; ".join(lines)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once from the environment. Tests override them by passing
    their own Settings to create_app(), or by changing the environment and calling
    get_settings.cache_clear()."""
    return Settings.from_env()
