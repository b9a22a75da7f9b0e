"""Campaigns: the list with filters and sorts, one campaign, its backers and its ledger; a milestone
campaign's delivery (tranches, the vote, the abort), its votes, and every campaign's reports and
disclosures."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import AfterValidator

from api.deps import ADDRESS_PATTERN, CampaignId, DatabaseDep, RuntimeDep, runtime_of, valid_checksum
from api.errors import RESPONSES
from api.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery, decode_cursor, encode_cursor, page
from api.queries import campaigns as queries
from api.queries.ledger import entry_page
from api.queries.milestones import campaign_votes, documents, milestone_view, plan_of
from api.responses import JSON, fragments
from api.schemas.campaigns import (
    CampaignBackersPublic,
    CampaignPublic,
    CampaignSort,
    CampaignsPublic,
    campaign_backer,
    campaign_public,
)
from api.schemas.common import CampaignState
from api.schemas.ledger import EntriesPublic
from api.schemas.milestones import (
    CampaignVotesPublic,
    DocumentsPublic,
    MilestonesPublic,
    document_public,
    milestones_public,
    vote_public,
)
from ledger.core.records import ETH, State

router = APIRouter(prefix="/campaigns", tags=["campaigns"], responses=RESPONSES)

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such campaign"}}
SORT_KEYS = {"newest": ("int",), "ending_soon": ("int", "int"), "most_raised": ("u256", "int")}


def not_found(campaign_id: int) -> HTTPException:
    return HTTPException(404, f"no campaign {campaign_id} in the indexed ledger")


@router.get("", response_model=CampaignsPublic)
async def list_campaigns(
    runtime: RuntimeDep,
    state: Annotated[
        CampaignState | None, Query(description="only campaigns in this state (at chain time)")
    ] = None,
    creator: Annotated[
        str | None,
        Query(pattern=ADDRESS_PATTERN, description="only this creator's campaigns"),
        AfterValidator(valid_checksum),
    ] = None,
    token: Annotated[
        str | None,
        Query(
            pattern=r"^(0x[0-9a-fA-F]{40}|[Ee][Tt][Hh])$",
            description="only campaigns in this asset: an ERC-20 address, or ETH",
        ),
        AfterValidator(valid_checksum),
    ] = None,
    sort: Annotated[
        CampaignSort,
        Query(
            description="newest: by id, newest first; ending_soon: campaigns whose deadline is still ahead, "
            "soonest first; most_raised: by pledged total, largest first"
        ),
    ] = CampaignSort.newest,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> JSON:
    """Campaigns, filtered by state, creator and asset, in one of three orders, a page at a time."""
    kind = f"campaigns:{sort.value}"
    after = decode_cursor(cursor, kind, SORT_KEYS[sort.value]) if cursor else None
    if token is not None:
        token = ETH if token.lower() == "eth" else token.lower()
    found, count = await queries.campaigns_page(
        runtime.db,
        snapshot=runtime.snapshot,
        sort=sort.value,
        limit=limit,
        after=after,
        state=State[state.name.upper()] if state is not None else None,
        creator=creator.lower() if creator else None,
        token=token,
    )
    rows, more = page(found, limit)
    next_cursor = None
    if more:
        last = rows[-1].campaign
        key = {
            "newest": (last.campaign_id,),
            "ending_soon": (last.deadline, last.campaign_id),
            "most_raised": (last.pledged, last.campaign_id),
        }[sort.value]
        next_cursor = encode_cursor(kind, key)
    labels = await runtime.labels((row.campaign for row in rows), held=rows)
    body: CampaignsPublic = {
        "data": [campaign_public(*row, labels) for row in rows],
        "next": next_cursor,
        "count": count,
    }
    return JSON(body)


@router.get("/{campaign_id}", response_model=CampaignPublic, responses=NOT_FOUND)
async def read_campaign(request: Request, campaign_id: CampaignId) -> JSON:
    """One campaign: terms, total pledged, goal progress, backers, state and time left (chain time)."""
    runtime = runtime_of(request)
    found = await queries.campaign(runtime.db, campaign_id)
    if found is None:
        raise not_found(campaign_id)
    return JSON(campaign_public(*found, await runtime.labels((found.campaign,), held=(found,))))


@router.get("/{campaign_id}/backers", response_model=CampaignBackersPublic, responses=NOT_FOUND)
async def list_campaign_backers(
    runtime: RuntimeDep,
    campaign_id: CampaignId,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> JSON:
    """The backers of one campaign, by address, with each one's position, its status and, when refundable, why."""
    db = runtime.db
    kind = f"backers:{campaign_id}"
    after = decode_cursor(cursor, kind, ("address",))[0] if cursor else None
    found = await queries.campaign(db, campaign_id)
    if found is None:
        raise not_found(campaign_id)
    positions, more = page(await queries.positions_in(db, campaign_id, limit=limit, after=after), limit)
    plan = await plan_of(db, campaign_id) if found.campaign.milestone else None
    body: CampaignBackersPublic = {
        "campaign_id": campaign_id,
        "asset": await runtime.assets.one(db, found.campaign.token),
        "data": [campaign_backer(found.campaign, position, found.chain_time, plan) for position in positions],
        "next": encode_cursor(kind, (positions[-1].backer,)) if more else None,
    }
    return JSON(body)


