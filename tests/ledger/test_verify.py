"""crowdledger verify: the answers a backer gets for each kind of transaction, and for an address."""

from __future__ import annotations

import subprocess
import sys

import pytest
from web3 import Web3

from devnet.deploy import NodeAccount, transact
from ledger.audit.verify import verify_backer, verify_tx
from ledger.chain.rpc import RpcClient
from ledger.errors import ConfigError
from ledger.sync.indexer import Indexer
from tests.support.chain import EscrowChain


def index(chain: EscrowChain, store, depth: int = 2) -> None:
    Indexer(
        RpcClient(chain.url), store, chain.address, start_block=chain.deployment.block, finality_depth=depth
    ).run()


def tx_hash(receipt) -> str:
    return Web3.to_hex(receipt["transactionHash"])


def test_a_final_pledge_is_verified_in_plain_words(chain: EscrowChain, store) -> None:
    cid = chain.create(1)
    receipt = chain.pledge(cid, 2, 25 * 10**16)
    chain.mine(5)
    index(chain, store)
    result = verify_tx(RpcClient(chain.url), chain.address, tx_hash(receipt), store=store, finality_depth=2)
    assert result.ok and result.status == "success" and result.final
    (entry,) = result.entries
    assert (entry.seq, entry.kind, entry.amount) == (2, 2, str(25 * 10**16))
    assert entry.head_matches and entry.in_database and entry.database_matches
    assert "pledge of 0.25 ETH to campaign 1" in result.verdict and "entry #2" in result.verdict
    assert result.verdict == (
        f"Your pledge of 0.25 ETH to campaign 1 (ledger entry #2) is in block {receipt['blockNumber']:,}, "
        f"final for {result.confirmations - 2} blocks; its head matches the chain."
    )


def test_a_recent_pledge_is_not_final_yet(chain: EscrowChain, store) -> None:
    cid = chain.create(1)
    receipt = chain.pledge(cid, 2, 10**17)
    index(chain, store, depth=12)
    result = verify_tx(RpcClient(chain.url), chain.address, tx_hash(receipt), store=store, finality_depth=12)
    assert result.ok and result.final is False and "not final yet" in result.verdict


def test_reverted_unrelated_unknown_and_pending_transactions(chain: EscrowChain, store) -> None:
    rpc = RpcClient(chain.url)
    cid = chain.create(1)
    index(chain, store)
    reverted = transact(
        chain.w3,
        NodeAccount(chain.accounts[2]),
        chain.escrow.functions.pledge(cid + 5, 1),
        value=1,
        gas=200_000,
        wait=False,
    )
    chain.w3.eth.wait_for_transaction_receipt(reverted)
    result = verify_tx(rpc, chain.address, Web3.to_hex(reverted), store=store)
    assert result.status == "reverted" and not result.ok and "moved no money" in result.verdict

    mint = chain.send(0, chain.token.functions.mint(chain.accounts[3], 5))
    result = verify_tx(rpc, chain.address, tx_hash(mint), store=store)
    assert not result.ok and "touched no campaign" in result.verdict and not result.entries

    result = verify_tx(rpc, chain.address, "0x" + "ab" * 32, store=store)
    assert result.status == "not_found" and "No transaction" in result.verdict

    chain.rpc("evm_setAutomine", [False])
    try:
        pending = transact(
            chain.w3,
            NodeAccount(chain.accounts[2]),
            chain.escrow.functions.pledge(cid, 7),
            value=7,
            gas=200_000,
            wait=False,
        )
        result = verify_tx(rpc, chain.address, Web3.to_hex(pending), store=store)
        assert result.status == "pending" and "waiting to be mined" in result.verdict
    finally:
        chain.rpc("evm_setAutomine", [True])
        chain.mine()

    with pytest.raises(ConfigError, match="not a transaction hash"):
        verify_tx(rpc, chain.address, "0x1234", store=store)


def test_a_claim_and_a_refund_are_verified(chain: EscrowChain, store) -> None:
    ok = chain.create(1, goal=10**17, duration=900)
    failed = chain.create(2, goal=10**20, duration=900)
    chain.pledge(ok, 2, 2 * 10**17)
    chain.pledge(failed, 3, 10**17)
    chain.sleep(1000)
    claim = chain.claim(ok, 1)
    refund = chain.refund(failed, 3)
    chain.mine(3)
    index(chain, store)
    rpc = RpcClient(chain.url)
    for receipt, words in (
        (claim, f"Your claim of 0.195 ETH from campaign {ok}"),  # 0.2 ETH less the 2.5% fee
        (refund, f"Your refund of 0.1 ETH from campaign {failed}"),
    ):
        for with_store in (store, None):  # amounts and assets from the database, or from the chain
            result = verify_tx(rpc, chain.address, tx_hash(receipt), store=with_store, finality_depth=2)
            assert result.ok and result.verdict.startswith(words), result.verdict


