"""What every resource's schemas share: the field types (ledger.core.public defines them once, for
the ledger entry's schema too), the campaign states, assets, cursors and the error answer."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from pydantic import Field
from typing_extensions import TypedDict

from ledger.core.addresses import checksum
from ledger.core.metadata import Token
from ledger.core.public import Address, Amount, Hash32, Time, iso
from ledger.core.records import ETH, State

__all__ = [
    "STATES",
    "Address",
    "Amount",
    "AssetPublic",
    "CampaignState",
    "Cursor",
    "ErrorPublic",
    "Hash32",
    "Time",
    "asset_public",
    "iso_time",
]

Cursor = Annotated[str | None, Field(description="pass as ?cursor= for the next page; null on the last page")]


class AssetPublic(TypedDict):
    """The asset an answer's amounts are in. Amounts stay exact base units (decimal strings):
    divide by 10^decimals for whole units. Symbols and names are the token's own answers, untrusted
    (cleaned and capped by the indexer)."""

    address: Annotated[Address | None, Field(description="the ERC-20 token; null for ETH")]
    symbol: Annotated[str, Field(max_length=64, description="the token's symbol(): ETH for ether")]
    name: Annotated[str, Field(max_length=128, description="the token's name(): Ether for ether")]
    decimals: Annotated[int, Field(ge=0, le=77, description="base units per whole unit: 10^decimals")]
    assumed: Annotated[
        bool,
        Field(
            description="the token did not answer symbol() or decimals() usably: the symbol is its short "
            "address and 18 decimals are assumed"
        ),
    ]
    display_symbol: Annotated[
        str,
        Field(
            description="what to show after its amounts: the symbol, or when ETH or another campaign's token "
            "has the same symbol, the symbol with the token's short address (`USDC (0x1234…abcd)`)"
        ),
    ]


class CampaignState(str, Enum):
    """campaignState() as of the indexed tip block's timestamp."""

    funding = "funding"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"
    claimed = "claimed"
    in_delivery = "in_delivery"
    aborted = "aborted"
    expired = "expired"


# each of the contract's states by its public name (a state without one fails here, at import)
STATES: dict[State, CampaignState] = {state: CampaignState(state.name.lower()) for state in State}


class ErrorPublic(TypedDict):
    """What went wrong, in one sentence."""

    detail: str


def asset_public(asset: Token, display_symbol: str) -> AssetPublic:
    return {
        "address": None if asset.address == ETH else checksum(asset.address),
        "symbol": asset.symbol,
        "name": asset.name,
        "decimals": asset.decimals,
        "assumed": asset.assumed,
        "display_symbol": display_symbol,
    }


def iso_time(timestamp: int) -> str:
    """A time that is always known (a deadline) as ISO 8601 UTC."""
    return iso(timestamp) or ""
