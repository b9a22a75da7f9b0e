"""The milestone routes (issue 7) against ledgers the real indexer built from a real anvil, on
SQLite and PostgreSQL: a campaign's delivery (GET /campaigns/{id}/milestones) agrees with
getMilestones() and campaignState(), votes and documents with the store and the ledger, and what
the API says is escrowed adds up, with the fees, to the escrow's balance in every asset.

One chain per module holds milestone campaigns in every phase (EscrowChain.milestone_phases);
the shared random history (tests/api/conftest.py) has more of them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from eth_utils import to_checksum_address
from web3 import Web3

from api.pagination import MAX_LIMIT
from api.schemas.backers import BackerPublic, BackerVotesPublic
from api.schemas.campaigns import CampaignBackersPublic, CampaignsPublic
from api.schemas.ledger import EntriesPublic, EntryDetailPublic
from api.schemas.milestones import CampaignVotesPublic, DocumentsPublic, MilestonesPublic
from api.schemas.stats import StatsPublic
from api.schemas.verify import BackerVerificationPublic
from ledger.core.records import ETH, Kind
from tests.api.conftest import FINALITY, World, make_world
from tests.api.test_routes import STATES, all_campaigns, ok, walk
from tests.support.chain import DOCUMENT, REPORT, EscrowChain


@dataclass
class Phases:
    """The API on a chain with a milestone campaign in every phase; `ids` by phase."""

    world: World
    ids: dict[str, int]

    def delivery(self, phase: str) -> dict[str, Any]:
        return ok(self.world, f"/campaigns/{self.ids[phase]}/milestones", MilestonesPublic)


@pytest.fixture(scope="module")
def phases_chain() -> Iterator[tuple[EscrowChain, dict[str, int]]]:
    chain = EscrowChain.start()
    try:
        ids = chain.milestone_phases()
        chain.mine(FINALITY + 1)
        yield chain, ids
    finally:
        chain.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def phases(
    request: pytest.FixtureRequest, phases_chain: tuple[EscrowChain, dict[str, int]], tmp_path_factory: Any
) -> Iterator[Phases]:
    chain, ids = phases_chain
    with make_world(
        chain, request.param, tmp_path_factory.mktemp(f"phases-{request.param}"), audit_interval=0
    ) as world:
        yield Phases(world, ids)


def hex32(value: bytes) -> str:
    return "0x" + bytes(value).hex()


# --------------------------------------------------------------------------------- the checks both ledgers get


def check_delivery(world: World, campaign: dict[str, Any]) -> dict[str, Any]:
    """GET /campaigns/{id}/milestones for one campaign, checked against the contract's views and
    the store; returns it."""
    cid = campaign["id"]
    view = world.chain.escrow.functions
    got = ok(world, f"/campaigns/{cid}/milestones", MilestonesPublic)
    assert (
        got["campaign_id"] == cid
        and got["state"] == campaign["state"] == STATES[view.campaignState(cid).call()]
    )
    assert got["milestone"] == campaign["milestone"]
    assert got["total"] == campaign["pledged"] and got["escrowed"] == campaign["escrowed"]
    assert int(got["released_gross"]) == int(got["released_paid"]) + int(got["released_fees"])
    assert (
        got["released_paid"] == campaign["claimed_amount"] and got["released_fees"] == campaign["claim_fee"]
    )
    if not got["milestone"]:
        assert (
            got["tranches"] == []
            and got["vote"] is None
            and got["abort"] is None
            and got["tranche_count"] == 0
        )
        return got
    (
        bps,
        period,
        released,
        released_amount,
        next_amount,
        pending,
        vote_tranche,
        report,
        vote_end,
        approve,
        reject,
        aborted,
        remaining,
        refunded,
        unrefunded,
        dust,
    ) = world.chain.milestones(cid)
    assert [t["bps"] for t in got["tranches"]] == list(bps) and got["voting_period"] == period
    assert got["tranche_count"] == campaign["tranche_count"] == len(bps)
    assert got["tranches_released"] == campaign["tranches_released"] == released
    assert int(got["released_gross"]) == released_amount
    assert int(got["next_tranche_amount"]) == next_amount
    assert (got["next_tranche"] is not None) == (campaign["state"] in ("funding", "succeeded", "in_delivery"))
    if got["next_tranche"] is not None:
        assert got["next_tranche"] == released and int(got["tranches"][released]["gross"]) == next_amount
    assert sum(int(t["gross"]) for t in got["tranches"]) == int(got["total"])
    paid = {r.tranche: r for r in world.store.tranche_releases_of(cid)}
    assert (
        [t["tranche"] for t in got["tranches"] if t["status"] == "released"]
        == sorted(paid)
        == list(range(released))
    )
    for t in got["tranches"]:
        if t["status"] != "released":
            assert t["amount"] is None and t["seq"] is None
            continue
        r = paid[t["tranche"]]
        assert (int(t["gross"]), int(t["amount"]), int(t["fee"]), t["seq"]) == (
            r.gross,
            r.amount,
            r.fee,
            r.seq,
        )
        assert int(t["amount"]) + int(t["fee"]) == int(t["gross"])
        assert t["report_hash"] == r.report_hash and (t["report_hash"] is None) == (t["tranche"] == 0)
        entry = ok(world, f"/ledger/{t['seq']}", EntryDetailPublic)
        assert entry["tx_hash"] == t["tx_hash"] and entry["kind"] == (
            Kind.CLAIMED if t["tranche"] == 0 else Kind.TRANCHE_RELEASED
        )
        assert entry["amount"] == t["amount"] and entry["block_time"] == t["block_time"]
    vote = got["vote"]
    assert (vote is None) == (vote_tranche == 0)
    if vote is not None:
        assert vote["tranche"] == vote_tranche and vote["report_hash"] == hex32(report)
        assert vote["vote_end_unix"] == vote_end and (
            int(vote["approve_weight"]),
            int(vote["reject_weight"]),
        ) == (approve, reject)
        assert (vote["status"] in ("open", "closed")) == pending
        assert vote["status"] == ("aborted" if aborted else "released") or pending
        assert any(t["status"] == "voting" for t in got["tranches"]) == pending
        total = int(got["total"])
        assert vote["passes"] == (approve > reject and (approve + reject) * 5 >= total)
        assert vote["quorum_reached"] == ((approve + reject) * 5 >= total)
        request = ok(world, f"/ledger/{vote['request_seq']}", EntryDetailPublic)
        assert request["kind"] == Kind.RELEASE_REQUESTED and request["tx_hash"] == vote["request_tx_hash"]
        assert request["detail"] == vote["report_hash"] and int(request["amount"]) == vote["tranche"]
        assert vote["voters"] == len(world.store.votes_of(cid, vote_tranche))
    abort = got["abort"]
    assert (abort is not None) == aborted == (campaign["state"] == "aborted") == campaign["aborted"]
    if abort is not None:
        assert (int(abort["remaining"]), int(abort["refunded"]), int(abort["unrefunded_weight"])) == (
            remaining,
            refunded,
            unrefunded,
        )
        assert abort["dust_settled"] == (unrefunded == 0)
        assert int(abort["refunded"]) + int(abort["owed"]) + int(abort["dust"]) == remaining
        if abort["dust_settled"]:
            assert int(abort["dust"]) == dust and abort["owed"] == "0" and got["escrowed"] == "0"
        assert int(got["escrowed"]) == remaining - refunded - dust
        assert all(t["status"] in ("released", "returned") for t in got["tranches"])
    elif campaign["state"] in ("in_delivery", "claimed"):
        assert int(got["escrowed"]) == int(got["total"]) - released_amount
    return got


def check_escrow_adds_up(world: World) -> None:
    """What the API says is escrowed, per asset, plus the fees not withdrawn is the escrow's balance."""
    view = world.chain.escrow.functions
    stats = ok(world, "/stats", StatsPublic)
    campaigns = all_campaigns(world)
    for token in {c["token"] for c in campaigns}:
        escrowed = sum(int(c["escrowed"]) for c in campaigns if c["token"] == token)
        assert int(next(t for t in stats["tokens"] if t["token"] == token)["escrowed"]) == escrowed
        if token == ETH:
            balance = world.chain.w3.eth.get_balance(world.chain.address)
        else:
            balance = world.chain.token.functions.balanceOf(world.chain.address).call()
        assert escrowed + view.accruedFees(token).call() == balance, token