def test_a_backer_sees_every_position_checked_against_pledge_of(chain: EscrowChain, store) -> None:
    funding = chain.create(1, goal=10**20)
    failed = chain.create(1, goal=10**20, duration=900)
    withdrawn = chain.create(2)
    chain.pledge(funding, 4, 3 * 10**17)
    chain.pledge(failed, 4, 10**17)
    chain.pledge(withdrawn, 4, 10**17)
    chain.unpledge(withdrawn, 4, 10**17)
    chain.sleep(1000)
    index(chain, store)
    result = verify_backer(RpcClient(chain.url), chain.address, chain.accounts[4], store)
    assert result.ok
    statuses = {c.campaign_id: c.status for c in result.campaigns}
    assert statuses == {funding: "escrowed", failed: "refundable", withdrawn: "withdrawn"}
    refundable = next(c for c in result.campaigns if c.campaign_id == failed)
    assert refundable.refundable == str(10**17) and refundable.pledge_of_onchain == str(10**17)
    only = verify_backer(RpcClient(chain.url), chain.address, chain.accounts[4], store, campaign_id=failed)
    assert [c.campaign_id for c in only.campaigns] == [failed]
    assert only.verdict == (
        f"At block {only.block:,}, {only.backer} has backed 1 campaign. Campaign {failed} missed its goal: "
        "your 0.1 ETH is refundable in full. Every position matches pledgeOf on-chain."
    )


def test_a_refunded_backer_is_told_the_refund_not_the_balance(chain: EscrowChain, store) -> None:
    """Issue 20 bug 2: after a refund verify said "0 ETH refunded" (the balance left)."""
    failed = chain.create(1, goal=10**20, duration=900)
    chain.pledge(failed, 4, 198 * 10**16)
    chain.sleep(1000)
    refund = chain.refund(failed, 4)
    index(chain, store, depth=0)
    rpc = RpcClient(chain.url)
    result = verify_backer(rpc, chain.address, chain.accounts[4], store)
    (position,) = result.campaigns
    assert (position.status, position.reason, position.refunded_total) == (
        "refunded",
        "failed",
        str(198 * 10**16),
    )
    assert f"Campaign {failed} missed its goal; you were refunded 1.98 ETH." in result.verdict
    assert "0 ETH" not in result.verdict
    tx = verify_tx(rpc, chain.address, tx_hash(refund), store=store, finality_depth=0)
    assert tx.verdict.startswith(f"Your refund of 1.98 ETH from campaign {failed} (ledger entry #")


def test_amounts_are_in_the_tokens_own_decimals_and_symbol(chain: EscrowChain, store) -> None:
    """Issue 20 bug 1: a token's amounts with its own decimals and symbol (the tokens table), not 18."""
    cid = chain.create(1, goal=10**9, token=chain.token.address)
    receipt = chain.pledge(cid, 3, 250_000_000)
    index(chain, store, depth=0)
    with store.engine.begin() as conn:  # as a 6-decimal token would have been read
        conn.exec_driver_sql("UPDATE tokens SET symbol = 'tUSDC', decimals = 6")
    rpc = RpcClient(chain.url)
    tx = verify_tx(rpc, chain.address, tx_hash(receipt), store=store, finality_depth=0)
    assert tx.verdict.startswith(f"Your pledge of 250 tUSDC to campaign {cid}")
    backer = verify_backer(rpc, chain.address, chain.accounts[3], store)
    assert (backer.campaigns[0].symbol, backer.campaigns[0].decimals) == ("tUSDC", 6)
    assert f"Campaign {cid}: your 250 tUSDC is held in escrow." in backer.verdict
    without_db = verify_tx(rpc, chain.address, tx_hash(receipt), finality_depth=0)  # read from the chain
    assert without_db.verdict.startswith(f"Your pledge of 0.00000000025 DUSD to campaign {cid}")


def test_verify_cli(chain: EscrowChain, tmp_path) -> None:
    cid = chain.create(1)
    receipt = chain.pledge(cid, 2, 10**17)
    db = f"sqlite:///{tmp_path / 'v.db'}"
    base = [sys.executable, "-m", "cli"]
    target = ["--rpc", chain.url, "--contract", chain.address]
    subprocess.run(
        base + ["index", *target, "--db", db, "--quiet", "--finality-depth", "0"], check=True, timeout=60
    )
    good = subprocess.run(
        base + ["verify", *target, "--db", db, "--tx", tx_hash(receipt)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert good.returncode == 0 and "Your pledge of 0.1 ETH" in good.stdout
    missing = subprocess.run(
        base + ["verify", *target, "--db", db, "--tx", "0x" + "cd" * 32],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 1 and "No transaction" in missing.stdout
    bad = subprocess.run(
        base + ["verify", *target, "--db", db, "--backer", "0x1234"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "not an address" in bad.stderr
