"""Credits: what the escrow owes an account because a payout to it failed (kinds 14 and 15)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import AddressPath, RuntimeDep
from api.errors import RESPONSES
from api.queries.database import Query, select_list
from api.responses import JSON
from api.schemas.credits import CreditsPublic, credit_public
from ledger.core.addresses import checksum
from ledger.core.records import Credit
from ledger.db.rows import columns, from_row

router = APIRouter(prefix="/credits", tags=["backers"], responses=RESPONSES)

MAX_ASSETS = 1000  # more assets than one account is ever credited in
_CREDITS = Query(
    f"SELECT {select_list('c', columns(Credit))} FROM credits c WHERE c.account = :account ORDER BY c.token LIMIT :n"
)


@router.get("/{address}", response_model=CreditsPublic)
async def read_credits(runtime: RuntimeDep, address: AddressPath) -> JSON:
    """What the escrow owes `address` per asset: payouts it could not send, credited for withdrawOwed(token, to); an empty list when none."""
    account = address.lower()
    rows = await runtime.db.fetch(_CREDITS, {"account": account, "n": MAX_ASSETS}, rows=None)
    credits = [from_row(Credit, row) for row in rows]
    assets = await runtime.assets.of(runtime.db, {c.token for c in credits})
    body: CreditsPublic = {
        "address": checksum(account),
        "data": [credit_public(credit, assets[credit.token]) for credit in credits],
    }
    return JSON(body)
