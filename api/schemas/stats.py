"""The platform's totals as the API shows them."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from typing_extensions import TypedDict

from api.schemas.common import Address, Amount, AssetPublic, CampaignState, Time


class TokenStatsPublic(TypedDict):
    token: Address
    asset: Annotated[AssetPublic, Field(description="the asset of this row's amounts")]
    campaigns: int
    pledged: Annotated[Amount, Field(description="net pledged over every campaign in this asset")]
    raised: Annotated[
        Amount, Field(description="pledged in successful campaigns (succeeded, claimed or in delivery)")
    ]
    average_raised: Annotated[
        Amount | None, Field(description="raised per successful campaign (rounded down); null if none")
    ]
    claimed: Annotated[Amount, Field(description="paid to creators (claims and tranche releases)")]
    fees: Annotated[Amount, Field(description="platform fees taken at claims and tranche releases")]
    escrowed: Annotated[
        Amount,
        Field(
            description="held for backers: unclaimed campaigns, the tranches of milestone campaigns not released, "
            "and the refunds still owed after an abort"
        ),
    ]
    owed: Annotated[
        Amount,
        Field(
            description="payouts the escrow could not make and credited instead (kind 14), less what was "
            "withdrawn (kind 15): the sum of owed(account, token)"
        ),
    ]
    fees_unwithdrawn: Annotated[Amount, Field(description="platform fees taken and not withdrawn yet")]
    held: Annotated[
        Amount,
        Field(
            description="what the escrow must hold in this asset: escrowed + fees_unwithdrawn + owed (solvency: "
            "its balance less any force-fed surplus)"
        ),
    ]


class StatsPublic(TypedDict):
    as_of: Annotated[Time | None, Field(description="the chain time of the indexed tip")]
    indexed_block: int | None
    entries: int
    campaigns: int
    campaigns_by_state: dict[CampaignState, int]
    success_rate: Annotated[
        float | None,
        Field(
            description="successful (succeeded + claimed + in_delivery) / ended (successful + failed + cancelled "
            "+ aborted + expired); null before any ended"
        ),
    ]
    backers: Annotated[int, Field(description="distinct addresses that ever pledged")]
    positions: Annotated[int, Field(description="(campaign, backer) pairs")]
    tokens: list[TokenStatsPublic]
