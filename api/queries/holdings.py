"""What a campaign holds for its backers, as the sums of its positions' breakdowns
(ledger.core.status.campaign_holdings: the one rule `verify` and the page share), so a campaign's
"held for backers now" and "still refundable" are exactly what its backers' rows add up to.

The sums read every position of the campaign, so `Holdings` keeps them per campaign for as long as
nothing they depend on changes: the campaign's last entry (every position or plan change is an
entry of the campaign) and its state (which chain time moves)."""

from __future__ import annotations

from api.queries.campaigns import CampaignAt
from api.queries.database import Database, Query, select_list
from api.queries.milestones import plan_of
from ledger.core.records import Position
from ledger.core.status import CampaignHoldings, campaign_holdings
from ledger.db.rows import columns, from_row

MAX_CACHED = 10_000
_POSITIONS = Query(f"SELECT {select_list('p', columns(Position))} FROM positions p WHERE p.campaign_id = :id")


class Holdings:
    """CampaignHoldings by (campaign id, its last seq, its state)."""

    def __init__(self) -> None:
        self.known: dict[tuple[int, int, int], CampaignHoldings] = {}

    async def of(self, db: Database, found: CampaignAt) -> CampaignHoldings:
        c = found.campaign
        key = (c.campaign_id, c.last_seq, int(c.state_at(found.chain_time)))
        held = self.known.get(key)
        if held is None:
            rows = await db.fetch(_POSITIONS, {"id": c.campaign_id}, rows=None)
            plan = await plan_of(db, c.campaign_id) if c.milestone else None
            held = campaign_holdings(c, (from_row(Position, row) for row in rows), found.chain_time, plan)
            if len(self.known) >= MAX_CACHED:
                self.known.clear()
            self.known[key] = held
        return held
