"""The JSON-RPC client (ledger.rpc) and the adaptive log fetcher (ledger.logs).

Runs against a real anvil, directly or through ProviderProxy (a provider's limits, 413s, 429s and
outages), plus a scripted fake node for answers no real node gives. No brownie fixtures.
"""

from __future__ import annotations

import gc
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest

from devnet.nodes import LocalNode, free_port
from ledger.chain.answers import RawLog
from ledger.chain.logs import PREFETCH_THREAD_NAME, LogBatch, LogFetcher
from ledger.chain.rpc import RetryPolicy, RpcClient
from ledger.core.hashing import keccak256
from ledger.errors import ConfigError, NodeError, NodeUnavailable, RangeTooWide, RpcError

try:
    from tests.ledger.provider_proxy import ProviderProxy
except ImportError:  # tests/ is not a package: pytest put this directory on sys.path
    from provider_proxy import ProviderProxy

FAST = RetryPolicy(attempts=6, base_delay=0.02, max_delay=0.1, total_timeout=10.0)
TOPIC0 = "0x" + keccak256(b"Ping(uint256)").hex()


# --- a tiny log-emitting contract, assembled by hand ------------------------------------------


def assemble(*items: bytes | tuple[str, str]) -> bytes:
    """EVM bytecode from raw bytes, ("label", name) JUMPDESTs and ("push", name) PUSH1 label."""
    positions: dict[str, int] = {}
    offset = 0
    for item in items:
        if isinstance(item, tuple):
            kind, name = item
            if kind == "label":
                positions[name] = offset
                offset += 1
            else:
                offset += 2
        else:
            offset += len(item)
    out = bytearray()
    for item in items:
        if isinstance(item, tuple):
            kind, name = item
            out += b"\x5b" if kind == "label" else bytes([0x60, positions[name]])
        else:
            out += item
    return bytes(out)


# On any call with calldata n (a uint256): emit n x Ping(i) as LOG2(topic0, topic1 = i, data = i)
# for i in 0..n-1, then return n.
RUNTIME = assemble(
    bytes.fromhex("600035"),  # PUSH1 0 CALLDATALOAD           [n]
    bytes.fromhex("6000"),  # PUSH1 0                          [n, i]
    ("label", "loop"),
    bytes.fromhex("818110"),  # DUP2 DUP2 LT                   [n, i, i<n]
    bytes.fromhex("15"),
    ("push", "end"),
    bytes.fromhex("57"),  # ISZERO PUSH end JUMPI
    bytes.fromhex("80600052"),  # DUP1 PUSH1 0 MSTORE          mem[0] = i
    bytes.fromhex("80"),  # DUP1                               topic1 = i
    bytes.fromhex("7f") + bytes.fromhex(TOPIC0[2:]),  # PUSH32 topic0
    bytes.fromhex("60206000a2"),  # PUSH1 32 PUSH1 0 LOG2
    bytes.fromhex("600101"),  # PUSH1 1 ADD                    [n, i+1]
    ("push", "loop"),
    bytes.fromhex("56"),  # JUMP
    ("label", "end"),
    bytes.fromhex("50600052"),  # POP PUSH1 0 MSTORE           mem[0] = n
    bytes.fromhex("60206000f3"),  # RETURN mem[0:32]
)
# PUSH1 len DUP1 PUSH1 11 PUSH1 0 CODECOPY PUSH1 0 RETURN: deploy the 11 bytes' tail as the code
INITCODE = bytes([0x60, len(RUNTIME), 0x80, 0x60, 11, 0x60, 0x00, 0x39, 0x60, 0x00, 0xF3]) + RUNTIME


@dataclass
class Chain:
    node: LocalNode
    rpc: RpcClient
    account: str
    emitter: str  # the contract whose logs the fetcher reads
    other: str  # another emitter, whose logs must never show up
    head: int
    big_block: int  # the block with 12 logs in one transaction
    dense: tuple[int, int]  # blocks with 8 logs each
    tx_hash: str
    expected: list[dict]  # every log of `emitter`, from one unrestricted eth_getLogs


def send(rpc: RpcClient, account: str, to: str | None, data: bytes) -> str:
    tx: dict[str, Any] = {"from": account, "data": "0x" + data.hex(), "gas": hex(3_000_000)}
    if to is not None:
        tx["to"] = to
    return rpc.call("eth_sendTransaction", [tx])


def emit(rpc: RpcClient, account: str, to: str, n: int) -> dict:
    """Make `to` emit n logs in one transaction, mined in its own block; the receipt."""
    return receipt(rpc, send(rpc, account, to, n.to_bytes(32, "big")))


