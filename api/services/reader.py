"""The API's reads: a handful of fixed SQL statements on a long-lived DBAPI connection per thread.

The hot routes answer in well under a millisecond, so the reads skip SQLAlchemy's per-statement
work (compilation cache lookups, pool checkout, result proxies) and run plain parameterised SQL
on the raw driver connection, with one statement per request where possible (the chain time the
campaign states depend on comes in the same statement, from sync_state.tip_timestamp, never the
wall clock). The schema is ledger/db/schema.py; amounts are NUMERIC(78,0) on PostgreSQL and
78-digit zero-padded text on SQLite, which compare and order correctly in SQL on both.

Connections run in autocommit, so every statement sees the newest committed batch and no
transaction stays open between requests (WAL readers never pin an old snapshot).

The hot routes read on the event loop (the `a...` methods): inline on SQLite, where one indexed
lookup takes less time than the hop to a worker thread would, and on PostgreSQL over a few libpq
connections the loop drives itself (api/services/pgasync.py), so it serves other requests while
the server works. The slow reads (stats, export, the node checks) go through the thread pool.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from sqlalchemy import Engine

from api.services.pgasync import PARAM, PgLinks, Statement
from api.services.present import BackedCampaign, backed_campaign, backed_item, backed_json
from ledger.core.hashing import HashChain
from ledger.db.store import milestones_from_row, tranche_from_row
from ledger.db.types import to_sqlite_u256
from ledger.errors import StorageError
from ledger.core.public import FINAL_SUFFIX, PROVISIONAL_SUFFIX, finish
from ledger.core.records import Campaign, Kind, Milestones, Position, State, TrancheRelease

T = TypeVar("T")

READ_MMAP = 1 << 31  # bytes of the SQLite file the API's connections map (SQLite caps it at its own limit)
PG_LINKS = 4  # PostgreSQL connections the hot routes share on the event loop (api/services/pgasync.py)

CAMPAIGN_COLUMNS = (
    "c.campaign_id, c.creator, c.token, c.goal, c.deadline, c.max_per_backer, c.keep_it_all, c.fee_bps, "
    "c.metadata_hash, c.created_seq, c.created_block, c.created_timestamp, c.pledged, c.backer_count, "
    "c.cancelled, c.claimed, c.claimed_amount, c.claim_fee, c.refunded_total, c.last_seq, c.milestone, "
    "c.tranche_count, c.tranches_released, c.aborted"
)
_NC = 24  # campaign columns
# what a backer's list shows of each campaign, and what its state needs (with BACKED_STATE_COLUMNS,
# which come last in its rows, after the position's)
BACKED_COLUMNS = "c.campaign_id, c.creator, c.token, c.goal, c.deadline, c.keep_it_all, c.pledged, c.cancelled, c.claimed"
BACKED_STATE_COLUMNS = "c.tranches_released, c.aborted"
POSITION_AMOUNTS = ("balance", "pledged_total", "unpledged_total", "refunded_total")
POSITION_COLUMNS = "p.balance, p.pledged_total, p.unpledged_total, p.refunded_total, p.first_seq, p.last_seq"
# the chain time campaign states are computed at: the indexed tip's timestamp
CHAIN_TIME = "(SELECT COALESCE(tip_timestamp, 0) AS ts FROM sync_state WHERE id = 1) s"
# the state of the ledger a read sees: its last seq and the chain time (what a cached answer depends on)
LEDGER_MARK = "(SELECT last_seq AS seq, COALESCE(tip_timestamp, 0) AS ts FROM sync_state WHERE id = 1) m"
STATE_SQL = (  # Campaign.state_at
    "CASE WHEN c.cancelled THEN 3 WHEN c.claimed THEN 4 WHEN c.deadline > s.ts THEN 0 "
    "WHEN c.keep_it_all OR c.pledged >= c.goal THEN "
    "(CASE WHEN c.aborted THEN 6 WHEN c.tranches_released > 0 THEN 5 ELSE 1 END) ELSE 2 END"
)

SORTS = ("newest", "ending_soon", "most_raised")

# milestone campaigns: the store's column orders (ledger/db/store.py reads the same rows)
MILESTONE_COLUMNS = ", ".join(f"m.{f.name}" for f in fields(Milestones))
TRANCHE_COLUMNS = ", ".join(f"t.{f.name}" for f in fields(TrancheRelease))
# where an entry sits on the chain
ENTRY_PLACE = "e.seq, e.block_number, e.block_timestamp, e.tx_hash, e.final"
VOTE_COLUMNS = (
    "v.campaign_id, v.tranche, v.backer, v.seq, v.weight, v.approve, v.block_number, v.block_timestamp, e.tx_hash, "
    "e.final"
)
DOCUMENT_COLUMNS = f"{ENTRY_PLACE}, e.kind, e.account, e.amount, e.detail"
_MILESTONE_SQL = {
    "plan": f"SELECT {MILESTONE_COLUMNS} FROM milestones m WHERE m.campaign_id = :id",
    "releases": (
        f"SELECT {TRANCHE_COLUMNS}, e.tx_hash FROM tranche_releases t JOIN ledger_entries e ON e.seq = t.seq "
        "WHERE t.campaign_id = :id ORDER BY t.tranche"
    ),
    "entry": f"SELECT {ENTRY_PLACE} FROM ledger_entries e WHERE e.seq = :seq",
    "abort": (
        f"SELECT {ENTRY_PLACE} FROM ledger_entries e WHERE e.campaign_id = :id AND e.kind = {int(Kind.ABORTED)}"
    ),
    "unrefunded": "SELECT p.balance FROM positions p WHERE p.campaign_id = :id AND p.balance > :zero",
}


@dataclass(frozen=True, slots=True)
class SyncInfo:
    """The indexer's checkpoint, as the API reports it."""

    chain_id: int
    contract: str
    start_block: int
    last_block: int
    last_seq: int
    last_head: str
    final_block: int
    tip_block: int
    tip_timestamp: int | None
    finality_depth: int


