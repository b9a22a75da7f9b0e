"""What `crowdledger index` says when it cannot do what it was asked (issue 20): a --from-block past
the ledger's first entry is one line naming the block to start from, and the same database then
indexes from that block; a node that cannot be reached is one line, and nothing is written."""

from __future__ import annotations

import pytest

from devnet.nodes import free_port
from ledger.chain.rpc import RetryPolicy, RpcClient
from ledger.db.store import LedgerStore
from ledger.errors import ConfigError, NodeUnavailable
from ledger.sync.indexer import Indexer
from tests.support.chain import EscrowChain
from tests.support.compare import assert_db_matches_chain


def test_a_start_past_the_first_entry_names_the_deployment_block(
    chain: EscrowChain, store: LedgerStore
) -> None:
    cid = chain.create(1)
    chain.mine(3)
    receipt = chain.pledge(cid, 2, 10**17)
    chain.pledge(cid, 3, 10**17)
    late = Indexer(
        RpcClient(chain.url), store, chain.address, start_block=receipt["blockNumber"], finality_depth=0
    )
    with pytest.raises(ConfigError) as raised:
        late.run()
    message = str(raised.value)
    assert "\n" not in message and "first entry found is seq 2" in message
    assert (
        f"deployed in block {chain.deployment.block}: index from --from-block {chain.deployment.block}"
        in message
    )
    assert store.read_sync_state() is not None and list(store.iter_entries()) == []

    right = Indexer(
        RpcClient(chain.url), store, chain.address, start_block=chain.deployment.block, finality_depth=0
    )
    assert right.run() == 3  # the empty checkpoint starts over from the block asked for
    assert_db_matches_chain(store, chain)


def test_an_unreachable_node_is_one_line_and_writes_nothing(store: LedgerStore) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    indexer = Indexer(RpcClient(url, retry=RetryPolicy(attempts=3)), store, "0x" + "11" * 20)
    with pytest.raises(NodeUnavailable) as raised:
        indexer.run()
    assert "\n" not in str(raised.value) and "connection refused" in str(raised.value)
    assert store.read_sync_state() is None
