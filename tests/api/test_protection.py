"""The API's rules for every request and for the event stream (issue 19), on a real server: HEAD
wherever GET exists, 404 for a NUL in the path, the stream's caps per client address (X-Forwarded-For
only from a trusted proxy) and its replay bound, a quiet log when stream clients leave, and a
follower that survives its node failing."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.schemas.health import HealthPublic
from tests.api.conftest import World, conforms, make_world
from tests.api.test_following import next_event, read_events
from tests.ledger.provider_proxy import ProviderProxy
from tests.support.chain import EscrowChain
from tests.support.server import wait_until

NUL_PATHS = ["/assets/js/app.js%00.html", "/campaigns/1%00", "/%00", "/vendor/swagger-ui/a%00.js"]


def get_paths(world: World) -> list[str]:
    """A real path for every GET route: the API's from /openapi.json (with ids that exist), and the page's."""
    tx = world.get("/ledger/1").json()["tx_hash"]
    backer = world.get("/ledger", params={"limit": 500}).json()["data"][-1]["account"]
    values = {"campaign_id": "1", "seq": "1", "address": backer, "tx_hash": tx, "hash": ""}
    paths = []
    for path, operations in world.get("/openapi.json").json()["paths"].items():
        if "get" in operations and path not in (
            "/ledger/stream",
            "/verify/tx/{tx_hash}",
            "/documents/{hash}",
        ):
            paths.append(path.format(**values))
    return paths + [
        "/",
        "/docs",
        "/web/config",
        "/assets/js/app.js",
        "/vendor/chart.umd.min.js",
        "/openapi.json",
    ]


def test_head_answers_wherever_get_does(world: World) -> None:
    for path in get_paths(world):
        got = world.get(path)
        head = world.http.head(path)
        assert head.status_code == got.status_code == 200, (path, head.status_code, got.status_code)
        assert head.content == b"", path
        assert head.headers.get("content-type") == got.headers.get("content-type"), path
        if "content-length" in got.headers and path != "/metrics":  # the metrics count the GET itself
            assert head.headers["content-length"] == got.headers["content-length"], path
    assert world.http.head("/campaigns/999999").status_code == 404
    assert world.http.head("/nowhere").status_code == 404
    # a stream answers HEAD with its headers and ends
    head = world.http.head("/ledger/stream")
    assert head.status_code == 200 and head.headers["content-type"].startswith("text/event-stream")


def test_a_nul_in_the_path_is_a_404(world: World) -> None:
    for path in NUL_PATHS:
        response = world.get(path)
        assert response.status_code == 404, (path, response.status_code, response.text)
        assert "NUL" in response.json()["detail"]


@contextmanager
def streams(url: str, count: int, headers: dict[str, str] | None = None) -> Iterator[list[int]]:
    """Open `count` streams at once and keep them open inside the block; yields their statuses."""
    with ExitStack() as stack:
        client = stack.enter_context(httpx.Client(timeout=httpx.Timeout(10, read=60)))
        statuses = []
        for _ in range(count):
            response = stack.enter_context(
                client.stream("GET", url + "/ledger/stream", headers=headers or {})
            )
            statuses.append(response.status_code)
            if response.status_code == 503:
                assert response.headers["retry-after"] == "10"
                response.read()
                assert "try again" in response.json()["detail"]
        yield statuses


@pytest.mark.parametrize("trusted", [True, False])
def test_streams_are_capped_per_client_address(history: EscrowChain, tmp_path: Path, trusted: bool) -> None:
    proxies = "127.0.0.1" if trusted else ""
    limits = {"stream_max_per_client": 2, "stream_max_clients": 5, "forwarded_allow_ips": proxies}
    with make_world(history, "sqlite", tmp_path, audit_interval=0, **limits) as world:
        url = world.api.url
        alice = {"X-Forwarded-For": "203.0.113.7"}
        with streams(url, 3, alice) as first:
            assert first == [200, 200, 503]  # the third from one address is refused
            with streams(url, 3, {"X-Forwarded-For": "198.51.100.9"}) as second:
                # behind a trusted proxy another client is another address; else it is the same peer
                assert second == ([200, 200, 503] if trusted else [503, 503, 503])
                if trusted:
                    with streams(url, 2, {"X-Forwarded-For": "192.0.2.1"}) as third:
                        assert third == [200, 503]  # 5 streams in all
        # every slot comes back when its stream ends
        wait_until(lambda: world.api.runtime.streams.open == 0, timeout=10)
        with streams(url, 2, alice) as again:
            assert again == [200, 200]


def test_a_stream_replays_a_bounded_history(history: EscrowChain, db_kind: str, tmp_path: Path) -> None:
    with make_world(history, db_kind, tmp_path, audit_interval=0, stream_max_replay=10) as world:
        newest = world.get("/health").json()["entries"]
        assert newest > 20
        too_far = world.get("/ledger/stream", params={"after": newest - 11})
        assert too_far.status_code == 400
        detail = too_far.json()["detail"]
        assert f"/ledger?after={newest - 11}" in detail and "at most 10" in detail
        assert world.get("/ledger/stream", headers={"Last-Event-ID": "0"}).status_code == 400
        events: queue.Queue[Any] = queue.Queue()
        stop = threading.Event()
        url = f"{world.api.url}/ledger/stream?after={newest - 10}"
        threading.Thread(target=read_events, args=(url, {}, events, stop), daemon=True).start()
        assert [next_event(events)[2]["seq"] for _ in range(10)] == list(range(newest - 9, newest + 1))
        stop.set()


def test_clients_leaving_the_stream_log_nothing(
    history: EscrowChain, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with make_world(history, "sqlite", tmp_path, audit_interval=0) as world:
        caplog.set_level(logging.DEBUG)
        for _ in range(5):
            with (
                httpx.Client(timeout=10) as client,
                client.stream("GET", world.api.url + "/ledger/stream?after=0") as response,
            ):
                next(response.iter_bytes())  # leave in the middle of the replay
        wait_until(lambda: world.api.runtime.streams.open == 0, timeout=10)
        loud = [
            r
            for r in caplog.records
            if r.levelno > logging.DEBUG and r.name.split(".")[0] in ("api", "uvicorn")
        ]
        assert loud == [], [r.getMessage() for r in loud]


def test_the_follower_survives_its_node_failing(tmp_path: Path) -> None:
    chain = EscrowChain.start()
    try:
        _follow_through_outages(chain, tmp_path)
    finally:
        chain.stop()


def _follow_through_outages(chain: EscrowChain, tmp_path: Path) -> None:
    with ProviderProxy(chain.url) as proxy:
        cid = chain.create(1)
        chain.pledge(cid, 2, 10**17)
        settings = {"rpc_url": proxy.url, "follow": True, "audit_interval": 0, "poll_interval": 0.1}
        with make_world(chain, "sqlite", tmp_path, **settings) as world:
            wait_until(lambda: world.get("/health").json()["follower"] == "running")
            proxy.go_down()  # the node goes away: the follower retries with a backoff, the API serves on
            down = wait_until(
                lambda: (h := world.get("/health")).json()["follower"] == "degraded" and h, timeout=30
            )
            conforms(HealthPublic, down.json())
            assert down.status_code == 200 and down.json()["status"] == "degraded"
            assert down.json()["follower_error"]
            assert world.get(f"/campaigns/{cid}").status_code == 200
            # a node that answers garbage is an error too, never a crash
            proxy.rewrite_body = lambda method, body: b'{"jsonrpc":"2.0","id":1,"result":"0xZZ"}'
            proxy.come_up()
            wait_until(
                lambda: "malformed" in (world.get("/health").json()["follower_error"] or ""), timeout=30
            )
            assert world.api.runtime.follower.state == "degraded"
            proxy.rewrite_body = None  # honest again: it indexes what happened meanwhile
            chain.pledge(cid, 3, 2 * 10**17)
            wait_until(
                lambda: world.get(f"/campaigns/{cid}").json()["pledged"] == str(3 * 10**17), timeout=60
            )
            health = wait_until(
                lambda: (h := world.get("/health").json())["status"] == "ok" and h, timeout=10
            )
            assert health["follower"] == "running" and health["follower_error"] is None