@dataclass(slots=True)
class MilestoneView:
    """A campaign's delivery as the database holds it: the campaign and the chain time, and for a
    milestone campaign its plan and progress, the tranches paid (each with its tx hash), where the
    open or last release request and the abort sit (ENTRY_PLACE rows), and the pledges of the
    backers yet to refund after an abort."""

    campaign: Campaign
    chain_time: int
    plan: Milestones | None = None
    releases: list[tuple[TrancheRelease, str]] = field(default_factory=list)
    request: Any = None
    abort: Any = None
    unrefunded: list[int] = field(default_factory=list)


def campaign_from_row(row: Any) -> Campaign:
    return Campaign(
        row[0], row[1], row[2], int(row[3]), row[4], int(row[5]), bool(row[6]), row[7], row[8], row[9],
        row[10], row[11], int(row[12]), row[13], bool(row[14]), bool(row[15]), int(row[16]), int(row[17]),
        int(row[18]), row[19], bool(row[20]), row[21], row[22], bool(row[23]),
    )


def backed_campaign_from_row(row: Any) -> Campaign:
    """The Campaign of a backer_positions row: enough for its state (unlisted fields are zero)."""
    return Campaign(
        row[0], row[1], row[2], int(row[3]), row[4], 0, bool(row[5]), 0, "", 0, 0, None, int(row[6]), 0,
        bool(row[7]), bool(row[8]), tranches_released=row[-2], aborted=bool(row[-1]),
    )


def position_from_row(campaign_id: int, backer: str, row: Any, at: int) -> Position:
    return Position(
        campaign_id, backer, int(row[at]), int(row[at + 1]), int(row[at + 2]), int(row[at + 3]), row[at + 4],
        row[at + 5],
    )


@dataclass(frozen=True, slots=True)
class EntryPage:
    """A page of ledger entries: their EntryPublic texts joined with commas (UTF-8), the last seq
    on the page (None when empty) and whether more entries follow."""

    items: bytes
    last_seq: int | None
    more: bool


class BackedCampaigns:
    """The campaign halves of backers' list items (present.BackedCampaign) for one state of the
    ledger: a new entry or a new chain time empties it. Bounded: at MAX it starts over."""

    MAX = 50_000

    def __init__(self) -> None:
        self.mark: tuple[int, int] = (-1, -1)
        self.items: dict[int, BackedCampaign] = {}

    def at(self, last_seq: int, chain_time: int) -> tuple[int, int]:
        """Move to the ledger state (last_seq, chain_time) and return it: the items of another
        state are dropped."""
        mark = (last_seq, chain_time)
        if mark != self.mark or len(self.items) >= self.MAX:
            self.mark, self.items = mark, {}
        return mark


