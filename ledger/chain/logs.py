"""Adaptive eth_getLogs ranges that never skip a block.

    fetcher = LogFetcher(rpc, escrow_address)
    for batch in fetcher.iter_batches(deploy_block, head):
        store(batch.logs)                     # batch.from_block .. batch.to_block, no gaps

The span shrinks when the provider refuses a range (to its suggested range, else by half) and
doubles again after `grow_after` consecutive successes, up to `max_span`. Given `expected_logs`
(how many logs the whole range holds, e.g. the contract's own count) and `target_logs`, the span
is also paced: it never exceeds the blocks that would hold `target_logs` at the average density
of what is still to come, so a sparse stretch does not grow it into one huge answer for a dense
one. With prefetch, one background thread fetches the next range while the caller processes the
current batch; at most two batches exist at a time (the caller's and the one being fetched).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from ledger.chain.answers import RawLog, quantity
from ledger.chain.rpc import RpcClient, range_too_wide
from ledger.errors import ConfigError, NodeError, RangeTooWide

log = logging.getLogger("ledger.logs")

PREFETCH_THREAD_NAME = "crowdledger-logs-prefetch"
_DONE = object()
_POLL = 0.1  # seconds between stop checks while the prefetch thread waits


@dataclass(frozen=True)
class LogBatch:
    """The logs of [from_block, to_block] (inclusive), in the node's (block, logIndex) order: RawLog
    structs, or what the fetcher's `decode` made of them."""

    from_block: int
    to_block: int
    logs: list[Any]


def check_request(logs: list[RawLog], address: str, start: int, end: int) -> None:
    """Each log is one of what was asked for: the address's, in a block of [start, end]. NodeError
    naming the log and the block otherwise: nothing of such an answer is used."""
    wanted = address.lower()
    for raw in logs:
        block = quantity(raw, "blockNumber", raw.block_number)
        if not start <= block <= end:
            raise NodeError(
                f"asked for the logs of blocks {start}-{end}, the node answered one in block {block} "
                f"(tx {raw.transaction_hash})"
            )
        if raw.address.lower() != wanted:
            raise NodeError(
                f"asked for the logs of {address}, the node answered one of {raw.address} in block {block}"
            )


