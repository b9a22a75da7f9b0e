"""Milestone campaigns while seeding: the creators' release requests with their reports, the
backers' votes, time past the votes' end, then the releases (a tranche paid, or the campaign
aborted and partly refunded). `read_milestones` reads where a campaign stands on-chain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from devnet.deploy import Sender
from devnet.plan import PlannedCampaign
from devnet.seeder import Seeder
from ledger.core.hashing import keccak256


def _plain_report(title: str) -> bytes:
    """A report's hash when no documents are kept: the keccak256 of its title alone."""
    return keccak256(title.encode())


# getMilestones() as web3 decodes it: a tuple in ICrowdfundEscrow.Milestones order
MILESTONE_FIELDS = (
    "trancheBps",
    "votingPeriod",
    "tranchesReleased",
    "releasedAmount",
    "nextTrancheAmount",
    "votePending",
    "voteTranche",
    "reportHash",
    "voteEnd",
    "approveWeight",
    "rejectWeight",
    "aborted",
    "abortRemaining",
    "refunded",
    "unrefundedWeight",
    "dust",
)


def read_milestones(escrow: Any, campaign_id: int) -> dict[str, Any]:
    """getMilestones(campaign_id) by field name; `escrow` is the contract's `functions`."""
    return dict(zip(MILESTONE_FIELDS, escrow.getMilestones(campaign_id).call()))


def _decided(campaign: PlannedCampaign) -> int:
    """How many of a campaign's release requests are decided while seeding (a "voting"
    campaign's last one stays open)."""
    return len(campaign.reports) - (campaign.phase == "voting")


def decide_releases(
    seeder: Seeder,
    escrow: Any,
    campaigns: list[PlannedCampaign],
    people: list[Sender],
    counts: dict[str, int],
    report: Callable[[str], bytes] = _plain_report,
) -> None:
    """Round after round, the creators report, the backers vote, time passes the votes' end,
    and the seeder releases: the tranche is paid, or the campaign aborted. Then about half of
    each aborted campaign's backers take their pro-rata refund. `report(title)` is the hash of the
    report document titled so (devnet.documents)."""
    for rnd in range(max(map(_decided, campaigns), default=0)):
        due = [c for c in campaigns if rnd < _decided(c)]
        request_and_vote(seeder, escrow, due, people, counts, report)
        seeder.travel(max(c.voting_period for c in due))
        for campaign in due:
            seeder.send(seeder.sender, escrow.release(campaign.id))
            counts["aborts" if _ballot_outcome(campaign, rnd) == "reject" else "releases"] += 1
        seeder.mine_pending()
    for campaign in (c for c in campaigns if c.phase == "aborted"):
        for bi in campaign.backers[: len(campaign.backers) // 2]:
            seeder.send(people[bi], escrow.refund(campaign.id))
            counts["refunds"] += 1
    seeder.mine_pending()


def request_and_vote(
    seeder: Seeder,
    escrow: Any,
    campaigns: list[PlannedCampaign],
    people: list[Sender],
    counts: dict[str, int],
    report: Callable[[str], bytes] = _plain_report,
) -> None:
    """Each campaign's creator requests its next release with the next report; its backers vote."""
    for campaign in campaigns:
        report_hash = report(campaign.reports[campaign.requested])
        seeder.send(campaign.creator, escrow.requestRelease(campaign.id, report_hash))
        campaign.requested += 1
        counts["release_requests"] += 1
    seeder.mine_pending()
    for campaign in campaigns:
        for bi, approve in _ballots(campaign, _ballot_outcome(campaign, campaign.requested - 1)):
            seeder.send(people[bi], escrow.vote(campaign.id, approve))
            counts["votes"] += 1
    seeder.mine_pending()


def _ballot_outcome(campaign: PlannedCampaign, rnd: int) -> str:
    if rnd < len(campaign.reports) - 1:
        return "pass"
    return {"voting": "open", "aborted": "reject"}.get(campaign.phase, "pass")


def _ballots(campaign: PlannedCampaign, outcome: str) -> list[tuple[int, bool]]:
    """Who votes how, as (backer index, approve). "pass": the heaviest three quarters vote, all
    approving but the lightest of them (with three voters or more); "reject": the heavier half
    rejects, the rest approve; "open": the first backers have voted so far, both ways."""
    if outcome == "open":
        return [
            (bi, i % 3 != 1)
            for i, bi in enumerate(campaign.backers[: max(2, len(campaign.backers) * 3 // 5)])
        ]
    ranked = sorted(campaign.backers, key=lambda bi: (-campaign.stakes[bi], bi))
    if outcome == "reject":
        half = (len(ranked) + 1) // 2
        return [(bi, i >= half) for i, bi in enumerate(ranked)]
    voters = ranked[: max(3, (3 * len(ranked) + 3) // 4)]
    return [(bi, i < len(voters) - 1 or len(voters) < 3) for i, bi in enumerate(voters)]
