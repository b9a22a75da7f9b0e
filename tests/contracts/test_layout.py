"""The packed storage layout (contracts/escrow/EscrowLayout.sol, MilestoneLayout.sol).

The escrow reads and writes its packed slots as whole words through typed getters and setters
that use bit offsets of their own; the structs are declared as structs too, and the views (and
solc) see them field by field. Both must agree:

* statically: every offset the helpers use equals the offset solc's `storageLayout` output
  reports for that struct member, every member of a packed struct has one, and each packed
  struct fills exactly one slot;
* dynamically (contracts/mocks/LayoutProbe.sol): a struct written field by field by Solidity
  reads back through the getters, and words built by the setters read back field by field.
"""

import os
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCE = "contracts/CrowdfundEscrow.sol"
PACKED = (
    "Globals",
    "CampaignCore",
    "TranchePlan",
    "MilestoneStatus",
    "VoteTally",
    "AbortBook",
    "BackerPledge",
)


@lru_cache(maxsize=1)
def storage_layout() -> dict:
    """solc's storageLayout of CrowdfundEscrow, compiled with the project's settings."""
    import solcx

    os.environ.setdefault("SOLCX_BINARY_PATH", str(ROOT / "toolchain" / "solcx"))  # the offline shim
    standard_input = {
        "language": "Solidity",
        "sources": {SOURCE: {"urls": [SOURCE]}},
        "settings": {
            "evmVersion": "shanghai",
            "optimizer": {"enabled": True, "runs": 10_000},
            "remappings": ["@openzeppelin/=node_modules/@openzeppelin/"],
            "outputSelection": {SOURCE: {"CrowdfundEscrow": ["storageLayout"]}},
        },
    }
    cwd = os.getcwd()
    os.chdir(ROOT)  # the shim resolves imports from the working directory
    try:
        out = solcx.compile_standard(
            standard_input, solc_version="0.8.28", allow_paths=[str(ROOT)], base_path=str(ROOT)
        )
    finally:
        os.chdir(cwd)
    return out["contracts"][SOURCE]["CrowdfundEscrow"]["storageLayout"]


def struct_type(layout: dict, name: str) -> dict:
    matches = [t for key, t in layout["types"].items() if key.startswith(f"t_struct({name})")]
    assert len(matches) == 1, f"struct {name} not found once in solc's storageLayout"
    return matches[0]


def members(layout: dict, name: str) -> dict[str, dict]:
    return {m["label"]: m for m in struct_type(layout, name)["members"]}


def bits(layout: dict, member: dict) -> int:
    return int(layout["types"][member["type"]]["numberOfBytes"]) * 8


@pytest.fixture(scope="module")
def probe(LayoutProbe, owner):
    return LayoutProbe.deploy({"from": owner})


@pytest.fixture(scope="module")
def shifts(probe) -> dict[str, int]:
    names, values = probe.shifts()
    return dict(zip(names, values))


# ----------------------------------------------------------------------------- static: solc's own layout


def test_every_helper_offset_is_the_one_solc_reports(shifts):
    layout = storage_layout()
    for name in PACKED:
        fields = members(layout, name)
        assert struct_type(layout, name)["numberOfBytes"] == "32", f"{name} must fill exactly one slot"
        for label, member in fields.items():
            key = f"{name}.{label}"
            assert key in shifts, f"{key}: solc lays out a field that no getter or setter knows"
            assert member["slot"] == "0", f"{key}: in slot {member['slot']}, not in the struct's one word"
            assert shifts[key] == member["offset"] * 8, (
                f"{key}: the helpers use bit {shifts[key]}, solc puts it at byte {member['offset']} "
                f"(bit {member['offset'] * 8}); update the *_SHIFT constant with the struct"
            )
    known = {f"{name}.{label}" for name in PACKED for label in members(layout, name)}
    assert set(shifts) - known == {"TranchePlan.laneBits"}, "a helper offset names no struct member"


