"""What the commands share when they run: the escrow they talk to (`resolve_target`), the indexed
database they read (`open_indexed_store`), and how they print a report."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger.chain.deployment import default_deployment_path, read_deployment
from ledger.core.addresses import checksum, parse_address
from ledger.errors import ConfigError, StorageError

if TYPE_CHECKING:
    from ledger.db.store import LedgerStore

EXIT_FINDINGS = 1  # an audit or a verification found discrepancies


@dataclass(frozen=True)
class Target:
    """Where the escrow lives: from flags, else from the deployment file."""

    rpc_url: str
    contract: str  # checksummed
    start_block: int


def resolve_target(args: argparse.Namespace) -> Target:
    """--rpc/--contract/--deployment (and --from-block where the command has it) as a Target."""
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
    contract = checksum(parse_address(contract, "--contract"))
    if getattr(args, "from_block", None) is not None:
        start = int(args.from_block)
    elif deployment is not None and deployment.address.lower() == contract.lower():
        start = deployment.block
    else:
        start = 0
    return Target(rpc_url=rpc_url, contract=contract, start_block=start)


def open_indexed_store(url: str) -> LedgerStore:
    """The store of a database the indexer has filled; a missing or empty one is an error."""
    from sqlalchemy.engine import make_url

    from ledger.db.engine import open_database
    from ledger.db.store import LedgerStore

    try:
        parsed = make_url(url)
    except Exception:
        raise StorageError(f"not a database URL: {url!r} (try sqlite:///crowdledger.db)") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).exists():
        raise StorageError(f"no database at {parsed.database}; run `crowdledger index` first or pass --db")
    store = LedgerStore(open_database(url))
    if store.read_sync_state() is None:
        shown = parsed.render_as_string(hide_password=True)
        raise StorageError(f"{shown} holds no indexed ledger; run `crowdledger index`")
    return store


def print_report(lines: Iterable[str], as_json: bool, payload: dict[str, Any]) -> None:
    """The report as lines of text, or with --json as one indented JSON document."""
    import orjson

    if as_json:
        sys.stdout.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        for line in lines:
            print(line)
