"""Issue 18's exits downstream, on a real anvil and both databases: credited payouts (kinds 5/11
followed by 14), credit withdrawals (15), refundTo, an expired campaign (state 7) and a stale
abort (16) are indexed exactly as the contract's views show them, audit clean (owed() of every
credit, solvency with credits), export and replay offline in both formats, and survive a reorg."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, update

from ledger.audit.chain_audit import audit_chain
from ledger.audit.export import write_export
from ledger.audit.export_reader import read_export
from ledger.audit.offline import audit_export
from ledger.audit.report import render
from ledger.audit.verify import verify_backer
from ledger.chain.rpc import RpcClient
from ledger.core.amounts import format_amount
from ledger.core.records import ETH, SILENCE, Campaign, Kind, State
from ledger.db.rows import from_row
from ledger.db.schema import campaigns, credits
from ledger.db.store import LedgerStore
from ledger.sync.indexer import Indexer
from tests.support.chain import ACCEPT_ETH, METADATA, REFUSE_ETH, EscrowChain
from tests.support.compare import assert_db_matches_chain, assert_rows_add_up


@pytest.fixture(scope="module")
def exits() -> Iterator[tuple[EscrowChain, dict[str, Any]]]:
    chain = EscrowChain.start()
    try:
        yield chain, chain.exit_outcomes()
    finally:
        chain.stop()


def index(chain: EscrowChain, store: LedgerStore, depth: int = 0) -> Indexer:
    indexer = Indexer(
        RpcClient(chain.url), store, chain.address, start_block=chain.deployment.block, finality_depth=depth
    )
    indexer.run()
    return indexer


def campaign_rows(store: LedgerStore) -> dict[int, Campaign]:
    with store.engine.connect() as conn:
        return {r.campaign_id: from_row(Campaign, r) for r in conn.execute(select(campaigns))}


def test_the_exits_are_indexed_as_the_contract_shows_them(exits, store: LedgerStore) -> None:
    chain, ids = exits
    index(chain, store)
    assert_db_matches_chain(store, chain)  # entries, campaigns (state 7), positions, milestones, fees, owed()
    kinds = {e.kind for e in store.iter_entries()}
    assert {Kind.PAYOUT_DEFERRED, Kind.OWED_WITHDRAWN, Kind.STALE_ABORTED} <= kinds
    rows, now = campaign_rows(store), chain.now()
    assert rows[ids["expired"]].state_at(now) == State.EXPIRED
    assert (rows[ids["stale"]].state_at(now), rows[ids["stale"]].abort_cause) == (State.ABORTED, SILENCE)
    assert [(c.backer_count, c.holders) for c in (rows[ids["expired"]], rows[ids["refunded_to"]])] == [
        (3, 1),
        (3, 2),
    ]
    receiver, blocklist = ids["receiver"].address.lower(), ids["blocklist"].address.lower()
    with store.engine.connect() as conn:
        owed = {
            (r.account, r.token): r.credited_total - r.withdrawn_total for r in conn.execute(select(credits))
        }
    assert owed == {(receiver, ETH): chain.owed(receiver), (chain.accounts[1].lower(), blocklist): 0}
    assert (
        owed[(receiver, ETH)] == 683
    )  # tranche 1 of 1001 (70%) less its 2.5% fee, credited and not withdrawn


def test_the_audit_checks_every_credit_and_counts_it_owed(exits, store: LedgerStore) -> None:
    chain, ids = exits
    index(chain, store)
    rpc = RpcClient(chain.url)
    report = audit_chain(rpc, chain.address, start_block=chain.deployment.block, store=store)
    assert report.ok, report.findings
    eth = next(s for s in report.solvency if s.token == ETH)
    assert eth.solvent and eth.surplus == 0 and eth.owed >= 683
    lines = [line for line in render(report) if "solvency:" in line]  # each asset in its own decimals
    blk = next(s for s in report.solvency if s.symbol == "BLK")
    assert any(
        line.startswith("  solvency:  ETH: balance ") and line.endswith(" ETH: solvent") for line in lines
    )
    assert any(f"BLK: balance {format_amount(blk.balance, 18, 'BLK')}" in line for line in lines), lines
    assert report.to_dict()["solvency"][0]["balance"].isdigit()  # raw base units for machines
    with store.engine.begin() as conn:  # a credit edited in the database is named
        conn.execute(update(credits).values(withdrawn_total=0))
    report = audit_chain(rpc, chain.address, start_block=chain.deployment.block, store=store)
    assert {f.code for f in report.findings} == {"db_altered_projection"}
    assert all("credit" in f.message for f in report.findings)


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_the_exits_export_and_replay_offline(exits, store: LedgerStore, fmt: str) -> None:
    chain, _ = exits
    index(chain, store)
    out = io.BytesIO()
    entries = list(store.iter_entries())
    write_export(entries, fmt, out)
    assert [item for _, item in read_export(io.BytesIO(out.getvalue()))] == entries
    head = "0x" + chain.escrow.functions.ledgerHead().call().hex()
    report = audit_export(io.BytesIO(out.getvalue()), chain.w3.eth.chain_id, chain.address, expect_head=head)
    assert report.ok, report.findings
    assert report.entries == len(entries)


def test_a_reorg_through_credits_withdrawals_and_a_stale_abort(
    chain: EscrowChain, store: LedgerStore
) -> None:
    """Fees, credits and a stale abort made on a branch that a longer one replaces: the rebuilt
    fee accounts and credits are the new branch's, checked against accruedFees() and owed()."""
    receiver = chain.deploy("SwitchableReceiver")
    escrow = chain.escrow.functions
    deadline = chain.now() + 900
    chain.through(receiver, escrow.createCampaign(ETH, 1000, deadline, 0, False, METADATA))
    credited = int(escrow.campaignCount().call())
    kept = chain.create(1, goal=1000, duration=900)
    stale = chain.create_milestone(1, goal=1000, duration=900)
    for cid in (credited, kept, stale):
        for backer, amount in ((2, 301), (3, 333), (4, 367)):
            chain.pledge(cid, backer, amount)
    chain.sleep(1000)
    chain.claim(kept, 1)  # a fee before the fork: kept by the rollback
    chain.claim(stale, 1)
    indexer = index(chain, store, depth=40)
    fork = chain.snapshot()
    chain.send(0, receiver.functions.setMode(REFUSE_ETH), gas=100_000)
    chain.through(receiver, escrow.claim(credited))  # kinds 5 + 14
    chain.through(receiver, escrow.withdrawOwed(ETH, chain.accounts[6]))  # kind 15
    chain.withdraw_fees()  # kind 7
    chain.sleep(180 * 86_400 + 10)
    chain.abort_stale(stale, 5)  # kind 16
    for backer in (2, 3, 4):  # the last refund moves the dust to the fees
        chain.refund(stale, backer)
    indexer.sync_once()
    assert_db_matches_chain(store, chain)

    chain.revert(fork)  # the other branch: the creator accepts its claim, nobody aborts
    assert receiver.functions.mode().call() == ACCEPT_ETH
    chain.through(receiver, escrow.claim(credited))
    chain.mine(12)
    indexer.sync_once()
    assert_db_matches_chain(store, chain)
    with store.engine.connect() as conn:
        assert conn.execute(select(credits)).all() == []
    rows = campaign_rows(store)
    assert rows[credited].claimed and not rows[stale].aborted and rows[stale].abort_cause is None


