"""Plain typed records: ledger entries as decoded from the chain, the projections built from
them (campaigns, backer positions, fee accounts, credits, milestone progress). What the chain and
the public add beside the ledger (token metadata, documents) is in ledger.core.metadata. No I/O here.

Amounts are Python ints (uint256, exact). Addresses are lowercase 0x-hex (checksummed only when
shown to people); hashes are lowercase 0x-hex of 32 bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import IntEnum
from typing import NamedTuple

ETH = "0x0000000000000000000000000000000000000000"


class Kind(IntEnum):
    """Ledger entry kinds (docs/ledger-format.md)."""

    CAMPAIGN_CREATED = 1
    PLEDGED = 2
    UNPLEDGED = 3
    CANCELLED = 4
    CLAIMED = 5
    REFUNDED = 6
    FEES_WITHDRAWN = 7
    MILESTONE_PLAN = 8
    RELEASE_REQUESTED = 9
    VOTED = 10
    TRANCHE_RELEASED = 11
    ABORTED = 12
    DISCLOSED = 13
    PAYOUT_DEFERRED = 14  # a kind-5/11 payout the creator could not receive, credited instead
    OWED_WITHDRAWN = 15  # a credit paid out (campaign 0)
    STALE_ABORTED = 16  # a milestone campaign whose creator fell silent, aborted by anyone


class State(IntEnum):
    """campaignState() values."""

    FUNDING = 0
    SUCCEEDED = 1
    FAILED = 2
    CANCELLED = 3
    CLAIMED = 4  # a milestone campaign: every tranche released
    IN_DELIVERY = 5  # a milestone campaign: tranche 0 claimed, later tranches still pending
    ABORTED = (
        6  # a milestone campaign: a release vote failed, or the creator fell silent; backers refund pro rata
    )
    EXPIRED = 7  # succeeded but unclaimed when the claim window closed: backers refund in full


# CrowdfundEscrow.CLAIM_WINDOW: a campaign that succeeded and is still unclaimed once
# block.timestamp > deadline + CLAIM_WINDOW is Expired (for a milestone campaign: tranche 0 unclaimed)
CLAIM_WINDOW = 180 * 86400

# Campaign.abort_cause
FAILED_VOTE = "failed_vote"  # kind 12: a release vote failed
SILENCE = "silence"  # kind 16: the creator fell silent for more than MAX_SILENCE


@dataclass(frozen=True, slots=True)
class CampaignTerms:
    """What a kind-1 entry commits to besides the goal."""

    token: str
    goal: int
    deadline: int
    max_per_backer: int
    keep_it_all: bool
    fee_bps: int
    metadata_hash: str


@dataclass(frozen=True, slots=True)
class MilestonePlanTerms:
    """What a kind-8 entry commits to: its detail is keccak256(abi.encode(uint16[] trancheBps,
    uint64 votingPeriod)) and its amount the number of tranches."""

    tranche_bps: tuple[int, ...]
    voting_period: int


@dataclass(frozen=True, slots=True)
class TrancheTerms:
    """What a kind-11 entry commits to besides the amount paid: its detail is
    keccak256(abi.encode(uint256 tranche, uint256 fee))."""

    tranche: int
    fee: int


# The `terms` of a LedgerEntry: CampaignTerms on kind 1, MilestonePlanTerms on kind 8,
# TrancheTerms on kind 11, None on every other kind. They are what the event carries beyond the
# seven chained fields, kept so exports and offline replays can check the detail hash.
EntryTerms = CampaignTerms | MilestonePlanTerms | TrancheTerms


class LedgerEntry(NamedTuple):
    """One ledger entry with where it sits on the chain. A NamedTuple, not a frozen dataclass:
    as immutable, and several times cheaper to build on the replay and indexing hot paths."""

    seq: int
    kind: int
    campaign_id: int
    account: str
    amount: int
    detail: str
    head: str
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    block_timestamp: int | None = None
    terms: EntryTerms | None = None  # kinds 1, 8 and 11 only (see EntryTerms)

    @property
    def fee(self) -> int:
        """The fee of a Claimed entry (its detail) or of a TrancheReleased entry (its terms)."""
        if self.kind == Kind.CLAIMED:
            return int(self.detail, 16)
        if self.kind == Kind.TRANCHE_RELEASED and isinstance(self.terms, TrancheTerms):
            return self.terms.fee
        return 0

    @property
    def token(self) -> str:
        """The token of a FeesWithdrawn, PayoutDeferred or OwedWithdrawn entry (its detail); ETH is
        the zero address."""
        return "0x" + self.detail[-40:]


@dataclass(slots=True)
class Campaign:
    """A campaign as the ledger shows it. `pledged` is the net total (pledges - unpledges), as
    the contract's getCampaign().pledged; refunds empty positions but do not lower it.
    `backer_count` counts every address that ever pledged (it never decreases); `holders` the
    positions with a balance now. `abort_cause` says why an aborted campaign was aborted:
    FAILED_VOTE (kind 12) or SILENCE (kind 16)."""

    campaign_id: int
    creator: str
    token: str
    goal: int
    deadline: int
    max_per_backer: int
    keep_it_all: bool
    fee_bps: int
    metadata_hash: str
    created_seq: int
    created_block: int
    created_timestamp: int | None
    pledged: int = 0
    backer_count: int = 0
    cancelled: bool = False
    claimed: bool = False
    claimed_amount: int = 0
    claim_fee: int = 0
    refunded_total: int = 0
    last_seq: int = 0
    # milestone campaigns (kind 8 onwards); a plain campaign keeps these defaults. For a milestone
    # campaign `claimed` turns true with its last tranche (as getCampaign().claimed), and
    # `claimed_amount`/`claim_fee` add up every tranche paid so far (tranche 0 by claim, the
    # others by release), so claimed_amount + claim_fee is the gross released.
    milestone: bool = False
    tranche_count: int = 0
    tranches_released: int = 0
    aborted: bool = False
    abort_cause: str | None = None
    holders: int = 0

    def state_at(self, timestamp: int) -> State:
        """campaignState() as of a block with this timestamp."""
        if self.cancelled:
            return State.CANCELLED
        if self.claimed:
            return State.CLAIMED
        if timestamp < self.deadline:
            return State.FUNDING
        if self.keep_it_all or self.pledged >= self.goal:
            if self.aborted:
                return State.ABORTED
            if self.tranches_released:
                return State.IN_DELIVERY
            if timestamp > self.deadline + CLAIM_WINDOW:
                return State.EXPIRED
            return State.SUCCEEDED
        return State.FAILED

    @property
    def released_gross(self) -> int:
        """What left the escrow towards the creator, fees included (the whole total once a plain
        campaign is claimed; the tranches released so far for a milestone campaign)."""
        return self.claimed_amount + self.claim_fee

    @property
    def escrowed(self) -> int:
        """What the escrow still holds for this campaign (0 once claimed): the positions, or for a
        milestone campaign the tranches not released yet. For an aborted campaign this is what it
        held at the abort minus the refunds paid since, so it still includes the rounding dust
        (see Milestones.dust), until the last refund moves that dust to the fees: then 0."""
        if self.claimed or (self.aborted and not self.holders):
            return 0
        return self.pledged - self.claimed_amount - self.claim_fee - self.refunded_total


@dataclass(slots=True)
class Position:
    """One backer's position in one campaign. `balance` equals the contract's pledgeOf()."""

    campaign_id: int
    backer: str
    balance: int = 0
    pledged_total: int = 0
    unpledged_total: int = 0
    refunded_total: int = 0
    first_seq: int = 0
    last_seq: int = 0
    voted_tranche: int = 0  # milestone campaigns: the last tranche this backer voted on (0: none)


ZERO_HASH = "0x" + "0" * 64


@dataclass(slots=True)
class Milestones:
    """A milestone campaign's plan and progress, as getMilestones() reports it. Tranches are
    indexed from 0: tranche 0 is paid by claim (kind 5), tranche k >= 1 by a release (kind 11)
    after a vote the creator requested (kind 9). Amounts are in the campaign's asset.

    `vote_*`, `report_hash`, `approve_weight` and `reject_weight` describe the open or the last
    release request (0 and the zero hash before the first). `vote_end` is the request's block
    timestamp plus the voting period (votes count while block.timestamp < vote_end); None when the
    request's block timestamp was not known to whoever replayed it.
    After an abort, backers refund floor(pledge x abort_remaining / total); `dust` is what those
    refunds leave over, known (and moved to the fees) once `unrefunded_weight` reaches 0."""

    campaign_id: int
    tranche_bps: tuple[int, ...]
    voting_period: int
    plan_seq: int
    tranches_released: int = 0  # also the index of the next tranche
    released_gross: int = 0  # getMilestones().releasedAmount: fees included
    released_paid: int = 0  # what the creator received
    released_fees: int = 0
    vote_pending: bool = False
    vote_tranche: int = 0
    report_hash: str = ZERO_HASH
    request_seq: int = 0
    requested_at: int | None = None
    vote_end: int | None = 0
    approve_weight: int = 0
    reject_weight: int = 0
    voters: int = 0
    aborted: bool = False
    abort_remaining: int = 0
    refunded: int = 0  # paid back to backers since the abort
    unrefunded_weight: int = 0  # the pledges of backers yet to refund since the abort
    dust: int = 0
    last_seq: int = 0
    claimed_at: int | None = None  # the block time of the claim of tranche 0 (kind 5), if known

    @property
    def tranche_count(self) -> int:
        return len(self.tranche_bps)

    def tranche_gross(self, tranche: int, total: int) -> int:
        """The gross amount of `tranche` for a campaign total of `total`, the earlier tranches
        having been released: floor(total x bps / 10000), the last tranche the rest."""
        if tranche == len(self.tranche_bps) - 1:
            return total - self.released_gross
        return total * self.tranche_bps[tranche] // 10_000

    def vote_passes(self, total: int) -> bool:
        """Whether the open (or last) vote's tallies release the tranche: more approving than
        rejecting weight, and at least a fifth of the total voted."""
        return (
            self.approve_weight > self.reject_weight
            and (self.approve_weight + self.reject_weight) * 5 >= total
        )

    def refund_of(self, pledge: int, total: int) -> int:
        """What a backer with `pledge` gets back after the abort."""
        return pledge * self.abort_remaining // total if total else 0


@dataclass(slots=True)
class TrancheRelease:
    """A tranche paid to the creator: tranche 0 by claim (kind 5, no vote: `report_hash` None),
    the others by release (kind 11) with the request's report and final tallies."""

    campaign_id: int
    tranche: int
    seq: int
    gross: int
    amount: int
    fee: int
    report_hash: str | None
    approve_weight: int
    reject_weight: int
    block_number: int
    block_timestamp: int | None