def test_fields_do_not_overlap_and_fit_the_word():
    layout = storage_layout()
    for name in PACKED:
        end = 0
        for member in struct_type(layout, name)["members"]:
            start = member["offset"] * 8
            assert start >= end, f"{name}.{member['label']} overlaps the field before it"
            end = start + bits(layout, member)
        assert end <= 256


def test_tranche_lanes_fit_their_field(shifts):
    trancheBps = members(storage_layout(), "TranchePlan")["trancheBps"]
    assert (
        10 * shifts["TranchePlan.laneBits"] == bits(storage_layout(), trancheBps) == 160
    )  # MAX_TRANCHES lanes


def test_campaign_and_milestone_records_are_laid_out_as_documented():
    """The slots EscrowLayout.sol documents (and the gas notes count on): a plain ETH campaign
    writes its first two, the goal-and-cap and token slots only when needed, a milestone
    campaign six more."""
    layout = storage_layout()
    record = {label: (m["slot"], m["offset"]) for label, m in members(layout, "CampaignRecord").items()}
    assert record == {
        "core": ("0", 0),
        "creator": ("1", 0),
        "goal96": ("1", 20),
        "goal": ("2", 0),
        "maxPerBacker": ("2", 16),
        "token": ("3", 0),
        "milestone": ("4", 0),
    }
    milestone = {label: m["slot"] for label, m in members(layout, "MilestoneRecord").items()}
    assert milestone == {
        "plan": "0",
        "status": "1",
        "approve": "2",
        "reject": "3",
        "report": "4",
        "abort": "5",
    }
    state = [(v["label"], v["slot"]) for v in layout["storage"]]
    assert state == [
        ("_globals", "0"),
        ("_ledgerHead", "1"),
        ("feeRecipient", "2"),
        ("_campaigns", "3"),
        ("_pledges", "4"),
        ("_tokenFees", "5"),
        ("_owed", "6"),
        ("_owner", "7"),  # Ownable2Step's, after EscrowCore's in the inheritance order
        ("_pendingOwner", "8"),
    ]


# ----------------------------------------------------------------------------- dynamic: round trips

MAX = {
    "u8": 2**8 - 1,
    "u16": 2**16 - 1,
    "u40": 2**40 - 1,
    "u64": 2**64 - 1,
    "u96": 2**96 - 1,
    "u128": 2**128 - 1,
}
FIELDS = {
    "Globals": ["u64", "u64", "u16", "bool", "bool", "u96"],
    "CampaignCore": ["u128", "u64", "u16"] + ["bool"] * 6,
    "MilestoneStatus": ["u128", "u64", "u8", "bool", "bool", "u40"],
    "VoteTally": ["u128", "u8"],
    "AbortBook": ["u128", "u128"],
    "BackerPledge": ["u128", "u8"],
}