def receipt(rpc: RpcClient, tx_hash: str) -> dict:
    """The receipt, once the node has it (anvil's automine can lag a little under load)."""
    deadline = time.monotonic() + 10
    while (found := rpc.get_transaction_receipt(tx_hash)) is None:
        assert time.monotonic() < deadline, f"no receipt for {tx_hash}"
        time.sleep(0.01)
    return found


@pytest.fixture(scope="module")
def chain() -> Iterator[Chain]:
    with LocalNode.start() as node, RpcClient(node.url, retry=FAST) as rpc:
        account = rpc.call("eth_accounts")[0]
        emitter = receipt(rpc, send(rpc, account, None, INITCODE))["contractAddress"]
        other = receipt(rpc, send(rpc, account, None, INITCODE))["contractAddress"]
        tx_hash = ""
        for i in range(30):  # sparse logs with gaps of 1-40 blocks
            rpc.call("anvil_mine", [hex((i * 37) % 40 + 1)])
            tx_hash = emit(rpc, account, emitter, i % 5 + 1)["transactionHash"]
            if i % 5 == 0:
                emit(rpc, account, other, 3)
        dense_blocks = [int(emit(rpc, account, emitter, 8)["blockNumber"], 16) for _ in range(10)]
        dense = (dense_blocks[0], dense_blocks[-1])
        assert dense_blocks == list(range(dense[0], dense[1] + 1))
        rpc.call("anvil_mine", [hex(40)])
        big_block = int(emit(rpc, account, emitter, 12)["blockNumber"], 16)
        rpc.call("anvil_mine", [hex(1500)])  # a long, empty tail (anvil mines ~1 block/ms)
        emit(rpc, account, emitter, 2)
        rpc.call("anvil_mine", [hex(5)])
        head = rpc.block_number()
        expected = rpc.get_logs(emitter, 0, head)
        yield Chain(node, rpc, account, emitter, other, head, big_block, dense, tx_hash, expected)


def check_cover(batches: list[LogBatch], start: int, end: int) -> None:
    """Contiguous, ascending, [start, end] exactly once."""
    assert batches, "no batch"
    assert batches[0].from_block == start
    assert batches[-1].to_block == end
    for before, after in itertools.pairwise(batches):
        assert after.from_block == before.to_block + 1
    for batch in batches:
        assert batch.from_block <= batch.to_block
        for entry in batch.logs:
            assert batch.from_block <= int(entry.block_number, 16) <= batch.to_block


def flatten(batches: list[LogBatch]) -> list[RawLog]:
    return [entry for batch in batches for entry in batch.logs]


def prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == PREFETCH_THREAD_NAME]


def wait_until(condition: Callable[[], bool], timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


# --- a scripted fake node ---------------------------------------------------------------------


class FakeNode:
    """An HTTP server answering from `script`: a list of (status, headers, body) or callables
    taking the decoded request; the last entry repeats. `delay` seconds before each answer."""

    def __init__(self, *script: Any, delay: float = 0.0) -> None:
        self.script = list(script)
        self.delay = delay
        self.requests: list[Any] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                request = orjson.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(request)
                step = fake.script[0] if len(fake.script) == 1 else fake.script.pop(0)
                status, headers, body = step(request) if callable(step) else step
                if fake.delay:
                    time.sleep(fake.delay)
                if not isinstance(body, bytes):
                    body = orjson.dumps(body)
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda *a: None  # type: ignore[method-assign]
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def __enter__(self) -> FakeNode:
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _each(make: Callable[[dict], dict]) -> Callable[[Any], tuple[int, dict, Any]]:
    """A scripted step answering a single request or a batch, one `make(request)` per call."""
    return lambda request: (
        200,
        {},
        [make(r) for r in request] if isinstance(request, list) else make(request),
    )


def answer(result: Any) -> Callable[[Any], tuple[int, dict, Any]]:
    return _each(lambda request: {"jsonrpc": "2.0", "id": request["id"], "result": result})


def rpc_error(code: int | None, message: str, data: Any = None) -> Callable[[Any], tuple[int, dict, Any]]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return _each(lambda request: {"jsonrpc": "2.0", "id": request["id"], "error": error})


# --- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["ftp://x", "not a url", "", "http://", "ws://127.0.0.1:8546", "http://h:99999"]
)
def test_a_bad_url_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError) as raised:
        RpcClient(url)
    assert repr(url) in str(raised.value)


