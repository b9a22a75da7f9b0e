"""Awkward tokens and hostile counterparties: fee-on-transfer, false-returning and re-entrant
tokens, a re-entrant ETH backer, receivers that refuse ETH, and force-fed ETH."""

import pytest
from conftest import (
    ETH,
    FEE_BPS,
    assert_error_data,
    balance,
    create,
    finish,
    now,
    pledge,
    reverts,
)


def received_after_burn(amount, burn_bps=100):
    return amount - amount * burn_bps // 10_000


# ----------------------------------------------------------------------------- fee-on-transfer


def test_fot_pledge_records_amount_received(escrow, creator, alice, fot_token):
    cid, _ = create(escrow, creator, token=fot_token, goal=10**6)
    tx = pledge(escrow, alice, cid, 10_000, eth=False)
    assert tx.events["Pledged"]["amount"] == 9_900
    assert escrow.pledgeOf(cid, alice) == 9_900
    assert escrow.getCampaign(cid)["pledged"] == 9_900
    assert fot_token.balanceOf(escrow) == 9_900


def test_fot_cap_applies_to_amount_received(escrow, creator, alice, fot_token):
    cid, _ = create(escrow, creator, token=fot_token, goal=10**6, cap=9_900)
    pledge(escrow, alice, cid, 10_000, eth=False)  # sends more than the cap, receives exactly it
    assert escrow.pledgeOf(cid, alice) == 9_900
    with reverts("CrowdfundEscrowCapExceeded", cid, alice, 9_901, 9_900):
        pledge(escrow, alice, cid, 1, eth=False)  # 1 token: nothing burned, 1 received


