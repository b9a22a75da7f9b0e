"""What the commands share when they run: the escrow they talk to (`resolve_target`), the indexed
database they read (`open_indexed_store`), and how they print a report. Every setting comes
through cli/settings.py: flag, else CROWDLEDGER_* variable, else deployment file, else default."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.settings import DEFAULT, Settings, missing_target, resolve
from ledger.errors import StorageError

if TYPE_CHECKING:
    from ledger.db.store import LedgerStore

EXIT_FINDINGS = 1  # an audit or a verification found discrepancies
NODE_SETTINGS = ("rpc_url", "contract", "start_block", "rpc_timeout", "max_answer_bytes")


@dataclass(frozen=True)
class Target:
    """Where the escrow lives, and the run's other settings."""

    rpc_url: str
    contract: str  # checksummed
    start_block: int
    settings: Settings


def resolve_target(args: argparse.Namespace, *more: str) -> Target:
    """The node and the escrow (with the first block to scan, and the settings `more`), each from
    its flag, else its variable, else the deployment file; ConfigError when either is missing."""
    settings = resolve(args, *NODE_SETTINGS, *more)
    if not settings.rpc_url or not settings.contract:
        raise missing_target()
    return Target(settings.rpc_url, settings.contract, settings.start_block, settings)


def sqlite_path(url: str) -> Path | None:
    """The file of a sqlite:/// URL (None for another database, or an in-memory one)."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        raise StorageError(f"not a database URL: {url!r} (try sqlite:///crowdledger.db)") from None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def shown(url: str) -> str:
    """A database URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(a database URL that does not parse)"


def open_indexed_store(url: str, where: str = "--db") -> LedgerStore:
    """The store of a database the indexer has filled; a missing or empty one is an error that
    says where the URL came from (`where`)."""
    from ledger.db.engine import open_database
    from ledger.db.store import LedgerStore

    where = "the default --db" if where == DEFAULT else where
    path = sqlite_path(url)
    if path is not None and not path.exists():
        raise StorageError(
            f"no database at {path} ({where}); run `crowdledger index` first or give another --db"
        )
    store = LedgerStore(open_database(url))
    if store.read_sync_state() is None:
        store.engine.dispose()
        raise StorageError(f"{shown(url)} ({where}) holds no indexed ledger; run `crowdledger index`")
    return store


def print_report(lines: Iterable[str], as_json: bool, payload: dict[str, Any]) -> None:
    """The report as lines of text, or with --json as one indented JSON document."""
    import orjson

    if as_json:
        sys.stdout.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        for line in lines:
            print(line)
