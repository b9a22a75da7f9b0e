"""Command-line wrappers around devnet: deploy, seed and the local demo.

Each script runs as `python -m scripts.<name> --help`; deploy and seed also run under brownie
(`brownie run scripts/deploy.py`), which calls their `main()`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from ledger.errors import CrowdLedgerError


def run_cli(prog: str, body: Callable[[], int]) -> int:
    """Run a script body: a CrowdLedgerError becomes one readable line on stderr and exit 1,
    Ctrl-C exit 130."""
    try:
        return body()
    except CrowdLedgerError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
