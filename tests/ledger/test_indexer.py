"""The indexer on a real anvil and real databases (SQLite always, PostgreSQL when configured)."""

from __future__ import annotations

import gc
import os
import random
import signal
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError

from ledger.chain.rpc import RetryPolicy, RpcClient
from ledger.core.hashing import keccak256
from ledger.db.engine import open_database
from ledger.db.schema import ledger_entries, positions
from ledger.db.store import LedgerStore
from ledger.errors import CrowdLedgerError, LedgerIntegrityError, ReorgTooDeepError
from ledger.sync import fetching
from ledger.sync import indexer as indexer_module
from ledger.sync.indexer import Indexer
from ledger.sync.tuning import backfill_tuning
from tests.ledger.provider_proxy import ProviderProxy
from tests.support.chain import EscrowChain
from tests.support.compare import assert_db_matches_chain, db_entries
from tests.support.server import wait_until

FAST_RETRY = RetryPolicy(attempts=40, base_delay=0.01, max_delay=0.2, total_timeout=30)


def make_indexer(
    chain: EscrowChain, store: LedgerStore, *, depth: int = 3, url: str | None = None, **kw
) -> Indexer:
    rpc = RpcClient(url or chain.url, retry=FAST_RETRY)
    return Indexer(rpc, store, chain.address, start_block=chain.deployment.block, finality_depth=depth, **kw)


def stored_seq(store: LedgerStore) -> int:
    state = store.read_sync_state()
    return state.last_seq if state else 0


@pytest.mark.parametrize("fetch_process", [False, True], ids=["thread", "process"])
def test_full_sync_equals_the_chain(chain: EscrowChain, store: LedgerStore, fetch_process: bool) -> None:
    """Read on the prefetch thread, or in a process of its own (a long backfill's way): the same."""
    chain.random_history(seed=5, steps=90, milestones=True)
    assert {"create", "pledge", "unpledge", "claim", "refund"} <= set(chain.ops)
    assert {"createMilestone", "requestRelease", "vote", "release", "disclose"} <= set(chain.ops)
    indexer = make_indexer(chain, store, fetch_process=fetch_process)
    assert indexer.run() == chain.escrow.functions.ledgerLength().call()
    assert_db_matches_chain(store, chain)
    assert store.missing_deferred_indexes() == []  # the initial sync built the indexes it deferred
    assert make_indexer(chain, store).run() == 0  # a second run finds nothing new


def test_final_and_provisional_entries(chain: EscrowChain, store: LedgerStore) -> None:
    cid = chain.create(1)
    chain.pledge(cid, 2, 10**17)
    chain.mine(5)
    chain.pledge(cid, 3, 10**17)
    make_indexer(chain, store, depth=3).run()
    with store.engine.connect() as conn:
        flags = dict(conn.execute(select(ledger_entries.c.seq, ledger_entries.c.final)).all())
    assert flags == {1: True, 2: True, 3: False}


def test_reorg_inside_the_window_rolls_back_and_reingests(chain: EscrowChain, store: LedgerStore) -> None:
    cid = chain.create(1)
    chain.pledge(cid, 2, 10**17)
    chain.mine(10)
    fork = chain.snapshot()
    chain.pledge(cid, 3, 2 * 10**17)
    chain.pledge(cid, 4, 3 * 10**17)
    indexer = make_indexer(chain, store, depth=6)
    indexer.run()
    assert stored_seq(store) == 4

    chain.revert(fork)  # the two pledges vanish; another branch grows longer
    chain.pledge(cid, 5, 7 * 10**17)
    chain.mine(3)
    indexer.sync_once()
    assert_db_matches_chain(store, chain)
    with store.engine.connect() as conn:
        backers = {r.backer for r in conn.execute(select(positions))}
    assert backers == {chain.accounts[2].lower(), chain.accounts[5].lower()}


