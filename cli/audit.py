"""`crowdledger audit`: replay the ledger from the chain, or offline from an export, and check it."""

from __future__ import annotations

import argparse
import re
import sys

from cli.common import EXIT_FINDINGS, open_indexed_store, print_report, resolve_target
from cli.settings import resolve, rpc_client
from ledger.audit.report import AuditReport, render
from ledger.errors import ConfigError

_HEAD = re.compile(r"0x[0-9a-fA-F]{64}")


def run(args: argparse.Namespace) -> int:
    report = _offline(args) if args.from_file else _on_chain(args)
    print_report(render(report), args.json, report.to_dict())
    return 0 if report.ok else EXIT_FINDINGS


def _offline(args: argparse.Namespace) -> AuditReport:
    """Replay an export file (or stdin) with nothing but the chain id, the address and, when
    given, the head the auditor read on-chain."""
    contract = resolve(args).contract
    if args.chain_id is None or not contract:
        raise ConfigError("an offline audit needs --from FILE, --chain-id and --contract")
    if args.expect_head is not None and not _HEAD.fullmatch(args.expect_head):
        raise ConfigError(f"--expect-head {args.expect_head!r} is not a 32-byte hex head")
    try:
        stream = sys.stdin.buffer if args.from_file == "-" else open(args.from_file, "rb")  # noqa: SIM115
    except OSError as exc:
        raise ConfigError(f"cannot read {args.from_file}: {exc.strerror}") from None
    from ledger.audit.offline import audit_export

    with stream:
        return audit_export(stream, args.chain_id, contract, expect_head=args.expect_head)


def _on_chain(args: argparse.Namespace) -> AuditReport:
    """At one block: the chain's logs replayed, checked against the views, and against the
    indexed database when one is configured (--db, CROWDLEDGER_DB_URL or the deployment file)."""
    from ledger.audit.chain_audit import audit_chain

    target = resolve_target(args, "db_url")
    settings = target.settings
    store = (
        open_indexed_store(settings.db_url, settings.source("db_url")) if settings.given("db_url") else None
    )
    with rpc_client(settings) as rpc:
        return audit_chain(
            rpc, target.contract, at_block=args.at_block, start_block=target.start_block, store=store
        )
