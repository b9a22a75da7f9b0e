"""Campaigns: the list with filters and sorts, one campaign, its backers and its ledger; a milestone
campaign's delivery (tranches, the vote, the abort), its votes, and every campaign's reports and
disclosures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool

from api.deps import ADDRESS_PATTERN, CampaignId, ReaderDep, reader_of
from api.errors import RESPONSES
from api.fastpath import FastRoute, Int, fast
from api.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery, decode_cursor, encode_cursor, page
from api.schemas import (
    CampaignBackersPublic,
    CampaignPublic,
    CampaignSort,
    CampaignsPublic,
    CampaignState,
    CampaignVotesPublic,
    DocumentsPublic,
    EntriesPublic,
    MilestonesPublic,
)
from api.services.present import (
    JSON,
    STATE_VALUES,
    campaign_public,
    checksum,
    document_public,
    milestones_public,
    page_text,
    position_public,
    vote_public,
)
from api.services.reader import LedgerReader, position_from_row
from ledger.core.records import ETH, State

router = APIRouter(prefix="/campaigns", tags=["campaigns"], responses=RESPONSES, route_class=FastRoute)

SORT_KEYS = {"newest": ("int",), "ending_soon": ("int", "int"), "most_raised": ("u256", "int")}


def not_found(campaign_id: int) -> HTTPException:
    return HTTPException(404, f"no campaign {campaign_id} in the indexed ledger")


@router.get("", response_model=CampaignsPublic)
async def list_campaigns(
    reader: ReaderDep,
    state: Annotated[CampaignState | None, Query(description="only campaigns in this state (at chain time)")] = None,
    creator: Annotated[str | None, Query(pattern=ADDRESS_PATTERN, description="only this creator's campaigns")] = None,
    token: Annotated[
        str | None,
        Query(pattern=r"^(0x[0-9a-fA-F]{40}|[Ee][Tt][Hh])$", description="only campaigns in this asset: an ERC-20 address, or ETH"),
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
    rows, count = reader.campaigns(
        sort=sort.value,
        limit=limit,
        after=after,
        state=State(STATE_VALUES[state.value]) if state is not None else None,
        creator=creator.lower() if creator else None,
        token=token,
    )
    rows, more = page(rows, limit)
    data = [campaign_public(c, ts) for c, ts in rows]
    next_cursor = None
    if more:
        last = rows[-1][0]
        key = {
            "newest": (last.campaign_id,),
            "ending_soon": (last.deadline, last.campaign_id),
            "most_raised": (last.pledged, last.campaign_id),
        }[sort.value]
        next_cursor = encode_cursor(kind, key)
    return JSON({"data": data, "next": next_cursor, "count": count})


@router.get("/{campaign_id}", response_model=CampaignPublic, responses={404: {"description": "no such campaign"}})
@fast(path={"campaign_id": Int(ge=0)})
async def read_campaign(request: Request, campaign_id: CampaignId) -> JSON:
    """One campaign: terms, total pledged, goal progress, backers, state and time left (chain time)."""
    found = await reader_of(request).acampaign(campaign_id)
    if found is None:
        raise not_found(campaign_id)
    return JSON(campaign_public(*found))


@router.get(
    "/{campaign_id}/backers", response_model=CampaignBackersPublic, responses={404: {"description": "no such campaign"}}
)
async def list_campaign_backers(
    reader: ReaderDep, campaign_id: CampaignId, limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None
) -> JSON:
    """The backers of one campaign, by address, with each one's position and its status."""
    kind = f"backers:{campaign_id}"
    after = decode_cursor(cursor, kind, ("address",))[0] if cursor else None
    found = reader.campaign(campaign_id)
    if found is None:
        raise not_found(campaign_id)
    campaign, ts = found
    rows, more = page(reader.campaign_backers(campaign_id, limit=limit, after=after), limit)
    data = []
    for backer, row in rows:
        position = position_from_row(campaign_id, backer, row, 1)
        item = position_public(campaign, position, ts)
        item["backer"] = checksum(backer)
        data.append(item)
    next_cursor = encode_cursor(kind, (rows[-1][0],)) if more else None
    return JSON({"campaign_id": campaign_id, "data": data, "next": next_cursor})


