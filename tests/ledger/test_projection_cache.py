"""The backfill's projection cache: into an empty database it is `complete` (a row missing from it
is new, so no batch reads projections back); that must give exactly the rows that reading them
back gives, and a failed commit must end it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

import ledger.sync.indexer as indexer_module
from ledger.chain.rpc import RpcClient
from ledger.core.records import Projections
from ledger.db.engine import open_database
from ledger.db.schema import (
    campaigns,
    disclosures,
    fee_accounts,
    milestones,
    positions,
    tranche_releases,
    votes,
)
from ledger.db.store import LedgerStore
from ledger.errors import StorageError
from ledger.sync.indexer import Indexer
from tests.support.chain import EscrowChain, random_history_chain

PROJECTION_TABLES = (campaigns, positions, fee_accounts, milestones, tranche_releases, votes, disclosures)


def projection_rows(store: LedgerStore) -> dict[str, list[tuple]]:
    with store.engine.connect() as conn:
        return {
            table.name: sorted(tuple(row) for row in conn.execute(select(table)))
            for table in PROJECTION_TABLES
        }


def backfill(chain: EscrowChain, url: str) -> LedgerStore:
    """A fresh database filled in many small batches (finality depth 0: one backfill)."""
    store = LedgerStore(open_database(url))
    Indexer(
        RpcClient(chain.url),
        store,
        chain.address,
        start_block=chain.deployment.block,
        finality_depth=0,
        target_logs=7,
    ).run()
    return store


@pytest.fixture(scope="module")
def history() -> Iterator[EscrowChain]:
    with random_history_chain(seed=23, steps=70, milestones=True) as chain:
        yield chain


def test_a_complete_cache_gives_the_rows_that_reading_them_back_gives(
    history: EscrowChain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached = backfill(history, f"sqlite:///{tmp_path / 'cached.db'}")
    # a cache that overflows at once is replaced by an incomplete one before every batch: each
    # batch then reads its rows back from the database
    monkeypatch.setattr(indexer_module, "CACHED_POSITIONS", -1)
    read_back = backfill(history, f"sqlite:///{tmp_path / 'read-back.db'}")
    assert projection_rows(cached) == projection_rows(read_back)
    assert projection_rows(cached)["milestones"], "the history has milestone campaigns"


def test_a_failed_commit_empties_the_cache_and_ends_its_completeness(
    history: EscrowChain, tmp_path: Path
) -> None:
    source = backfill(history, f"sqlite:///{tmp_path / 'source.db'}")
    entries = list(source.iter_entries())
    state = source.read_sync_state()
    target = LedgerStore(open_database(f"sqlite:///{tmp_path / 'target.db'}"))
    target.init_sync_state(replace(state, last_block=state.start_block - 1, last_seq=0, last_block_hash=None))
    cache = Projections(complete=True)
    first = entries[:10]
    target.commit_batch(first, replace(state, last_seq=first[-1].seq, last_head=first[-1].head), cache=cache)
    assert cache.complete and cache.campaigns
    with pytest.raises(StorageError):  # the same seqs again: the primary key refuses them
        target.commit_batch(
            first, replace(state, last_seq=first[-1].seq, last_head=first[-1].head), cache=cache
        )
    assert not cache.complete
    assert not cache.campaigns and not cache.positions


def test_two_stores_writing_one_database_in_turn_end_like_the_source(
    history: EscrowChain, tmp_path: Path
) -> None:
    """Each batch reads the checkpoint it follows inside its own transaction, so a store whose
    last write was overtaken by another's still stores its next batch exactly: the database ends
    like the source."""
    source = backfill(history, f"sqlite:///{tmp_path / 'source.db'}")
    entries = list(source.iter_entries())
    state = source.read_sync_state()
    url = f"sqlite:///{tmp_path / 'target.db'}"
    one, two = LedgerStore(open_database(url)), LedgerStore(open_database(url))
    one.init_sync_state(
        replace(
            state,
            last_block=state.start_block - 1,
            last_seq=0,
            last_block_hash=None,
            final_block=state.start_block - 1,
        )
    )
    third = len(entries) // 3
    for store, batch in (
        (one, entries[:third]),
        (two, entries[third : 2 * third]),
        (one, entries[2 * third :]),
    ):
        last = batch[-1]
        store.commit_batch(
            batch,
            replace(state, last_seq=last.seq, last_head=last.head, last_block=last.block_number),
            [(last.block_number, last.block_hash)],
        )
    target = LedgerStore(open_database(url))
    assert list(target.iter_entries()) == entries
    assert projection_rows(target) == projection_rows(source)
    assert target.read_sync_state() == replace(state, last_block=entries[-1].block_number)
    # the final block moved with the first batch only, which pruned the hashes below its own
    ends = (entries[third - 1], entries[2 * third - 1], entries[-1])
    assert sorted(target.stored_blocks()) == [(e.block_number, e.block_hash) for e in ends]
