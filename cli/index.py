"""`crowdledger index`: mirror the escrow's ledger into a database, once or following the chain."""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.common import resolve_target, sqlite_path
from cli.settings import rpc_client
from ledger.db.engine import open_database
from ledger.db.store import LedgerStore
from ledger.sync.fetching import FetchProcess
from ledger.sync.indexer import Indexer
from ledger.sync.progress import Progress


def run(args: argparse.Namespace) -> int:
    target = resolve_target(args, "db_url", "finality_depth", "poll_interval")
    settings = target.settings
    path = sqlite_path(settings.db_url)
    new_file = path if path is not None and not path.exists() else None
    store: LedgerStore | None = None
    # a new SQLite file means an initial sync, where a long backfill reads the chain in a process of
    # its own (ledger/sync/fetching.py): started before the database opens, its start-up passes
    # meanwhile; the indexer closes it if the run needs none (a run that resumes starts none ahead)
    reader = FetchProcess() if new_file is not None else None
    try:
        store = LedgerStore(open_database(settings.db_url))
        with rpc_client(settings) as rpc:
            indexer = Indexer(
                rpc,
                store,
                target.contract,
                start_block=target.start_block,
                finality_depth=settings.finality_depth,
                progress=Progress(quiet=args.quiet),
                poll_interval=settings.poll_interval,
                initial_span=min(100, args.max_span or 1),
                max_span=args.max_span or 1,
                reader=reader,
            )
            stored = indexer.run(follow=args.follow)
    except BaseException:
        if new_file is not None:
            discard_if_empty(store, new_file)
        raise
    finally:
        if reader is not None:
            reader.close()
    state = store.read_sync_state()
    assert state is not None
    if not args.quiet:
        print(
            f"indexed {target.contract} to block {state.last_block}: {state.last_seq} entries, "
            f"head {state.last_head} ({stored} new)"
        )
    return 0


def discard_if_empty(store: LedgerStore | None, path: Path) -> None:
    """After a failed run that created the SQLite file `path`: remove it (and its -wal/-shm) when
    no entry was stored, so a failure leaves no empty database behind. A run that stored entries
    keeps them: the next one resumes from its checkpoint."""
    if store is not None:
        try:
            state = store.read_sync_state()
        except Exception:  # noqa: BLE001 - an unreadable new file holds nothing worth keeping
            state = None
        store.engine.dispose()
        if state is not None and state.last_seq > 0:
            return
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        leftover.unlink(missing_ok=True)
