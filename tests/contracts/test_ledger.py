"""The hash-chained ledger: every state change appends one entry whose event carries its seq and
the new head, and the on-chain head equals a Python replay (ledger/hashing.py) of the events."""

from brownie import chain
from conftest import (
    ETH,
    KIND,
    LedgerReplay,
    assert_event_matches_chain,
    assert_ledger_consistent,
    create,
    deploy_escrow,
    finish,
    ledger_entry,
    ledger_events,
    pledge,
    recompute_head,
    reverts,
)

from ledger.core.hashing import campaign_terms_detail, genesis_head, next_head, token_detail, uint_detail


def test_genesis_head_binds_chain_and_address(CrowdfundEscrow, escrow, owner, fee_recipient):
    other = deploy_escrow(CrowdfundEscrow, fee_recipient, 0, 0, owner)
    assert bytes(escrow.ledgerHead()) == genesis_head(chain.id, escrow.address)
    assert bytes(other.ledgerHead()) == genesis_head(chain.id, other.address)
    assert other.ledgerHead() != escrow.ledgerHead()
    assert bytes(escrow.ledgerHead()) != genesis_head(chain.id + 1, escrow.address)


def test_every_kind_chains_and_matches_python(escrow, owner, creator, alice, bob, token):
    """Each of the seven kinds, in turn: its event's seq/head equal ledgerLength()/ledgerHead(),
    and the head replayed in Python from the transactions' events equals both."""
    txs = []

    def step(tx, name, kind):
        txs.append(tx)
        assert_event_matches_chain(escrow, tx, name)
        assert KIND[name] == kind
        assert ledger_entry(tx.events[name])[0] == kind
        head, length = recompute_head(escrow, txs)
        assert length == escrow.ledgerLength() == len(txs)
        assert head == bytes(escrow.ledgerHead()) == bytes(tx.events[name]["head"])

    win, tx = create(escrow, creator, goal=1000, cap=5000, meta="0x" + "11" * 32)
    step(tx, "CampaignCreated", 1)
    lose, tx = create(escrow, creator, token=token, goal=10**20, keep=False)
    step(tx, "CampaignCreated", 1)
    step(pledge(escrow, alice, win, 1200), "Pledged", 2)
    step(pledge(escrow, bob, lose, 40, eth=False), "Pledged", 2)
    step(escrow.unpledge(win, 199, {"from": alice}), "Unpledged", 3)
    step(escrow.cancel(lose, {"from": creator}), "Cancelled", 4)
    step(escrow.refund(lose, {"from": bob}), "Refunded", 6)
    finish(escrow, win)
    step(escrow.claim(win, {"from": creator}), "Claimed", 5)
    step(escrow.withdrawFees(ETH, {"from": bob}), "FeesWithdrawn", 7)
    assert escrow.ledgerLength() == 9

    # the same replay from the chain's logs alone
    assert_ledger_consistent(escrow)


def test_entries_hash_the_documented_fields(escrow, creator, alice, token):
    """Recomputes each head by hand from the spec's field list (not via ledger_entry)."""
    head = genesis_head(chain.id, escrow.address)
    deadline_tx = escrow.createCampaign(
        token, 500, chain[-1].timestamp + 1000, 77, True, "0x" + "22" * 32, {"from": creator}
    )
    ev = deadline_tx.events["CampaignCreated"]
    detail = campaign_terms_detail(token.address, ev["deadline"], 77, True, 250, bytes.fromhex("22" * 32))
    head = next_head(head, 1, 1, 1, creator.address, 500, detail)
    assert bytes(ev["head"]) == head

    tx = pledge(escrow, alice, 1, 77, eth=False)
    head = next_head(head, 2, 2, 1, alice.address, 77, bytes(32))
    assert bytes(tx.events["Pledged"]["head"]) == head

    finish(escrow, 1)
    tx = escrow.claim(1, {"from": creator})
    head = next_head(head, 3, 5, 1, creator.address, 75, uint_detail(2))  # fee ceil(77*2.5%) = 2
    assert bytes(tx.events["Claimed"]["head"]) == head

    tx = escrow.withdrawFees(token, {"from": alice})
    recipient = escrow.feeRecipient()
    head = next_head(head, 4, 7, 0, recipient, 2, token_detail(token.address))
    assert bytes(tx.events["FeesWithdrawn"]["head"]) == head
    assert bytes(escrow.ledgerHead()) == head


def test_fee_on_transfer_entry_records_amount_received(escrow, creator, alice, fot_token):
    cid, tx0 = create(escrow, creator, token=fot_token)
    tx1 = pledge(escrow, alice, cid, 1000, eth=False)
    assert tx1.events["Pledged"]["amount"] == 990
    assert_ledger_consistent(escrow, [tx0, tx1])


def test_reverted_calls_and_admin_calls_append_nothing(escrow, owner, creator, alice):
    cid, _ = create(escrow, creator, goal=100)
    length, head = escrow.ledgerLength(), escrow.ledgerHead()
    with reverts("CrowdfundEscrowZeroAmount"):
        pledge(escrow, alice, cid, 0)
    with reverts("CrowdfundEscrowNotCreator"):
        escrow.cancel(cid, {"from": alice})
    with reverts("CrowdfundEscrowNoFees"):
        escrow.withdrawFees(ETH, {"from": alice})
    escrow.setFeeBps(10, {"from": owner})
    escrow.setFeeRecipient(alice, {"from": owner})
    escrow.pause({"from": owner})
    escrow.unpause({"from": owner})
    escrow.transferOwnership(alice, {"from": owner})
    escrow.acceptOwnership({"from": alice})
    assert escrow.ledgerLength() == length
    assert escrow.ledgerHead() == head
    assert_ledger_consistent(escrow)


def test_replay_detects_a_tampered_entry(escrow, creator, alice):
    cid, _ = create(escrow, creator)
    pledge(escrow, alice, cid, 1234)
    events = ledger_events(escrow)
    honest = LedgerReplay(escrow)
    for ev in events:
        honest.apply(ev)
    assert honest.head == bytes(escrow.ledgerHead())
    kind, c, account, amount, detail = ledger_entry(events[1])
    forged = next_head(bytes(events[0]["head"]), 2, kind, c, account, amount + 1, detail)
    assert forged != honest.head
