"""The demo's plan, before anything is sent: which campaigns (plain ones in every state and asset,
milestone ones in every phase, and the settled past: expired, stale-aborted, paid through a
credit), who backs what, the pledges and unpledges round by round, and each campaign's goal and
cap so that it ends where it should; and what each campaign says of itself (its metadata
document's summary and website). Pure: a seed gives the same plan.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from devnet.summary import DAY, DEMO_TOKEN_SYMBOL, STABLE_TOKEN_SYMBOL

ETH = "ETH"

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
    asset: str  # ETH, DEMO_TOKEN_SYMBOL or STABLE_TOKEN_SYMBOL
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
    # a campaign of the settled past (OUTCOME_PLAN): "expired", "stale" or "credit"
    outcome: str = ""

    @property
    def token(self) -> bool:
        """Whether it is a token campaign (pledges by allowance, not with ETH)."""
        return self.asset != ETH


# (title, asset, final state, keep-it-all, capped); every state in ETH and in the demo token, and
# a live and a claimed campaign in the 6-decimal token
FULL_PLAN = [
    ("Community garden beds", ETH, "Funding", False, False),
    ("Indie game soundtrack", DEMO_TOKEN_SYMBOL, "Funding", False, True),
    ("Open-source audit fund", ETH, "Succeeded", False, False),
    ("Podcast season two", DEMO_TOKEN_SYMBOL, "Succeeded", True, False),
    ("Rooftop solar panels", ETH, "Claimed", False, False),
    ("Board game reprint", DEMO_TOKEN_SYMBOL, "Claimed", False, True),
    ("Art zine issue #4", ETH, "Failed", False, False),
    ("Hackathon prize pool", DEMO_TOKEN_SYMBOL, "Failed", False, False),
    ("Robot kit for schools", ETH, "Cancelled", False, False),
    ("Film festival shorts", DEMO_TOKEN_SYMBOL, "Cancelled", False, False),
    ("Neighbourhood bakery oven", ETH, "Claimed", True, False),
    ("Community radio transmitter", ETH, "Funding", True, True),
    ("Solar lanterns for village schools", STABLE_TOKEN_SYMBOL, "Funding", False, False),
    ("Makerspace laser cutter", STABLE_TOKEN_SYMBOL, "Claimed", False, False),
]

# what a single funded key can do without time travel
KEY_PLAN = [
    ("Community garden beds", ETH, "Funding", False, False),
    ("Indie game soundtrack", DEMO_TOKEN_SYMBOL, "Funding", False, False),
    ("Robot kit for schools", ETH, "Cancelled", False, False),
    ("Film festival shorts", DEMO_TOKEN_SYMBOL, "Cancelled", False, False),
    ("Solar lanterns for village schools", STABLE_TOKEN_SYMBOL, "Funding", False, False),
]

# The settled past, created and ended before the demo's jump of half a year (CLAIM_WINDOW,
# MAX_SILENCE): (title, outcome, final state). "expired": met its goal, never claimed, past its
# deadline + CLAIM_WINDOW, half its backers refunded in full; "stale": a milestone campaign whose
# creator claimed tranche 0 and fell silent past MAX_SILENCE, aborted by abortStale (by a backer),
# half its backers refunded pro rata; "credit": the creator is a contract that refused the ETH of
# its claim, so it was credited, then withdrawn to the creator's other address.
OUTCOME_PLAN = [
    ("Lighthouse restoration fund", "expired", "Expired"),
    ("Mobile bicycle repair van", "stale", "Aborted"),
    ("Open seed library", "credit", "Claimed"),
]
STALE_TRANCHES = (3000, 3000, 4000)
OUTCOME_VOTING_PERIOD = 3 * DAY

# (title, asset, phase, tranche plan in bps, voting period, the reports of its release
# requests); without time travel only the "funding" ones
MILESTONE_PLAN: list[tuple[str, str, str, tuple[int, ...], int, tuple[str, ...]]] = [
    ("Open hardware weather station", DEMO_TOKEN_SYMBOL, "funding", (4000, 3000, 3000), 3 * DAY, ()),
    ("River keepers documentary", ETH, "succeeded", (3000, 7000), 3 * DAY, ()),
    (
        "Cargo bike trailer",
        ETH,
        "voting",
        (2000, 3000, 5000),
        3 * DAY,
        ("Milestone 1 report: prototype shipped",),
    ),
    (
        "Repair cafe tool library",
        DEMO_TOKEN_SYMBOL,
        "delivering",
        (2000, 3000, 5000),
        2 * DAY,
        ("Milestone 1 report: first 40 tools bought and tagged",),
    ),
    (
        "Community darkroom",
        ETH,
        "released",
        (2000, 3000, 5000),
        2 * DAY,
        ("Milestone 1 report: enlargers restored", "Milestone 2 report: darkroom open to members"),
    ),
    (
        "Field guide translation",
        DEMO_TOKEN_SYMBOL,
        "released",
        (5000, 5000),
        2 * DAY,
        ("Milestone 1 report: manuscript translated, proofs sent",),
    ),
    (
        "Smart beehive sensors",
        ETH,
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


def plan_campaigns(
    time_travel: bool, assets: tuple[str, ...] = (ETH, DEMO_TOKEN_SYMBOL, STABLE_TOKEN_SYMBOL)
) -> list[PlannedCampaign]:
    """Every live campaign the node allows in `assets`: all of them with time travel, else what
    one key can do."""
    plain = [PlannedCampaign(*row) for row in (FULL_PLAN if time_travel else KEY_PLAN) if row[1] in assets]
    milestones = [
        PlannedCampaign(
            title,
            asset,
            PHASE_STATES[phase],
            phase=phase,
            tranches=tranches,
            voting_period=period,
            reports=reports,
        )
        for title, asset, phase, tranches, period, reports in MILESTONE_PLAN
        if (time_travel or phase == "funding") and asset in assets
    ]
    return plain + milestones


def plan_outcomes() -> list[PlannedCampaign]:
    """The campaigns of the settled past (OUTCOME_PLAN), all in ETH."""
    return [
        PlannedCampaign(
            title,
            ETH,
            target,
            outcome=outcome,
            phase="aborted" if outcome == "stale" else "",
            tranches=STALE_TRANCHES if outcome == "stale" else (),
            voting_period=OUTCOME_VOTING_PERIOD if outcome == "stale" else 0,
        )
        for title, outcome, target in OUTCOME_PLAN
    ]


class Amounts:
    """Random pledge sizes: ETH pledges of 0.05-2.00 `eth_unit`, token pledges of 10-500 tokens
    (a token's unit is 10**decimals: `token_units` by symbol)."""

    def __init__(self, rng: random.Random, eth_unit: int, token_units: dict[str, int]) -> None:
        self.rng, self.eth_unit, self.token_units = rng, eth_unit, token_units

    def eth(self) -> int:
        return self.eth_unit * self.rng.randrange(5, 201) // 100

    def token(self, symbol: str = DEMO_TOKEN_SYMBOL) -> int:
        return self.token_units[symbol] * self.rng.randrange(10, 501)

    def of(self, campaign: PlannedCampaign) -> int:
        return self.token(campaign.asset) if campaign.token else self.eth()

    def unit(self, campaign: PlannedCampaign) -> int:
        return self.token_units[campaign.asset] if campaign.token else self.eth_unit


def pick_backers(campaign: PlannedCampaign, backers: int, rng: random.Random) -> list[int]:
    """A campaign's backers (indexes): about a third of all for a plain campaign; fewer for a
    milestone campaign or one of the settled past (each of theirs votes or refunds: seeding stays
    quick)."""
    few = bool(campaign.phase or campaign.outcome)
    count = min(backers, max(3, round(backers * (0.08 if few else 0.35))))
    return sorted(rng.sample(range(backers), count))


# a pledge or an unpledge: (round, campaign index, backer index, amount)
Move = tuple[int, int, int, int]


def plan_pledges(
    campaigns: list[PlannedCampaign], backers: int, rng: random.Random, amounts: Amounts
) -> tuple[list[Move], list[Move]]:
    """Who backs what, and the (pledges, unpledges) round by round; sets each campaign's backers,
    stakes, goal, cap and deadline length so that it ends in its target state."""
    # every campaign gets several backers; a backer may back several campaigns. Milestone
    # campaigns get fewer: each of their backers also votes, and seeding stays quick.
    for campaign in campaigns:
        campaign.backers = pick_backers(campaign, backers, rng)

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
