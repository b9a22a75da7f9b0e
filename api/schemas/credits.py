"""What the escrow owes an account (issue 18): payouts it could not make (a creator whose address
refused them, a token that refused the transfer) credited instead, per asset."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from typing_extensions import TypedDict

from api.schemas.common import Address, Amount, AssetPublic
from ledger.core.addresses import checksum
from ledger.core.records import Credit


class CreditPublic(TypedDict):
    token: Annotated[Address, Field(description="the asset; the zero address is ETH")]
    asset: AssetPublic
    owed: Annotated[
        Amount,
        Field(description="what the account can withdraw now: owed(account, token) on-chain (withdrawOwed)"),
    ]
    credited: Annotated[Amount, Field(description="every payout credited to it (kind 14 entries)")]
    withdrawn: Annotated[Amount, Field(description="what it withdrew of them (kind 15 entries)")]


class CreditsPublic(TypedDict):
    address: Address
    data: Annotated[list[CreditPublic], Field(description="one per asset the account was ever credited in")]


def credit_public(credit: Credit, asset: AssetPublic) -> CreditPublic:
    return {
        "token": checksum(credit.token),
        "asset": asset,
        "owed": str(credit.owed),
        "credited": str(credit.credited_total),
        "withdrawn": str(credit.withdrawn_total),
    }
