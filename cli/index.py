"""`crowdledger index`: mirror the escrow's ledger into a database, once or following the chain."""

from __future__ import annotations

import argparse

from cli.common import resolve_target
from ledger.chain.rpc import RpcClient
from ledger.db.engine import open_database
from ledger.db.store import LedgerStore
from ledger.sync.indexer import Indexer
from ledger.sync.progress import Progress


def run(args: argparse.Namespace) -> int:
    target = resolve_target(args)
    store = LedgerStore(open_database(args.db))
    with RpcClient(target.rpc_url) as rpc:
        indexer = Indexer(
            rpc,
            store,
            target.contract,
            start_block=target.start_block,
            finality_depth=args.finality_depth,
            progress=Progress(quiet=args.quiet),
            poll_interval=args.poll_interval,
            initial_span=min(100, args.max_span or 1),
            max_span=args.max_span or 1,
        )
        stored = indexer.run(follow=args.follow)
    state = store.read_sync_state()
    assert state is not None
    if not args.quiet:
        print(
            f"indexed {target.contract} to block {state.last_block}: {state.last_seq} entries, "
            f"head {state.last_head} ({stored} new)"
        )
    return 0