@router.get("/{campaign_id}/ledger", response_model=EntriesPublic, responses={404: {"description": "no such campaign"}})
async def list_campaign_entries(
    reader: ReaderDep, campaign_id: CampaignId, limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None
) -> JSON:
    """The ledger entries of one campaign, in seq order."""
    kind = f"ledger:{campaign_id}"
    after = decode_cursor(cursor, kind, ("int",))[0] if cursor else 0
    found = await reader.aentry_page(after=after, limit=limit, campaign_id=campaign_id)
    if (campaign_id == 0 or found.last_seq is None) and not reader.campaign_exists(campaign_id):  # 0: fee withdrawals
        raise not_found(campaign_id)
    next_cursor = encode_cursor(kind, (found.last_seq,)) if found.more else None
    return JSON(page_text(found.items, next_cursor))


async def _seq_page(
    reader: LedgerReader, campaign_id: int, kind: str, cursor: str | None, limit: int,
    read: Callable[[int], list[Any]], seq_at: int,
) -> tuple[list[Any], str | None]:
    """One page of a campaign's list in seq order: `read(after)` gives the limit + 1 rows after a
    seq (in a worker thread), whose seq is column `seq_at`; an empty page of an unknown campaign
    is a 404."""
    after = decode_cursor(cursor, kind, ("int",))[0] if cursor else 0
    rows, more = page(await run_in_threadpool(read, after), limit)
    if not rows and not reader.campaign_exists(campaign_id):
        raise not_found(campaign_id)
    return rows, encode_cursor(kind, (rows[-1][seq_at],)) if more else None


@router.get(
    "/{campaign_id}/milestones", response_model=MilestonesPublic, responses={404: {"description": "no such campaign"}}
)
async def read_milestones(reader: ReaderDep, campaign_id: CampaignId) -> JSON:
    """A campaign's delivery: its tranche plan and what was released, the open or last release vote with its tallies, quorum and deadline, and the abort; `milestone: false` for a plain campaign."""
    view = await run_in_threadpool(reader.milestone_view, campaign_id)
    if view is None:
        raise not_found(campaign_id)
    return JSON(milestones_public(view))


@router.get(
    "/{campaign_id}/votes", response_model=CampaignVotesPublic, responses={404: {"description": "no such campaign"}}
)
async def list_campaign_votes(
    reader: ReaderDep,
    campaign_id: CampaignId,
    tranche: Annotated[int | None, Query(ge=1, le=9, description="only the votes on this tranche's release")] = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> JSON:
    """The backers' votes on a milestone campaign's releases, in ledger order (empty for a plain campaign)."""
    rows, next_cursor = await _seq_page(
        reader, campaign_id, f"votes:{campaign_id}:{'' if tranche is None else tranche}", cursor, limit,
        lambda after: reader.votes(campaign_id, tranche=tranche, limit=limit, after=after), seq_at=3,
    )
    return JSON({"campaign_id": campaign_id, "data": [vote_public(r) for r in rows], "next": next_cursor})


@router.get(
    "/{campaign_id}/disclosures", response_model=DocumentsPublic, responses={404: {"description": "no such campaign"}}
)
async def list_campaign_documents(
    reader: ReaderDep, campaign_id: CampaignId, limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None
) -> JSON:
    """The document hashes a campaign's creator put on the ledger, in ledger order: the progress report of each release request and every disclosure."""
    rows, next_cursor = await _seq_page(
        reader, campaign_id, f"documents:{campaign_id}", cursor, limit,
        lambda after: reader.documents(campaign_id, limit=limit, after=after), seq_at=0,
    )
    return JSON({"campaign_id": campaign_id, "data": [document_public(r) for r in rows], "next": next_cursor})