def test_fot_claim_keeps_escrow_solvent(escrow, creator, alice, bob, fot_token, fee_recipient):
    cid, _ = create(escrow, creator, token=fot_token, goal=10_000)
    pledge(escrow, alice, cid, 8_000, eth=False)
    pledge(escrow, bob, cid, 5_000, eth=False)
    total = received_after_burn(8_000) + received_after_burn(5_000)  # 7920 + 4950
    assert fot_token.balanceOf(escrow) == total
    finish(escrow, cid)
    tx = escrow.claim(cid, {"from": creator})
    fee = -(-total * FEE_BPS // 10_000)
    assert tx.events["Claimed"]["amount"] == total - fee
    assert fot_token.balanceOf(creator) == received_after_burn(total - fee)
    assert fot_token.balanceOf(escrow) == fee == escrow.accruedFees(fot_token)
    escrow.withdrawFees(fot_token, {"from": alice})
    assert fot_token.balanceOf(fee_recipient) == received_after_burn(fee)
    assert fot_token.balanceOf(escrow) == 0


def test_fot_refunds_and_unpledge_keep_escrow_solvent(escrow, creator, alice, bob, carol, fot_token):
    cid, _ = create(escrow, creator, token=fot_token, goal=10**9)
    pledge(escrow, alice, cid, 3_000, eth=False)
    pledge(escrow, bob, cid, 2_000, eth=False)
    pledge(escrow, carol, cid, 777, eth=False)
    escrow.unpledge(cid, 1_000, {"from": alice})
    assert fot_token.balanceOf(escrow) == 2_970 + 1_980 + 770 - 1_000
    finish(escrow, cid)
    for backer in (alice, bob, carol):
        owed = escrow.pledgeOf(cid, backer)
        before = fot_token.balanceOf(backer)
        assert escrow.refund(cid, {"from": backer}).events["Refunded"]["amount"] == owed
        assert fot_token.balanceOf(backer) == before + received_after_burn(owed)
    assert fot_token.balanceOf(escrow) == 0


def test_token_delivering_nothing_reverts(FeeOnTransferToken, escrow, owner, creator, alice):
    burn_all = FeeOnTransferToken.deploy(10_000, {"from": owner})
    burn_all.mint(alice, 1000, {"from": alice})
    burn_all.approve(escrow, 1000, {"from": alice})
    cid, _ = create(escrow, creator, token=burn_all)
    with reverts("CrowdfundEscrowNothingReceived", burn_all):
        pledge(escrow, alice, cid, 1000, eth=False)


# ----------------------------------------------------------------------------- false-returning


def test_false_returning_token_reverts_pledge(FalseReturningToken, escrow, owner, creator, alice):
    bad = FalseReturningToken.deploy({"from": owner})
    bad.mint(alice, 1000, {"from": alice})
    bad.approve(escrow, 1000, {"from": alice})
    cid, _ = create(escrow, creator, token=bad)
    with reverts("SafeERC20FailedOperation", bad):
        pledge(escrow, alice, cid, 1000, eth=False)
    assert escrow.pledgeOf(cid, alice) == 0
    assert escrow.getCampaign(cid)["pledged"] == 0
    assert escrow.ledgerLength() == 1


def test_token_failing_on_payout_blocks_only_that_payout(
    FalseReturningToken, escrow, owner, creator, alice, bob
):
    bad = FalseReturningToken.deploy({"from": owner})
    bad.setBroken(False, {"from": owner})
    for backer in (alice, bob):
        bad.mint(backer, 1000, {"from": backer})
    cid, _ = create(escrow, creator, token=bad)
    other, _ = create(escrow, creator)
    pledge(escrow, alice, cid, 600, eth=False)
    pledge(escrow, bob, other, 50)
    escrow.cancel(cid, {"from": creator})
    escrow.cancel(other, {"from": creator})
    bad.setBroken(True, {"from": owner})
    with reverts("SafeERC20FailedOperation", bad):
        escrow.refund(cid, {"from": alice})
    assert escrow.pledgeOf(cid, alice) == 600  # still owed, not lost
    escrow.refund(other, {"from": bob})  # other campaigns are unaffected
    bad.setBroken(False, {"from": owner})
    escrow.refund(cid, {"from": alice})
    assert bad.balanceOf(alice) == 1000


# ----------------------------------------------------------------------------- re-entrant token


@pytest.fixture
def rtoken(ReentrantToken, escrow, owner, alice):
    t = ReentrantToken.deploy({"from": owner})
    t.mint(alice, 10**6, {"from": alice})
    t.approve(escrow, 2**256 - 1, {"from": alice})
    t.mint(t, 10**6, {"from": alice})  # the token itself backs campaigns through execute()
    return t


def test_reentrant_token_pledge_cannot_reenter(escrow, creator, alice, rtoken):
    cid, _ = create(escrow, creator, token=rtoken, goal=10**9)
    pledge(escrow, alice, cid, 100, eth=False)
    rtoken.arm(escrow, escrow.pledge.encode_input(cid, 100), False, {"from": alice})
    tx = pledge(escrow, alice, cid, 100, eth=False)
    assert rtoken.reentrySucceeded() is False
    assert_error_data(rtoken.reentryRevertData(), "CrowdfundEscrowReentrantCall")
    assert tx.events.count("Pledged") == 1
    assert escrow.pledgeOf(cid, alice) == 200
    assert escrow.getCampaign(cid)["pledged"] == 200
    assert rtoken.balanceOf(escrow) == 200


def test_reentrant_token_bubbled_reentry_reverts_outer_call(escrow, creator, alice, rtoken):
    cid, _ = create(escrow, creator, token=rtoken, goal=10**9)
    rtoken.arm(escrow, escrow.unpledge.encode_input(cid, 1), True, {"from": alice})
    with reverts("CrowdfundEscrowReentrantCall"):
        pledge(escrow, alice, cid, 100, eth=False)
    assert escrow.getCampaign(cid)["pledged"] == 0


def test_reentrant_token_refund_pays_once(escrow, creator, rtoken):
    cid, _ = create(escrow, creator, token=rtoken, goal=10**9)
    rtoken.execute(escrow, escrow.pledge.encode_input(cid, 500), {"from": creator})
    assert escrow.pledgeOf(cid, rtoken) == 500
    escrow.cancel(cid, {"from": creator})
    rtoken.arm(escrow, escrow.refund.encode_input(cid), False, {"from": creator})
    before = rtoken.balanceOf(rtoken)
    tx = rtoken.execute(escrow, escrow.refund.encode_input(cid), {"from": creator})
    assert rtoken.reentrySucceeded() is False
    assert_error_data(rtoken.reentryRevertData(), "CrowdfundEscrowReentrantCall")
    assert tx.events.count("Refunded") == 1
    assert rtoken.balanceOf(rtoken) == before + 500
    assert rtoken.balanceOf(escrow) == 0
    assert escrow.pledgeOf(cid, rtoken) == 0


def test_reentrant_token_unpledge_pays_once(escrow, creator, rtoken):
    cid, _ = create(escrow, creator, token=rtoken, goal=10**9)
    rtoken.execute(escrow, escrow.pledge.encode_input(cid, 500), {"from": creator})
    rtoken.arm(escrow, escrow.unpledge.encode_input(cid, 200), False, {"from": creator})
    rtoken.execute(escrow, escrow.unpledge.encode_input(cid, 200), {"from": creator})
    assert rtoken.reentrySucceeded() is False
    assert_error_data(rtoken.reentryRevertData(), "CrowdfundEscrowReentrantCall")
    assert escrow.pledgeOf(cid, rtoken) == 300
    assert rtoken.balanceOf(escrow) == 300


def test_reentrant_token_claim_cannot_reenter(escrow, creator, alice, rtoken):
    cid, _ = create(escrow, creator, token=rtoken, goal=1000)
    pledge(escrow, alice, cid, 1000, eth=False)
    finish(escrow, cid)
    rtoken.arm(escrow, escrow.claim.encode_input(cid), False, {"from": alice})
    tx = escrow.claim(cid, {"from": creator})
    assert_error_data(rtoken.reentryRevertData(), "CrowdfundEscrowReentrantCall")
    assert tx.events.count("Claimed") == 1
    assert rtoken.balanceOf(creator) == 975
    assert rtoken.balanceOf(escrow) == 25 == escrow.accruedFees(rtoken)


# ----------------------------------------------------------------------------- re-entrant ETH backer


@pytest.fixture
def rbacker(ReentrantBacker, escrow, owner):
    return ReentrantBacker.deploy(escrow, {"from": owner})


def test_reentrant_backer_refund_pays_once(escrow, creator, alice, rbacker):
    cid, _ = create(escrow, creator)
    rbacker.pledge(cid, {"from": alice, "value": 10**18})
    pledge(escrow, alice, cid, 5 * 10**17)
    escrow.cancel(cid, {"from": creator})
    rbacker.arm(escrow.refund.encode_input(cid), {"from": alice})
    tx = rbacker.refund(cid, {"from": alice})
    assert rbacker.reentrySucceeded() is False
    assert_error_data(rbacker.reentryRevertData(), "CrowdfundEscrowReentrantCall")
    assert tx.events.count("Refunded") == 1
    assert rbacker.received() == 10**18
    assert balance(ETH, rbacker) == 10**18
    assert balance(ETH, escrow) == 5 * 10**17  # alice's pledge is still there
    with reverts("CrowdfundEscrowNothingToRefund", cid, rbacker):
        rbacker.refund(cid, {"from": alice})
    escrow.refund(cid, {"from": alice})
    assert balance(ETH, escrow) == 0


def test_reentrant_backer_unpledge_pays_once(escrow, creator, alice, rbacker):
    cid, _ = create(escrow, creator, goal=10**20)
    rbacker.pledge(cid, {"from": alice, "value": 1000})
    rbacker.arm(escrow.unpledge.encode_input(cid, 400), {"from": alice})
    rbacker.unpledge(cid, 400, {"from": alice})
    assert_error_data(rbacker.reentryRevertData(), "CrowdfundEscrowReentrantCall")
    assert rbacker.received() == 400
    assert escrow.pledgeOf(cid, rbacker) == 600
    assert balance(ETH, escrow) == 600


# ----------------------------------------------------------------------------- refusing receivers


@pytest.fixture
def refuser(RevertingReceiver, owner):
    return RevertingReceiver.deploy({"from": owner})


def test_reverting_fee_recipient_blocks_only_fee_withdrawal(
    escrow, owner, creator, alice, bob, refuser, stranger, token
):
    escrow.setFeeRecipient(refuser, {"from": owner})
    win, _ = create(escrow, creator, goal=10_000)
    lose, _ = create(escrow, creator, goal=10**20)
    pledge(escrow, alice, win, 10_000)
    pledge(escrow, bob, lose, 300)
    finish(escrow, lose)
    escrow.claim(win, {"from": creator})
    with reverts("CrowdfundEscrowEthTransferFailed", refuser, 250):
        escrow.withdrawFees(ETH, {"from": stranger})
    # everyone else proceeds
    bob_before = balance(ETH, bob)
    escrow.refund(lose, {"from": bob})
    assert balance(ETH, bob) == bob_before + 300
    late, _ = create(escrow, creator, goal=1000)
    pledge(escrow, alice, late, 1000)
    finish(escrow, late)
    escrow.claim(late, {"from": creator})
    assert escrow.accruedFees(ETH) == 275
    # token fees still reach a contract recipient (no ETH callback involved)
    tk, _ = create(escrow, creator, token=token, goal=400)
    pledge(escrow, alice, tk, 400, eth=False)
    finish(escrow, tk)
    escrow.claim(tk, {"from": creator})
    escrow.withdrawFees(token, {"from": stranger})
    assert token.balanceOf(refuser) == 10
    # the owner points fees at a working address: they withdraw in full
    escrow.setFeeRecipient(stranger, {"from": owner})
    before = balance(ETH, stranger)
    escrow.withdrawFees(ETH, {"from": alice})
    assert balance(ETH, stranger) == before + 275
    assert balance(ETH, escrow) == 0


def test_reverting_creator_gets_its_claim_credited(escrow, creator, alice, bob, refuser, stranger):
    """A creator that refuses ETH no longer blocks its own claim (issue 18): the claim completes,
    the payout is credited to it, and it withdraws the credit to an address that can receive."""
    payload = escrow.createCampaign.encode_input(ETH, 1000, now() + 86400, 0, False, "0x" + "00" * 32)
    tx = refuser.execute(escrow, payload, {"from": alice})
    theirs = tx.events["CampaignCreated"]["campaignId"]
    assert escrow.getCampaign(theirs)["creator"] == refuser
    mine, _ = create(escrow, creator, goal=1000, duration=86400)
    pledge(escrow, alice, theirs, 1000)
    pledge(escrow, bob, mine, 1000)
    finish(escrow, mine)
    finish(escrow, theirs)
    tx = refuser.execute(escrow, escrow.claim.encode_input(theirs), {"from": alice})
    assert tx.events["PayoutDeferred"]["amount"] == 975
    assert escrow.campaignState(theirs) == 4  # Claimed: the money is owed to the creator, not to the campaign
    assert escrow.owed(refuser, ETH) == 975
    before = balance(ETH, creator)
    escrow.claim(mine, {"from": creator})
    assert balance(ETH, creator) == before + 975
    assert balance(ETH, escrow) == 975 + 25 + 25
    before = balance(ETH, stranger)
    refuser.execute(escrow, escrow.withdrawOwed.encode_input(ETH, stranger), {"from": alice})
    assert balance(ETH, stranger) == before + 975
    assert escrow.owed(refuser, ETH) == 0
    assert balance(ETH, escrow) == 50


def test_reverting_backer_blocks_only_its_own_refund(escrow, creator, alice, refuser):
    cid, _ = create(escrow, creator)
    refuser.execute(escrow, escrow.pledge.encode_input(cid, 500), {"from": alice, "value": 500})
    pledge(escrow, alice, cid, 300)
    escrow.cancel(cid, {"from": creator})
    with reverts("CrowdfundEscrowEthTransferFailed", refuser, 500):
        refuser.execute(escrow, escrow.refund.encode_input(cid), {"from": alice})
    escrow.refund(cid, {"from": alice})
    assert escrow.pledgeOf(cid, refuser) == 500
    assert balance(ETH, escrow) == 500


# ----------------------------------------------------------------------------- force-fed ETH


def test_force_fed_eth_does_not_break_accounting(
    ForceFeeder, escrow, owner, creator, alice, bob, fee_recipient
):
    win, _ = create(escrow, creator, goal=1000)
    lose, _ = create(escrow, creator, goal=10**20)
    pledge(escrow, alice, win, 1000)
    pledge(escrow, bob, lose, 700)
    length = escrow.ledgerLength()
    head = escrow.ledgerHead()

    feeder = ForceFeeder.deploy({"from": owner, "value": 10**18})
    feeder.feed(escrow, {"from": owner})
    assert balance(ETH, escrow) == 1700 + 10**18
    assert escrow.ledgerLength() == length and escrow.ledgerHead() == head
    assert escrow.accruedFees(ETH) == 0
    assert escrow.getCampaign(win)["pledged"] == 1000
    with reverts("CrowdfundEscrowWrongEthValue", 5, 0):
        escrow.pledge(win, 5, {"from": alice, "value": 0})  # the surplus cannot pay for a pledge

    finish(escrow, lose)
    c_before, b_before, f_before = balance(ETH, creator), balance(ETH, bob), balance(ETH, fee_recipient)
    escrow.claim(win, {"from": creator})
    escrow.refund(lose, {"from": bob})
    escrow.withdrawFees(ETH, {"from": bob})
    assert balance(ETH, creator) == c_before + 975
    assert balance(ETH, bob) == b_before + 700
    assert balance(ETH, fee_recipient) == f_before + 25
    with reverts("CrowdfundEscrowNoFees", ETH):
        escrow.withdrawFees(ETH, {"from": bob})
    assert balance(ETH, escrow) == 10**18  # only the forced surplus is left, owed to no one
