"""The API's response shapes, by role: `XPublic` is one item as the API shows it, `XsPublic` a
page of them (`data`, `next`). Amounts are decimal strings (exact at any size), addresses are
EIP-55 checksummed, times are ISO 8601 UTC (`2024-05-01T12:00:00Z`).

The routes build these as plain dicts (api/services/present.py) and encode them with orjson; the
models are what /openapi.json publishes and what the tests check every answer against."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from ledger.core.status import PositionStatus

Address = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$", examples=["0x5FbDB2315678afecb367f032d93F642f64180aa3"])]
Hash32 = Annotated[str, Field(pattern=r"^0x[0-9a-f]{64}$")]
Amount = Annotated[str, Field(pattern=r"^[0-9]{1,78}$", description="a uint256 as a decimal string", examples=["1000000000000000000"])]
Time = Annotated[str, Field(pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", examples=["2024-05-01T12:00:00Z"])]
Cursor = Annotated[str | None, Field(description="pass as ?cursor= for the next page; null on the last page")]


class CampaignState(str, Enum):
    """campaignState() as of the indexed tip block's timestamp."""

    funding = "funding"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"
    claimed = "claimed"
    in_delivery = "in_delivery"
    aborted = "aborted"


class CampaignSort(str, Enum):
    newest = "newest"
    ending_soon = "ending_soon"
    most_raised = "most_raised"


class ExportFormat(str, Enum):
    ndjson = "ndjson"
    csv = "csv"


class ErrorPublic(BaseModel):
    """What went wrong, in one sentence."""

    detail: str


# --------------------------------------------------------------------------------- campaigns


class CampaignPublic(BaseModel):
    id: int
    creator: Address
    token: Address = Field(description="the asset; the zero address is ETH")
    asset: Literal["ETH", "ERC20"]
    goal: Amount
    pledged: Amount = Field(description="net total pledged (pledges - unpledges); refunds do not lower it")
    progress_bps: int = Field(
        ge=0, le=1_000_000, description="pledged / goal in basis points (10000 = goal reached), capped at 1,000,000"
    )
    backer_count: int = Field(ge=0)
    state: CampaignState
    deadline: Time
    seconds_left: int = Field(ge=0, description="until the deadline, in chain time")
    max_per_backer: Amount = Field(description="0 = no cap")
    keep_it_all: bool
    fee_bps: int = Field(ge=0)
    metadata_hash: Hash32
    created_at: Time | None
    created_seq: int
    created_block: int
    claimed_amount: Amount
    claim_fee: Amount
    refunded_total: Amount
    escrowed: Amount = Field(
        description="still held by the escrow for this campaign's backers: the positions, or for a milestone campaign "
        "the tranches not released (after an abort, the refunds still owed and the rounding dust until the last refund)"
    )
    last_seq: int
    milestone: bool = Field(description="paid out in tranches that backers vote on (GET /campaigns/{id}/milestones)")
    tranche_count: int = Field(ge=0, description="milestone campaigns: the tranches in the plan; 0 otherwise")
    tranches_released: int = Field(ge=0, description="milestone campaigns: the tranches paid so far (tranche 0 by claim)")
    aborted: bool = Field(description="milestone campaigns: a release vote failed and backers refund pro rata")


class CampaignsPublic(BaseModel):
    data: list[CampaignPublic]
    next: Cursor
    count: int = Field(ge=0, description="campaigns matching the filters, on every page")


class PositionPublic(BaseModel):
    balance: Amount = Field(description="what the escrow holds for the backer: pledgeOf()")
    pledged_total: Amount
    unpledged_total: Amount
    refunded_total: Amount
    status: PositionStatus
    first_seq: int
    last_seq: int


class CampaignBackerPublic(PositionPublic):
    backer: Address


class CampaignBackersPublic(BaseModel):
    campaign_id: int
    data: list[CampaignBackerPublic]
    next: Cursor


# --------------------------------------------------------------------------------- milestone campaigns


