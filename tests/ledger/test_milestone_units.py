"""Milestone campaigns (ledger kinds 8-13) without a node: decoding the events, the projection
rules, the export format and the backer's breakdown, on hand-built logs and entries."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from eth_abi import encode

from ledger.audit.export import write_export
from ledger.audit.export_reader import BadLine, read_export
from ledger.chain.answers import RawLog
from ledger.chain.answers import raw_log as as_raw_log
from ledger.chain.events import LEDGER_TOPICS_FILTER, TOPIC_OF, TOPICS, decode_log
from ledger.core.hashing import entry_terms_detail, keccak256
from ledger.core.projections import apply_entry
from ledger.core.records import (
    ETH,
    CampaignTerms,
    Kind,
    LedgerEntry,
    MilestonePlanTerms,
    Projections,
    State,
    TrancheTerms,
)
from ledger.core.status import PositionStatus, RefundReason, position_breakdown
from ledger.errors import LedgerIntegrityError

CREATOR = "0x" + "c1" * 20
ESCROW = "0x" + "e5" * 20
ALICE, BOB, CAROL = ("0x" + b * 20 for b in ("a1", "b2", "c3"))
ZERO = "0x" + "00" * 32
ONE = "0x" + "00" * 31 + "01"
REPORT = "0x" + "52" * 32
HEAD = "0x" + "ab" * 32


def topic(value: int | str) -> str:
    if isinstance(value, str):
        return "0x" + "00" * 12 + value[2:]
    return "0x" + value.to_bytes(32, "big").hex()


def raw_log(kind: Kind, campaign_id: int, account: str, data: bytes, seq: int = 7) -> RawLog:
    return as_raw_log(raw_dict(kind, campaign_id, account, data))


def raw_dict(kind: Kind, campaign_id: int, account: str, data: bytes) -> dict:
    return {
        "address": ESCROW,
        "topics": [TOPIC_OF[kind], topic(campaign_id), topic(account)],
        "data": "0x" + data.hex(),
        "blockNumber": "0x10",
        "blockHash": "0x" + "bb" * 32,
        "transactionHash": "0x" + "cc" * 32,
        "logIndex": "0x1",
        "blockTimestamp": "0x64",
    }


# ------------------------------------------------------------------------------------- decoding


def test_the_new_topics_are_ledger_topics() -> None:
    signatures = {
        Kind.MILESTONE_PLAN: "MilestonePlan(uint256,address,uint16[],uint64,uint64,bytes32)",
        Kind.RELEASE_REQUESTED: "ReleaseRequested(uint256,address,uint256,bytes32,uint64,bytes32)",
        Kind.VOTED: "Voted(uint256,address,uint256,bool,uint64,bytes32)",
        Kind.TRANCHE_RELEASED: "TrancheReleased(uint256,address,uint256,uint256,uint256,uint64,bytes32)",
        Kind.ABORTED: "Aborted(uint256,address,uint256,uint64,bytes32)",
        Kind.DISCLOSED: "Disclosed(uint256,address,bytes32,uint64,bytes32)",
    }
    for kind, signature in signatures.items():
        topic0 = "0x" + keccak256(signature.encode()).hex()
        assert TOPICS[topic0] == kind and topic0 in LEDGER_TOPICS_FILTER[0]
    assert len(LEDGER_TOPICS_FILTER[0]) == 16
    # the topics docs/ledger-format.md publishes
    assert (
        TOPIC_OF[Kind.MILESTONE_PLAN] == "0x9611631e93b84449db62d6b30a06ac82ef4ba4f4ec6dc7741cfcee55baafbb7c"
    )
    assert TOPIC_OF[Kind.DISCLOSED] == "0xa224b42ca0d8382e4b979db3a69bd1fa96caed1e582f7a9aaf4d5e386ab6a4c1"


def plan_data(bps: list[int], period: int = 3600, seq: int = 7) -> bytes:
    return encode(["uint16[]", "uint64", "uint64", "bytes32"], [bps, period, seq, bytes.fromhex(HEAD[2:])])


def test_a_milestone_plan_is_decoded_with_its_hash() -> None:
    entry = decode_log(raw_log(Kind.MILESTONE_PLAN, 4, CREATOR, plan_data([2000, 3000, 5000])))
    assert (entry.seq, entry.kind, entry.campaign_id, entry.account, entry.amount) == (
        7,
        Kind.MILESTONE_PLAN,
        4,
        CREATOR,
        3,
    )
    assert entry.terms == MilestonePlanTerms((2000, 3000, 5000), 3600)
    assert entry.detail == "0x" + keccak256(encode(["uint16[]", "uint64"], [[2000, 3000, 5000], 3600])).hex()
    assert entry.head == HEAD and entry.block_timestamp == 100


@pytest.mark.parametrize(
    "how",
    [
        "offset",
        "length too long",
        "length too short",
        "extra word",
        "uint16 overflow",
        "empty",
        "ragged",
        "huge length",
        "topics",
    ],
)
def test_a_malformed_milestone_plan_is_refused(how: str) -> None:
    data = bytearray(plan_data([2000, 8000]))
    log = raw_dict(Kind.MILESTONE_PLAN, 4, CREATOR, bytes(data))
    if how == "offset":
        data[31] = 0xA0
    elif how == "length too long":
        data[4 * 32 + 31] = 3
    elif how == "length too short":
        data[4 * 32 + 31] = 1
    elif how == "extra word":
        data += bytes(32)
    elif how == "uint16 overflow":
        data[5 * 32 + 29] = 1
    elif how == "empty":
        data = bytearray(plan_data([]))
    elif how == "ragged":
        data = data[:-1]
    elif how == "huge length":
        data[4 * 32] = 0xFF
    else:
        log["topics"] = log["topics"][:2]
    log["data"] = "0x" + bytes(data).hex()
    with pytest.raises(LedgerIntegrityError, match="malformed ledger event"):
        decode_log(as_raw_log(log))


def test_the_other_new_events_are_decoded() -> None:
    head = bytes.fromhex(HEAD[2:])
    request = decode_log(
        raw_log(
            Kind.RELEASE_REQUESTED,
            4,
            CREATOR,
            encode(["uint256", "bytes32", "uint64", "bytes32"], [2, bytes.fromhex(REPORT[2:]), 9, head]),
        )
    )
    assert (request.kind, request.amount, request.detail, request.seq) == (
        Kind.RELEASE_REQUESTED,
        2,
        REPORT,
        9,
    )
    for approve, detail in ((True, ONE), (False, ZERO)):
        vote = decode_log(
            raw_log(
                Kind.VOTED,
                4,
                ALICE,
                encode(["uint256", "bool", "uint64", "bytes32"], [123, approve, 10, head]),
            )
        )
        assert (vote.account, vote.amount, vote.detail) == (ALICE, 123, detail)
    bad = raw_log(
        Kind.VOTED, 4, ALICE, encode(["uint256", "uint256", "uint64", "bytes32"], [123, 2, 10, head])
    )
    with pytest.raises(LedgerIntegrityError, match="not a bool"):
        decode_log(bad)
    release = decode_log(
        raw_log(
            Kind.TRANCHE_RELEASED,
            4,
            CREATOR,
            encode(["uint256", "uint256", "uint256", "uint64", "bytes32"], [1, 975, 25, 11, head]),
        )
    )
    assert (release.amount, release.terms, release.fee) == (975, TrancheTerms(1, 25), 25)
    assert release.detail == "0x" + keccak256(encode(["uint256", "uint256"], [1, 25])).hex()
    abort = decode_log(
        raw_log(Kind.ABORTED, 4, CREATOR, encode(["uint256", "uint64", "bytes32"], [701, 12, head]))
    )
    assert (abort.amount, abort.detail) == (701, ZERO)
    doc = "0x" + "d0" * 32
    disclosed = decode_log(
        raw_log(
            Kind.DISCLOSED,
            4,
            CREATOR,
            encode(["bytes32", "uint64", "bytes32"], [bytes.fromhex(doc[2:]), 13, head]),
        )
    )
    assert (disclosed.amount, disclosed.detail, disclosed.seq) == (0, doc, 13)


# ------------------------------------------------------------------------------------- projections


class Ledger:
    """Builds entries seq by seq (heads are not checked by apply_entry) and applies them."""

    def __init__(self, fee_bps: int = 250) -> None:
        self.state = Projections()
        self.seq = 0
        self.fee_bps = fee_bps
        self.now = 1_000

    def entry(
        self, kind: Kind, cid: int, account: str, amount: int, detail: str = ZERO, terms=None
    ) -> LedgerEntry:
        self.seq += 1
        return LedgerEntry(
            self.seq,
            kind,
            cid,
            account,
            amount,
            detail,
            HEAD,
            self.seq,
            "0x" + "bb" * 32,
            "0x" + "cc" * 32,
            0,
            self.now,
            terms,
        )

    def apply(self, *args, **kw) -> LedgerEntry:
        entry = self.entry(*args, **kw)
        apply_entry(self.state, entry)
        return entry

    def milestone_campaign(
        self, cid: int, bps: tuple[int, ...], goal: int = 1000, period: int = 3600
    ) -> None:
        terms = CampaignTerms(ETH, goal, self.now + 900, 0, False, self.fee_bps, ZERO)
        self.apply(Kind.CAMPAIGN_CREATED, cid, CREATOR, goal, "0x" + entry_terms_detail(terms).hex(), terms)
        plan = MilestonePlanTerms(bps, period)
        self.apply(Kind.MILESTONE_PLAN, cid, CREATOR, len(bps), "0x" + entry_terms_detail(plan).hex(), plan)

    def release(self, cid: int, tranche: int, amount: int, fee: int) -> LedgerEntry:
        terms = TrancheTerms(tranche, fee)
        return self.apply(
            Kind.TRANCHE_RELEASED, cid, CREATOR, amount, "0x" + entry_terms_detail(terms).hex(), terms
        )


def funded(ledger: Ledger, bps=(3000, 7000)) -> None:
    """Campaign 1: pledges 301 + 333 + 367 = 1001, past its deadline, tranche 0 claimed."""
    ledger.milestone_campaign(1, bps)
    for backer, amount in ((ALICE, 301), (BOB, 333), (CAROL, 367)):
        ledger.apply(Kind.PLEDGED, 1, backer, amount)
    ledger.now += 1000
    # with (3000, 7000): g0 = floor(1001 * 3000 / 10000) = 300, fee ceil(300 * 250 / 10000) = 8
    gross = 1001 * bps[0] // 10_000
    fee = -(-gross * ledger.fee_bps // 10_000)
    ledger.apply(Kind.CLAIMED, 1, CREATOR, gross - fee, "0x" + fee.to_bytes(32, "big").hex())


def test_a_milestone_campaign_through_delivery_to_claimed() -> None:
    ledger = Ledger()
    funded(ledger)
    state = ledger.state
    campaign, plan = state.campaigns[1], state.milestones[1]
    assert campaign.state_at(ledger.now) == State.IN_DELIVERY and not campaign.claimed
    assert (plan.tranches_released, plan.released_gross, plan.released_fees) == (1, 300, 8)
    assert state.fees[ETH].accrued_total == 8 and state.tranches[(1, 0)].report_hash is None
    ledger.apply(Kind.RELEASE_REQUESTED, 1, CREATOR, 1, REPORT)
    assert plan.vote_pending and plan.vote_end == ledger.now + 3600 and plan.report_hash == REPORT
    ledger.apply(Kind.VOTED, 1, ALICE, 301, ONE)
    ledger.apply(Kind.VOTED, 1, BOB, 333, ZERO)
    ledger.apply(Kind.VOTED, 1, CAROL, 367, ONE)
    assert (plan.approve_weight, plan.reject_weight, plan.voters) == (668, 333, 3)
    backer = state.positions[(1, ALICE)]
    breakdown = position_breakdown(campaign, backer, ledger.now, plan)
    assert breakdown.status == PositionStatus.IN_DELIVERY
    assert (breakdown.released, breakdown.escrowed, breakdown.at_stake, breakdown.lost_to_rounding) == (
        90,
        210,
        210,
        1,
    )  # 301*300/1001, 301*701/1001 (what an abort now would refund), and the unit the floors leave
    ledger.now += 3600
    # the last tranche: 1001 - 300 = 701, fee ceil(701 * 0.025) = 18
    ledger.release(1, 1, 683, 18)
    assert campaign.claimed and campaign.state_at(ledger.now) == State.CLAIMED
    assert (campaign.claimed_amount, campaign.claim_fee, campaign.escrowed) == (975, 26, 0)
    assert state.fees[ETH].accrued_total == 26 and state.tranches[(1, 1)].approve_weight == 668
    assert position_breakdown(campaign, backer, ledger.now, plan).released == 301


def test_an_abort_and_its_pro_rata_refunds_and_dust() -> None:
    ledger = Ledger()
    funded(ledger)
    state, campaign, plan = ledger.state, ledger.state.campaigns[1], ledger.state.milestones[1]
    ledger.apply(Kind.RELEASE_REQUESTED, 1, CREATOR, 1, REPORT)
    ledger.apply(Kind.VOTED, 1, BOB, 333, ZERO)  # more rejecting than approving weight
    ledger.now += 3600
    ledger.apply(Kind.ABORTED, 1, CREATOR, 701)
    assert campaign.state_at(ledger.now) == State.ABORTED and plan.unrefunded_weight == 1001
    bob = position_breakdown(campaign, state.positions[(1, BOB)], ledger.now, plan)
    assert (bob.status, bob.reason) == (PositionStatus.REFUNDABLE, RefundReason.FAILED_VOTE)
    assert (bob.refundable, bob.released, bob.lost_to_rounding) == (233, 99, 1)
    ledger.apply(Kind.REFUNDED, 1, ALICE, 210)
    ledger.apply(Kind.REFUNDED, 1, BOB, 233)
    assert plan.dust == 0 and state.fees[ETH].accrued_total == 8
    ledger.apply(Kind.REFUNDED, 1, CAROL, 257)
    assert (plan.refunded, plan.unrefunded_weight, plan.dust) == (700, 0, 1)
    assert state.fees[ETH].accrued_total == 9  # the dust moved to the fees
    assert (
        position_breakdown(campaign, state.positions[(1, CAROL)], ledger.now, plan).status
        == PositionStatus.REFUNDED
    )


def rejects(ledger: Ledger, match: str, *args, **kw) -> None:
    with pytest.raises(LedgerIntegrityError, match=match):
        ledger.apply(*args, **kw)


def test_every_broken_rule_is_an_integrity_error() -> None:
    ledger = Ledger()
    ledger.milestone_campaign(1, (3000, 7000))
    rejects(
        ledger,
        "once",
        Kind.MILESTONE_PLAN,
        1,
        CREATOR,
        2,
        "0x" + entry_terms_detail(MilestonePlanTerms((3000, 7000), 3600)).hex(),
        terms=MilestonePlanTerms((3000, 7000), 3600),
    )
    for cid, bps, period in ((2, (3000, 6000), 3600), (3, (10_000,), 3600), (4, (3000, 7000), 60)):
        terms = CampaignTerms(ETH, 1000, 5000, 0, False, 250, ZERO)
        ledger.apply(Kind.CAMPAIGN_CREATED, cid, CREATOR, 1000, "0x" + entry_terms_detail(terms).hex(), terms)
        plan = MilestonePlanTerms(bps, period)
        rejects(
            ledger,
            "breaks the contract's rules",
            Kind.MILESTONE_PLAN,
            cid,
            CREATOR,
            len(bps),
            "0x" + entry_terms_detail(plan).hex(),
            terms=plan,
        )
    terms = CampaignTerms(ETH, 1000, 5000, 0, False, 250, ZERO)
    ledger.apply(Kind.CAMPAIGN_CREATED, 5, CREATOR, 1000, "0x" + entry_terms_detail(terms).hex(), terms)
    plan = MilestonePlanTerms((5000, 5000), 3600)
    rejects(ledger, "does not commit to the plan", Kind.MILESTONE_PLAN, 5, CREATOR, 2, ZERO, terms=plan)
    rejects(ledger, "without its tranches", Kind.MILESTONE_PLAN, 5, CREATOR, 2, ZERO)

    ledger = Ledger()
    funded(ledger)
    rejects(
        ledger,
        "not a milestone campaign|not in the Succeeded",
        Kind.CLAIMED,
        1,
        CREATOR,
        292,
        "0x" + (8).to_bytes(32, "big").hex(),
    )
    rejects(ledger, "no release request is open", Kind.VOTED, 1, ALICE, 301, ONE)
    rejects(ledger, "the next one is 1", Kind.RELEASE_REQUESTED, 1, CREATOR, 2, REPORT)
    rejects(ledger, "not the creator", Kind.RELEASE_REQUESTED, 1, ALICE, 1, REPORT)
    ledger.apply(Kind.RELEASE_REQUESTED, 1, CREATOR, 1, REPORT)
    rejects(ledger, "undecided", Kind.RELEASE_REQUESTED, 1, CREATOR, 1, REPORT)
    rejects(ledger, "weight 300, the backer's pledge is 301", Kind.VOTED, 1, ALICE, 300, ONE)
    rejects(ledger, "without a pledge", Kind.VOTED, 1, CREATOR, 5, ONE)
    rejects(ledger, "neither 0", Kind.VOTED, 1, ALICE, 301, "0x" + "00" * 31 + "02")
    ledger.apply(Kind.VOTED, 1, ALICE, 301, ONE)
    rejects(ledger, "votes twice", Kind.VOTED, 1, ALICE, 301, ONE)
    ledger.apply(Kind.VOTED, 1, CAROL, 367, ONE)
    with pytest.raises(LedgerIntegrityError, match="is open until"):
        ledger.release(1, 1, 683, 18)
    ledger.now += 3600
    rejects(ledger, "after the vote closed", Kind.VOTED, 1, BOB, 333, ONE)
    rejects(ledger, "passed", Kind.ABORTED, 1, CREATOR, 701)
    for tranche, amount, fee in ((1, 684, 17), (2, 683, 18), (1, 682, 18)):
        with pytest.raises(LedgerIntegrityError, match="the rules give tranche 1: 683 \\+ fee 18"):
            ledger.release(1, tranche, amount, fee)
    rejects(
        ledger,
        "does not commit to the tranche",
        Kind.TRANCHE_RELEASED,
        1,
        CREATOR,
        683,
        ZERO,
        terms=TrancheTerms(1, 18),
    )
    rejects(
        ledger,
        "without its tranche and fee",
        Kind.TRANCHE_RELEASED,
        1,
        CREATOR,
        683,
        "0x" + entry_terms_detail(TrancheTerms(1, 18)).hex(),
    )
    ledger.release(1, 1, 683, 18)

    ledger = Ledger()
    funded(ledger)
    ledger.apply(Kind.RELEASE_REQUESTED, 1, CREATOR, 1, REPORT)
    ledger.apply(Kind.VOTED, 1, BOB, 333, ZERO)
    ledger.now += 3600
    with pytest.raises(LedgerIntegrityError, match="although its vote failed"):
        ledger.release(1, 1, 683, 18)
    rejects(ledger, "the ledger gives 701", Kind.ABORTED, 1, CREATOR, 700)
    ledger.apply(Kind.ABORTED, 1, CREATOR, 701)
    rejects(ledger, "pro-rata share of 301 is 210", Kind.REFUNDED, 1, ALICE, 301)
    rejects(ledger, "not in delivery", Kind.RELEASE_REQUESTED, 1, CREATOR, 1, REPORT)
    rejects(ledger, "not the creator", Kind.DISCLOSED, 1, ALICE, 0, REPORT)
    ledger.apply(Kind.DISCLOSED, 1, CREATOR, 0, REPORT)
    assert ledger.state.disclosures[ledger.seq].document_hash == REPORT


def test_a_plain_campaign_is_unchanged_and_takes_disclosures() -> None:
    ledger = Ledger()
    terms = CampaignTerms(ETH, 1000, ledger.now + 900, 0, False, 250, ZERO)
    ledger.apply(Kind.CAMPAIGN_CREATED, 1, CREATOR, 1000, "0x" + entry_terms_detail(terms).hex(), terms)
    ledger.apply(Kind.PLEDGED, 1, ALICE, 1000)
    ledger.apply(Kind.DISCLOSED, 1, CREATOR, 0, REPORT)
    ledger.now += 1000
    rejects(ledger, "not a milestone campaign", Kind.RELEASE_REQUESTED, 1, CREATOR, 1, REPORT)
    ledger.apply(Kind.CLAIMED, 1, CREATOR, 975, "0x" + (25).to_bytes(32, "big").hex())
    campaign = ledger.state.campaigns[1]
    assert campaign.claimed and not campaign.milestone and campaign.escrowed == 0
    assert campaign.state_at(ledger.now) == State.CLAIMED and not ledger.state.milestones


# ------------------------------------------------------------------------------------- export


def test_plan_and_tranche_lines_round_trip_in_both_formats() -> None:
    ledger = Ledger()
    funded(ledger, bps=(2000, 3000, 5000))
    ledger.apply(Kind.RELEASE_REQUESTED, 1, CREATOR, 1, REPORT)
    ledger.apply(Kind.VOTED, 1, CAROL, 367, ONE)
    ledger.now += 3600
    release = ledger.release(1, 1, 292, 8)  # floor(1001 * 0.3) = 300
    entries = [
        LedgerEntry(
            1,
            Kind.MILESTONE_PLAN,
            1,
            CREATOR,
            3,
            ZERO,
            HEAD,
            1,
            HEAD,
            HEAD,
            0,
            5,
            MilestonePlanTerms((2000, 3000, 5000), 7200),
        ),
        release,
    ]
    for fmt in ("ndjson", "csv"):
        out = io.BytesIO()
        write_export(entries, fmt, out)
        if fmt == "ndjson":
            assert b'"tranche_bps":[2000,3000,5000],"voting_period":7200' in out.getvalue()
            assert b'"tranche":1,"fee":"8"' in out.getvalue()
        else:
            assert b"2000;3000;5000,7200" in out.getvalue()
        back = [item for _, item in read_export(io.BytesIO(out.getvalue()))]
        assert back == entries


def test_a_plan_or_tranche_line_without_its_terms_is_a_bad_line() -> None:
    entries = [
        LedgerEntry(1, Kind.MILESTONE_PLAN, 1, CREATOR, 2, ZERO, HEAD, 1, HEAD, HEAD, 0, 5, None),
        LedgerEntry(2, Kind.TRANCHE_RELEASED, 1, CREATOR, 2, ZERO, HEAD, 1, HEAD, HEAD, 0, 5, None),
        LedgerEntry(
            3,
            Kind.MILESTONE_PLAN,
            1,
            CREATOR,
            2,
            ZERO,
            HEAD,
            1,
            HEAD,
            HEAD,
            0,
            5,
            MilestonePlanTerms((2000, 70000), 7200),
        ),
    ]
    out = io.BytesIO()
    write_export(entries, "ndjson", out)
    items = [item for _, item in read_export(io.BytesIO(out.getvalue()))]
    assert all(isinstance(i, BadLine) for i in items)
    assert "tranche_bps" in items[0].reason and "tranche" in items[1].reason and "uint16" in items[2].reason


def test_records_keep_the_entry_shape() -> None:
    entry = LedgerEntry(
        1, Kind.TRANCHE_RELEASED, 1, CREATOR, 2, ZERO, HEAD, 1, HEAD, HEAD, 0, 5, TrancheTerms(1, 3)
    )
    assert len(entry) == 13 and entry.fee == 3 and entry._replace(terms=None).fee == 0
    assert replace(TrancheTerms(1, 3), fee=4) != entry.terms


def test_tranche_zero_needs_the_deadline_passed_and_the_goal_met() -> None:
    ledger = Ledger()
    ledger.milestone_campaign(1, (3000, 7000))
    ledger.apply(Kind.PLEDGED, 1, ALICE, 1001)
    rejects(
        ledger,
        "not in the Succeeded state",
        Kind.CLAIMED,
        1,
        CREATOR,
        292,
        "0x" + (8).to_bytes(32, "big").hex(),
    )
    ledger.milestone_campaign(2, (3000, 7000))
    ledger.apply(Kind.PLEDGED, 2, ALICE, 999)
    ledger.now += 1000
    rejects(
        ledger,
        "not in the Succeeded state",
        Kind.CLAIMED,
        2,
        CREATOR,
        292,
        "0x" + (8).to_bytes(32, "big").hex(),
    )
    assert ledger.state.campaigns[2].state_at(ledger.now) == State.FAILED
    ledger.apply(Kind.CLAIMED, 1, CREATOR, 292, "0x" + (8).to_bytes(32, "big").hex())
