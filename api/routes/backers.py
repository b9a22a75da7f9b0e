"""Backers: every campaign an address backed, where its money in each stands, and its votes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from api.deps import ADDRESS, AddressPath, ReaderDep, reader_of
from api.errors import RESPONSES
from api.fastpath import FastRoute, fast
from api.pagination import (
    CURSOR_PARAM,
    DEFAULT_LIMIT,
    LIMIT_PARAM,
    CursorQuery,
    LimitQuery,
    decode_cursor,
    encode_cursor,
    page,
)
from api.schemas import BackerPublic, BackerVotesPublic
from api.services.present import JSON, checksum, page_json, vote_public

router = APIRouter(prefix="/backers", tags=["backers"], responses=RESPONSES, route_class=FastRoute)


@router.get("/{address}", response_model=BackerPublic)
@fast(path={"address": ADDRESS}, query={"limit": LIMIT_PARAM, "cursor": CURSOR_PARAM})
async def read_backer(
    request: Request, address: AddressPath, limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None
) -> JSON:
    """Every campaign `address` backed, by id, with its position: escrowed, refundable, refunded, released or withdrawn."""
    backer = address.lower()
    kind = f"backer:{backer}"
    after = decode_cursor(cursor, kind, ("int",))[0] if cursor else None
    items, more = page(await reader_of(request).abacker_items(backer, limit=limit, after=after), limit)
    next_cursor = encode_cursor(kind, (items[-1][0],)) if more else None
    return JSON(page_json([text for _, text in items], next_cursor, address=checksum(backer)))


@router.get("/{address}/votes", response_model=BackerVotesPublic)
async def list_backer_votes(
    reader: ReaderDep, address: AddressPath, limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None
) -> JSON:
    """Every vote `address` cast on a milestone campaign's release, by campaign, then in ledger order."""
    backer = address.lower()
    kind = f"votes:{backer}"
    after = decode_cursor(cursor, kind, ("int", "int")) if cursor else None
    rows, more = page(await run_in_threadpool(reader.backer_votes, backer, limit=limit, after=after), limit)
    next_cursor = encode_cursor(kind, (rows[-1][0], rows[-1][3])) if more else None
    return JSON({"address": checksum(backer), "data": [vote_public(r) for r in rows], "next": next_cursor})