@dataclass(slots=True)
class Vote:
    """One backer's vote (kind 10) on the release of one tranche."""

    campaign_id: int
    tranche: int
    backer: str
    seq: int
    weight: int
    approve: bool
    block_number: int
    block_timestamp: int | None


@dataclass(slots=True)
class Disclosure:
    """A document a creator published on the ledger (kind 13), by its hash."""

    seq: int
    campaign_id: int
    creator: str
    document_hash: str
    block_number: int
    block_timestamp: int | None
    tx_hash: str


@dataclass(slots=True)
class FeeAccount:
    """Platform fees in one asset: accrued by claims, paid out by withdrawals."""

    token: str
    accrued_total: int = 0
    withdrawn_total: int = 0

    @property
    def outstanding(self) -> int:
        return self.accrued_total - self.withdrawn_total


@dataclass(slots=True)
class Credit:
    """A payout the escrow could not make, credited instead (kind 14), and what was withdrawn of
    it since (kind 15): `owed` is what the contract's owed(account, token) shows."""

    account: str
    token: str
    credited_total: int = 0
    withdrawn_total: int = 0

    @property
    def owed(self) -> int:
        return self.credited_total - self.withdrawn_total


class Payout(NamedTuple):
    """The last kind-5 or kind-11 entry folded: a kind-14 entry must follow it directly."""

    seq: int
    campaign_id: int
    account: str
    amount: int


