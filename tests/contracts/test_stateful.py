"""Stateful property test (a Hypothesis rule-based state machine on brownie's chain).

Random sequences of create / pledge / unpledge / cancel / claim / refund / withdrawFees /
time travel across several campaigns, four backers, three creators (two accounts and a contract
that can be told to refuse ETH or to burn the gas it is sent), and four assets (ETH, a plain
ERC-20, a 1% fee-on-transfer token and a token that blocks accounts), and milestone campaigns
(issue 7): their tranche-0 claim, release requests, votes, releases, aborts, pro-rata refunds
with the rounding dust moved to the fees, and disclosures. Since issue 18 also the exits:
abortStale, refundTo, withdrawOwed, payouts credited when the creator cannot receive them, long
time travel past the claim window and the silence limit, and force-fed ETH. Every transaction is
pinned to a known timestamp, so a Python model predicts exactly whether it succeeds (and if not,
which errors may explain it) and exactly what each party receives. After every step:

* the escrow's balance of each asset equals everything still owed plus the force-fed surplus:
  live pledges of unclaimed campaigns, the unreleased part of milestone campaigns in delivery,
  the unrefunded part of aborted ones, accrued fees and the credits (owed()), and accruedFees(),
  owed() and campaignState() equal the model;
* every backer's pledgeOf() equals the model and the ledger (the sum of its Pledged, Unpledged and
  Refunded events; a refund after an abort closes the position), and each campaign's `pledged`
  (and a milestone campaign's getMilestones()) equals the model;
* no backer ever holds more of an asset than it started with, and every account's balance is
  exactly its start plus what the model says it was paid (a creator gets exactly total - fee);
* ledgerHead() and ledgerLength() equal the head replayed in Python from every emitted event.

Liveness, checked on-chain: every LIVENESS_EVERY steps and at the end of every example, inside an
evm snapshot, a bounded sequence of time travel and calls by backers, creators and the fee
recipient alone (releases of closed votes, abortStale, refunds or refundTo, withdrawOwed,
withdrawFees), each checked by the model like any step, drains the escrow: each asset's balance
falls to the force-fed surplus, every credit and fee is paid, and every account holds exactly its
start plus what the model says it is due (so nobody receives more). Then the snapshot is reverted.
"""

import copy
from collections import Counter, defaultdict

import hypothesis.strategies as st
import pytest
from brownie import chain, web3
from brownie.exceptions import VirtualMachineError
from conftest import (
    CLAIM_WINDOW,
    DAY,
    ETH,
    FEE_BPS,
    KIND,
    LOCK_WINDOW,
    MAX_SILENCE,
    LedgerReplay,
    assert_ledger_consistent,
    now,
    pin,
    revert_name,
)
from hypothesis import seed, settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

UNIT = 10**15
MAX_CAMPAIGNS = 7
BURN_BPS = 100  # the fee-on-transfer token's burn

FUNDING, SUCCEEDED, FAILED, CANCELLED, CLAIMED, IN_DELIVERY, ABORTED, EXPIRED = range(8)
ACCEPT, REFUSE, BURN_GAS = range(3)  # SwitchableReceiver modes
LIVENESS_EVERY = 20  # steps between two on-chain liveness checks (and one at each example's end)
ZERO_ADDRESS = "0x" + "00" * 20
BLOCKED = "BlocklistTokenBlocked"

# milestone plans: valid ones first; the last three are refused
PLANS = [
    (5000, 5000),
    (3000, 3000, 4000),
    (3333, 3333, 3334),
    (1, 9999),
    (2500, 2500, 2500, 2500),
    (1000,) * 10,
    (10_000,),
    (5000, 4999),
    (5000, 0, 5000),
]
ST_PLAN = st.integers(0, len(PLANS) - 1)
ST_PERIOD = st.sampled_from([3600, 3600, 2 * 3600, 3 * 3600, 60])  # 60 s is below the minimum


def burn(amount, asset_kind):
    return amount * BURN_BPS // 10_000 if asset_kind == "fot" else 0