def test_bad_settings_are_config_errors(chain: Chain) -> None:
    with pytest.raises(ConfigError):
        RetryPolicy(attempts=0)
    with pytest.raises(ConfigError):
        LogFetcher(chain.rpc, chain.emitter, min_span=0)
    with pytest.raises(ConfigError):
        LogFetcher(chain.rpc, chain.emitter, min_span=10, max_span=5)
    with pytest.raises(ConfigError):
        chain.rpc.get_block(-1)


# --- calls against anvil ----------------------------------------------------------------------


def test_typed_calls(chain: Chain) -> None:
    rpc = chain.rpc
    assert rpc.chain_id() == 31337
    assert rpc.block_number() == chain.head
    genesis = rpc.get_block(0)
    assert genesis is not None and genesis.number == 0
    latest = rpc.get_block("latest")
    assert latest is not None and latest.number == chain.head
    assert rpc.get_block(latest.hash) == latest
    assert rpc.get_block(chain.head + 1000) is None
    assert rpc.get_code(chain.emitter) == RUNTIME
    assert rpc.get_code(chain.account) == b""
    assert rpc.get_balance(chain.account) > 10**18
    assert rpc.eth_call(chain.emitter, (7).to_bytes(32, "big")) == (7).to_bytes(32, "big")
    tx = rpc.get_transaction(chain.tx_hash)
    assert tx is not None and tx["hash"] == chain.tx_hash
    receipt = rpc.get_transaction_receipt(chain.tx_hash)
    assert receipt is not None and receipt["logs"] and receipt["logs"][0]["address"] == chain.emitter
    assert rpc.get_transaction("0x" + "00" * 32) is None
    with pytest.raises(RpcError) as raised:
        rpc.call("eth_noSuchMethod", [])
    assert raised.value.method == "eth_noSuchMethod" and raised.value.code is not None
    assert not isinstance(raised.value, RangeTooWide)


def test_batch_keeps_request_order_across_chunks(chain: Chain) -> None:
    numbers = [(i * 7919) % (chain.head + 1) for i in range(250)]
    calls: list[tuple[str, list]] = [("eth_getBlockByNumber", [hex(n), False]) for n in numbers]
    calls.insert(123, ("eth_chainId", []))
    with ProviderProxy(chain.node.url) as proxy, RpcClient(proxy.url, batch_limit=100) as rpc:
        results = rpc.batch(calls)
        assert proxy.requests == 3  # 251 calls in chunks of <= 100
        assert rpc.batch([]) == []
        headers = rpc.get_blocks([5, 3, chain.head + 50, 1])
    assert results.pop(123) == "0x7a69"
    assert [int(block["number"], 16) for block in results] == numbers
    assert [h and h.number for h in headers] == [5, 3, None, 1]


def test_batch_matches_answers_by_id() -> None:
    def reversed_answers(request: list) -> tuple[int, dict, Any]:
        return (
            200,
            {},
            [{"jsonrpc": "2.0", "id": r["id"], "result": r["params"][0]} for r in reversed(request)],
        )

    with FakeNode(reversed_answers) as fake, RpcClient(fake.url, retry=FAST) as rpc:
        assert rpc.batch([("echo", [i]) for i in range(10)]) == list(range(10))

    def one_missing(request: list) -> tuple[int, dict, Any]:
        return 200, {}, [{"jsonrpc": "2.0", "id": r["id"], "result": 1} for r in request[1:]]

    with (
        FakeNode(one_missing) as fake,
        RpcClient(fake.url, retry=FAST) as rpc,
        pytest.raises(NodeError, match="no answer"),
    ):
        rpc.batch([("a", []), ("b", [])])


def test_a_failed_call_in_a_batch_raises_its_rpc_error(chain: Chain) -> None:
    with pytest.raises(RpcError) as raised:
        chain.rpc.batch([("eth_chainId", []), ("eth_noSuchMethod", [1]), ("eth_blockNumber", [])])
    assert raised.value.method == "eth_noSuchMethod"


def test_get_logs_of_a_real_contract(chain: Chain) -> None:
    rpc = chain.rpc
    logs = chain.expected
    assert len(logs) == sum(i % 5 + 1 for i in range(30)) + 80 + 12 + 2
    assert {entry.address for entry in logs} == {chain.emitter}
    order = [(int(e.block_number, 16), int(e.log_index, 16)) for e in logs]
    assert order == sorted(order)
    big = [e for e in logs if int(e.block_number, 16) == chain.big_block]
    assert [int(e.data, 16) for e in big] == list(range(12))
    topic1 = "0x" + (11).to_bytes(32, "big").hex()
    only_11 = rpc.get_logs(chain.emitter, 0, chain.head, [TOPIC0, topic1])
    assert len(only_11) == 1 and int(only_11[0].block_number, 16) == chain.big_block
    assert rpc.get_logs(chain.emitter, chain.big_block, chain.big_block) == big
    assert len(rpc.get_logs(chain.other, 0, chain.head)) == 18


