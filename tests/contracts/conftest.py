"""Shared fixtures and helpers for the CrowdfundEscrow contract tests (brownie + anvil).

Deployments are module-scoped and every test runs inside brownie's `fn_isolation`, so each test
starts from the same chain state.
"""

from __future__ import annotations

import contextlib
import re

import brownie
import pytest
from brownie import chain, web3
from brownie.exceptions import VirtualMachineError
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak

from ledger.core.hashing import (
    ZERO_DETAIL,
    campaign_terms_detail,
    genesis_head,
    next_head,
    token_detail,
    uint_detail,
)

ETH = "0x0000000000000000000000000000000000000000"
FEE_BPS = 250  # 2.5%
LOCK_WINDOW = 3600  # one hour
DAY = 86400
MAX_DURATION = 365 * DAY
UINT128_MAX = 2**128 - 1
META = "0x" + "ab" * 32

# Campaign states, as returned by campaignState().
FUNDING, SUCCEEDED, FAILED, CANCELLED, CLAIMED, IN_DELIVERY, ABORTED, EXPIRED = range(8)

# The exits (issue 18): an unclaimed success expires CLAIM_WINDOW after its deadline; a milestone
# campaign in delivery silent for MAX_SILENCE may be aborted by anyone; a creator payout that
# fails is credited, with PAYOUT_GAS forwarded to the receiver.
CLAIM_WINDOW = 180 * 86400
MAX_SILENCE = 180 * 86400
PAYOUT_GAS = 100_000

# Milestone campaigns: a default plan (tranche 0 is claimed, 1 and 2 voted on) and voting period.
TRANCHES = (3000, 3000, 4000)
VOTING_PERIOD = DAY

# Ledger kinds.
KIND = {
    "CampaignCreated": 1,
    "Pledged": 2,
    "Unpledged": 3,
    "Cancelled": 4,
    "Claimed": 5,
    "Refunded": 6,
    "FeesWithdrawn": 7,
    "MilestonePlan": 8,
    "ReleaseRequested": 9,
    "Voted": 10,
    "TrancheReleased": 11,
    "Aborted": 12,
    "Disclosed": 13,
    "PayoutDeferred": 14,
    "OwedWithdrawn": 15,
    "StaleAborted": 16,
}


# --------------------------------------------------------------------------- isolation


def pytest_configure(config):
    # brownie 1.22.2 warns about its own internal rpc.snapshot/revert/mine calls on every test
    config.addinivalue_line("filterwarnings", r"ignore:rpc\.\w+ should not be called directly:FutureWarning")


@pytest.fixture(scope="session", autouse=True)
def own_chain():
    """Refuses to run on a chain brownie attached to instead of launching: another run's (or the
    demo's) transactions would interleave with these tests and make them fail at random."""
    from brownie.network import rpc  # compiled module: import lazily (brownie's AST hashing)

    if rpc.is_active() and not rpc.is_child():
        pytest.exit(
            f"brownie attached to a chain it did not launch ({web3.provider.endpoint_uri}); "
            "stop that node or run the contract tests on a free port",
            returncode=3,
        )


@pytest.fixture(scope="module", autouse=True)
def mod_isolation(module_isolation):
    pass


@pytest.fixture(autouse=True)
def isolation(fn_isolation):
    pass


# --------------------------------------------------------------------------- coverage report
#
# brownie 1.22.2 is compiled with mypyc, and its compiled coverage report rejects its own data
# ("TypeError: dict object expected; got list" in get_merged_coverage_eval, then "int object
# expected; got str" in output._split), so `brownie test --coverage` collected coverage but
# crashed before printing or saving it. These hooks run the same report code from brownie's
# pure-Python sources instead: they take the collected data before brownie's summary (which
# then has nothing to report), print the table and save reports/coverage.json.
# Coverage also needs anvil's --steps-tracing (`steps_tracing: true` in the network's
# cmd_settings): without it every trace is empty and the report shows nothing.

_COVERAGE: dict = {}


