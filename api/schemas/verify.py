"""The answers of `crowdledger verify` (ledger.audit.verify) as the API serves them: one
transaction, or one backer's positions, checked against the chain and the database."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field
from typing_extensions import TypedDict

from api.schemas.common import Address, Amount, Hash32
from ledger.core.status import PositionStatus, RefundReason


class EntryCheckPublic(TypedDict):
    seq: int
    kind: int
    kind_name: str
    campaign_id: int
    account: Address
    amount: Amount
    head: Hash32
    previous_head: Annotated[
        Hash32 | None, Field(description="null when the database is not indexed that far")
    ]
    head_matches: Annotated[
        bool | None, Field(description="the head follows from the previous head; null: unchecked")
    ]
    in_database: bool | None
    database_matches: bool | None


class BackerVoteCastPublic(TypedDict):
    tranche: int
    approve: bool
    weight: Amount
    seq: int


class BackerCampaignPublic(TypedDict):
    campaign_id: int
    token: Address
    status: PositionStatus
    pledged_total: Amount
    unpledged_total: Amount
    refunded_total: Amount
    balance: Annotated[
        Amount, Field(description="still counted for the backer: escrowed, refundable or released")
    ]
    escrowed: Annotated[
        Amount,
        Field(
            description="still held by the escrow (milestone campaigns: the share of the tranches not released)"
        ),
    ]
    refundable: Annotated[
        Amount, Field(description="the backer can take back now (after an abort: the pro-rata refund)")
    ]
    released: Annotated[
        Amount,
        Field(
            description="gone to the creator, fees included (milestone campaigns: the pro-rata share of the "
            "tranches released)"
        ),
    ]
    pledge_of_onchain: Annotated[
        Amount, Field(description="pledgeOf(campaign, backer) read from the contract")
    ]
    matches_chain: bool
    at_stake: Annotated[
        Amount,
        Field(description="milestone campaigns: the backer's share of the tranche the open vote decides"),
    ]
    lost_to_rounding: Annotated[
        Amount,
        Field(
            description="after an abort: balance - released - refundable, the backer's part of the rounding dust"
        ),
    ]
    votes: list[BackerVoteCastPublic]
    reason: Annotated[
        RefundReason | None, Field(description="why the position is (or was) refundable; null otherwise")
    ]
    symbol: Annotated[str, Field(description="the asset's symbol (the token's own, untrusted)")]
    decimals: Annotated[int, Field(ge=0, le=77, description="the asset's decimals")]
    words: Annotated[str, Field(description="the verdict's sentence about this position")]


class BackerCreditPublic(TypedDict):
    """A payout the address could not receive, credited to it, checked against owed() on-chain."""

    token: Address
    symbol: str
    decimals: Annotated[int, Field(ge=0, le=77)]
    credited_total: Amount
    withdrawn_total: Amount
    owed: Amount
    owed_onchain: Annotated[Amount, Field(description="owed(address, token) read from the contract")]
    matches_chain: bool
    words: str


class BackerVerificationPublic(TypedDict):
    backer: Address
    block: Annotated[int, Field(description="the indexed block the positions and pledgeOf were read at")]
    ok: Annotated[bool, Field(description="every position matches pledgeOf on-chain")]
    verdict: str
    campaigns: list[BackerCampaignPublic]
    credits: Annotated[
        list[BackerCreditPublic], Field(description="what the escrow owes the address, per asset")
    ]


class TxVerificationPublic(TypedDict):
    tx_hash: Hash32
    status: Literal["success", "reverted", "pending", "not_found"]
    verdict: Annotated[str, Field(description="the answer in one or two sentences")]
    ok: bool
    block_number: int | None
    block_hash: Hash32 | None
    confirmations: int | None
    final: bool | None
    to: Address | None
    entries: list[EntryCheckPublic]
    problems: list[str]
