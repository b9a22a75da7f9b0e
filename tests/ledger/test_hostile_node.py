"""A hostile node in front of a real anvil, on the backfill path (the one that writes final rows):
every wrong answer stops the run with one clear line naming the field and the block, nothing of it
is stored, and once the node is honest again the next run indexes the chain exactly."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger.chain.rpc import RetryPolicy, RpcClient
from ledger.db.engine import open_database
from ledger.db.store import LedgerStore
from ledger.errors import CrowdLedgerError, NodeError, NodeUnavailable
from ledger.sync.indexer import Indexer
from tests.ledger.provider_proxy import ProviderProxy
from tests.support.chain import EscrowChain, random_history_chain
from tests.support.compare import assert_db_matches_chain

FAST = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02, total_timeout=5)


@pytest.fixture(scope="module")
def history() -> Iterator[EscrowChain]:
    with random_history_chain(seed=31, steps=40) as chain:
        chain.mine(5)
        yield chain


def run_index(
    chain: EscrowChain, store: LedgerStore, url: str, fetch_process: bool | None = None, **client: Any
) -> int:
    rpc = RpcClient(url, retry=client.pop("retry", FAST), **client)
    indexer = Indexer(
        rpc,
        store,
        chain.address,
        start_block=chain.deployment.block,
        finality_depth=2,
        fetch_process=fetch_process,
    )
    return indexer.run()


def rewrite_logs(change: Callable[[dict[str, Any]], None], which: int = 5) -> Callable[[str, Any, Any], Any]:
    """A proxy rewrite that edits log `which` of the first eth_getLogs answer holding it."""

    def rewrite(method: str, params: Any, result: Any) -> Any:
        if method == "eth_getLogs" and isinstance(result, list) and len(result) > which:
            change(result[which])
        return result

    return rewrite


def stopped_with_one_line(
    chain: EscrowChain, store: LedgerStore, proxy: ProviderProxy, *names: str, fetch_process: bool = False
) -> str:
    """Index through the proxy: a NodeError whose one line names `names`; nothing past what is
    stored before the bad answer; then, the proxy honest again, the chain indexed exactly.
    `fetch_process`: the backfill reads the chain in a process of its own (a long backfill's way)."""
    with pytest.raises(NodeError) as raised:
        run_index(chain, store, proxy.url, fetch_process=fetch_process)
    message = str(raised.value)
    assert "\n" not in message
    for name in names:
        assert name in message, message
    state = store.read_sync_state()
    # the history fits in the first answer, the tampered one: nothing of it is stored
    assert state is not None and state.last_seq == 0 and not list(store.iter_entries())
    proxy.rewrite = proxy.rewrite_body = None
    run_index(chain, store, proxy.url)
    assert_db_matches_chain(store, chain)
    return message


@pytest.fixture
def sqlite_store(tmp_path: Path) -> LedgerStore:
    return LedgerStore(open_database(f"sqlite:///{tmp_path / 'hostile.db'}"))


def test_a_block_hash_that_breaks_out_of_its_string_is_refused(
    history: EscrowChain, sqlite_store: LedgerStore
) -> None:
    """The node once pasted members into a blockHash; the serializer would have escaped them, and
    the hash is refused before that: nothing of the answer is stored."""
    with ProviderProxy(history.url) as proxy:
        injected = '","amount":"999999000000000000000000","x":"<img src=x onerror=alert(1)>'

        def paste(method: str, body: bytes) -> bytes:
            if method != "eth_getLogs":
                return body
            return re.sub(
                rb'("blockHash":"0x[0-9a-f]{64})',
                lambda m: m.group(1) + injected.encode().replace(b'"', b'\\"'),
                body,
                count=1,
            )

        proxy.rewrite_body = paste
        stopped_with_one_line(history, sqlite_store, proxy, "blockHash")
    assert "999999" not in "".join(text or "" for _, text in _texts(sqlite_store))


def _texts(store: LedgerStore) -> list[tuple[Any, str | None]]:
    return [pair for page in store.iter_entry_pages() for pair in page]


@pytest.mark.parametrize(
    ("how", "names"),
    [
        ("wrong block hash", ("blockHash", "block")),
        ("block number far away", ("block 9223372036854775807",)),
        ("removed", ("removed",)),
        ("logIndex not hex", ("logIndex", "0xZZ")),
        ("block time past year 9999", ("9999",)),
        ("block number above int64", ("blockNumber",)),
        ("no topics", ("topics",)),
        ("another contract's log", ("asked for the logs of",)),
    ],
)
@pytest.mark.parametrize("fetch_process", [False, True], ids=["thread", "process"])
def test_each_wrong_log_stops_the_run_with_a_line_naming_it(
    history: EscrowChain, sqlite_store: LedgerStore, how: str, names: tuple[str, ...], fetch_process: bool
) -> None:
    def change(log: dict[str, Any]) -> None:
        if how == "wrong block hash":
            log["blockHash"] = "0x" + "ab" * 32
        elif how == "block number far away":
            log["blockNumber"] = hex(2**63 - 1)
        elif how == "removed":
            log["removed"] = True
        elif how == "logIndex not hex":
            log["logIndex"] = "0xZZ"
        elif how == "block time past year 9999":
            log["blockTimestamp"] = "0xffffffffffffff"
        elif how == "block number above int64":
            log["blockNumber"] = "0x1" + "0" * 16
        elif how == "no topics":
            del log["topics"]
        else:
            log["address"] = "0x" + "12" * 20

    with ProviderProxy(history.url) as proxy:
        proxy.rewrite = rewrite_logs(change)
        stopped_with_one_line(history, sqlite_store, proxy, *names, fetch_process=fetch_process)


def test_a_wrong_block_hash_does_not_poison_the_checkpoint(
    history: EscrowChain, sqlite_store: LedgerStore
) -> None:
    """A wrong (well-formed) hash on the last log of a batch once became the checkpoint's hash, and
    every later run stopped with "reorg below the finality depth" even with an honest node."""
    with ProviderProxy(history.url) as proxy:

        def last_log(method: str, params: Any, result: Any) -> Any:
            if method == "eth_getLogs" and isinstance(result, list) and result:
                result[-1]["blockHash"] = "0x" + "cd" * 32
            return result

        proxy.rewrite = last_log
        stopped_with_one_line(history, sqlite_store, proxy, "blockHash")
        run_index(history, sqlite_store, proxy.url)  # honest: a run after a run works
        assert_db_matches_chain(sqlite_store, history)


def test_a_node_that_trickles_its_answer_is_given_up_on_within_the_deadline(
    history: EscrowChain, sqlite_store: LedgerStore
) -> None:
    with ProviderProxy(history.url) as proxy:
        proxy.trickle = ("eth_getLogs", 0.2)
        started = time.monotonic()
        with pytest.raises(NodeUnavailable) as raised:
            run_index(
                history,
                sqlite_store,
                proxy.url,
                timeout=1.0,
                retry=RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02, total_timeout=2.5),
            )
        elapsed = time.monotonic() - started
    assert elapsed < 2.5 + 1.0 + 1.0, elapsed  # the budget, one request's deadline, a piece's wait
    assert "timed out" in str(raised.value) and "eth_getLogs" in str(raised.value)
    assert sqlite_store.read_sync_state().last_seq == 0


