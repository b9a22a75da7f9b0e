"""`crowdledger verify`: one transaction's ledger entries, or one backer's money, checked on-chain
and against the indexed ledger."""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.common import EXIT_FINDINGS, open_indexed_store, print_report, resolve_target
from ledger.audit.verify import BackerVerification, TxVerification, verify_backer, verify_tx
from ledger.chain.rpc import RpcClient
from ledger.db.engine import DEFAULT_DB_URL
from ledger.db.store import LedgerStore
from ledger.errors import ConfigError


def run(args: argparse.Namespace) -> int:
    if bool(args.tx) == bool(args.backer):
        raise ConfigError("give either --tx HASH or --backer ADDRESS")
    target = resolve_target(args)
    with RpcClient(target.rpc_url) as rpc:
        if args.tx:
            store = _optional_store(args.db)
            state = store.read_sync_state() if store else None
            depth = state.finality_depth if state else args.finality_depth
            tx = verify_tx(rpc, target.contract, args.tx, store=store, finality_depth=depth)
            print_report(tx_lines(tx), args.json, tx.to_dict())
            return 0 if tx.ok else EXIT_FINDINGS
        backer = verify_backer(
            rpc,
            target.contract,
            args.backer,
            open_indexed_store(args.db or DEFAULT_DB_URL),
            campaign_id=args.campaign,
        )
    print_report(backer_lines(backer), args.json, backer.to_dict())
    return 0 if backer.ok else EXIT_FINDINGS


def _optional_store(url: str | None) -> LedgerStore | None:
    """--db's store; without --db the default database when it exists, else none (a transaction
    can be checked on-chain alone)."""
    if url:
        return open_indexed_store(url)
    default = Path(DEFAULT_DB_URL.removeprefix("sqlite:///"))
    return open_indexed_store(DEFAULT_DB_URL) if default.exists() else None


def tx_lines(result: TxVerification) -> list[str]:
    lines = [result.verdict]
    for e in result.entries:
        head = "matches" if e.head_matches else "unchecked" if e.head_matches is None else "MISMATCH"
        indexed = (
            ""
            if e.in_database is None
            else ", in the indexed ledger"
            if e.database_matches
            else ", NOT as indexed"
        )
        lines.append(
            f"  entry #{e.seq} {e.kind_name}: campaign {e.campaign_id}, account {e.account}, amount {e.amount}, "
            f"head {e.head} ({head}{indexed})"
        )
    return lines


def backer_lines(result: BackerVerification) -> list[str]:
    return [result.verdict] + [
        f"  campaign {c.campaign_id}: {c.status}; pledged {c.pledged_total}, unpledged {c.unpledged_total}, "
        f"refunded {c.refunded_total}; pledgeOf on-chain {c.pledge_of_onchain} "
        f"({'matches' if c.matches_chain else 'MISMATCH'})"
        for c in result.campaigns
    ]