@router.get("/{campaign_id}/ledger", response_model=EntriesPublic, responses=NOT_FOUND)
async def list_campaign_entries(
    db: DatabaseDep, campaign_id: CampaignId, limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None
) -> JSON:
    """The ledger entries of one campaign, in seq order."""
    kind = f"ledger:{campaign_id}"
    after = decode_cursor(cursor, kind, ("int",))[0] if cursor else 0
    found = await entry_page(db, after=after, limit=limit, campaign_id=campaign_id)
    # campaign 0 holds the fee withdrawals: its entries do not make it a campaign
    if (campaign_id == 0 or not found.entries) and not await queries.campaign_exists(db, campaign_id):
        raise not_found(campaign_id)
    next_cursor = encode_cursor(kind, (found.last_seq,)) if found.more else None
    return JSON({"data": fragments(text for _, text in found.entries), "next": next_cursor})


@router.get("/{campaign_id}/milestones", response_model=MilestonesPublic, responses=NOT_FOUND)
async def read_milestones(runtime: RuntimeDep, campaign_id: CampaignId) -> JSON:
    """A campaign's delivery: its tranche plan and what was released, the open or last release vote with its tallies, quorum and deadline, and the abort; `milestone: false` for a plain campaign."""
    view = await milestone_view(runtime.db, campaign_id)
    if view is None:
        raise not_found(campaign_id)
    return JSON(milestones_public(view, await runtime.assets.one(runtime.db, view.campaign.token)))


@router.get("/{campaign_id}/votes", response_model=CampaignVotesPublic, responses=NOT_FOUND)
async def list_campaign_votes(
    db: DatabaseDep,
    campaign_id: CampaignId,
    tranche: Annotated[
        int | None, Query(ge=1, le=9, description="only the votes on this tranche's release")
    ] = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> JSON:
    """The backers' votes on a milestone campaign's releases, in ledger order (empty for a plain campaign)."""
    kind = f"votes:{campaign_id}:{'' if tranche is None else tranche}"
    after = decode_cursor(cursor, kind, ("int",))[0] if cursor else 0
    votes, more = page(
        await campaign_votes(db, campaign_id, tranche=tranche, limit=limit, after=after), limit
    )
    if not votes and not await queries.campaign_exists(db, campaign_id):
        raise not_found(campaign_id)
    body: CampaignVotesPublic = {
        "campaign_id": campaign_id,
        "data": [vote_public(vote) for vote in votes],
        "next": encode_cursor(kind, (votes[-1].vote.seq,)) if more else None,
    }
    return JSON(body)


@router.get("/{campaign_id}/disclosures", response_model=DocumentsPublic, responses=NOT_FOUND)
async def list_campaign_documents(
    db: DatabaseDep, campaign_id: CampaignId, limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None
) -> JSON:
    """The document hashes a campaign's creator put on the ledger, in ledger order: the progress report of each release request and every disclosure."""
    kind = f"documents:{campaign_id}"
    after = decode_cursor(cursor, kind, ("int",))[0] if cursor else 0
    rows, more = page(await documents(db, campaign_id, limit=limit, after=after), limit)
    if not rows and not await queries.campaign_exists(db, campaign_id):
        raise not_found(campaign_id)
    body: DocumentsPublic = {
        "campaign_id": campaign_id,
        "data": [document_public(row) for row in rows],
        "next": encode_cursor(kind, (rows[-1].place.seq,)) if more else None,
    }
    return JSON(body)
