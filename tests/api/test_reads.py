"""The API's reads: equivalent spellings of a request get the same answer, every hot answer follows
its schema, the stored public texts of ledger entries say what the entries hold (unusual entries
too), statements are written once for both drivers, and PostgreSQL's pooled connections on the
event loop answer concurrent reads and survive the server dropping them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
from eth_utils import to_checksum_address
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

from api.queries import backers as backers_queries
from api.queries.database import Database, PostgresDatabase, Query, open_reader
from api.queries.ledger import StoredEntry, entry_page, stored_entry
from api.schemas.backers import BackerPublic
from api.schemas.campaigns import CampaignPublic
from api.schemas.ledger import EntriesPublic, EntryDetailPublic, EntryPublic
from ledger.core.public import stored_texts
from ledger.core.records import Kind, LedgerEntry
from ledger.db.engine import open_database
from ledger.db.schema import ledger_entries, sync_state
from ledger.db.store import LedgerStore
from ledger.errors import StorageError
from tests.api.conftest import World, conforms, make_world
from tests.support.chain import EscrowChain
from tests.support.databases import fresh_database, pg_server_url


def same(world: World, canonical: tuple[str, dict[str, Any]], other: tuple[str, dict[str, Any]]) -> None:
    a, b = world.get(canonical[0], params=canonical[1]), world.get(other[0], params=other[1])
    assert (a.status_code, a.content, a.headers.get("etag")) == (
        b.status_code,
        b.content,
        b.headers.get("etag"),
    ), (
        canonical,
        other,
    )


def backers_of(world: World, campaign_id: int) -> list[str]:
    return [
        b["backer"]
        for b in world.get(f"/campaigns/{campaign_id}/backers", params={"limit": 500}).json()["data"]
    ]


def test_equivalent_spellings_of_a_request_answer_alike(world: World) -> None:
    """The same question asked in canonical form and in a form FastAPI's validation also accepts
    (leading zeros, an unknown parameter, another order): the same answer, byte for byte."""
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
        same(
            world,
            (f"/backers/{backer.lower()}", {"limit": 1}),
            (f"/backers/{backer.lower()}", {"limit": "01"}),
        )


def valid(world: World, path: str, schema: Any, **params: Any) -> dict[str, Any]:
    response = world.get(path, params=params)
    assert response.status_code == 200, (path, response.text)
    body = response.json()
    conforms(schema, body)
    return body  # type: ignore[no-any-return]


def test_every_hot_answer_follows_its_schema(world: World) -> None:
    """Every campaign, backer, entry and page of the ledger as served validates against the schema
    /openapi.json publishes."""
    length = world.chain.escrow.functions.ledgerLength().call()
    campaigns = [c["id"] for c in world.get("/campaigns", params={"limit": 500}).json()["data"]]
    for campaign_id in campaigns:
        valid(world, f"/campaigns/{campaign_id}", CampaignPublic)
        for backer in backers_of(world, campaign_id):
            body = valid(world, f"/backers/{backer}", BackerPublic)
            assert body["address"] == backer and campaign_id in [
                item["campaign"]["id"] for item in body["data"]
            ]
    for seq in range(1, length + 1):
        valid(world, f"/ledger/{seq}", EntryDetailPublic)
        valid(world, "/ledger", EntriesPublic, after=seq - 1, limit=3)
    valid(world, "/ledger", EntriesPublic)


# --------------------------------------------------------------------------------- entry texts


def public_form(entry: LedgerEntry, final: bool) -> dict[str, Any]:
    """EntryPublic of an entry, built independently of ledger.core.public (eth_utils, datetime)."""
    kind = int(entry.kind)
    t = entry.block_timestamp
    return {
        "seq": entry.seq,
        "kind": kind,
        "kind_name": Kind(kind).name.lower() if kind in set(Kind) else "unknown",
        "campaign_id": entry.campaign_id,
        "account": to_checksum_address(entry.account),
        "amount": str(entry.amount),
        "detail": entry.detail,
        "fee": str(int(entry.detail, 16)) if kind == Kind.CLAIMED else None,
        "fee_token": to_checksum_address("0x" + entry.detail[-40:]) if kind == Kind.FEES_WITHDRAWN else None,
        "head": entry.head,
        "block_number": entry.block_number,
        "block_hash": entry.block_hash,
        "block_time": None
        if t is None
        else (datetime(1970, 1, 1) + timedelta(seconds=t)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tx_hash": entry.tx_hash,
        "log_index": entry.log_index,
        "final": final,
    }


@asynccontextmanager
async def reading(db_url: str) -> AsyncIterator[Database]:
    db = open_reader(db_url, pool_size=4)
    await db.open()
    try:
        yield db
    finally:
        await db.close()


async def every_text(db: Database, campaign_id: int | None = None) -> list[tuple[int, str]]:
    """Every (seq, text) entry_page gives, one page of 500 after another."""
    texts: list[tuple[int, str]] = []
    while True:
        found = await entry_page(db, after=texts[-1][0] if texts else 0, limit=500, campaign_id=campaign_id)
        texts += found.entries
        if not found.more:
            return texts


async def check_pages(db: Database, served: list[tuple[int, str]], campaign_id: int | None = None) -> None:
    """entry_page(after, limit) is the slice of `served` (every text of the list) after `after`."""
    last = served[-1][0] if served else 0
    for after, limit in ((0, 3), (0, 500), (5, 7), (last - 3, 3), (last - 3, 2), (last, 5), (last + 10, 5)):
        found = await entry_page(db, after=after, limit=limit, campaign_id=campaign_id)
        rest = [(seq, text_) for seq, text_ in served if seq > after]
        assert found.entries == rest[:limit] and found.more == (len(rest) > limit), (after, limit)
        assert found.last_seq == (rest[:limit][-1][0] if rest[:limit] else None)


def test_stored_entry_texts_say_what_the_entries_hold(world: World) -> None:
    with world.store.engine.connect() as conn:
        finals = {
            seq: bool(final) for seq, final in conn.execute(text("SELECT seq, final FROM ledger_entries"))
        }
    entries = list(world.store.iter_entries())
    assert {e.kind for e in entries} >= {1, 2, 5}

    async def scenario() -> None:
        async with reading(world.db_url) as db:
            served = await every_text(db)
            assert [seq for seq, _ in served] == [e.seq for e in entries]
            assert [orjson.loads(t) for _, t in served] == [public_form(e, finals[e.seq]) for e in entries]
            await check_pages(db, served)
            for campaign_id in (0, 1, 2):
                mine = [(seq, t) for seq, t in served if orjson.loads(t)["campaign_id"] == campaign_id]
                assert await every_text(db, campaign_id) == mine
                await check_pages(db, mine, campaign_id)

    asyncio.run(scenario())


EDGE_TIMES = [
    None,
    0,
    1,
    86_399,
    951_782_400,
    1_700_000_000,
    253_402_300_799,
    253_402_300_800,
    10**12,
    -1,
    -86_401,
]


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
                })  # fmt: skip
    entries = [edge_entry(row) for row in rows]
    for row, public_json in zip(rows, stored_texts(entries)):
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

            async def scenario() -> None:
                async with reading(url) as db:
                    served = await every_text(db)
                    assert len(served) == len(rows)
                    for row, (seq, text_) in zip(rows, served):
                        entry = orjson.loads(text_)
                        assert seq == row["seq"] and entry["final"] == row["final"]
                        if -1 < (row["block_timestamp"] or 0) < 253_402_300_800:
                            assert entry == public_form(edge_entry(row), row["final"])
                        if entry["kind"] <= 7 and (
                            entry["block_time"] is None or len(entry["block_time"]) == 20
                        ):
                            conforms(EntryPublic, entry)  # year 33658 is outside the schema
                    await check_pages(db, served)
                    for row in (rows[0], rows[1], rows[-1]):
                        previous = rows[row["seq"] - 2]["head"] if row["seq"] > 1 else None
                        assert await stored_entry(db, row["seq"]) == StoredEntry(
                            row["public_json"], row["final"], row["head"], previous
                        )
                    assert await stored_entry(db, len(rows) + 1) is None

            asyncio.run(scenario())
            stored = [pair for page in LedgerStore(engine).iter_entry_pages(batch=50) for pair in page]
            assert stored == [(edge_entry(row), row["public_json"]) for row in rows]
        finally:
            engine.dispose()


# --------------------------------------------------------------------------------- a backer's page


def test_a_backers_page_follows_the_ledger_through_the_campaign_cache(world: World) -> None:
    """A backer's page takes its campaigns from a cache kept for one state of the ledger: it gives
    what the one-statement join gives, follows a new state (a campaign row and the chain time
    change), and reads the join when the ledger moves between its two statements."""
    with world.store.engine.connect() as conn:
        saved = conn.execute(text("SELECT last_seq, tip_timestamp FROM sync_state")).one()
        target = conn.execute(
            text("SELECT campaign_id, pledged FROM campaigns ORDER BY campaign_id LIMIT 1")
        ).one()
        backers = [r[0] for r in conn.execute(text("SELECT DISTINCT backer FROM positions ORDER BY backer"))]
    assert backers
    edits = world.store.engine.begin
    sqlite = world.dialect == "sqlite"

    def pledged(value: int) -> Any:
        return str(value).zfill(78) if sqlite else value

    async def scenario() -> None:
        async with reading(world.db_url) as db:
            cache = backers_queries.Campaigns()

            async def joined(
                backer: str, after: int | None = None, limit: int = 500
            ) -> list[backers_queries.Backed]:
                params = {"backer": backer, "k_id": -1 if after is None else after, "n": limit + 1}
                return backers_queries._joined(await db.fetch(backers_queries._JOINED, params, rows=None))

            async def page(
                backer: str, after: int | None = None, limit: int = 500
            ) -> list[backers_queries.Backed]:
                return await backers_queries.backed(db, cache, backer, limit=limit, after=after)

            for backer in backers:
                everything = await joined(backer)
                assert await page(backer) == everything
                assert (
                    await page(backer, after=everything[0].campaign.campaign_id, limit=1) == everything[1:3]
                )
            assert await page("0x" + "00" * 20) == []
            try:
                # the indexer moves on: a campaign changes and the chain time passes every deadline
                with edits() as conn:
                    conn.execute(
                        text("UPDATE campaigns SET pledged = :p WHERE campaign_id = :c"),
                        {"p": pledged(int(target.pledged) + 1), "c": target.campaign_id},
                    )
                    conn.execute(
                        text("UPDATE sync_state SET last_seq = last_seq + 1, tip_timestamp = 4000000000")
                    )
                for backer in backers:
                    assert await page(backer) == await joined(backer)
                # ... and once more between the positions and the campaigns of one page
                real = db.fetch

                async def moving(query: Query, params: Any = None, *, rows: int | None = 1) -> Any:
                    if query is backers_queries._CAMPAIGNS:
                        with edits() as conn:
                            conn.execute(text("UPDATE sync_state SET last_seq = last_seq + 1"))
                    return await real(query, params, rows=rows)

                cache.records.clear()
                with pytest.MonkeyPatch.context() as patch:
                    patch.setattr(db, "fetch", moving)
                    found = await page(backers[0])
                assert found == await joined(backers[0]) and cache.records == {}
            finally:
                with edits() as conn:
                    conn.execute(
                        text("UPDATE campaigns SET pledged = :p WHERE campaign_id = :c"),
                        {"p": target.pledged if sqlite else int(target.pledged), "c": target.campaign_id},
                    )
                    conn.execute(
                        text("UPDATE sync_state SET last_seq = :s, tip_timestamp = :t"),
                        {"s": saved.last_seq, "t": saved.tip_timestamp},
                    )

    asyncio.run(scenario())


# --------------------------------------------------------------------------------- statements


def test_statements_are_written_once_for_both_drivers() -> None:
    """`:name` parameters become psycopg's `%(name)s`, and only where SQL puts a value: the ':'
    in string literals and PostgreSQL's casts stay, and a literal '%' is escaped."""
    query = Query(
        "SELECT '{\"fee\":null,\"at\":' || x || '}', to_char(t, 'HH24:MI:SS'), y::text, z LIKE 'a%' FROM t "
        "WHERE a = :id AND (b > :after OR c IN (:id, :n)) LIMIT :n"
    )
    assert query.sqlite.endswith("WHERE a = :id AND (b > :after OR c IN (:id, :n)) LIMIT :n")
    assert query.postgresql == (
        "SELECT '{\"fee\":null,\"at\":' || x || '}', to_char(t, 'HH24:MI:SS'), y::text, z LIKE 'a%%' FROM t "
        "WHERE a = %(id)s AND (b > %(after)s OR c IN (%(id)s, %(n)s)) LIMIT %(n)s"
    )


