"""The `crowdledger` command line. Every failure is one readable line on stderr and a non-zero
exit: 2 when the command could not run (bad input, node or database trouble), 1 when an audit
found discrepancies, 130 on Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eth_utils import is_address, to_checksum_address

from ledger.db.engine import DEFAULT_DB_URL
from ledger.chain.deployment import default_deployment_path, read_deployment
from ledger.errors import ConfigError, CrowdLedgerError

if TYPE_CHECKING:
    from ledger.db.store import LedgerStore

EXIT_FINDINGS = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class Target:
    """Where the escrow lives: from flags, else from the deployment file."""

    rpc_url: str
    contract: str
    start_block: int


def resolve_target(args: argparse.Namespace) -> Target:
    deployment = None
    deployment_path = Path(args.deployment) if args.deployment else default_deployment_path()
    if args.deployment or not (args.rpc and args.contract):
        if args.deployment or deployment_path.exists():
            deployment = read_deployment(deployment_path)
    rpc_url = args.rpc or (deployment.rpc_url if deployment else None)
    contract = args.contract or (deployment.address if deployment else None)
    if not rpc_url or not contract:
        raise ConfigError(
            f"give --rpc and --contract, or a deployment file (--deployment, default {deployment_path})"
        )
    if not is_address(contract):
        raise ConfigError(f"--contract {contract!r} is not an address (0x followed by 40 hex digits)")
    if getattr(args, "from_block", None) is not None:
        start = args.from_block
    elif deployment is not None and deployment.address.lower() == contract.lower():
        start = deployment.block
    else:
        start = 0
    return Target(rpc_url=rpc_url, contract=to_checksum_address(contract), start_block=start)


def _add_target_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rpc", help="JSON-RPC URL of an Ethereum node (default: from the deployment file)")
    parser.add_argument("--contract", help="address of the CrowdfundEscrow (default: from the deployment file)")
    parser.add_argument("--deployment", help="deployment file written by scripts/deploy.py")


def _add_db_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default=DEFAULT_DB_URL, help=f"database URL (default {DEFAULT_DB_URL})")


def non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def cmd_index(args: argparse.Namespace) -> int:
    from ledger.db.engine import open_database
    from ledger.db.store import LedgerStore
    from ledger.sync.indexer import Indexer
    from ledger.sync.progress import Progress
    from ledger.chain.rpc import RpcClient

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


def open_indexed_store(url: str) -> LedgerStore:
    """The store of a database the indexer has filled; a missing or empty one is an error."""
    from sqlalchemy.engine import make_url

    from ledger.db.engine import open_database
    from ledger.db.store import LedgerStore
    from ledger.errors import StorageError

    try:
        parsed = make_url(url)
    except Exception:
        raise StorageError(f"not a database URL: {url!r} (try sqlite:///crowdledger.db)") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).exists():
        raise StorageError(f"no database at {parsed.database}; run `crowdledger index` first or pass --db")
    store = LedgerStore(open_database(url))
    if store.read_sync_state() is None:
        raise StorageError(f"{parsed.render_as_string(hide_password=True)} holds no indexed ledger; run `crowdledger index`")
    return store


def _print_report(lines: Iterable[str], as_json: bool, payload: dict[str, Any]) -> None:
    import orjson

    if as_json:
        sys.stdout.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        for line in lines:
            print(line)


def cmd_audit(args: argparse.Namespace) -> int:
    from ledger.audit.chain_audit import audit_chain, audit_export, render
    from ledger.chain.rpc import RpcClient

    if args.from_file:
        if args.chain_id is None or not args.contract:
            raise ConfigError("an offline audit needs --from FILE, --chain-id and --contract")
        if not is_address(args.contract):
            raise ConfigError(f"--contract {args.contract!r} is not an address (0x followed by 40 hex digits)")
        if args.expect_head is not None and not re.fullmatch(r"0x[0-9a-fA-F]{64}", args.expect_head):
            raise ConfigError(f"--expect-head {args.expect_head!r} is not a 32-byte hex head")
        try:
            stream = sys.stdin.buffer if args.from_file == "-" else open(args.from_file, "rb")  # noqa: SIM115
        except OSError as exc:
            raise ConfigError(f"cannot read {args.from_file}: {exc.strerror}") from None
        with stream:
            report = audit_export(stream, args.chain_id, args.contract, expect_head=args.expect_head)
    else:
        target = resolve_target(args)
        store = open_indexed_store(args.db) if args.db else None
        with RpcClient(target.rpc_url) as rpc:
            report = audit_chain(
                rpc, target.contract, at_block=args.at_block, start_block=target.start_block, store=store
            )
    _print_report(render(report), args.json, report.to_dict())
    return 0 if report.ok else EXIT_FINDINGS


def cmd_export(args: argparse.Namespace) -> int:
    from ledger.audit.export import write_export

    store = open_indexed_store(args.db)
    if args.out in (None, "-"):
        write_export(store.iter_entries(), args.format, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return 0
    out = Path(args.out)
    tmp = out.with_name(out.name + ".partial")
    try:
        with open(tmp, "wb") as handle:
            count = write_export(store.iter_entries(), args.format, handle)
        tmp.replace(out)
    except OSError as exc:
        raise ConfigError(f"cannot write {args.out}: {exc.strerror}") from None
    print(f"exported {count:,} entries to {out}", file=sys.stderr)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from ledger.chain.rpc import RpcClient
    from ledger.audit.verify import verify_backer, verify_tx

    if bool(args.tx) == bool(args.backer):
        raise ConfigError("give either --tx HASH or --backer ADDRESS")
    target = resolve_target(args)
    with RpcClient(target.rpc_url) as rpc:
        if args.tx:
            store = open_indexed_store(args.db) if args.db else (
                open_indexed_store(DEFAULT_DB_URL) if Path("crowdledger.db").exists() else None
            )
            depth = store.read_sync_state().finality_depth if store else args.finality_depth
            result = verify_tx(rpc, target.contract, args.tx, store=store, finality_depth=depth)
            lines = [result.verdict] + [
                f"  entry #{e.seq} {e.kind_name}: campaign {e.campaign_id}, account {e.account}, amount {e.amount}, "
                f"head {e.head} ({'matches' if e.head_matches else 'unchecked' if e.head_matches is None else 'MISMATCH'}"
                f"{'' if e.in_database is None else ', in the indexed ledger' if e.database_matches else ', NOT as indexed'})"
                for e in result.entries
            ]
        else:
            store = open_indexed_store(args.db or DEFAULT_DB_URL)
            result = verify_backer(rpc, target.contract, args.backer, store, campaign_id=args.campaign)
            lines = [result.verdict] + [
                f"  campaign {c.campaign_id}: {c.status}; pledged {c.pledged_total}, unpledged {c.unpledged_total}, "
                f"refunded {c.refunded_total}; pledgeOf on-chain {c.pledge_of_onchain} "
                f"({'matches' if c.matches_chain else 'MISMATCH'})"
                for c in result.campaigns
            ]
    _print_report(lines, args.json, result.to_dict())
    return 0 if result.ok else EXIT_FINDINGS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crowdledger", description="Index, audit and verify a CrowdfundEscrow ledger."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    index = sub.add_parser("index", help="mirror the escrow's ledger into a database")
    _add_target_args(index)
    _add_db_arg(index)
    index.add_argument("--from-block", type=non_negative, help="first block to scan (default: deployment block)")
    index.add_argument(
        "--finality-depth", type=non_negative, default=12,
        help="blocks below the tip after which entries are final (default 12)",
    )
    index.add_argument("--follow", action="store_true", help="keep following the chain (Ctrl-C to stop)")
    index.add_argument("--poll-interval", type=float, default=0.5, help="seconds between polls in --follow")
    index.add_argument(
        "--max-span", type=non_negative, default=100_000, help="most blocks per eth_getLogs call (default 100000)"
    )
    index.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    index.set_defaults(handler=cmd_index)

    audit = sub.add_parser(
        "audit", help="replay the ledger from the chain (or an export, offline) and check it",
        description="Exit 0 when clean, 1 when it found discrepancies, 2 when it could not run.",
    )
    _add_target_args(audit)
    audit.add_argument("--at-block", type=non_negative, help="audit as of this block (default: latest, or the --db's)")
    audit.add_argument("--from-block", type=non_negative, help="first block to scan (default: deployment block)")
    audit.add_argument("--db", help="also diff this indexed database against the replay")
    audit.add_argument("--from", dest="from_file", metavar="FILE", help="replay an export file offline ('-' for stdin)")
    audit.add_argument("--chain-id", type=non_negative, help="with --from: the chain the ledger lives on")
    audit.add_argument("--expect-head", help="with --from: the ledgerHead() you read from a block explorer")
    audit.add_argument("--json", action="store_true", help="a machine-readable report")
    audit.set_defaults(handler=cmd_audit)

    export = sub.add_parser("export", help="write every indexed entry as NDJSON or CSV")
    _add_db_arg(export)
    export.add_argument("--format", choices=["ndjson", "csv"], default="ndjson")
    export.add_argument("--out", help="file to write (default: standard output)")
    export.set_defaults(handler=cmd_export)

    verify = sub.add_parser("verify", help="check one transaction or one backer's contributions")
    _add_target_args(verify)
    verify.add_argument("--db", default=None, help=f"indexed database (default {DEFAULT_DB_URL} if present)")
    verify.add_argument("--tx", help="a transaction hash")
    verify.add_argument("--backer", help="a backer's address")
    verify.add_argument("--campaign", type=non_negative, help="with --backer: only this campaign")
    verify.add_argument("--finality-depth", type=non_negative, default=12, help="when no database is given")
    verify.add_argument("--json", action="store_true", help="a machine-readable answer")
    verify.set_defaults(handler=cmd_verify)

    from cli.serve import add_serve_args, add_up_args, run_serve, run_up

    up = sub.add_parser(
        "up", help="the whole system on a local chain: anvil, escrow, demo data, indexer, API and web page",
        description="With no arguments: start anvil, deploy, seed a demo, index into SQLite and serve "
        "http://127.0.0.1:8000. With --rpc/--contract/--db: attach to an existing chain and database.",
    )
    add_up_args(up)
    up.set_defaults(handler=run_up)
    serve = sub.add_parser("serve", help="the API and web page, the follower and the auditor, on a chain and database")
    add_serve_args(serve)
    serve.set_defaults(handler=run_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    quiet = getattr(args, "quiet", False)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING if quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        return int(args.handler(args))
    except CrowdLedgerError as exc:
        print(f"crowdledger: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("crowdledger: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: still one line, the traceback with --verbose
        if args.verbose:
            raise
        print(f"crowdledger: internal error: {type(exc).__name__}: {exc} (run with -v for details)", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