class TranchePublic(BaseModel):
    """One tranche of a milestone campaign's plan; the release fields are null until it is paid."""

    tranche: int = Field(ge=0, description="its index: tranche 0 is paid by the claim, each later one after a vote")
    bps: int = Field(ge=1, le=10_000, description="its share of the total, in basis points")
    gross: Amount = Field(
        description="its gross amount (fee included): floor(total x bps / 10000), the last tranche the rest; "
        "of the current total while the campaign is funding"
    )
    status: Literal["released", "voting", "pending", "returned"] = Field(
        description="released: paid to the creator; voting: backers are voting on its release (or the vote awaits "
        "release()); pending: not paid yet; returned: never to be paid (the campaign aborted, failed or was "
        "cancelled): backers refund it"
    )
    amount: Amount | None = Field(description="paid to the creator")
    fee: Amount | None = Field(description="the platform fee taken from it")
    seq: int | None = Field(description="the ledger entry that paid it: a claim (tranche 0) or a tranche release")
    tx_hash: Hash32 | None
    block_number: int | None
    block_time: Time | None
    report_hash: Hash32 | None = Field(description="the progress report its vote was on (null for tranche 0)")
    approve_weight: Amount | None = Field(description="the vote's final tallies (null for tranche 0)")
    reject_weight: Amount | None


class VoteStatusPublic(BaseModel):
    """The open or last release vote of a milestone campaign."""

    tranche: int = Field(ge=1, description="the tranche the vote releases")
    status: Literal["open", "closed", "released", "aborted"] = Field(
        description="open: backers may vote until vote_end; closed: voting ended and anyone may call release(), "
        "which pays the tranche if `passes` and aborts the campaign otherwise; released / aborted: decided"
    )
    report_hash: Hash32 = Field(description="the progress report the creator asked backers to approve")
    request_seq: int = Field(description="the release request's ledger entry (kind 9)")
    request_tx_hash: Hash32 | None
    requested_at: Time | None
    vote_end: Time | None = Field(description="votes count while the chain time is before this")
    vote_end_unix: int | None = Field(description="vote_end as a unix time (seconds)")
    seconds_left: int = Field(ge=0, description="until vote_end, in chain time; 0 unless open")
    approve_weight: Amount = Field(description="the pledges of the backers who approved")
    reject_weight: Amount = Field(description="the pledges of the backers who rejected")
    voted_weight: Amount = Field(description="approve_weight + reject_weight")
    quorum: Amount = Field(description="the weight that must vote for a release: a fifth of the total, rounded up")
    quorum_reached: bool
    voters: int = Field(ge=0)
    passes: bool = Field(description="with the tallies as they stand the tranche is released: more approving than "
                         "rejecting weight, and the quorum reached")
    at_stake: Amount = Field(description="the gross amount of the tranche the vote decides")


class AbortPublic(BaseModel):
    """A milestone campaign whose release vote failed: backers refund floor(pledge x remaining / total)."""

    remaining: Amount = Field(description="what the escrow held at the abort: the tranches not released")
    refunded: Amount = Field(description="paid back to backers since the abort")
    owed: Amount = Field(description="still owed to the backers who have not refunded yet")
    unrefunded_weight: Amount = Field(description="the pledges of the backers who have not refunded yet")
    dust: Amount = Field(description="remaining - refunds paid and owed: the rounding left over, which the last "
                         "refund moves to the platform's fees")
    dust_settled: bool = Field(description="every backer refunded and the dust went to the fees")
    seq: int | None = Field(description="the abort's ledger entry (kind 12)")
    tx_hash: Hash32 | None
    block_number: int | None
    block_time: Time | None
    final: bool


class MilestonesPublic(BaseModel):
    """A campaign's delivery: the tranche plan and what was released, the open or last vote with
    its tallies, and the abort. A plain campaign answers with `milestone: false`, no tranches, no
    vote and no abort (its released amounts are its claim)."""

    campaign_id: int
    milestone: bool
    state: CampaignState
    token: Address
    asset: Literal["ETH", "ERC20"]
    total: Amount = Field(description="the pledged total the tranches divide (frozen at the deadline)")
    escrowed: Amount = Field(description="what the escrow still holds for the campaign's backers")
    released_gross: Amount = Field(description="released to the creator so far, fees included")
    released_paid: Amount = Field(description="of which paid to the creator")
    released_fees: Amount = Field(description="of which taken as platform fees")
    voting_period: int | None = Field(description="how long each release vote lasts, in seconds")
    tranche_count: int = Field(ge=0)
    tranches_released: int = Field(ge=0)
    next_tranche: int | None = Field(description="the next tranche to pay; null when none will be")
    next_tranche_amount: Amount = Field(description="its gross amount, 0 if none (getMilestones().nextTrancheAmount)")
    tranches: list[TranchePublic]
    vote: VoteStatusPublic | None = Field(description="the open or last release vote; null before the first request")
    abort: AbortPublic | None
    plan_seq: int | None = Field(description="the milestone plan's ledger entry (kind 8)")
    last_seq: int


