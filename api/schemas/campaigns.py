"""Campaigns as the API shows them, and a backer's position in one: the schemas /openapi.json
publishes, and the functions that fill them from the records (mypy checks one against the other).
Amounts are decimal strings, addresses checksummed, times ISO 8601 UTC, states at chain time."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Literal

from pydantic import Field
from typing_extensions import TypedDict

from api.queries.labels import Labels
from api.schemas.common import (
    STATES,
    Address,
    Amount,
    AssetPublic,
    CampaignState,
    Cursor,
    Hash32,
    Time,
    iso_time,
)
from ledger.core.addresses import checksum
from ledger.core.public import iso
from ledger.core.records import Campaign, Milestones, Position
from ledger.core.status import PositionStatus, RefundReason, position_breakdown

AbortCause = Literal["failed_vote", "silence"]
MetadataStatus = Literal["published", "not_published"]
Title = Annotated[
    str | None,
    Field(
        description="from the campaign's metadata document (untrusted text: control characters stripped, "
        "length-capped); null until the document is published or when it is not campaign metadata"
    ),
]

MAX_PROGRESS_BPS = 1_000_000  # 100x the goal: beyond that the bar is full anyway, and JSON ints stay small


class CampaignSort(str, Enum):
    newest = "newest"
    ending_soon = "ending_soon"
    most_raised = "most_raised"


class CampaignPublic(TypedDict):
    id: int
    creator: Address
    token: Annotated[Address, Field(description="the asset; the zero address is ETH")]
    asset: Annotated[AssetPublic, Field(description="the asset every amount of the campaign is in")]
    title: Title
    summary: Title
    metadata: Annotated[
        MetadataStatus,
        Field(
            description="published: the document metadata_hash commits to is stored (GET /documents/{hash}, "
            "verified by its hash); not_published: nobody uploaded it yet"
        ),
    ]
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
    holders: Annotated[
        int, Field(ge=0, description="backers whose pledge the escrow still counts (a balance)")
    ]
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
    held: Annotated[
        Amount,
        Field(
            description="held for backers now: the sum of the positions' `escrowed` (escrowed - held is the "
            "pro-rata rounding the escrow keeps beyond the backers' shares)"
        ),
    ]
    refundable: Annotated[
        Amount, Field(description="still refundable: the sum of the positions' `refundable`")
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
        bool,
        Field(
            description="milestone campaigns: aborted (a release vote failed, or the creator fell silent) and "
            "backers refund pro rata"
        ),
    ]
    abort_cause: Annotated[
        AbortCause | None,
        Field(
            description="why an aborted campaign was aborted: failed_vote (a release vote failed) or silence "
            "(no release requested for longer than MAX_SILENCE: anyone called abortStale); null otherwise"
        ),
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
    reason: Annotated[
        RefundReason | None,
        Field(
            description="why the backer may refund (or could, once refunded): failed, cancelled, expired (met but "
            "never claimed within the claim window), failed_vote or silence (aborted: pro rata); null otherwise"
        ),
    ]
    released: Annotated[
        Amount,
        Field(
            description="gone to the creator, fees included: the whole balance once claimed; a milestone pledge's "
            "pro-rata share of the tranches released (kept after a refund)"
        ),
    ]
    escrowed: Annotated[
        Amount,
        Field(
            description="held by the escrow for the backer now (in delivery: what an abort would refund; after "
            "an abort: the refund still to take)"
        ),
    ]
    at_stake: Annotated[
        Amount, Field(description="of escrowed, the share of the tranche the open vote decides")
    ]
    refundable: Annotated[Amount, Field(description="what the backer can take back now")]
    lost_to_rounding: Annotated[
        Amount,
        Field(
            description="a milestone pledge's part of the pro-rata floors' remainder (under one unit a tranche)"
        ),
    ]
    first_seq: int
    last_seq: int


class CampaignBackerPublic(PositionPublic):
    backer: Address


class CampaignBackersPublic(TypedDict):
    campaign_id: int
    asset: Annotated[AssetPublic, Field(description="the asset of the positions' amounts")]
    data: list[CampaignBackerPublic]
    next: Cursor


class CampaignSummaryPublic(TypedDict):
    """A campaign in a backer's list; GET /campaigns/{id} has everything else."""

    id: int
    creator: Address
    token: Address
    asset: AssetPublic
    title: Title
    goal: Amount
    pledged: Amount
    state: CampaignState
    deadline: Time


# ----------------------------------------------------------------------------- from the records


def campaign_public(c: Campaign, chain_time: int, labels: Labels) -> CampaignPublic:
    """`labels` must hold the campaign's asset, metadata and holdings."""
    progress = min(c.pledged * 10_000 // c.goal, MAX_PROGRESS_BPS) if c.goal else 10_000
    held = labels.holdings[c.campaign_id]
    found = labels.metadata.get(c.metadata_hash)
    metadata = found.metadata if found is not None else None
    return {
        "id": c.campaign_id,
        "creator": checksum(c.creator),
        "token": checksum(c.token),
        "asset": labels.assets[c.token],
        "title": metadata.title if metadata else None,
        "summary": metadata.summary if metadata else None,
        "metadata": "published" if found is not None else "not_published",
        "goal": str(c.goal),
        "pledged": str(c.pledged),
        "progress_bps": progress,
        "backer_count": c.backer_count,
        "holders": c.holders,
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
        "held": str(held.escrowed),
        "refundable": str(held.refundable),
        "last_seq": c.last_seq,
        "milestone": c.milestone,
        "tranche_count": c.tranche_count,
        "tranches_released": c.tranches_released,
        "aborted": c.aborted,
        "abort_cause": abort_cause(c),
    }


def abort_cause(c: Campaign) -> AbortCause | None:
    if c.abort_cause == "silence":
        return "silence"
    if c.abort_cause == "failed_vote" or c.aborted:
        return "failed_vote"
    return None


def campaign_summary(c: Campaign, chain_time: int, labels: Labels) -> CampaignSummaryPublic:
    found = labels.metadata.get(c.metadata_hash)
    return {
        "id": c.campaign_id,
        "creator": checksum(c.creator),
        "token": checksum(c.token),
        "asset": labels.assets[c.token],
        "title": found.metadata.title if found is not None and found.metadata else None,
        "goal": str(c.goal),
        "pledged": str(c.pledged),
        "state": STATES[c.state_at(chain_time)],
        "deadline": iso_time(c.deadline),
    }


def position_public(c: Campaign, p: Position, chain_time: int, plan: Milestones | None) -> PositionPublic:
    """`plan`: the campaign's Milestones (needed for a milestone campaign in delivery or aborted)."""
    money = position_breakdown(c, p, chain_time, plan)
    return {
        "balance": str(p.balance),
        "pledged_total": str(p.pledged_total),
        "unpledged_total": str(p.unpledged_total),
        "refunded_total": str(p.refunded_total),
        "status": money.status,
        "reason": money.reason,
        "released": str(money.released),
        "escrowed": str(money.escrowed),
        "at_stake": str(money.at_stake),
        "refundable": str(money.refundable),
        "lost_to_rounding": str(money.lost_to_rounding),
        "first_seq": p.first_seq,
        "last_seq": p.last_seq,
    }


def campaign_backer(
    c: Campaign, p: Position, chain_time: int, plan: Milestones | None
) -> CampaignBackerPublic:
    return {**position_public(c, p, chain_time, plan), "backer": checksum(p.backer)}