def test_a_reorg_that_takes_every_entry_empties_the_ledger(chain: EscrowChain, store: LedgerStore) -> None:
    fork = chain.snapshot()
    cid = chain.create(1)
    chain.pledge(cid, 2, 10**17)
    indexer = make_indexer(chain, store, depth=6)
    indexer.run()
    assert stored_seq(store) == 2

    chain.revert(fork)  # both entries vanish; the new branch starts the ledger again from seq 1
    chain.mine(2)
    cid = chain.create(2)
    chain.pledge(cid, 3, 3 * 10**17)
    indexer.sync_once()
    assert stored_seq(store) == 2
    assert_db_matches_chain(store, chain)


def test_reorg_deeper_than_the_window_stops_and_changes_nothing(
    chain: EscrowChain, store: LedgerStore
) -> None:
    cid = chain.create(1)
    fork = chain.snapshot()
    chain.pledge(cid, 2, 10**17)
    chain.pledge(cid, 3, 10**17)
    chain.mine(6)
    indexer = make_indexer(chain, store, depth=2)
    indexer.run()
    before = db_entries(store)

    chain.revert(fork)
    chain.pledge(cid, 4, 10**17)
    chain.mine(12)
    with pytest.raises(ReorgTooDeepError, match="finality depth"):
        indexer.sync_once()
    assert db_entries(store) == before


def test_final_entries_refuse_update_and_delete(chain: EscrowChain, store: LedgerStore) -> None:
    cid = chain.create(1)
    chain.pledge(cid, 2, 10**17)
    chain.mine(4)
    make_indexer(chain, store, depth=2).run()
    for statement in (
        update(ledger_entries).where(ledger_entries.c.seq == 2).values(amount=1),
        delete(ledger_entries).where(ledger_entries.c.seq == 2),
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            with store.engine.begin() as conn:
                conn.execute(statement)
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ledger_entries)).scalar() == 2


@pytest.mark.parametrize("fetch_process", [False, True], ids=["thread", "process"])
def test_provider_range_errors_and_rate_limits(
    chain: EscrowChain, store: LedgerStore, fetch_process: bool
) -> None:
    chain.random_history(seed=2, steps=50, milestones=True)
    with ProviderProxy(chain.url, max_log_results=4, rate_limit_every=5, suggest_range=True) as proxy:
        make_indexer(chain, store, url=proxy.url, initial_span=10_000, fetch_process=fetch_process).run()
        assert proxy.calls["eth_getLogs"] > 3
    assert_db_matches_chain(store, chain)


@pytest.mark.parametrize(
    "answer",
    ["0x", "0x" + "00" * 31 + "02", "0x" + "00" * 24 + "ff" * 8],
    ids=["none", "too-low", "too-high"],
)
def test_a_wrong_or_missing_ledger_length_only_paces_the_ranges(
    chain: EscrowChain, tmp_path, answer: str
) -> None:
    """The contract's ledger length at the tip paces the backfill's ranges; a node that answers it
    wrongly (or not at all) costs speed, never an entry."""
    chain.random_history(seed=4, steps=30)
    selector = "0x" + keccak256(b"ledgerLength()")[:4].hex()
    store = LedgerStore(open_database(f"sqlite:///{tmp_path / 'paced.db'}"))
    asked: list[str] = []

    def rewrite(method: str, params: list, result: object) -> object:
        at_a_block = method == "eth_call" and params[0]["data"].startswith(selector) and params[1] != "latest"
        if at_a_block:
            asked.append(params[1])
        return answer if at_a_block else result

    with ProviderProxy(chain.url) as proxy:
        proxy.rewrite = rewrite
        make_indexer(chain, store, url=proxy.url, target_logs=5).run()
        assert len(asked) == 1  # once, at the tip, for the backfill
        assert proxy.calls["eth_getLogs"] > (
            10 if answer.endswith("ff") else 0
        )  # too high: many small ranges
    assert_db_matches_chain(store, chain)


def test_http_413_and_block_range_limits(chain: EscrowChain, tmp_path) -> None:
    chain.random_history(seed=3, steps=30)
    for n, limits in enumerate(({"http_413_over": 3}, {"max_log_range": 5})):
        store = LedgerStore(open_database(f"sqlite:///{tmp_path / f'{n}.db'}"))
        with ProviderProxy(chain.url, **limits) as proxy:
            make_indexer(chain, store, url=proxy.url, initial_span=1000).run()
        assert_db_matches_chain(store, chain)