# --------------------------------------------------------------------------------- PostgreSQL


@pytest.fixture
def pg_url(tmp_path: Path) -> Iterator[str]:
    """A PostgreSQL database holding 40 of the unusual entries and a checkpoint."""
    with fresh_database("postgresql", tmp_path) as url:
        engine = open_database(url)
        try:
            with engine.begin() as conn:
                conn.execute(insert(ledger_entries), edge_rows()[:40])
                conn.execute(insert(sync_state), [{
                    "id": 1, "chain_id": 1, "contract": "0x" + "11" * 20, "start_block": 0, "last_block": 40,
                    "last_seq": 40, "last_head": "0x" + "00" * 32, "finality_depth": 3, "final_block": 37,
                    "tip_block": 40, "tip_timestamp": 1_700_000_000,
                }])  # fmt: skip
        finally:
            engine.dispose()
        yield url


def drop_connections(url: str) -> None:
    """The server ends every other connection to the database (a restart, an administrator)."""
    engine = open_database(url)
    try:
        with engine.connect() as conn:
            conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ))  # fmt: skip
    finally:
        engine.dispose()


def test_postgres_reads_on_the_loop_agree_and_survive_lost_connections(pg_url: str) -> None:
    rows = edge_rows()[:40]

    async def scenario() -> None:
        async with reading(pg_url) as db:
            assert isinstance(db, PostgresDatabase)
            served = await every_text(db)
            assert [seq for seq, _ in served] == list(range(1, 41))
            # more concurrent reads than connections: they queue and all answer
            pages = await asyncio.gather(*[entry_page(db, after=a, limit=5) for a in range(40)])
            assert [page.entries for page in pages] == [served[a : a + 5] for a in range(40)]
            for seq in (1, 2, 40):
                row = rows[seq - 1]
                previous = rows[seq - 2]["head"] if seq > 1 else None
                assert await stored_entry(db, seq) == StoredEntry(
                    row["public_json"], row["final"], row["head"], previous
                )
            assert await stored_entry(db, 41) is None
            with pytest.raises(StorageError, match="does not exist"):  # refused: the connection stays
                await db.fetch(Query("SELECT nonsense FROM ledger_entries"))
            # the server drops every connection: the next reads open new ones instead of failing
            for _ in range(2):
                drop_connections(pg_url)
                await asyncio.sleep(0.1)
                found = await stored_entry(db, 3)
                assert found is not None and found.head == rows[2]["head"]
                assert (await entry_page(db, after=2, limit=5)).entries == served[2:7]
                assert len(await asyncio.gather(*[stored_entry(db, s) for s in range(1, 12)])) == 11

    asyncio.run(scenario())