# --- error classification ---------------------------------------------------------------------

FROM = 0x100  # the fromBlock of the classified eth_getLogs calls


@pytest.mark.parametrize(
    ("code", "message", "suggested"),
    [
        (
            -32005,
            "query returned more than 10000 results. Try with this block range [0x100, 0x2710].",
            0x2710,
        ),
        (-32005, "query returned more than 10000 results", None),
        (-32000, "Query Returned More Than 5000 results", None),
        (-32005, "backend says no", None),
        (-32602, "eth_getLogs is limited to a 1000 block range", FROM + 999),
        (-32000, "exceed maximum block range: 5000", FROM + 4999),
        (-32000, "block range is too wide", None),
        (-32000, "range is too large, max is 1k blocks", None),
        (-32000, "limit exceeded", None),
        (-32000, "response size should not greater than 10000000 bytes", None),
        (-32000, "too many results in the requested range", None),
        (-32000, "the query would return more than 10000 results", None),
        (
            -32602,
            (
                "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range "
                "and no limit on the response size, or you can request any block range with a cap of 10K logs "
                "in the response. Based on your parameters, this block range should work: [0x100, 0x1a3c]"
            ),
            0x1A3C,
        ),
        (-32000, "LOG RESPONSE SIZE EXCEEDED", None),
    ],
)
def test_range_errors_are_classified(code: int, message: str, suggested: int | None) -> None:
    with FakeNode(rpc_error(code, message, {"hint": 1})) as fake, RpcClient(fake.url, retry=FAST) as rpc:
        with pytest.raises(RangeTooWide) as raised:
            rpc.get_logs("0x" + "11" * 20, FROM, FROM + 100_000)
        error = raised.value
        assert (error.method, error.code, error.message, error.data) == (
            "eth_getLogs",
            code,
            message,
            {"hint": 1},
        )
        assert error.suggested_to_block == suggested
        # in a batch too
        with pytest.raises(RangeTooWide):
            rpc.batch([("eth_getLogs", [{"fromBlock": hex(FROM), "toBlock": "latest"}])])
        # the same answer to another method is a plain RpcError
        with pytest.raises(RpcError) as other:
            rpc.call("eth_call", [{}, "latest"])
        assert not isinstance(other.value, RangeTooWide)
        assert len(fake.requests) == 3  # none of these is retried


def test_http_413_is_range_too_wide_for_get_logs() -> None:
    with FakeNode((413, {}, b"Payload Too Large")) as fake, RpcClient(fake.url, retry=FAST) as rpc:
        with pytest.raises(RangeTooWide) as raised:
            rpc.get_logs("0x" + "11" * 20, 1, 10)
        assert raised.value.suggested_to_block is None
        with pytest.raises(NodeError) as other:
            rpc.block_number()
        assert not isinstance(other.value, (RpcError, NodeUnavailable))


def test_other_get_logs_errors_stay_rpc_errors() -> None:
    with (
        FakeNode(rpc_error(-32602, "invalid argument 0: hex string without 0x prefix")) as fake,
        RpcClient(fake.url, retry=FAST) as rpc,
        pytest.raises(RpcError) as raised,
    ):
        rpc.get_logs("0x" + "11" * 20, 1, 10)
    assert not isinstance(raised.value, RangeTooWide)
    assert raised.value.code == -32602


@pytest.mark.parametrize(
    ("status", "body", "excerpt"),
    [
        (200, b"<html><body>Bad Gateway</body></html>", "<html>"),
        (200, b"", "''"),
        (200, b'{"jsonrpc": "2.0", "id": 1}', "neither result nor error"),
        (200, b"[1, 2]", "malformed"),
        (401, b"invalid project id", "invalid project id"),
        (404, b'{"message": "not found"}', "not found"),
    ],
)
def test_unusable_answers_are_node_errors(status: int, body: bytes, excerpt: str) -> None:
    with FakeNode((status, {}, body)) as fake, RpcClient(fake.url, retry=FAST) as rpc:
        with pytest.raises(NodeError) as raised:
            rpc.block_number()
        assert not isinstance(raised.value, (RpcError, NodeUnavailable))
        assert excerpt in str(raised.value)
        assert len(fake.requests) == 1


def test_json_rpc_error_with_an_http_error_status_is_an_rpc_error() -> None:
    def bad_request(request: dict) -> tuple[int, dict, Any]:
        return 400, {}, {"jsonrpc": "2.0", "id": request["id"], "error": {"code": -32600, "message": "bad"}}

    with (
        FakeNode(bad_request) as fake,
        RpcClient(fake.url, retry=FAST) as rpc,
        pytest.raises(RpcError, match="bad"),
    ):
        rpc.block_number()


