"""What a seeding did, as the chain tells it afterwards: the campaigns by state, the milestone
campaigns by phase with a line on where each stands, and the counts of what was sent.

    print(summary.describe())       # for people
    print(summary.to_json())        # for scripts (`python -m scripts.seed --json`)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

# campaignState() by index
STATE_NAMES = ("Funding", "Succeeded", "Failed", "Cancelled", "Claimed", "InDelivery", "Aborted", "Expired")
# where a milestone campaign stands, read from campaignState() and getMilestones(); "voting" and
# "delivering" are both InDelivery, with and without a vote open
MILESTONE_PHASES = ("funding", "succeeded", "voting", "delivering", "released", "aborted")
DAY = 86_400
DEMO_TOKEN_SYMBOL = "DUSD"  # contracts/demo/DemoToken.sol: 18 decimals
STABLE_TOKEN_SYMBOL = "tUSDC"  # contracts/demo/DemoStablecoin.sol: 6 decimals, as USDC
ETHER = 10**18


@dataclass
class SeedSummary:
    """What seed_demo did. `campaigns` maps each state name to the ids in it, and `milestones`
    each milestone phase to the milestone campaigns in it, as read on-chain; `details` says
    where each milestone campaign stands."""

    escrow: str
    token: str
    token_deployed: bool
    mode: str
    campaigns: dict[str, list[int]]
    titles: dict[int, str]
    backers: int
    pledges: int = 0
    unpledges: int = 0
    cancels: int = 0
    claims: int = 0
    refunds: int = 0
    fee_withdrawals: int = 0
    release_requests: int = 0
    votes: int = 0
    releases: int = 0
    aborts: int = 0  # by a failed vote (kind 12)
    stale_aborts: int = 0  # for the creator's silence (abortStale, kind 16)
    disclosures: int = 0
    credits: int = 0
    credit_withdrawals: int = 0
    transactions: int = 0
    first_block: int = 0
    last_block: int = 0
    simulated_seconds: int = 0
    milestones: dict[str, list[int]] = field(default_factory=dict)
    details: dict[int, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)  # symbol: address of every demo token
    tokens_deployed: list[str] = field(default_factory=list)  # the symbols seed_demo deployed
    outcomes: dict[str, int] = field(default_factory=dict)  # the settled past: outcome: campaign id
    # the documents the ledger commits to, (0x-hash, bytes) in the order to publish them
    documents: list[tuple[str, bytes]] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["titles"] = {str(k): v for k, v in self.titles.items()}
        data["details"] = {str(k): v for k, v in self.details.items()}
        data["documents"] = [digest for digest, _ in self.documents]
        return data

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)

    def describe(self) -> str:
        def named(ids: list[int]) -> str:
            return ", ".join(f"#{i} {self.titles.get(i, '')}".strip() for i in ids) or "-"

        lines = [f"Seeded {sum(len(v) for v in self.campaigns.values())} campaigns ({self.mode}):"]
        for state in STATE_NAMES:
            ids = self.campaigns.get(state, [])
            lines.append(f"  {state:<10} {len(ids):>2}  {named(ids)}")
        if any(self.milestones.values()):
            lines.append("  milestone campaigns, by phase:")
            for phase in MILESTONE_PHASES:
                for i in self.milestones.get(phase, []):
                    lines.append(f"    {phase:<10} {named([i])}: {self.details.get(i, '')}")
        lines.append(
            f"  {self.backers} backers, {self.pledges} pledges, {self.unpledges} unpledges, {self.cancels} cancels, "
            f"{self.claims} claims, {self.refunds} refunds, {self.fee_withdrawals} fee withdrawals; "
            f"{self.release_requests} release requests, {self.votes} votes, {self.releases} tranche releases, "
            f"{self.aborts} aborts, {self.stale_aborts} stale aborts, {self.disclosures} disclosures, "
            f"{self.credits} credited payouts "
            f"({self.credit_withdrawals} withdrawn); {len(self.documents)} documents; "
            f"{self.transactions} transactions in blocks {self.first_block}-{self.last_block}"
        )
        if self.simulated_seconds:
            lines.append(f"  simulated time: {self.simulated_seconds / DAY:.1f} days")
        for item in self.skipped:
            lines.append(f"  skipped: {item}")
        return "\n".join(lines)


def milestone_status(
    state: str, m: dict[str, Any], now: int, symbol: str, *, decimals: int = 18, stale: bool = False
) -> tuple[str, str]:
    """(phase, what to say of it) of a milestone campaign in `state` with getMilestones() `m`
    (devnet.milestones.read_milestones), at chain time `now`; `stale` when it was aborted for
    its creator's silence (abortStale) rather than by a vote."""
    count = len(m["trancheBps"])

    def amount(units: int) -> str:
        return f"{units / 10**decimals:.2f} {symbol}"

    tally = f"{amount(m['approveWeight'])} approve, {amount(m['rejectWeight'])} reject"
    if state == "Funding":
        split = "/".join(f"{bps / 100:g}" for bps in m["trancheBps"])
        return "funding", f"{count} tranches ({split} %), each vote lasts {m['votingPeriod'] / DAY:g} days"
    if state == "Succeeded":
        return "succeeded", f"goal met; tranche 0 of {count} not claimed yet"
    if state == "InDelivery" and m["votePending"] and now < m["voteEnd"]:
        days = (m["voteEnd"] - now) / DAY
        return (
            "voting",
            f"vote on tranche {m['voteTranche']} of {count} open for {days:.1f} more days: {tally}",
        )
    if state == "InDelivery":
        released = amount(m["releasedAmount"])
        return (
            "delivering",
            f"{m['tranchesReleased']} of {count} tranches released ({released}), no vote open",
        )
    if state == "Claimed":
        both = "both" if count == 2 else f"all {count}"
        return "released", f"{both} tranches released ({amount(m['releasedAmount'])})"
    if state == "Aborted":
        refunded = f"{amount(m['refunded'])} of {amount(m['abortRemaining'])} refunded pro rata"
        if stale:
            released = f"{m['tranchesReleased']} of {count} tranches released"
            return "aborted", f"creator silent: aborted by abortStale after {released}; {refunded}"
        return "aborted", f"vote on tranche {m['voteTranche']} rejected ({tally}); {refunded}"
    return state.lower(), state
