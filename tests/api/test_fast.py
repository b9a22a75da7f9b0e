"""The hot routes' fast paths give exactly what the general ones give: FastRoute's canonical-input
parser against FastAPI's validation, the stored public texts of ledger entries against their fields,
the direct-to-text backer items against the dicts, and PostgreSQL's event-loop connections
(api/services/pgasync.py) against the blocking ones, including when the server drops them."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from eth_utils import to_checksum_address
from pydantic import BaseModel
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from starlette.requests import Request

from api import schemas
from api.fastpath import Int, Text, parser
from api.pagination import CURSOR_PARAM, LIMIT_PARAM
from api.services.pgasync import Statement
from api.services.present import (
    backed_campaign_public,
    backed_json,
    position_public,
)
from api.services.reader import EntryPage, LedgerReader, backed_campaign_from_row, position_from_row
from ledger.db.engine import open_database
from ledger.db.schema import ledger_entries, sync_state
from ledger.db.store import LedgerStore
from ledger.errors import StorageError
from ledger.core.public import entry_jsons
from ledger.core.records import Kind, LedgerEntry
from tests.api.conftest import FINALITY, World, make_world
from tests.support.chain import EscrowChain
from tests.support.databases import fresh_database

INT64 = 2**63 - 1
ADDRESS = "0x" + "ab" * 20


def request(path_params: dict[str, str], query: bytes = b"") -> Request:
    return Request({"type": "http", "path_params": path_params, "query_string": query, "headers": []})


# --------------------------------------------------------------------------------- FastRoute


def test_fast_parser_takes_only_canonical_input() -> None:
    parse = parser(path={"seq": Int(ge=1)}, query={"after": Int(), "limit": LIMIT_PARAM, "cursor": CURSOR_PARAM})
    assert parse(request({"seq": "7"})) == {"seq": 7}
    assert parse(request({"seq": "7"}, b"after=0&limit=500&cursor=a-_Z9")) == {
        "seq": 7, "after": 0, "limit": 500, "cursor": "a-_Z9"
    }
    assert parse(request({"seq": "999999999999999999"})) == {"seq": 999_999_999_999_999_999}
    # anything else is left to FastAPI: its validation decides, and words the error
    for seq in ("0", "07", "-1", "+1", "1.5", "1e3", " 1", "1 ", "１", "9" * 19, str(INT64), ""):
        assert parse(request({"seq": seq})) is None, seq
    for query in (b"limit=0", b"limit=501", b"limit=050", b"after=-1", b"after=", b"after", b"after=1&after=2",
                  b"other=1", b"after=1&", b"&after=1", b"after=%31", b"after=1+1", b"after=1;x", b"cursor=",
                  b"cursor=a=b", b"cursor=" + b"a" * 513, b"after=\xff", b"AFTER=1"):
        assert parse(request({"seq": "1"}, query)) is None, query
    address = parser(path={"address": Text(r"0x[0-9a-fA-F]{40}")})
    assert address(request({"address": ADDRESS.upper().replace("0X", "0x")})) is not None
    for value in (ADDRESS + "\n", ADDRESS[:-1], ADDRESS + "0", "0X" + ADDRESS[2:], ADDRESS[:-1] + "g"):
        assert address(request({"address": value})) is None, value


def same(world: World, fast: tuple[str, dict[str, Any]], slow: tuple[str, dict[str, Any]]) -> None:
    a, b = world.get(fast[0], params=fast[1]), world.get(slow[0], params=slow[1])
    assert (a.status_code, a.content, a.headers.get("etag")) == (b.status_code, b.content, b.headers.get("etag")), (fast, slow)


def test_fast_routes_match_exactly_what_their_patterns_match() -> None:
    """FastRoute turns a path away by its static prefix before FastAPI's matching: on every route
    of the app, for paths that hit, miss and nearly hit, the answer is APIRoute's."""
    from fastapi.routing import APIRoute

    from api.core.config import Settings
    from api.fastpath import FastRoute
    from api.main import create_app

    app = create_app(Settings(db_url="sqlite://", audit_interval=0))
    routes = [route for route in app.router.routes if isinstance(route, FastRoute)]
    assert len(routes) >= 10
    paths = ["/", "/ledger", "/ledger/", "/ledgers", "/ledger/7", "/ledger/export", "/ledger/stream", "/ledger/7/x",
             "/campaigns", "/campaigns/", "/campaigns/3", "/campaigns/3/ledger", "/campaignsX/3", "/backers/0xab",
             "/backers/0xab/votes", "/backers", "/verify/tx/0x1", "/api/ledger/7", "/docs"]
    for route in routes:
        for path in paths:
            for root_path in ("", "/api"):
                scope = {"type": "http", "method": "GET", "path": root_path + path, "root_path": root_path}
                assert route.matches(dict(scope)) == APIRoute.matches(route, dict(scope)), (route.path, scope)


