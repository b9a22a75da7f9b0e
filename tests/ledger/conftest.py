"""Fixtures for the ledger tests: a real node with a deployed escrow, and real databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.db.engine import open_database
from ledger.db.store import LedgerStore
from tests.support.chain import escrow_chain_fixture  # noqa: F401 - provides the `chain` fixture
from tests.support.databases import fresh_database


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def store(db_url: str) -> LedgerStore:
    return LedgerStore(open_database(db_url))
