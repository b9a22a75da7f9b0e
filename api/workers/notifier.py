"""Wakes the /ledger/stream clients when new entries are indexed.

One task per process watches sync_state.last_seq (the indexer commits it with the entries, in
the same transaction) every `interval` seconds and wakes every waiting client when it moves;
the indexer may be this process's follower or another process (`crowdledger index --follow`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from api.queries.checkpoint import last_seq
from api.queries.database import Database
from ledger.errors import CrowdLedgerError

log = logging.getLogger("api.stream")


class EntryNotifier:
    def __init__(self, db: Database, interval: float) -> None:
        self.db = db
        self.interval = interval
        self.last_seq: int | None = None
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        while True:
            try:
                seq = await last_seq(self.db)
            except CrowdLedgerError as exc:
                log.warning("cannot read the checkpoint: %s", exc)
            else:
                if seq != self.last_seq:
                    self.last_seq = seq
                    changed, self._changed = self._changed, asyncio.Event()
                    changed.set()
            await asyncio.sleep(self.interval)

    def _ensure_started(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._watch(), name="crowdledger-entry-notifier"
            )

    async def current(self) -> int:
        """The newest indexed seq."""
        self._ensure_started()
        if self.last_seq is None:
            self.last_seq = await last_seq(self.db)
        return self.last_seq

    async def wait_beyond(self, seq: int) -> int:
        """Wait until the newest indexed seq differs from `seq` and return it (it is lower after
        a reorg removed provisional entries)."""
        self._ensure_started()
        while self.last_seq is None or self.last_seq == seq:
            await self._changed.wait()
        return self.last_seq

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