def test_hot_routes_leave_a_path_to_an_earlier_route_that_matches_it() -> None:
    """A route declared before a @fast one and sharing its paths wins in FastAPI; HotRoutes must
    not take its requests (and serves the @fast route's own)."""
    import httpx
    from fastapi import APIRouter, FastAPI
    from starlette.responses import PlainTextResponse

    from api.fastpath import FastRoute, HotRoutes, fast

    router = APIRouter(prefix="/items", route_class=FastRoute)

    @router.get("/special")
    async def special() -> PlainTextResponse:
        return PlainTextResponse("special")

    @router.get("/{item_id}")
    @fast(path={"item_id": Text("[a-z0-9]+")})
    async def item(request: Request, item_id: str) -> PlainTextResponse:
        return PlainTextResponse(f"item {item_id}")

    app = FastAPI()
    app.router.routes[:] = list(router.routes) + app.router.routes
    hot = HotRoutes(app.router.routes)
    served: list[str] = []

    async def outer(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and await hot.serve(scope, receive, send):
            served.append(scope["path"])
            return
        await app(scope, receive, send)

    async def get(path: str) -> str:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=outer), base_url="http://t") as client:
            return (await client.get(path)).text

    assert asyncio.run(get("/items/special")) == "special" and served == []
    assert asyncio.run(get("/items/abc")) == "item abc" and served == ["/items/abc"]


