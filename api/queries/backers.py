"""Reads of one backer's positions, each with its campaign (the backer's votes are in
api.queries.milestones, with the other votes)."""

from __future__ import annotations

from typing import NamedTuple

from api.queries.checkpoint import CHAIN_TIME
from api.queries.database import Database, Query, select_list
from ledger.core.records import Campaign, Position
from ledger.db.rows import columns, from_row

_POSITION_WIDTH = len(columns(Position))
# a keyset page by campaign id: on PostgreSQL an index-only scan of ix_positions_backer (migration 0004),
# then the campaign of each position by its key
_BACKED = Query(
    f"SELECT s.ts, {select_list('p', columns(Position))}, {select_list('c', columns(Campaign))} FROM positions p "
    f"JOIN campaigns c ON c.campaign_id = p.campaign_id CROSS JOIN {CHAIN_TIME} "
    "WHERE p.backer = :backer AND p.campaign_id > :k_id ORDER BY p.campaign_id LIMIT :n"
)


class Backed(NamedTuple):
    """One of a backer's positions, its campaign and the chain time."""

    position: Position
    campaign: Campaign
    chain_time: int


async def backed(db: Database, backer: str, *, limit: int, after: int | None) -> list[Backed]:
    """`backer`'s positions by campaign id (limit + 1 of them), after campaign `after`."""
    params = {"backer": backer, "k_id": -1 if after is None else after, "n": limit + 1}
    rows = await db.fetch(_BACKED, params, rows=limit + 1)
    found = []
    for ts, *values in rows:
        found.append(
            Backed(from_row(Position, values), from_row(Campaign, values[_POSITION_WIDTH:]), int(ts))
        )
    return found
