"""The hash-chain links of an export file, checked on the other cores.

Each line of an export carries its entry's head, so whether a line follows from the line before
it, head_n == keccak256(head_(n-1), fields_n) (HashChain.digest_after), needs nothing but the two
lines: an export splits into byte ranges that worker processes check at once while the replay
folds the entries in order. A worker answers one byte per line: 1 when the line is an entry whose
head follows from the previous line's head, else 0 (the first line of a range, a line that does
not parse or does not chain). The replay trusts a 1 only when the previous line is the last entry
it applied; everything else it checks itself, with its findings, exactly as without workers.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

from ledger.audit.export_reader import MAX_LINE, BadLine, lines, ndjson_item
from ledger.core.hashing import HashChain

CHUNK_BYTES = 8 << 20  # a worker's range: ~9,000 lines
MIN_FILE_BYTES = 32 << 20  # below this the workers' start-up costs more than they save


def check_range(path: str, start: int, end: int) -> bytes:
    """The link bytes of the lines that start in [start, end) of the NDJSON export at `path`
    (`start` is a line's first byte)."""
    links = bytearray()
    chain = HashChain("0x" + "00" * 32)
    previous = False  # whether the line before is an entry (its head is the chain's)
    with open(path, "rb") as handle:
        handle.seek(start)
        first = handle.readline(MAX_LINE + 1)
        for raw in lines(first, handle):  # as read_export splits them: one byte per line
            item = ndjson_item(0, raw)
            if item is None or isinstance(item, BadLine):
                links.append(0)
                previous = False
            else:
                links.append(1 if previous and chain.digest_after(item).hex() == item.head[2:] else 0)
                chain.reset(item.head, item.seq)
                previous = True
            if handle.tell() >= end:  # the next line starts the next range
                break
    return bytes(links)


def line_starts(path: str, size: int) -> list[int]:
    """Offsets where ranges of about CHUNK_BYTES start, each at the beginning of a line."""
    chunk = CHUNK_BYTES
    starts = [0]
    with open(path, "rb") as handle:
        while starts[-1] + chunk < size:
            handle.seek(starts[-1] + chunk)
            while True:  # to the end of the line the cut fell in, a piece at a time
                piece = handle.readline(1 << 20)
                if not piece or piece.endswith(b"\n"):
                    break
            offset = handle.tell()
            if offset >= size:
                break
            starts.append(offset)
    return starts


class Links:
    """The link bytes of a whole export, computed ahead by worker processes and read in line
    order (`linked`)."""

    def __init__(self, path: str, size: int, workers: int) -> None:
        starts = line_starts(path, size)
        # forked, not spawned: nothing is imported again, and links_for forks only a process that
        # runs no other thread (the command line)
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork"))
        bounds = zip(starts, [*starts[1:], size])
        self._futures: Iterator[Future[bytes]] = iter(
            [self._pool.submit(check_range, path, a, b) for a, b in bounds]
        )
        self._base = 0  # the index of the current range's first line
        self._current = b""

    def linked(self, number: int) -> bool:
        """Whether line `number` (from 1, asked in increasing order) follows from the line before."""
        index = number - 1
        while index >= self._base + len(self._current):
            self._base += len(self._current)
            found = next(self._futures, None)
            if found is None:
                return False
            try:
                self._current = found.result()
            except BrokenProcessPool:  # a worker died: the replay checks every link itself
                self._futures = iter([])
                return False
        return self._current[index - self._base] == 1

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def links_for(path: str | None) -> Links | None:
    """Workers for the export at `path` when they pay and can be forked safely: a file of at least
    MIN_FILE_BYTES (not standard input, not CSV), a core to spare, and no other thread running."""
    if path is None or (os.cpu_count() or 1) < 2 or threading.active_count() > 1:
        return None
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as handle:
            ndjson = handle.read(1).startswith(b"{")
    except OSError:
        return None
    if size < MIN_FILE_BYTES or not ndjson:
        return None
    return Links(path, size, workers=max(1, (os.cpu_count() or 2) - 1))
