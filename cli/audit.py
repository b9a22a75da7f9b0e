"""`crowdledger audit`: replay the ledger from the chain, or offline from an export, and check it."""

from __future__ import annotations

import argparse
import re
import sys

from cli.common import EXIT_FINDINGS, open_indexed_store, print_report, resolve_target
from ledger.audit.report import AuditReport, render
from ledger.core.addresses import parse_address
from ledger.errors import ConfigError

_HEAD = re.compile(r"0x[0-9a-fA-F]{64}")


def run(args: argparse.Namespace) -> int:
    report = _offline(args) if args.from_file else _on_chain(args)
    print_report(render(report), args.json, report.to_dict())
    return 0 if report.ok else EXIT_FINDINGS


def _offline(args: argparse.Namespace) -> AuditReport:
    """Replay an export file (or stdin) with nothing but the chain id, the address and, when
    given, the head the auditor read on-chain."""
    if args.chain_id is None or not args.contract:
        raise ConfigError("an offline audit needs --from FILE, --chain-id and --contract")
    parse_address(args.contract, "--contract")
    if args.expect_head is not None and not _HEAD.fullmatch(args.expect_head):
        raise ConfigError(f"--expect-head {args.expect_head!r} is not a 32-byte hex head")
    try:
        stream = sys.stdin.buffer if args.from_file == "-" else open(args.from_file, "rb")  # noqa: SIM115
    except OSError as exc:
        raise ConfigError(f"cannot read {args.from_file}: {exc.strerror}") from None
    from ledger.audit.offline import audit_export

    with stream:
        return audit_export(stream, args.chain_id, args.contract, expect_head=args.expect_head)


def _on_chain(args: argparse.Namespace) -> AuditReport:
    from ledger.audit.chain_audit import audit_chain
    from ledger.chain.rpc import RpcClient

    target = resolve_target(args)
    store = open_indexed_store(args.db) if args.db else None
    with RpcClient(target.rpc_url) as rpc:
        return audit_chain(
            rpc, target.contract, at_block=args.at_block, start_block=target.start_block, store=store
        )
