"""Progress of a long backfill: a bar with blocks/s, entries/s and the remaining range on a
terminal; a plain log line every few seconds otherwise; nothing with --quiet."""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

log = logging.getLogger("ledger.progress")


class Progress:
    """Reports blocks and entries processed out of a block range."""

    def __init__(self, *, quiet: bool = False, stream: TextIO | None = None, log_every: float = 5.0) -> None:
        self.quiet = quiet
        self.stream = stream if stream is not None else sys.stderr
        self.log_every = log_every
        self._bar = None
        self._start = self._last_log = time.monotonic()
        self._first_block = self._last_block = self._target = 0
        self.entries = 0

    @property
    def interactive(self) -> bool:
        return not self.quiet and hasattr(self.stream, "isatty") and self.stream.isatty()

    def start(self, first_block: int, target_block: int) -> None:
        """A backfill of blocks [first_block, target_block] begins."""
        self._first_block = self._last_block = first_block - 1
        self._target = target_block
        self._start = self._last_log = time.monotonic()
        self.entries = 0
        if self.interactive and target_block >= first_block:
            from tqdm import tqdm

            self._bar = tqdm(
                total=target_block - first_block + 1,
                unit="block",
                desc="indexing",
                file=self.stream,
                dynamic_ncols=True,
                smoothing=0.1,
            )

    def advance(self, to_block: int, entries: int) -> None:
        """Blocks up to `to_block` are stored, with `entries` more entries."""
        done = to_block - self._last_block
        self._last_block = to_block
        self.entries += entries
        elapsed = max(time.monotonic() - self._start, 1e-9)
        if self._bar is not None:
            self._bar.set_postfix(
                entries=f"{self.entries:,}",
                entries_s=f"{self.entries / elapsed:,.0f}",
                left=f"{max(self._target - to_block, 0):,} blocks",
                refresh=False,
            )
            self._bar.update(done)  # redraws, postfix included
        elif not self.quiet and time.monotonic() - self._last_log >= self.log_every:
            self._last_log = time.monotonic()
            blocks = to_block - self._first_block
            log.info(
                "indexed to block %d of %d: %d entries, %.0f blocks/s, %.0f entries/s, %d blocks left",
                to_block,
                self._target,
                self.entries,
                blocks / elapsed,
                self.entries / elapsed,
                max(self._target - to_block, 0),
            )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
