"""Platform totals: raised per asset, campaigns by state, success rate, backers."""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from api.deps import RuntimeDep
from api.errors import RESPONSES
from api.schemas import StatsPublic
from api.services.present import JSON, STATE_NAMES, checksum, iso
from api.services.reader import LedgerReader
from ledger.core.records import ETH, State

router = APIRouter(tags=["stats"], responses=RESPONSES)

_TOTALS = ("campaigns", "successful", "pledged", "raised", "claimed", "fees", "escrowed")
SUCCESSFUL = (State.SUCCEEDED, State.CLAIMED, State.IN_DELIVERY)  # funded; delivery may still be under way
ENDED = (State.SUCCEEDED, State.CLAIMED, State.FAILED, State.CANCELLED, State.IN_DELIVERY, State.ABORTED)


class StatsCache:
    """The last stats and the checkpoint they were computed at: they are recomputed only when
    the ledger or the chain time moved (counting distinct backers reads every position)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.key: tuple[Any, ...] | None = None
        self.value: dict[str, Any] | None = None


def compute_stats(reader: LedgerReader, cache: StatsCache) -> dict[str, Any]:
    info = reader.sync_info()
    key = (info.last_seq, info.tip_timestamp, info.last_block) if info else ()
    with cache.lock:
        if cache.value is not None and cache.key == key:
            return cache.value
    rows, backers, positions = reader.stats_rows()
    by_state = {name: 0 for name in STATE_NAMES.values()}
    tokens: dict[str, dict[str, int]] = {}
    for campaign, state_value in rows:
        state = State(state_value)
        by_state[STATE_NAMES[state]] += 1
        t = tokens.setdefault(campaign.token, {k: 0 for k in _TOTALS})
        t["campaigns"] += 1
        t["pledged"] += campaign.pledged
        t["claimed"] += campaign.claimed_amount
        t["fees"] += campaign.claim_fee
        if state in SUCCESSFUL:
            t["successful"] += 1
            t["raised"] += campaign.pledged
        t["escrowed"] += campaign.escrowed
    successful = sum(by_state[STATE_NAMES[s]] for s in SUCCESSFUL)
    ended = sum(by_state[STATE_NAMES[s]] for s in ENDED)
    result = {
        "as_of": iso(info.tip_timestamp) if info else None,
        "indexed_block": info.last_block if info else None,
        "entries": info.last_seq if info else 0,
        "campaigns": len(rows),
        "campaigns_by_state": by_state,
        "success_rate": round(successful / ended, 6) if ended else None,
        "backers": backers,
        "positions": positions,
        "tokens": [
            {
                "token": checksum(token),
                "asset": "ETH" if token == ETH else "ERC20",
                "campaigns": t["campaigns"],
                "pledged": str(t["pledged"]),
                "raised": str(t["raised"]),
                "average_raised": str(t["raised"] // t["successful"]) if t["successful"] else None,
                "claimed": str(t["claimed"]),
                "fees": str(t["fees"]),
                "escrowed": str(t["escrowed"]),
            }
            for token, t in sorted(tokens.items())
        ],
    }
    with cache.lock:
        cache.key, cache.value = key, result
    return result


@router.get("/stats", response_model=StatsPublic)
async def read_stats(runtime: RuntimeDep) -> JSON:
    """Totals raised per asset, campaigns by state, success rate, average raised per successful campaign, backers."""
    cache = runtime.extras.setdefault("stats", StatsCache())
    return JSON(await run_in_threadpool(compute_stats, runtime.reader, cache))
