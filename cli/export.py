"""`crowdledger export`: every indexed entry as NDJSON or CSV, streamed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cli.common import open_indexed_store
from cli.settings import resolve
from ledger.audit.export import write_export
from ledger.errors import ConfigError


def run(args: argparse.Namespace) -> int:
    settings = resolve(args, "db_url")
    store = open_indexed_store(settings.db_url, settings.source("db_url"))
    if args.out in (None, "-"):
        write_export(store.iter_entries(), args.format, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return 0
    out = Path(args.out)
    tmp = out.with_name(out.name + ".partial")  # the file appears whole or not at all
    try:
        with open(tmp, "wb") as handle:
            count = write_export(store.iter_entries(), args.format, handle)
        tmp.replace(out)
    except OSError as exc:
        raise ConfigError(f"cannot write {args.out}: {exc.strerror}") from None
    print(f"exported {count:,} entries to {out}", file=sys.stderr)
    return 0
