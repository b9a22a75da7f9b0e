"""Seed an escrow with demo campaigns in every state.

    summary = seed_demo(w3, deployment, backers=200)
    print(summary.describe())

On a development node (anvil, or hardhat) backers are cheap: addresses derived from their index
get a balance with `anvil_setBalance` and send through `anvil_impersonateAccount`, and time is
moved with `evm_increaseTime`/`evm_mine`, so the demo gets campaigns that are Funding, Succeeded
(goal met, and keep-it-all short of its goal), Failed, Cancelled and Claimed, in ETH and in the
demo token, with pledges spread over a simulated week, some unpledges, refunds, claims and a fee
withdrawal in each asset.

Beside them, milestone campaigns in every phase: funding; succeeded with tranche 0 unclaimed; in
delivery with a release vote open right now (some backers approved, some rejected, the vote ends
days after the seeding, so the page shows it live); in delivery between tranches (tranche 1
released, no vote open); fully released, in ETH and in the token; and aborted by a rejected vote,
some backers refunded pro rata and the others not yet. Creators publish a few disclosures, on a
plain campaign too. Reports and documents are the keccak of a short text
("Milestone 1 report: prototype shipped").

On ganache the node's unlocked accounts are the backers. On a real RPC URL with one funded key
there is neither impersonation nor time travel: the sender backs its own campaigns, which stay
Funding (a milestone campaign too) or get Cancelled (and refunded), and publishes disclosures; the
summary lists what was skipped.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from eth_utils import keccak, to_checksum_address
from web3 import Web3
from web3.exceptions import Web3Exception
from web3.logs import DISCARD

from ledger.chain.deployment import Deployment
from devnet.deploy import (
    DEMO_TOKEN_SYMBOL,
    NodeAccount,
    Sender,
    TransactionFailed,
    deploy_token,
    escrow_contract,
    token_contract,
    transact,
)
from ledger.errors import ConfigError

ZERO_ADDRESS = "0x" + "00" * 20
# campaignState() by index
STATE_NAMES = ("Funding", "Succeeded", "Failed", "Cancelled", "Claimed", "InDelivery", "Aborted")
# where a milestone campaign stands, read from campaignState() and getMilestones(); "voting" and
# "delivering" are both InDelivery, with and without a vote open
MILESTONE_PHASES = ("funding", "succeeded", "voting", "delivering", "released", "aborted")
PHASE_STATES = {"funding": "Funding", "succeeded": "Succeeded", "voting": "InDelivery",
                "delivering": "InDelivery", "released": "Claimed", "aborted": "Aborted"}
DAY = 86_400
ETHER = 10**18

# explicit gas limits on development nodes spare an eth_estimateGas round trip per transaction
GAS = {"createCampaign": 300_000, "pledge": 250_000, "unpledge": 200_000, "cancel": 150_000,
       "claim": 250_000, "refund": 200_000, "withdrawFees": 200_000, "mint": 150_000, "approve": 100_000,
       "createMilestoneCampaign": 400_000, "requestRelease": 150_000, "vote": 150_000, "release": 250_000,
       "disclose": 150_000}


@dataclass
class Capabilities:
    """What the node lets a seeder do besides sending transactions."""

    client: str = ""
    time_travel: bool = False  # evm_increaseTime + evm_mine
    impersonation: str | None = None  # "anvil" or "hardhat": <prefix>_setBalance/_impersonateAccount

    @property
    def development(self) -> bool:
        return self.time_travel or self.impersonation is not None


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
    aborts: int = 0
    disclosures: int = 0
    transactions: int = 0
    first_block: int = 0
    last_block: int = 0
    simulated_seconds: int = 0
    milestones: dict[str, list[int]] = field(default_factory=dict)
    details: dict[int, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["titles"] = {str(k): v for k, v in self.titles.items()}
        data["details"] = {str(k): v for k, v in self.details.items()}
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
            f"{self.aborts} aborts, {self.disclosures} disclosures; "
            f"{self.transactions} transactions in blocks {self.first_block}-{self.last_block}"
        )
        if self.simulated_seconds:
            lines.append(f"  simulated time: {self.simulated_seconds / DAY:.1f} days")
        for item in self.skipped:
            lines.append(f"  skipped: {item}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# node capabilities
# ---------------------------------------------------------------------------------------------


def _rpc(w3: Web3, method: str, params: list[Any]) -> Any:
    response = w3.provider.make_request(method, params)
    if "error" in response:
        error = response["error"]
        raise ConfigError(f"{method} failed: {error.get('message', error) if isinstance(error, dict) else error}")
    return response.get("result")


def _supports(w3: Web3, method: str, params: list[Any]) -> bool:
    try:
        _rpc(w3, method, params)
        return True
    except ConfigError:  # unknown method, or any other refusal: treat as unsupported
        return False


def detect_capabilities(w3: Web3) -> Capabilities:
    """Probe the node: anvil and hardhat impersonate, any of them with evm_increaseTime travels."""
    try:
        client = str(w3.client_version)
    except (Web3Exception, ValueError):
        client = ""
    lowered = client.lower()
    impersonation = "anvil" if "anvil" in lowered else "hardhat" if "hardhat" in lowered else None
    # a zero increase is harmless, and real nodes answer "method not found"
    time_travel = _supports(w3, "evm_increaseTime", [0])
    return Capabilities(client=client, time_travel=time_travel, impersonation=impersonation)


# ---------------------------------------------------------------------------------------------
# the plan
# ---------------------------------------------------------------------------------------------


@dataclass
class _Campaign:
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
_FULL_PLAN = [
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
_KEY_PLAN = [
    ("Community garden beds", False, "Funding", False, False),
    ("Indie game soundtrack", True, "Funding", False, False),
    ("Robot kit for schools", False, "Cancelled", False, False),
    ("Film festival shorts", True, "Cancelled", False, False),
]

# (title, token campaign?, phase, tranche plan in bps, voting period, the reports of its release
# requests); without time travel only the "funding" ones
_MILESTONE_PLAN = [
    ("Open hardware weather station", True, "funding", (4000, 3000, 3000), 3 * DAY, ()),
    ("River keepers documentary", False, "succeeded", (3000, 7000), 3 * DAY, ()),
    ("Cargo bike trailer", False, "voting", (2000, 3000, 5000), 3 * DAY,
     ("Milestone 1 report: prototype shipped",)),
    ("Repair cafe tool library", True, "delivering", (2000, 3000, 5000), 2 * DAY,
     ("Milestone 1 report: first 40 tools bought and tagged",)),
    ("Community darkroom", False, "released", (2000, 3000, 5000), 2 * DAY,
     ("Milestone 1 report: enlargers restored", "Milestone 2 report: darkroom open to members")),
    ("Field guide translation", True, "released", (5000, 5000), 2 * DAY,
     ("Milestone 1 report: manuscript translated, proofs sent",)),
    ("Smart beehive sensors", False, "aborted", (2500, 2500, 5000), 2 * DAY,
     ("Milestone 1 report: sensors delayed, supplier changed",)),
]

# (campaign title, document) published by the creator at the end, when the campaign is seeded
_DISCLOSURES = [
    ("Community garden beds", "Delay notice: the soil delivery moves to next month"),
    ("Rooftop solar panels", "Spending report: 24 panels and two inverters, invoices attached"),
    ("Open hardware weather station", "Design update: the enclosure moves to recycled plastic"),
    ("Repair cafe tool library", "Spending report: tranche 1 spent on tools, inventory attached"),
]


def _plan(time_travel: bool) -> list[_Campaign]:
    plain = [_Campaign(*row) for row in (_FULL_PLAN if time_travel else _KEY_PLAN)]
    milestones = [
        _Campaign(title, token, PHASE_STATES[phase], phase=phase, tranches=tranches, voting_period=period,
                  reports=reports)
        for title, token, phase, tranches, period, reports in _MILESTONE_PLAN
        if time_travel or phase == "funding"
    ]
    return plain + milestones


def demo_backer_address(index: int) -> str:
    """The deterministic address of demo backer `index` (nobody holds its key)."""
    return to_checksum_address(keccak(text=f"crowdledger demo backer {index}")[-20:])


def demo_creator_address(index: int) -> str:
    return to_checksum_address(keccak(text=f"crowdledger demo creator {index}")[-20:])


class _Seeder:
    """Sends the seed's transactions. On anvil/hardhat it turns automining off and mines the
    transactions in blocks of up to CHUNK (a few minutes of simulated time apart), which makes
    seeding hundreds of backers quick; elsewhere it sends one at a time."""

    CHUNK = 40

    def __init__(self, w3: Web3, sender: Sender, caps: Capabilities, escrow: Any) -> None:
        self.w3 = w3
        self.sender = sender
        self.caps = caps
        self.escrow = escrow
        self.fast = caps.development  # explicit gas limits instead of estimates
        self.batching = False
        self.pending: list[tuple[bytes, str, Any, Sender, int]] = []
        self.receipts: dict[bytes, Any] = {}
        self.transactions = 0
        self.first_block = 0
        self.simulated = 0
        self.chunk_seconds = 0  # simulated time between two blocks of a batch

    # -- batching ----------------------------------------------------------------------------

    def start_batching(self) -> None:
        prefix = self.caps.impersonation
        if prefix is None:
            return
        try:  # leave a node that mines on an interval alone
            automine = _rpc(self.w3, f"{prefix}_getAutomine", [])
        except ConfigError:
            return
        if automine:
            _rpc(self.w3, "evm_setAutomine", [False])
            self.batching = True

    def stop_batching(self) -> None:
        if self.batching:
            try:
                self.flush()
            finally:
                _rpc(self.w3, "evm_setAutomine", [True])
                self.batching = False

    def send(self, who: Sender, call: Any, value: int = 0) -> bytes:
        """Send one transaction; in batch mode it is mined by the next flush()."""
        label = f"{call.fn_name}{tuple(call.args)}"
        gas = GAS.get(call.fn_name) if self.fast else None
        if not self.batching:
            try:
                receipt = transact(self.w3, who, call, value=value, gas=gas, what=label)
            except TransactionFailed as exc:
                raise TransactionFailed(f"{exc}{self._reason(who, call, value) if gas else ''}") from None
            self._mined(receipt)
            return bytes(receipt["transactionHash"])
        tx = {"to": call.address, "data": call._encode_transaction_data(), "value": value, "gas": gas}
        try:
            tx_hash = who.send(self.w3, tx)
        except ValueError as exc:
            raise TransactionFailed(f"{label} was refused: {str(exc).splitlines()[0][:300]}") from None
        self.pending.append((tx_hash, label, call, who, value))
        if len(self.pending) >= self.CHUNK:
            self.flush(advance=True)
        return tx_hash

    def flush(self, *, advance: bool = False) -> None:
        """Mine until every pending transaction has a receipt; raise on the first revert.
        With `advance`, the block comes `chunk_seconds` after the previous one."""
        pending, self.pending = self.pending, []
        if advance and self.chunk_seconds and pending:
            _rpc(self.w3, "evm_increaseTime", [self.chunk_seconds])
            self.simulated += self.chunk_seconds
        waiting = {h for h, *_ in pending}
        for _ in range(len(pending) + 5):
            if not waiting:
                break
            before = int(self.w3.eth.block_number)
            _rpc(self.w3, "evm_mine", [])
            for number in range(before + 1, int(self.w3.eth.block_number) + 1):
                for receipt in self._block_receipts(number):
                    tx_hash = bytes(Web3.to_bytes(hexstr=receipt["transactionHash"]))
                    self.receipts[tx_hash] = receipt
                    waiting.discard(tx_hash)
        if waiting:
            raise TransactionFailed(f"{len(waiting)} seed transactions were not mined")
        for tx_hash, label, call, who, value in pending:
            receipt = self.receipts[tx_hash]
            if int(receipt["status"], 16) != 1:
                raise TransactionFailed(f"{label} reverted{self._reason(who, call, value)}")
            self._mined({"blockNumber": int(receipt["blockNumber"], 16)})

    def receipt(self, tx_hash: bytes) -> Any:
        if self.batching:
            self.flush()
            return self.w3.eth.get_transaction_receipt(tx_hash)
        return self.w3.eth.get_transaction_receipt(tx_hash)

    def _block_receipts(self, number: int) -> list[dict[str, Any]]:
        try:
            return list(_rpc(self.w3, "eth_getBlockReceipts", [hex(number)]) or [])
        except ConfigError:
            block = self.w3.eth.get_block(number)
            return [
                _rpc(self.w3, "eth_getTransactionReceipt", [Web3.to_hex(h)]) for h in block["transactions"]
            ]

    def _mined(self, receipt: Any) -> None:
        self.transactions += 1
        if not self.first_block:
            self.first_block = int(receipt["blockNumber"])

    def _reason(self, who: Sender, call: Any, value: int) -> str:
        """Why a call reverts (re-run on the latest state): the receipt alone does not say."""
        try:
            call.call({"from": who.address, "value": value})
        except Exception as reason:  # noqa: BLE001 - the reason is all we want from it
            return ": " + str(reason).splitlines()[0][:300]
        return ""

    # -- time and accounts -------------------------------------------------------------------

    def travel(self, seconds: int) -> None:
        self.flush() if self.batching else None
        _rpc(self.w3, "evm_increaseTime", [int(seconds)])
        _rpc(self.w3, "evm_mine", [])
        self.simulated += int(seconds)

    def now(self) -> int:
        self.flush() if self.batching else None
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def fund(self, address: str, wei: int) -> None:
        prefix = self.caps.impersonation
        _rpc(self.w3, f"{prefix}_setBalance", [address, hex(wei)])
        _rpc(self.w3, f"{prefix}_impersonateAccount", [address])

    def accounts(
        self, wanted: int, eth_each: int, use_unlocked: bool
    ) -> tuple[list[Sender], list[Sender], list[str]]:
        """(creators, backers, notes)."""
        notes: list[str] = []
        if self.caps.impersonation:
            creators = [NodeAccount(demo_creator_address(i)) for i in range(3)]
            backers = [NodeAccount(demo_backer_address(i)) for i in range(wanted)]
            for account in creators + backers:
                self.fund(account.address, eth_each)
            return creators, backers, notes
        unlocked = [a for a in self._unlocked() if a.lower() != self.sender.address.lower()] if use_unlocked else []
        if unlocked:
            backers = [NodeAccount(a) for a in unlocked[:wanted]]
            if len(backers) < wanted:
                notes.append(f"{wanted - len(backers)} of {wanted} backers: the node has only "
                             f"{len(unlocked)} other unlocked accounts and no impersonation")
            return [self.sender], backers, notes
        notes.append(f"{wanted} distinct backers: the node cannot impersonate accounts, so the sender "
                     "backs its own campaigns")
        return [self.sender], [self.sender], notes

    def _unlocked(self) -> list[str]:
        try:
            return list(self.w3.eth.accounts)
        except (Web3Exception, ValueError):  # a provider that refuses eth_accounts has none
            return []


def _resolve_token(
    w3: Web3, deployment: Deployment, sender: Sender, token_address: str | None, log: Callable[[str], None]
) -> tuple[Any, bool]:
    address = token_address or deployment.tokens.get(DEMO_TOKEN_SYMBOL)
    if address:
        if not w3.eth.get_code(to_checksum_address(address)):
            raise ConfigError(f"no contract at the demo token address {address}")
        return token_contract(w3, address), False
    log(f"deploying the demo token ({DEMO_TOKEN_SYMBOL})")
    return deploy_token(w3, sender), True


def seed_demo(
    w3: Web3,
    deployment: Deployment,
    *,
    backers: int = 24,
    sender: Sender | None = None,
    token_address: str | None = None,
    seed: int = 7,
    eth_unit: int | None = None,
    token_unit: int = ETHER,
    time_travel: bool | None = None,
    impersonation: bool | None = None,
    unlocked_backers: bool = True,
    log: Callable[[str], None] | None = None,
) -> SeedSummary:
    """Create demo campaigns in every state the node allows; returns what was done.

    backers: how many distinct backers (all of them on anvil/hardhat; on ganache at most its
        other unlocked accounts; on a real node only the sender).
    sender: deploys the demo token if the deployment has none, mints, and withdraws the fees;
        by default the node's first unlocked account.
    eth_unit: the ETH pledge scale in wei (pledges are 0.05-2 units): 1 ETH on development
        nodes, 0.0001 ETH elsewhere. token_unit likewise for the token (10-500 units).
    time_travel, impersonation, unlocked_backers: False turns off what detect_capabilities
        found (all three False makes anvil behave like a real node with one key).
    """
    log = log or (lambda message: None)
    if backers < 1:
        raise ConfigError("seed_demo needs at least one backer")
    caps = detect_capabilities(w3)
    if time_travel is False:
        caps.time_travel = False
    if impersonation is False:
        caps.impersonation = None
    if sender is None:
        accounts = w3.eth.accounts
        if not accounts:
            raise ConfigError("seed_demo needs a sender: the node has no unlocked account")
        sender = NodeAccount(accounts[0])
    if eth_unit is None:
        eth_unit = ETHER if caps.development else ETHER // 10_000
    if not w3.eth.get_code(to_checksum_address(deployment.address)):
        raise ConfigError(f"no contract at {deployment.address}: deploy first (wrong chain or deployment file?)")

    escrow_contract_ = escrow_contract(w3, deployment.address)
    escrow = escrow_contract_.functions
    token, token_deployed = _resolve_token(w3, deployment, sender, token_address, log)
    seeder = _Seeder(w3, sender, caps, escrow_contract_)
    seeder.start_batching()
    try:
        summary = _seed(seeder, w3, deployment, escrow, token, sender, caps, backers, seed, eth_unit, token_unit,
                        unlocked_backers, log)
    finally:
        seeder.stop_batching()
    summary.token_deployed = token_deployed
    return summary


def _seed(
    seeder: _Seeder,
    w3: Web3,
    deployment: Deployment,
    escrow: Any,
    token: Any,
    sender: Sender,
    caps: Capabilities,
    wanted_backers: int,
    seed: int,
    eth_unit: int,
    token_unit: int,
    unlocked_backers: bool,
    log: Callable[[str], None],
) -> SeedSummary:
    rng = random.Random(seed)
    skipped: list[str] = []
    campaigns = _plan(caps.time_travel)
    if not caps.time_travel:
        skipped.append("Succeeded, Failed and Claimed campaigns, claims and fee withdrawals: "
                       "the node has no evm_increaseTime, so no deadline can pass")
        skipped.append("milestone campaigns past funding (succeeded, voting, delivering, released, aborted) and "
                       "their release votes: they need deadlines and votes to pass")

    # -- backers and their money -----------------------------------------------------------------
    creators, people, notes = seeder.accounts(wanted_backers, 10_000 * max(eth_unit, ETHER), unlocked_backers)
    skipped.extend(notes)
    solo = len(people) == 1 and people[0].address == sender.address
    mode = (f"{caps.client.split('/')[0] or 'node'}, "
            + ("the sender alone" if solo else "impersonated backers" if caps.impersonation else "unlocked accounts")
            + (", time travel" if caps.time_travel else ", no time travel"))
    log(f"seeding {len(campaigns)} campaigns with {len(people)} backers ({mode})")

    # who backs what: every campaign gets several backers; a backer may back several campaigns.
    # Milestone campaigns get fewer: each of their backers also votes, and seeding stays quick.
    per_campaign = min(len(people), max(3, round(len(people) * 0.35)))
    per_milestone = min(len(people), max(3, round(len(people) * 0.08)))
    for campaign in campaigns:
        campaign.backers = sorted(rng.sample(range(len(people)), per_milestone if campaign.phase else per_campaign))

    def eth_amount() -> int:
        return eth_unit * rng.randrange(5, 201) // 100  # 0.05 - 2.00 units

    def token_amount() -> int:
        return token_unit * rng.randrange(10, 501)  # 10 - 500 tokens

    # the plan: pledges and unpledges as (round, campaign index, backer index, amount)
    rounds = 6
    cancel_round = rounds // 2  # cancelled campaigns are cancelled at the end of round 2
    pledges: list[tuple[int, int, int, int]] = []
    unpledges: list[tuple[int, int, int, int]] = []
    net: dict[int, int] = {}
    for ci, campaign in enumerate(campaigns):
        last_round = cancel_round - 1 if campaign.target == "Cancelled" else rounds - 1
        for bi in campaign.backers:
            amount = token_amount() if campaign.token else eth_amount()
            first = rng.randrange(0, max(1, last_round))
            pledges.append((first, ci, bi, amount))
            total = amount
            if rng.random() < 0.25 and first + 1 <= last_round:  # a repeat pledge later on
                more = token_amount() if campaign.token else eth_amount()
                pledges.append((rng.randrange(first + 1, last_round + 1), ci, bi, more))
                total += more
            # some take part of it back in the next round (before any cancel, and long before
            # the unpledge lock window); at least one backer does
            if (rng.random() < 0.2 or not unpledges) and first + 1 <= min(last_round, rounds // 2):
                back = amount // 2
                unpledges.append((first + 1, ci, bi, back))
                total -= back
            net[ci] = net.get(ci, 0) + total
            campaign.stakes[bi] = total

    for ci, campaign in enumerate(campaigns):
        raised = net.get(ci, 0)
        unit = token_unit if campaign.token else eth_unit
        if campaign.target not in ("Funding", "Failed", "Cancelled") and not campaign.keep_it_all:
            cents = max(1, unit // 100)
            campaign.goal = max(1, raised * 4 // 5 // cents * cents)  # met, with room to spare
        else:  # not met: Funding, Failed, Cancelled, and keep-it-all (which succeeds anyway)
            campaign.goal = (raised * 3 // 2 // unit + 1) * unit
        if campaign.capped:
            largest = max((a for _, c, _, a in pledges if c == ci), default=unit)
            campaign.cap = max(4 * largest, 2_000 * unit)  # generous: no pledge here reaches it
        campaign.long = campaign.target == "Funding"

    # -- tokens for the backers of token campaigns --------------------------------------------------
    token_backers = sorted({bi for campaign in campaigns if campaign.token for bi in campaign.backers})
    for bi in token_backers:
        needed = sum(a for _, ci, b, a in pledges if b == bi and campaigns[ci].token)
        seeder.send(sender, token.functions.mint(people[bi].address, needed))
        seeder.send(people[bi], token.functions.approve(deployment.address, needed))

    # -- campaigns ----------------------------------------------------------------------------------
    lock_window = int(escrow.unpledgeLockWindow().call())
    start = seeder.now()
    if caps.time_travel:
        short_span = max(7 * DAY, lock_window + 3 * DAY)
        round_gap = (short_span - lock_window - DAY) // rounds  # every round ends before the lock window
        seeder.chunk_seconds = min(300, round_gap // 100)  # within a round, blocks a few minutes apart
        long_deadline = start + short_span + 60 * DAY
    else:
        short_span, round_gap, long_deadline = 30 * DAY, 0, start + 60 * DAY
    short_deadline = start + short_span
    created = []
    for ci, campaign in enumerate(campaigns):
        campaign.creator = creators[ci % len(creators)]
        metadata = keccak(text=json.dumps({"title": campaign.title, "seed": seed}, sort_keys=True))
        asset = token.address if campaign.token else ZERO_ADDRESS
        deadline = long_deadline if campaign.long else short_deadline
        if campaign.phase:
            call = escrow.createMilestoneCampaign(asset, campaign.goal, deadline, campaign.cap, metadata,
                                                  list(campaign.tranches), campaign.voting_period)
        else:
            call = escrow.createCampaign(asset, campaign.goal, deadline, campaign.cap, campaign.keep_it_all, metadata)
        created.append(seeder.send(campaign.creator, call))
    for campaign, tx_hash in zip(campaigns, created):
        campaign.id = _created_id(seeder.escrow, seeder.receipt(tx_hash))
        log(f"campaign #{campaign.id} {campaign.title!r}: {campaign.target}")

    # -- pledging rounds, spread over the simulated time ------------------------------------------------
    counts = dict.fromkeys(("pledges", "unpledges", "cancels", "claims", "refunds", "fees", "requests", "votes",
                            "releases", "aborts", "disclosures"), 0)
    for rnd in range(rounds):
        if rnd and caps.time_travel:
            seeder.travel(round_gap)
        for _, ci, bi, amount in sorted((p for p in pledges if p[0] == rnd), key=lambda p: (p[1], p[2])):
            campaign = campaigns[ci]
            seeder.send(people[bi], escrow.pledge(campaign.id, amount), value=0 if campaign.token else amount)
            counts["pledges"] += 1
        seeder.flush() if seeder.batching else None
        for _, ci, bi, amount in (u for u in unpledges if u[0] == rnd):
            seeder.send(people[bi], escrow.unpledge(campaigns[ci].id, amount))
            counts["unpledges"] += 1
        if rnd == cancel_round - 1:
            seeder.flush() if seeder.batching else None
            for campaign in campaigns:
                if campaign.target == "Cancelled":
                    seeder.send(campaign.creator, escrow.cancel(campaign.id))
                    counts["cancels"] += 1
        log(f"round {rnd + 1}/{rounds}: {counts['pledges']} pledges, {counts['unpledges']} unpledges so far")

    # -- settlement -------------------------------------------------------------------------------------
    if caps.time_travel:
        seeder.travel(short_deadline - seeder.now() + 3600)  # an hour past the short deadlines
        for campaign in campaigns:
            # plain campaigns are claimed whole; milestone campaigns past Succeeded take tranche 0
            if campaign.target in ("Claimed", "InDelivery", "Aborted"):
                seeder.send(campaign.creator, escrow.claim(campaign.id))
                counts["claims"] += 1
    else:
        seeder.flush() if seeder.batching else None
    for campaign in campaigns:
        if campaign.target in ("Failed", "Cancelled"):
            # about half the backers have come back for their money so far
            for bi in campaign.backers[: max(1, len(campaign.backers) // 2)]:
                seeder.send(people[bi], escrow.refund(campaign.id))
                counts["refunds"] += 1
    seeder.flush() if seeder.batching else None
    if caps.time_travel:
        _decide_releases(seeder, escrow, campaigns, people, counts)  # the last time travel
        for asset in (ZERO_ADDRESS, token.address):
            if escrow.accruedFees(asset).call() > 0:
                seeder.send(sender, escrow.withdrawFees(asset))
                counts["fees"] += 1
            else:
                skipped.append(f"fee withdrawal in {asset}: no fees accrued (a 0 bps fee?)")
        # fresh activity on the open campaigns, "today"
        fresh = [(campaign, bi) for campaign in campaigns if campaign.target == "Funding" for bi in campaign.backers[:2]]
        amounts = [token_amount() if campaign.token else eth_amount() for campaign, _ in fresh]
        fresh_tokens: dict[int, int] = {}  # a backer may back two open token campaigns: one allowance
        for (campaign, bi), amount in zip(fresh, amounts):
            if campaign.token:
                fresh_tokens[bi] = fresh_tokens.get(bi, 0) + amount
        for bi, amount in fresh_tokens.items():
            seeder.send(sender, token.functions.mint(people[bi].address, amount))
            seeder.send(people[bi], token.functions.approve(deployment.address, amount))
        seeder.flush() if seeder.batching else None
        for (campaign, bi), amount in zip(fresh, amounts):
            seeder.send(people[bi], escrow.pledge(campaign.id, amount), value=0 if campaign.token else amount)
            counts["pledges"] += 1
        # votes open right now: after the last time travel, so they stay open for days
        _request_and_vote(seeder, escrow, [c for c in campaigns if c.phase == "voting"], people, counts)
    for title, document in _DISCLOSURES:
        for campaign in (c for c in campaigns if c.title == title):
            seeder.send(campaign.creator, escrow.disclose(campaign.id, keccak(text=document)))
            counts["disclosures"] += 1
    seeder.flush() if seeder.batching else None

    # -- what the chain says ------------------------------------------------------------------------------
    by_state: dict[str, list[int]] = {name: [] for name in STATE_NAMES}
    by_phase: dict[str, list[int]] = {name: [] for name in MILESTONE_PHASES}
    details: dict[int, str] = {}
    now = seeder.now()
    for campaign in campaigns:
        state = STATE_NAMES[int(escrow.campaignState(campaign.id).call())]
        by_state[state].append(campaign.id)
        if state != campaign.target:
            skipped.append(f"campaign #{campaign.id} is {state}, planned {campaign.target}")
        if campaign.phase:
            symbol = DEMO_TOKEN_SYMBOL if campaign.token else "ETH"
            phase, details[campaign.id] = _milestone_status(state, read_milestones(escrow, campaign.id), now, symbol)
            by_phase.setdefault(phase, []).append(campaign.id)
            if phase != campaign.phase:
                skipped.append(f"milestone campaign #{campaign.id} is {phase}, planned {campaign.phase}")
    return SeedSummary(
        escrow=deployment.address,
        token=token.address,
        token_deployed=False,
        mode=mode,
        campaigns=by_state,
        titles={c.id: c.title for c in campaigns},
        backers=len({p.address for p in people}),
        pledges=counts["pledges"],
        unpledges=counts["unpledges"],
        cancels=counts["cancels"],
        claims=counts["claims"],
        refunds=counts["refunds"],
        fee_withdrawals=counts["fees"],
        release_requests=counts["requests"],
        votes=counts["votes"],
        releases=counts["releases"],
        aborts=counts["aborts"],
        disclosures=counts["disclosures"],
        transactions=seeder.transactions,
        first_block=seeder.first_block,
        last_block=int(w3.eth.block_number),
        simulated_seconds=seeder.simulated,
        milestones=by_phase,
        details=details,
        skipped=skipped,
    )


def _created_id(escrow: Any, receipt: Any) -> int:
    # a milestone campaign's receipt also holds its MilestonePlan
    events = escrow.events.CampaignCreated().process_receipt(receipt, errors=DISCARD)
    if not events:
        raise TransactionFailed("createCampaign emitted no CampaignCreated event")
    return int(events[0]["args"]["campaignId"])


# ---------------------------------------------------------------------------------------------
# milestone campaigns: release requests, votes, releases
# ---------------------------------------------------------------------------------------------

# getMilestones() as web3 decodes it: a tuple in ICrowdfundEscrow.Milestones order
MILESTONE_FIELDS = (
    "trancheBps", "votingPeriod", "tranchesReleased", "releasedAmount", "nextTrancheAmount", "votePending",
    "voteTranche", "reportHash", "voteEnd", "approveWeight", "rejectWeight", "aborted", "abortRemaining",
    "refunded", "unrefundedWeight", "dust",
)


def read_milestones(escrow: Any, campaign_id: int) -> dict[str, Any]:
    """getMilestones(campaign_id) by field name; `escrow` is the contract's `functions`."""
    return dict(zip(MILESTONE_FIELDS, escrow.getMilestones(campaign_id).call()))


