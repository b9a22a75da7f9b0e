"""Fixtures for the API tests: a real anvil with a random history, indexed by the real indexer
into SQLite and a fresh PostgreSQL database, served by uvicorn on a free port.

The shared world (`world`) is read-only and built once per database for the whole session;
tests that change the chain or the database build their own with `make_world`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter

from api.core.config import Settings
from api.main import create_app
from ledger.chain.rpc import RetryPolicy, RpcClient
from ledger.db.engine import open_database
from ledger.db.store import LedgerStore
from ledger.sync.indexer import Indexer
from tests.support.chain import (
    EscrowChain,
    escrow_chain_fixture,  # noqa: F401 - provides the `chain` fixture
)
from tests.support.databases import fresh_database
from tests.support.server import LiveServer

FAST_RETRY = RetryPolicy(attempts=20, base_delay=0.01, max_delay=0.2, total_timeout=20)
FINALITY = 3


@cache
def _adapter(schema: Any) -> TypeAdapter[Any]:
    return TypeAdapter(schema)


def conforms(schema: Any, body: Any) -> None:
    """`body` is what the public schema `schema` (api.schemas) promises in /openapi.json: raises
    pydantic's ValidationError otherwise."""
    _adapter(schema).validate_python(body)


@dataclass
class World:
    """A chain, the database its ledger is indexed into, and the API serving it."""

    chain: EscrowChain
    db_url: str
    store: LedgerStore
    api: LiveServer
    http: httpx.Client

    @property
    def dialect(self) -> str:
        return self.store.dialect

    def index(self) -> None:
        make_indexer(self.chain, self.store).run()

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, **kwargs)


def make_indexer(chain: EscrowChain, store: LedgerStore) -> Indexer:
    rpc = RpcClient(chain.url, retry=FAST_RETRY)
    return Indexer(
        rpc,
        store,
        chain.address,
        start_block=chain.deployment.block,
        finality_depth=FINALITY,
        poll_interval=0.1,
    )


@contextmanager
def make_world(chain: EscrowChain, kind: str, folder: Path, **settings: Any) -> Iterator[World]:
    """Index `chain` into a fresh `kind` database and serve it with `settings`."""
    with ExitStack() as stack:
        url = stack.enter_context(fresh_database(kind, folder))
        store = LedgerStore(open_database(url))
        stack.callback(store.engine.dispose)
        make_indexer(chain, store).run()
        values = {
            "db_url": url,
            "rpc_url": chain.url,
            "finality_depth": FINALITY,
            "stream_poll_interval": 0.05,
            "poll_interval": 0.1,
            **settings,
        }
        api = LiveServer.start(create_app(Settings(**values)))
        stack.callback(api.stop)
        http = stack.enter_context(api.client())
        yield World(chain, url, store, api, http)


@pytest.fixture(scope="session")
def history() -> Iterator[EscrowChain]:
    """One anvil with a random history in every state (milestone campaigns included), shared
    read-only by the session."""
    chain = EscrowChain.start()
    try:
        chain.random_history(seed=5, steps=80, milestones=True)
        chain.mine(FINALITY + 2)  # most entries final, and the latest ones provisional after the next pledge
        cid = chain.create(1, duration=7200)
        chain.pledge(cid, 3, 10**17)
        yield chain
    finally:
        chain.stop()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, history: EscrowChain, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    folder = tmp_path_factory.mktemp(f"world-{request.param}")
    with make_world(history, request.param, folder, audit_interval=3600) as built:
        yield built


@pytest.fixture(params=["sqlite", "postgresql"])
def db_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)
