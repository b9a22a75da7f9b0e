"""Argument types and the options several commands share. Light on purpose: building the parser
imports this module, and `crowdledger --help` must not wait for SQLAlchemy or web3.

Every option that is a shared setting (cli/settings.py) defaults to None here, so that a setting
not given on the command line comes from its CROWDLEDGER_* variable, then the deployment file,
then its default; the help texts name those defaults."""

from __future__ import annotations

import argparse
from urllib.parse import urlsplit

from ledger.chain.defaults import DEFAULT_DEPLOYMENT, MIN_ANSWER_BYTES
from ledger.chain.defaults import DEFAULT_TIMEOUT as DEFAULT_RPC_TIMEOUT
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
    if not value >= 0:  # negative, or NaN
        raise argparse.ArgumentTypeError(f"{text} is not a number of seconds >= 0")
    return value


def deadline(text: str) -> float:
    """A number of seconds > 0 and finite."""
    value = seconds(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value


_BYTE_UNITS = {
    "": 1,
    "k": 1 << 10,
    "kib": 1 << 10,
    "m": 1 << 20,
    "mib": 1 << 20,
    "g": 1 << 30,
    "gib": 1 << 30,
}


def byte_count(text: str) -> int:
    """A size in bytes of at least 1 KiB: `33554432`, `32MiB`, `512k`."""
    lowered = text.strip().lower()
    digits = lowered.rstrip("kmgib ")
    unit = _BYTE_UNITS.get(lowered[len(digits) :].strip())
    if unit is None or not digits.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a size in bytes (e.g. 33554432 or 32MiB)")
    value = int(digits) * unit
    if value < MIN_ANSWER_BYTES:
        raise argparse.ArgumentTypeError(f"{text!r} is less than {MIN_ANSWER_BYTES} bytes")
    return value


def http_url(text: str) -> str:
    """An http(s) URL with a host."""
    parts = urlsplit(text.strip())
    try:
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        _ = parts.port  # a port that is not a number raises ValueError
    except ValueError:
        valid = False
    if not valid:
        raise argparse.ArgumentTypeError(f"{text!r} is not an http(s) URL (e.g. http://127.0.0.1:8545)")
    return text.strip()


def add_target_args(parser: argparse.ArgumentParser) -> None:
    """--rpc, --contract and --deployment: where the escrow lives (cli.settings), and the limits
    of every request to the node."""
    parser.add_argument(
        "--rpc",
        help="JSON-RPC URL of an Ethereum node (default: CROWDLEDGER_RPC_URL, else the deployment file's)",
    )
    parser.add_argument(
        "--contract",
        help="address of the CrowdfundEscrow (default: CROWDLEDGER_CONTRACT, else the deployment file's)",
    )
    add_deployment_arg(parser)
    add_node_limits(parser)


def add_deployment_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--deployment",
        help=f"deployment file (default: CROWDLEDGER_DEPLOYMENT, else {DEFAULT_DEPLOYMENT} if it exists; "
        "`crowdledger up` and scripts/deploy.py write it)",
    )


def add_node_limits(parser: argparse.ArgumentParser) -> None:
    """--rpc-timeout and --max-answer-bytes: for every command that talks to a node."""
    parser.add_argument(
        "--rpc-timeout",
        type=deadline,
        metavar="SECONDS",
        help=f"overall deadline of one request to the node, its whole answer included (default "
        f"CROWDLEDGER_RPC_TIMEOUT, else {DEFAULT_RPC_TIMEOUT:g}; retries end within about 2 minutes)",
    )
    parser.add_argument(
        "--max-answer-bytes",
        type=byte_count,
        metavar="BYTES",
        help="largest answer taken from the node, e.g. 32MiB (default CROWDLEDGER_MAX_ANSWER_BYTES, else "
        "32MiB; an eth_getLogs answer over it asks for fewer blocks)",
    )


def add_db_arg(parser: argparse.ArgumentParser, what: str = "database URL") -> None:
    parser.add_argument(
        "--db",
        help=f"{what}: sqlite:///file.db or postgresql+psycopg://user:pass@host/db (default: "
        f"CROWDLEDGER_DB_URL, else the deployment file's, else {DEFAULT_DB_URL})",
    )


def add_finality_depth(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--finality-depth",
        type=non_negative,
        help="blocks below the tip after which entries are final (default CROWDLEDGER_FINALITY_DEPTH, else 12)",
    )


DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def add_server_args(parser: argparse.ArgumentParser, *, audit_interval: float) -> None:
    """The options `serve` and `up` share: where to serve, the chain and database, the follower's
    and the auditor's pace, the server's limits. Settings not given come from CROWDLEDGER_* variables."""
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to serve on (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=port, default=DEFAULT_PORT, help=f"API port (default {DEFAULT_PORT})")
    add_target_args(parser)
    add_db_arg(parser)
    parser.add_argument(
        "--from-block",
        type=non_negative,
        help="first block to index (default CROWDLEDGER_START_BLOCK, else the deployment's)",
    )
    add_finality_depth(parser)
    parser.add_argument(
        "--poll-interval",
        type=deadline,
        default=None,
        help="seconds between the follower's polls (default CROWDLEDGER_POLL_INTERVAL, else 0.5)",
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
    limits = parser.add_argument_group("the server's limits (default: their CROWDLEDGER_* variables)")
    limits.add_argument(
        "--max-header-bytes", type=non_negative, help="largest request head in bytes; larger is a 431"
    )
    limits.add_argument(
        "--header-timeout", type=deadline, help="seconds a request's head may take to arrive; then a 408"
    )
    limits.add_argument(
        "--forwarded-allow-ips",
        help="proxies (addresses or networks, comma-separated; * for any; `none`) whose X-Forwarded-For is trusted",
    )
    limits.add_argument(
        "--stream-max-clients", type=non_negative, help="open /ledger/stream connections at most"
    )
    limits.add_argument(
        "--stream-max-per-client",
        type=non_negative,
        help="open /ledger/stream connections per client at most",
    )
    limits.add_argument(
        "--stream-max-replay", type=non_negative, help="entries a new /ledger/stream may replay at most"
    )
