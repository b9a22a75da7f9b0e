"""`crowdledger verify`: one transaction's ledger entries, or one backer's money, checked on-chain
and against the indexed ledger."""

from __future__ import annotations

import argparse

from cli.common import EXIT_FINDINGS, open_indexed_store, print_report, resolve_target, sqlite_path
from cli.settings import Settings, check_address, rpc_client
from ledger.audit.verify import BackerVerification, TxVerification, verify_backer, verify_tx
from ledger.db.store import LedgerStore
from ledger.errors import ConfigError


def run(args: argparse.Namespace) -> int:
    if bool(args.tx) == bool(args.backer):
        raise ConfigError("give either --tx HASH or --backer ADDRESS")
    backer = check_address(args.backer, "--backer") if args.backer else None
    target = resolve_target(args, "db_url", "finality_depth")
    settings = target.settings
    if backer is None:
        store = _optional_store(settings)
        state = store.read_sync_state() if store else None
        depth = state.finality_depth if state else settings.finality_depth
        with rpc_client(settings) as rpc:
            tx = verify_tx(rpc, target.contract, args.tx, store=store, finality_depth=depth)
        print_report(tx_lines(tx), args.json, tx.to_dict())
        return 0 if tx.ok else EXIT_FINDINGS
    indexed = open_indexed_store(settings.db_url, settings.source("db_url"))
    with rpc_client(settings) as rpc:
        result = verify_backer(rpc, target.contract, backer, indexed, campaign_id=args.campaign)
    print_report(backer_lines(result), args.json, result.to_dict())
    return 0 if result.ok else EXIT_FINDINGS


def _optional_store(settings: Settings) -> LedgerStore | None:
    """The configured database's store (--db, CROWDLEDGER_DB_URL or the deployment file's, which
    must hold an indexed ledger); without one, the default database when it exists, else none: a
    transaction can be checked on-chain alone."""
    if settings.given("db_url"):
        return open_indexed_store(settings.db_url, settings.source("db_url"))
    default = sqlite_path(settings.db_url)
    return (
        open_indexed_store(settings.db_url, "the default database") if default and default.exists() else None
    )


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