def patterns(kinds):
    """All zero, each field at its maximum alone, all at their maximum, and a mixed pattern."""
    top = [True if k == "bool" else MAX[k] for k in kinds]
    zero = [False if k == "bool" else 0 for k in kinds]
    out = [zero, top]
    for i in range(len(kinds)):
        one = list(zero)
        one[i] = top[i]
        out.append(one)
    out.append([(i % 2 == 0) if k == "bool" else (MAX[k] // (i + 3)) for i, k in enumerate(kinds)])
    return out


def as_ints(values):
    return [int(v) for v in values]


@pytest.mark.parametrize(
    "struct, getter",
    [
        ("Globals", "globalsGetters"),
        ("CampaignCore", "coreGetters"),
        ("VoteTally", "tallyGetters"),
        ("AbortBook", "abortGetters"),
        ("BackerPledge", "pledgeGetters"),
    ],
)
def test_getters_read_what_solidity_wrote(probe, struct, getter):
    for values in patterns(FIELDS[struct]):
        assert as_ints(getattr(probe, getter).call(values)) == as_ints(values), (struct, values)


def test_status_getters_read_what_solidity_wrote(probe):
    for values in patterns(FIELDS["MilestoneStatus"]):
        got = as_ints(probe.statusGetters.call(values))
        assert got[:6] == as_ints(values), values
        assert got[6] == int(not any(values))  # isZero


def test_plan_getters_read_each_lane(probe):
    lanes = [(i + 1) * 1111 % 65536 for i in range(10)]
    packed = sum(b << (16 * i) for i, b in enumerate(lanes))
    for plan in ([packed, 255, 2**64 - 1], [0, 0, 0], [2**160 - 1, 0, 0], [0, 10, 3600]):
        got = as_ints(probe.planGetters.call(plan))
        want = [(plan[0] >> (16 * i)) & 0xFFFF for i in range(10)] + [plan[1], plan[2]]
        assert got == want, plan
    built = probe.planBuilt.call([3000, 3000, 4000], 86400)
    assert as_ints(built) == [3000 | 3000 << 16 | 4000 << 32, 3, 86400]
    built = probe.planBuilt.call([2**16 - 1] * 10, 2**64 - 1)
    assert as_ints(built) == [2**160 - 1, 10, 2**64 - 1]


def test_globals_setters_change_only_their_field(probe):
    for values in patterns(FIELDS["Globals"]):
        if values[0] == MAX["u64"] or values[1] == MAX["u64"]:
            continue  # nextEntry / nextCampaign would wrap (never reached: see EscrowLayout.sol)
        length, count, fee, paused, locked, fees = as_ints(values)
        out = [as_ints(s) for s in probe.globalsSetters.call(values, 12345)]
        assert out == [
            [length, count, fee, paused, 1, fees],
            [length, count, fee, paused, 0, fees],
            [length, count, fee, paused, locked, 12345],
            [length + 1, count, fee, paused, locked, fees],
            [length, count + 1, fee, paused, locked, fees],
        ], values


def test_core_setters_change_only_their_field(probe):
    for values in patterns(FIELDS["CampaignCore"]):
        v = as_ints(values)
        out = [as_ints(s) for s in probe.coreSetters.call(values, 777)]
        assert out == [[777] + v[1:], v[:4] + [1] + v[5:], v[:5] + [1] + v[6:]], values


def test_status_setters_change_only_their_fields(probe):
    gross, timestamp, end = 10**20, 1_700_000_000, 1_800_000_000
    for values in patterns(FIELDS["MilestoneStatus"]):
        released, vote_end, count, pending, aborted, claimed_at = v = as_ints(values)
        if released + gross > MAX["u128"] or count == MAX["u8"]:
            continue  # withTrancheReleased's precondition (held by the escrow: at most the total, 10)
        out = [as_ints(s) for s in probe.statusSetters.call(values, gross, timestamp, end)]
        assert out == [
            [gross, 0, 1, 0, 0, timestamp],
            [released, end, count, 1, aborted, claimed_at],
            [released, vote_end, count, 0, aborted, claimed_at],
            [released + gross, vote_end, count + 1, pending, aborted, claimed_at],
            [released, vote_end, count, pending, 1, claimed_at],
        ], v


def test_tally_abort_and_pledge_setters(probe):
    assert [as_ints(s) for s in probe.tallySetters.call(9, MAX["u128"])] == [[0, 9], [MAX["u128"], 9]]
    assert as_ints(probe.abortPacked.call(MAX["u128"], 5)) == [MAX["u128"], 5]
    assert as_ints(probe.abortPacked.call(3, MAX["u128"])) == [3, MAX["u128"]]
    out = [as_ints(s) for s in probe.pledgeSetters.call([MAX["u128"], 4], MAX["u128"], 9)]
    assert out == [[MAX["u128"], 0], [MAX["u128"], 9], [0, 0]]
    out = [as_ints(s) for s in probe.pledgeSetters.call([5, MAX["u8"]], 1, 2)]
    assert out == [[1, 0], [5, 2], [0, 0]]
