"""The indexer's reading of the chain. A backfill's: eth_getLogs over adaptive ranges, each answer
decoded and checked, every log's block hash against its block's header, and the hash chain; on a
thread of the indexer's process, or, for a long backfill, in a process of its own. The
provisional blocks': read again while the chain moves under them (`read_recent`).

    batches = backfill_fetcher(rpc, contract, ...).iter_batches(first, last)   # a thread
    source = FetchProcess(FetchJob.of(rpc, contract, ...)); batches = iter(source)  # a process

Reading and writing each hold the GIL for about as long as the other: per 100,000 entries of
bench/index.py's chain, py-spy counted ~2.0 s for reading (the answer's decode and checks 1.2 s,
the hash chain 0.8 s) and ~2.2 s for preparing and writing the batches. In one process the
three threads take turns; in two the reading overlaps the writing (measured side by side: 3.0-3.8 s
against 3.9-5.1 s). The process runs the same functions as the thread (`final_entries`,
`HashChain.append_many`) and writes nothing: the indexer still stores every batch in one
transaction, so a crash of either process leaves the database at a batch boundary, and an orphaned
reader stops at its next send. It is a new interpreter (safe beside the API's threads, unlike a
fork), whose start-up (~0.2 s) only pays on long backfills (`Indexer(fetch_process=...)`).
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import subprocess
import sys
from collections.abc import Generator
from dataclasses import dataclass
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path

from ledger import LOG_FORMAT
from ledger.chain.answers import BlockHeader, RawLog
from ledger.chain.events import LEDGER_TOPICS_FILTER, decode_logs
from ledger.chain.logs import LogBatch, LogFetcher
from ledger.chain.retry import RetryPolicy
from ledger.chain.rpc import RpcClient
from ledger.core.hashing import HashChain
from ledger.core.records import LedgerEntry
from ledger.errors import CrowdLedgerError, NodeError
from ledger.sync.batches import with_block_times

log = logging.getLogger("ledger.indexer")  # its lines are the indexer's
# times the provisional blocks are read again while the chain keeps moving under them
MAX_MOVING_RETRIES = 10


def final_entries(rpc: RpcClient, logs: list[RawLog]) -> list[LedgerEntry]:
    """The entries of a backfill's logs, each in a block the node's header agrees with: its hash
    the header's (a log's block hash is stored with it and anchors the checkpoint), and its time
    the header's where the log had none (ganache). The headers come in JSON-RPC batches."""
    entries = decode_logs(logs)
    numbers = sorted({e.block_number for e in entries})
    headers = {n: h for n, h in zip(numbers, rpc.get_blocks(numbers)) if h is not None}
    for entry in entries:
        header = headers.get(entry.block_number)
        if header is None:
            raise NodeError(
                f"the node answered a log in block {entry.block_number}, which it says it does not have"
            )
        if entry.block_hash != header.hash:
            raise NodeError(
                f"the node's log in block {entry.block_number} (tx {entry.tx_hash}) gives blockHash "
                f"{entry.block_hash}, but block {entry.block_number} is {header.hash}"
            )
    return with_block_times(entries, headers)


@dataclass(frozen=True)
class Spans:
    """How a backfill sizes its eth_getLogs ranges (LogFetcher's arguments of the same names)."""

    initial_span: int
    max_span: int
    target_logs: int
    expected_logs: int | None


def backfill_fetcher(rpc: RpcClient, contract: str, spans: Spans) -> LogFetcher:
    """The backfill's LogFetcher: the ledger's events, ranges paced by `spans.expected_logs`, each
    batch decoded and checked against the headers (`final_entries`) on its prefetch thread."""
    return LogFetcher(
        rpc,
        contract,
        topics=LEDGER_TOPICS_FILTER,
        initial_span=spans.initial_span,
        max_span=spans.max_span,
        prefetch=True,
        target_logs=spans.target_logs,
        grow_after=1,
        expected_logs=spans.expected_logs,
        decode=partial(final_entries, rpc),
    )


def check_chain(chain: HashChain, entries: list[LedgerEntry]) -> None:
    """Append a batch to the hash chain (LedgerIntegrityError on the first entry that does not
    follow). A first batch that starts after seq 1 is left to the indexer, which says which
    block to index from (Indexer._check_first)."""
    if chain.length or not entries or entries[0].seq == 1:
        chain.append_many(entries)


def read_recent(
    rpc: RpcClient, contract: str, first: int, tip: int, final: int, initial_span: int
) -> tuple[list[LedgerEntry], dict[int, BlockHeader]]:
    """The entries of the provisional blocks [first, tip] and the headers they were checked
    against, read again while the chain moves under them: the tip's hash before and after the
    read, and every log's block hash, must be the headers'. The tip's and the `final` block's
    headers come too (the checkpoint's anchors for reorg detection). NodeError if the chain keeps
    reorganising."""
    fetcher = LogFetcher(
        rpc,
        contract,
        topics=LEDGER_TOPICS_FILTER,
        initial_span=initial_span,
        prefetch=False,
        decode=decode_logs,
    )
    for _ in range(MAX_MOVING_RETRIES):
        before = rpc.require_block(tip)
        entries = [e for batch in fetcher.iter_batches(first, tip) for e in batch.logs]
        wanted = sorted(n for n in {e.block_number for e in entries} | {tip, final} if n >= 0)
        headers = {h.number: h for h in rpc.get_blocks(wanted) if h is not None}
        moved = (
            tip not in headers
            or headers[tip].hash != before.hash
            or any(
                e.block_number not in headers or e.block_hash != headers[e.block_number].hash for e in entries
            )
        )
        if not moved:
            return with_block_times(entries, headers), headers
        log.info("the chain moved while blocks %d-%d were read; reading them again", first, tip)
    raise NodeError(f"the chain kept reorganising while blocks {first}-{tip} were read")


