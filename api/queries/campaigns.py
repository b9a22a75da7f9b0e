"""Reads of campaigns and of the positions in them. Rows hold the record's columns in the order of
`ledger.db.rows.columns(Record)`, after the few extra values a statement names first
(`ts, *values = row`), so a row becomes its record through the one column list.

A campaign's state is a rule of time (`Campaign.state_at`), kept once, in Python: a list filtered
by state is cut from every campaign as of one ledger state (`Snapshot`, read once per new entry or
chain time, which /stats shares), never from a SQL copy of the rule."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import lru_cache
from typing import Any, NamedTuple

from api.queries.checkpoint import CHAIN_TIME
from api.queries.database import Database, Query, Row, select_list
from ledger.core.records import Campaign, Position, State
from ledger.db.rows import columns, from_row

SORTS = ("newest", "ending_soon", "most_raised")

_ORDER = {
    "newest": ("c.campaign_id DESC", "c.campaign_id < :k_id"),
    "ending_soon": (
        "c.deadline ASC, c.campaign_id ASC",
        "(c.deadline > :k_deadline OR (c.deadline = :k_deadline AND c.campaign_id > :k_id))",
    ),
    "most_raised": (
        "c.pledged DESC, c.campaign_id DESC",
        "(c.pledged < :k_pledged OR (c.pledged = :k_pledged AND c.campaign_id < :k_id))",
    ),
}


CAMPAIGN_SELECT = (
    f"SELECT s.ts, {select_list('c', columns(Campaign))} FROM campaigns c CROSS JOIN {CHAIN_TIME}"
)
_CAMPAIGN = Query(f"{CAMPAIGN_SELECT} WHERE c.campaign_id = :id")
_EXISTS = Query("SELECT 1 FROM campaigns WHERE campaign_id = :id")
_ALL = Query(CAMPAIGN_SELECT)
_LEDGER_STATE = Query("SELECT last_seq, COALESCE(tip_timestamp, 0) FROM sync_state WHERE id = 1")
_BACKERS_COUNT = Query("SELECT COUNT(DISTINCT backer), COUNT(*) FROM positions")
_POSITIONS = "SELECT {columns} FROM positions p WHERE p.campaign_id = :id {keyset}ORDER BY p.backer LIMIT :n"
_POSITIONS_FIRST = Query(_POSITIONS.format(columns=select_list("p", columns(Position)), keyset=""))
_POSITIONS_AFTER = Query(
    _POSITIONS.format(columns=select_list("p", columns(Position)), keyset="AND p.backer > :k_backer ")
)


class CampaignAt(NamedTuple):
    """A campaign and the chain time its state is computed at."""

    campaign: Campaign
    chain_time: int


def campaign_at(row: Row) -> CampaignAt:
    """The CampaignAt of a row of CAMPAIGN_SELECT (ts, then the campaign's columns)."""
    ts, *values = row
    return CampaignAt(from_row(Campaign, values), int(ts))


async def campaign(db: Database, campaign_id: int) -> CampaignAt | None:
    found = await db.fetch(_CAMPAIGN, {"id": campaign_id})
    return campaign_at(found[0]) if found else None


async def campaign_exists(db: Database, campaign_id: int) -> bool:
    return bool(await db.fetch(_EXISTS, {"id": campaign_id}))


@lru_cache(maxsize=64)
def _list_queries(sort: str, filters: tuple[str, ...], after: bool) -> tuple[Query, Query]:
    """The page and count statements of the campaigns list for one sort and set of filters."""
    order, keyset = _ORDER[sort]
    where = list(filters) + (["c.deadline > s.ts"] if sort == "ending_soon" else [])
    counted = f"WHERE {' AND '.join(where)}" if where else ""
    if after:
        where.append(keyset)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    page = Query(f"{CAMPAIGN_SELECT} {clause} ORDER BY {order} LIMIT :n")
    count = Query(f"SELECT COUNT(*) FROM campaigns c CROSS JOIN {CHAIN_TIME} {counted}")
    return page, count


async def campaigns_page(
    db: Database,
    *,
    sort: str,
    limit: int,
    after: tuple[Any, ...] | None,
    state: State | None = None,
    creator: str | None = None,
    token: str | None = None,
    snapshot: Snapshot | None = None,
) -> tuple[list[CampaignAt], int]:
    """One page of campaigns (limit + 1 of them, so the caller knows if there is more) and the
    number matching the filters (`after`: the sort key of the previous page's last campaign). The
    other filters are SQL; a state filter cuts the page from `snapshot` (every campaign at one
    ledger state) with Campaign.state_at."""
    if state is not None:
        listed = await snapshot.read(db) if snapshot is not None else await all_campaigns(db)
        return _cut(listed, sort=sort, limit=limit, after=after, state=state, creator=creator, token=token)
    filters: list[str] = []
    params: dict[str, Any] = {"n": limit + 1}
    if creator is not None:
        filters.append("c.creator = :creator")
        params["creator"] = creator
    if token is not None:
        filters.append("c.token = :token")
        params["token"] = token
    if after is not None:
        if sort == "newest":
            params["k_id"] = after[0]
        elif sort == "ending_soon":
            params.update(k_deadline=after[0], k_id=after[1])
        else:
            params.update(k_pledged=db.u256(after[0]), k_id=after[1])
    page, count = _list_queries(sort, tuple(filters), after is not None)
    rows = await db.fetch(page, params, rows=None)  # a filter may skip any number of rows
    total = await db.fetch(
        count, {k: v for k, v in params.items() if not k.startswith("k_") and k != "n"}, rows=None
    )
    return [campaign_at(row) for row in rows], int(total[0][0])


def _cut(
    listed: list[CampaignAt],
    *,
    sort: str,
    limit: int,
    after: tuple[Any, ...] | None,
    state: State,
    creator: str | None,
    token: str | None,
) -> tuple[list[CampaignAt], int]:
    """The page of `listed` that campaigns_page's SQL would give, filtered by state in Python."""
    matching = [
        found
        for found in listed
        if found.campaign.state_at(found.chain_time) == state
        and (creator is None or found.campaign.creator == creator)
        and (token is None or found.campaign.token == token)
        and (sort != "ending_soon" or found.campaign.deadline > found.chain_time)
    ]
    key, later = _PY_ORDER[sort]
    matching.sort(key=lambda found: key(found.campaign))
    rows = matching if after is None else [f for f in matching if later(key(f.campaign), after)]
    return rows[: limit + 1], len(matching)


# each sort's key (ascending in the list's order) and "comes after the cursor's key"
_PY_ORDER: dict[
    str, tuple[Callable[[Campaign], tuple[int, ...]], Callable[[tuple[int, ...], tuple[Any, ...]], bool]]
] = {
    "newest": (lambda c: (-c.campaign_id,), lambda k, a: k > (-a[0],)),
    "ending_soon": (lambda c: (c.deadline, c.campaign_id), lambda k, a: k > (a[0], a[1])),
    "most_raised": (lambda c: (-c.pledged, -c.campaign_id), lambda k, a: k > (-a[0], -a[1])),
}


class Snapshot:
    """Every campaign as of one state of the ledger (last seq, chain time): read again when either
    moved. For /stats and the lists filtered by state."""

    def __init__(self) -> None:
        self.key: tuple[int, int] | None = None
        self.campaigns: list[CampaignAt] = []
        self._lock = asyncio.Lock()

    async def read(self, db: Database) -> list[CampaignAt]:
        found = await db.fetch(_LEDGER_STATE)
        key = (int(found[0][0]), int(found[0][1])) if found else (0, 0)
        async with self._lock:
            if key != self.key:
                self.campaigns, self.key = await all_campaigns(db), key
            return self.campaigns


async def positions_in(db: Database, campaign_id: int, *, limit: int, after: str | None) -> list[Position]:
    """The positions in one campaign by backer address (limit + 1 of them), after `after`."""
    if after is None:
        rows = await db.fetch(_POSITIONS_FIRST, {"id": campaign_id, "n": limit + 1}, rows=limit + 1)
    else:
        params = {"id": campaign_id, "n": limit + 1, "k_backer": after}
        rows = await db.fetch(_POSITIONS_AFTER, params, rows=limit + 1)
    return [from_row(Position, row) for row in rows]


async def all_campaigns(db: Database) -> list[CampaignAt]:
    """Every campaign, for the platform's totals."""
    return [campaign_at(row) for row in await db.fetch(_ALL, rows=None)]


async def backer_counts(db: Database) -> tuple[int, int]:
    """The number of distinct backers and of positions."""
    backers, positions = (await db.fetch(_BACKERS_COUNT, rows=None))[0]
    return int(backers), int(positions)
