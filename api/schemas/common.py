"""What every resource's schemas share: the field types (ledger.core.public defines them once, for
the ledger entry's schema too), the campaign states, assets, cursors and the error answer."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Literal

from pydantic import Field
from typing_extensions import TypedDict

from ledger.core.public import Address, Amount, Hash32, Time, iso
from ledger.core.records import ETH, State

__all__ = [
    "STATES",
    "Address",
    "Amount",
    "Asset",
    "CampaignState",
    "Cursor",
    "ErrorPublic",
    "Hash32",
    "Time",
    "asset_of",
    "iso_time",
]

Cursor = Annotated[str | None, Field(description="pass as ?cursor= for the next page; null on the last page")]
Asset = Literal["ETH", "ERC20"]


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


def asset_of(token: str) -> Asset:
    """ETH for the zero address, ERC20 for any other token."""
    return "ETH" if token == ETH else "ERC20"


def iso_time(timestamp: int) -> str:
    """A time that is always known (a deadline) as ISO 8601 UTC."""
    return iso(timestamp) or ""
