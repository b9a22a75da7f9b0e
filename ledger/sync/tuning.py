"""The interpreter's settings while a backfill runs (process-wide, restored after).

A backfill is three threads in one process sharing the GIL: the prefetch thread decodes the next
range, the main thread verifies a batch and builds its rows, the writer thread stores the batch
before it. Two of CPython's defaults cost it most of its speed:

- **The garbage collector's first threshold** (700 new objects). The batches in flight keep enough
  new objects alive that the collector ran ~300 times per 100,000 entries (3 of them full
  collections), with the GIL held: ~0.35-0.45 s. During a backfill it is at least 20,000; cyclic
  garbage stays bounded (it still runs, every 20,000 objects kept).
- **The switch interval** (5 ms). sqlite3's executemany gives the GIL up around every row's
  sqlite3_step and must take it back for the next row; while the main thread runs Python, the
  writer waits up to a whole interval for it, on every row. Measured here (bench: 100,000 rows in
  batches of 5,000 beside a thread running Python): 3.4-3.6 s at 5 ms, 1.1 s at 0.5 ms, 0.8-0.9 s
  with no other thread. During a backfill it is 0.5 ms.

Backfills that overlap in one process (two indexers) restore the settings when the last one ends.
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

BACKFILL_GC_THRESHOLD = 20_000
BACKFILL_SWITCH_INTERVAL = 0.0005  # seconds

_lock = threading.Lock()
_running = 0  # backfills running in this process
_saved: tuple[tuple[int, ...], float] | None = None  # the settings from before the first of them


@contextmanager
def backfill_tuning(
    threshold: int = BACKFILL_GC_THRESHOLD, switch_interval: float = BACKFILL_SWITCH_INTERVAL
) -> Iterator[None]:
    """The collector's first threshold at least `threshold` and the switch interval at most
    `switch_interval` while the block runs; then both as they were."""
    global _saved, _running
    with _lock:
        if _running == 0:
            _saved = gc.get_threshold(), sys.getswitchinterval()
        _running += 1
        current = gc.get_threshold()
        gc.set_threshold(max(current[0], threshold), *current[1:])
        sys.setswitchinterval(min(sys.getswitchinterval(), switch_interval))
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            if _running == 0 and _saved is not None:
                gc.set_threshold(*_saved[0])
                sys.setswitchinterval(_saved[1])