@dataclass(frozen=True)
class FetchJob:
    """What the reading process needs: the node's settings, the range and where the chain stands."""

    url: str
    timeout: float
    max_answer_bytes: int
    batch_limit: int
    retry: RetryPolicy
    contract: str
    first: int
    last: int
    head: str
    length: int
    spans: Spans
    log_level: int = logging.WARNING  # the indexer's, for the reading process's log lines

    @classmethod
    def of(
        cls, rpc: RpcClient, contract: str, first: int, last: int, chain: HashChain, spans: Spans
    ) -> FetchJob:
        return cls(
            rpc.url,
            rpc.timeout,
            rpc.max_answer_bytes,
            rpc.batch_limit,
            rpc.retry,
            contract,
            first,
            last,
            chain.head,
            chain.length,
            spans,
            logging.getLogger().getEffectiveLevel(),
        )


def _portable(exc: BaseException) -> BaseException:
    """`exc` if it survives pickling (an exception whose __init__ takes other arguments than its
    message does not), else one of its kind the parent can rebuild, with the same line."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001 - any failure to round-trip
        if isinstance(exc, NodeError):
            return NodeError(str(exc))
        if isinstance(exc, CrowdLedgerError):
            return CrowdLedgerError(str(exc))
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def _read(job: FetchJob, conn: Connection) -> None:
    """The reading process: every batch of [job.first, job.last], checked, sent in order; then
    ("end", None), or ("error", exc) at the first failure."""
    try:
        with RpcClient(
            job.url,
            timeout=job.timeout,
            max_answer_bytes=job.max_answer_bytes,
            retry=job.retry,
            batch_limit=job.batch_limit,
        ) as rpc:
            chain = HashChain(job.head, job.length)
            batches = backfill_fetcher(rpc, job.contract, job.spans).iter_batches(job.first, job.last)
            try:
                for batch in batches:
                    check_chain(chain, batch.logs)
                    conn.send_bytes(pickle.dumps(("batch", batch), protocol=pickle.HIGHEST_PROTOCOL))
            finally:
                batches.close()
        conn.send_bytes(pickle.dumps(("end", None)))
    except BaseException as exc:  # noqa: BLE001 - handed to the indexer
        try:
            conn.send_bytes(pickle.dumps(("error", _portable(exc))))
        except OSError:
            pass  # the indexer is gone


def main() -> None:
    """`python -m ledger.sync.fetching`: a FetchJob pickled on standard input; the batches on
    standard output, framed by multiprocessing's Connection (anything printed goes to stderr)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the indexer's to handle
    given = sys.stdin.buffer.read()
    if not given:  # started ahead, and the indexer had nothing for it to read
        return
    job = pickle.loads(given)
    logging.basicConfig(level=job.log_level, format=LOG_FORMAT, stream=sys.stderr)
    channel = Connection(os.dup(1), readable=False)
    os.dup2(2, 1)  # a stray print must not break the frames
    try:
        _read(job, channel)
    finally:
        channel.close()


class FetchProcess:
    """The batches of a FetchJob, read by a process of its own (the module's docstring). The
    process is `python -m ledger.sync.fetching`: it imports only what reading needs (a spawned
    multiprocessing child would import the indexer's main script again first), then waits for its
    job on standard input. So it can be started ahead, `FetchProcess()`, and handed its job later
    (`start`): `crowdledger index` starts one before it opens the database, and its ~0.2 s of
    start-up pass meanwhile."""

    def __init__(self, job: FetchJob | None = None) -> None:
        root = str(Path(__file__).resolve().parents[2])  # where `ledger` is, installed or not
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
        }
        self._process = subprocess.Popen(
            [sys.executable, "-m", "ledger.sync.fetching"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        self._conn = Connection(os.dup(self._process.stdout.fileno()), writable=False)
        self._process.stdout.close()
        if job is not None:
            self.start(job)

    def start(self, job: FetchJob) -> None:
        """Hand the process its job (once); its batches come from iterating this object."""
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(pickle.dumps(job))
            self._process.stdin.close()
        except OSError:
            pass  # it died at once: __iter__ says so

    def __iter__(self) -> Generator[LogBatch, None, None]:
        while True:
            try:
                what, value = pickle.loads(self._conn.recv_bytes())
            except EOFError:
                raise CrowdLedgerError(
                    f"the process reading the chain ended without a word (exit code {self._process.poll()})"
                ) from None
            if what == "end":
                return
            if what == "error":
                raise value
            yield value

    def close(self) -> None:
        """Stop the reading process (at once if it is still reading or waits for a job) and wait
        for it. Closing again does nothing."""
        self._conn.close()
        if self._process.stdin is not None and not self._process.stdin.closed:
            self._process.stdin.close()
        if self._process.poll() is None:
            self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


if __name__ == "__main__":
    main()