@dataclass(slots=True)
class Projections:
    """Campaigns, positions, fee accounts and credits keyed for updates, with the milestone
    projections: milestones by campaign, tranche releases by (campaign, tranche), votes by
    (campaign, tranche, backer) and disclosures by seq. The last three only ever gain records.
    `last_payout` is the last kind-5/11 entry folded (not stored: its kind-14 entry, if any, is in
    the same transaction and so in the same batch)."""

    campaigns: dict[int, Campaign] = field(default_factory=dict)
    positions: dict[tuple[int, str], Position] = field(default_factory=dict)
    fees: dict[str, FeeAccount] = field(default_factory=dict)
    credits: dict[tuple[str, str], Credit] = field(default_factory=dict)
    milestones: dict[int, Milestones] = field(default_factory=dict)
    tranches: dict[tuple[int, int], TrancheRelease] = field(default_factory=dict)
    votes: dict[tuple[int, int, str], Vote] = field(default_factory=dict)
    disclosures: dict[int, Disclosure] = field(default_factory=dict)
    last_payout: Payout | None = None
    # a cache that holds every row the database has (one backfill into an empty database): a
    # record missing here is a new one, with no need to look for it in the database
    complete: bool = False

    def clear(self) -> None:
        """Forget every record (e.g. a cache whose records may hold an uncommitted batch); the
        database may then hold rows that are not here."""
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, dict):
                value.clear()
        self.last_payout = None
        self.complete = False
