"""A large NDJSON export read on every core, for the offline audit.

The replay itself is sequential (each entry folds into the state the entries before it left), but
reading an export is not: each line carries its entry's head, so whether a line follows from the
line before it, head_n == keccak256(head_(n-1), fields_n) (HashChain.digest_after), needs nothing
but the two lines. An export splits into byte ranges (each starting at a line); worker processes
read a range each (ndjson_item: decode and check every field) and check its links, while the
replay folds the entries of the ranges before in order.

A worker answers a range as a `RangeRead`: one link byte per line (1 when the line is an entry
whose seq is one more than the line before's and whose head follows from it, else 0: the first line
of a range, a line that does not parse or does not chain), the range's plain entries (no terms) as
one msgspec JSON array of arrays, which the replay decodes at a fraction of what reading the lines
again costs, and the raw bytes of every other line (blank, malformed, or an entry with terms: kinds
1, 8 and 11), which the replay reads itself with the same ndjson_item, so its BadLines carry their
line numbers. The replay trusts a link byte only when the line before is the last entry it applied:
then each plain entry of a run of linked lines is folded as it comes, and the chain moves once to
the run's last head (Replayer.feed_linked); everything else it checks itself, with its findings,
exactly as without workers (tests/ledger/test_offline_parallel.py).

No plain entry waits as a LedgerEntry: a worker encodes each as it reads it, and the replay decodes
a range's into exact tuples and makes each a LedgerEntry as it takes it. The garbage collector stops
tracking a tuple of strings and ints, never an instance of a tuple subclass, and a range's worth of
those held at once would be scanned by collection after collection (about 1 µs an entry, on both
sides).
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from typing import NamedTuple

import msgspec

from ledger.audit.export_reader import MAX_LINE, BadLine, lines, ndjson_item, read_line
from ledger.core.hashing import HashChain
from ledger.core.records import LedgerEntry

CHUNK_BYTES = 8 << 20  # a worker's range: ~16,000 lines
MIN_FILE_BYTES = 32 << 20  # below this the workers' start-up costs more than they save
AHEAD = 2  # ranges read ahead per worker: the memory held stays a few ranges, whatever the file

# A plain entry on the way from a worker: LedgerEntry's fields, terms None.
_Plain = tuple[int, int, int, str, int, str, str, int, str, str, int, int | None, None]
_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(list[_Plain])


class RangeRead(NamedTuple):
    """What a worker answers for one range (see the module's docstring)."""

    links: bytes
    plain: bytes
    others: dict[int, bytes]  # line index in the range -> its raw bytes


class Linked(NamedTuple):
    """Plain entries of consecutive lines, each linked to the line before it (see `runs`)."""

    entries: Iterator[LedgerEntry]


def read_range(path: str, start: int, end: int) -> RangeRead:
    """The lines that start in [start, end) of the NDJSON export at `path` (`start` is a line's
    first byte), split as read_export splits them (ledger.audit.export_reader.lines)."""
    links = bytearray()
    plain = bytearray(b"[")  # the plain entries, each encoded as it is read (none held as objects)
    others: dict[int, bytes] = {}
    chain = HashChain("0x" + "00" * 32)
    previous = False  # whether the line before is an entry (its head and seq are the chain's)
    position = start  # of the next line
    encode_into = _ENCODER.encode_into
    with open(path, "rb") as handle:
        handle.seek(start)
        # the file's first line as read_export reads it (the rest of an overlong one is not skipped),
        # a later range's as read_export reads any other line
        first = handle.readline(MAX_LINE + 1) if start == 0 else read_line(handle)
        for index, raw in enumerate(lines(first, handle)):
            item = ndjson_item(0, raw)
            if item is None or isinstance(item, BadLine):
                links.append(0)
                others[index] = raw
                previous = False
            else:
                head = bytes.fromhex(item.head[2:])  # hex digits: ndjson_item checked them
                linked = previous and item.seq == chain.length + 1 and chain.digest_after(item) == head
                links.append(linked)
                chain.advance(head, item.seq)
                previous = True
                if item.terms is None:
                    encode_into(item, plain, -1)
                    plain += b","
                else:
                    others[index] = raw
            # a line of at most MAX_LINE bytes was read whole; the rest of a longer one may be skipped
            position = position + len(raw) if len(raw) <= MAX_LINE else handle.tell()
            if position >= end:  # the next line starts the next range
                break
    if len(plain) > 1:
        del plain[-1]  # the comma after the last entry
    plain += b"]"
    return RangeRead(bytes(links), bytes(plain), others)


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


class ParallelExport:
    """An NDJSON export read by worker processes, a few ranges ahead of the replay."""

    def __init__(self, path: str, size: int, workers: int) -> None:
        self._path = path
        starts = line_starts(path, size)
        self._ranges = deque(zip(starts, [*starts[1:], size]))
        # forked, not spawned: nothing is imported again, and parallel_export forks only a process
        # that runs no other thread (the command line)
        self._pool: ProcessPoolExecutor | None = ProcessPoolExecutor(
            max_workers=workers, mp_context=get_context("fork")
        )
        self._ahead: deque[tuple[tuple[int, int], Future[RangeRead]]] = deque()
        self._limit = workers * AHEAD

    def _submit(self) -> None:
        while self._pool is not None and self._ranges and len(self._ahead) < self._limit:
            bounds = self._ranges.popleft()
            self._ahead.append((bounds, self._pool.submit(read_range, self._path, *bounds)))

    def _next_range(self) -> RangeRead | None:
        self._submit()
        if self._ahead:
            bounds, future = self._ahead.popleft()
            try:
                return future.result()
            except Exception:  # a worker died (BrokenProcessPool) or failed: this process reads the rest
                self._ranges.extendleft(reversed([bounds, *(b for b, _ in self._ahead)]))
                self._ahead.clear()
                self.close()
        if self._ranges:
            return read_range(self._path, *self._ranges.popleft())
        return None

    def runs(self) -> Iterator[tuple[int, LedgerEntry | BadLine | Linked, bool]]:
        """(line number, entry or BadLine, whether it links to the line before) for every line
        that is not blank, in order, except that the plain entries after one, each linked to the
        line before it, come together as one `Linked` at the number of its first line."""
        make = LedgerEntry._make
        base = 0  # the line number before the range's first line
        while (read := self._next_range()) is not None:
            plain = _DECODER.decode(read.plain)  # made entries one at a time, as the replay takes them
            links, others = read.links, read.others
            index = taken = 0  # the range's next line, and its next plain entry
            for stop in [*others, len(links)]:  # others' keys ascend (read_range adds them in order)
                while index < stop:  # lines index to stop - 1 are plain entries
                    # one of them, then those after it up to the next that does not link
                    end = links.find(0, index + 1, stop)
                    end = stop if end < 0 else end
                    yield base + index + 1, make(plain[taken]), links[index] == 1
                    if end > index + 1:
                        after = plain[taken + 1 : taken + end - index]
                        yield base + index + 2, Linked(map(make, after)), True
                    taken += end - index
                    index = end
                if stop < len(links):
                    item = ndjson_item(base + stop + 1, others[stop])
                    if item is not None:
                        yield base + stop + 1, item, links[stop] == 1
                    index = stop + 1
            base += len(links)

    def close(self) -> None:
        """Stop the workers: the ranges not started are cancelled, a range being read is waited
        for (a few milliseconds), so no thread of the pool outlives the audit."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def parallel_export(path: str | None) -> ParallelExport | None:
    """Workers for the export at `path` when they pay and can be forked safely: a file of at least
    MIN_FILE_BYTES (not standard input, not CSV), a second core, and no other thread running."""
    cores = os.cpu_count() or 1
    if path is None or cores < 2 or threading.active_count() > 1:
        return None
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as handle:
            ndjson = handle.read(1).startswith(b"{")
    except OSError:
        return None
    if size < MIN_FILE_BYTES or not ndjson:
        return None
    return ParallelExport(path, size, workers=cores)
