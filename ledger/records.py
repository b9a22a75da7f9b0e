"""Plain typed records: ledger entries as decoded from the chain, and the projections built from
them (campaigns, backer positions, fee accounts). No I/O here.

Amounts are Python ints (uint256, exact). Addresses are lowercase 0x-hex (checksummed only when
shown to people); hashes are lowercase 0x-hex of 32 bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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


class State(IntEnum):
    """campaignState() values."""

    FUNDING = 0
    SUCCEEDED = 1
    FAILED = 2
    CANCELLED = 3
    CLAIMED = 4


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
    terms: CampaignTerms | None = None  # kind 1 only

    @property
    def fee(self) -> int:
        """The fee of a Claimed entry (its detail)."""
        return int(self.detail, 16) if self.kind == Kind.CLAIMED else 0

    @property
    def token(self) -> str:
        """The token of a FeesWithdrawn entry (its detail); ETH is the zero address."""
        return "0x" + self.detail[-40:]


@dataclass(slots=True)
class Campaign:
    """A campaign as the ledger shows it. `pledged` is the net total (pledges - unpledges), as
    the contract's getCampaign().pledged; refunds empty positions but do not lower it."""

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

    def state_at(self, timestamp: int) -> State:
        """campaignState() as of a block with this timestamp."""
        if self.cancelled:
            return State.CANCELLED
        if self.claimed:
            return State.CLAIMED
        if timestamp < self.deadline:
            return State.FUNDING
        if self.keep_it_all or self.pledged >= self.goal:
            return State.SUCCEEDED
        return State.FAILED

    @property
    def escrowed(self) -> int:
        """What the escrow still holds for this campaign's backers (0 once claimed)."""
        return 0 if self.claimed else self.pledged - self.refunded_total


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
class Projections:
    """Campaigns, positions and fee accounts keyed for updates."""

    campaigns: dict[int, Campaign] = field(default_factory=dict)
    positions: dict[tuple[int, str], Position] = field(default_factory=dict)
    fees: dict[str, FeeAccount] = field(default_factory=dict)