class LogFetcher:
    """Fetch one address's logs over a block range in adaptive, contiguous batches."""

    def __init__(
        self,
        rpc: RpcClient,
        address: str,
        *,
        topics: list[Any] | None = None,
        initial_span: int = 2_000,
        min_span: int = 1,
        max_span: int = 100_000,
        grow_after: int = 3,
        prefetch: bool = True,
        target_logs: int | None = None,
        expected_logs: int | None = None,
        decode: Callable[[list[RawLog]], list[Any]] | None = None,
    ) -> None:
        if min_span < 1:
            raise ConfigError(f"min_span must be >= 1, got {min_span}")
        if max_span < min_span:
            raise ConfigError(f"max_span ({max_span}) must be >= min_span ({min_span})")
        if grow_after < 1:
            raise ConfigError(f"grow_after must be >= 1, got {grow_after}")
        self.rpc = rpc
        self.address = address
        self.topics = topics
        self.min_span = min_span
        self.max_span = max_span
        self.grow_after = grow_after
        self.prefetch = prefetch
        self.span = max(min_span, min(max_span, initial_span))
        self.target_logs = target_logs  # keep batches near this many logs: memory stays flat
        self.expected_logs = expected_logs  # a hint only: a wrong count costs speed, never a block
        self.decode = (
            decode  # turns an answer's logs into records (e.g. events.decode_logs) in the fetch thread
        )
        self._successes = 0
        self._fetched = 0  # logs fetched so far, for the pace

    def iter_batches(self, start: int, end: int) -> Generator[LogBatch, None, None]:
        """Contiguous ascending batches covering [start, end] exactly once (none if start > end)."""
        if start < 0 or end < 0:
            raise ConfigError(f"block numbers must not be negative: [{start}, {end}]")
        if self.prefetch:
            return self._iter_prefetched(start, end)
        return self._iter_plain(start, end)

    # --- fetching ------------------------------------------------------------------------------

    def _paced_span(self, start: int, end: int) -> int:
        """The span, capped by the density of the logs still expected in [start, end]."""
        if not (self.target_logs and self.expected_logs and self.expected_logs > self._fetched):
            return self.span
        blocks = end - start + 1
        pace = blocks * self.target_logs // (self.expected_logs - self._fetched)
        return max(self.min_span, min(self.span, pace))

    def _fetch(self, start: int, end: int) -> LogBatch:
        """The next batch starting at `start` (ending at or before `end`), adapting the span."""
        while True:
            self.span = self._paced_span(start, end)
            to_block = min(end, start + self.span - 1)
            try:
                raws = self.rpc.get_logs(self.address, start, to_block, self.topics)
                check_request(raws, self.address, start, to_block)
                logs: list[Any] = raws if self.decode is None else self.decode(raws)
            except RangeTooWide as exc:
                self._successes = 0
                width = to_block - start + 1
                suggested = getattr(exc, "suggested_to_block", None)
                if suggested is not None and start <= suggested < to_block:
                    new_span = suggested - start + 1
                else:
                    new_span = width // 2
                new_span = max(self.min_span, new_span)
                if new_span >= width:
                    raise range_too_wide(
                        exc.method,
                        exc.code,
                        f"the provider refuses eth_getLogs for blocks [{start}, {to_block}] "
                        f"({width} block{'s' if width != 1 else ''}, min_span {self.min_span}) "
                        f"and the range cannot be split further: {exc.message}",
                        exc.data,
                    ) from exc
                log.info(
                    "eth_getLogs [%d, %d] refused (%s); span %d -> %d",
                    start,
                    to_block,
                    exc.message,
                    self.span,
                    new_span,
                )
                self.span = new_span
                continue
            self._successes += 1
            self._fetched += len(logs)
            width = to_block - start + 1
            if self.target_logs and len(logs) > self.target_logs:
                # a dense stretch: shrink the next span in proportion, keep this batch
                self.span = max(self.min_span, width * self.target_logs // len(logs))
                self._successes = 0
            elif self.target_logs and len(logs) * 2 > self.target_logs:
                self._successes = 0  # about the right size: hold the span
            elif self._successes >= self.grow_after and self.span < self.max_span:
                self.span = min(self.max_span, self.span * 2)
                self._successes = 0
            return LogBatch(start, to_block, logs)

    def _iter_plain(self, start: int, end: int) -> Generator[LogBatch, None, None]:
        position = start
        while position <= end:
            batch = self._fetch(position, end)
            position = batch.to_block + 1
            yield batch

    def _iter_prefetched(self, start: int, end: int) -> Generator[LogBatch, None, None]:
        if start > end:
            return
        # Two slots: the batch the consumer is processing and the one being fetched. The
        # producer takes a slot before fetching; the consumer frees one when it asks for more.
        slots = threading.Semaphore(2)
        ready: queue.SimpleQueue[Any] = queue.SimpleQueue()
        stop = threading.Event()

        def produce() -> None:
            position = start
            try:
                while position <= end:
                    while not slots.acquire(timeout=_POLL):
                        if stop.is_set():
                            return
                    if stop.is_set():
                        return
                    batch = self._fetch(position, end)
                    position = batch.to_block + 1
                    ready.put(batch)
                    del batch
                ready.put(_DONE)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer, in order
                ready.put(exc)

        thread = threading.Thread(target=produce, name=PREFETCH_THREAD_NAME, daemon=True)
        thread.start()
        try:
            while True:
                try:
                    item = ready.get(timeout=_POLL)
                except queue.Empty:
                    if not thread.is_alive() and ready.empty():
                        raise RuntimeError("the log prefetch thread died without a result") from None
                    continue
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
                del item
                slots.release()
        finally:
            stop.set()
            slots.release()  # wake a producer waiting for a slot
            thread.join(timeout=max(2.0, 4 * _POLL))
            if thread.is_alive():  # mid-request: it exits when that request ends
                log.debug("log prefetch thread still finishing its request; left to exit on its own")
