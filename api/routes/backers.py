"""Backers: every campaign an address backed, where its money in each stands, and its votes."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import AddressPath, DatabaseDep, runtime_of
from api.errors import RESPONSES
from api.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery, decode_cursor, encode_cursor, page
from api.queries.backers import backed
from api.queries.milestones import backer_votes, plan_of
from api.responses import JSON
from api.schemas.backers import BackerPublic, BackerVotesPublic, backed_campaign_public
from api.schemas.milestones import vote_public
from ledger.core.addresses import checksum

router = APIRouter(prefix="/backers", tags=["backers"], responses=RESPONSES)


@router.get("/{address}", response_model=BackerPublic)
async def read_backer(
    request: Request, address: AddressPath, limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None
) -> JSON:
    """Every campaign `address` backed, by id, with its position: escrowed, refundable, refunded, released or withdrawn."""
    backer = address.lower()
    kind = f"backer:{backer}"
    after = decode_cursor(cursor, kind, ("int",))[0] if cursor else None
    runtime = runtime_of(request)
    items, more = page(await backed(runtime.db, runtime.campaigns, backer, limit=limit, after=after), limit)
    labels = await runtime.labels(item.campaign for item in items)
    plans = {
        c: await plan_of(runtime.db, c)
        for c in {i.campaign.campaign_id for i in items if i.campaign.milestone}
    }
    body: BackerPublic = {
        "address": checksum(backer),
        "data": [backed_campaign_public(i, labels, plans.get(i.campaign.campaign_id)) for i in items],
        "next": encode_cursor(kind, (items[-1].campaign.campaign_id,)) if more else None,
    }
    return JSON(body)


@router.get("/{address}/votes", response_model=BackerVotesPublic)
async def list_backer_votes(
    db: DatabaseDep, address: AddressPath, limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None
) -> JSON:
    """Every vote `address` cast on a milestone campaign's release, by campaign, then in ledger order."""
    backer = address.lower()
    kind = f"votes:{backer}"
    after = decode_cursor(cursor, kind, ("int", "int")) if cursor else None
    votes, more = page(await backer_votes(db, backer, limit=limit, after=after), limit)
    last = votes[-1].vote if votes else None
    body: BackerVotesPublic = {
        "address": checksum(backer),
        "data": [vote_public(vote) for vote in votes],
        "next": encode_cursor(kind, (last.campaign_id, last.seq)) if more and last else None,
    }
    return JSON(body)