def test_fast_and_validated_paths_answer_alike(world: World) -> None:
    """The same question asked in canonical form (fast path) and in a form only FastAPI's
    validation accepts (leading zeros, an unknown parameter): the same answer, byte for byte."""
    length = world.chain.escrow.functions.ledgerLength().call()
    campaigns = [c["id"] for c in world.get("/campaigns", params={"limit": 500}).json()["data"]]
    for campaign_id in [*campaigns, 999_999]:
        same(world, (f"/campaigns/{campaign_id}", {}), (f"/campaigns/0{campaign_id}", {}))
    for seq in [1, 2, length // 2, length, length + 1]:
        same(world, (f"/ledger/{seq}", {}), (f"/ledger/00{seq}", {}))
    for after in [0, 1, length // 3, length - 1, length, length + 5]:
        same(world, ("/ledger", {"after": after}), ("/ledger", {"after": f"0{after}", "x": 1}))
        same(world, ("/ledger", {"after": after, "limit": 7}), ("/ledger", {"limit": "007", "after": after}))
    cursor = world.get("/ledger", params={"limit": 3}).json()["next"]
    same(world, ("/ledger", {"cursor": cursor, "limit": 3}), ("/ledger", {"cursor": cursor, "limit": "03"}))
    backers = {b for c in campaigns for b in backers_of(world, c)}
    for backer in sorted(backers)[:20]:
        same(world, (f"/backers/{backer}", {}), (f"/backers/{backer}", {"unknown": "x"}))
        same(world, (f"/backers/{backer.lower()}", {"limit": 1}), (f"/backers/{backer.lower()}", {"limit": "01"}))


def test_hot_routes_answer_exactly_as_fastapi_does(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """HotRoutes answers the hot routes' canonical requests from the middleware. Every request,
    hot or not (a 404, a near miss that belongs to another route, a bad value), gets the same
    status, headers and body as with HotRoutes turned off; the canonical ones were served by it."""
    import httpx

    from api.core.config import Settings
    from api.fastpath import HotRoutes
    from api.main import create_app

    length = world.chain.escrow.functions.ledgerLength().call()
    campaigns = [c["id"] for c in world.get("/campaigns", params={"limit": 500}).json()["data"]]
    backer = backers_of(world, campaigns[0])[0]
    cursor = world.get("/ledger", params={"limit": 3}).json()["next"]
    hot = [
        *(f"/campaigns/{c}" for c in [*campaigns, 999_999]),
        *(f"/ledger/{seq}" for seq in (1, length // 2, length, length + 1)),
        *(f"/ledger?after={after}" for after in (0, 1, length - 1, length, length + 5)),
        "/ledger", "/ledger?limit=3", f"/ledger?cursor={cursor}&limit=3",
        f"/backers/{backer}", f"/backers/{backer.lower()}?limit=1",
    ]
    elsewhere = [
        f"/campaigns/{campaigns[0]}/backers", f"/campaigns/{campaigns[0]}/ledger", "/campaigns", "/campaigns/",
        "/ledger/export?format=csv", "/ledger/", "/ledger/abc", "/ledger/0", "/campaigns/-1", "/campaigns/01",
        f"/backers/{backer}/votes", "/backers/0x12", "/ledger?after=-1", "/ledger?after=1&after=2", "/ledger?x=1",
        "/stats", "/openapi.json", "/nowhere",
    ]
    served: list[str] = []
    serve = HotRoutes.serve

    async def counting(self: HotRoutes, scope: Any, receive: Any, send: Any) -> bool:
        answered = await serve(self, scope, receive, send)
        if answered:
            served.append(scope["path"] + ("?" + scope["query_string"].decode() if scope["query_string"] else ""))
        return answered

    async def never(self: HotRoutes, scope: Any, receive: Any, send: Any) -> bool:
        return False

    async def answers(paths: list[str], **settings: Any) -> list[tuple[int, list[tuple[str, str]], bytes]]:
        app = create_app(Settings(db_url=world.db_url, audit_interval=0, finality_depth=FINALITY, **settings))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
                out = []
                for path in paths:
                    response = await client.get(path)
                    out.append((response.status_code, sorted(response.headers.multi_items()), response.content))
                return out

    monkeypatch.setattr(HotRoutes, "serve", counting)
    fast = asyncio.run(answers(hot + elsewhere))
    monkeypatch.setattr(HotRoutes, "serve", never)
    slow = asyncio.run(answers(hot + elsewhere))
    for path, a, b in zip(hot + elsewhere, fast, slow):
        assert a == b, path
    ok = [path for path, answer in zip(hot, fast) if answer[0] == 200]
    assert served == ok and len(ok) >= len(hot) - 2  # the two unknown ids went to FastAPI's 404
    assert {answer[0] for answer in fast} >= {200, 404, 422}
    # with FastAPI's OpenTelemetry on, every request takes FastAPI's path (its spans see them all)
    monkeypatch.setattr(HotRoutes, "serve", counting)
    served.clear()
    assert asyncio.run(answers(hot, otel=True)) == fast[: len(hot)] and served == []


def backers_of(world: World, campaign_id: int) -> list[str]:
    return [b["backer"] for b in world.get(f"/campaigns/{campaign_id}/backers", params={"limit": 500}).json()["data"]]


def valid(world: World, path: str, model: type[BaseModel], **params: Any) -> dict[str, Any]:
    response = world.get(path, params=params)
    assert response.status_code == 200, (path, response.text)
    body = response.json()
    model.model_validate(body)
    return body


def test_every_hot_answer_follows_its_model(world: World) -> None:
    """The hot routes format their JSON by hand: every campaign, backer, entry and page of the
    ledger as served validates against the model /openapi.json publishes."""
    length = world.chain.escrow.functions.ledgerLength().call()
    campaigns = [c["id"] for c in world.get("/campaigns", params={"limit": 500}).json()["data"]]
    for campaign_id in campaigns:
        valid(world, f"/campaigns/{campaign_id}", schemas.CampaignPublic)
        for backer in backers_of(world, campaign_id):
            body = valid(world, f"/backers/{backer}", schemas.BackerPublic)
            assert body["address"] == backer and campaign_id in [item["campaign"]["id"] for item in body["data"]]
    for seq in range(1, length + 1):
        valid(world, f"/ledger/{seq}", schemas.EntryDetailPublic)
        valid(world, "/ledger", schemas.EntriesPublic, after=seq - 1, limit=3)
    valid(world, "/ledger", schemas.EntriesPublic)


# --------------------------------------------------------------------------------- formatting


def public_form(entry: LedgerEntry, final: bool) -> dict[str, Any]:
    """EntryPublic of an entry, built independently of ledger/public.py (eth_utils, datetime)."""
    kind = int(entry.kind)
    t = entry.block_timestamp
    return {
        "seq": entry.seq, "kind": kind, "kind_name": Kind(kind).name.lower() if kind in set(Kind) else "unknown",
        "campaign_id": entry.campaign_id, "account": to_checksum_address(entry.account), "amount": str(entry.amount),
        "detail": entry.detail, "fee": str(int(entry.detail, 16)) if kind == Kind.CLAIMED else None,
        "fee_token": to_checksum_address("0x" + entry.detail[-40:]) if kind == Kind.FEES_WITHDRAWN else None,
        "head": entry.head, "block_number": entry.block_number, "block_hash": entry.block_hash,
        "block_time": None if t is None else (datetime(1970, 1, 1) + timedelta(seconds=t)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tx_hash": entry.tx_hash, "log_index": entry.log_index, "final": final,
    }


def test_stored_entry_texts_say_what_the_entries_hold(world: World) -> None:
    reader = LedgerReader(world.store.engine)
    try:
        finals = dict(reader.all("SELECT seq, final FROM ledger_entries"))
        entries = list(world.store.iter_entries())
        served = reader.entry_texts(after=0, limit=100_000)
        assert [seq for seq, _ in served] == [e.seq for e in entries]
        assert [orjson.loads(text) for _, text in served] == [public_form(e, bool(finals[e.seq])) for e in entries]
        assert {e.kind for e in entries} >= {1, 2, 5}
        for campaign_id in (0, 1, 2):
            assert reader.entry_texts(after=0, limit=500, campaign_id=campaign_id) == [
                (seq, text) for seq, text in served if orjson.loads(text)["campaign_id"] == campaign_id
            ]
            for after, limit in ((0, 3), (5, 500)):
                assert asyncio.run(reader.aentry_page(after=after, limit=limit, campaign_id=campaign_id)) == (
                    expected_page(reader, after, limit, campaign_id)
                )
    finally:
        asyncio.run(reader.aclose())
        reader.close()


def expected_page(reader: LedgerReader, after: int, limit: int, campaign_id: int | None = None) -> EntryPage:
    """aentry_page's answer, from the entries one row at a time."""
    texts = reader.entry_texts(after=after, limit=limit + 1, campaign_id=campaign_id)
    shown = texts[:limit]
    return EntryPage(",".join(t for _, t in shown).encode(), shown[-1][0] if shown else None, len(texts) > limit)


EDGE_TIMES = [None, 0, 1, 86_399, 951_782_400, 1_700_000_000, 253_402_300_799, 253_402_300_800, 10**12, -1, -86_401]


def edge_rows() -> list[dict[str, Any]]:
    """Entries the ledger may hold that a real chain rarely shows: every kind (and an unknown
    one), block times outside the usual range or missing, provisional, extreme amounts; each
    with its public text as the indexer stores it."""
    rows = []
    seq = 0
    for kind in (1, 2, 3, 4, 5, 6, 7, 9):
        for time in EDGE_TIMES:
            for amount, final in ((0, True), (2**256 - 1, False), (10**18 + 7, True)):
                seq += 1
                detail = "0x" + (f"{seq * 977:064x}" if kind in (5, 7) else "0" * 64)
                rows.append({
                    "seq": seq, "kind": kind, "campaign_id": seq % 3, "account": "0x" + f"{seq:040x}",
                    "amount": amount, "detail": detail, "head": "0x" + f"{seq:064x}", "block_number": seq,
                    "block_hash": "0x" + f"{seq + 1:064x}", "block_timestamp": time, "tx_hash": "0x" + f"{seq + 2:064x}",
                    "log_index": seq % 5, "final": final,
                })
    entries = [edge_entry(row) for row in rows]
    for row, public_json in zip(rows, entry_jsons(entries)):
        row["public_json"] = public_json
    return rows


def edge_entry(row: dict[str, Any]) -> LedgerEntry:
    return LedgerEntry(**{k: v for k, v in row.items() if k not in ("final", "public_json")})


def test_unusual_entries_are_stored_and_served_as_they_are(db_kind: str, tmp_path: Path) -> None:
    with fresh_database(db_kind, tmp_path) as url:
        engine = open_database(url)
        try:
            rows = edge_rows()
            with engine.begin() as conn:
                conn.execute(insert(ledger_entries), rows)
            reader = LedgerReader(engine)
            try:
                served = reader.entry_texts(after=0, limit=len(rows))
                assert len(served) == len(rows)
                for row, (seq, text_) in zip(rows, served):
                    entry = orjson.loads(text_)
                    assert seq == row["seq"] and entry["final"] == row["final"]
                    if -1 < (row["block_timestamp"] or 0) < 253_402_300_800:
                        assert entry == public_form(edge_entry(row), row["final"])
                    if entry["kind"] <= 7 and (entry["block_time"] is None or len(entry["block_time"]) == 20):
                        schemas.EntryPublic.model_validate(entry)  # kind 9 and year 33658 are outside the model
                for after, limit in ((0, len(rows)), (0, 7), (100, 50), (len(rows) - 3, 3), (len(rows) - 3, 2), (len(rows), 5)):
                    assert asyncio.run(reader.aentry_page(after=after, limit=limit)) == expected_page(reader, after, limit)
                stored = [pair for page in LedgerStore(engine).iter_entry_pages(batch=50) for pair in page]
                assert stored == [(edge_entry(row), row["public_json"]) for row in rows]
            finally:
                asyncio.run(reader.aclose())
                reader.close()
        finally:
            engine.dispose()


def test_backer_items_equal_the_dicts(world: World) -> None:
    reader = LedgerReader(world.store.engine)
    try:
        backers = [r[0] for r in reader.all("SELECT DISTINCT backer FROM positions")]
        assert backers
        for backer in backers:
            for row in reader.backer_positions(backer, limit=500, after=None):
                campaign = backed_campaign_from_row(row)
                position = position_from_row(campaign.campaign_id, backer, row, 10)
                item = {"campaign": backed_campaign_public(campaign, row[9]), "position": position_public(campaign, position, row[9])}
                assert backed_json(row) == orjson.dumps(item).decode()
    finally:
        reader.close()


def test_backer_items_from_the_cache_equal_the_joined_rows(world: World) -> None:
    """GET /backers/{address} reads positions and takes the campaign halves from a cache kept for
    one state of the ledger: it gives what the join gives, follows a new state (a campaign row and
    the chain time change), and reads the join again when the ledger moves between its reads."""
    reader = LedgerReader(world.store.engine)

    def joined(backer: str) -> list[tuple[int, str]]:
        return [(row[0], backed_json(row)) for row in reader.backer_positions(backer, limit=500, after=None)]

    async def items(backer: str, after: int | None = None, limit: int = 500) -> list[tuple[int, str]]:
        return await reader.abacker_items(backer, limit=limit, after=after)

    with world.store.engine.connect() as conn:
        saved = conn.execute(text("SELECT last_seq, tip_timestamp FROM sync_state")).one()
        target = conn.execute(text("SELECT campaign_id, pledged FROM campaigns ORDER BY campaign_id LIMIT 1")).one()
    edits = world.store.engine.begin

    async def scenario() -> None:
        real = reader.aall
        try:
            backers = [r[0] for r in reader.all("SELECT DISTINCT backer FROM positions")]
            for backer in backers:
                assert await items(backer) == joined(backer)
                everything = joined(backer)
                assert await items(backer, after=everything[0][0], limit=1) == everything[1:3]
            assert await items("0x" + "00" * 20) == []
            # the indexer moves on: a campaign changes and the chain time passes every deadline
            with edits() as conn:
                conn.execute(text("UPDATE campaigns SET pledged = :p WHERE campaign_id = :c"),
                             {"p": str(int(target.pledged) + 1).zfill(78) if world.dialect == "sqlite" else int(target.pledged) + 1,
                              "c": target.campaign_id})
                conn.execute(text("UPDATE sync_state SET last_seq = last_seq + 1, tip_timestamp = 4000000000"))
            for backer in backers:
                assert await items(backer) == joined(backer)
            # ... and again between the positions and the campaigns reads of one request
            async def moving(sql: str, params: dict[str, Any] | None = None) -> list[Any]:
                if "json_each" in sql or "ANY(" in sql:
                    with edits() as conn:
                        conn.execute(text("UPDATE sync_state SET last_seq = last_seq + 1"))
                return await real(sql, params)

            reader.aall = moving  # type: ignore[method-assign]
            reader._backed.items.clear()
            backer = backers[0]
            assert await items(backer) == joined(backer)
        finally:
            reader.aall = real  # type: ignore[method-assign]
            with edits() as conn:
                conn.execute(text("UPDATE campaigns SET pledged = :p WHERE campaign_id = :c"),
                             {"p": target.pledged if world.dialect == "sqlite" else int(target.pledged), "c": target.campaign_id})
                conn.execute(text("UPDATE sync_state SET last_seq = :s, tip_timestamp = :t"),
                             {"s": saved.last_seq, "t": saved.tip_timestamp})
            await reader.aclose()
            reader.close()

    asyncio.run(scenario())


# --------------------------------------------------------------------------------- PostgreSQL on the loop


def test_statement_parameters_skip_string_literals() -> None:
    statement = Statement(
        "SELECT '{\"fee\":null,\"at\":' || x || '}', to_char(t, 'HH24:MI:SS'), y::text FROM t "
        "WHERE a = :id AND (b > :after OR c IN (:id, :n)) LIMIT :n"
    )
    assert statement.sql == (
        b"SELECT '{\"fee\":null,\"at\":' || x || '}', to_char(t, 'HH24:MI:SS'), y::text FROM t "
        b"WHERE a = $1 AND (b > $2 OR c IN ($1, $3)) LIMIT $3"
    )
    assert statement.params == ("id", "after", "n")
    assert statement.encode({"id": 5, "after": None, "n": True}) == [b"5", None, b"t"]


@pytest.fixture
def pg_reader(tmp_path: Path) -> Any:
    with fresh_database("postgresql", tmp_path) as url:
        engine = open_database(url)
        with engine.begin() as conn:
            conn.execute(insert(ledger_entries), edge_rows()[:40])
            conn.execute(insert(sync_state), [{
                "id": 1, "chain_id": 1, "contract": "0x" + "11" * 20, "start_block": 0, "last_block": 40,
                "last_seq": 40, "last_head": "0x" + "00" * 32, "finality_depth": 3, "final_block": 37, "tip_block": 40,
                "tip_timestamp": 1_700_000_000,
            }])
        reader = LedgerReader(engine)
        try:
            yield reader
        finally:
            reader.close()
            engine.dispose()


def test_postgres_reads_on_the_loop_agree_and_survive_lost_connections(pg_reader: LedgerReader) -> None:
    reader = pg_reader

    async def scenario() -> None:
        try:
            # more concurrent queries than connections: they queue and all answer
            pages = await asyncio.gather(*[reader.aentry_page(after=a, limit=5) for a in range(40)])
            assert pages == [expected_page(reader, a, 5) for a in range(40)]
            rows = edge_rows()[:40]
            for seq in (1, 2, 40):
                row = rows[seq - 1]
                previous = rows[seq - 2]["head"] if seq > 1 else None
                assert await reader.aentry(seq) == (row["public_json"], row["final"], row["head"], previous)
            assert await reader.aentry(41) is None
            assert await reader.acampaign(1) is None
            with pytest.raises(StorageError, match="does not exist"):  # refused: the connection stays
                await reader.aall("SELECT nonsense FROM ledger_entries")
            # the server drops every connection (a restart, an administrator): the next reads
            # open new ones instead of failing
            for _ in range(2):
                reader.all(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                await asyncio.sleep(0.1)
                assert (await reader.aentry(3))[2] == edge_rows()[2]["head"]  # type: ignore[index]
                assert await reader.aentry_page(after=2, limit=5) == expected_page(reader, 2, 5)
                assert len(await asyncio.gather(*[reader.aentry(s) for s in range(1, 12)])) == 11
        finally:
            await reader.aclose()

    asyncio.run(scenario())


def test_postgres_reads_on_the_loop_report_a_dead_server_as_storage_error(pg_reader: LedgerReader) -> None:
    reader = pg_reader

    async def scenario() -> None:
        try:
            assert await reader.aentry(1) is not None
            assert reader._links is not None
            reader._links.conninfo = make_url(reader._links.conninfo).set(port=1).render_as_string(hide_password=False)
            reader.all(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            await asyncio.sleep(0.1)
            with pytest.raises(StorageError, match="database error"):
                await reader.aentry(1)
        finally:
            await reader.aclose()

    asyncio.run(scenario())


def test_hot_routes_reconnect_after_the_database_dropped_them(history: EscrowChain, tmp_path: Path) -> None:
    """Through the server: connections cut under the API are replaced, no error is served."""
    with make_world(history, "postgresql", tmp_path, audit_interval=0) as world:
        backer = backers_of(world, 1)[0]
        paths = ("/ledger/2", "/campaigns/1", "/ledger", f"/backers/{backer}", "/ledger?after=3")
        for path in paths:
            assert world.get(path).status_code == 200, path
        with world.store.engine.connect() as conn:
            conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ))
        for path in paths:
            assert world.get(path).status_code == 200, path