class VotePublic(BaseModel):
    """One backer's vote on a release (a kind-10 entry)."""

    campaign_id: int
    tranche: int = Field(ge=1)
    backer: Address
    approve: bool
    weight: Amount = Field(description="the backer's pledge when voting")
    seq: int
    tx_hash: Hash32
    block_number: int
    block_time: Time | None
    final: bool


class CampaignVotesPublic(BaseModel):
    campaign_id: int
    data: list[VotePublic]
    next: Cursor


class BackerVotesPublic(BaseModel):
    address: Address
    data: list[VotePublic]
    next: Cursor


class DocumentPublic(BaseModel):
    """A document hash the creator put on the ledger: a progress report with a release request
    (kind 9), or a disclosure (kind 13)."""

    kind: Literal["report", "disclosure"]
    hash: Hash32 = Field(description="the document's hash: keep the document; anyone can hash it and compare")
    tranche: int | None = Field(description="reports: the tranche whose release it asked for")
    account: Address = Field(description="the creator")
    seq: int
    tx_hash: Hash32
    block_number: int
    block_time: Time | None
    final: bool


class DocumentsPublic(BaseModel):
    campaign_id: int
    data: list[DocumentPublic]
    next: Cursor


# --------------------------------------------------------------------------------- backers


class CampaignSummaryPublic(BaseModel):
    """A campaign in a backer's list; GET /campaigns/{id} has everything else."""

    id: int
    creator: Address
    token: Address
    asset: Literal["ETH", "ERC20"]
    goal: Amount
    pledged: Amount
    state: CampaignState
    deadline: Time


class BackedCampaignPublic(BaseModel):
    campaign: CampaignSummaryPublic
    position: PositionPublic


class BackerPublic(BaseModel):
    address: Address
    data: list[BackedCampaignPublic]
    next: Cursor


# --------------------------------------------------------------------------------- ledger


class EntryPublic(BaseModel):
    seq: int = Field(ge=1)
    kind: int = Field(ge=1, le=13)
    kind_name: Literal[
        "campaign_created", "pledged", "unpledged", "cancelled", "claimed", "refunded", "fees_withdrawn",
        "milestone_plan", "release_requested", "voted", "tranche_released", "aborted", "disclosed", "unknown"
    ]
    campaign_id: int = Field(description="0 for a fee withdrawal")
    account: Address
    amount: Amount
    detail: Hash32
    fee: Amount | None = Field(description="claimed entries: the platform fee (the detail)")
    fee_token: Address | None = Field(description="fees_withdrawn entries: the asset (the detail)")
    head: Hash32
    block_number: int
    block_hash: Hash32
    block_time: Time | None
    tx_hash: Hash32
    log_index: int
    final: bool = Field(description="at or below the finality depth; provisional entries may still be reorged away")


class EntryDetailPublic(EntryPublic):
    previous_head: Hash32 = Field(description="the head this entry chains from (genesis for seq 1)")


class EntriesPublic(BaseModel):
    data: list[EntryPublic]
    next: Cursor


# --------------------------------------------------------------------------------- audit


class SolvencyPublic(BaseModel):
    token: Address
    balance: Amount
    owed: Amount
    surplus: str = Field(pattern=r"^-?[0-9]+$", description="balance - owed; negative means insolvent")
    solvent: bool


class FindingPublic(BaseModel):
    code: str
    message: str
    seq: int | None = None
    kind: int | None = None
    campaign_id: int | None = None
    tx_hash: str | None = None
    line: int | None = None
    fields: dict[str, Any] | None = None


class AuditPublic(BaseModel):
    status: Literal["disabled", "pending", "ok", "findings", "error"] = Field(
        description="disabled: no RPC node configured; pending: the first audit has not finished; "
        "ok: clean; findings: discrepancies (see findings); error: the audit could not run (see error)"
    )
    ok: bool | None = Field(description="the latest completed audit found nothing")
    started_at: Time | None = None
    finished_at: Time | None = None
    duration_seconds: float | None = None
    block: int | None = Field(None, description="the block audited at")
    head: Hash32 | None = Field(None, description="the head replayed from the chain's logs")
    length: int | None = Field(None, description="the number of entries replayed")
    onchain_head: Hash32 | None = None
    onchain_length: int | None = None
    onchain_match: bool | None = Field(None, description="head and length equal ledgerHead() and ledgerLength()")
    db_entries_compared: int | None = None
    solvency: list[SolvencyPublic] = []
    findings: list[FindingPublic] = []
    notes: list[str] = []
    error: str | None = None
    audits_run: int = 0


