"""Campaigns as the API shows them, and a backer's position in one: the schemas /openapi.json
publishes, and the functions that fill them from the records (mypy checks one against the other).
Amounts are decimal strings, addresses checksummed, times ISO 8601 UTC, states at chain time."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from pydantic import Field
from typing_extensions import TypedDict

from api.schemas.common import (
    STATES,
    Address,
    Amount,
    Asset,
    CampaignState,
    Cursor,
    Hash32,
    Time,
    asset_of,
    iso_time,
)
from ledger.core.addresses import checksum
from ledger.core.public import iso
from ledger.core.records import Campaign, Position
from ledger.core.status import PositionStatus, position_status

MAX_PROGRESS_BPS = 1_000_000  # 100x the goal: beyond that the bar is full anyway, and JSON ints stay small


class CampaignSort(str, Enum):
    newest = "newest"
    ending_soon = "ending_soon"
    most_raised = "most_raised"


class CampaignPublic(TypedDict):
    id: int
    creator: Address
    token: Annotated[Address, Field(description="the asset; the zero address is ETH")]
    asset: Asset
    goal: Amount
    pledged: Annotated[
        Amount, Field(description="net total pledged (pledges - unpledges); refunds do not lower it")
    ]
    progress_bps: Annotated[
        int,
        Field(
            ge=0,
            le=MAX_PROGRESS_BPS,
            description="pledged / goal in basis points (10000 = goal reached), capped at 1,000,000",
        ),
    ]
    backer_count: Annotated[int, Field(ge=0, description="every address that ever pledged (never decreases)")]
    state: CampaignState
    deadline: Time
    seconds_left: Annotated[int, Field(ge=0, description="until the deadline, in chain time")]
    max_per_backer: Annotated[Amount, Field(description="0 = no cap")]
    keep_it_all: bool
    fee_bps: Annotated[int, Field(ge=0)]
    metadata_hash: Hash32
    created_at: Time | None
    created_seq: int
    created_block: int
    claimed_amount: Amount
    claim_fee: Amount
    refunded_total: Amount
    escrowed: Annotated[
        Amount,
        Field(
            description="still held by the escrow for this campaign's backers: the positions, or for a milestone "
            "campaign the tranches not released (after an abort, the refunds still owed and the rounding dust "
            "until the last refund)"
        ),
    ]
    last_seq: int
    milestone: Annotated[
        bool, Field(description="paid out in tranches that backers vote on (GET /campaigns/{id}/milestones)")
    ]
    tranche_count: Annotated[
        int, Field(ge=0, description="milestone campaigns: the tranches in the plan; 0 otherwise")
    ]
    tranches_released: Annotated[
        int, Field(ge=0, description="milestone campaigns: the tranches paid so far (tranche 0 by claim)")
    ]
    aborted: Annotated[
        bool, Field(description="milestone campaigns: a release vote failed and backers refund pro rata")
    ]


class CampaignsPublic(TypedDict):
    data: list[CampaignPublic]
    next: Cursor
    count: Annotated[int, Field(ge=0, description="campaigns matching the filters, on every page")]


class PositionPublic(TypedDict):
    balance: Annotated[Amount, Field(description="what the escrow holds for the backer: pledgeOf()")]
    pledged_total: Amount
    unpledged_total: Amount
    refunded_total: Amount
    status: PositionStatus
    first_seq: int
    last_seq: int


class CampaignBackerPublic(PositionPublic):
    backer: Address


class CampaignBackersPublic(TypedDict):
    campaign_id: int
    data: list[CampaignBackerPublic]
    next: Cursor


class CampaignSummaryPublic(TypedDict):
    """A campaign in a backer's list; GET /campaigns/{id} has everything else."""

    id: int
    creator: Address
    token: Address
    asset: Asset
    goal: Amount
    pledged: Amount
    state: CampaignState
    deadline: Time


# ----------------------------------------------------------------------------- from the records


def campaign_public(c: Campaign, chain_time: int) -> CampaignPublic:
    progress = min(c.pledged * 10_000 // c.goal, MAX_PROGRESS_BPS) if c.goal else 10_000
    return {
        "id": c.campaign_id,
        "creator": checksum(c.creator),
        "token": checksum(c.token),
        "asset": asset_of(c.token),
        "goal": str(c.goal),
        "pledged": str(c.pledged),
        "progress_bps": progress,
        "backer_count": c.backer_count,
        "state": STATES[c.state_at(chain_time)],
        "deadline": iso_time(c.deadline),
        "seconds_left": max(0, c.deadline - chain_time),
        "max_per_backer": str(c.max_per_backer),
        "keep_it_all": c.keep_it_all,
        "fee_bps": c.fee_bps,
        "metadata_hash": c.metadata_hash,
        "created_at": iso(c.created_timestamp),
        "created_seq": c.created_seq,
        "created_block": c.created_block,
        "claimed_amount": str(c.claimed_amount),
        "claim_fee": str(c.claim_fee),
        "refunded_total": str(c.refunded_total),
        "escrowed": str(c.escrowed),
        "last_seq": c.last_seq,
        "milestone": c.milestone,
        "tranche_count": c.tranche_count,
        "tranches_released": c.tranches_released,
        "aborted": c.aborted,
    }


def campaign_summary(c: Campaign, chain_time: int) -> CampaignSummaryPublic:
    return {
        "id": c.campaign_id,
        "creator": checksum(c.creator),
        "token": checksum(c.token),
        "asset": asset_of(c.token),
        "goal": str(c.goal),
        "pledged": str(c.pledged),
        "state": STATES[c.state_at(chain_time)],
        "deadline": iso_time(c.deadline),
    }


def position_public(c: Campaign, p: Position, chain_time: int) -> PositionPublic:
    return {
        "balance": str(p.balance),
        "pledged_total": str(p.pledged_total),
        "unpledged_total": str(p.unpledged_total),
        "refunded_total": str(p.refunded_total),
        "status": position_status(c, p, chain_time),
        "first_seq": p.first_seq,
        "last_seq": p.last_seq,
    }


def campaign_backer(c: Campaign, p: Position, chain_time: int) -> CampaignBackerPublic:
    return {**position_public(c, p, chain_time), "backer": checksum(p.backer)}
