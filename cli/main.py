"""The `crowdledger` command line: the parser and the dispatch.

Building the parser imports nothing heavy (cli/args.py): each command's implementation lives in
its own module (cli/index.py, audit.py, export.py, verify.py, publish.py, serve.py, up.py), imported
only when that command runs. Every setting is read one way (cli/settings.py): flag, else
CROWDLEDGER_* variable, else the deployment file, else the default. Every failure is one readable
line on stderr and a non-zero exit: 2 when the command could not run (bad input, node or database
trouble), 1 when an audit or a verification found discrepancies (or a document was refused), 130
on Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

from cli.args import (
    add_db_arg,
    add_deployment_arg,
    add_finality_depth,
    add_server_args,
    add_target_args,
    deadline,
    http_url,
    non_negative,
    port,
)
from ledger import LOG_FORMAT
from ledger.errors import CrowdLedgerError

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a reader that stopped early (`| head`) makes of a shell tool
DEFAULT_ANVIL_PORT = 8545
DEFAULT_DATA_DIR = ".crowdledger-demo"


def version() -> str:
    """The installed distribution's version; a checkout that is not installed says ledger's."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("crowdledger")
    except PackageNotFoundError:
        from ledger import __version__

        return __version__


class _Version(argparse.Action):
    """--version, read only when asked (importlib.metadata is not free)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        print(f"crowdledger {version()}")
        parser.exit()


def _command(sub: Any, name: str, module: str, **kwargs: Any) -> argparse.ArgumentParser:
    """A subcommand whose run(args) lives in cli.<module>, imported when it runs."""
    parser: argparse.ArgumentParser = sub.add_parser(name, **kwargs)
    parser.set_defaults(module=f"cli.{module}")
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crowdledger", description="Index, audit and verify a CrowdfundEscrow ledger."
    )
    parser.add_argument("--version", action=_Version, help="print the version and exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    index = _command(sub, "index", "index", help="mirror the escrow's ledger into a database")
    add_target_args(index)
    add_db_arg(index)
    index.add_argument(
        "--from-block",
        type=non_negative,
        help="first block to scan (default CROWDLEDGER_START_BLOCK, else the deployment block)",
    )
    add_finality_depth(index)
    index.add_argument("--follow", action="store_true", help="keep following the chain (Ctrl-C to stop)")
    index.add_argument(
        "--poll-interval",
        type=deadline,
        help="seconds between polls in --follow (default CROWDLEDGER_POLL_INTERVAL, else 0.5)",
    )
    index.add_argument(
        "--max-span",
        type=non_negative,
        default=100_000,
        help="most blocks per eth_getLogs call (default 100000)",
    )
    index.add_argument("--quiet", action="store_true", help="no progress bar or summary")

    audit = _command(
        sub,
        "audit",
        "audit",
        help="replay the ledger from the chain (or an export, offline) and check it",
        description="Exit 0 when clean, 1 when it found discrepancies, 2 when it could not run.",
    )
    add_target_args(audit)
    audit.add_argument(
        "--at-block", type=non_negative, help="audit as of this block (default: latest, or the --db's)"
    )
    audit.add_argument(
        "--from-block", type=non_negative, help="first block to scan (default: deployment block)"
    )
    add_db_arg(audit, "also diff this indexed database against the replay")
    audit.add_argument(
        "--from", dest="from_file", metavar="FILE", help="replay an export file offline ('-' for stdin)"
    )
    audit.add_argument("--chain-id", type=non_negative, help="with --from: the chain the ledger lives on")
    audit.add_argument("--expect-head", help="with --from: the ledgerHead() you read from a block explorer")
    audit.add_argument("--json", action="store_true", help="a machine-readable report")

    export = _command(sub, "export", "export", help="write every indexed entry as NDJSON or CSV")
    add_db_arg(export)
    add_deployment_arg(export)
    export.add_argument("--format", choices=["ndjson", "csv"], default="ndjson")
    export.add_argument("--out", help="file to write (default: standard output)")

    verify = _command(sub, "verify", "verify", help="check one transaction or one backer's contributions")
    add_target_args(verify)
    add_db_arg(verify, "indexed database (without one: the default if it exists, for --tx)")
    verify.add_argument("--tx", help="a transaction hash")
    verify.add_argument("--backer", help="a backer's address")
    verify.add_argument("--campaign", type=non_negative, help="with --backer: only this campaign")
    add_finality_depth(verify)
    verify.add_argument("--json", action="store_true", help="a machine-readable answer")

    publish = _command(
        sub,
        "publish",
        "publish",
        help="upload a document that the ledger commits to (campaign metadata, a report, a disclosure)",
        description="Sends FILE's exact bytes to the API (PUT /documents/0x{keccak256}) or stores them in "
        "the database directly; either way only a document whose Keccak-256 something on the ledger "
        "commits to is taken. Exit 0 stored (or already stored), 1 refused, 2 could not run.",
    )
    publish.add_argument("file", metavar="FILE", help="the document ('-' for standard input)")
    publish.add_argument(
        "--api",
        type=http_url,
        help="the API to upload to, e.g. http://127.0.0.1:8000 (default CROWDLEDGER_API_URL)",
    )
    publish.add_argument(
        "--hash", help="the hash the ledger commits to (default: FILE's Keccak-256); FILE must hash to it"
    )
    add_db_arg(publish, "without --api: the indexed database to store it in")
    add_deployment_arg(publish)

    up = _command(
        sub,
        "up",
        "up",
        help="the whole system on a local chain: anvil, escrow, demo data, indexer, API and web page",
        description="With no arguments: start anvil, deploy, seed a demo, index into SQLite and serve "
        "http://127.0.0.1:8000. With --rpc/--contract/--db: attach to an existing chain and database. "
        "The demo needs a CrowdLedger checkout (contracts/ and node_modules/).",
    )
    add_server_args(up, audit_interval=30.0)
    up.add_argument(
        "--anvil-port",
        type=port,
        default=DEFAULT_ANVIL_PORT,
        help=f"port of the local anvil (default {DEFAULT_ANVIL_PORT})",
    )
    up.add_argument("--backers", type=int, default=300, help="demo backers to seed (default 300)")
    up.add_argument("--seed", type=int, default=7, help="random seed of the demo data (default 7)")
    up.add_argument(
        "--data-dir",
        default=DEFAULT_DATA_DIR,
        help=f"where the demo keeps its database and deployment file (default {DEFAULT_DATA_DIR}/)",
    )

    serve = _command(
        sub,
        "serve",
        "serve",
        help="the API and web page, the follower and the auditor, on a chain and database",
    )
    add_server_args(serve, audit_interval=300.0)
    serve.add_argument(
        "--no-follow",
        action="store_true",
        help="do not index in this process (another runs `crowdledger index --follow`)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import logging  # after parsing: --help and --version need none of it

    quiet = getattr(args, "quiet", False)
    level = logging.DEBUG if args.verbose else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=level, format=LOG_FORMAT, stream=sys.stderr)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        return int(importlib.import_module(args.module).run(args))
    except CrowdLedgerError as exc:
        print(f"crowdledger: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("crowdledger: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away: nothing to say, and nothing more to write
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except Exception as exc:  # a bug: still one line, the traceback with --verbose
        if args.verbose:
            raise
        print(
            f"crowdledger: internal error: {type(exc).__name__}: {exc} (run with -v for details)",
            file=sys.stderr,
        )
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