def _decided(campaign: _Campaign) -> int:
    """How many of a campaign's release requests are decided while seeding (a "voting"
    campaign's last one stays open)."""
    return len(campaign.reports) - (campaign.phase == "voting")


def _decide_releases(
    seeder: _Seeder, escrow: Any, campaigns: list[_Campaign], people: list[Sender], counts: dict[str, int]
) -> None:
    """Round after round, the creators report, the backers vote, time passes the votes' end,
    and the seeder releases: the tranche is paid, or the campaign aborted. Then about half of
    each aborted campaign's backers take their pro-rata refund."""
    for rnd in range(max(map(_decided, campaigns), default=0)):
        due = [c for c in campaigns if rnd < _decided(c)]
        _request_and_vote(seeder, escrow, due, people, counts)
        seeder.travel(max(c.voting_period for c in due))
        for campaign in due:
            seeder.send(seeder.sender, escrow.release(campaign.id))
            counts["aborts" if _ballot_outcome(campaign, rnd) == "reject" else "releases"] += 1
        seeder.flush() if seeder.batching else None
    for campaign in (c for c in campaigns if c.phase == "aborted"):
        for bi in campaign.backers[: len(campaign.backers) // 2]:
            seeder.send(people[bi], escrow.refund(campaign.id))
            counts["refunds"] += 1
    seeder.flush() if seeder.batching else None


def _request_and_vote(
    seeder: _Seeder, escrow: Any, campaigns: list[_Campaign], people: list[Sender], counts: dict[str, int]
) -> None:
    """Each campaign's creator requests its next release with the next report; its backers vote."""
    for campaign in campaigns:
        report = keccak(text=campaign.reports[campaign.requested])
        seeder.send(campaign.creator, escrow.requestRelease(campaign.id, report))
        campaign.requested += 1
        counts["requests"] += 1
    seeder.flush() if seeder.batching else None
    for campaign in campaigns:
        for bi, approve in _ballots(campaign, _ballot_outcome(campaign, campaign.requested - 1)):
            seeder.send(people[bi], escrow.vote(campaign.id, approve))
            counts["votes"] += 1
    seeder.flush() if seeder.batching else None


def _ballot_outcome(campaign: _Campaign, rnd: int) -> str:
    if rnd < len(campaign.reports) - 1:
        return "pass"
    return {"voting": "open", "aborted": "reject"}.get(campaign.phase, "pass")


def _ballots(campaign: _Campaign, outcome: str) -> list[tuple[int, bool]]:
    """Who votes how, as (backer index, approve). "pass": the heaviest three quarters vote, all
    approving but the lightest of them (with three voters or more); "reject": the heavier half
    rejects, the rest approve; "open": the first backers have voted so far, both ways."""
    if outcome == "open":
        return [(bi, i % 3 != 1) for i, bi in enumerate(campaign.backers[: max(2, len(campaign.backers) * 3 // 5)])]
    ranked = sorted(campaign.backers, key=lambda bi: (-campaign.stakes[bi], bi))
    if outcome == "reject":
        half = (len(ranked) + 1) // 2
        return [(bi, i >= half) for i, bi in enumerate(ranked)]
    voters = ranked[: max(3, (3 * len(ranked) + 3) // 4)]
    return [(bi, i < len(voters) - 1 or len(voters) < 3) for i, bi in enumerate(voters)]


def _milestone_status(state: str, m: dict[str, Any], now: int, symbol: str) -> tuple[str, str]:
    """(phase, what to say of it) of a milestone campaign in `state` with getMilestones() `m`."""
    count = len(m["trancheBps"])

    def amount(wei: int) -> str:
        return f"{wei / ETHER:.2f} {symbol}"

    tally = f"{amount(m['approveWeight'])} approve, {amount(m['rejectWeight'])} reject"
    if state == "Funding":
        split = "/".join(f"{bps / 100:g}" for bps in m["trancheBps"])
        return "funding", f"{count} tranches ({split} %), each vote lasts {m['votingPeriod'] / DAY:g} days"
    if state == "Succeeded":
        return "succeeded", f"goal met; tranche 0 of {count} not claimed yet"
    if state == "InDelivery" and m["votePending"] and now < m["voteEnd"]:
        return "voting", (f"vote on tranche {m['voteTranche']} of {count} open for {(m['voteEnd'] - now) / DAY:.1f} "
                          f"more days: {tally}")
    if state == "InDelivery":
        return "delivering", (f"{m['tranchesReleased']} of {count} tranches released ({amount(m['releasedAmount'])}), "
                              "no vote open")
    if state == "Claimed":
        both = "both" if count == 2 else f"all {count}"
        return "released", f"{both} tranches released ({amount(m['releasedAmount'])})"
    if state == "Aborted":
        return "aborted", (f"vote on tranche {m['voteTranche']} rejected ({tally}); "
                           f"{amount(m['refunded'])} of {amount(m['abortRemaining'])} refunded pro rata")
    return state.lower(), state
