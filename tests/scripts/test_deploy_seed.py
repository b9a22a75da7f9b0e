"""Deploy and seed on a fresh anvil (its own free port, never 8545), through the library and
through the `python -m scripts.*` command lines; the seeded demo (its settled past of expired,
stale-aborted and credited campaigns, its 6-decimal token campaigns, its documents) indexes and
audits clean. No brownie fixtures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from web3 import Web3

from devnet.deploy import KeyAccount, NodeAccount, connect, escrow_contract
from devnet.milestones import read_milestones
from devnet.nodes import LocalNode, free_port
from devnet.seed import seed_demo
from devnet.summary import MILESTONE_PHASES, STATE_NAMES, SeedSummary
from ledger.audit.chain_audit import audit_chain
from ledger.chain.deployment import Deployment, read_deployment
from ledger.chain.rpc import RpcClient
from ledger.core.documents import document_hash, read_metadata
from ledger.core.hashing import keccak256
from ledger.db.engine import open_database
from ledger.db.store import LedgerStore
from ledger.sync.indexer import Indexer
from scripts.deploy import deploy

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# anvil's well-known development key #0 (public knowledge; for this test only)
DEV_KEY_0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
DEV_ADDRESS_0 = Account.from_key(DEV_KEY_0).address
ETH = "0x" + "00" * 20
STATE = {name: index for index, name in enumerate(STATE_NAMES)}


@pytest.fixture
def anvil() -> Iterator[LocalNode]:
    with LocalNode.start("anvil") as node:
        yield node


@dataclass
class Demo:
    node: LocalNode
    w3: Web3
    deployment: Deployment
    summary: SeedSummary
    escrow: Any  # the contract's functions


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    """The demo, deployed and seeded once with 9 backers, for the tests that only read it."""
    with LocalNode.start("anvil") as node:
        w3 = connect(node.url)
        accounts = w3.eth.accounts
        owner = NodeAccount(accounts[0])
        deployment = deploy(w3, owner, fee_recipient=accounts[1], rpc_url=node.url)
        summary = seed_demo(w3, deployment, backers=9, sender=owner)
        yield Demo(node, w3, deployment, summary, escrow_contract(w3, deployment.address).functions)


@pytest.fixture
def keyless_anvil() -> Iterator[LocalNode]:
    """An anvil without unlocked accounts: only a private key can send, like a real node."""
    with LocalNode.start("anvil", accounts=0) as node:
        w3 = connect(node.url)
        w3.provider.make_request("anvil_setBalance", [DEV_ADDRESS_0, hex(10**22)])
        yield node


def run_script(module: str, *args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if k not in {"CROWDLEDGER_PRIVATE_KEY", "CROWDLEDGER_DEPLOYMENT"}
    }
    if key is not None:
        env["CROWDLEDGER_PRIVATE_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_deploy_and_seed_give_every_state(demo: Demo) -> None:
    summary, escrow = demo.summary, demo.escrow
    for state in STATE_NAMES:
        ids = summary.campaigns[state]
        # one in ETH and one in a token, but the expired campaign, and two aborted milestone ones
        assert len(ids) >= (1 if state == "Expired" else 2), f"no {state} campaigns: {summary.describe()}"
        for campaign_id in ids:
            assert escrow.campaignState(campaign_id).call() == STATE[state]
    tokens = {escrow.getCampaign(i).call()[1] for ids in summary.campaigns.values() for i in ids}
    assert tokens == {ETH, demo.deployment.tokens["DUSD"], demo.deployment.tokens["tUSDC"]}
    assert summary.backers == 9
    # 4 plain Claimed campaigns (one in tUSDC), tranche 0 of the 5 milestone campaigns past Succeeded,
    # and of the settled past: the stale campaign's tranche 0 and the credited claim
    assert summary.unpledges >= 1 and summary.refunds >= 3 and summary.claims == 4 + 5 + 2
    assert summary.fee_withdrawals == 3  # ETH, DUSD and tUSDC
    assert escrow.accruedFees(ETH).call() == 0
    # one ledger entry per movement: the chain's count matches what the seeder did
    milestone_plans = sum(len(ids) for ids in summary.milestones.values())
    entries = (
        sum(len(ids) for ids in summary.campaigns.values())
        + milestone_plans
        + summary.pledges
        + summary.unpledges
        + summary.cancels
        + summary.claims
        + summary.refunds
        + summary.fee_withdrawals
        + summary.release_requests
        + summary.votes
        + summary.releases
        + summary.aborts
        + summary.stale_aborts
        + summary.disclosures
        + summary.credits
        + summary.credit_withdrawals
    )
    assert escrow.ledgerLength().call() == entries
    assert summary.simulated_seconds >= 180 * 86_400
    assert not summary.skipped


def test_the_settled_past_ended_as_planned(demo: Demo) -> None:
    """Expired unclaimed, aborted for silence, paid through a credit; the jump ended none of the
    live campaigns."""
    summary, escrow = demo.summary, demo.escrow
    expired, stale, credit = (summary.outcomes[k] for k in ("expired", "stale", "credit"))
    assert (expired, stale, credit) == (1, 2, 3)  # created first
    assert escrow.campaignState(expired).call() == STATE["Expired"]
    assert escrow.campaignState(stale).call() == STATE["Aborted"]
    m = read_milestones(escrow, stale)
    assert m["tranchesReleased"] == 1 and m["aborted"] and m["approveWeight"] == m["rejectWeight"] == 0
    assert escrow.campaignState(credit).call() == STATE["Claimed"]
    creator = escrow.getCampaign(credit).call()[0]
    assert demo.w3.eth.get_code(creator)  # a contract, which refused the payout
    assert escrow.owed(creator, ETH).call() == 0  # credited, then withdrawn to another address
    assert summary.credits == summary.credit_withdrawals == summary.stale_aborts == 1
    assert min(summary.campaigns["Funding"]) > credit  # the live campaigns came after the jump


def test_every_hash_the_demo_put_on_the_ledger_is_a_document(demo: Demo) -> None:
    documents = dict(demo.summary.documents)
    assert all(document_hash(body) == digest for digest, body in documents.items())
    created = (
        escrow_contract(demo.w3, demo.deployment.address).events.CampaignCreated().get_logs(from_block=0)
    )
    metadata = {
        int(event["args"]["campaignId"]): read_metadata(documents["0x" + event["args"]["metadataHash"].hex()])
        for event in created
    }
    assert {i: m.title for i, m in metadata.items()} == demo.summary.titles
    pictures = [m.image for m in metadata.values() if m.image]
    assert pictures and all(documents[p].startswith(b"\x89PNG") for p in pictures)
    assert any(m.website for m in metadata.values()) and any(not m.website for m in metadata.values())
    texts = [
        body
        for body in documents.values()
        if body.startswith((b"Milestone", b"Delay", b"Spending", b"Design"))
    ]
    assert len(texts) >= 4  # the reports and the disclosures
    assert keccak256(texts[0]) == bytes.fromhex(document_hash(texts[0])[2:])


def test_demo_has_milestone_campaigns_in_every_phase(demo: Demo) -> None:
    summary, escrow = demo.summary, demo.escrow
    assert all(summary.milestones[phase] for phase in MILESTONE_PHASES), summary.describe()
    now = demo.w3.eth.get_block("latest")["timestamp"]

    def phase(name: str) -> list[tuple[int, dict[str, Any]]]:
        return [(i, read_milestones(escrow, i)) for i in summary.milestones[name]]

    for campaign_id, m in phase("funding"):
        assert escrow.campaignState(campaign_id).call() == STATE["Funding"] and m["tranchesReleased"] == 0
    for campaign_id, m in phase("succeeded"):
        assert escrow.campaignState(campaign_id).call() == STATE["Succeeded"] and m["tranchesReleased"] == 0
    for campaign_id, m in phase("voting"):  # the vote is open right now, and both sides voted
        assert escrow.campaignState(campaign_id).call() == STATE["InDelivery"]
        assert m["votePending"] and now < m["voteEnd"] and m["voteEnd"] - now > 86_400
        assert m["approveWeight"] > 0 and m["rejectWeight"] > 0 and m["reportHash"] != b"\0" * 32
    for campaign_id, m in phase("delivering"):  # tranche 1 released, no vote open
        assert escrow.campaignState(campaign_id).call() == STATE["InDelivery"]
        assert m["tranchesReleased"] == 2 < len(m["trancheBps"]) and not m["votePending"]
    released = phase("released")
    for campaign_id, m in released:
        assert escrow.campaignState(campaign_id).call() == STATE["Claimed"]
        assert m["tranchesReleased"] == len(m["trancheBps"]) and not m["votePending"]
    assert {escrow.getCampaign(i).call()[1] for i, _ in released} == {ETH, demo.deployment.tokens["DUSD"]}
    for campaign_id, m in phase("aborted"):  # some backers refunded pro rata, the others not yet
        assert escrow.campaignState(campaign_id).call() == STATE["Aborted"] and m["aborted"]
        assert m["rejectWeight"] >= m["approveWeight"]  # rejected, or (stale) never voted
        assert 0 < m["refunded"] < m["abortRemaining"] and m["unrefundedWeight"] > 0
    assert summary.disclosures >= 3 and summary.release_requests == summary.releases + summary.aborts + 1
    text = summary.describe()
    for phase_name in MILESTONE_PHASES:
        assert f"    {phase_name} " in text
    assert "open for 3.0 more days" in text


def test_the_seeded_demo_indexes_and_audits_clean(demo: Demo, tmp_path: Path) -> None:
    store = LedgerStore(open_database(f"sqlite:///{tmp_path / 'ledger.db'}"))
    with RpcClient(demo.node.url) as rpc:
        Indexer(
            rpc, store, demo.deployment.address, start_block=demo.deployment.block, finality_depth=0
        ).run()
        report = audit_chain(rpc, demo.deployment.address, start_block=demo.deployment.block, store=store)
    assert report.ok, report.findings
    assert report.ledger_length == demo.escrow.ledgerLength().call() == report.db_entries_compared
    assert report.campaigns == sum(len(ids) for ids in demo.summary.campaigns.values())
    voting = store.milestones_of(demo.summary.milestones["voting"][0])
    assert (
        voting is not None and voting.vote_pending and voting.approve_weight > 0 and voting.reject_weight > 0
    )
    with store.engine.connect() as conn:  # the settled past, as indexed
        stale = demo.summary.outcomes["stale"]
        cause = conn.exec_driver_sql(
            f"SELECT abort_cause FROM campaigns WHERE campaign_id = {stale}"
        ).scalar()
        kinds = dict(conn.exec_driver_sql("SELECT kind, count(*) FROM ledger_entries GROUP BY kind").all())
        decimals = conn.exec_driver_sql("SELECT decimals FROM tokens WHERE symbol = 'tUSDC'").scalar()
    assert cause == "silence" and kinds[14] == kinds[15] == kinds[16] == 1, kinds
    assert decimals == 6
    store.engine.dispose()


def test_deployment_file_round_trips(anvil: LocalNode, tmp_path: Path) -> None:
    w3 = connect(anvil.url)
    accounts = w3.eth.accounts
    deployment = deploy(
        w3,
        NodeAccount(accounts[0]),
        fee_recipient=accounts[2],
        fee_bps=125,
        unpledge_lock_window=600,
        rpc_url=anvil.url,
    )
    path = deployment.write(tmp_path / "nested" / "local.json")

    again = read_deployment(path)
    assert again == deployment
    assert again.chain_id == w3.eth.chain_id == 31337
    assert again.fee_recipient == accounts[2] and again.fee_bps == 125 and again.unpledge_lock_window == 600
    block = w3.eth.get_block(again.block)
    assert block["hash"].to_0x_hex() == again.block_hash
    receipt = w3.eth.get_transaction_receipt(again.tx_hash)
    assert receipt["contractAddress"] == again.address
    escrow = escrow_contract(w3, again.address).functions
    assert escrow.feeBps().call() == 125 and escrow.unpledgeLockWindow().call() == 600
    assert escrow.owner().call() == accounts[0]
    assert w3.eth.get_code(again.tokens["DUSD"])
    assert deployment.write(tmp_path / "again.json").read_text() == path.read_text()


def test_seed_without_time_travel_or_impersonation(keyless_anvil: LocalNode) -> None:
    """What a real RPC URL with one funded key gets: Funding and Cancelled, and a list of what
    was skipped."""
    w3 = connect(keyless_anvil.url)
    sender = KeyAccount.from_key(DEV_KEY_0)
    deployment = deploy(w3, sender, rpc_url=keyless_anvil.url)

    summary = seed_demo(w3, deployment, backers=50, sender=sender, time_travel=False, impersonation=False)

    assert summary.campaigns["Funding"] and summary.campaigns["Cancelled"]
    assert not (summary.campaigns["Succeeded"] or summary.campaigns["Failed"] or summary.campaigns["Claimed"])
    assert not (
        summary.campaigns["InDelivery"] or summary.campaigns["Aborted"] or summary.campaigns["Expired"]
    )
    assert summary.milestones["funding"] and not any(summary.milestones[p] for p in MILESTONE_PHASES[1:])
    assert summary.backers == 1 and summary.refunds >= 1 and summary.claims == 0
    assert summary.disclosures == 2 and summary.votes == 0  # disclosures need no time travel
    assert any("evm_increaseTime" in item for item in summary.skipped)
    assert any("milestone campaigns past funding" in item for item in summary.skipped)
    assert any("impersonate" in item for item in summary.skipped)
    assert any("stale-aborted" in item for item in summary.skipped)
    escrow = escrow_contract(w3, deployment.address).functions
    for campaign_id in summary.campaigns["Cancelled"]:
        assert escrow.campaignState(campaign_id).call() == 3
        assert escrow.pledgeOf(campaign_id, sender.address).call() == 0  # refunded


def test_cli_deploy_with_key_from_environment_then_seed(keyless_anvil: LocalNode, tmp_path: Path) -> None:
    out = tmp_path / "deployments" / "local.json"
    result = run_script("scripts.deploy", "--rpc", keyless_anvil.url, "--out", str(out), key=DEV_KEY_0)
    assert result.returncode == 0, result.stderr
    assert DEV_KEY_0[2:] not in result.stdout + result.stderr + out.read_text()

    deployment = read_deployment(out)
    w3 = connect(keyless_anvil.url)
    assert deployment.rpc_url == keyless_anvil.url and deployment.chain_id == w3.eth.chain_id
    assert deployment.address in result.stdout
    escrow = escrow_contract(w3, deployment.address).functions
    assert escrow.owner().call() == DEV_ADDRESS_0  # the node holds no account: the key signed
    assert deployment.fee_recipient == DEV_ADDRESS_0

    seeded = run_script("scripts.seed", "--deployment", str(out), "--backers", "5", "--json", key=DEV_KEY_0)
    assert seeded.returncode == 0, seeded.stderr
    summary = json.loads(seeded.stdout)
    for index, state in enumerate(STATE_NAMES):
        assert summary["campaigns"][state], state
        assert all(escrow.campaignState(i).call() == index for i in summary["campaigns"][state])
    # the sender is the only backer: every phase all the same, its vote the only one
    assert all(summary["milestones"][phase] for phase in MILESTONE_PHASES), summary["milestones"]


def test_cli_without_key_on_a_keyless_node_fails_in_one_line(
    keyless_anvil: LocalNode, tmp_path: Path
) -> None:
    result = run_script("scripts.deploy", "--rpc", keyless_anvil.url, "--out", str(tmp_path / "d.json"))
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        (
            "scripts.deploy: error: the node has no unlocked account; set CROWDLEDGER_PRIVATE_KEY to the "
            "deployer's private key"
        )
    ]
    assert not (tmp_path / "d.json").exists()


@pytest.mark.parametrize("url", ["http://127.0.0.1:{port}", "not-a-url"])
def test_cli_bad_rpc_url_fails_in_one_line(url: str, tmp_path: Path) -> None:
    url = url.format(port=free_port())
    deployed = run_script("scripts.deploy", "--rpc", url, "--out", str(tmp_path / "d.json"), key=DEV_KEY_0)
    assert deployed.returncode != 0
    lines = deployed.stderr.strip().splitlines()
    assert (
        len(lines) == 1
        and lines[0].startswith("scripts.deploy: error:")
        and "Traceback" not in deployed.stderr
    )

    (tmp_path / "dep.json").write_text(
        json.dumps({"address": "0x" + "11" * 20, "chain_id": 31337, "block": 1})
    )
    seeded = run_script("scripts.seed", "--rpc", url, "--deployment", str(tmp_path / "dep.json"))
    assert seeded.returncode != 0
    lines = seeded.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("scripts.seed: error:")


@pytest.mark.parametrize("module", ["scripts.deploy", "scripts.seed", "scripts.demo"])
def test_cli_help(module: str) -> None:
    result = run_script(module, "--help")
    assert result.returncode == 0 and "usage: python -m " + module in result.stdout