def test_transient_failures_are_retried(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="ledger.rpc")
    script = [
        (503, {}, b"Service Unavailable"),
        (502, {}, b"Bad Gateway"),
        (500, {}, b"<html>oops</html>"),
        (429, {"Retry-After": "0"}, b"slow down"),
        rpc_error(429, "Your app has exceeded its compute units per second capacity"),
        answer("0x2a"),
    ]
    with (
        FakeNode(*script) as fake,
        RpcClient(fake.url, retry=RetryPolicy(attempts=8, base_delay=0.01)) as rpc,
    ):
        assert rpc.block_number() == 42
        assert len(fake.requests) == 6
    messages = [r.getMessage() for r in caplog.records if r.name == "ledger.rpc"]
    assert len(messages) == 5 and "HTTP 503" in messages[0] and "HTTP 429" in messages[3]


def test_retry_after_is_honoured() -> None:
    with (
        FakeNode((429, {"Retry-After": "1"}, b""), answer("0x1")) as fake,
        RpcClient(fake.url, retry=RetryPolicy(base_delay=0.01)) as rpc,
    ):
        started = time.monotonic()
        assert rpc.block_number() == 1
        assert time.monotonic() - started >= 0.95


def test_a_retry_after_beyond_the_budget_gives_up_at_once() -> None:
    with FakeNode((429, {"Retry-After": "60"}, b"")) as fake:
        with (
            RpcClient(fake.url, retry=RetryPolicy(total_timeout=5)) as rpc,
            pytest.raises(NodeUnavailable) as raised,
        ):
            started = time.monotonic()
            rpc.block_number()
        assert time.monotonic() - started < 1
        assert "Retry-After" in str(raised.value)