@pytest.mark.parametrize("fetch_process", [False, True], ids=["thread", "process"])
def test_a_tampered_head_from_the_node_is_refused(
    chain: EscrowChain, store: LedgerStore, fetch_process: bool
) -> None:
    cid = chain.create(1)
    chain.pledge(cid, 2, 10**17)
    chain.pledge(cid, 3, 10**17)
    chain.mine(4)

    def tamper(method: str, params: object, result: object) -> object:
        if method == "eth_getLogs" and isinstance(result, list):
            for log in result:
                if int(log["data"][2 + 64 : 2 + 128], 16) == 3:  # the Pledged entry with seq 3
                    log["data"] = log["data"][:-1] + ("0" if log["data"][-1] != "0" else "1")
        return result

    with ProviderProxy(chain.url) as proxy:
        proxy.rewrite = tamper
        with pytest.raises(LedgerIntegrityError, match="seq 3"):
            make_indexer(chain, store, url=proxy.url, fetch_process=fetch_process).run()
    assert all(seq < 3 for seq, *_ in db_entries(store))


@pytest.mark.parametrize("fetch_process", [False, True], ids=["thread", "process"])
def test_provisional_blocks_are_read_again_when_the_tip_moved_under_them(
    chain: EscrowChain, store: LedgerStore, fetch_process: bool
) -> None:
    """The tip's hash read before the provisional blocks is not its hash after them (a reorg while
    they were read): they are read again, and what is stored is what the chain holds. In a long
    backfill's reading process as on the indexer's own thread."""
    chain.random_history(seed=6, steps=40)
    tip = hex(chain.w3.eth.block_number)
    reads: list[str] = []

    def moved_once(method: str, params: list, result: object) -> object:
        if method == "eth_getBlockByNumber" and params[0] == tip and isinstance(result, dict):
            reads.append(result["hash"])
            if len(reads) == 1:  # the first read of the tip: before the provisional blocks
                return {**result, "hash": "0x" + "ee" * 32}
        return result

    with ProviderProxy(chain.url) as proxy:
        proxy.rewrite = moved_once
        make_indexer(chain, store, url=proxy.url, fetch_process=fetch_process).run()
        assert proxy.calls["eth_getLogs"] >= 2
    assert len(reads) >= 4  # before and after the provisional blocks, twice
    assert_db_matches_chain(store, chain)


def test_follow_keeps_up_and_survives_the_node_going_away(chain: EscrowChain, store: LedgerStore) -> None:
    with ProviderProxy(chain.url) as proxy:
        indexer = make_indexer(chain, store, url=proxy.url, depth=1, poll_interval=0.05)
        stop = threading.Event()
        errors: list[BaseException] = []

        def follow() -> None:
            try:
                indexer.run(follow=True, stop=stop)
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        thread = threading.Thread(target=follow, daemon=True)
        thread.start()
        try:
            cid = chain.create(1)
            wait_until(lambda: stored_seq(store) == 1)
            proxy.go_down()
            chain.pledge(cid, 2, 10**17)
            chain.pledge(cid, 3, 10**17)
            time.sleep(0.5)
            proxy.come_up()
            wait_until(lambda: stored_seq(store) == 3)
            chain.pledge(cid, 4, 10**17)
            wait_until(lambda: stored_seq(store) == 4)
        finally:
            stop.set()
            thread.join(timeout=30)
        assert not errors
    assert_db_matches_chain(store, chain)