def test_backers_of_expired_and_stale_campaigns_see_why_they_may_refund(exits, store: LedgerStore) -> None:
    chain, ids = exits
    index(chain, store)
    rpc = RpcClient(chain.url)
    four = verify_backer(rpc, chain.address, chain.accounts[4], store)
    assert four.ok, four.verdict
    by_id = {c.campaign_id: c for c in four.campaigns}
    expired, stale = by_id[ids["expired"]], by_id[ids["stale"]]
    assert (expired.status, expired.reason, expired.refundable) == ("refundable", "expired", "367")
    assert (stale.status, stale.reason) == ("refundable", "silence")
    assert stale.refundable == str(367 * 801 // 1001) and stale.released == str(367 * 200 // 1001)
    assert f"Campaign {ids['expired']} met its goal but was never claimed, and expired" in four.verdict
    assert f"Campaign {ids['stale']} was aborted after its creator fell silent" in four.verdict
    two = verify_backer(rpc, chain.address, chain.accounts[2], store, campaign_id=ids["stale"])
    (refunded,) = two.campaigns
    assert (refunded.status, refunded.reason, refunded.refunded_total) == (
        "refunded",
        "silence",
        str(301 * 801 // 1001),
    )


def test_a_creator_with_a_credit_sees_it(exits, store: LedgerStore) -> None:
    chain, ids = exits
    index(chain, store)
    rpc = RpcClient(chain.url)
    creator = verify_backer(rpc, chain.address, ids["receiver"].address, store)
    (credit,) = creator.credits
    assert creator.ok and (credit.owed, credit.owed_onchain, credit.symbol) == ("683", "683", "ETH")
    assert "The escrow owes you 0.000000000000000683 ETH of payouts you could not receive" in creator.verdict
    assert "every credit matches owed() on-chain" in creator.verdict.lower()
    paid = verify_backer(rpc, chain.address, chain.accounts[1], store)
    blk = next(c for c in paid.credits if c.symbol == "BLK")
    assert blk.owed == "0" and "You were paid every credit in BLK" in paid.verdict


def test_a_campaigns_rows_add_up_to_its_figures(exits, store: LedgerStore) -> None:
    """Issue 20 bug 3 on expired, stale-aborted (dust pending) and credited campaigns."""
    chain, _ = exits
    index(chain, store)
    assert_rows_add_up(store, chain.now())


def test_a_withdrawal_of_one_of_two_equal_credits_is_a_note_not_a_finding(store: LedgerStore) -> None:
    """A kind-15 entry names where a credit went, not whose it was: two creator contracts credited
    the same amount in ETH, the one with the higher address withdraws to a third account. The
    replay charges the lower address's credit (docs/ledger-format.md, "Exits"); the audit says so in
    a note and stays clean, since every amount owed still matches owed()."""
    chain = EscrowChain.start()
    try:
        first, second = chain.deploy("SwitchableReceiver"), chain.deploy("SwitchableReceiver")
        low, high = sorted((first, second), key=lambda r: r.address.lower())
        escrow, deadline = chain.escrow.functions, chain.now() + 900
        ids = []
        for receiver in (low, high):
            chain.through(receiver, escrow.createCampaign(ETH, 1000, deadline, 0, False, METADATA))
            ids.append(int(escrow.campaignCount().call()))
            chain.pledge(ids[-1], 2, 1000)
        chain.sleep(1000)
        for receiver, cid in zip((low, high), ids):
            chain.send(0, receiver.functions.setMode(REFUSE_ETH), gas=100_000)
            chain.through(receiver, escrow.claim(cid))  # refused: credited
        assert chain.owed(low.address) == chain.owed(high.address) > 0
        chain.through(high, escrow.withdrawOwed(ETH, chain.accounts[6]))
        index(chain, store)
        report = audit_chain(
            RpcClient(chain.url), chain.address, start_block=chain.deployment.block, store=store
        )
        assert report.ok, report.findings
        assert any("charged to each other's account" in note for note in report.notes), report.notes
        with store.engine.connect() as conn:
            owed = {r.account: r.credited_total - r.withdrawn_total for r in conn.execute(select(credits))}
        assert owed == {low.address.lower(): 0, high.address.lower(): chain.owed(low.address)}
    finally:
        chain.stop()