def test_a_node_that_never_answered_fails_at_once_with_one_line() -> None:
    """Nothing listens at the URL, or its host name does not resolve: no retries, one line."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with RpcClient(url, retry=RetryPolicy(attempts=4, base_delay=0.5, max_delay=1.0)) as rpc:
        started = time.monotonic()
        with pytest.raises(NodeUnavailable) as raised:
            rpc.get_logs("0x" + "11" * 20, 0, 10)
        assert time.monotonic() - started < 1
    text = str(raised.value)
    assert f"127.0.0.1:{port}" in text and "connection refused" in text and "\n" not in text
    assert isinstance(raised.value, ConnectionError)
    with RpcClient("http://no-such-host.invalid:8545", retry=RetryPolicy(attempts=4, base_delay=0.5)) as rpc:
        started = time.monotonic()
        with pytest.raises(NodeUnavailable) as raised:
            rpc.block_number()
        assert time.monotonic() - started < 5
    assert "does not resolve" in str(raised.value)


def test_a_node_that_went_down_is_retried_within_the_budget() -> None:
    """A node that answered once and then refuses connections is restarting: retried until the
    attempts or the total budget run out."""
    with FakeNode(answer("0x1")) as fake:
        url = fake.url
        rpc = RpcClient(url, retry=RetryPolicy(attempts=4, base_delay=0.05, max_delay=0.1))
        assert rpc.block_number() == 1
    rpc.close()  # the kept-alive connection: the next call connects again, to nothing
    started = time.monotonic()
    with pytest.raises(NodeUnavailable) as raised:
        rpc.get_logs("0x" + "11" * 20, 0, 10)
    assert time.monotonic() - started < 2
    text = str(raised.value)
    assert "eth_getLogs" in text and "connection refused" in text and "4 attempts" in text
    rpc = RpcClient(
        url, retry=RetryPolicy(attempts=10_000, base_delay=0.02, max_delay=0.05, total_timeout=0.8)
    )
    rpc._reached = True  # as after an answer: the total budget bounds many cheap attempts
    started = time.monotonic()
    with pytest.raises(NodeUnavailable):
        rpc.block_number()
    assert 0.6 < time.monotonic() - started < 2


def test_timeouts_are_retried_then_node_unavailable() -> None:
    with FakeNode(answer("0x1"), delay=1.0) as fake:
        with RpcClient(fake.url, timeout=0.2, retry=RetryPolicy(attempts=2, base_delay=0.01)) as rpc:
            started = time.monotonic()
            with pytest.raises(NodeUnavailable, match="timed out"):
                rpc.block_number()
            assert time.monotonic() - started < 1.5
        assert len(fake.requests) == 2


def test_a_json_rpc_error_in_an_http_500_is_not_retried() -> None:
    def reverted(request: dict) -> tuple[int, dict, Any]:
        error = {"code": 3, "message": "execution reverted", "data": "0x08c379a0"}
        return 500, {}, {"jsonrpc": "2.0", "id": request["id"], "error": error}

    with FakeNode(reverted) as fake, RpcClient(fake.url, retry=FAST) as rpc:
        with pytest.raises(RpcError) as raised:
            rpc.eth_call("0x" + "11" * 20, b"")
        assert (raised.value.code, raised.value.data) == (3, "0x08c379a0")
        assert len(fake.requests) == 1


def test_500_forever_is_node_unavailable() -> None:
    with FakeNode((500, {}, b"Internal Server Error")) as fake:
        with (
            RpcClient(fake.url, retry=RetryPolicy(attempts=3, base_delay=0.01)) as rpc,
            pytest.raises(NodeUnavailable, match="HTTP 500"),
        ):
            rpc.block_number()
        assert len(fake.requests) == 3


def test_client_is_thread_safe(chain: Chain) -> None:
    errors: list[BaseException] = []
    results: list[int] = []

    def work() -> None:
        try:
            for _ in range(20):
                results.append(chain.rpc.block_number())
                chain.rpc.batch([("eth_chainId", [])] * 3)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and results == [chain.head] * 80


# --- the fetcher ------------------------------------------------------------------------------


@pytest.mark.parametrize("prefetch", [True, False], ids=["prefetch", "inline"])
@pytest.mark.parametrize(
    "limits",
    [
        {"max_log_results": 20},
        {"max_log_results": 20, "suggest_range": True},
        {"max_log_range": 300},
        {"http_413_over": 250},
        {"rate_limit_every": 3},
        {"max_log_results": 25, "max_log_range": 700, "rate_limit_every": 4, "suggest_range": True},
    ],
    ids=["results", "results-suggested", "range", "413", "429", "all"],
)
def test_fetcher_covers_every_block_once_under_provider_limits(
    chain: Chain, limits: dict[str, Any], prefetch: bool
) -> None:
    with ProviderProxy(chain.node.url, **limits) as proxy, RpcClient(proxy.url, retry=FAST) as rpc:
        fetcher = LogFetcher(rpc, chain.emitter, initial_span=400, prefetch=prefetch)
        batches = list(fetcher.iter_batches(0, chain.head))
        check_cover(batches, 0, chain.head)
        assert flatten(batches) == chain.expected
        # a sub-range, starting and ending mid-chain
        start, end = chain.dense[0] - 3, chain.big_block + 10
        batches = list(fetcher.iter_batches(start, end))
        check_cover(batches, start, end)
        assert flatten(batches) == [e for e in chain.expected if start <= int(e.block_number, 16) <= end]
        if "rate_limit_every" in limits:
            assert proxy.requests > sum(proxy.calls.values())


def test_fetcher_with_topics_and_single_block(chain: Chain) -> None:
    topic1 = "0x" + (7).to_bytes(32, "big").hex()
    fetcher = LogFetcher(chain.rpc, chain.emitter, topics=[TOPIC0, [topic1]], initial_span=1000)
    batches = list(fetcher.iter_batches(0, chain.head))
    check_cover(batches, 0, chain.head)
    assert [int(e.block_number, 16) for e in flatten(batches)] == list(
        range(chain.dense[0], chain.dense[1] + 1)
    ) + [chain.big_block]
    assert [b.to_block for b in fetcher.iter_batches(chain.big_block, chain.big_block)] == [chain.big_block]
    assert list(fetcher.iter_batches(10, 9)) == []


def test_span_shrinks_then_grows_back(chain: Chain) -> None:
    with ProviderProxy(chain.node.url, max_log_results=20) as proxy, RpcClient(proxy.url, retry=FAST) as rpc:
        fetcher = LogFetcher(
            rpc, chain.emitter, initial_span=500, grow_after=1, max_span=4000, prefetch=False
        )
        spans = [fetcher.span]
        batches = []
        for batch in fetcher.iter_batches(0, chain.head):
            batches.append(batch)
            spans.append(fetcher.span)
    check_cover(batches, 0, chain.head)
    assert flatten(batches) == chain.expected
    lowest = spans.index(min(spans))
    assert spans[lowest] <= 10  # shrank around the dense blocks
    assert max(spans[lowest:]) >= 500  # and grew back over the empty tail
    assert max(spans) <= 4000


STUB_ADDRESS = "0x" + "ab" * 20


def stub_log(block: int) -> RawLog:
    """A log of STUB_ADDRESS in block `block` (the fetcher only looks at where it is)."""
    word = "0x" + "00" * 32
    return RawLog(
        address=STUB_ADDRESS,
        topics=[word],
        data="0x",
        block_number=hex(block),
        block_hash=word,
        transaction_hash=word,
        log_index="0x0",
    )


class StubRpc:
    """get_logs that refuses ranges wider than `limit` inside [dense_from, dense_to]."""

    def __init__(self, limit: int, dense: tuple[int, int], suggest: bool = False) -> None:
        self.limit = limit
        self.dense = dense
        self.suggest = suggest
        self.calls: list[tuple[int, int]] = []

    def get_logs(
        self, address: str, from_block: int, to_block: int, topics: list | None = None
    ) -> list[RawLog]:
        self.calls.append((from_block, to_block))
        overlaps = from_block <= self.dense[1] and to_block >= self.dense[0]
        if overlaps and to_block - from_block + 1 > self.limit:
            error = RangeTooWide("eth_getLogs", -32005, "query returned more than 10000 results")
            error.suggested_to_block = from_block + self.limit - 1 if self.suggest else None  # type: ignore[attr-defined]
            raise error
        return [stub_log(n) for n in range(from_block, to_block + 1) if n % 97 == 0]


@pytest.mark.parametrize("suggest", [False, True])
def test_span_adapts_deterministically(suggest: bool) -> None:
    stub = StubRpc(limit=100, dense=(10_000, 10_500), suggest=suggest)
    fetcher = LogFetcher(stub, STUB_ADDRESS, initial_span=1000, grow_after=3, max_span=8000, prefetch=False)  # type: ignore[arg-type]
    spans = []
    batches = []
    for batch in fetcher.iter_batches(0, 40_000):
        batches.append(batch)
        spans.append(fetcher.span)
    check_cover(batches, 0, 40_000)
    assert flatten(batches) == [stub_log(n) for n in range(40_001) if n % 97 == 0]
    assert min(spans) <= 100
    assert spans[-1] > 1000  # grown back past the initial span
    assert max(spans) <= 8000  # never above max_span
    refused = [(a, b) for a, b in stub.calls if b - a + 1 > 100 and a <= 10_500 and b >= 10_000]
    if suggest:  # jumped to the suggested range: at most one refusal per shrink
        assert len(refused) <= 1 + sum(1 for a, b in itertools.pairwise(spans) if b < a)
    else:
        widths = [b - a + 1 for a, b in refused]
        assert len(widths) >= 3 and all(
            after == before // 2 for before, after in itertools.pairwise(widths[:3])
        )


class DensityRpc:
    """get_logs over a chain whose blocks hold `per_block(n)` logs each (no provider limit)."""

    def __init__(self, per_block: Callable[[int], int]) -> None:
        self.per_block = per_block

    def get_logs(
        self, address: str, from_block: int, to_block: int, topics: list | None = None
    ) -> list[RawLog]:
        return [stub_log(n) for n in range(from_block, to_block + 1) for _ in range(self.per_block(n))]


def sparse_then_dense(n: int) -> int:
    """200 blocks of one log each, then 50 of 2,000 (the shape bench/index.py generates)."""
    return 1 if n < 200 else 2_000


@pytest.mark.parametrize(
    ("expected", "largest_at_most"),
    [(None, None), (100_200, 2 * 5_000), (100_200 * 10, 5_000), (10, None), (0, None)],
    ids=["no-hint", "right-count", "count-too-high", "count-too-low", "zero"],
)
def test_a_count_of_the_logs_paces_the_spans(expected: int | None, largest_at_most: int | None) -> None:
    """Given how many logs the range holds, the span never outgrows the average density still
    ahead: the sparse start does not grow it into one answer for the whole dense stretch. Without
    the count, or with a wrong one, every block is still covered exactly once."""
    fetcher = LogFetcher(
        DensityRpc(sparse_then_dense),
        STUB_ADDRESS,
        initial_span=100,
        grow_after=1,
        prefetch=False,  # type: ignore[arg-type]
        target_logs=5_000,
        expected_logs=expected,
    )
    batches = list(fetcher.iter_batches(0, 249))
    check_cover(batches, 0, 249)
    assert len(flatten(batches)) == 100_200
    largest = max(len(batch.logs) for batch in batches)
    if largest_at_most is not None:
        assert largest <= largest_at_most
        assert (
            sum(1 for batch in batches if batch.from_block >= 200) >= 10
        )  # the dense stretch in many answers
    elif expected is None:
        assert largest > 90_000  # what pacing prevents: the dense stretch in one answer


@pytest.mark.parametrize("prefetch", [True, False], ids=["prefetch", "inline"])
def test_a_block_too_big_for_the_provider_raises_and_skips_nothing(chain: Chain, prefetch: bool) -> None:
    with (
        ProviderProxy(chain.node.url, max_log_results=10, suggest_range=True) as proxy,
        RpcClient(proxy.url, retry=FAST) as rpc,
    ):
        fetcher = LogFetcher(rpc, chain.emitter, initial_span=500, prefetch=prefetch)
        batches: list[LogBatch] = []
        with pytest.raises(RangeTooWide) as raised:
            for batch in fetcher.iter_batches(0, chain.head):
                batches.append(batch)
    check_cover(batches, 0, chain.big_block - 1)
    assert flatten(batches) == [e for e in chain.expected if int(e.block_number, 16) < chain.big_block]
    assert f"[{chain.big_block}, {chain.big_block}]" in str(raised.value)
    assert raised.value.suggested_to_block is None
    assert wait_until(lambda: not prefetch_threads())


def test_a_node_that_goes_down_and_comes_back_is_survived(
    chain: Chain, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="ledger.rpc")
    retry = RetryPolicy(attempts=30, base_delay=0.05, max_delay=0.2, total_timeout=15)
    with ProviderProxy(chain.node.url) as proxy, RpcClient(proxy.url, retry=retry) as rpc:
        fetcher = LogFetcher(rpc, chain.emitter, initial_span=300, grow_after=1000, prefetch=True)
        batches = []
        restart = threading.Timer(0.6, proxy.come_up)
        for batch in fetcher.iter_batches(0, chain.head):
            batches.append(batch)
            if len(batches) == 3:
                proxy.go_down()
                restart.start()
        restart.join()
    check_cover(batches, 0, chain.head)
    assert flatten(batches) == chain.expected
    assert any("connection" in r.getMessage() for r in caplog.records if r.name == "ledger.rpc")


def test_a_node_that_stays_down_mid_iteration_raises_node_unavailable(chain: Chain) -> None:
    retry = RetryPolicy(attempts=5, base_delay=0.05, max_delay=0.1, total_timeout=5)
    with ProviderProxy(chain.node.url) as proxy, RpcClient(proxy.url, retry=retry) as rpc:
        fetcher = LogFetcher(rpc, chain.emitter, initial_span=300, grow_after=1000)
        batches = []
        with pytest.raises(NodeUnavailable) as raised:
            for batch in fetcher.iter_batches(0, chain.head):
                batches.append(batch)
                if len(batches) == 2:
                    proxy.go_down()
                    started = time.monotonic()
        assert time.monotonic() - started < 3
    assert "eth_getLogs" in str(raised.value) and proxy.url.removeprefix("http://") in str(raised.value)
    check_cover(batches, 0, batches[-1].to_block)
    assert wait_until(lambda: not prefetch_threads())


def test_prefetch_is_bounded_and_an_early_close_stops_the_thread(chain: Chain) -> None:
    with ProviderProxy(chain.node.url) as proxy, RpcClient(proxy.url, retry=FAST) as rpc:
        fetcher = LogFetcher(rpc, chain.emitter, initial_span=50, grow_after=1000, prefetch=True)
        batches = fetcher.iter_batches(0, chain.head)
        first = next(batches)
        assert first.from_block == 0
        # a slow consumer: only the next batch is fetched meanwhile
        assert wait_until(lambda: proxy.calls["eth_getLogs"] == 2)
        time.sleep(0.3)
        assert proxy.calls["eth_getLogs"] == 2
        assert len(prefetch_threads()) == 1
        second = next(batches)
        assert second.from_block == first.to_block + 1
        batches.close()
        assert wait_until(lambda: not prefetch_threads())
        made = proxy.calls["eth_getLogs"]
        time.sleep(0.2)
        assert proxy.calls["eth_getLogs"] == made <= 3

        # an abandoned generator stops its thread too
        abandoned = fetcher.iter_batches(0, chain.head)
        next(abandoned)
        del abandoned
        gc.collect()
        assert wait_until(lambda: not prefetch_threads())


def test_proxy_rewrite_hook(chain: Chain) -> None:
    def tamper(method: str, params: Any, result: Any) -> Any:
        if method != "eth_getLogs":
            return result
        return [{**entry, "data": "0x" + "ff" * 32} for entry in result]

    with ProviderProxy(chain.node.url) as proxy, RpcClient(proxy.url, retry=FAST) as rpc:
        proxy.rewrite = tamper
        logs = rpc.get_logs(chain.emitter, chain.big_block, chain.big_block)
        assert len(logs) == 12 and {e.data for e in logs} == {"0x" + "ff" * 32}
        assert rpc.block_number() == chain.head