def ceil_fee(gross):
    return -(-gross * FEE_BPS // 10_000)


ST_ASSET = st.integers(0, 3)
ST_IDX = st.integers(0, 7)  # a campaign index; 7 picks the next, unknown id
ST_WHO = st.integers(0, 5)


@seed(18)  # fixed, so that editing the class (even its layout) does not change the sequences
class EscrowMachine(RuleBasedStateMachine):
    """The model and rules. brownie 1.22.2's `state_machine` helper cannot be used here: its
    mypyc-compiled base class refuses the dynamically built subclass ("TypeError:
    brownie.test.stateful._BrownieStateMachine object expected"), so this is a plain Hypothesis
    RuleBasedStateMachine doing what that helper does: each run starts by reverting the chain to
    the snapshot taken before the first run."""

    @classmethod
    def configure(cls, escrow, assets, backers, creators, fee_recipient, receiver, rescue, feeder):
        cls.escrow = escrow
        cls.assets = assets  # [(kind, address, contract-or-None)]
        cls.kind_of = {address: kind for kind, address, _ in assets}
        cls.backers = backers
        cls.creators = creators  # the last one is `receiver`, a contract
        cls.fee_recipient = fee_recipient
        cls.receiver = receiver  # a SwitchableReceiver creator, driven through its execute()
        cls.rescue = rescue  # an account that always receives: where refundTo and withdrawOwed send
        cls.feeder = feeder  # (ForceFeeder container, funding account)
        cls.actors = list(backers) + list(creators)
        cls.watched = [escrow.address, fee_recipient.address, rescue.address] + [
            a.address for a in cls.actors
        ]
        cls.start = cls._balances(cls)
        cls.outcomes = Counter()  # successes by function, reverts by error, across all runs

    def __init__(self):
        super().__init__()
        chain.revert()
        self.setup()

    # ------------------------------------------------------------------ plumbing

    def _balances(self):
        """{(asset address, account address): balance} for every watched account, in one batch."""
        keys, requests = [], []
        for _, address, contract in self.assets:
            for who in self.watched:
                keys.append((address, who))
                if contract is None:
                    requests.append(("eth_getBalance", [who, "latest"]))
                else:
                    data = contract.balanceOf.encode_input(who)
                    requests.append(("eth_call", [{"to": address, "data": data}, "latest"]))
        return dict(zip(keys, _batch(requests)))

    def setup(self):
        self.t = now()
        self.campaigns = []  # model campaigns; id = index + 1
        self.fees = defaultdict(int)  # asset address -> accrued
        self.paid = defaultdict(int)  # (asset, account) -> net amount the model says it gained
        self.replay = LedgerReplay(self.escrow)
        self.ledger_pledges = defaultdict(int)  # (cid, backer) -> from Pledged/Unpledged/Refunded
        self._forced = None  # a campaign index that _pick and _pick_where return (rule_deliver)
        self.owed = defaultdict(int)  # (account, asset) -> credited payouts not yet withdrawn
        self.blocked = set()  # accounts the blocking token refuses
        self.mode = ACCEPT  # the receiver creator's mode
        self.surplus = 0  # force-fed ETH, owed to no one
        self.steps = 0

    def _tick(self):
        self.t += 1
        pin(self.t)

    def _record(self, tx):
        for ev in tx.events:
            if ev.address != self.escrow.address or ev.name not in KIND:
                continue
            self.replay.apply(ev)
            if ev.name == "Pledged":
                self.ledger_pledges[(ev["campaignId"], ev["backer"])] += ev["amount"]
            elif ev.name == "Refunded" and self.campaigns[ev["campaignId"] - 1].get("aborted"):
                # a pro-rata refund after an abort closes the position (checked in rule_refund)
                self.ledger_pledges[(ev["campaignId"], ev["backer"])] = 0
            elif ev.name in ("Unpledged", "Refunded"):
                self.ledger_pledges[(ev["campaignId"], ev["backer"])] -= ev["amount"]

    def _send(self, errors, fn, *args):
        """Sends a transaction at the next pinned second. If the model lists errors, it must
        revert with one of them; otherwise it must succeed, and its events are replayed."""
        self._tick()
        name = fn.abi["name"]
        *call_args, params = args
        if getattr(params["from"], "address", None) == self.receiver.address:  # a contract: via execute()
            data = fn.encode_input(*call_args)
            operator = {"from": self.rescue, "value": params.get("value", 0)}
            escrow, receiver = self.escrow, self.receiver
            fn, args = (lambda: receiver.execute(escrow, data, operator)), ()
        if errors:
            try:
                fn(*args)
            except VirtualMachineError as exc:
                error = revert_name(exc)
                assert error in errors, f"{name} reverted with {exc.revert_msg!r}, model expected {errors}"
                self.outcomes[error] += 1
                return None
            raise AssertionError(f"succeeded, but the model expected one of {errors}")
        tx = fn(*args)
        self._record(tx)
        self.outcomes[name] += 1
        return tx

    def _pick(self, idx):
        """A campaign id: mostly existing ones; idx 7 (or no campaign yet) gives the unknown next id."""
        if self._forced is not None:  # rule_deliver chose the campaign
            return self._forced + 1, self.campaigns[self._forced]
        n = len(self.campaigns)
        if n == 0 or idx == 7:
            return n + 1, None
        return idx % n + 1, self.campaigns[idx % n]

    def _pick_where(self, idx, wanted, with_pledges=False, also=None):
        """Like _pick, but for idx < 6 prefers campaigns whose state (at the next second) is in
        `wanted` (and that hold pledges, if asked, and satisfy `also`, if given), so that
        successful actions are common while every error path still occurs."""
        if self._forced is not None:
            return self._pick(idx)
        t = self.t + 1
        fits = [
            i
            for i, c in enumerate(self.campaigns)
            if self._state(c, t) in wanted
            and (any(c["pledges"].values()) or not with_pledges)
            and (also is None or also(c, t))
        ]
        if fits and idx < 6:
            i = fits[idx % len(fits)]
            return i + 1, self.campaigns[i]
        return self._pick(idx)

    def _pick_milestone(self, idx, also):
        """_pick_where for the milestone rules: a milestone campaign in delivery satisfying `also`;
        failing that, for idx < 5, any milestone campaign (their error paths), else _pick."""
        if self._forced is None and idx < 5:
            t = self.t + 1
            milestones = [i for i, c in enumerate(self.campaigns) if c["milestone"]]
            fits = [
                i
                for i in milestones
                if self._state(self.campaigns[i], t) == IN_DELIVERY and also(self.campaigns[i], t)
            ]
            pool = fits or milestones
            if pool:
                i = pool[idx % len(pool)]
                return i + 1, self.campaigns[i]
        return self._pick(idx)

    def _state(self, c, t):
        if c["cancelled"]:
            return CANCELLED
        if c["claimed"]:
            return CLAIMED
        if t < c["deadline"]:
            return FUNDING
        if c["keep"] or c["pledged"] >= c["goal"]:
            if c["milestone"] and c["aborted"]:
                return ABORTED
            if c["milestone"] and c["released_count"]:
                return IN_DELIVERY
            if t > c["deadline"] + CLAIM_WINDOW:
                return EXPIRED
            return SUCCEEDED
        return FAILED

    def _silent_since(self, c):
        """When a milestone campaign in delivery last heard from its creator (abortStale's clock)."""
        return max(c["deadline"], c["claimed_at"], c["vote_end"])

    def _refuses(self, asset, account):
        """Whether a payment of `asset` to `account` fails: the receiver refusing (or burning the
        gas of) ETH, or the blocking token refusing a blocked account."""
        address = getattr(account, "address", account)
        if asset == ETH:
            return address == self.receiver.address and self.mode != ACCEPT
        return self.kind_of[asset] == "blk" and address in self.blocked

    def _pay_creator(self, c, tx, kind_event, amount):
        """A creator payout (claim, release): paid, or credited with a kind-14 entry right after."""
        creator = c["creator"]
        if amount and self._refuses(c["asset"], creator):
            deferred = tx.events["PayoutDeferred"]
            assert deferred["seq"] == tx.events[kind_event]["seq"] + 1
            assert (deferred["to"], deferred["token"], deferred["amount"]) == (creator, c["asset"], amount)
            self.owed[(creator.address, c["asset"])] += amount
            self.outcomes["payout deferred"] += 1
        else:
            assert "PayoutDeferred" not in tx.events
            self._pay(c, creator, amount)

    def _owed(self, c):
        """What the escrow still holds for a campaign (fees aside)."""
        if c["milestone"]:
            if c["aborted"]:
                return 0 if c["unrefunded"] == 0 else c["remaining"] - c["refunded"]
            if c["released_count"]:
                return c["pledged"] - c["released"]
        return 0 if c["claimed"] else sum(c["pledges"].values())

    def _pay(self, c, account, amount):
        """The model's view of the escrow paying `amount` of the campaign's asset to `account`."""
        address = getattr(account, "address", account)
        self.paid[(c["asset"], address)] += amount - burn(amount, c["kind"])

    # ------------------------------------------------------------------ rules

    @initialize(
        eth=st.tuples(st.integers(1, 12), st.sampled_from([0, 4, 8]), st.booleans()),
        tok=st.tuples(ST_ASSET, st.integers(0, 12), st.booleans()),
        ms=st.tuples(ST_ASSET, st.integers(1, 8), st.integers(0, 5), st.sampled_from([3600, 2 * 3600])),
        pledges=st.lists(
            st.tuples(st.integers(0, 2), st.integers(0, 3), st.integers(1, 6)), min_size=3, max_size=7
        ),
        creators=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    )
    def start_campaigns(self, eth, tok, ms, pledges, creators):
        """Every run starts with an ETH campaign, one in a random asset and a milestone campaign
        with a valid plan, and a few pledges. The contract creator owns some of them."""
        self.rule_create(0, eth[0], 6 * 3600, eth[1], eth[2], creators[0])
        self.rule_create(tok[0], tok[1], DAY, 0, tok[2], 1)
        self.rule_create_milestone(ms[0], ms[1], 3 * 3600, 0, ms[2], ms[3], creators[1])
        for idx, who, amount in pledges:
            self.rule_pledge(idx, who, amount, 1)

    @rule(
        asset=ST_ASSET,
        goal=st.integers(0, 12),
        duration=st.sampled_from([2 * 3600, 6 * 3600, DAY]),
        cap=st.sampled_from([0, 0, 4, 8]),
        keep=st.booleans(),
        who=ST_WHO,
    )
    def rule_create(self, asset, goal, duration, cap, keep, who):
        if len(self.campaigns) >= MAX_CAMPAIGNS:
            return
        kind, address, _ = self.assets[asset]
        creator = self.creators[who % len(self.creators)]
        deadline = self.t + 1 + duration
        errors = ["CrowdfundEscrowZeroGoal"] if goal == 0 and not keep else []
        tx = self._send(
            errors,
            self.escrow.createCampaign,
            address,
            goal * UNIT,
            deadline,
            cap * UNIT,
            keep,
            "0x" + "5c" * 32,
            {"from": creator},
        )
        if tx is None:
            return
        cid = len(self.campaigns) + 1
        assert tx.events["CampaignCreated"]["campaignId"] == cid
        assert tx.events["CampaignCreated"]["feeBps"] == FEE_BPS
        self.campaigns.append(
            {
                "asset": address,
                "kind": kind,
                "creator": creator,
                "goal": goal * UNIT,
                "deadline": deadline,
                "cap": cap * UNIT,
                "keep": keep,
                "pledged": 0,
                "claimed": False,
                "cancelled": False,
                "pledges": defaultdict(int),
                "milestone": False,
            }
        )

    @rule(
        asset=ST_ASSET,
        goal=st.integers(0, 12),
        duration=st.sampled_from([2 * 3600, 6 * 3600]),
        cap=st.sampled_from([0, 0, 8]),
        plan=ST_PLAN,
        period=ST_PERIOD,
        who=ST_WHO,
    )
    def rule_create_milestone(self, asset, goal, duration, cap, plan, period, who):
        if len(self.campaigns) >= MAX_CAMPAIGNS:
            return
        kind, address, _ = self.assets[asset]
        creator = self.creators[who % len(self.creators)]
        deadline = self.t + 1 + duration
        bps = PLANS[plan]
        errors = []
        if goal == 0:
            errors.append("CrowdfundEscrowZeroGoal")
        if 0 in bps:
            errors.append("CrowdfundEscrowZeroTranche")
        elif not 2 <= len(bps) <= 10 or sum(bps) != 10_000:
            errors.append("CrowdfundEscrowInvalidTranchePlan")
        if not 3600 <= period <= 365 * DAY:
            errors.append("CrowdfundEscrowInvalidVotingPeriod")
        tx = self._send(
            errors,
            self.escrow.createMilestoneCampaign,
            address,
            goal * UNIT,
            deadline,
            cap * UNIT,
            "0x" + "6d" * 32,
            list(bps),
            period,
            {"from": creator},
        )
        if tx is None:
            return
        cid = len(self.campaigns) + 1
        assert tx.events["MilestonePlan"]["campaignId"] == cid
        assert tx.events["MilestonePlan"]["seq"] == tx.events["CampaignCreated"]["seq"] + 1
        assert tx.events["CampaignCreated"]["keepItAll"] is False
        self.campaigns.append(
            {
                "asset": address,
                "kind": kind,
                "creator": creator,
                "goal": goal * UNIT,
                "deadline": deadline,
                "cap": cap * UNIT,
                "keep": False,
                "pledged": 0,
                "claimed": False,  # every tranche released
                "cancelled": False,
                "pledges": defaultdict(int),
                "milestone": True,
                "claimed_at": 0,
                "bps": bps,
                "period": period,
                "released_count": 0,
                "released": 0,  # gross
                "pending": False,
                "vote_end": 0,
                "approve": 0,
                "reject": 0,
                "voted": {},  # backer -> last tranche voted on
                "aborted": False,
                "remaining": 0,
                "refunded": 0,
                "unrefunded": 0,
            }
        )

    @rule(idx=ST_IDX, who=ST_WHO, amount=st.integers(1, 6), dust=st.integers(0, 3))
    def rule_pledge_more(self, idx, who, amount, dust):
        """A second pledge rule, so pledges are drawn twice as often as other actions."""
        self.rule_pledge(idx, who, amount, dust)

    @rule(idx=ST_IDX, who=ST_WHO, amount=st.integers(0, 6), dust=st.integers(0, 3))
    def rule_pledge(self, idx, who, amount, dust):
        cid, c = self._pick_where(idx, (FUNDING,))
        backer = self.backers[who % len(self.backers)]
        amt = amount * UNIT + dust
        t = self.t + 1
        errors = []
        if c is None:
            errors.append("CrowdfundEscrowUnknownCampaign")
        else:
            if self._state(c, t) != FUNDING:
                errors.append("CrowdfundEscrowNotFunding")
            if amt == 0:
                errors.append("CrowdfundEscrowZeroAmount")
            received = amt - burn(amt, c["kind"])
            if c["cap"] and c["pledges"][backer.address] + received > c["cap"]:
                errors.append("CrowdfundEscrowCapExceeded")
            if self._refuses(c["asset"], backer):
                errors.append(BLOCKED)
        is_eth = c is None or c["kind"] == "eth"
        tx = self._send(errors, self.escrow.pledge, cid, amt, {"from": backer, "value": amt if is_eth else 0})
        if tx is None:
            return
        assert tx.events["Pledged"]["amount"] == received
        c["pledges"][backer.address] += received
        c["pledged"] += received
        self.paid[(c["asset"], backer.address)] -= amt

    @rule(idx=ST_IDX, who=ST_WHO, part=st.integers(0, 5))
    def rule_unpledge(self, idx, who, part):
        cid, c = self._pick_where(idx, (FUNDING,), with_pledges=True)
        holders = [b for b in self.backers if c is not None and c["pledges"][b.address]]
        backer = holders[who % len(holders)] if holders and who < 4 else self.backers[who % len(self.backers)]
        mine = c["pledges"][backer.address] if c else 0
        if part == 5:
            amt = mine + 1
        else:
            amt = mine * part // 4 if mine else part * UNIT
        t = self.t + 1
        errors = []
        if c is None:
            errors.append("CrowdfundEscrowUnknownCampaign")
        else:
            if self._state(c, t) != FUNDING:
                errors.append("CrowdfundEscrowNotFunding")
            if amt == 0:
                errors.append("CrowdfundEscrowZeroAmount")
            if amt > mine:
                errors.append("CrowdfundEscrowInsufficientPledge")
            elif (
                t >= c["deadline"] - LOCK_WINDOW
                and c["pledged"] >= c["goal"]
                and c["pledged"] - amt < c["goal"]
            ):
                errors.append("CrowdfundEscrowUnpledgeLocked")
            if self._refuses(c["asset"], backer):
                errors.append(BLOCKED)
        tx = self._send(errors, self.escrow.unpledge, cid, amt, {"from": backer})
        if tx is None:
            return
        c["pledges"][backer.address] -= amt
        c["pledged"] -= amt
        self._pay(c, backer, amt)

    @rule(idx=ST_IDX, who=ST_WHO)
    def rule_cancel(self, idx, who):
        cid, c = self._pick_where(idx, (FUNDING,))
        caller = c["creator"] if c is not None and who < 3 else self.actors[who % len(self.actors)]
        errors = []
        if c is None:
            errors.append("CrowdfundEscrowUnknownCampaign")
        else:
            if self._state(c, self.t + 1) != FUNDING:
                errors.append("CrowdfundEscrowNotFunding")
            if caller != c["creator"]:
                errors.append("CrowdfundEscrowNotCreator")
        if self._send(errors, self.escrow.cancel, cid, {"from": caller}) is not None:
            c["cancelled"] = True

    @rule(idx=ST_IDX, who=ST_WHO)
    def rule_claim(self, idx, who):
        cid, c = self._pick_where(idx, (SUCCEEDED,))
        # mostly the creator, sometimes someone else
        caller = c["creator"] if c is not None and who < 4 else self.actors[who % len(self.actors)]
        errors = []
        if c is None:
            errors.append("CrowdfundEscrowUnknownCampaign")
        else:
            if caller != c["creator"]:
                errors.append("CrowdfundEscrowNotCreator")
            if self._state(c, self.t + 1) != SUCCEEDED:
                errors.append("CrowdfundEscrowNotClaimable")
        tx = self._send(errors, self.escrow.claim, cid, {"from": caller})
        if tx is None:
            return
        gross = c["pledged"]
        if c["milestone"]:  # tranche 0 only
            gross = gross * c["bps"][0] // 10_000
            c["released_count"], c["released"], c["claimed_at"] = 1, gross, self.t
        else:
            c["claimed"] = True
        fee = ceil_fee(gross)
        ev = tx.events["Claimed"]
        assert (ev["amount"], ev["fee"]) == (gross - fee, fee)  # the creator is due gross - fee
        self.fees[c["asset"]] += fee
        self._pay_creator(c, tx, "Claimed", gross - fee)

    @rule(idx=ST_IDX, who=ST_WHO, to=st.sampled_from([None, None, None, "rescue", "zero"]))
    def rule_refund(self, idx, who, to=None):
        """refund, or refundTo (to the rescue address, or to address(0))."""
        self._refund(idx, who, to)

    def _refund(self, idx, who, to, backer=None):
        """refund, or refundTo when `to` is given ("rescue", or "zero" for address(0))."""
        cid, c = self._pick_where(idx, (FAILED, CANCELLED, ABORTED, EXPIRED), with_pledges=True)
        holders = [b for b in self.backers if c is not None and c["pledges"][b.address]]
        if backer is None:
            backer = (
                holders[who % len(holders)] if holders and who < 4 else self.backers[who % len(self.backers)]
            )
        dest = {None: backer, "rescue": self.rescue, "zero": ZERO_ADDRESS}[to]
        errors = []
        if to == "zero":
            errors.append("CrowdfundEscrowInvalidRecipient")
        if c is None:
            errors.append("CrowdfundEscrowUnknownCampaign")
        else:
            if self._state(c, self.t + 1) not in (FAILED, CANCELLED, ABORTED, EXPIRED):
                errors.append("CrowdfundEscrowNotRefundable")
            if c["pledges"][backer.address] == 0:
                errors.append("CrowdfundEscrowNothingToRefund")
            if to != "zero" and self._refuses(c["asset"], dest):
                errors.append(BLOCKED)
        if to is None:
            tx = self._send(errors, self.escrow.refund, cid, {"from": backer})
        else:
            tx = self._send(errors, self.escrow.refundTo, cid, dest, {"from": backer})
        if tx is None:
            return
        amt = mine = c["pledges"][backer.address]
        if c["milestone"] and c["aborted"]:
            amt = mine * c["remaining"] // c["pledged"]
            assert amt <= mine  # nobody gets back more than they put in
            c["refunded"] += amt
            c["unrefunded"] -= mine
            if c["unrefunded"] == 0:  # the last refund moves the rounding dust to the fees
                self.fees[c["asset"]] += c["remaining"] - c["refunded"]
            self.outcomes["refund after abort"] += 1
        assert (tx.events["Refunded"]["backer"], tx.events["Refunded"]["amount"]) == (backer, amt)
        c["pledges"][backer.address] = 0
        self._pay(c, dest, amt)
        if self._state(c, self.t) == EXPIRED:
            self.outcomes["refund after expiry"] += 1
        if to is not None:
            self.outcomes["refundTo"] += 1

    def _is_milestone(self, cid, c, errors):
        """Appends the errors for a campaign that is unknown or not a milestone campaign."""
        if c is None:
            errors.append("CrowdfundEscrowUnknownCampaign")
        elif not c["milestone"]:
            errors.append("CrowdfundEscrowNotMilestoneCampaign")
        return c is not None and c["milestone"]

    @rule(idx=ST_IDX, who=ST_WHO)
    def rule_request_release(self, idx, who):
        cid, c = self._pick_milestone(idx, lambda c, t: not c["pending"])
        caller = c["creator"] if c is not None and who < 5 else self.actors[who % len(self.actors)]
        t = self.t + 1
        errors = []
        if self._is_milestone(cid, c, errors):
            if caller != c["creator"]:
                errors.append("CrowdfundEscrowNotCreator")
            if self._state(c, t) != IN_DELIVERY:
                errors.append("CrowdfundEscrowNotInDelivery")
            elif c["pending"]:
                errors.append("CrowdfundEscrowReleasePending")
        tx = self._send(errors, self.escrow.requestRelease, cid, "0x" + "7e" * 32, {"from": caller})
        if tx is None:
            return
        assert tx.events["ReleaseRequested"]["tranche"] == c["released_count"]
        c.update(pending=True, vote_end=t + c["period"], approve=0, reject=0)

    @rule(idx=ST_IDX, who=ST_WHO, approve=st.sampled_from([True, True, False]))
    def rule_vote(self, idx, who, approve):
        cid, c = self._pick_milestone(idx, lambda c, t: c["pending"] and t < c["vote_end"])
        holders = [b for b in self.backers if c is not None and c["pledges"][b.address]]
        voter = holders[who % len(holders)] if holders and who < 5 else self.actors[who % len(self.actors)]
        t = self.t + 1
        errors = []
        if self._is_milestone(cid, c, errors):
            if not c["pending"]:
                errors.append("CrowdfundEscrowNoOpenVote")
            elif t >= c["vote_end"]:
                errors.append("CrowdfundEscrowVoteClosed")
            if c["pledges"][voter.address] == 0:
                errors.append("CrowdfundEscrowNotABacker")
            elif c["voted"].get(voter.address) == c["released_count"]:
                errors.append("CrowdfundEscrowAlreadyVoted")
        tx = self._send(errors, self.escrow.vote, cid, approve, {"from": voter})
        if tx is None:
            return
        weight = c["pledges"][voter.address]
        assert tx.events["Voted"]["weight"] == weight
        c["approve" if approve else "reject"] += weight
        c["voted"][voter.address] = c["released_count"]

    @rule(idx=ST_IDX, who=ST_WHO)
    def rule_release(self, idx, who):
        cid, c = self._pick_milestone(idx, lambda c, t: c["pending"] and t >= c["vote_end"])
        caller = self.actors[who % len(self.actors)]  # anyone
        t = self.t + 1
        errors = []
        if self._is_milestone(cid, c, errors):
            if not c["pending"]:
                errors.append("CrowdfundEscrowNoOpenVote")
            elif t < c["vote_end"]:
                errors.append("CrowdfundEscrowVoteOpen")
        tx = self._send(errors, self.escrow.release, cid, {"from": caller})
        if tx is None:
            return
        c["pending"] = False
        total, approve, reject = c["pledged"], c["approve"], c["reject"]
        if approve > reject and (approve + reject) * 5 >= total:
            k, bps = c["released_count"], c["bps"]
            gross = total - c["released"] if k == len(bps) - 1 else total * bps[k] // 10_000
            fee = ceil_fee(gross)
            ev = tx.events["TrancheReleased"]
            assert (ev["tranche"], ev["amount"], ev["fee"]) == (k, gross - fee, fee)
            c["released"] += gross
            c["released_count"] += 1
            c["claimed"] = c["released_count"] == len(bps)
            self.fees[c["asset"]] += fee
            self._pay_creator(c, tx, "TrancheReleased", gross - fee)
            self.outcomes["release passed"] += 1
        else:
            c.update(aborted=True, remaining=total - c["released"], refunded=0, unrefunded=total)
            assert tx.events["Aborted"]["remaining"] == c["remaining"] > 0
            self.outcomes["release aborted"] += 1

    @precondition(lambda self: any(c["milestone"] and c["released_count"] for c in self.campaigns))
    @rule(idx=ST_IDX, who=ST_WHO)
    def rule_abort_stale(self, idx, who):
        cid, c = self._pick_milestone(
            idx, lambda c, t: not c["pending"] and t > self._silent_since(c) + MAX_SILENCE
        )
        caller = self.actors[who % len(self.actors)]  # anyone
        t = self.t + 1
        errors = []
        if self._is_milestone(cid, c, errors):
            if self._state(c, t) != IN_DELIVERY:
                errors.append("CrowdfundEscrowNotInDelivery")
            elif c["pending"]:
                errors.append("CrowdfundEscrowReleasePending")
            elif t <= self._silent_since(c) + MAX_SILENCE:
                errors.append("CrowdfundEscrowNotStale")
        tx = self._send(errors, self.escrow.abortStale, cid, {"from": caller})
        if tx is None:
            return
        total = c["pledged"]
        c.update(aborted=True, remaining=total - c["released"], refunded=0, unrefunded=total)
        ev = tx.events["StaleAborted"]
        assert (ev["caller"], ev["remaining"]) == (caller, c["remaining"]) and c["remaining"] > 0
        self.outcomes["stale aborted"] += 1

    @precondition(lambda self: any(self.owed.values()))
    @rule(asset=ST_ASSET, who=ST_WHO, dest=st.sampled_from(["self", "rescue", "rescue", "zero"]))
    def rule_withdraw_owed(self, asset, who, dest, account=None):
        """A creditor (mostly one with a credit) takes its credit to itself or another address."""
        if account is None:
            credits = [(a, k) for (a, k), amount in self.owed.items() if amount]
            if credits and who < 4:
                address, asset_address = credits[who % len(credits)]
                account = next(x for x in self.actors if x.address == address)
                asset = next(i for i, (_, a, _) in enumerate(self.assets) if a == asset_address)
            else:
                account = self.actors[who % len(self.actors)]
        _, address, _ = self.assets[asset]
        to = {"self": account, "rescue": self.rescue, "zero": ZERO_ADDRESS}[dest]
        if to == self.receiver and self.mode == BURN_GAS:
            to = self.rescue  # a full-gas payout into a gas burner fails without an error to name
        amount = self.owed[(account.address, address)]
        errors = []
        if dest == "zero":
            errors.append("CrowdfundEscrowInvalidRecipient")
        elif amount == 0:
            errors.append("CrowdfundEscrowNothingOwed")
        elif self._refuses(address, to):
            errors.append(BLOCKED if address != ETH else "CrowdfundEscrowEthTransferFailed")
        tx = self._send(errors, self.escrow.withdrawOwed, address, to, {"from": account})
        if tx is None:
            return
        ev = tx.events["OwedWithdrawn"]
        assert (ev["token"], ev["to"], ev["amount"]) == (address, to, amount)
        self.owed[(account.address, address)] = 0
        self.paid[(address, getattr(to, "address", to))] += amount - burn(amount, self.kind_of[address])

    @rule(who=ST_WHO, on=st.booleans(), mode=st.sampled_from([None, None, ACCEPT, REFUSE, REFUSE, BURN_GAS]))
    def rule_obstruct(self, who, on, mode):
        """The blocking token blocks or unblocks a backer or a creator (never the escrow, the fee
        recipient or the rescue address), or the contract creator starts accepting, refusing or
        burning the gas of incoming ETH."""
        self._tick()
        if mode is None:
            account = self.actors[who % len(self.actors)]
            token = next(contract for kind, _, contract in self.assets if kind == "blk")
            token.setBlocked(account, on, {"from": self.rescue})
            (self.blocked.add if on else self.blocked.discard)(account.address)
        else:
            self.receiver.setMode(mode, {"from": self.rescue})
            self.mode = mode

    @precondition(lambda self: self.surplus == 0)  # once per example is plenty
    @rule(amount=st.integers(1, 10**6))
    def rule_force_feed(self, amount):
        """ETH forced into the escrow (selfdestruct): a surplus owed to no one."""
        container, funder = self.feeder
        self._tick()
        feeder = container.deploy({"from": funder, "value": amount})
        self._tick()
        feeder.feed(self.escrow, {"from": funder})
        self.surplus += amount

    @precondition(lambda self: self.steps >= 30)  # most of an example stays in the first days
    @rule(
        idx=ST_IDX, which=st.sampled_from(["claim window", "silence", "far"]), offset=st.sampled_from([-1, 0])
    )
    def rule_sleep_long(self, idx, which, offset):
        """Jumps to just before/at the end of a campaign's claim window, or of a milestone
        campaign's allowed silence (the next tx runs 1 s later), or 200 days on."""
        _, c = self._pick(idx)
        if which == "far" or c is None:
            self._travel(self.t + 200 * DAY)
        elif which == "claim window":
            self._travel(c["deadline"] + CLAIM_WINDOW + offset)
        elif c["milestone"] and c["released_count"] and not c["aborted"]:
            self._travel(self._silent_since(c) + MAX_SILENCE + offset)

    @rule(idx=ST_IDX, who=ST_WHO)
    def rule_disclose(self, idx, who):
        cid, c = self._pick(idx)
        caller = c["creator"] if c is not None and who < 4 else self.actors[who % len(self.actors)]
        errors = []
        if c is None:
            errors.append("CrowdfundEscrowUnknownCampaign")
        elif caller != c["creator"]:
            errors.append("CrowdfundEscrowNotCreator")
        self._send(errors, self.escrow.disclose, cid, "0x" + "d5" * 32, {"from": caller})

    @rule(asset=ST_ASSET, who=ST_WHO)
    def rule_withdraw_fees(self, asset, who, caller=None):
        with_fees = [i for i, (_, address, _) in enumerate(self.assets) if self.fees[address]]
        if who < 4:
            if not with_fees:
                return  # mostly skip pointless withdrawals; NoFees is still tried now and then
            asset = with_fees[asset % len(with_fees)]
        kind, address, _ = self.assets[asset]
        errors = [] if self.fees[address] else ["CrowdfundEscrowNoFees"]
        tx = self._send(errors, self.escrow.withdrawFees, address, {"from": caller or self.actors[who]})
        if tx is None:
            return
        amount = self.fees[address]
        assert tx.events["FeesWithdrawn"]["amount"] == amount
        self.fees[address] = 0
        self.paid[(address, self.fee_recipient.address)] += amount - burn(amount, kind)

    @rule(seconds=st.sampled_from([60, 600, 1800, LOCK_WINDOW, 3 * 3600]))
    def rule_sleep(self, seconds):
        self._travel(self.t + seconds)

    @rule(idx=ST_IDX, offset=st.sampled_from([-LOCK_WINDOW - 2, -LOCK_WINDOW - 1, -LOCK_WINDOW, -2, -1, 0]))
    def rule_sleep_near_deadline(self, idx, offset):
        """Jumps to just before/at a campaign's lock window or deadline (the next tx runs 1s later)."""
        _, c = self._pick(idx)
        if c is not None:
            self._travel(c["deadline"] + offset)

    @rule(idx=ST_IDX, who=ST_WHO, approve=st.sampled_from([True, True, True, False]))
    def rule_deliver(self, idx, who, approve):
        """Moves a milestone campaign one step along its life (funding to the goal, the deadline,
        claim, request, votes, the vote's end, release, refunds), so that the long path is walked
        in most runs. Each step goes through the ordinary rule, with all its model checks."""
        milestones = [i for i, c in enumerate(self.campaigns) if c["milestone"]]
        if not milestones:
            return
        i = milestones[idx % len(milestones)]
        c = self.campaigns[i]
        t = self.t + 1
        state = self._state(c, t)
        holders = [b for b in self.backers if c["pledges"][b.address]]
        self._forced = i
        try:
            if state == FUNDING:
                if c["pledged"] < c["goal"] and who < 5:
                    self.rule_pledge(idx, who, 6, 0)
                    return
                self._travel(c["deadline"] - 1)  # and act at the deadline
            elif state == IN_DELIVERY and c["pending"] and t < c["vote_end"]:
                voters = [
                    k for k, b in enumerate(holders) if c["voted"].get(b.address) != c["released_count"]
                ]
                if voters and who < 5:
                    self.rule_vote(idx, voters[who % len(voters)], approve)
                    return
                self._travel(c["vote_end"] - 1)  # and release at the vote's end
            state = self._state(c, self.t + 1)
            if state == SUCCEEDED:
                self.rule_claim(idx, 0)
            elif (
                state == IN_DELIVERY and not c["pending"] and self.t + 1 > self._silent_since(c) + MAX_SILENCE
            ):
                self.rule_abort_stale(idx, who)
            elif state == IN_DELIVERY and not c["pending"]:
                self.rule_request_release(idx, 0)
            elif state == IN_DELIVERY:
                self.rule_release(idx, who)
            elif state in (ABORTED, FAILED, CANCELLED, EXPIRED) and holders:
                self.rule_refund(idx, who % len(holders))
        finally:
            self._forced = None

    @rule(idx=ST_IDX, who=ST_WHO)
    def rule_exit(self, idx, who):
        """Walks a campaign to one of the exits of issue 18, one step a call, through the ordinary
        rules: funding it to its goal and past its deadline, a claim or a release whose creator
        cannot receive (credited), a credit withdrawn, and late in an example a success left to
        expire (then refunded) or a delivery left silent (then abortStale)."""
        if who <= 2 and any(self.owed.values()):
            self.rule_withdraw_owed(0, 0, "self" if who else "rescue")
            return
        t = self.t + 1
        open_ = [
            i for i, c in enumerate(self.campaigns) if self._state(c, t) in (FUNDING, SUCCEEDED, IN_DELIVERY)
        ]
        if not open_:
            return
        i = open_[idx % len(open_)]
        c = self.campaigns[i]
        late = self.steps >= 20 or who == 5  # a long sleep ends every other campaign's funding
        self._forced = i
        try:
            state = self._state(c, t)
            if state == FUNDING:
                if c["pledged"] < c["goal"]:
                    self.rule_pledge(idx, who, 6, 0)
                    return
                self._travel(c["deadline"] - 1)  # and act at the deadline
                state = self._state(c, self.t + 1)
            if state == SUCCEEDED and late and who % 2:
                self._travel(c["deadline"] + CLAIM_WINDOW)  # the next transaction runs when it expired
                holders = [b for b in self.backers if c["pledges"][b.address]]
                if holders:
                    self._refund(idx, 0, "rescue" if who >= 3 else None, backer=holders[who % len(holders)])
            elif state == SUCCEEDED:
                self._obstruct_creator(c)
                self.rule_claim(idx, 0)
            elif state == IN_DELIVERY and c["pending"]:
                self._obstruct_creator(c)
                self._travel(max(c["vote_end"] - 1, self.t))
                self.rule_release(idx, who)
            elif state == IN_DELIVERY and late:
                self._travel(self._silent_since(c) + MAX_SILENCE)
                self.rule_abort_stale(idx, who)
        finally:
            self._forced = None

    @rule(idx=ST_IDX, who=ST_WHO)
    def rule_exit_more(self, idx, who):
        """A second exit rule, so exits are drawn more often."""
        self.rule_exit(idx, who)

    @rule(idx=ST_IDX, who=ST_WHO)
    def rule_exit_again(self, idx, who):
        """A third exit rule, so exits are drawn more often."""
        self.rule_exit(idx, who)

    def _obstruct_creator(self, c):
        """Makes the campaign's creator unable to receive its payout, where the test can."""
        if c["creator"] == self.receiver and c["asset"] == ETH:
            self.rule_obstruct(0, True, REFUSE)
        elif self.kind_of[c["asset"]] == "blk":
            self.rule_obstruct(self.actors.index(c["creator"]), True, None)

    @rule(idx=ST_IDX, who=ST_WHO, approve=st.sampled_from([True, True, True, False]))
    def rule_deliver_more(self, idx, who, approve):
        """A second delivery rule, so delivery steps are drawn more often."""
        self.rule_deliver(idx, who, approve)

    @rule(idx=ST_IDX, who=ST_WHO, approve=st.sampled_from([True, True, True, False]))
    def rule_deliver_again(self, idx, who, approve):
        """A third delivery rule, so delivery steps are drawn more often."""
        self.rule_deliver(idx, who, approve)

    @rule(idx=ST_IDX, offset=st.sampled_from([-2, -1, 0, 600]))
    def rule_sleep_to_vote_end(self, idx, offset):
        """Jumps to just before/at the end of a pending release vote (the next tx runs 1s later)."""
        _, c = self._pick_milestone(idx, lambda c, t: c["pending"])
        if c is not None and c.get("pending"):
            self._travel(c["vote_end"] + offset)

    def _travel(self, timestamp):
        if timestamp > self.t:
            self.t = timestamp
            pin(self.t)
            chain.mine()

    # ------------------------------------------------------------------ invariants

    @invariant()
    def invariant_accounts(self):
        # one batch: every balance, every pledgeOf, every campaign's `pledged`, fees and the ledger
        balances = self._balances()
        requests, expect = [], []
        e = self.escrow
        for cid, c in enumerate(self.campaigns, start=1):
            for b in self.backers:
                requests.append(
                    ("eth_call", [{"to": e.address, "data": e.pledgeOf.encode_input(cid, b)}, "latest"])
                )
                model = c["pledges"][b.address]
                assert model == self.ledger_pledges[(cid, b.address)], "model disagrees with ledger"
                expect.append((f"pledgeOf({cid}, {b.address})", model))
        for _, address, _ in self.assets:
            requests.append(
                ("eth_call", [{"to": e.address, "data": e.accruedFees.encode_input(address)}, "latest"])
            )
            expect.append((f"accruedFees({address})", self.fees[address]))
            for a in self.actors:
                requests.append(
                    ("eth_call", [{"to": e.address, "data": e.owed.encode_input(a, address)}, "latest"])
                )
                expect.append((f"owed({a.address}, {address})", self.owed[(a.address, address)]))
        requests.append(("eth_call", [{"to": e.address, "data": e.ledgerLength.encode_input()}, "latest"]))
        expect.append(("ledgerLength", self.replay.length))
        requests.append(("eth_call", [{"to": e.address, "data": e.ledgerHead.encode_input()}, "latest"]))
        expect.append(("ledgerHead", int.from_bytes(self.replay.head, "big")))
        for (label, want), got in zip(expect, _batch(requests)):
            assert got == want, f"{label}: chain {got} != model {want}"

        for _, address, _ in self.assets:
            # solvency with credits: escrowed + unwithdrawn fees + every owed() = balance - surplus
            owed = self.fees[address] + sum(self._owed(c) for c in self.campaigns if c["asset"] == address)
            owed += sum(amount for (_, asset), amount in self.owed.items() if asset == address)
            surplus = self.surplus if address == ETH else 0
            held = balances[(address, e.address)]
            assert held >= owed, f"escrow insolvent in {address}: holds {held}, owes {owed}"
            assert held == owed + surplus, f"escrow holds {held} of {address}, model says {owed} + {surplus}"
            for who in self.watched[1:]:
                want = self.start[(address, who)] + self.paid[(address, who)]
                assert balances[(address, who)] == want, (
                    f"{who} holds {balances[(address, who)]}, want {want}"
                )
            for b in self.backers:  # nobody receives more than they put in
                assert balances[(address, b.address)] <= self.start[(address, b.address)]

    @invariant()
    def invariant_campaign_totals(self):
        # one batch: getCampaign of every campaign, getMilestones of every milestone campaign
        e, calls = self.escrow, []
        for cid, c in enumerate(self.campaigns, start=1):
            calls.append((c, e.getCampaign, cid))
            calls.append((c, e.campaignState, cid))
            if c["milestone"]:
                calls.append((c, e.getMilestones, cid))
        requests = [
            ("eth_call", [{"to": e.address, "data": fn.encode_input(cid)}, "latest"]) for _, fn, cid in calls
        ]
        responses = web3.provider.make_batch_request(requests) if requests else []
        for (c, fn, cid), response in zip(calls, responses):
            m = fn.decode_output(response["result"])
            if fn is e.campaignState:
                assert m == self._state(c, self.t), (cid, m)
                continue
            if fn is e.getCampaign:
                assert (m["pledged"], m["claimed"], m["cancelled"]) == (
                    c["pledged"],
                    c["claimed"],
                    c["cancelled"],
                ), cid
                continue
            assert list(m["trancheBps"]) == list(c["bps"])
            assert (m["tranchesReleased"], m["releasedAmount"], m["votePending"], m["aborted"]) == (
                c["released_count"],
                c["released"],
                c["pending"],
                c["aborted"],
            ), cid
            if c["vote_end"]:
                assert (m["voteEnd"], m["approveWeight"], m["rejectWeight"]) == (
                    c["vote_end"],
                    c["approve"],
                    c["reject"],
                ), cid
            if c["aborted"]:
                assert (m["abortRemaining"], m["refunded"], m["unrefundedWeight"]) == (
                    c["remaining"],
                    c["refunded"],
                    c["unrefunded"],
                ), cid

    @invariant()
    def invariant_liveness(self):
        self.steps += 1
        if self.steps % LIVENESS_EVERY == 0:
            self._check_liveness()

    def teardown(self):
        self._check_liveness()
        # a full replay from the chain's logs, independent of the per-step replay
        assert_ledger_consistent(self.escrow)

    # ------------------------------------------------------------------ liveness

    def _check_liveness(self):
        """Drains the escrow inside a snapshot (see the module docstring), then reverts the chain
        and the model to where they were. The snapshot is brownie's own, so brownie forgets the
        drain's transactions (and their nonces) with the chain; the machine's snapshot, to which
        each example returns, is put back as brownie's afterwards."""
        saved = self._save()
        base = chain._snapshot_id
        chain.snapshot()
        try:
            self._drain()
        finally:
            chain.revert()
            chain._snapshot_id = base  # taken before the drain's snapshot: still valid
            self._restore(saved)
        self.outcomes["liveness drains"] += 1

    def _save(self):
        campaigns = []
        for c in self.campaigns:
            c = {**c, "pledges": defaultdict(int, c["pledges"])}
            if "voted" in c:
                c["voted"] = dict(c["voted"])
            campaigns.append(c)
        return {
            "t": self.t,
            "campaigns": campaigns,
            "fees": defaultdict(int, self.fees),
            "paid": defaultdict(int, self.paid),
            "owed": defaultdict(int, self.owed),
            "replay": copy.copy(self.replay),
            "ledger_pledges": defaultdict(int, self.ledger_pledges),
            "blocked": set(self.blocked),
            "mode": self.mode,
            "surplus": self.surplus,
            "outcomes": Counter(self.outcomes),
        }

    def _restore(self, saved):
        outcomes = saved.pop("outcomes")
        drained = Counter(
            {f"drain: {k}": n - outcomes[k] for k, n in self.outcomes.items() if n > outcomes[k]}
        )
        self.outcomes.clear()
        self.outcomes.update(outcomes + drained)
        for name, value in saved.items():
            setattr(self, name, value)

    def _drain(self):
        """Backers, creators and the fee recipient alone take every unit out, in bounded time."""
        times = [self.t] + [c["deadline"] for c in self.campaigns]
        times += [max(c["vote_end"], c["claimed_at"]) for c in self.campaigns if c["milestone"]]
        self._travel(max(times) + max(CLAIM_WINDOW, MAX_SILENCE) + 1)  # every claim window closed
        for i, c in enumerate(self.campaigns):  # every vote decided, every delivery aborted
            self._forced = i
            try:
                if self._state(c, self.t + 1) == IN_DELIVERY and c["pending"]:
                    self.rule_release(0, 0)
                if self._state(c, self.t + 1) == IN_DELIVERY:
                    self.rule_abort_stale(0, 0)
                for b in self.backers:  # every position refunded, elsewhere if the token blocks it
                    if c["pledges"][b.address] and self._state(c, self.t + 1) != CLAIMED:
                        self._refund(0, 0, "rescue" if self._refuses(c["asset"], b) else None, backer=b)
            finally:
                self._forced = None
        for (address, asset), amount in list(self.owed.items()):  # every credit withdrawn
            if amount:
                account = next(a for a in self.actors if a.address == address)
                index = next(i for i, (_, a, _) in enumerate(self.assets) if a == asset)
                dest = "rescue" if self._refuses(asset, account) else "self"
                self.rule_withdraw_owed(index, 0, dest, account=account)
        while any(self.fees.values()):  # every fee, by the fee recipient
            self.rule_withdraw_fees(0, 0, caller=self.fee_recipient)

        balances = self._balances()
        for _, address, _ in self.assets:
            left = balances[(address, self.escrow.address)]
            assert left == (self.surplus if address == ETH else 0), (
                f"liveness: {left} of {address} left in escrow"
            )
        assert not any(self.owed.values()) and not any(self.fees.values())
        for c in self.campaigns:
            assert self._owed(c) == 0, c
        self.invariant_accounts()  # every account holds exactly its start plus what it was due
        self.invariant_campaign_totals()


def _batch(requests):
    """Runs JSON-RPC requests in one HTTP round trip; returns each result as an int."""
    if not requests:
        return []
    responses = web3.provider.make_batch_request(requests)
    assert isinstance(responses, list), responses
    return [int(r["result"], 16) if r["result"] != "0x" else 0 for r in responses]


@pytest.mark.skip_coverage
@pytest.mark.timeout(600)
def test_escrow_state_machine(
    escrow,
    token,
    fot_token,
    blocklist_token,
    SwitchableReceiver,
    ForceFeeder,
    accounts,
    owner,
    creator,
    alice,
    bob,
    carol,
    fee_recipient,
):
    """(Skipped under --coverage: tracing every one of its ~1000 transactions would take long, and
    the unit tests cover every line on their own.)"""
    backers = [alice, bob, carol, accounts[6]]
    for t in (token, fot_token, blocklist_token):  # the fixtures funded alice, bob and carol
        t.mint(accounts[6], 10**24, {"from": accounts[6]})
        t.approve(escrow, 2**256 - 1, {"from": accounts[6]})
    assets = [
        ("eth", ETH, None),
        ("erc20", token.address, token),
        ("fot", fot_token.address, fot_token),
        ("blk", blocklist_token.address, blocklist_token),
    ]
    receiver = SwitchableReceiver.deploy({"from": owner})
    creators = [creator, accounts[5], receiver]
    rescue = accounts[7]
    EscrowMachine.configure(
        escrow, assets, backers, creators, fee_recipient, receiver, rescue, (ForceFeeder, owner)
    )
    chain.snapshot()
    run_state_machine_as_test(
        EscrowMachine,
        # derandomized: the same sequences on every machine and every run, so the checks below are stable
        settings=settings(max_examples=24, stateful_step_count=50, deadline=None, derandomize=True),
    )
    # not vacuous: money went in and came out, and the model predicted reverts too (the counts,
    # shown with -s, typically have every kind of state change in the tens)
    outcomes = EscrowMachine.outcomes
    print(sorted(outcomes.items()))
    assert outcomes["createCampaign"] and outcomes["pledge"], dict(outcomes)
    assert sum(outcomes[k] for k in ("unpledge", "claim", "refund")) > 0, dict(outcomes)
    assert sum(n for k, n in outcomes.items() if k.startswith("CrowdfundEscrow")) > 0, dict(outcomes)
    # the milestone paths: tranche 0 claimed, votes, a release that passed, one that aborted and a
    # refund after an abort
    for key in ("createMilestoneCampaign", "requestRelease", "vote", "release passed", "release aborted"):
        assert outcomes[key], (key, dict(outcomes))
    assert outcomes["refund after abort"], dict(outcomes)
    # the exits (issue 18): each taken, in the random walk or in a liveness drain (the drains go
    # through the same rules and model checks), and the walk itself takes them often
    exits = ("abortStale", "refundTo", "withdrawOwed", "payout deferred", "refund after expiry")
    for key in exits:
        assert outcomes[key] + outcomes[f"drain: {key}"], (key, dict(outcomes))
    assert sum(outcomes[key] for key in exits) >= 10, dict(outcomes)
    for key in ("abortStale", "refund", "withdrawFees"):  # refundTo only for a blocked backer
        assert outcomes[f"drain: {key}"], (key, dict(outcomes))
    assert outcomes["liveness drains"] >= 20, dict(outcomes)
