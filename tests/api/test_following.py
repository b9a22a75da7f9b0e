"""The API while the chain moves: the follower indexes new entries, the event stream delivers
them (and resumes from Last-Event-ID), and the auditor catches a tampered database."""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import text

from api.schemas.audit import AuditPublic
from api.schemas.ledger import EntryPublic
from ledger.db.schema import trigger_ddl
from tests.api.conftest import conforms, make_world
from tests.support.chain import EscrowChain
from tests.support.server import wait_until


@pytest.fixture(scope="module")
def live_chain() -> Any:
    """One chain for this module's tests; each builds its own database and server from it."""
    chain = EscrowChain.start()
    try:
        chain.random_history(seed=9, steps=25)
        chain.mine(5)
        yield chain
    finally:
        chain.stop()


def read_events(url: str, headers: dict[str, str], out: queue.Queue, stop: threading.Event) -> None:
    """Parse server-sent events from `url` into `out` as (event, id, data) until `stop` (or
    until the server goes away at the end of the test)."""
    try:
        _read_events(url, headers, out, stop)
    except httpx.HTTPError:
        if not stop.is_set():
            raise


def _read_events(url: str, headers: dict[str, str], out: queue.Queue, stop: threading.Event) -> None:
    with (
        httpx.Client(timeout=httpx.Timeout(5, read=60)) as client,
        client.stream("GET", url, headers=headers) as response,
    ):
        out.put(("status", response.status_code, response.headers.get("content-type")))
        event: dict[str, Any] = {}
        for line in response.iter_lines():
            if stop.is_set():
                return
            if line == "":
                if "data" in event:
                    out.put((event.get("event", "message"), event.get("id"), orjson.loads(event["data"])))
                event = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(":")
                event[name] = value.removeprefix(" ")


def next_event(events: queue.Queue, kind: str = "entry") -> tuple:
    while True:
        item = events.get(timeout=30)
        if item[0] == kind:
            return item


def test_stream_delivers_a_pledge_made_after_it_opened(
    live_chain: EscrowChain, db_kind: str, tmp_path: Path
) -> None:
    chain = live_chain
    cid = chain.create(1)
    chain.pledge(cid, 2, 10**17)
    with make_world(chain, db_kind, tmp_path, follow=True, audit_interval=0) as world:
        start = world.get("/health").json()["entries"]
        events: queue.Queue = queue.Queue()
        stop = threading.Event()
        reader = threading.Thread(
            target=read_events, args=(world.api.url + "/ledger/stream", {}, events, stop), daemon=True
        )
        reader.start()
        status = events.get(timeout=30)
        assert status[1] == 200 and status[2].startswith("text/event-stream")

        receipt = chain.pledge(cid, 3, 3 * 10**17)
        _, event_id, entry = next_event(events)
        conforms(EntryPublic, entry)
        assert int(event_id) == entry["seq"] == start + 1
        assert entry["kind_name"] == "pledged" and entry["amount"] == str(3 * 10**17)
        assert entry["tx_hash"] == "0x" + bytes(receipt["transactionHash"]).hex()
        assert entry["account"] == chain.accounts[3]

        chain.unpledge(cid, 3, 10**17)
        assert next_event(events)[2]["kind_name"] == "unpledged"
        stop.set()

        # a reconnecting browser sends Last-Event-ID: the stream resumes right after it
        resumed: queue.Queue = queue.Queue()
        stop2 = threading.Event()
        threading.Thread(
            target=read_events,
            args=(world.api.url + "/ledger/stream", {"Last-Event-ID": str(start)}, resumed, stop2),
            daemon=True,
        ).start()
        assert [next_event(resumed)[2]["seq"] for _ in range(2)] == [start + 1, start + 2]
        stop2.set()
        # and ?after= replays from anywhere
        replay: queue.Queue = queue.Queue()
        stop3 = threading.Event()
        threading.Thread(
            target=read_events,
            args=(world.api.url + "/ledger/stream?after=0", {}, replay, stop3),
            daemon=True,
        ).start()
        assert [next_event(replay)[2]["seq"] for _ in range(3)] == [1, 2, 3]
        stop3.set()

        # the follower kept the rest of the API current too
        assert world.get(f"/campaigns/{cid}").json()["pledged"] == str(10**17 + 2 * 10**17)
        assert wait_until(lambda: world.get("/health").json()["follower"] == "running")


