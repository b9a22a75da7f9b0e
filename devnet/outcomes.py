"""The demo's settled past: one campaign for each way issue 18's exits end one (devnet.plan's
OUTCOME_PLAN), created, funded and settled first; then chain time jumps past CLAIM_WINDOW and
MAX_SILENCE, the stale campaign is aborted and backers refund. The live campaigns are created
after the jump, so it ends none of them.

- expired: met its goal and was never claimed; past deadline + CLAIM_WINDOW it is Expired and half
  its backers have taken their whole pledge back.
- stale: a milestone campaign whose creator claimed tranche 0 and then said nothing; past
  MAX_SILENCE a backer calls abortStale (kind 16) and half the backers have refunded pro rata.
- credit: the creator is a contract (contracts/mocks/SwitchableReceiver.sol) that stopped
  accepting ETH; its claim is credited instead of paid (kind 14), and the creator withdraws the
  credit to another address of its own (kind 15).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from devnet.deploy import Sender, deploy_contract
from devnet.plan import Amounts, PlannedCampaign, pick_backers
from devnet.seeder import Seeder, demo_creator_address
from devnet.summary import DAY

CLAIM_WINDOW = 180 * DAY  # CrowdfundEscrow.CLAIM_WINDOW
MAX_SILENCE = 180 * DAY  # CrowdfundEscrow.MAX_SILENCE
OUTCOME_SPAN = 2 * DAY  # the settled campaigns' funding period
REFUSE_ETH = 1  # SwitchableReceiver.Mode.Refuse
ZERO_ADDRESS = "0x" + "00" * 20


def deploy_receiver(w3: Any, sender: Sender) -> Any:
    """The credit campaign's creator: a SwitchableReceiver (deployed before the seeder batches)."""
    contract, _ = deploy_contract(w3, sender, "SwitchableReceiver", what="deploying the creator's contract")
    return contract


class SettledPast:
    """Creates and settles the OUTCOME_PLAN campaigns; `jump()` is the long wait after them."""

    def __init__(
        self,
        seeder: Seeder,
        escrow: Any,
        people: list[Sender],
        campaigns: list[PlannedCampaign],
        counts: dict[str, int],
        create: Callable[[PlannedCampaign, Sender | Any, int], Any],
        receiver: Any,
    ) -> None:
        """`create(campaign, creator, deadline)` returns the bound createCampaign (or
        createMilestoneCampaign) call with the campaign's metadata; `escrow` is the contract;
        `receiver` the credit campaign's creator, a deployed SwitchableReceiver (deploy_receiver)."""
        self.seeder, self.escrow, self.functions = seeder, escrow, escrow.functions
        self.people, self.campaigns, self.counts, self.create = people, campaigns, counts, create
        self.receiver = receiver
        self.claimed_at = 0

    def fund(self, creators: list[Sender], rng: random.Random, amounts: Amounts) -> None:
        """Create every campaign, its backers pledge, each goal set 80% of what they pledge."""
        seeder = self.seeder
        deadline = seeder.now() + OUTCOME_SPAN
        pledges: list[tuple[PlannedCampaign, int, int]] = []
        for campaign in self.campaigns:
            campaign.backers = pick_backers(campaign, len(self.people), rng)
            for bi in campaign.backers:
                amount = amounts.eth()
                campaign.stakes[bi] = amount
                pledges.append((campaign, bi, amount))
            cents = max(1, amounts.eth_unit // 100)
            campaign.goal = max(1, sum(campaign.stakes.values()) * 4 // 5 // cents * cents)
        created = []
        for ci, campaign in enumerate(self.campaigns):
            if campaign.outcome == "credit":
                campaign.creator = self.receiver
                call = self.create(campaign, self.receiver, deadline)
                tx = seeder.send(seeder.sender, self._as_receiver(call))
            else:
                campaign.creator = creators[ci % len(creators)]
                tx = seeder.send(campaign.creator, self.create(campaign, campaign.creator, deadline))
            created.append(tx)
        for campaign, tx in zip(self.campaigns, created):
            campaign.id = self._created_id(seeder.receipt(tx))
        for campaign, bi, amount in pledges:
            seeder.send(self.people[bi], self.functions.pledge(campaign.id, amount), value=amount)
            self.counts["pledges"] += 1
        seeder.mine_pending()
        seeder.travel(deadline - seeder.now() + 3600)  # an hour past their deadline: all succeeded

    def settle(self) -> None:
        """The stale campaign's tranche 0 claimed; the credit campaign's claim refused by its
        creator's contract and credited, then withdrawn to the creator's other address."""
        seeder = self.seeder
        for campaign in self.campaigns:
            if campaign.outcome == "stale":
                seeder.send(campaign.creator, self.functions.claim(campaign.id))
                self.counts["claims"] += 1
            elif campaign.outcome == "credit":
                seeder.send(seeder.sender, self.receiver.functions.setMode(REFUSE_ETH))
                seeder.mine_pending()
                seeder.send(seeder.sender, self._as_receiver(self.functions.claim(campaign.id)))
                self.counts["claims"] += 1
                self.counts["credits"] += 1
        seeder.mine_pending()
        self.claimed_at = seeder.now()
        for campaign in self.campaigns:
            if campaign.outcome == "credit":
                owed = int(self.functions.owed(self.receiver.address, ZERO_ADDRESS).call())
                if owed:
                    withdraw = self.functions.withdrawOwed(ZERO_ADDRESS, demo_creator_address(3))
                    seeder.send(seeder.sender, self._as_receiver(withdraw))
                    self.counts["credit_withdrawals"] += 1
        seeder.mine_pending()

    def due(self) -> int:
        """The chain time after which the expired campaign is Expired and the stale one abortable."""
        return self.claimed_at + max(CLAIM_WINDOW, MAX_SILENCE) + 3600

    def after_jump(self) -> None:
        """Past CLAIM_WINDOW and MAX_SILENCE: a backer aborts the stale campaign; half the backers
        of it and of the expired one take their money back."""
        seeder = self.seeder
        for campaign in self.campaigns:
            if campaign.outcome == "stale":
                seeder.send(self.people[campaign.backers[0]], self.functions.abortStale(campaign.id))
                self.counts["stale_aborts"] += 1
        seeder.mine_pending()
        for campaign in self.campaigns:
            if campaign.outcome in ("stale", "expired"):
                for bi in campaign.backers[: len(campaign.backers) // 2]:
                    seeder.send(self.people[bi], self.functions.refund(campaign.id))
                    self.counts["refunds"] += 1
        seeder.mine_pending()

    def _as_receiver(self, call: Any) -> Any:
        """`call` sent by the creator's contract (SwitchableReceiver.execute)."""
        return self.receiver.functions.execute(call.address, call._encode_transaction_data())

    def _created_id(self, receipt: Any) -> int:
        from web3.logs import DISCARD

        events = self.escrow.events.CampaignCreated().process_receipt(receipt, errors=DISCARD)
        return int(events[0]["args"]["campaignId"])