def check_votes(world: World, cid: int) -> None:
    votes = walk(world, f"/campaigns/{cid}/votes", CampaignVotesPublic, limit=1)
    stored = world.store.votes_of(cid)
    assert [(v["seq"], v["tranche"], v["backer"].lower(), v["approve"], int(v["weight"])) for v in votes] == [
        (s.seq, s.tranche, s.backer, s.approve, s.weight) for s in stored
    ]
    for tranche in {s.tranche for s in stored}:
        only = walk(world, f"/campaigns/{cid}/votes", CampaignVotesPublic, limit=MAX_LIMIT, tranche=tranche)
        assert [v["seq"] for v in only] == [s.seq for s in stored if s.tranche == tranche]


def check_documents(world: World, cid: int) -> list[dict[str, Any]]:
    documents = walk(world, f"/campaigns/{cid}/disclosures", DocumentsPublic, limit=1)
    entries = walk(world, f"/campaigns/{cid}/ledger", EntriesPublic, limit=MAX_LIMIT)
    expected = [e for e in entries if e["kind"] in (Kind.RELEASE_REQUESTED, Kind.DISCLOSED)]
    assert [(d["seq"], d["hash"], d["tx_hash"], d["block_time"], d["account"]) for d in documents] == [
        (e["seq"], e["detail"], e["tx_hash"], e["block_time"], e["account"]) for e in expected
    ]
    assert [d["tranche"] for d in documents] == [
        int(e["amount"]) if e["kind"] == Kind.RELEASE_REQUESTED else None for e in expected
    ]
    disclosed = [(d["seq"], d["hash"]) for d in documents if d["kind"] == "disclosure"]
    assert disclosed == [(d.seq, d.document_hash) for d in world.store.disclosures_of(cid)]
    return documents


