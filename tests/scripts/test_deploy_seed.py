"""Deploy and seed on a fresh anvil (its own free port, never 8545), through the library and
through the `python -m scripts.*` command lines. No brownie fixtures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account

from ledger.deployment import read_deployment
from ledger.devnet.deploy import KeyAccount, NodeAccount, connect, escrow_contract
from ledger.devnet.nodes import LocalNode, free_port
from ledger.devnet.seed import STATE_NAMES, seed_demo
from scripts.deploy import deploy

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# anvil's well-known development key #0 (public knowledge; for this test only)
DEV_KEY_0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
DEV_ADDRESS_0 = Account.from_key(DEV_KEY_0).address


@pytest.fixture
def anvil() -> Iterator[LocalNode]:
    with LocalNode.start("anvil") as node:
        yield node


@pytest.fixture
def keyless_anvil() -> Iterator[LocalNode]:
    """An anvil without unlocked accounts: only a private key can send, like a real node."""
    with LocalNode.start("anvil", accounts=0) as node:
        w3 = connect(node.url)
        w3.provider.make_request("anvil_setBalance", [DEV_ADDRESS_0, hex(10**22)])
        yield node


def run_script(module: str, *args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"CROWDLEDGER_PRIVATE_KEY", "CROWDLEDGER_DEPLOYMENT"}}
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


def test_deploy_and_seed_give_every_state(anvil: LocalNode, tmp_path: Path) -> None:
    w3 = connect(anvil.url)
    accounts = w3.eth.accounts
    owner = NodeAccount(accounts[0])
    deployment = deploy(w3, owner, fee_recipient=accounts[1], rpc_url=anvil.url)

    summary = seed_demo(w3, deployment, backers=9, sender=owner)

    escrow = escrow_contract(w3, deployment.address).functions
    for index, state in enumerate(STATE_NAMES):
        ids = summary.campaigns[state]
        assert len(ids) >= 2, f"no {state} campaigns: {summary.describe()}"  # one ETH, one token
        for campaign_id in ids:
            assert escrow.campaignState(campaign_id).call() == index
    tokens = {escrow.getCampaign(i).call()[1] for ids in summary.campaigns.values() for i in ids}
    assert tokens == {"0x" + "00" * 20, deployment.tokens["DUSD"]}
    assert summary.backers == 9
    assert summary.unpledges >= 1 and summary.refunds >= 2 and summary.claims == 3  # 3 Claimed campaigns in the plan
    assert summary.fee_withdrawals == 2
    assert escrow.accruedFees("0x" + "00" * 20).call() == 0
    # one ledger entry per movement: the chain's count matches what the seeder did
    entries = (
        sum(len(ids) for ids in summary.campaigns.values()) + summary.pledges + summary.unpledges
        + summary.cancels + summary.claims + summary.refunds + summary.fee_withdrawals
    )
    assert escrow.ledgerLength().call() == entries
    assert summary.simulated_seconds >= 7 * 86_400
    assert not summary.skipped


def test_deployment_file_round_trips(anvil: LocalNode, tmp_path: Path) -> None:
    w3 = connect(anvil.url)
    accounts = w3.eth.accounts
    deployment = deploy(w3, NodeAccount(accounts[0]), fee_recipient=accounts[2], fee_bps=125,
                        unpledge_lock_window=600, rpc_url=anvil.url)
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


def test_seed_without_time_travel_or_impersonation(keyless_anvil: LocalNode) -> None:
    """What a real RPC URL with one funded key gets: Funding and Cancelled, and a list of what
    was skipped."""
    w3 = connect(keyless_anvil.url)
    sender = KeyAccount.from_key(DEV_KEY_0)
    deployment = deploy(w3, sender, rpc_url=keyless_anvil.url)

    summary = seed_demo(w3, deployment, backers=50, sender=sender, time_travel=False, impersonation=False)

    assert summary.campaigns["Funding"] and summary.campaigns["Cancelled"]
    assert not (summary.campaigns["Succeeded"] or summary.campaigns["Failed"] or summary.campaigns["Claimed"])
    assert summary.backers == 1 and summary.refunds >= 1 and summary.claims == 0
    assert any("evm_increaseTime" in item for item in summary.skipped)
    assert any("impersonate" in item for item in summary.skipped)
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


def test_cli_without_key_on_a_keyless_node_fails_in_one_line(keyless_anvil: LocalNode, tmp_path: Path) -> None:
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
    assert len(lines) == 1 and lines[0].startswith("scripts.deploy: error:") and "Traceback" not in deployed.stderr

    (tmp_path / "dep.json").write_text(json.dumps({"address": "0x" + "11" * 20, "chain_id": 31337, "block": 1}))
    seeded = run_script("scripts.seed", "--rpc", url, "--deployment", str(tmp_path / "dep.json"))
    assert seeded.returncode != 0
    lines = seeded.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("scripts.seed: error:")


@pytest.mark.parametrize("module", ["scripts.deploy", "scripts.seed", "scripts.demo"])
def test_cli_help(module: str) -> None:
    result = run_script(module, "--help")
    assert result.returncode == 0 and "usage: python -m " + module in result.stdout
