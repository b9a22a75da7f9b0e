"""Fixtures for the ledger tests: a real node with a deployed escrow, and real databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.db.engine import open_database
from ledger.db.store import LedgerStore
from tests.support.chain import EscrowChain
from tests.support.databases import PG_ENV, fresh_postgres, pg_server_url


@pytest.fixture
def chain() -> Iterator[EscrowChain]:
    chain = EscrowChain.start()
    yield chain
    chain.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    server = pg_server_url()
    if server is None:
        pytest.skip(f"PostgreSQL tests need {PG_ENV}")
    with fresh_postgres(server) as url:
        yield url


@pytest.fixture
def store(db_url: str) -> LedgerStore:
    return LedgerStore(open_database(db_url))