# --------------------------------------------------------------------------------- every phase


def test_every_phase_agrees_with_the_contract(phases: Phases) -> None:
    world = phases.world
    campaigns = {c["id"]: c for c in all_campaigns(world)}
    for phase, cid in phases.ids.items():
        got = check_delivery(world, campaigns[cid])
        check_votes(world, cid)
        check_documents(world, cid)
        assert got["milestone"] == (phase != "plain"), phase
    check_escrow_adds_up(world)
    states = {phase: campaigns[cid]["state"] for phase, cid in phases.ids.items()}
    assert states == {
        "funding": "funding",
        "succeeded": "succeeded",
        "voting": "in_delivery",
        "delivering": "in_delivery",
        "claimed": "claimed",
        "aborted": "aborted",
        "swept": "aborted",
        "failed": "failed",
        "cancelled": "cancelled",
        "plain": "claimed",
    }
    in_delivery = ok(world, "/campaigns", CampaignsPublic, state="in_delivery")["data"]
    assert sorted(c["id"] for c in in_delivery) == sorted((phases.ids["voting"], phases.ids["delivering"]))
    aborted = ok(world, "/campaigns", CampaignsPublic, state="aborted")["data"]
    assert sorted(c["id"] for c in aborted) == sorted((phases.ids["aborted"], phases.ids["swept"]))
    stats = ok(world, "/stats", StatsPublic)
    assert stats["campaigns_by_state"]["in_delivery"] == 2 and stats["campaigns_by_state"]["aborted"] == 2


