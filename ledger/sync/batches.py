"""How the indexer cuts and completes a batch of entries: runs of about a batch's size cut only
between blocks, and each entry's block time from its block's header."""

from __future__ import annotations

from collections.abc import Iterator

from ledger.chain.answers import BlockHeader
from ledger.core.records import LedgerEntry
from ledger.errors import NodeError


def chunks_by_block(
    entries: list[LedgerEntry], to_block: int, size: int
) -> Iterator[tuple[list[LedgerEntry], int]]:
    """Split a batch's entries (block order) into runs of about `size`, cutting only between
    blocks; yields (entries, last block covered). A run ends at its last entry's block (whose hash
    its last log carries); the last run ends at `to_block`."""
    start = 0
    while len(entries) - start > size:
        cut = start + size
        block = entries[cut].block_number
        while cut > start and entries[cut - 1].block_number == block:
            cut -= 1
        if cut == start:  # one block holds more than `size`: keep it whole
            while cut < len(entries) and entries[cut].block_number == block:
                cut += 1
            if cut == len(entries):
                break
        yield entries[start:cut], entries[cut - 1].block_number
        start = cut
    yield entries[start:], to_block


def with_block_times(entries: list[LedgerEntry], headers: dict[int, BlockHeader]) -> list[LedgerEntry]:
    """`entries` with their block's time from its header where the log had none (ganache leaves
    blockTimestamp out); NodeError where a log's time is not its block's."""
    for i, entry in enumerate(entries):
        header = headers[entry.block_number]
        if entry.block_timestamp is None:
            entries[i] = entry._replace(block_timestamp=header.timestamp)
        elif entry.block_timestamp != header.timestamp:
            raise NodeError(
                f"the node's log in block {entry.block_number} gives blockTimestamp {entry.block_timestamp}, "
                f"but block {entry.block_number} has the time {header.timestamp}"
            )
    return entries
