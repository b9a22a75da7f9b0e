"""Platform totals: raised per asset, campaigns by state, success rate, backers."""

from __future__ import annotations

import asyncio
from typing import Any, NamedTuple

import orjson
from fastapi import APIRouter

from api.deps import RuntimeDep
from api.errors import RESPONSES
from api.queries.campaigns import CampaignAt, backer_counts
from api.queries.checkpoint import sync_state
from api.queries.database import Query, select_list
from api.responses import JSON
from api.runtime import Runtime
from api.schemas.common import STATES, AssetPublic
from api.schemas.stats import StatsPublic, TokenStatsPublic
from ledger.core.addresses import checksum
from ledger.core.public import iso
from ledger.core.records import Credit, FeeAccount, State
from ledger.db.rows import columns, from_row
from ledger.db.store import SyncState

router = APIRouter(tags=["stats"], responses=RESPONSES)

_TOTALS = ("campaigns", "successful", "pledged", "raised", "claimed", "fees", "escrowed")
SUCCESSFUL = (State.SUCCEEDED, State.CLAIMED, State.IN_DELIVERY)  # funded; delivery may still be under way
ENDED = (
    State.SUCCEEDED,
    State.CLAIMED,
    State.FAILED,
    State.CANCELLED,
    State.IN_DELIVERY,
    State.ABORTED,
    State.EXPIRED,
)


class StatsCache:
    """The last stats and the checkpoint they were computed at: they are recomputed only when
    the ledger or the chain time moved (counting distinct backers reads every position)."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.key: tuple[Any, ...] | None = None
        self.value: StatsPublic | None = None


_CREDITS = Query(f"SELECT {select_list('c', columns(Credit))} FROM credits c")
_FEES = Query(f"SELECT {select_list('f', columns(FeeAccount))} FROM fee_accounts f")


def stats_public(
    info: SyncState | None,
    campaigns: list[CampaignAt],
    backers: int,
    positions: int,
    money: Money,
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
    for token in (*money.owed, *money.fees):
        tokens.setdefault(token, {k: 0 for k in _TOTALS})
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
        "tokens": [token_stats(token, t, money) for token, t in sorted(tokens.items())],
    }


def token_stats(token: str, t: dict[str, int], money: Money) -> TokenStatsPublic:
    owed = money.owed.get(token, 0)
    fees = money.fees.get(token, 0)
    return {
        "token": checksum(token),
        "asset": money.assets[token],
        "campaigns": t["campaigns"],
        "pledged": str(t["pledged"]),
        "raised": str(t["raised"]),
        "average_raised": str(t["raised"] // t["successful"]) if t["successful"] else None,
        "claimed": str(t["claimed"]),
        "fees": str(t["fees"]),
        "escrowed": str(t["escrowed"]),
        "owed": str(owed),
        "fees_unwithdrawn": str(fees),
        "held": str(t["escrowed"] + fees + owed),
    }


class Money(NamedTuple):
    """Per asset: credits owed (kinds 14-15), fees not withdrawn, and every asset's description."""

    owed: dict[str, int]
    fees: dict[str, int]
    assets: dict[str, AssetPublic]


async def money_of(runtime: Runtime, campaigns: list[CampaignAt]) -> Money:
    owed: dict[str, int] = {}
    for row in await runtime.db.fetch(_CREDITS, rows=None):
        credit = from_row(Credit, row)
        owed[credit.token] = owed.get(credit.token, 0) + credit.owed
    fees: dict[str, int] = {}
    for row in await runtime.db.fetch(_FEES, rows=None):
        account = from_row(FeeAccount, row)
        fees[account.token] = fees.get(account.token, 0) + account.outstanding
    tokens = {c.campaign.token for c in campaigns} | set(owed) | set(fees)
    return Money(owed, fees, await runtime.assets.of(runtime.db, tokens))


async def compute_stats(runtime: Runtime, cache: StatsCache) -> StatsPublic:
    db = runtime.db
    info = await sync_state(db)
    key = (info.last_seq, info.tip_timestamp, info.last_block) if info else ()
    async with cache.lock:
        if cache.value is None or cache.key != key:
            campaigns = await runtime.snapshot.read(db)
            backers, positions = await backer_counts(db)
            money = await money_of(runtime, campaigns)
            cache.key, cache.value = key, stats_public(info, campaigns, backers, positions, money)
        return cache.value


@router.get("/stats", response_model=StatsPublic)
async def read_stats(runtime: RuntimeDep) -> JSON:
    """Totals raised per asset, campaigns by state, success rate, average raised per successful campaign, backers."""
    cache = runtime.extras.setdefault("stats", StatsCache())
    stats = await compute_stats(runtime, cache)
    return JSON(orjson.dumps(stats, option=orjson.OPT_NON_STR_KEYS))  # campaigns_by_state's keys are enums
