"""Platform totals: raised per asset, campaigns by state, success rate, backers."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from fastapi import APIRouter

from api.deps import RuntimeDep
from api.errors import RESPONSES
from api.queries.campaigns import CampaignAt, all_campaigns, backer_counts
from api.queries.checkpoint import sync_state
from api.queries.database import Database
from api.responses import JSON
from api.schemas.common import STATES, asset_of
from api.schemas.stats import StatsPublic, TokenStatsPublic
from ledger.core.addresses import checksum
from ledger.core.public import iso
from ledger.core.records import State
from ledger.db.store import SyncState

router = APIRouter(tags=["stats"], responses=RESPONSES)

_TOTALS = ("campaigns", "successful", "pledged", "raised", "claimed", "fees", "escrowed")
SUCCESSFUL = (State.SUCCEEDED, State.CLAIMED, State.IN_DELIVERY)  # funded; delivery may still be under way
ENDED = (State.SUCCEEDED, State.CLAIMED, State.FAILED, State.CANCELLED, State.IN_DELIVERY, State.ABORTED)


class StatsCache:
    """The last stats and the checkpoint they were computed at: they are recomputed only when
    the ledger or the chain time moved (counting distinct backers reads every position)."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.key: tuple[Any, ...] | None = None
        self.value: StatsPublic | None = None


def stats_public(
    info: SyncState | None, campaigns: list[CampaignAt], backers: int, positions: int
) -> StatsPublic:
    by_state = {name: 0 for name in STATES.values()}
    tokens: dict[str, dict[str, int]] = {}
    for campaign, chain_time in campaigns:
        state = campaign.state_at(chain_time)
        by_state[STATES[state]] += 1
        t = tokens.setdefault(campaign.token, {k: 0 for k in _TOTALS})
        t["campaigns"] += 1
        t["pledged"] += campaign.pledged
        t["claimed"] += campaign.claimed_amount
        t["fees"] += campaign.claim_fee
        if state in SUCCESSFUL:
            t["successful"] += 1
            t["raised"] += campaign.pledged
        t["escrowed"] += campaign.escrowed
    successful = sum(by_state[STATES[s]] for s in SUCCESSFUL)
    ended = sum(by_state[STATES[s]] for s in ENDED)
    return {
        "as_of": iso(info.tip_timestamp) if info else None,
        "indexed_block": info.last_block if info else None,
        "entries": info.last_seq if info else 0,
        "campaigns": len(campaigns),
        "campaigns_by_state": by_state,
        "success_rate": round(successful / ended, 6) if ended else None,
        "backers": backers,
        "positions": positions,
        "tokens": [token_stats(token, t) for token, t in sorted(tokens.items())],
    }


def token_stats(token: str, t: dict[str, int]) -> TokenStatsPublic:
    return {
        "token": checksum(token),
        "asset": asset_of(token),
        "campaigns": t["campaigns"],
        "pledged": str(t["pledged"]),
        "raised": str(t["raised"]),
        "average_raised": str(t["raised"] // t["successful"]) if t["successful"] else None,
        "claimed": str(t["claimed"]),
        "fees": str(t["fees"]),
        "escrowed": str(t["escrowed"]),
    }


async def compute_stats(db: Database, cache: StatsCache) -> StatsPublic:
    info = await sync_state(db)
    key = (info.last_seq, info.tip_timestamp, info.last_block) if info else ()
    async with cache.lock:
        if cache.value is None or cache.key != key:
            campaigns = await all_campaigns(db)
            backers, positions = await backer_counts(db)
            cache.key, cache.value = key, stats_public(info, campaigns, backers, positions)
        return cache.value


@router.get("/stats", response_model=StatsPublic)
async def read_stats(runtime: RuntimeDep) -> JSON:
    """Totals raised per asset, campaigns by state, success rate, average raised per successful campaign, backers."""
    cache = runtime.extras.setdefault("stats", StatsCache())
    stats = await compute_stats(runtime.db, cache)
    return JSON(orjson.dumps(stats, option=orjson.OPT_NON_STR_KEYS))  # campaigns_by_state's keys are enums
