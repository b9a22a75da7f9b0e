"""The demo's plan, before anything is sent: which campaigns (plain ones in every state, milestone
ones in every phase), who backs what, the pledges and unpledges round by round, and each
campaign's goal and cap so that it ends where it should. Pure: a seed gives the same plan.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from devnet.summary import DAY

PHASE_STATES = {
    "funding": "Funding",
    "succeeded": "Succeeded",
    "voting": "InDelivery",
    "delivering": "InDelivery",
    "released": "Claimed",
    "aborted": "Aborted",
}
ROUNDS = 6  # pledging rounds, spread over the simulated time
CANCEL_ROUND = ROUNDS // 2  # cancelled campaigns are cancelled at the end of round 2


@dataclass
class PlannedCampaign:
    title: str
    token: bool
    target: str  # the state it should end in
    keep_it_all: bool = False
    capped: bool = False
    long: bool = False  # deadline beyond the simulated time: stays Funding
    id: int = 0
    goal: int = 0
    cap: int = 0
    backers: list[int] = field(default_factory=list)
    creator: Any = None  # the Sender that created it
    # a milestone campaign: the phase it should end in, its tranche plan (bps), how long a vote
    # lasts, and the progress report of each release request (the last one of a "voting"
    # campaign stays open; the one of an "aborted" campaign is rejected)
    phase: str = ""
    tranches: tuple[int, ...] = ()
    voting_period: int = 0
    reports: tuple[str, ...] = ()
    stakes: dict[int, int] = field(default_factory=dict)  # backer index: net pledge, its vote's weight
    requested: int = 0  # release requests sent so far


# (title, token campaign?, final state, keep-it-all, capped); every state in ETH and in the token
FULL_PLAN = [
    ("Community garden beds", False, "Funding", False, False),
    ("Indie game soundtrack", True, "Funding", False, True),
    ("Open-source audit fund", False, "Succeeded", False, False),
    ("Podcast season two", True, "Succeeded", True, False),
    ("Rooftop solar panels", False, "Claimed", False, False),
    ("Board game reprint", True, "Claimed", False, True),
    ("Art zine issue #4", False, "Failed", False, False),
    ("Hackathon prize pool", True, "Failed", False, False),
    ("Robot kit for schools", False, "Cancelled", False, False),
    ("Film festival shorts", True, "Cancelled", False, False),
    ("Neighbourhood bakery oven", False, "Claimed", True, False),
    ("Community radio transmitter", False, "Funding", True, True),
]

# what a single funded key can do without time travel
KEY_PLAN = [
    ("Community garden beds", False, "Funding", False, False),
    ("Indie game soundtrack", True, "Funding", False, False),
    ("Robot kit for schools", False, "Cancelled", False, False),
    ("Film festival shorts", True, "Cancelled", False, False),
]

# (title, token campaign?, phase, tranche plan in bps, voting period, the reports of its release
# requests); without time travel only the "funding" ones
MILESTONE_PLAN: list[tuple[str, bool, str, tuple[int, ...], int, tuple[str, ...]]] = [
    ("Open hardware weather station", True, "funding", (4000, 3000, 3000), 3 * DAY, ()),
    ("River keepers documentary", False, "succeeded", (3000, 7000), 3 * DAY, ()),
    (
        "Cargo bike trailer",
        False,
        "voting",
        (2000, 3000, 5000),
        3 * DAY,
        ("Milestone 1 report: prototype shipped",),
    ),
    (
        "Repair cafe tool library",
        True,
        "delivering",
        (2000, 3000, 5000),
        2 * DAY,
        ("Milestone 1 report: first 40 tools bought and tagged",),
    ),
    (
        "Community darkroom",
        False,
        "released",
        (2000, 3000, 5000),
        2 * DAY,
        ("Milestone 1 report: enlargers restored", "Milestone 2 report: darkroom open to members"),
    ),
    (
        "Field guide translation",
        True,
        "released",
        (5000, 5000),
        2 * DAY,
        ("Milestone 1 report: manuscript translated, proofs sent",),
    ),
    (
        "Smart beehive sensors",
        False,
        "aborted",
        (2500, 2500, 5000),
        2 * DAY,
        ("Milestone 1 report: sensors delayed, supplier changed",),
    ),
]

# (campaign title, document) published by the creator at the end, when the campaign is seeded
DISCLOSURES = [
    ("Community garden beds", "Delay notice: the soil delivery moves to next month"),
    ("Rooftop solar panels", "Spending report: 24 panels and two inverters, invoices attached"),
    ("Open hardware weather station", "Design update: the enclosure moves to recycled plastic"),
    ("Repair cafe tool library", "Spending report: tranche 1 spent on tools, inventory attached"),
]


def plan_campaigns(time_travel: bool) -> list[PlannedCampaign]:
    """Every campaign the node allows: all of them with time travel, else what one key can do."""
    plain = [PlannedCampaign(*row) for row in (FULL_PLAN if time_travel else KEY_PLAN)]
    milestones = [
        PlannedCampaign(
            title,
            token,
            PHASE_STATES[phase],
            phase=phase,
            tranches=tranches,
            voting_period=period,
            reports=reports,
        )
        for title, token, phase, tranches, period, reports in MILESTONE_PLAN
        if time_travel or phase == "funding"
    ]
    return plain + milestones


class Amounts:
    """Random pledge sizes: ETH pledges of 0.05-2.00 `eth_unit`, token pledges of 10-500 tokens."""

    def __init__(self, rng: random.Random, eth_unit: int, token_unit: int) -> None:
        self.rng, self.eth_unit, self.token_unit = rng, eth_unit, token_unit

    def eth(self) -> int:
        return self.eth_unit * self.rng.randrange(5, 201) // 100

    def token(self) -> int:
        return self.token_unit * self.rng.randrange(10, 501)

    def of(self, campaign: PlannedCampaign) -> int:
        return self.token() if campaign.token else self.eth()

    def unit(self, campaign: PlannedCampaign) -> int:
        return self.token_unit if campaign.token else self.eth_unit


# a pledge or an unpledge: (round, campaign index, backer index, amount)
Move = tuple[int, int, int, int]


def plan_pledges(
    campaigns: list[PlannedCampaign], backers: int, rng: random.Random, amounts: Amounts
) -> tuple[list[Move], list[Move]]:
    """Who backs what, and the (pledges, unpledges) round by round; sets each campaign's backers,
    stakes, goal, cap and deadline length so that it ends in its target state."""
    # every campaign gets several backers; a backer may back several campaigns. Milestone
    # campaigns get fewer: each of their backers also votes, and seeding stays quick.
    per_campaign = min(backers, max(3, round(backers * 0.35)))
    per_milestone = min(backers, max(3, round(backers * 0.08)))
    for campaign in campaigns:
        campaign.backers = sorted(
            rng.sample(range(backers), per_milestone if campaign.phase else per_campaign)
        )

    pledges: list[Move] = []
    unpledges: list[Move] = []
    net: dict[int, int] = {}
    for ci, campaign in enumerate(campaigns):
        last_round = CANCEL_ROUND - 1 if campaign.target == "Cancelled" else ROUNDS - 1
        for bi in campaign.backers:
            amount = amounts.of(campaign)
            first = rng.randrange(0, max(1, last_round))
            pledges.append((first, ci, bi, amount))
            total = amount
            if rng.random() < 0.25 and first + 1 <= last_round:  # a repeat pledge later on
                more = amounts.of(campaign)
                pledges.append((rng.randrange(first + 1, last_round + 1), ci, bi, more))
                total += more
            # some take part of it back in the next round (before any cancel, and long before
            # the unpledge lock window); at least one backer does
            if (rng.random() < 0.2 or not unpledges) and first + 1 <= min(last_round, ROUNDS // 2):
                back = amount // 2
                unpledges.append((first + 1, ci, bi, back))
                total -= back
            net[ci] = net.get(ci, 0) + total
            campaign.stakes[bi] = total

    for ci, campaign in enumerate(campaigns):
        raised = net.get(ci, 0)
        unit = amounts.unit(campaign)
        if campaign.target not in ("Funding", "Failed", "Cancelled") and not campaign.keep_it_all:
            cents = max(1, unit // 100)
            campaign.goal = max(1, raised * 4 // 5 // cents * cents)  # met, with room to spare
        else:  # not met: Funding, Failed, Cancelled, and keep-it-all (which succeeds anyway)
            campaign.goal = (raised * 3 // 2 // unit + 1) * unit
        if campaign.capped:
            largest = max((a for _, c, _, a in pledges if c == ci), default=unit)
            campaign.cap = max(4 * largest, 2_000 * unit)  # generous: no pledge here reaches it
        campaign.long = campaign.target == "Funding"
    return pledges, unpledges
