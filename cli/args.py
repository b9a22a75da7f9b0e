"""Argument types and the options several commands share. Light on purpose: building the parser
imports this module, and `crowdledger --help` must not wait for SQLAlchemy or web3."""

from __future__ import annotations

import argparse

from ledger.db.engine import DEFAULT_DB_URL  # the module imports SQLAlchemy only when it opens one


def non_negative(text: str) -> int:
    """A whole number >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def port(text: str) -> int:
    """A TCP port, 1-65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"{value} is not a TCP port (1-65535)")
    return value


def seconds(text: str) -> float:
    """A number of seconds >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def add_target_args(parser: argparse.ArgumentParser) -> None:
    """--rpc, --contract and --deployment: where the escrow lives (cli.common.resolve_target)."""
    parser.add_argument("--rpc", help="JSON-RPC URL of an Ethereum node (default: from the deployment file)")
    parser.add_argument(
        "--contract", help="address of the CrowdfundEscrow (default: from the deployment file)"
    )
    parser.add_argument("--deployment", help="deployment file written by scripts/deploy.py")


def add_db_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default=DEFAULT_DB_URL, help=f"database URL (default {DEFAULT_DB_URL})")


DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def add_server_args(parser: argparse.ArgumentParser, *, audit_interval: float) -> None:
    """The options `serve` and `up` share: where to serve, the chain and database, the follower's
    and the auditor's pace. Settings not given come from CROWDLEDGER_* variables."""
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to serve on (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=port, default=DEFAULT_PORT, help=f"API port (default {DEFAULT_PORT})")
    parser.add_argument("--rpc", help="JSON-RPC URL of an Ethereum node")
    parser.add_argument("--contract", help="address of the CrowdfundEscrow")
    parser.add_argument(
        "--deployment", help="deployment file giving --rpc and --contract (scripts/deploy.py)"
    )
    parser.add_argument(
        "--db", help="database URL: sqlite:///file.db or postgresql+psycopg://user:pass@host/db"
    )
    parser.add_argument(
        "--from-block", type=non_negative, help="first block to index (default: the deployment's)"
    )
    parser.add_argument(
        "--finality-depth",
        type=non_negative,
        default=None,
        help="blocks below the tip after which entries are final (default 12)",
    )
    parser.add_argument(
        "--poll-interval", type=seconds, default=None, help="seconds between the follower's polls"
    )
    parser.add_argument(
        "--audit-interval",
        type=seconds,
        default=None,
        help=f"seconds between audits, 0 = no auditor (default {audit_interval:g})",
    )
    parser.set_defaults(default_audit_interval=audit_interval)
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug"],
        help="server log level (default warning)",
    )