def test_postgres_reads_report_a_database_that_went_away_as_storage_error(pg_url: str) -> None:
    """The server drops the API's connections and refuses new ones: a read is a StorageError (503),
    after the pool's timeout, not a hang or another error."""
    name = make_url(pg_url).database
    # connected to another database: PostgreSQL refuses to lock out the one a session is on
    server = (
        make_url(pg_server_url() or "").set(drivername="postgresql").render_as_string(hide_password=False)
    )
    admin = psycopg.connect(server, autocommit=True)

    async def scenario() -> None:
        async with reading(pg_url) as db:
            assert await stored_entry(db, 1) is not None
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
            )
            await asyncio.sleep(0.1)
            with pytest.raises(StorageError, match="database error"):
                await stored_entry(db, 1)

    try:
        asyncio.run(scenario())
    finally:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        admin.close()


def test_the_api_reconnects_after_the_database_dropped_its_connections(
    history: EscrowChain, tmp_path: Path
) -> None:
    """Through the server: connections cut under the API are replaced, no error is served."""
    with make_world(history, "postgresql", tmp_path, audit_interval=0) as world:
        backer = backers_of(world, 1)[0]
        paths = ("/ledger/2", "/campaigns/1", "/ledger", f"/backers/{backer}", "/ledger?after=3")
        for path in paths:
            assert world.get(path).status_code == 200, path
        drop_connections(world.db_url)
        for path in paths:
            assert world.get(path).status_code == 200, path
