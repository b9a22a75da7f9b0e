"""One seeding of the demo, step by step (devnet.seed.seed_demo runs it): accounts, the settled
past and the jump, the plan, the token allowances, the campaigns, the pledging rounds, the
settlement, the milestone votes and releases, today's activity and the disclosures; then what the
chain says of it all (a SeedSummary)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from web3.logs import DISCARD

from devnet.deploy import Sender, TransactionFailed
from devnet.documents import DemoDocuments, campaign_terms
from devnet.milestones import decide_releases, read_milestones, request_and_vote
from devnet.outcomes import SettledPast
from devnet.plan import (
    CANCEL_ROUND,
    DISCLOSURES,
    ETH,
    ROUNDS,
    Amounts,
    Move,
    PlannedCampaign,
    plan_campaigns,
    plan_outcomes,
    plan_pledges,
)
from devnet.seeder import Capabilities, Seeder
from devnet.summary import (
    DAY,
    DEMO_TOKEN_SYMBOL,
    ETHER,
    MILESTONE_PHASES,
    STATE_NAMES,
    SeedSummary,
    milestone_status,
)
from ledger.chain.deployment import Deployment

ZERO_ADDRESS = "0x" + "00" * 20
# what SeedSummary counts, by its field names
COUNTS = (
    "pledges",
    "unpledges",
    "cancels",
    "claims",
    "refunds",
    "fee_withdrawals",
    "release_requests",
    "votes",
    "releases",
    "aborts",
    "stale_aborts",
    "disclosures",
    "credits",
    "credit_withdrawals",
)
# The live demo's simulated time (~11 days: a week of pledging, two rounds of votes) and a day to
# spare: on a chain that starts in the past, the jump after the settled past goes to the wall clock
# less this, so the live demo ends about now.
LIVE_SPAN = 12 * DAY
DISCLOSURE_BODY = "Published by the campaign's creator; its hash is on the ledger (kind 13, Disclosed).\n"


class Seeding:
    """One seeding, step by step: accounts, the settled past and the jump, the plan, the token
    allowances, the campaigns, the pledging rounds, the settlement, the milestone votes and
    releases, today's activity and the disclosures; then what the chain says of it all."""

    def __init__(
        self,
        seeder: Seeder,
        deployment: Deployment,
        escrow: Any,
        tokens: dict[str, Any],
        decimals: dict[str, int],
        caps: Capabilities,
        log: Callable[[str], None],
    ) -> None:
        self.decimals = decimals  # by symbol, ETH's too
        self.seeder, self.sender, self.w3 = seeder, seeder.sender, seeder.w3
        self.deployment, self.contract, self.escrow, self.tokens = (
            deployment,
            escrow,
            escrow.functions,
            tokens,
        )
        self.caps, self.log = caps, log
        self.counts = dict.fromkeys(COUNTS, 0)
        self.skipped: list[str] = []
        self.campaigns = plan_campaigns(caps.time_travel, (ETH, *tokens))
        self.past: list[PlannedCampaign] = []
        self.people: list[Sender] = []
        self.documents = DemoDocuments()

    def run(
        self, wanted: int, rng: random.Random, amounts: Amounts, unlocked: bool, receiver: Any
    ) -> SeedSummary:
        """The whole seeding; with `receiver` (the credit campaign's creator contract) the settled
        past first."""
        caps = self.caps
        if not caps.time_travel:
            self.skipped.append(
                "Succeeded, Failed and Claimed campaigns, claims and fee withdrawals: "
                "the node has no evm_increaseTime, so no deadline can pass"
            )
            self.skipped.append(
                "milestone campaigns past funding (succeeded, voting, delivering, released, "
                "aborted) and their release votes: they need deadlines and votes to pass"
            )
        eth_each = 10_000 * max(amounts.eth_unit, ETHER)
        creators, self.people, notes = self.seeder.accounts(wanted, eth_each, unlocked)
        self.skipped.extend(notes)
        mode = self._mode()
        if receiver is not None:
            self._settled_past(creators, rng, amounts, receiver)
        elif not caps.time_travel:
            self.skipped.append("the expired, stale-aborted and credited campaigns: they need time travel")
        if caps.time_travel:
            self._catch_up(0)
        self.log(f"seeding {len(self.campaigns)} campaigns with {len(self.people)} backers ({mode})")
        pledges, unpledges = plan_pledges(self.campaigns, len(self.people), rng, amounts)
        self._allow_tokens(pledges)
        short_deadline, round_gap = self._create_campaigns(creators)
        self._pledging_rounds(pledges, unpledges, round_gap)
        self._settle(short_deadline)
        if caps.time_travel:
            decide_releases(
                self.seeder, self.escrow, self.campaigns, self.people, self.counts, self._report
            )  # last time travel
            self._withdraw_fees()
            self._pledge_today(amounts)
            # votes open right now: after the last time travel, so they stay open for days
            voting = [c for c in self.campaigns if c.phase == "voting"]
            request_and_vote(self.seeder, self.escrow, voting, self.people, self.counts, self._report)
        self._disclose()
        self.seeder.mine_pending()
        return self._summary(mode)

    def _settled_past(
        self, creators: list[Sender], rng: random.Random, amounts: Amounts, receiver: Any
    ) -> None:
        """The OUTCOME_PLAN campaigns, created, settled, and the jump past their windows."""
        self.past = plan_outcomes()
        past = SettledPast(
            self.seeder, self.contract, self.people, self.past, self.counts, self._create_call, receiver
        )
        self.log(f"seeding the settled past: {', '.join(c.title for c in self.past)}")
        past.fund(creators, rng, amounts)
        past.settle()
        self._catch_up(past.due())
        past.after_jump()

    def _catch_up(self, due: int) -> None:
        """Time forward to `due`, or to LIVE_SPAN before the wall clock when the chain is behind it
        (a chain started in the past): the live demo then ends about now."""
        now = self.seeder.now()
        target = max(due, int(time.time()) - LIVE_SPAN)
        if target > now:
            self.seeder.travel(target - now)

    def _mode(self) -> str:
        caps, people = self.caps, self.people
        solo = len(people) == 1 and people[0].address == self.sender.address
        backers = (
            "the sender alone"
            if solo
            else "impersonated backers"
            if caps.impersonation
            else "unlocked accounts"
        )
        travel = ", time travel" if caps.time_travel else ", no time travel"
        return f"{caps.client.split('/')[0] or 'node'}, {backers}{travel}"

    def _token(self, campaign: PlannedCampaign) -> Any:
        return self.tokens[campaign.asset]

    def _allow_tokens(self, pledges: list[Move]) -> None:
        """Tokens for the backers of token campaigns, minted and approved up front."""
        campaigns = self.campaigns
        needed: dict[tuple[str, int], int] = {}
        for _, ci, bi, amount in pledges:
            if campaigns[ci].token:
                key = (campaigns[ci].asset, bi)
                needed[key] = needed.get(key, 0) + amount
        self._mint_and_approve(needed)

    def _mint_and_approve(self, needed: dict[tuple[str, int], int]) -> None:
        for (symbol, bi), amount in sorted(needed.items()):
            token = self.tokens[symbol].functions
            self.seeder.send(self.sender, token.mint(self.people[bi].address, amount))
            self.seeder.send(self.people[bi], token.approve(self.deployment.address, amount))

    def _create_call(self, campaign: PlannedCampaign, creator: Any, deadline: int) -> Any:
        """The bound createCampaign / createMilestoneCampaign of `campaign`, its metadata
        document's hash committed."""
        asset = self._token(campaign).address if campaign.token else ZERO_ADDRESS
        terms = campaign_terms(campaign, deadline, self.decimals[campaign.asset])
        metadata = self.documents.metadata(campaign, terms, picture=len(self.documents) % 3 == 0)
        if campaign.phase:
            return self.escrow.createMilestoneCampaign(
                asset,
                campaign.goal,
                deadline,
                campaign.cap,
                metadata,
                list(campaign.tranches),
                campaign.voting_period,
            )
        return self.escrow.createCampaign(
            asset, campaign.goal, deadline, campaign.cap, campaign.keep_it_all, metadata
        )

    def _report(self, title: str) -> bytes:
        return self.documents.text(title)

    def _create_campaigns(self, creators: list[Sender]) -> tuple[int, int]:
        """Every planned campaign, created by the creators in turn; (the short deadline, the
        simulated time between two pledging rounds)."""
        lock_window = int(self.escrow.unpledgeLockWindow().call())
        start = self.seeder.now()
        if self.caps.time_travel:
            short_span = max(7 * DAY, lock_window + 3 * DAY)
            round_gap = (short_span - lock_window - DAY) // ROUNDS  # every round ends before the lock window
            self.seeder.chunk_seconds = min(300, round_gap // 100)  # within a round, blocks minutes apart
            long_deadline = start + short_span + 60 * DAY
        else:
            short_span, round_gap, long_deadline = 30 * DAY, 0, start + 60 * DAY
        short_deadline = start + short_span
        created = []
        for ci, campaign in enumerate(self.campaigns):
            campaign.creator = creators[ci % len(creators)]
            deadline = long_deadline if campaign.long else short_deadline
            created.append(
                self.seeder.send(campaign.creator, self._create_call(campaign, campaign.creator, deadline))
            )
        for campaign, ticket in zip(self.campaigns, created):
            campaign.id = self._created_id(self.seeder.receipt(ticket))
            self.log(f"campaign #{campaign.id} {campaign.title!r}: {campaign.target}")
        return short_deadline, round_gap

    def _created_id(self, receipt: Any) -> int:
        # a milestone campaign's receipt also holds its MilestonePlan
        events = self.contract.events.CampaignCreated().process_receipt(receipt, errors=DISCARD)
        if not events:
            raise TransactionFailed("createCampaign emitted no CampaignCreated event")
        return int(events[0]["args"]["campaignId"])

    def _pledging_rounds(self, pledges: list[Move], unpledges: list[Move], round_gap: int) -> None:
        """The pledges and unpledges, round by round over the simulated time; the cancelled
        campaigns are cancelled at the end of their last round."""
        seeder, escrow, campaigns, people, counts = (
            self.seeder,
            self.escrow,
            self.campaigns,
            self.people,
            self.counts,
        )
        for rnd in range(ROUNDS):
            if rnd and self.caps.time_travel:
                seeder.travel(round_gap)
            for _, ci, bi, amount in sorted((p for p in pledges if p[0] == rnd), key=lambda p: (p[1], p[2])):
                campaign = campaigns[ci]
                seeder.send(
                    people[bi], escrow.pledge(campaign.id, amount), value=0 if campaign.token else amount
                )
                counts["pledges"] += 1
            seeder.mine_pending()
            for _, ci, bi, amount in (u for u in unpledges if u[0] == rnd):
                seeder.send(people[bi], escrow.unpledge(campaigns[ci].id, amount))
                counts["unpledges"] += 1
            if rnd == CANCEL_ROUND - 1:
                seeder.mine_pending()
                for campaign in campaigns:
                    if campaign.target == "Cancelled":
                        seeder.send(campaign.creator, escrow.cancel(campaign.id))
                        counts["cancels"] += 1
            self.log(
                f"round {rnd + 1}/{ROUNDS}: {counts['pledges']} pledges, {counts['unpledges']} unpledges so far"
            )

    def _settle(self, short_deadline: int) -> None:
        """Past the short deadlines: the claims (a milestone campaign's tranche 0), and about half
        the backers of failed and cancelled campaigns back for their money so far."""
        seeder, escrow = self.seeder, self.escrow
        if self.caps.time_travel:
            seeder.travel(short_deadline - seeder.now() + 3600)  # an hour past the short deadlines
            for campaign in self.campaigns:
                if campaign.target in ("Claimed", "InDelivery", "Aborted"):
                    seeder.send(campaign.creator, escrow.claim(campaign.id))
                    self.counts["claims"] += 1
        else:
            seeder.mine_pending()
        for campaign in self.campaigns:
            if campaign.target in ("Failed", "Cancelled"):
                for bi in campaign.backers[: max(1, len(campaign.backers) // 2)]:
                    seeder.send(self.people[bi], escrow.refund(campaign.id))
                    self.counts["refunds"] += 1
        seeder.mine_pending()

    def _withdraw_fees(self) -> None:
        for asset in (ZERO_ADDRESS, *(token.address for token in self.tokens.values())):
            if self.escrow.accruedFees(asset).call() > 0:
                self.seeder.send(self.sender, self.escrow.withdrawFees(asset))
                self.counts["fee_withdrawals"] += 1
            else:
                self.skipped.append(f"fee withdrawal in {asset}: no fees accrued (a 0 bps fee?)")

    def _pledge_today(self, amounts: Amounts) -> None:
        """Fresh pledges on the open campaigns, "today": two of each one's backers come back."""
        seeder, people = self.seeder, self.people
        fresh = [(c, bi) for c in self.campaigns if c.target == "Funding" for bi in c.backers[:2]]
        sizes = [amounts.of(campaign) for campaign, _ in fresh]
        needed: dict[tuple[str, int], int] = {}  # a backer may back two open token campaigns: one allowance
        for (campaign, bi), amount in zip(fresh, sizes):
            if campaign.token:
                needed[(campaign.asset, bi)] = needed.get((campaign.asset, bi), 0) + amount
        self._mint_and_approve(needed)
        seeder.mine_pending()
        for (campaign, bi), amount in zip(fresh, sizes):
            seeder.send(
                people[bi], self.escrow.pledge(campaign.id, amount), value=0 if campaign.token else amount
            )
            self.counts["pledges"] += 1

    def _disclose(self) -> None:
        for title, document in DISCLOSURES:
            for campaign in (c for c in self.campaigns if c.title == title):
                digest = self.documents.text(document, DISCLOSURE_BODY)
                self.seeder.send(campaign.creator, self.escrow.disclose(campaign.id, digest))
                self.counts["disclosures"] += 1

    def _summary(self, mode: str) -> SeedSummary:
        """What the chain says: each campaign's state (and a milestone campaign's phase), read back."""
        by_state: dict[str, list[int]] = {name: [] for name in STATE_NAMES}
        by_phase: dict[str, list[int]] = {name: [] for name in MILESTONE_PHASES}
        details: dict[int, str] = {}
        now = self.seeder.now()
        campaigns = self.past + self.campaigns
        for campaign in campaigns:
            state = STATE_NAMES[int(self.escrow.campaignState(campaign.id).call())]
            by_state[state].append(campaign.id)
            if state != campaign.target:
                self.skipped.append(f"campaign #{campaign.id} is {state}, planned {campaign.target}")
            if campaign.phase:
                decimals = self.decimals[campaign.asset]
                milestones = read_milestones(self.escrow, campaign.id)
                phase, details[campaign.id] = milestone_status(
                    state,
                    milestones,
                    now,
                    campaign.asset,
                    decimals=decimals,
                    stale=campaign.outcome == "stale",
                )
                by_phase.setdefault(phase, []).append(campaign.id)
                if phase != campaign.phase:
                    self.skipped.append(
                        f"milestone campaign #{campaign.id} is {phase}, planned {campaign.phase}"
                    )
        return SeedSummary(
            escrow=self.deployment.address,
            token=self.tokens[DEMO_TOKEN_SYMBOL].address,
            token_deployed=False,
            mode=mode,
            campaigns=by_state,
            titles={c.id: c.title for c in campaigns},
            backers=len({p.address for p in self.people}),
            **self.counts,
            transactions=self.seeder.transactions,
            first_block=self.seeder.first_block,
            last_block=int(self.w3.eth.block_number),
            simulated_seconds=self.seeder.simulated,
            milestones=by_phase,
            details=details,
            skipped=self.skipped,
            tokens={symbol: token.address for symbol, token in self.tokens.items()},
            tokens_deployed=[],
            outcomes={c.outcome: c.id for c in self.past},
            documents=self.documents.items(),
        )
