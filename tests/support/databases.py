"""Fresh databases for tests: a SQLite file, or a new PostgreSQL database on the server named by
CROWDLEDGER_TEST_PG_URL (dropped afterwards)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

PG_ENV = "CROWDLEDGER_TEST_PG_URL"


def pg_server_url() -> str | None:
    return os.environ.get(PG_ENV) or None


@contextmanager
def fresh_postgres(server_url: str) -> Iterator[str]:
    url = make_url(server_url)
    name = f"crowdledger_test_{uuid.uuid4().hex[:12]}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_database(kind: str, folder: Path) -> Iterator[str]:
    """The URL of an empty database of `kind` ('sqlite' or 'postgresql'); a PostgreSQL test
    skips when no server is configured (and .ci/run turns that skip into a failure)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'ledger.db'}"
        return
    server = pg_server_url()
    if server is None:
        pytest.skip(f"PostgreSQL tests need {PG_ENV}")
    with fresh_postgres(server) as url:
        yield url
