"""Gas benchmark: CrowdfundEscrow against a minimal ledger-less CrowdFund.

    python bench/gas.py            (or: make bench-gas)

Starts a fresh anvil on a free port, deploys the escrow (brownie's build/contracts artifact,
compiled first when missing or stale) and bench/ReferenceCrowdFund.sol (Solidity by Example's
CrowdFund adapted to ETH, compiled here with solcx and the same settings: solc 0.8.28,
shanghai, optimizer on, 10,000 runs), plays the same scenarios on both and reads gasUsed from
the receipts (after refunds, i.e. what the sender pays for).

Target: every operation the reference has costs at most TARGET_MARGIN gas more on the escrow.
It is a benchmark, not a test: it exits 0 whatever the numbers and prints which operations
miss the target (it exits 1, with one line, only when it cannot run at all).

Like with like, in both contracts:
  * create/launch is the chain's second campaign (the campaign counter is already non-zero);
  * the measured new-backer pledge goes into a campaign that already has a pledge from someone
    else (campaign total non-zero, the backer's own slot zero); the repeat pledge is the same
    backer's second pledge into it;
  * unpledge takes back part of a pledge (the backer's slot stays non-zero), outside the
    escrow's unpledge lock window;
  * cancel is by the creator of a campaign without pledges (the reference allows cancelling only
    before its start and deletes the campaign, which earns it a storage refund);
  * claim pays the creator of a campaign that met its goal; on the escrow it is not the first
    ETH fee accrual (ETH fees share the globals slot, so the first costs the same anyway);
  * refund returns a backer's whole pledge from a campaign that missed its goal.
The sender is always the account that is paid, so no payout touches a cold account, except
withdrawFees, which pays the fee recipient (here the caller itself).

Milestone campaigns (issue 7) have no counterpart in the reference; their operations are listed
with one target of their own: a vote costs at most a repeat pledge + VOTE_MARGIN. Measured on two
ETH milestone campaigns with three tranches (30/30/40%) and two backers each: createMilestoneCampaign
(the chain's sixth campaign), the claim of tranche 0, the first requestRelease of a campaign, the
first and a later voter on a request, release when the vote passed (tranche 1 of 3, paid to the
sender) and when it failed (the abort), the first refund after an abort and the last one (which
also moves the rounding dust to the fees), and a disclosure.

The exits (issue 18) have no counterpart either: a claim whose creator (a contract,
contracts/mocks/SwitchableReceiver.sol, called through its execute(), whose overhead the figure
includes) refuses the ETH, so the payout is credited; that creator's withdrawOwed to an account; a
refundTo paying another (cold) account; a refund after the claim window closed on an unclaimed
success; abortStale on a silent milestone campaign and the first refund after it.

It also prints the escrow's runtime bytecode size against EIP-170's limit of 24,576 bytes.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from web3 import Web3

from devnet.artifacts import load_artifact
from devnet.deploy import NodeAccount, transact
from devnet.nodes import LocalNode
from ledger.errors import ConfigError, CrowdLedgerError

ROOT = Path(__file__).resolve().parents[1]

DAY = 86_400
CLAIM_WINDOW = 180 * DAY
MAX_SILENCE = 180 * DAY
EIP170_LIMIT = 24_576
TARGET_MARGIN = 10_000
VOTE_MARGIN = 10_000  # a vote may cost at most a repeat pledge + this
TRANCHES = [3_000, 3_000, 4_000]
VOTING_PERIOD = 2 * DAY
SOLC_VERSION = "0.8.28"
EVM_VERSION = "shanghai"
OPTIMIZER_RUNS = 10_000
REFERENCE_SOURCE = ROOT / "bench" / "ReferenceCrowdFund.sol"

ETH = 10**18
FEE_BPS = 250
LOCK_WINDOW = DAY
ZERO = "0x" + "00" * 20
META = b"\x11" * 32


@dataclass
class Row:
    operation: str
    escrow: int
    reference: int | None = None

    @property
    def difference(self) -> int | None:
        return None if self.reference is None else self.escrow - self.reference

    @property
    def ok(self) -> bool | None:
        return None if self.reference is None else self.escrow - self.reference <= TARGET_MARGIN


def compile_reference() -> tuple[list, str]:
    import solcx

    os.environ.setdefault("SOLCX_BINARY_PATH", str(ROOT / "toolchain" / "solcx"))  # the offline shim
    standard_input = {
        "language": "Solidity",
        "sources": {REFERENCE_SOURCE.name: {"content": REFERENCE_SOURCE.read_text()}},
        "settings": {
            "evmVersion": EVM_VERSION,
            "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
        },
    }
    out = solcx.compile_standard(standard_input, solc_version=SOLC_VERSION)
    contract = out["contracts"][REFERENCE_SOURCE.name]["ReferenceCrowdFund"]
    return contract["abi"], "0x" + contract["evm"]["bytecode"]["object"]


def token_artifact() -> tuple[str, list, str, list]:
    """MockERC20 (contracts/mocks) when it is there with mint(address,uint256), else DemoToken."""
    candidates = []
    if (ROOT / "contracts" / "mocks" / "MockERC20.sol").exists():
        candidates.append("MockERC20")
    candidates.append("DemoToken")
    for name in candidates:
        try:
            abi, bytecode = load_artifact(name)
        except ConfigError:  # a half-written mock must not stop the benchmark
            continue
        mint = [f for f in abi if f.get("type") == "function" and f.get("name") == "mint"]
        if not any([i["type"] for i in f["inputs"]] == ["address", "uint256"] for f in mint):
            continue
        ctor = next((f for f in abi if f.get("type") == "constructor"), {"inputs": []})
        args = []
        for arg in ctor["inputs"]:
            if arg["type"] == "string":
                args.append("Bench Token" if not args else "BENCH")
            elif arg["type"].startswith("uint"):
                args.append(18 if arg["type"] == "uint8" else 0)
            else:
                break
        else:
            return name, abi, bytecode, args
    raise SystemExit("bench/gas.py: no usable ERC-20 (MockERC20 or DemoToken) in build/contracts")


class Bench:
    def __init__(self, w3: Web3) -> None:
        self.w3 = w3
        accounts = w3.eth.accounts
        self.owner, self.creator = NodeAccount(accounts[0]), NodeAccount(accounts[1])
        self.backer_a, self.backer_b = NodeAccount(accounts[2]), NodeAccount(accounts[3])
        self.fee_recipient = NodeAccount(accounts[9])

    # -- helpers ---------------------------------------------------------------------------

    def deploy(self, abi: list, bytecode: str, *args: object):
        factory = self.w3.eth.contract(abi=abi, bytecode=bytecode)
        data = factory.constructor(*args).data_in_transaction
        receipt = transact(self.w3, self.owner, data=data, gas=8_000_000, what="deploy")
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=abi)

    def gas(self, sender: NodeAccount, call, value: int = 0) -> int:
        return int(transact(self.w3, sender, call, value=value)["gasUsed"])

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def travel(self, seconds: int) -> None:
        self.w3.provider.make_request("evm_increaseTime", [seconds])
        self.w3.provider.make_request("evm_mine", [])

    # -- scenarios -------------------------------------------------------------------------

    def run(self) -> list[Row]:
        w3 = self.w3
        escrow_abi, escrow_bytecode = load_artifact("CrowdfundEscrow")
        token_name, token_abi, token_bytecode, token_args = token_artifact()
        ref_abi, ref_bytecode = compile_reference()

        escrow = self.deploy(
            escrow_abi, escrow_bytecode, self.fee_recipient.address, FEE_BPS, LOCK_WINDOW
        ).functions
        token_contract = self.deploy(token_abi, token_bytecode, *token_args)
        token = token_contract.functions
        ref = self.deploy(ref_abi, ref_bytecode).functions
        self.token_name = token_name

        c, a, b = self.creator, self.backer_a, self.backer_b
        for backer in (a, b):
            transact(w3, backer, token.mint(backer.address, 1_000 * ETH))
            transact(w3, backer, token.approve(escrow.address, 500 * ETH))
        deadline = self.now() + 7 * DAY
        start = self.now() + 60

        def create(asset: str, goal: int) -> int:
            return self.gas(c, escrow.createCampaign(asset, goal, deadline, 0, False, META))

        def launch(goal: int, start_at: int = start) -> int:
            return self.gas(c, ref.launch(goal, start_at, deadline))

        # campaign 1 on each side is a warm-up, so the measured create/launch is the second one
        create(ZERO, ETH // 10)  # escrow #1 W: claimed first (fee accrual)
        launch(ETH // 10)  # reference #1: unused
        g_create_eth = create(ZERO, 2 * ETH)  # escrow #2 A: pledges, then claim
        g_launch = launch(2 * ETH)  # reference #2 A
        g_create_token = create(token.address, 2 * ETH)  # escrow #3 T: token pledges
        create(ZERO, 100 * ETH)  # escrow #4 F: fails, refund
        launch(100 * ETH)  # reference #3 F
        create(ZERO, ETH)  # escrow #5 C: cancelled
        launch(ETH, start_at=start + DAY)  # reference #4 C: not started, cancelled
        # (the reference may only cancel a campaign that has not started; measure it right away)
        g_cancel = self.gas(c, escrow.cancel(5))
        g_ref_cancel = self.gas(c, ref.cancel(4))
        # escrow #6 M (passes its first vote) and #7 X (fails it: aborted)
        g_create_milestone = self.gas(
            c, escrow.createMilestoneCampaign(ZERO, ETH, deadline, 0, META, TRANCHES, VOTING_PERIOD)
        )
        self.gas(c, escrow.createMilestoneCampaign(ZERO, ETH, deadline, 0, META, TRANCHES, VOTING_PERIOD))

        self.travel(120)  # past the reference's start

        # a first pledge by someone else, then the measured pledges by a new backer
        self.gas(a, escrow.pledge(1, ETH // 10), ETH // 10)
        self.gas(a, escrow.pledge(2, ETH), ETH)
        self.gas(a, ref.pledge(2), ETH)
        g_pledge_new = self.gas(b, escrow.pledge(2, ETH), ETH)
        g_ref_pledge_new = self.gas(b, ref.pledge(2), ETH)
        g_pledge_repeat = self.gas(b, escrow.pledge(2, ETH), ETH)
        g_ref_pledge_repeat = self.gas(b, ref.pledge(2), ETH)
        self.gas(a, escrow.pledge(3, ETH))
        g_pledge_token = self.gas(b, escrow.pledge(3, ETH))
        for target in (4, 6):
            self.gas(a, escrow.pledge(target, ETH), ETH)
            self.gas(b, escrow.pledge(target, ETH), ETH)
        self.gas(a, escrow.pledge(7, ETH), ETH)
        self.gas(b, escrow.pledge(7, ETH // 3), ETH // 3)  # 4/3 ETH in all: the refunds leave dust
        self.gas(a, ref.pledge(3), ETH)
        self.gas(b, ref.pledge(3), ETH)

        g_unpledge = self.gas(b, escrow.unpledge(2, ETH // 2))
        g_ref_unpledge = self.gas(b, ref.unpledge(2, ETH // 2))

        self.travel(8 * DAY)  # past every deadline

        self.gas(c, escrow.claim(1))  # the first ETH fee accrual
        g_claim = self.gas(c, escrow.claim(2))
        g_ref_claim = self.gas(c, ref.claim(2))
        g_refund = self.gas(b, escrow.refund(4))
        g_ref_refund = self.gas(b, ref.refund(3))
        g_withdraw = self.gas(self.fee_recipient, escrow.withdrawFees(ZERO))

        # milestones: M passes its vote, X fails it
        g_claim_milestone = self.gas(c, escrow.claim(6))
        self.gas(c, escrow.claim(7))
        g_request = self.gas(c, escrow.requestRelease(6, META))
        self.gas(c, escrow.requestRelease(7, META))
        g_vote_first = self.gas(a, escrow.vote(6, True))
        g_vote_later = self.gas(b, escrow.vote(6, True))
        self.gas(a, escrow.vote(7, False))
        self.travel(VOTING_PERIOD)
        g_release = self.gas(c, escrow.release(6))
        g_abort = self.gas(b, escrow.release(7))
        g_refund_abort_first = self.gas(a, escrow.refund(7))
        g_refund_abort_last = self.gas(b, escrow.refund(7))
        g_disclose = self.gas(c, escrow.disclose(6, META))
        self.vote_check = (g_vote_first, g_vote_later, g_pledge_repeat)
        exits = self.exits(escrow, c, a, b)
        self.size = len(w3.eth.get_code(escrow.address))

        return [
            Row("create (ETH)", g_create_eth, g_launch),
            Row("create (token)", g_create_token),
            Row("pledge, new backer (ETH)", g_pledge_new, g_ref_pledge_new),
            Row(f"pledge, new backer (token: {token_name})", g_pledge_token),
            Row("pledge, repeat (ETH)", g_pledge_repeat, g_ref_pledge_repeat),
            Row("unpledge (ETH, partial)", g_unpledge, g_ref_unpledge),
            Row("cancel", g_cancel, g_ref_cancel),
            Row("claim (ETH)", g_claim, g_ref_claim),
            Row("refund (ETH)", g_refund, g_ref_refund),
            Row("withdrawFees (ETH)", g_withdraw),
            Row("createMilestoneCampaign (ETH, 3 tranches)", g_create_milestone),
            Row("claim, milestone tranche 0 (ETH)", g_claim_milestone),
            Row("requestRelease (first request)", g_request),
            Row("vote, first voter", g_vote_first),
            Row("vote, later voter", g_vote_later),
            Row("release, vote passed (ETH)", g_release),
            Row("release, vote failed: abort", g_abort),
            Row("refund after abort, first (ETH)", g_refund_abort_first),
            Row("refund after abort, last: dust to fees", g_refund_abort_last),
            Row("disclose", g_disclose),
            *exits,
        ]

    def exits(self, escrow, c: NodeAccount, a: NodeAccount, b: NodeAccount) -> list[Row]:
        """The operations of issue 18, on campaigns 8 to 11 (see the module docstring)."""
        w3 = self.w3
        receiver_abi, receiver_bytecode = load_artifact("SwitchableReceiver")
        receiver = self.deploy(receiver_abi, receiver_bytecode)
        operator = self.owner

        def as_receiver(call) -> int:
            data = call._encode_transaction_data()
            return self.gas(operator, receiver.functions.execute(escrow.address, data))

        deadline = self.now() + 7 * DAY
        self.gas(c, escrow.createCampaign(ZERO, ETH, deadline, 0, False, META))  # 8 E: left to expire
        self.gas(
            c, escrow.createMilestoneCampaign(ZERO, ETH, deadline, 0, META, TRANCHES, VOTING_PERIOD)
        )  # 9 S
        as_receiver(escrow.createCampaign(ZERO, ETH, deadline, 0, False, META))  # 10 R: its creator refuses
        self.gas(c, escrow.createCampaign(ZERO, 100 * ETH, deadline, 0, False, META))  # 11 G: fails
        for target in (8, 9, 10, 11):
            self.gas(a, escrow.pledge(target, ETH), ETH)
            self.gas(b, escrow.pledge(target, ETH // 2), ETH // 2)
        self.travel(8 * DAY)

        transact(w3, operator, receiver.functions.setMode(1))  # Refuse
        g_claim_credited = as_receiver(escrow.claim(10))
        g_withdraw_owed = as_receiver(escrow.withdrawOwed(ZERO, self.backer_a.address))
        g_refund_to = self.gas(a, escrow.refundTo(11, self.fee_recipient.address))
        self.gas(c, escrow.claim(9))  # tranche 0; then the creator falls silent
        self.travel(max(CLAIM_WINDOW, MAX_SILENCE) + DAY)
        g_refund_expired = self.gas(a, escrow.refund(8))
        g_abort_stale = self.gas(b, escrow.abortStale(9))
        g_refund_stale = self.gas(a, escrow.refund(9))
        return [
            Row("claim, payout credited (ETH; creator contract refuses, via its execute)", g_claim_credited),
            Row("withdrawOwed (ETH, via the creator contract's execute)", g_withdraw_owed),
            Row("refundTo (ETH, to another account)", g_refund_to),
            Row("refund after the claim window (ETH, expired)", g_refund_expired),
            Row("abortStale (silent milestone campaign)", g_abort_stale),
            Row("refund after abortStale, first (ETH)", g_refund_stale),
        ]


def render(rows: list[Row]) -> str:
    header = ("operation", "CrowdLedger", "reference", "difference", "ratio", "target")
    lines = []
    for row in rows:
        if row.reference is None:
            lines.append((row.operation, f"{row.escrow:,}", "-", "-", "-", "n/a"))
        else:
            diff = row.difference
            lines.append(
                (
                    row.operation,
                    f"{row.escrow:,}",
                    f"{row.reference:,}",
                    f"{diff:+,}",
                    f"{row.escrow / row.reference:.2f}x",
                    "ok" if row.ok else "MISS",
                )
            )
    widths = [max(len(str(r[i])) for r in [header, *lines]) for i in range(len(header))]

    def fmt(r: tuple) -> str:
        cells = [str(r[0]).ljust(widths[0])] + [str(v).rjust(w) for v, w in zip(r[1:], widths[1:])]
        return "  ".join(cells)

    rule = "-" * len(fmt(header))
    return "\n".join([fmt(header), rule, *map(fmt, lines)])


def main() -> int:
    print(
        f"CrowdLedger gas benchmark: solc {SOLC_VERSION}, {EVM_VERSION}, optimizer {OPTIMIZER_RUNS:,} runs; "
        "gasUsed from receipts on a fresh anvil"
    )
    print(
        f"Target: at most {TARGET_MARGIN:,} gas over the reference (SbE CrowdFund, ETH, no ledger) "
        "for every operation the reference has.\n"
    )
    try:
        with LocalNode.start("anvil") as node:
            w3 = Web3(Web3.HTTPProvider(node.url))
            bench = Bench(w3)
            rows = bench.run()
    except CrowdLedgerError as exc:
        print(f"bench/gas.py: the benchmark could not run: {exc}", file=sys.stderr)
        return 1
    print(render(rows))
    misses = [r for r in rows if r.ok is False]
    print()
    if misses:
        print(f"MISSED the +{TARGET_MARGIN:,} target ({len(misses)}):")
        for r in misses:
            print(f"  - {r.operation}: {r.escrow:,} vs {r.reference:,} ({r.difference:+,})")
    else:
        print(f"All comparable operations are within +{TARGET_MARGIN:,} gas of the reference.")
    print("Rows without a reference have no counterpart in the reference and no target.")
    verdict = "ok" if bench.size <= EIP170_LIMIT else "OVER"
    print(
        f"CrowdfundEscrow runtime bytecode: {bench.size:,} bytes (EIP-170 limit {EIP170_LIMIT:,}): {verdict}"
    )
    first, later, repeat = bench.vote_check
    limit = repeat + VOTE_MARGIN
    verdict = "ok" if max(first, later) <= limit else "MISS"
    print(
        f"Vote target (at most a repeat pledge + {VOTE_MARGIN:,} = {limit:,}): first voter {first:,}, "
        f"later voter {later:,}: {verdict}"
    )
    print(
        "\nLike with like: the second campaign on each side; pledges by a new backer into a campaign that"
        "\nalready has a pledge; partial unpledge; cancel of a campaign without pledges (the reference may"
        "\ncancel only before its start, and deletes the campaign for a gas refund); claim by the creator"
        "\nof a campaign that met its goal (on the escrow with the fee accrued, not the first accrual);"
        "\nrefund of a whole pledge from a campaign that missed its goal. Payouts go to the sender."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