def test_resume_after_kill_9_has_no_gap_and_no_duplicate(chain: EscrowChain, tmp_path) -> None:
    cid = chain.create(1, goal=10**30)
    for i in range(400):
        chain.pledge(cid, 2 + i % 7, 10**15 + i)
    url = f"sqlite:///{tmp_path / 'killed.db'}"
    store = LedgerStore(open_database(url))
    command = [
        sys.executable,
        "-m",
        "cli",
        "index",
        "--rpc",
        chain.url,
        "--contract",
        chain.address,
        "--from-block",
        str(chain.deployment.block),
        "--db",
        url,
        "--finality-depth",
        "0",
        "--max-span",
        "3",
        "--quiet",
    ]
    rng = random.Random(7)
    kills = 0
    for _ in range(4):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        start = stored_seq(store)
        deadline = time.monotonic() + 60
        while stored_seq(store) <= start + rng.randrange(5, 60) and process.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            kills += 1
        process.wait()
        seqs = [row[0] for row in db_entries(store)]
        assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) == stored_seq(store)
    assert kills >= 2
    assert store.missing_deferred_indexes()  # killed during the initial sync: indexes still deferred
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert_db_matches_chain(store, chain)
    assert store.missing_deferred_indexes() == []


def test_a_reading_process_that_dies_stops_the_backfill_in_one_line(
    chain: EscrowChain, store: LedgerStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process reading a long backfill killed (out of memory, an operator): the indexer stops
    with one line, keeps what it committed, and the next run finishes the ledger."""
    cid = chain.create(1, goal=10**30)
    for i in range(30):
        chain.pledge(cid, 2 + i % 5, 10**15 + i)
    chain.mine(4)

    class Killed(fetching.FetchProcess):
        def start(self, job: fetching.FetchJob) -> None:
            super().start(job)
            self._process.kill()

    with monkeypatch.context() as patch:
        patch.setattr(indexer_module, "FetchProcess", Killed)
        with pytest.raises(CrowdLedgerError, match="the process reading the chain ended") as raised:
            make_indexer(chain, store, fetch_process=True).run()
    assert "\n" not in str(raised.value)
    assert stored_seq(store) == 0
    make_indexer(chain, store, fetch_process=True).run()
    assert_db_matches_chain(store, chain)


def test_a_reader_started_ahead_reads_a_long_backfill_or_is_closed_by_the_first_pass(
    chain: EscrowChain, store: LedgerStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`crowdledger index` starts the reading process before it opens the database: the backfill
    reads in that one (no other is started), and a run with nothing to read closes it; neither
    leaves a process behind."""
    chain.random_history(seed=7, steps=40)
    ahead = fetching.FetchProcess()
    with monkeypatch.context() as patch:  # a second reading process would be a failure
        patch.setattr(indexer_module, "FetchProcess", None)
        make_indexer(chain, store, fetch_process=True, reader=ahead).run()
    assert ahead._process.poll() is not None
    assert_db_matches_chain(store, chain)
    idle = fetching.FetchProcess()
    assert make_indexer(chain, store, fetch_process=True, reader=idle).run() == 0
    assert idle._process.poll() is not None  # closed, and waited for


def test_ganache_compatibility(tmp_path) -> None:
    chain = EscrowChain.start("ganache")
    try:
        chain.random_history(seed=4, steps=30, milestones=True)
        store = LedgerStore(open_database(f"sqlite:///{tmp_path / 'ganache.db'}"))
        make_indexer(chain, store, depth=2).run()
        assert_db_matches_chain(store, chain)
    finally:
        chain.stop()


def test_a_backfill_tunes_the_collector_and_the_switch_interval_and_restores_them() -> None:
    before, interval = gc.get_threshold(), sys.getswitchinterval()
    with backfill_tuning(before[0] + 50_000, interval / 10):
        assert gc.get_threshold() == (before[0] + 50_000, *before[1:])
        assert sys.getswitchinterval() == pytest.approx(interval / 10)
    assert gc.get_threshold() == before and sys.getswitchinterval() == interval
    with pytest.raises(RuntimeError), backfill_tuning(before[0] + 50_000):
        raise RuntimeError("the backfill fails")
    assert gc.get_threshold() == before and sys.getswitchinterval() == interval
    with backfill_tuning(1, interval * 10):  # a threshold already higher, an interval already shorter: kept
        assert gc.get_threshold() == before and sys.getswitchinterval() == interval
    first, second = backfill_tuning(before[0] + 50_000), backfill_tuning(before[0] + 60_000)
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)  # backfills that overlap: the first to end restores nothing yet
    assert gc.get_threshold()[0] == before[0] + 60_000
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before and sys.getswitchinterval() == interval
