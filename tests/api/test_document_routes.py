"""Documents (issue 20), through a real server on both databases: PUT /documents/0x{hash} answers
every documented status (201 stored, 200 already stored, 413 over 1 MiB whatever else is wrong,
404 for a hash nothing on the ledger commits to, 422 for bytes that do not hash to a committed one,
408 for a body that never arrives, 503 with Retry-After while SQLite's write lock is held), GET
serves the exact bytes with their type, and campaign answers carry the published metadata;
assets carry their symbols, a colliding one with its address."""

from __future__ import annotations

import socket
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy.engine import make_url

from api.schemas.campaigns import CampaignPublic, CampaignsPublic
from api.schemas.documents import DocumentStoredPublic
from ledger.core.documents import MAX_DOCUMENT_BYTES, document_hash
from ledger.core.records import ETH
from tests.api.conftest import World, conforms, make_world
from tests.api.test_routes import ok
from tests.support.chain import EscrowChain

IMAGE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
METADATA = orjson.dumps(
    {
        "title": "Solar\x07 pumps for Kibera",
        "summary": "Ten pumps, ten wells.",
        "description": "Line one.\nLine two.",
        "website": "https://example.org/pumps",
        "image": document_hash(IMAGE),
    }
)
TEXT = "Progress report: 4 of 10 pumps installed.\n".encode()
BINARY = b"\x00\x01\x02 not text \xff\xfe"
UNLISTED = b"nobody committed to these bytes"
BIG = b"x" * (MAX_DOCUMENT_BYTES + 1)


def commit(chain: EscrowChain, documents: dict[str, bytes]) -> dict[str, int]:
    """A campaign whose metadata hash is METADATA's, disclosures of TEXT, BINARY and BIG's hashes,
    and a campaign in a token whose symbol is ETH."""
    escrow = chain.escrow.functions
    receipt = chain.send(
        1,
        escrow.createCampaign(
            ETH, 10**18, chain.now() + 3600, 0, False, bytes.fromhex(document_hash(METADATA)[2:])
        ),
    )
    cid = int(chain.escrow.events.CampaignCreated().process_receipt(receipt)[0]["args"]["campaignId"])
    for name in ("text", "binary", "big"):
        chain.disclose(cid, 1, bytes.fromhex(document_hash(documents[name])[2:]))
    fake = chain.deploy("MockERC20", "Not Ether", "ETH")  # a token that calls itself ETH
    return {"campaign": cid, "fake_eth": chain.create(2, token=fake.address)}


@pytest.fixture(scope="module")
def chain() -> Iterator[tuple[EscrowChain, dict[str, int]]]:
    started = EscrowChain.start()
    try:
        ids = commit(started, {"text": TEXT, "binary": BINARY, "big": BIG})
        yield started, ids
    finally:
        started.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, chain: tuple[EscrowChain, dict[str, int]], tmp_path: Path
) -> Iterator[World]:
    with make_world(chain[0], request.param, tmp_path, audit_interval=0, document_read_timeout=1.0) as built:
        yield built


def put(world: World, body: bytes, hash: str | None = None, **kwargs: Any) -> Any:
    return world.http.put(f"/documents/{hash or document_hash(body)}", content=body, **kwargs)


def test_every_status_of_an_upload(world: World, chain: tuple[EscrowChain, dict[str, int]]) -> None:
    _, ids = chain
    cid = ids["campaign"]
    before = ok(world, f"/campaigns/{cid}", CampaignPublic)
    assert before["metadata"] == "not_published" and before["title"] is None

    stored = put(world, METADATA)
    assert stored.status_code == 201, stored.text
    conforms(DocumentStoredPublic, stored.json())
    assert stored.json()["media_type"] == "application/json" and stored.json()["detail"] == "stored"
    again = put(world, METADATA)
    assert again.status_code == 200 and again.json()["detail"] == "already stored"

    # 413 first: 1 MiB + 1 bytes, although the ledger commits to their hash and they hash to it
    assert put(world, BIG).status_code == 413
    assert put(world, BIG, hash=document_hash(UNLISTED)).status_code == 413
    # streamed without a Content-Length: still 413 once past the cap
    chunks = (BIG[i : i + 65536] for i in range(0, len(BIG), 65536))
    assert world.http.put(f"/documents/{document_hash(BIG)}", content=chunks).status_code == 413
    # 404 before 422: nothing commits to the hash, whatever the bytes
    missing = put(world, UNLISTED)
    assert missing.status_code == 404 and "nothing on the ledger" in missing.json()["detail"]
    assert put(world, TEXT, hash=document_hash(UNLISTED)).status_code == 404
    # 422: a committed hash, other bytes
    wrong = put(world, BINARY, hash=document_hash(TEXT))
    assert wrong.status_code == 422 and document_hash(BINARY) in wrong.json()["detail"]
    assert world.get(f"/documents/{document_hash(TEXT)}").status_code == 404  # nothing was stored

    # the image a stored, verified metadata document names is committed too
    assert put(world, IMAGE).status_code == 201
    after = ok(world, f"/campaigns/{cid}", CampaignPublic)
    assert after["metadata"] == "published"
    assert after["title"] == "Solar pumps for Kibera" and after["summary"] == "Ten pumps, ten wells."
    listed = ok(world, "/campaigns", CampaignsPublic)["data"]
    assert {c["id"]: c["title"] for c in listed}[cid] == "Solar pumps for Kibera"