def test_a_huge_answer_narrows_the_range_and_a_block_over_the_cap_is_named(
    history: EscrowChain, tmp_path: Path
) -> None:
    store = LedgerStore(open_database(f"sqlite:///{tmp_path / 'huge.db'}"))
    with ProviderProxy(history.url) as proxy:
        proxy.huge_answer = ("eth_getLogs", 200 << 20)  # 200 MB, streamed
        with pytest.raises(CrowdLedgerError) as raised:
            run_index(history, store, proxy.url, max_answer_bytes=1 << 20)
    message = str(raised.value)
    assert "cannot be split further" in message and "1 block" in message, message
    assert re.search(r"blocks \[(\d+), \1\]", message), message  # the one block, named
    assert store.read_sync_state().last_seq == 0


def test_the_command_line_says_what_the_node_got_wrong_in_one_line(
    history: EscrowChain, tmp_path: Path
) -> None:
    db = tmp_path / "cli.db"
    with ProviderProxy(history.url) as proxy:
        proxy.rewrite = rewrite_logs(lambda log: log.update(logIndex="0xZZ"))
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "cli",
                "index",
                "--rpc",
                proxy.url,
                "--contract",
                history.address,
                "--from-block",
                str(history.deployment.block),
                "--db",
                f"sqlite:///{db}",
                "--quiet",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("crowdledger: error:") and "logIndex" in lines[0], (
        result.stderr
    )
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
