"""Backers: every campaign an address backed, and where its money in each stands."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import ADDRESS, AddressPath, reader_of
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
from api.schemas import BackerPublic
from api.services.present import JSON, backed_json, checksum, page_json

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
    rows, more = page(await reader_of(request).abacker_positions(backer, limit=limit, after=after), limit)
    next_cursor = encode_cursor(kind, (rows[-1][0],)) if more else None
    return JSON(page_json([backed_json(row) for row in rows], next_cursor, address=checksum(backer)))