def _brownie_source_module(relative_path: str):
    """Loads one of brownie's modules from its .py source, bypassing the compiled extension."""
    import importlib.util
    from pathlib import Path

    path = Path(brownie.__file__).parent / relative_path
    package = ".".join(("brownie", *Path(relative_path).parent.parts))  # for relative imports
    spec = importlib.util.spec_from_file_location(f"{package}._pure_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _coverage_active() -> bool:
    from brownie._config import CONFIG  # compiled modules: import lazily (brownie's AST hashing)

    return bool(CONFIG.argv.get("coverage"))


def pytest_sessionfinish(session, exitstatus):
    if not _coverage_active():
        return
    from brownie.test import coverage

    if coverage._coverage_eval:
        merge = _brownie_source_module("test/coverage.py").get_merged_coverage_eval
        _COVERAGE["eval"] = merge(dict(coverage._coverage_eval))
        coverage._coverage_eval.clear()  # brownie's own (crashing) summary now reports nothing


def pytest_terminal_summary(terminalreporter):
    if not _COVERAGE.get("eval"):
        return
    output = _brownie_source_module("test/output.py")
    project = brownie.project.get_loaded_projects()[0]
    terminalreporter.section("Coverage (brownie's report, run from its Python sources)")
    for line in output._build_coverage_output(_COVERAGE["eval"]):
        terminalreporter.write_line(line)
    for name, result in sorted(output._get_totals(project._build, _COVERAGE["eval"]).items()):
        (stmts, stmt_total), (true, false, branch_total) = (
            result["totals"]["statements"],
            result["totals"]["branches"],
        )
        terminalreporter.write_line(
            f"  {name}: statements {stmts}/{stmt_total}, branches taken true {true}/{branch_total}"
            f" and false {false}/{branch_total}"
        )
    reports = project._path.joinpath(project._structure["reports"])
    output._save_coverage_report(project._build, _COVERAGE["eval"], reports)


# --------------------------------------------------------------------------- accounts


@pytest.fixture(scope="module")
def owner(accounts):
    return accounts[0]


@pytest.fixture(scope="module")
def creator(accounts):
    return accounts[1]


@pytest.fixture(scope="module")
def alice(accounts):
    return accounts[2]


@pytest.fixture(scope="module")
def bob(accounts):
    return accounts[3]


@pytest.fixture(scope="module")
def carol(accounts):
    return accounts[4]


@pytest.fixture(scope="module")
def stranger(accounts):
    return accounts[8]


@pytest.fixture(scope="module")
def fee_recipient(accounts):
    return accounts[9]


# --------------------------------------------------------------------------- contracts


def deploy_escrow(container, fee_recipient, fee_bps, lock_window, sender):
    """Deploys a CrowdfundEscrow. brownie 1.22 compares the deployed code with the compiled code
    without masking Solidity immutables (`unpledgeLockWindow`), finds a "mismatch", and drops the
    contract's pc map, which leaves `--coverage` with nothing for the escrow; the map is the
    compiled one, so it is put back."""
    escrow = container.deploy(fee_recipient, fee_bps, lock_window, {"from": sender})
    if "pcMap" not in escrow._build and "pcMap" in container._build:
        escrow._build["pcMap"] = container._build["pcMap"]
    return escrow


@pytest.fixture(scope="module")
def escrow(CrowdfundEscrow, owner, fee_recipient):
    return deploy_escrow(CrowdfundEscrow, fee_recipient, FEE_BPS, LOCK_WINDOW, owner)


def _fund_and_approve(token, escrow, holders, amount):
    for holder in holders:
        token.mint(holder, amount, {"from": holder})
        token.approve(escrow, 2**256 - 1, {"from": holder})


@pytest.fixture(scope="module")
def token(MockERC20, escrow, owner, alice, bob, carol):
    t = MockERC20.deploy("Mock", "MOCK", {"from": owner})
    _fund_and_approve(t, escrow, [alice, bob, carol], 10**24)
    return t


@pytest.fixture(scope="module")
def fot_token(FeeOnTransferToken, escrow, owner, alice, bob, carol):
    t = FeeOnTransferToken.deploy(100, {"from": owner})  # burns 1% of every transfer
    _fund_and_approve(t, escrow, [alice, bob, carol], 10**24)
    return t


@pytest.fixture(scope="module")
def blocklist_token(BlocklistToken, escrow, owner, alice, bob, carol):
    t = BlocklistToken.deploy({"from": owner})
    _fund_and_approve(t, escrow, [alice, bob, carol], 10**24)
    return t


@pytest.fixture
def receiver(SwitchableReceiver, owner):
    """A contract account that accepts ETH until told to refuse it (or to burn the call's gas)."""
    return SwitchableReceiver.deploy({"from": owner})


# --------------------------------------------------------------------------- helpers


def now() -> int:
    """The latest block's timestamp; the next transaction runs at this time or later."""
    return web3.eth.get_block("latest")["timestamp"]


def pin(timestamp: int) -> None:
    """Makes the next mined block (the next transaction) have exactly `timestamp`."""
    web3.provider.make_request("evm_setNextBlockTimestamp", [int(timestamp)])


def travel_to(timestamp: int) -> None:
    """Mines an empty block at `timestamp`; later transactions run at or after it."""
    if timestamp > now():
        pin(timestamp)
    chain.mine()


def create(escrow, sender, *, token=ETH, goal=10**18, duration=7 * DAY, cap=0, keep=False, meta=META):
    """Creates a campaign and returns (campaign id, tx)."""
    token = token if isinstance(token, str) else token.address
    deadline = now() + duration
    tx = escrow.createCampaign(token, goal, deadline, cap, keep, meta, {"from": sender})
    return tx.events["CampaignCreated"]["campaignId"], tx


def create_milestone(
    escrow,
    sender,
    *,
    token=ETH,
    goal=10**18,
    duration=7 * DAY,
    cap=0,
    bps=TRANCHES,
    period=VOTING_PERIOD,
    meta=META,
):
    """Creates a milestone campaign and returns (campaign id, tx)."""
    token = token if isinstance(token, str) else token.address
    deadline = now() + duration
    tx = escrow.createMilestoneCampaign(token, goal, deadline, cap, meta, list(bps), period, {"from": sender})
    return tx.events["CampaignCreated"]["campaignId"], tx


def pledge(escrow, backer, cid, amount, *, eth=True):
    """Pledges `amount`; with eth=True sends it as value, else pledges tokens (no value)."""
    return escrow.pledge(cid, amount, {"from": backer, "value": amount if eth else 0})


def finish(escrow, cid) -> None:
    """Moves time to a campaign's deadline: it is no longer funding."""
    travel_to(escrow.getCampaign(cid)["deadline"])


def selector(signature: str) -> bytes:
    """The 4-byte selector of an error or function signature."""
    return keccak(text=signature)[:4]


_ERRORS_BY_NAME: dict[str, dict] = {}


def _error_abis() -> dict[str, dict]:
    """Every custom error in the compiled project's ABIs (escrow, OpenZeppelin, mocks)."""
    if not _ERRORS_BY_NAME:
        for container in brownie.project.get_loaded_projects()[0]:
            for item in container.abi:
                if item.get("type") == "error":
                    _ERRORS_BY_NAME.setdefault(item["name"], item)
    return _ERRORS_BY_NAME


def _signature(abi: dict) -> str:
    return f"{abi['name']}({','.join(i['type'] for i in abi['inputs'])})"


def decode_error(data) -> tuple[str, tuple] | None:
    """Decodes raw revert data (hex string or bytes) into (error name, args), or None."""
    if isinstance(data, str):
        data = bytes.fromhex(data.removeprefix("0x"))
    data = bytes(data)
    if len(data) < 4:
        return None
    for name, abi in _error_abis().items():
        if selector(_signature(abi)) == data[:4]:
            return name, tuple(abi_decode([i["type"] for i in abi["inputs"]], data[4:]))
    if data[:4] == selector("Error(string)"):
        return "Error", tuple(abi_decode(["string"], data[4:]))
    return None


def _norm(value) -> str:
    if hasattr(value, "address"):
        value = value.address
    if isinstance(value, bytes):
        value = "0x" + value.hex()
    if isinstance(value, bool):
        value = str(value)
    return str(int(value) if isinstance(value, int) else value).lower()


def _parse_revert_msg(msg: str | None) -> tuple[str | None, list[str]]:
    """Splits brownie's revert message for a custom error into (name, args as strings).

    brownie 1.22 decodes errors it knows as `Name: arg, arg`, others as
    `Unknown typed error: 0x...`; the latter is decoded here from the project's ABIs."""
    if msg is None:
        return None, []
    m = re.fullmatch(r"Unknown typed error: (0x[0-9a-fA-F]*)", msg)
    if m:
        decoded = decode_error(m.group(1))
        return (decoded[0], [_norm(a) for a in decoded[1]]) if decoded else (msg, [])
    m = re.fullmatch(r"(\w+):(.*)", msg, flags=re.DOTALL)
    if m and m.group(1) in _error_abis():
        rest = m.group(2).strip()
        return m.group(1), [a.strip().lower() for a in rest.split(",")] if rest else []
    return msg, []


@contextlib.contextmanager
def reverts(error_name: str, *args):
    """Asserts the block reverts with custom error `error_name` and, if given, exactly `args`."""
    assert error_name in _error_abis(), f"no custom error named {error_name} in the project"
    with pytest.raises(VirtualMachineError) as excinfo:
        yield excinfo
    name, actual = _parse_revert_msg(excinfo.value.revert_msg)
    assert name == error_name, f"expected {error_name}, got revert {excinfo.value.revert_msg!r}"
    if args:
        expected = [_norm(a) for a in args]
        assert actual == expected, f"{error_name}: expected args {expected}, got {actual}"


def revert_name(exc: VirtualMachineError) -> str | None:
    """The custom error name of a brownie revert, or None."""
    return _parse_revert_msg(exc.revert_msg)[0]


def assert_error_data(data, error_name: str, *args) -> None:
    """Asserts raw revert data (e.g. recorded by a mock) encodes `error_name`(args)."""
    decoded = decode_error(data)
    assert decoded is not None, f"undecodable revert data {data!r}"
    assert decoded[0] == error_name, f"expected {error_name}, got {decoded}"
    if args:
        assert [_norm(a) for a in decoded[1]] == [_norm(a) for a in args]


# --------------------------------------------------------------------------- ledger


def _addr(value) -> str:
    return value if isinstance(value, str) else value.address


def milestone_plan_detail(bps, voting_period) -> bytes:
    """Kind-8 detail: keccak256(abi.encode(uint16[] trancheBps, uint64 votingPeriod))."""
    return keccak(abi_encode(["uint16[]", "uint64"], [list(bps), voting_period]))


def tranche_detail(tranche, fee) -> bytes:
    """Kind-11 detail: keccak256(abi.encode(uint256 tranche, uint256 fee))."""
    return keccak(abi_encode(["uint256", "uint256"], [tranche, fee]))


def ledger_entry(event) -> tuple[int, int, str, int, bytes]:
    """(kind, campaignId, account, amount, detail) of one decoded escrow event."""
    name = event.name
    if name == "CampaignCreated":
        detail = campaign_terms_detail(
            event["token"],
            event["deadline"],
            event["maxPerBacker"],
            event["keepItAll"],
            event["feeBps"],
            bytes(event["metadataHash"]),
        )
        return 1, event["campaignId"], event["creator"], event["goal"], detail
    if name in ("Pledged", "Unpledged", "Refunded"):
        return KIND[name], event["campaignId"], event["backer"], event["amount"], ZERO_DETAIL
    if name == "Cancelled":
        return 4, event["campaignId"], event["creator"], 0, ZERO_DETAIL
    if name == "Claimed":
        return 5, event["campaignId"], event["creator"], event["amount"], uint_detail(event["fee"])
    if name == "FeesWithdrawn":
        return 7, 0, event["to"], event["amount"], token_detail(event["token"])
    if name == "OwedWithdrawn":
        return 15, 0, event["to"], event["amount"], token_detail(event["token"])
    cid = event["campaignId"]
    if name == "MilestonePlan":
        bps = event["trancheBps"]
        return 8, cid, event["creator"], len(bps), milestone_plan_detail(bps, event["votingPeriod"])
    if name == "ReleaseRequested":
        return 9, cid, event["creator"], event["tranche"], bytes(event["reportHash"])
    if name == "Voted":
        return 10, cid, event["backer"], event["weight"], uint_detail(1 if event["approve"] else 0)
    if name == "TrancheReleased":
        return 11, cid, event["creator"], event["amount"], tranche_detail(event["tranche"], event["fee"])
    if name == "Aborted":
        return 12, cid, event["creator"], event["remaining"], ZERO_DETAIL
    if name == "Disclosed":
        return 13, cid, event["creator"], 0, bytes(event["documentHash"])
    if name == "PayoutDeferred":
        return 14, cid, event["to"], event["amount"], token_detail(event["token"])
    if name == "StaleAborted":
        return 16, cid, event["caller"], event["remaining"], ZERO_DETAIL
    raise ValueError(f"not a ledger event: {name}")


def ledger_events(escrow, txs=None) -> list:
    """The escrow's ledger events in order: from the given txs, or from every log on the chain."""
    events = []
    if txs is None:
        logs = web3.eth.get_logs({"address": escrow.address, "fromBlock": 0, "toBlock": "latest"})
        from brownie.network.event import _decode_logs  # compiled module: import lazily

        decoded = _decode_logs([dict(log) for log in logs])
        candidates = list(decoded)
    else:
        candidates = [ev for tx in txs for ev in tx.events]
    for ev in candidates:
        if ev.address is not None and ev.address.lower() != escrow.address.lower():
            continue
        if ev.name in KIND:
            events.append(ev)
    return events


class LedgerReplay:
    """Replays ledger events in Python (ledger/hashing.py), checking each event's seq and head."""

    def __init__(self, escrow):
        self.head = genesis_head(chain.id, escrow.address)
        self.length = 0

    def apply(self, event) -> None:
        self.length += 1
        assert event["seq"] == self.length, f"{event.name}: seq {event['seq']} != expected {self.length}"
        kind, cid, account, amount, detail = ledger_entry(event)
        self.head = next_head(self.head, self.length, kind, cid, account, amount, detail)
        assert bytes(event["head"]) == self.head, f"{event.name} seq {self.length}: event head != replay"


def recompute_head(escrow, txs=None) -> tuple[bytes, int]:
    """Replays the ledger from genesis from the emitted events; returns (head, length).

    `txs` is a list of brownie transactions holding every ledger entry since deployment, or None
    to read every escrow log from the chain.
    """
    replay = LedgerReplay(escrow)
    for ev in ledger_events(escrow, txs):
        replay.apply(ev)
    return replay.head, replay.length


def assert_ledger_consistent(escrow, txs=None) -> None:
    """The on-chain head and length equal the Python replay of the emitted events."""
    head, length = recompute_head(escrow, txs)
    assert escrow.ledgerLength() == length
    assert bytes(escrow.ledgerHead()) == head


def assert_event_matches_chain(escrow, tx, name: str) -> None:
    """The tx's `name` event carries the current ledgerLength() and ledgerHead()."""
    ev = tx.events[name]
    assert ev["seq"] == escrow.ledgerLength()
    assert bytes(ev["head"]) == bytes(escrow.ledgerHead())


def balance(asset, account) -> int:
    """`account`'s balance of `asset` (ETH for the zero address or "eth", else a token)."""
    if isinstance(asset, str):
        return web3.eth.get_balance(_addr(account))
    return asset.balanceOf(account)


def gas_cost(tx) -> int:
    """Wei spent on gas (zero on the test chain, whose base fee is 0)."""
    return tx.gas_used * (tx.gas_price or 0)