def test_audit_reports_a_tampered_database(live_chain: EscrowChain, db_kind: str, tmp_path: Path) -> None:
    chain = live_chain
    chain.mine(5)  # the previous test's entries become final
    with make_world(chain, db_kind, tmp_path, audit_interval=0.3) as world:
        first = wait_until(lambda: (a := world.get("/audit").json())["status"] != "pending" and a)
        assert first["status"] == "ok" and first["onchain_match"], first
        assert world.get("/health").json()["audit_ok"] is True

        with world.store.engine.begin() as conn:  # an insider edits a final entry behind the triggers' back
            for statement in trigger_ddl(world.dialect, drop=True):
                conn.execute(text(statement))
            conn.execute(
                text("UPDATE ledger_entries SET account = :a WHERE seq = 2"), {"a": "0x" + "66" * 20}
            )

        def tampered() -> dict | None:
            audit = world.get("/audit").json()
            return audit if audit["status"] == "findings" else None

        audit = wait_until(tampered, timeout=60)
        conforms(AuditPublic, audit)
        assert audit["ok"] is False
        assert audit["onchain_match"] is True  # the chain itself is fine: the database is not
        altered = [f for f in audit["findings"] if f["code"] == "db_altered_entry"]
        assert altered and altered[0]["seq"] == 2 and "account" in altered[0]["fields"]
        health = world.get("/health").json()
        assert health["audit"] == "findings" and health["audit_ok"] is False
        assert "crowdledger_audit_ok 0" in world.get("/metrics").text


def test_without_a_node_the_api_still_serves_the_database(live_chain: EscrowChain, tmp_path: Path) -> None:
    chain = live_chain
    with make_world(chain, "sqlite", tmp_path, rpc_url=None) as world:
        assert world.get("/campaigns/1").status_code == 200
        assert world.get("/audit").json()["status"] == "disabled"
        health = world.get("/health").json()
        assert health["ok"] and health["node"] is None
        response = world.get("/verify/tx/0x" + "12" * 32)
        assert response.status_code == 503 and "node" in response.json()["detail"]


def test_the_stream_rolls_back_what_a_reorg_replaced(
    live_chain: EscrowChain, db_kind: str, tmp_path: Path
) -> None:
    """A reorg that puts another entry at the same seq (the ledger no longer than before) is seen by
    its head: the stream sends `rollback` to the fork, then the entry that replaced the old one."""
    chain = live_chain
    cid = chain.create(1)
    chain.pledge(cid, 2, 10**17)
    with make_world(chain, db_kind, tmp_path, follow=True, audit_interval=0) as world:
        events: queue.Queue = queue.Queue()
        stop = threading.Event()
        url = world.api.url + "/ledger/stream"
        threading.Thread(target=read_events, args=(url, {}, events, stop), daemon=True).start()
        assert events.get(timeout=30)[1] == 200
        fork = world.get("/health").json()["entries"]
        snapshot = chain.snapshot()
        chain.pledge(cid, 3, 2 * 10**17)
        replaced = next_event(events)[2]
        assert (
            replaced["seq"] == fork + 1 and replaced["account"] == chain.accounts[3] and not replaced["final"]
        )
        chain.revert(snapshot)
        chain.pledge(cid, 4, 3 * 10**17)  # the same seq, in a block of the same number, another entry
        _, event_id, rollback = next_event(events, "rollback")
        assert rollback == {"last_seq": fork} and int(event_id) == fork
        _, event_id, entry = next_event(events)
        assert entry["seq"] == fork + 1 and int(event_id) == fork + 1
        assert entry["account"] == chain.accounts[4] and entry["amount"] == str(3 * 10**17)
        stop.set()