class LedgerReader:
    """Read-only queries of the indexed ledger. Safe to share between threads: each thread uses
    its own connection, opened on first use and kept."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[Any] = []
        self._genesis: dict[tuple[int, str], str] = {}
        self._sql: dict[str, str] = {}
        self._links: PgLinks | None = None
        self._statements: dict[str, Statement] = {}
        self._backed = BackedCampaigns()
        if self.dialect == "postgresql":
            conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._links = PgLinks(conninfo, size=PG_LINKS)

    # ----------------------------------------------------------------- plumbing

    def sql(self, text: str) -> str:
        """`text` with :name parameters in the driver's style (sqlite3 takes :name as is)."""
        if self.dialect != "postgresql":
            return text
        converted = self._sql.get(text)
        if converted is None:
            converted = self._sql[text] = PARAM.sub(r"%(\1)s", text.replace("%", "%%"))
        return converted

    def u256(self, value: int) -> Any:
        """A uint256 bind parameter for comparisons with U256 columns."""
        return to_sqlite_u256(value) if self.dialect == "sqlite" else value

    def _connect(self) -> Any:
        fairy = self.engine.raw_connection()
        connection = fairy.driver_connection
        fairy.detach()  # ours for the thread's life, not the pool's
        if self.dialect == "postgresql":
            connection.autocommit = True
        elif self.dialect == "sqlite":
            # read the file through a memory map (up to SQLite's limit, 2 GiB by default): pages
            # come straight from the OS cache, without a pread and a copy each
            connection.execute(f"PRAGMA mmap_size={READ_MMAP}")
        with self._lock:
            self._open.append(connection)
        self._local.connection = connection
        return connection

    def _drop(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            with self._lock:
                if connection in self._open:
                    self._open.remove(connection)
            with contextlib.suppress(Exception):  # it is broken already
                connection.close()

    def run(self, work: Callable[[Any], T]) -> T:
        """Run `work(cursor)` on this thread's connection; a lost connection is reopened once.
        Driver errors become StorageError (HTTP 503)."""
        for attempt in (1, 2):
            connection = getattr(self._local, "connection", None) or self._connect()
            try:
                cursor = connection.cursor()
                try:
                    return work(cursor)
                finally:
                    cursor.close()
            except Exception as exc:
                if not _is_db_error(exc):
                    raise
                self._drop()
                if attempt == 2 or not _is_connection_error(exc):
                    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    raise StorageError(f"database error: {reason}") from exc
        raise AssertionError("unreachable")

    def all(self, text: str, params: dict[str, Any] | None = None) -> list[Any]:
        sql = self.sql(text)
        return self.run(lambda cursor: cursor.execute(sql, params or {}).fetchall())

    async def aall(self, text: str, params: dict[str, Any] | None = None) -> list[Any]:
        """all() for the hot routes, on the event loop: inline on SQLite (in-process, nothing to
        wait for), and on PostgreSQL over PgLinks (api/services/pgasync.py), so the loop serves
        other requests while the server works instead of blocking on the socket."""
        if self._links is None:
            return self.all(text, params)
        return await self._links.fetch(self._statement(text), params or {})

    def _statement(self, text: str) -> Statement:
        statement = self._statements.get(text)
        if statement is None:
            statement = self._statements[text] = Statement(text)
        return statement

    def one(self, text: str, params: dict[str, Any] | None = None) -> Any:
        rows = self.all(text, params)
        return rows[0] if rows else None

    async def aclose(self) -> None:
        """Close the hot routes' PostgreSQL connections (on the loop that opened them)."""
        if self._links is not None:
            self._links.close()

    def close(self) -> None:
        with self._lock:
            connections, self._open = self._open, []
        for connection in connections:
            with contextlib.suppress(Exception):
                connection.close()

    # ----------------------------------------------------------------- checkpoint

    def sync_info(self) -> SyncInfo | None:
        row = self.one(
            "SELECT chain_id, contract, start_block, last_block, last_seq, last_head, final_block, tip_block, "
            "tip_timestamp, finality_depth FROM sync_state WHERE id = 1"
        )
        return None if row is None else SyncInfo(*row)

    def last_seq(self) -> int:
        row = self.one("SELECT last_seq FROM sync_state WHERE id = 1")
        return 0 if row is None else int(row[0])

    def genesis_head(self, chain_id: int, contract: str) -> str:
        key = (chain_id, contract)
        if key not in self._genesis:
            self._genesis[key] = HashChain.genesis(chain_id, contract).head
        return self._genesis[key]

    # ----------------------------------------------------------------- campaigns

    _CAMPAIGN = f"SELECT {CAMPAIGN_COLUMNS}, s.ts FROM campaigns c CROSS JOIN {CHAIN_TIME} WHERE c.campaign_id = :id"

    def campaign(self, campaign_id: int) -> tuple[Campaign, int] | None:
        """The campaign and the chain time, or None."""
        row = self.one(self._CAMPAIGN, {"id": campaign_id})
        return None if row is None else (campaign_from_row(row), row[_NC])

    async def acampaign(self, campaign_id: int) -> tuple[Campaign, int] | None:
        rows = await self.aall(self._CAMPAIGN, {"id": campaign_id})
        return (campaign_from_row(rows[0]), rows[0][_NC]) if rows else None

    def campaigns(
        self,
        *,
        sort: str,
        limit: int,
        after: tuple[Any, ...] | None,
        state: State | None = None,
        creator: str | None = None,
        token: str | None = None,
    ) -> tuple[list[tuple[Campaign, int]], int]:
        """One page of campaigns (limit + 1 rows, so the caller knows if there is more) and the
        number matching the filters."""
        where: list[str] = []
        params: dict[str, Any] = {"n": limit + 1}
        if state is not None:
            where.append(f"{STATE_SQL} = :state")
            params["state"] = int(state)
        if creator is not None:
            where.append("c.creator = :creator")
            params["creator"] = creator
        if token is not None:
            where.append("c.token = :token")
            params["token"] = token
        if sort == "ending_soon":
            where.append("c.deadline > s.ts")
        filters = list(where)
        if sort == "newest":
            order = "c.campaign_id DESC"
            if after is not None:
                where.append("c.campaign_id < :k_id")
                params["k_id"] = after[0]
        elif sort == "ending_soon":
            order = "c.deadline ASC, c.campaign_id ASC"
            if after is not None:
                where.append("(c.deadline > :k_deadline OR (c.deadline = :k_deadline AND c.campaign_id > :k_id))")
                params.update(k_deadline=after[0], k_id=after[1])
        elif sort == "most_raised":
            order = "c.pledged DESC, c.campaign_id DESC"
            if after is not None:
                where.append("(c.pledged < :k_pledged OR (c.pledged = :k_pledged AND c.campaign_id < :k_id))")
                params.update(k_pledged=self.u256(after[0]), k_id=after[1])
        else:
            raise ValueError(f"unknown sort {sort!r}")
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        page_sql = self.sql(
            f"SELECT {CAMPAIGN_COLUMNS}, s.ts FROM campaigns c CROSS JOIN {CHAIN_TIME} {clause} "
            f"ORDER BY {order} LIMIT :n"
        )
        count_clause = f"WHERE {' AND '.join(filters)}" if filters else ""
        count_sql = self.sql(f"SELECT COUNT(*) FROM campaigns c CROSS JOIN {CHAIN_TIME} {count_clause}")
        count_params = {k: v for k, v in params.items() if not k.startswith("k_") and k != "n"}

        def work(cursor: Any) -> tuple[list[tuple[Campaign, int]], int]:
            rows = cursor.execute(page_sql, params).fetchall()
            total = cursor.execute(count_sql, count_params).fetchall()[0][0]
            return [(campaign_from_row(r), r[_NC]) for r in rows], int(total)

        return self.run(work)

    def campaign_backers(self, campaign_id: int, *, limit: int, after: str | None) -> list[tuple[str, Any]]:
        """Positions in one campaign in address order (limit + 1 rows)."""
        params: dict[str, Any] = {"id": campaign_id, "n": limit + 1}
        keyset = ""
        if after is not None:
            keyset = "AND p.backer > :k_backer"
            params["k_backer"] = after
        rows = self.all(
            f"SELECT p.backer, {POSITION_COLUMNS} FROM positions p WHERE p.campaign_id = :id {keyset} "
            "ORDER BY p.backer LIMIT :n",
            params,
        )
        return [(r[0], r) for r in rows]

    # ----------------------------------------------------------------- backers

    _BACKER_POSITIONS = (
        f"SELECT {BACKED_COLUMNS}, s.ts, {POSITION_COLUMNS}, {BACKED_STATE_COLUMNS} FROM positions p "
        f"JOIN campaigns c ON c.campaign_id = p.campaign_id CROSS JOIN {CHAIN_TIME} "
        "WHERE p.backer = :b AND p.campaign_id > :k_id ORDER BY p.campaign_id LIMIT :n"
    )

    def backer_positions(self, backer: str, *, limit: int, after: int | None) -> list[Any]:
        """Rows of (BACKED_COLUMNS, chain time, position columns, BACKED_STATE_COLUMNS) for every campaign `backer`
        holds a position in, by campaign id (limit + 1 rows)."""
        return self.all(self._BACKER_POSITIONS, {"b": backer, "n": limit + 1, "k_id": -1 if after is None else after})

    # a backer's page without the join: the positions, then the campaign halves from the cache
    # (BackedCampaigns), which holds them for one state of the ledger (last seq, chain time)
    _BACKER_POSITION_ROWS = {
        dialect: f"SELECT p.campaign_id, {columns}, m.seq, m.ts FROM positions p CROSS JOIN {LEDGER_MARK} "
                 "WHERE p.backer = :b AND p.campaign_id > :k_id ORDER BY p.campaign_id LIMIT :n"
        for dialect, columns in (
            # the amounts as decimal digits, made by the database: SQLite's are zero-padded text,
            # and PostgreSQL's text costs less to load than a Decimal to make and print
            ("sqlite", ", ".join(f"COALESCE(NULLIF(ltrim(p.{n}, '0'), ''), '0')" for n in POSITION_AMOUNTS) + ", p.first_seq, p.last_seq"),
            ("postgresql", ", ".join(f"CAST(p.{n} AS TEXT)" for n in POSITION_AMOUNTS) + ", p.first_seq, p.last_seq"),
        )
    }
    _BACKED_CAMPAIGNS = {
        "sqlite": f"SELECT {BACKED_COLUMNS}, {BACKED_STATE_COLUMNS}, m.seq, m.ts FROM campaigns c CROSS JOIN "
                  f"{LEDGER_MARK} WHERE c.campaign_id IN (SELECT value FROM json_each(:ids))",
        "postgresql": f"SELECT {BACKED_COLUMNS}, {BACKED_STATE_COLUMNS}, m.seq, m.ts FROM campaigns c CROSS JOIN "
                      f"{LEDGER_MARK} WHERE c.campaign_id = ANY(CAST(:ids AS BIGINT[]))",
    }

    async def abacker_items(self, backer: str, *, limit: int, after: int | None) -> list[tuple[int, str]]:
        """(campaign id, the JSON text of BackedCampaignPublic) for each campaign `backer` holds a
        position in, by campaign id (limit + 1 of them). The campaign halves come from the
        cache while the ledger has not moved; when it moves between the two reads, the page is
        read again with the join (_BACKER_POSITIONS), so it never mixes two states."""
        params = {"b": backer, "n": limit + 1, "k_id": -1 if after is None else after}
        rows = await self.aall(self._BACKER_POSITION_ROWS[self.dialect], params)
        if not rows:
            return []
        cache = self._backed
        mark = cache.at(rows[0][7], rows[0][8])
        missing = sorted({row[0] for row in rows if row[0] not in cache.items})
        if missing:
            ids = ("[{}]" if self.dialect == "sqlite" else "{{{}}}").format(",".join(map(str, missing)))
            found = await self.aall(self._BACKED_CAMPAIGNS[self.dialect], {"ids": ids})
            if len(found) != len(missing) or any((row[-2], row[-1]) != mark for row in found):
                return [(row[0], backed_json(row)) for row in await self.aall(self._BACKER_POSITIONS, params)]
            for row in found:
                cache.items[row[0]] = backed_campaign(backed_campaign_from_row(row[:-2]), mark[1])
        items = cache.items
        return [(row[0], backed_item(items[row[0]], *row[1:7])) for row in rows]

    # ----------------------------------------------------------------- entries

    def _entry_where(self, campaign: bool) -> str:
        return "e.campaign_id = :id AND e.seq > :after" if campaign else "e.seq > :after"

    def entry_texts(self, *, after: int, limit: int, campaign_id: int | None = None) -> list[tuple[int, str]]:
        """(seq, the JSON text of EntryPublic) of the entries after seq `after` in seq order (up to
        `limit`), optionally of one campaign: the texts the indexer stored (ledger/public.py),
        finished with each entry's `final`."""
        rows = self.all(
            f"SELECT e.seq, e.public_json, e.final FROM ledger_entries e WHERE {self._entry_where(campaign_id is not None)} "
            "ORDER BY e.seq LIMIT :n",
            {"id": campaign_id, "after": after, "n": limit},
        )
        return [(seq, finish(text, final)) for seq, text, final in rows]

    def _entry_page_sql(self, campaign: bool) -> str:
        where = self._entry_where(campaign)
        text = f"e.public_json || CASE WHEN e.final THEN '{FINAL_SUFFIX}' ELSE '{PROVISIONAL_SUFFIX}' END"
        if self.dialect != "sqlite":  # a row per entry (PostgreSQL's ordered string_agg costs more than it saves)
            return f"SELECT e.seq, {text} FROM ledger_entries e WHERE {where} ORDER BY e.seq LIMIT :more"
        # SQLite joins the page itself: one text instead of a row per entry. group_concat takes
        # the rows in the order the ordered subquery yields them (the tests check whole ledgers).
        return (
            "SELECT group_concat(p.text, ','), max(p.seq), (SELECT count(*) FROM (SELECT 1 FROM ledger_entries e "
            f"WHERE {where} ORDER BY e.seq LIMIT :more) x) "
            f"FROM (SELECT e.seq, {text} AS text FROM ledger_entries e WHERE {where} ORDER BY e.seq LIMIT :n) p"
        )

    async def aentry_page(self, *, after: int, limit: int, campaign_id: int | None = None) -> EntryPage:
        """entry_texts as one page: the entries' texts joined with commas, the last seq on it,
        and whether more entries follow."""
        text = self._entry_page_sql(campaign_id is not None)
        values = {"id": campaign_id, "after": after, "n": limit, "more": limit + 1}
        if self._links is not None:  # PostgreSQL: the texts joined as they arrive, undecoded
            page = await self._links.fetch_texts(self._statement(text), values, limit)
            return EntryPage(page.joined, page.last_key, page.rows > limit)
        joined, last_seq, counted = self.all(text, values)[0]
        return EntryPage((joined or "").encode(), last_seq, counted > limit)

    _ENTRY = (
        "SELECT e.public_json, e.final, e.head, (SELECT p.head FROM ledger_entries p WHERE p.seq = e.seq - 1) "
        "FROM ledger_entries e WHERE e.seq = :seq"
    )

    async def aentry(self, seq: int) -> tuple[str, bool, str, str | None] | None:
        """Entry `seq`: (its stored public text, final, head, the head before it: None for seq 1,
        whose previous head is the genesis head)."""
        rows = await self.aall(self._ENTRY, {"seq": seq})
        if not rows:
            return None
        text, final, head, previous = rows[0]
        return text, bool(final), head, previous

    def campaign_exists(self, campaign_id: int) -> bool:
        return self.one("SELECT 1 FROM campaigns WHERE campaign_id = :id", {"id": campaign_id}) is not None

    # ----------------------------------------------------------------- stats

    def stats_rows(self) -> tuple[list[tuple[Campaign, int]], int, int]:
        """Every campaign with its state (at chain time), the number of distinct backers and of
        positions."""
        def work(cursor: Any) -> tuple[list[tuple[Campaign, int]], int, int]:
            rows = cursor.execute(
                self.sql(f"SELECT {CAMPAIGN_COLUMNS}, {STATE_SQL} FROM campaigns c CROSS JOIN {CHAIN_TIME}")
            ).fetchall()
            backers, positions_ = cursor.execute(
                "SELECT COUNT(DISTINCT backer), COUNT(*) FROM positions"
            ).fetchall()[0]
            return [(campaign_from_row(r), int(r[_NC])) for r in rows], int(backers), int(positions_)

        return self.run(work)

    # ----------------------------------------------------------------- milestone campaigns

    def milestone_view(self, campaign_id: int) -> MilestoneView | None:
        """Everything GET /campaigns/{id}/milestones shows, or None for an unknown campaign."""
        params = {"id": campaign_id}
        statements = {name: self.sql(text) for name, text in _MILESTONE_SQL.items()}

        def work(cursor: Any) -> MilestoneView | None:
            found = cursor.execute(self.sql(self._CAMPAIGN), params).fetchall()
            if not found:
                return None
            view = MilestoneView(campaign_from_row(found[0]), int(found[0][_NC]))
            if not view.campaign.milestone:
                return view
            plan = cursor.execute(statements["plan"], params).fetchall()
            view.plan = milestones_from_row(plan[0]) if plan else None
            view.releases = [
                (tranche_from_row(r[:-1]), r[-1]) for r in cursor.execute(statements["releases"], params).fetchall()
            ]
            if view.plan is not None and view.plan.request_seq:
                request = cursor.execute(statements["entry"], {"seq": view.plan.request_seq}).fetchall()
                view.request = request[0] if request else None
            if view.plan is not None and view.plan.aborted:
                abort = cursor.execute(statements["abort"], params).fetchall()
                view.abort = abort[0] if abort else None
                view.unrefunded = [
                    int(r[0]) for r in cursor.execute(statements["unrefunded"], {**params, "zero": self.u256(0)})
                ]
            return view

        return self.run(work)

    def votes(self, campaign_id: int, *, tranche: int | None, limit: int, after: int) -> list[Any]:
        """VOTE_COLUMNS rows of a campaign's votes (on one tranche if given) after seq `after`, in seq
        order (limit + 1 rows)."""
        on_tranche = "AND v.tranche = :tranche " if tranche is not None else ""
        return self.all(
            f"SELECT {VOTE_COLUMNS} FROM votes v JOIN ledger_entries e ON e.seq = v.seq "
            f"WHERE v.campaign_id = :id {on_tranche}AND v.seq > :after ORDER BY v.seq LIMIT :n",
            {"id": campaign_id, "tranche": tranche, "after": after, "n": limit + 1},
        )

    def backer_votes(self, backer: str, *, limit: int, after: tuple[int, int] | None) -> list[Any]:
        """VOTE_COLUMNS rows of a backer's votes by campaign, then seq (limit + 1 rows)."""
        k_id, k_seq = after if after is not None else (-1, 0)
        return self.all(
            f"SELECT {VOTE_COLUMNS} FROM votes v JOIN ledger_entries e ON e.seq = v.seq WHERE v.backer = :b "
            "AND (v.campaign_id > :k_id OR (v.campaign_id = :k_id AND v.seq > :k_seq)) "
            "ORDER BY v.campaign_id, v.seq LIMIT :n",
            {"b": backer, "k_id": k_id, "k_seq": k_seq, "n": limit + 1},
        )

    def documents(self, campaign_id: int, *, limit: int, after: int) -> list[Any]:
        """DOCUMENT_COLUMNS rows of a campaign's progress reports (kind 9) and disclosures (kind 13)
        after seq `after`, in seq order (limit + 1 rows)."""
        return self.all(
            f"SELECT {DOCUMENT_COLUMNS} FROM ledger_entries e WHERE e.campaign_id = :id "
            f"AND e.kind IN ({int(Kind.RELEASE_REQUESTED)}, {int(Kind.DISCLOSED)}) AND e.seq > :after "
            "ORDER BY e.seq LIMIT :n",
            {"id": campaign_id, "after": after, "n": limit + 1},
        )


def _is_db_error(exc: BaseException) -> bool:
    module = type(exc).__module__
    return module.startswith(("sqlite3", "psycopg")) or type(exc).__name__ in ("OperationalError", "DatabaseError")


def _is_connection_error(exc: BaseException) -> bool:
    if type(exc).__module__.startswith("psycopg"):
        import psycopg

        return isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError))
    return False
