"""The `crowdledger` command line. Every failure is one readable line on stderr and a non-zero
exit: 2 when the command could not run (bad input, node or database trouble), 1 when an audit
found discrepancies, 130 on Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from eth_utils import is_address, to_checksum_address

from ledger.db.engine import DEFAULT_DB_URL
from ledger.deployment import default_deployment_path, read_deployment
from ledger.errors import ConfigError, CrowdLedgerError

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
    if args.from_block is not None:
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


def _non_negative(text: str) -> int:
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
    from ledger.indexer import Indexer
    from ledger.progress import Progress
    from ledger.rpc import RpcClient

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
            initial_span=min(2_000, args.max_span or 1),
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crowdledger", description="Index, audit and verify a CrowdfundEscrow ledger."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    index = sub.add_parser("index", help="mirror the escrow's ledger into a database")
    _add_target_args(index)
    _add_db_arg(index)
    index.add_argument("--from-block", type=_non_negative, help="first block to scan (default: deployment block)")
    index.add_argument(
        "--finality-depth", type=_non_negative, default=12,
        help="blocks below the tip after which entries are final (default 12)",
    )
    index.add_argument("--follow", action="store_true", help="keep following the chain (Ctrl-C to stop)")
    index.add_argument("--poll-interval", type=float, default=0.5, help="seconds between polls in --follow")
    index.add_argument(
        "--max-span", type=_non_negative, default=100_000, help="most blocks per eth_getLogs call (default 100000)"
    )
    index.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    index.set_defaults(handler=cmd_index)
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


if __name__ == "__main__":
    sys.exit(main())