def test_documents_are_served_as_they_are(world: World) -> None:
    for body, media in ((TEXT, "text/plain; charset=utf-8"), (BINARY, "application/octet-stream")):
        assert put(world, body).status_code == 201
        served = world.get(f"/documents/{document_hash(body)}")
        assert served.status_code == 200 and served.content == body
        assert served.headers["content-type"] == media
        assert served.headers["x-content-type-options"] == "nosniff"
        attachment = served.headers.get("content-disposition", "")
        assert attachment.startswith("attachment") == (body == BINARY)
        head = world.http.head(f"/documents/{document_hash(body).upper().replace('0X', '0x')}")
        assert head.status_code == 200 and head.content == b""
    assert put(world, METADATA).status_code in (200, 201)
    served = world.get(f"/documents/{document_hash(METADATA)}")
    assert served.headers["content-type"] == "application/json" and served.content == METADATA
    assert served.headers["x-content-type-options"] == "nosniff"
    assert world.get(f"/documents/{document_hash(UNLISTED)}").status_code == 404
    assert world.get("/documents/0x1234").status_code == 422


def test_a_body_that_never_arrives_is_a_408(world: World) -> None:
    host, port = world.api.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            f"PUT /documents/{document_hash(TEXT)} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc".encode()
        )
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:80]


def test_a_held_sqlite_write_lock_is_a_503(chain: tuple[EscrowChain, dict[str, int]], tmp_path: Path) -> None:
    with make_world(chain[0], "sqlite", tmp_path, audit_interval=0) as world:
        path = make_url(world.db_url).database
        assert path is not None
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # the write lock, as an indexer's batch holds it
        try:
            busy = put(world, TEXT)
            assert busy.status_code == 503 and busy.headers["retry-after"] == "2", busy.text
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert put(world, TEXT).status_code == 201


def test_assets_are_named_and_a_colliding_symbol_shows_its_address(
    world: World, chain: tuple[EscrowChain, dict[str, int]]
) -> None:
    _, ids = chain
    campaigns = {c["id"]: c for c in ok(world, "/campaigns", CampaignsPublic)["data"]}
    assert campaigns[ids["campaign"]]["asset"] == {
        "address": None,
        "symbol": "ETH",
        "name": "Ether",
        "decimals": 18,
        "assumed": False,
        "display_symbol": "ETH",
    }
    fake = campaigns[ids["fake_eth"]]
    assert fake["asset"]["address"] == fake["token"] and fake["asset"]["symbol"] == "ETH"
    assert fake["asset"]["name"] == "Not Ether" and fake["asset"]["decimals"] == 18
    short = f"{fake['token'][:6]}\u2026{fake['token'][-4:]}"
    assert fake["asset"]["display_symbol"] == f"ETH ({short})"  # never passes for ether
    stats = {t["token"]: t["asset"] for t in ok(world, "/stats", dict)["tokens"]}
    assert stats[fake["token"]]["display_symbol"] == f"ETH ({short})"


def test_uploads_race_to_one_row(world: World) -> None:
    answers: list[int] = []

    def upload() -> None:
        answers.append(put(world, TEXT).status_code)

    threads = [threading.Thread(target=upload) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers)[-1] == 201 and answers.count(201) == 1 and set(answers) <= {200, 201}
