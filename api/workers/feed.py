"""The newest ledger entries, read once per process for every /ledger/stream client.

One task watches the checkpoint (`sync_state`: last seq, last head, final block; the indexer
commits it with the entries, in the same transaction) every `interval` seconds. When it moves, the
feed reads the new entries once, off the event loop (SQLite: a worker thread of its own lane;
PostgreSQL: the async pool), keeps the newest `window` of them in memory and wakes the streams,
which send from memory: a thousand clients cost one read per new batch, not a thousand. A client
that fell behind the window reads its gap from the database itself (api/streams.py).

A reorg removes provisional entries (and may put others in their place with the same seqs): when
the head moves, the feed compares the heads of the provisional entries it holds with the
database's, drops those that changed and counts a rollback (`generation`), so each stream tells
its client to forget the entries above the fork (a `rollback` event) before sending the new ones.
An entry's `final` flag is added as it is sent (block number <= the checkpoint's final block).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import NamedTuple

from api.queries.database import Database, Query
from ledger.core.public import finish
from ledger.errors import CrowdLedgerError

log = logging.getLogger("api.stream")

PAGE = 500  # entries per read
_STATE = Query("SELECT last_seq, last_head, final_block FROM sync_state WHERE id = 1")
_ENTRIES = Query(
    "SELECT seq, head, block_number, public_json FROM ledger_entries "
    "WHERE seq > :after AND seq <= :upto ORDER BY seq LIMIT :n"
)
_HEADS = Query("SELECT seq, head FROM ledger_entries WHERE seq >= :first AND seq <= :upto ORDER BY seq")


class Held(NamedTuple):
    """An entry as the feed holds it: its stored text, without `final`."""

    seq: int
    head: str
    block_number: int
    text: str


class EntryFeed:
    """The newest `window` entries and the checkpoint they were read at; `wait` for new ones."""

    def __init__(self, db: Database, interval: float, window: int) -> None:
        self.db = db
        self.interval = interval
        self.window = max(window, 1)
        self.last_seq: int | None = None  # None until the first read
        self.last_head: str | None = None
        self.final_block = -1
        self.held: deque[Held] = deque(maxlen=self.window)
        self.generation = 0  # rollbacks seen
        self.rollbacks: deque[tuple[int, int]] = deque(maxlen=256)  # (generation, the seq it rolled back to)
        self.failing = False
        self._changed = asyncio.Event()
        self._reading = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    # ---------------------------------------------------------------------------- for the streams

    async def current(self) -> int:
        """The newest indexed seq (reads it once if the feed has not yet)."""
        self._ensure_started()
        if self.last_seq is None:
            await self._read()
        return self.last_seq or 0

    async def wait(self, after: int, generation: int, timeout: float) -> bool:
        """Wait (at most `timeout` seconds) until entries after seq `after` exist or a rollback
        after `generation` happened; False on timeout."""
        self._ensure_started()
        deadline = asyncio.get_running_loop().time() + timeout
        while self.generation == generation and (self.last_seq is None or self.last_seq <= after):
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return True

    def rolled_back_to(self, generation: int) -> int | None:
        """The lowest seq a rollback after `generation` went back to, or None."""
        seqs = [seq for counted, seq in self.rollbacks if counted > generation]
        if self.rollbacks and self.rollbacks[0][0] > generation + 1:  # some were forgotten: assume the worst
            seqs.append(0)
        return min(seqs) if seqs else None

    def entries_after(self, after: int) -> list[tuple[int, str]] | None:
        """The entries after seq `after` as (seq, EntryPublic's text), or None when the window no
        longer reaches back to `after` (the caller reads the database)."""
        if self.last_seq is None or after >= self.last_seq:
            return []
        if not self.held or self.held[0].seq > after + 1:
            return None
        start = after + 1 - self.held[0].seq
        final = self.final_block
        return [
            (e.seq, finish(e.text, e.block_number <= final))
            for e in (self.held[i] for i in range(start, len(self.held)))
        ]

    # ----------------------------------------------------------------------------- the watcher

    def _ensure_started(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._watch(), name="crowdledger-entry-feed")

    async def _watch(self) -> None:
        while True:
            try:
                await self._read()
            except CrowdLedgerError as exc:
                if not self.failing:  # once per outage, not every poll
                    log.warning("the event stream cannot read the ledger: %s", exc)
                self.failing = True
            else:
                if self.failing:
                    log.info("the event stream reads the ledger again")
                self.failing = False
            await asyncio.sleep(self.interval)

    async def _read(self) -> None:
        async with self._reading:
            await self._read_locked()

    async def _read_locked(self) -> None:
        found = await self.db.fetch(_STATE, background=True)
        seq, head, final = (int(found[0][0]), found[0][1], int(found[0][2])) if found else (0, None, -1)
        if seq == self.last_seq and head == self.last_head:
            self.final_block = final
            return
        if self.last_seq is not None:
            await self._drop_replaced(seq)
        top = max(self.held[-1].seq if self.held else 0, seq - self.window)  # older ones would fall out
        if self.held and self.held[-1].seq < top:
            self.held.clear()  # the window moved past them: keep it contiguous
        while top < seq:
            rows = await self.db.fetch(_ENTRIES, {"after": top, "upto": seq, "n": PAGE}, background=True)
            if not rows:
                break
            self.held.extend(Held(int(s), h, int(b), text) for s, h, b, text in rows)
            top = int(rows[-1][0])
        self.last_seq, self.last_head, self.final_block = seq, head, final
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _drop_replaced(self, seq: int) -> None:
        """Drop the held entries a reorg removed or replaced, and count the rollback."""
        provisional = [e for e in self.held if e.block_number > self.final_block]
        keep = self.last_seq or 0
        if provisional:
            first, upto = provisional[0].seq, provisional[-1].seq
            rows = await self.db.fetch(_HEADS, {"first": first, "upto": upto}, background=True)
            now = {int(s): h for s, h in rows}
            changed = [e.seq for e in provisional if now.get(e.seq) != e.head]
            if changed:
                keep = changed[0] - 1
        keep = min(keep, seq)
        if keep < (self.last_seq or 0):
            while self.held and self.held[-1].seq > keep:
                self.held.pop()
            self.generation += 1
            self.rollbacks.append((self.generation, keep))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