# --------------------------------------------------------------------------------- stats


class TokenStatsPublic(BaseModel):
    token: Address
    asset: Literal["ETH", "ERC20"]
    campaigns: int
    pledged: Amount = Field(description="net pledged over every campaign in this asset")
    raised: Amount = Field(description="pledged in successful campaigns (succeeded, claimed or in delivery)")
    average_raised: Amount | None = Field(description="raised per successful campaign (rounded down); null if none")
    claimed: Amount = Field(description="paid to creators (claims and tranche releases)")
    fees: Amount = Field(description="platform fees taken at claims and tranche releases")
    escrowed: Amount = Field(description="held for backers: unclaimed campaigns, the tranches of milestone campaigns "
                             "not released, and the refunds still owed after an abort")


class StatsPublic(BaseModel):
    as_of: Time | None = Field(description="the chain time of the indexed tip")
    indexed_block: int | None
    entries: int
    campaigns: int
    campaigns_by_state: dict[CampaignState, int]
    success_rate: float | None = Field(
        description="successful (succeeded + claimed + in_delivery) / ended (successful + failed + cancelled + "
        "aborted); null before any ended"
    )
    backers: int = Field(description="distinct addresses that ever pledged")
    positions: int = Field(description="(campaign, backer) pairs")
    tokens: list[TokenStatsPublic]


# --------------------------------------------------------------------------------- health


class HealthPublic(BaseModel):
    ok: bool
    database: bool = Field(description="the database answered")
    node: bool | None = Field(description="the JSON-RPC node answered; null when none is configured")
    node_block: int | None
    indexed_block: int | None
    final_block: int | None
    lag_blocks: int | None = Field(description="node tip - indexed block")
    entries: int
    follower: Literal["off", "running", "stopped", "failed"]
    follower_error: str | None
    audit: Literal["disabled", "pending", "ok", "findings", "error"]
    audit_ok: bool | None


# --------------------------------------------------------------------------------- verify


class EntryCheckPublic(BaseModel):
    seq: int
    kind: int
    kind_name: str
    campaign_id: int
    account: Address
    amount: Amount
    head: Hash32
    previous_head: Hash32 | None = Field(description="null when the database is not indexed that far")
    head_matches: bool | None = Field(description="the head follows from the previous head; null: unchecked")
    in_database: bool | None
    database_matches: bool | None


class BackerVoteCastPublic(BaseModel):
    tranche: int
    approve: bool
    weight: Amount
    seq: int


class BackerCampaignPublic(BaseModel):
    campaign_id: int
    token: Address
    status: PositionStatus
    pledged_total: Amount
    unpledged_total: Amount
    refunded_total: Amount
    balance: Amount = Field(description="still counted for the backer: escrowed, refundable or released")
    escrowed: Amount = Field(description="still held by the escrow (milestone campaigns: the share of the tranches not released)")
    refundable: Amount = Field(description="the backer can take back now (after an abort: the pro-rata refund)")
    released: Amount = Field(description="gone to the creator, fees included (milestone campaigns: the pro-rata share "
                             "of the tranches released)")
    pledge_of_onchain: Amount = Field(description="pledgeOf(campaign, backer) read from the contract")
    matches_chain: bool
    at_stake: Amount = Field(description="milestone campaigns: the backer's share of the tranche the open vote decides")
    lost_to_rounding: Amount = Field(
        description="after an abort: balance - released - refundable, the backer's part of the rounding dust"
    )
    votes: list[BackerVoteCastPublic]


class BackerVerificationPublic(BaseModel):
    backer: Address
    block: int = Field(description="the indexed block the positions and pledgeOf were read at")
    ok: bool = Field(description="every position matches pledgeOf on-chain")
    verdict: str
    campaigns: list[BackerCampaignPublic]


class TxVerificationPublic(BaseModel):
    tx_hash: Hash32
    status: Literal["success", "reverted", "pending", "not_found"]
    verdict: str = Field(description="the answer in one or two sentences")
    ok: bool
    block_number: int | None
    block_hash: Hash32 | None
    confirmations: int | None
    final: bool | None
    to: Address | None
    entries: list[EntryCheckPublic]
    problems: list[str]
