"""Issue 18 through the API, on a real anvil and both databases: an expired campaign (state 7), a
stale abort (kind 16), credited payouts and their withdrawals (kinds 14, 15), each position's
status with the reason it may refund, every account's credits per asset, and /stats' solvency with
credits: per asset, escrowed + fees not withdrawn + owed is exactly the escrow's balance."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from api.schemas.backers import BackerPublic
from api.schemas.campaigns import CampaignBackersPublic, CampaignPublic, CampaignsPublic
from api.schemas.credits import CreditsPublic
from api.schemas.milestones import MilestonesPublic
from api.schemas.stats import StatsPublic
from ledger.core.records import ETH, Kind
from tests.api.conftest import World, make_world
from tests.api.test_routes import ok
from tests.support.chain import EscrowChain

ERC20_BALANCE = [
    {
        "name": "balanceOf",
        "type": "function",
        "stateMutability": "view",
        "inputs": [{"name": "a", "type": "address"}],
        "outputs": [{"name": "", "type": "uint256"}],
    }
]


@pytest.fixture(scope="module")
def exits() -> Iterator[tuple[EscrowChain, dict[str, Any]]]:
    chain = EscrowChain.start()
    try:
        yield chain, chain.exit_outcomes()
    finally:
        chain.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest,
    exits: tuple[EscrowChain, dict[str, Any]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[World]:
    folder = tmp_path_factory.mktemp(f"exits-{request.param}")
    with make_world(exits[0], request.param, folder, audit_interval=0) as built:
        yield built


def positions(world: World, cid: int) -> dict[str, dict[str, Any]]:
    body = ok(world, f"/campaigns/{cid}/backers", CampaignBackersPublic)
    return {p["backer"]: p for p in body["data"]}


def test_an_expired_campaign_and_its_backers(world: World, exits: tuple[EscrowChain, dict[str, Any]]) -> None:
    chain, ids = exits
    expired = ok(world, f"/campaigns/{ids['expired']}", CampaignPublic)
    assert expired["state"] == "expired" and expired["abort_cause"] is None
    assert expired["backer_count"] == 3 and expired["holders"] == 1  # backers 2 and 3 refunded
    rows = positions(world, ids["expired"])
    assert (
        rows[chain.accounts[4]]["status"] == "refundable" and rows[chain.accounts[4]]["reason"] == "expired"
    )
    assert rows[chain.accounts[2]]["status"] == "refunded" and rows[chain.accounts[2]]["reason"] == "expired"
    assert rows[chain.accounts[4]]["refundable"] == rows[chain.accounts[4]]["escrowed"] == "367"
    # the state filter knows expired (one rule: Campaign.state_at, no SQL copy)
    listed = ok(world, "/campaigns", CampaignsPublic, state="expired")
    assert [c["id"] for c in listed["data"]] == [ids["expired"]] and listed["count"] == 1
    backer = ok(world, f"/backers/{chain.accounts[4]}", BackerPublic)
    mine = {item["campaign"]["id"]: item["position"] for item in backer["data"]}
    assert mine[ids["expired"]]["reason"] == "expired"


def test_a_stale_abort_names_its_cause(world: World, exits: tuple[EscrowChain, dict[str, Any]]) -> None:
    chain, ids = exits
    stale = ok(world, f"/campaigns/{ids['stale']}", CampaignPublic)
    assert stale["state"] == "aborted" and stale["aborted"] and stale["abort_cause"] == "silence"
    rows = positions(world, ids["stale"])
    assert (
        rows[chain.accounts[4]]["status"] == "refundable" and rows[chain.accounts[4]]["reason"] == "silence"
    )
    aborted = ok(world, "/campaigns", CampaignsPublic, state="aborted")["data"]
    assert {c["id"]: c["abort_cause"] for c in aborted} == {ids["stale"]: "silence"}
    abort = ok(world, f"/campaigns/{ids['stale']}/milestones", MilestonesPublic)["abort"]
    entry = next(e for e in world.store.iter_entries() if e.kind == Kind.STALE_ABORTED)
    assert (abort["seq"], abort["tx_hash"], abort["block_number"]) == (
        entry.seq,
        entry.tx_hash,
        entry.block_number,
    )


def test_a_campaigns_figures_are_its_rows_sums(
    world: World, exits: tuple[EscrowChain, dict[str, Any]]
) -> None:
    """Held for backers now and still refundable are exactly what the backers' rows add up to (bug 3), and
    a refunded backer of the stale-aborted campaign keeps the share released in tranche 0 (bug 5)."""
    chain, ids = exits
    for cid in ids.values():
        if not isinstance(cid, int):
            continue
        campaign = ok(world, f"/campaigns/{cid}", CampaignPublic)
        rows = positions(world, cid).values()
        assert int(campaign["held"]) == sum(int(p["escrowed"]) for p in rows), cid
        assert int(campaign["refundable"]) == sum(int(p["refundable"]) for p in rows), cid
        assert 0 <= int(campaign["escrowed"]) - int(campaign["held"]) <= len(rows), cid  # pro-rata rounding
    stale = positions(world, ids["stale"])
    refunded = stale[chain.accounts[2]]
    assert refunded["status"] == "refunded" and refunded["released"] == str(301 * 2000 // 10_000)


def test_credits_per_asset(world: World, exits: tuple[EscrowChain, dict[str, Any]]) -> None:
    chain, ids = exits
    receiver, blocklist = ids["receiver"].address, ids["blocklist"].address
    credits = ok(world, f"/credits/{receiver}", CreditsPublic)
    assert credits["address"] == receiver
    [eth] = credits["data"]
    assert eth["asset"]["address"] is None and eth["asset"]["symbol"] == "ETH"
    assert int(eth["owed"]) == chain.owed(receiver) > 0  # the release's credit is still owed
    assert int(eth["credited"]) - int(eth["withdrawn"]) == int(eth["owed"]) and int(eth["withdrawn"]) > 0
    [token] = ok(world, f"/credits/{chain.accounts[1]}", CreditsPublic)["data"]
    assert token["token"] == blocklist and token["asset"]["address"] == blocklist
    assert token["owed"] == "0" and token["credited"] == token["withdrawn"] != "0"
    assert ok(world, f"/credits/{chain.accounts[9]}", CreditsPublic)["data"] == []


def test_stats_count_credits_in_solvency(world: World, exits: tuple[EscrowChain, dict[str, Any]]) -> None:
    chain, ids = exits
    stats = ok(world, "/stats", StatsPublic)
    assert stats["campaigns_by_state"]["expired"] == 1
    rows = {t["token"].lower(): t for t in stats["tokens"]}
    eth = rows[ETH]
    assert int(eth["owed"]) == chain.owed(ids["receiver"].address)
    token = ids["blocklist"].address
    balances = {
        ETH: chain.w3.eth.get_balance(chain.address),
        token.lower(): chain.w3.eth.contract(address=token, abi=ERC20_BALANCE)
        .functions.balanceOf(chain.address)
        .call(),
    }
    for address, row in rows.items():
        assert int(row["held"]) == int(row["escrowed"]) + int(row["fees_unwithdrawn"]) + int(row["owed"])
        assert int(row["held"]) == balances[address], address  # solvency, credits included


def test_addresses_with_a_wrong_checksum_are_refused(
    world: World, exits: tuple[EscrowChain, dict[str, Any]]
) -> None:
    chain, _ = exits
    good = chain.accounts[4]
    flipped = good[:2] + "".join(c.swapcase() if c.isalpha() else c for c in good[2:])
    for path in (f"/backers/{flipped}", f"/credits/{flipped}", f"/verify/backer/{flipped}"):
        response = world.get(path)
        assert response.status_code == 422, path
        assert "checksum" in response.json()["detail"] and good in response.json()["detail"]
    response = world.get("/campaigns", params={"creator": flipped})
    assert response.status_code == 422 and "checksum" in response.json()["detail"]
    for spelled in (good, good.lower(), "0x" + good[2:].upper()):
        assert world.get(f"/backers/{spelled}").status_code == 200, spelled
        assert world.get("/campaigns", params={"creator": spelled}).status_code == 200, spelled
