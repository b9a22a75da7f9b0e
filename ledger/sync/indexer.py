"""Follow one CrowdfundEscrow on a JSON-RPC node and mirror its ledger into the database.

Each pass (`sync_once`):
1. checks the stored checkpoint block still has the hash it had; if not, a reorg happened: it
   rolls back to the newest stored block the node still agrees with, or stops with
   ReorgTooDeepError when that lies below the final block;
2. backfills blocks that are already final (deeper than `finality_depth` below the tip) with
   adaptive, prefetched eth_getLogs ranges (read in a process of its own when long:
   ledger/sync/fetching.py);
3. ingests the provisional blocks near the tip, checking that the chain did not move while it
   read them (the tip's hash before and after, and every log's block hash against its header);
   then builds the indexes an initial backfill deferred.
Every entry's seq and head are verified before anything is stored; a batch, its projections and
the checkpoint are committed in one transaction.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Generator, Sequence
from dataclasses import replace

from ledger.chain.answers import BlockHeader
from ledger.chain.contract import EscrowReader
from ledger.chain.logs import LogBatch
from ledger.chain.rpc import RpcClient
from ledger.core.hashing import HashChain
from ledger.core.records import LedgerEntry, Projections
from ledger.db.store import LedgerStore, SyncState
from ledger.errors import ConfigError, NodeError, ReorgTooDeepError
from ledger.sync.batches import chunks_by_block
from ledger.sync.fetching import FetchJob, FetchProcess, Spans, backfill_fetcher, read_recent
from ledger.sync.progress import Progress
from ledger.sync.token_metadata import TokenMetadata
from ledger.sync.tuning import backfill_tuning
from ledger.sync.writer import BatchWriter

log = logging.getLogger("ledger.indexer")

DEFAULT_FINALITY_DEPTH = 12
# Entries per eth_getLogs answer the adaptive ranges aim at, and per committed batch
DEFAULT_TARGET_LOGS = 5_000
# A backfill over more blocks than this asks the contract how many entries they hold, to pace its
# ranges; a follower's pass covers a block or two and asks nothing.
_PACE_FROM_BLOCKS = 16
# Projection rows a backfill keeps in memory between batches (then it starts over): enough for
# the positions a dense stretch touches, small enough that memory stays flat on any chain.
CACHED_POSITIONS = 200_000
# a backfill expecting at least this many entries reads the chain in a process of its own
# (ledger/sync/fetching.py: ~0.2 s to start, ~25% less time on 100,000 entries)
PROCESS_FROM = 50_000


class Indexer:
    """Mirrors the ledger of the escrow at `contract` into `store`."""

    def __init__(
        self,
        rpc: RpcClient,
        store: LedgerStore,
        contract: str,
        *,
        start_block: int = 0,
        finality_depth: int = DEFAULT_FINALITY_DEPTH,
        progress: Progress | None = None,
        initial_span: int = 100,
        max_span: int = 100_000,
        target_logs: int = DEFAULT_TARGET_LOGS,
        poll_interval: float = 0.5,
        fetch_process: bool | None = None,
        reader: FetchProcess | None = None,
    ) -> None:
        if finality_depth < 0:
            raise ConfigError("--finality-depth must be 0 or more")
        if start_block < 0:
            raise ConfigError("--from-block must be 0 or more")
        self.rpc = rpc
        self.store = store
        self.contract = contract.lower()
        self.start_block = start_block
        self.finality_depth = finality_depth
        self.progress = progress or Progress(quiet=True)
        self.initial_span = initial_span
        self.max_span = max_span
        self.target_logs = target_logs
        self.poll_interval = poll_interval
        self.fetch_process = fetch_process  # None: when the backfill expects PROCESS_FROM entries or more
        # a reading process started ahead (FetchProcess()): the first pass reads in it or closes it
        self._reader = reader
        self._indexes_checked = False
        self.tokens = TokenMetadata(rpc, store)

    # ----------------------------------------------------------------- set-up

    def prepare(self) -> SyncState:
        """Check the node and contract, and create or check the checkpoint."""
        chain_id = self.rpc.chain_id()
        EscrowReader(self.rpc, self.contract).check_is_escrow()
        state = self.store.read_sync_state()
        if state is not None and state.last_seq == 0 and state.start_block != self.start_block:
            state = None  # nothing indexed yet: start again from the block asked for
            self.store.clear_empty_checkpoint()
        if state is None:
            state = SyncState(
                chain_id=chain_id,
                contract=self.contract,
                start_block=self.start_block,
                last_block=self.start_block - 1,
                last_block_hash=None,
                last_seq=0,
                last_head=HashChain.genesis(chain_id, self.contract).head,
                finality_depth=self.finality_depth,
                final_block=self.start_block - 1,
                tip_block=self.start_block - 1,
            )
            self.store.init_sync_state(state)
            return state
        if state.chain_id != chain_id or state.contract != self.contract:
            raise ConfigError(
                f"this database indexes {state.contract} on chain {state.chain_id}, not {self.contract} on "
                f"chain {chain_id}; use another --db"
            )
        if state.finality_depth != self.finality_depth:
            state.finality_depth = self.finality_depth
        self.tokens.read_unread()
        return state

    # ----------------------------------------------------------------- the loop

    def run(self, *, follow: bool = False, stop: threading.Event | None = None) -> int:
        """Index up to the tip; with `follow`, keep polling until `stop` is set. Returns the
        number of entries stored."""
        stop = stop or threading.Event()
        try:
            self.prepare()
            total = self.sync_once()
        finally:
            if self._reader is not None:  # the first pass did not need it
                self._reader.close()
                self._reader = None
        while follow and not stop.is_set():
            if stop.wait(self.poll_interval):
                break
            try:
                total += self.sync_once()
            except NodeError as exc:  # the node went away: keep the follower alive and retry
                log.warning("node error, retrying: %s", exc)
                stop.wait(min(5.0, self.poll_interval * 4))
        return total

    def sync_once(self) -> int:
        """One pass up to the current tip. Returns the number of entries stored."""
        try:
            return self._sync_once()
        except BaseException:
            self.tokens.forget()  # a batch that read tokens may not have been stored
            raise

    def _sync_once(self) -> int:
        state = self.store.read_sync_state()
        if state is None:
            state = self.prepare()
        state.finality_depth = self.finality_depth
        state = self._handle_reorg(state)
        tip_header = self.rpc.require_block("latest")
        tip = tip_header.number
        final = tip - self.finality_depth
        if tip <= state.last_block:
            self._ensure_indexes()
            return 0
        chain = HashChain(state.last_head, state.last_seq)
        stored = 0
        self.progress.start(state.last_block + 1, tip)
        cache: Projections | None = None  # the backfill's projection rows, all committed
        try:
            if state.last_block < final:
                state, count, cache = self._backfill(state, chain, state.last_block + 1, final, tip_header)
                stored += count
            if state.last_block < tip:  # before the deferred indexes are built: none to keep up
                state, count = self._ingest_recent(state, chain, state.last_block + 1, tip, final, cache)
                stored += count
            self._ensure_indexes()
        finally:
            self.progress.close()
        return stored

    # ----------------------------------------------------------------- final blocks

    def _backfill(
        self, state: SyncState, chain: HashChain, first: int, last: int, tip_header: BlockHeader
    ) -> tuple[SyncState, int, Projections]:
        """Store the final blocks [first, last] in pipelined batches; the new checkpoint, the
        entries stored and the projection cache (every row in it committed)."""
        expected = self._entries_to_come(state, tip_header) if last - first >= _PACE_FROM_BLOCKS else None
        spans = Spans(self.initial_span, self.max_span, self.target_logs, expected)
        in_process = self.fetch_process if self.fetch_process is not None else (expected or 0) >= PROCESS_FROM
        stored = 0
        tip = tip_header.number
        if state.last_seq == 0:
            # an initial sync: build the ledger's secondary indexes once at the end (_ensure_indexes)
            self.store.drop_deferred_indexes()
            self._indexes_checked = False
        # into an empty database the cache holds every projection row, so a miss means a new row
        cache = Projections(complete=state.last_seq == 0)
        # last before the try: nothing may raise between starting the reading and its finally
        source: FetchProcess | None = None
        batches: Generator[LogBatch, None, None]
        if in_process:  # read and checked in a process of its own (ledger/sync/fetching.py)
            job = FetchJob.of(self.rpc, self.contract, first, last, chain, spans)
            source, self._reader = self._reader or FetchProcess(), None
            source.start(job)
            batches = iter(source)
        else:  # read and decoded on the prefetch thread, beside the next fetch
            batches = backfill_fetcher(self.rpc, self.contract, spans).iter_batches(first, last)
        try:
            # three stages at once: the fetch thread (or process) reads and decodes the next range,
            # this thread verifies a batch and prepares its rows, the writer stores the batch before it
            with (
                backfill_tuning(),
                BatchWriter(self.store.write_batch, on_committed=self.progress.advance) as writer,
            ):
                for batch in batches:
                    entries = batch.logs
                    self._check_first(chain, entries)
                    if source is None:
                        chain.append_many(entries)
                    elif entries:  # the reading process checked the chain
                        chain.reset(entries[-1].head, entries[-1].seq)
                    # a provider may hand back a dense stretch at once: commit it in block-aligned
                    # chunks so transactions stay bounded and progress keeps moving
                    for chunk, chunk_end in chunks_by_block(entries, batch.to_block, self.target_logs):
                        end_hash = self._block_hash(chunk, chunk_end)
                        state = replace(
                            state,
                            last_block=chunk_end,
                            last_block_hash=end_hash,
                            last_seq=chunk[-1].seq if chunk else state.last_seq,
                            last_head=chunk[-1].head if chunk else state.last_head,
                            final_block=max(state.final_block, chunk_end),
                            tip_block=tip,
                            tip_timestamp=tip_header.timestamp,
                        )
                        if len(cache.positions) > CACHED_POSITIONS:
                            writer.wait()  # a new cache reads rows from the database: all must be there
                            cache = Projections()
                        prepared = self.store.prepare_batch(
                            chunk,
                            state,
                            [(chunk_end, end_hash)],
                            cache=cache,
                            tokens=self.tokens.first_seen(chunk),
                        )
                        writer.submit(prepared, done=(chunk_end, len(chunk)))
                        stored += len(chunk)
        finally:
            batches.close()
            if source is not None:
                source.close()
        return state, stored, cache

    # ----------------------------------------------------------------- provisional blocks

    def _ingest_recent(
        self,
        state: SyncState,
        chain: HashChain,
        first: int,
        tip: int,
        final: int,
        cache: Projections | None = None,
    ) -> tuple[SyncState, int]:
        """Store the provisional blocks [first, tip] in one batch, as read_recent reads them (again
        while the chain moves under them). `cache`: a backfill's projection rows, so the batch
        reads none of them again."""
        entries, headers = read_recent(self.rpc, self.contract, first, tip, final, self.initial_span)
        self._check_first(chain, entries)
        chain.append_many(entries)
        state = replace(
            state,
            last_block=tip,
            last_block_hash=headers[tip].hash,
            last_seq=chain.length,
            last_head=chain.head,
            final_block=max(state.final_block, final),
            tip_block=tip,
            tip_timestamp=headers[tip].timestamp,
        )
        self.store.commit_batch(
            entries,
            state,
            [(n, h.hash) for n, h in headers.items()],
            cache=cache,
            tokens=self.tokens.first_seen(entries),
        )
        self.progress.advance(tip, len(entries))
        return state, len(entries)

    # ----------------------------------------------------------------- reorgs

    def _handle_reorg(self, state: SyncState) -> SyncState:
        if state.last_block_hash is None:
            return state
        header = self.rpc.get_block(state.last_block)
        if header is not None and header.hash == state.last_block_hash:
            return state
        now = header.hash if header else "missing"
        stored = self.store.stored_blocks()
        node_hashes = self._hashes([n for n, _ in stored])
        ancestor = next(((n, h) for n, h in stored if node_hashes.get(n) == h), None)
        if ancestor is None or ancestor[0] < state.final_block:
            raise ReorgTooDeepError(
                f"reorg below the finality depth: block {state.last_block} was {state.last_block_hash}, the node now "
                f"has {now}, and the chain no longer matches the final block {state.final_block} "
                f"(finality depth {self.finality_depth}). The database is unchanged; re-index into a fresh "
                "database, with a larger --finality-depth"
            )
        removed = self.store.rollback_to(ancestor[0], ancestor[1], state)
        log.warning(
            "reorg: block %d changed; rolled back %d provisional entries to block %d",
            state.last_block,
            removed,
            ancestor[0],
        )
        new_state = self.store.read_sync_state()
        assert new_state is not None
        return new_state

    # ----------------------------------------------------------------- helpers

    def _check_first(self, chain: HashChain, entries: list[LedgerEntry]) -> None:
        """The ledger starts at seq 1: a first entry found later than that means --from-block is
        past the escrow's first entries (ConfigError naming the block to start from)."""
        if chain.length or not entries or entries[0].seq == 1:
            return
        first = entries[0]
        deployed = EscrowReader(self.rpc, self.contract).deployment_block(first.block_number)
        start = (
            f"the escrow was deployed in block {deployed}: index from --from-block {deployed}"
            if deployed is not None
            else "index from the block the escrow was deployed in (the deployment file or a block explorer says)"
        )
        raise ConfigError(
            f"--from-block {self.start_block} is past the ledger's first entry: the first entry found is seq "
            f"{first.seq} (block {first.block_number}); {start}"
        )

    def _ensure_indexes(self) -> None:
        """Build the indexes an initial backfill deferred (also after one was interrupted)."""
        if self._indexes_checked:
            return
        if self.store.missing_deferred_indexes():
            log.info("building the ledger's indexes")
            self.store.create_deferred_indexes()
        self._indexes_checked = True

    def _entries_to_come(self, state: SyncState, tip_header: BlockHeader) -> int | None:
        """How many entries the chain holds after the checkpoint, by the contract's own count at the
        tip: it paces the backfill's ranges (None if the node cannot say)."""
        try:
            length = EscrowReader(self.rpc, self.contract).ledger_length(tip_header.number)
        except NodeError as exc:
            log.debug("no ledger length at the tip (%s): ranges adapt without it", exc)
            return None
        return max(0, length - state.last_seq)

    def _block_hash(self, chunk: list[LedgerEntry], block: int) -> str:
        """The hash of `block`, the last one a chunk covers: its last log's when that log is in
        the block (no request: it was checked against the block's header), else the node's."""
        if chunk and chunk[-1].block_number == block:
            return chunk[-1].block_hash
        return self.rpc.require_block(block).hash

    def _hashes(self, numbers: Sequence[int]) -> dict[int, str]:
        # blocks above a shortened tip come back as None: they simply do not match
        return {h.number: h.hash for h in self.rpc.get_blocks(numbers) if h is not None} if numbers else {}