def test_the_open_vote(phases: Phases) -> None:
    got = phases.delivery("voting")
    total = 301 + 333 + 367 + 1000
    assert got["total"] == str(total) and got["tranches_released"] == 1 and got["next_tranche"] == 1
    assert [t["status"] for t in got["tranches"]] == ["released", "voting", "pending"]
    assert [t["gross"] for t in got["tranches"]] == [
        str(total * 2000 // 10_000),
        str(total * 3000 // 10_000),
        str(total - total * 2000 // 10_000 - total * 3000 // 10_000),
    ]
    vote = got["vote"]
    assert vote["status"] == "open" and vote["tranche"] == 1 and vote["report_hash"] == hex32(REPORT)
    assert (
        vote["approve_weight"] == "1000" and vote["reject_weight"] == "333" and vote["voted_weight"] == "1333"
    )
    assert (
        vote["voters"] == 2
        and vote["quorum"] == str(-(-total // 5))
        and vote["quorum_reached"]
        and vote["passes"]
    )
    assert vote["at_stake"] == got["tranches"][1]["gross"] and vote["at_stake"] == got["next_tranche_amount"]
    chain_now = phases.world.chain.now()
    assert 0 < vote["seconds_left"] <= vote["vote_end_unix"] - chain_now + 1
    assert vote["vote_end"].endswith("Z") and vote["requested_at"] < vote["vote_end"]
    assert got["escrowed"] == str(total - total * 2000 // 10_000)


def test_released_claimed_and_plain(phases: Phases) -> None:
    delivering = phases.delivery("delivering")
    assert [t["status"] for t in delivering["tranches"]] == ["released", "released", "pending"]
    tranche = delivering["tranches"][1]
    assert (
        tranche["report_hash"] == hex32(REPORT)
        and tranche["approve_weight"] == "1000"
        and tranche["reject_weight"] == "301"
    )
    assert delivering["vote"]["status"] == "released" and delivering["vote"]["seconds_left"] == 0
    claimed = phases.delivery("claimed")
    assert (
        claimed["state"] == "claimed"
        and claimed["asset"]["address"] == claimed["token"]
        and claimed["escrowed"] == "0"
    )
    assert [t["status"] for t in claimed["tranches"]] == ["released"] * 3 and claimed["next_tranche"] is None
    assert claimed["released_gross"] == claimed["total"]
    plain = phases.delivery("plain")
    assert plain["milestone"] is False and plain["state"] == "claimed" and plain["plan_seq"] is None
    assert int(plain["released_gross"]) == int(plain["total"])
    documents = ok(phases.world, f"/campaigns/{phases.ids['plain']}/disclosures", DocumentsPublic)["data"]
    assert [(d["kind"], d["hash"], d["tranche"]) for d in documents] == [
        ("disclosure", hex32(DOCUMENT), None)
    ]
    for phase in ("funding", "succeeded", "failed", "cancelled"):
        got = phases.delivery(phase)
        assert got["vote"] is None and got["tranches_released"] == 0
        expected = "pending" if phase in ("funding", "succeeded") else "returned"
        assert {t["status"] for t in got["tranches"]} == {expected}, phase
    funding_docs = ok(phases.world, f"/campaigns/{phases.ids['funding']}/disclosures", DocumentsPublic)[
        "data"
    ]
    assert [d["hash"] for d in funding_docs] == [hex32(b"\xd1" * 32)]


def test_aborted_campaigns_and_their_dust(phases: Phases) -> None:
    aborted = phases.delivery("aborted")
    total = 301 + 333 + 367
    released = total * 3000 // 10_000
    remaining = total - released
    owed = 367 * remaining // total  # backer 4 has not refunded yet
    abort = aborted["abort"]
    assert aborted["vote"]["status"] == "aborted" and not aborted["vote"]["passes"]
    assert [t["status"] for t in aborted["tranches"]] == ["released", "returned"]
    assert abort["remaining"] == str(remaining) and abort["owed"] == str(owed) and not abort["dust_settled"]
    paid = 301 * remaining // total + 333 * remaining // total
    assert abort["refunded"] == str(paid) and abort["dust"] == str(remaining - paid - owed)
    assert aborted["escrowed"] == str(remaining - paid) and aborted["next_tranche"] is None
    entry = ok(phases.world, f"/ledger/{abort['seq']}", EntryDetailPublic)
    assert (
        entry["kind"] == Kind.ABORTED
        and entry["amount"] == abort["remaining"]
        and entry["tx_hash"] == abort["tx_hash"]
    )
    swept = phases.delivery("swept")
    assert swept["abort"]["dust_settled"] and swept["abort"]["owed"] == "0" and swept["escrowed"] == "0"
    assert not swept["vote"]["quorum_reached"] and swept["vote"]["approve_weight"] == "50"


def test_backer_statuses_votes_and_verify(phases: Phases) -> None:
    world, ids = phases.world, phases.ids
    accounts = world.chain.accounts
    backers = ok(world, f"/campaigns/{ids['voting']}/backers", CampaignBackersPublic)["data"]
    assert {b["status"] for b in backers} == {"in_delivery"}
    backers = ok(world, f"/campaigns/{ids['aborted']}/backers", CampaignBackersPublic)["data"]
    assert sorted(b["status"] for b in backers) == ["refundable", "refunded", "refunded"]
    mine = {i["campaign"]["id"]: i for i in ok(world, f"/backers/{accounts[5]}", BackerPublic)["data"]}
    assert mine[ids["voting"]]["campaign"]["state"] == "in_delivery"
    assert mine[ids["voting"]]["position"]["status"] == "in_delivery"
    assert mine[ids["claimed"]]["position"]["status"] == "released"

    for account in accounts[2:7]:
        votes = walk(world, f"/backers/{account.lower()}/votes", BackerVotesPublic, limit=1)
        stored = world.store.votes_by(account)
        assert [
            (v["campaign_id"], v["seq"], v["tranche"], v["approve"], int(v["weight"])) for v in votes
        ] == [(s.campaign_id, s.seq, s.tranche, s.approve, s.weight) for s in stored]
        assert all(v["backer"] == account for v in votes)
    five = ok(world, f"/backers/{accounts[5]}/votes", BackerVotesPublic)
    assert five["address"] == accounts[5] and len(five["data"]) == 4  # delivering, claimed twice, voting

    result = ok(world, f"/verify/backer/{accounts[5]}", BackerVerificationPublic)
    assert result["ok"]
    by_id = {c["campaign_id"]: c for c in result["campaigns"]}
    voting = by_id[ids["voting"]]
    total = 2001
    g0, g1 = total * 2000 // 10_000, total * 3000 // 10_000
    assert voting["status"] == "in_delivery" and voting["released"] == str(1000 * g0 // total)
    # escrowed in delivery is what an abort would refund now: floor(balance x (total - released) / total)
    assert voting["at_stake"] == str(1000 * g1 // total) and voting["escrowed"] == str(
        1000 * (total - g0) // total
    )
    assert [(v["tranche"], v["approve"]) for v in voting["votes"]] == [(1, True)]
    four = ok(world, f"/verify/backer/{accounts[4]}", BackerVerificationPublic)
    aborted = next(c for c in four["campaigns"] if c["campaign_id"] == ids["aborted"])
    remaining = 1001 - 1001 * 3000 // 10_000
    assert aborted["status"] == "refundable" and aborted["refundable"] == str(367 * remaining // 1001)


def test_unknown_campaigns_and_bad_input(phases: Phases) -> None:
    world = phases.world
    missing = 10**6
    for path in ("milestones", "votes", "disclosures"):
        response = world.get(f"/campaigns/{missing}/{path}")
        assert (
            response.status_code == 404
            and response.json()["detail"] == f"no campaign {missing} in the indexed ledger"
        )
    assert world.get(f"/campaigns/{phases.ids['voting']}/votes", params={"tranche": 0}).status_code == 422
    assert (
        world.get(f"/campaigns/{phases.ids['voting']}/votes", params={"cursor": "bm9wZQ"}).status_code == 400
    )
    first = ok(world, f"/campaigns/{phases.ids['claimed']}/votes", CampaignVotesPublic, limit=1)
    other = world.get(f"/campaigns/{phases.ids['voting']}/votes", params={"cursor": first["next"]})
    assert other.status_code == 400 and "another list" in other.json()["detail"]
    nobody = ok(world, "/backers/0x" + "ab" * 20 + "/votes", BackerVotesPublic)
    assert nobody == {"address": to_checksum_address("0x" + "ab" * 20), "data": [], "next": None}
    assert ok(world, f"/campaigns/{phases.ids['plain']}/votes", CampaignVotesPublic)["data"] == []


# --------------------------------------------------------------------------------- the shared random history


def test_random_history_deliveries_agree_with_the_contract(world: World) -> None:
    campaigns = all_campaigns(world)
    milestone = [c for c in campaigns if c["milestone"]]
    assert milestone and {c["state"] for c in milestone} & {"in_delivery", "aborted", "claimed"}
    for c in campaigns:
        check_delivery(world, c)
        if c["milestone"]:
            check_votes(world, c["id"])
    check_escrow_adds_up(world)
    with world.store.engine.connect() as conn:
        voters = {
            Web3.to_checksum_address(v) for (v,) in conn.exec_driver_sql("SELECT DISTINCT backer FROM votes")
        }
    for voter in voters:
        votes = walk(world, f"/backers/{voter}/votes", BackerVotesPublic, limit=2)
        assert [(v["campaign_id"], v["seq"]) for v in votes] == [
            (s.campaign_id, s.seq) for s in world.store.votes_by(voter)
        ]
