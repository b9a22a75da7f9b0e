"""Fees and the owner's powers: withdrawFees, setFeeBps, setFeeRecipient, pause/unpause,
Ownable2Step, and that no owner action can move, freeze or redirect escrowed money."""

import pytest
from conftest import (
    CANCELLED,
    CLAIMED,
    ETH,
    FAILED,
    FEE_BPS,
    balance,
    create,
    finish,
    gas_cost,
    pledge,
    reverts,
)


def succeed(escrow, creator, backer, total, *, token=None):
    """Creates a campaign that `backer` fully funds and moves past its deadline; returns its id."""
    cid, _ = create(escrow, creator, goal=total, token=token or ETH)
    pledge(escrow, backer, cid, total, eth=token is None)
    finish(escrow, cid)
    return cid


# ----------------------------------------------------------------------------- withdrawFees


def test_withdraw_eth_fees_to_recipient(escrow, creator, alice, stranger, fee_recipient):
    a = succeed(escrow, creator, alice, 10_000)
    b = succeed(escrow, creator, alice, 1)
    escrow.claim(a, {"from": creator})
    escrow.claim(b, {"from": creator})
    assert escrow.accruedFees(ETH) == 251
    before = balance(ETH, fee_recipient)
    tx = escrow.withdrawFees(ETH, {"from": stranger})  # anyone may call
    assert balance(ETH, fee_recipient) == before + 251
    ev = tx.events["FeesWithdrawn"]
    assert (ev["token"], ev["to"], ev["amount"]) == (ETH, fee_recipient, 251)
    assert escrow.accruedFees(ETH) == 0
    assert balance(ETH, escrow) == 0
    with reverts("CrowdfundEscrowNoFees", ETH):
        escrow.withdrawFees(ETH, {"from": stranger})


def test_withdraw_token_fees(escrow, creator, alice, token, fee_recipient):
    cid = succeed(escrow, creator, alice, 4000, token=token)
    escrow.claim(cid, {"from": creator})
    assert escrow.accruedFees(token) == 100
    with reverts("CrowdfundEscrowNoFees", ETH):
        escrow.withdrawFees(ETH, {"from": alice})
    tx = escrow.withdrawFees(token, {"from": alice})
    assert token.balanceOf(fee_recipient) == 100
    assert tx.events["FeesWithdrawn"]["token"] == token
    assert token.balanceOf(escrow) == 0


def test_withdraw_with_no_fees_reverts(escrow, alice, token):
    with reverts("CrowdfundEscrowNoFees", token):
        escrow.withdrawFees(token, {"from": alice})


def test_withdraw_works_while_paused(escrow, owner, creator, alice, fee_recipient):
    cid = succeed(escrow, creator, alice, 10_000)
    escrow.claim(cid, {"from": creator})
    escrow.pause({"from": owner})
    before = balance(ETH, fee_recipient)
    escrow.withdrawFees(ETH, {"from": alice})
    assert balance(ETH, fee_recipient) == before + 250


# ----------------------------------------------------------------------------- setFeeBps


def test_set_fee_bps(escrow, owner):
    tx = escrow.setFeeBps(1000, {"from": owner})
    assert tx.events["FeeBpsChanged"]["previousFeeBps"] == FEE_BPS
    assert tx.events["FeeBpsChanged"]["newFeeBps"] == 1000
    assert escrow.feeBps() == 1000
    escrow.setFeeBps(0, {"from": owner})
    assert escrow.feeBps() == 0


def test_set_fee_bps_too_high_reverts(escrow, owner):
    with reverts("CrowdfundEscrowFeeTooHigh", 1001, 1000):
        escrow.setFeeBps(1001, {"from": owner})
    assert escrow.feeBps() == FEE_BPS


def test_fee_change_does_not_affect_existing_campaigns(escrow, owner, creator, alice):
    old, _ = create(escrow, creator, goal=10_000)
    escrow.setFeeBps(1000, {"from": owner})
    new, _ = create(escrow, creator, goal=10_000)
    assert escrow.getCampaign(old)["feeBps"] == FEE_BPS
    assert escrow.getCampaign(new)["feeBps"] == 1000
    pledge(escrow, alice, old, 10_000)
    pledge(escrow, alice, new, 10_000)
    escrow.setFeeBps(0, {"from": owner})
    finish(escrow, new)
    assert escrow.claim(old, {"from": creator}).events["Claimed"]["fee"] == 250
    assert escrow.claim(new, {"from": creator}).events["Claimed"]["fee"] == 1000


# ----------------------------------------------------------------------------- setFeeRecipient


def test_set_fee_recipient(escrow, owner, creator, alice, fee_recipient, stranger):
    cid = succeed(escrow, creator, alice, 10_000)
    escrow.claim(cid, {"from": creator})
    tx = escrow.setFeeRecipient(stranger, {"from": owner})
    ev = tx.events["FeeRecipientChanged"]
    assert (ev["previousRecipient"], ev["newRecipient"]) == (fee_recipient, stranger)
    assert escrow.feeRecipient() == stranger
    before = balance(ETH, stranger)
    escrow.withdrawFees(ETH, {"from": alice})
    assert balance(ETH, stranger) == before + 250


def test_set_zero_fee_recipient_reverts(escrow, owner, fee_recipient):
    with reverts("CrowdfundEscrowInvalidFeeRecipient", ETH):
        escrow.setFeeRecipient(ETH, {"from": owner})
    assert escrow.feeRecipient() == fee_recipient


# ----------------------------------------------------------------------------- pause


def test_pause_and_unpause(escrow, owner):
    tx = escrow.pause({"from": owner})
    assert tx.events["Paused"]["account"] == owner
    assert escrow.paused() is True
    with reverts("CrowdfundEscrowPaused"):
        escrow.pause({"from": owner})
    tx = escrow.unpause({"from": owner})
    assert tx.events["Unpaused"]["account"] == owner
    assert escrow.paused() is False
    with reverts("CrowdfundEscrowNotPaused"):
        escrow.unpause({"from": owner})


def test_pause_blocks_only_create_and_pledge(escrow, owner, creator, alice, bob, token):
    win = succeed(escrow, creator, alice, 1000)  # past its deadline, goal met
    fail, _ = create(escrow, creator, goal=10**18)
    pledge(escrow, alice, fail, 300)
    finish(escrow, fail)  # past its deadline, goal missed
    live2, _ = create(escrow, creator, goal=10**18)
    pledge(escrow, bob, live2, 700)
    escrow.pause({"from": owner})

    with reverts("CrowdfundEscrowPaused"):
        create(escrow, creator)
    with reverts("CrowdfundEscrowPaused"):
        pledge(escrow, alice, live2, 1)
    escrow.unpledge(live2, 200, {"from": bob})
    escrow.cancel(live2, {"from": creator})
    escrow.refund(live2, {"from": bob})
    escrow.refund(fail, {"from": alice})
    escrow.claim(win, {"from": creator})
    escrow.withdrawFees(ETH, {"from": alice})
    assert escrow.campaignState(win) == CLAIMED
    assert escrow.campaignState(fail) == FAILED
    assert escrow.campaignState(live2) == CANCELLED
    assert escrow.pledgeOf(live2, bob) == 0


# ----------------------------------------------------------------------------- access control


@pytest.mark.parametrize(
    "call",
    [
        lambda e, who: e.setFeeBps(0, {"from": who}),
        lambda e, who: e.setFeeRecipient(who, {"from": who}),
        lambda e, who: e.pause({"from": who}),
        lambda e, who: e.unpause({"from": who}),
        lambda e, who: e.transferOwnership(who, {"from": who}),
        lambda e, who: e.renounceOwnership({"from": who}),
    ],
    ids=["setFeeBps", "setFeeRecipient", "pause", "unpause", "transferOwnership", "renounceOwnership"],
)
def test_owner_functions_reject_others(escrow, stranger, call):
    with reverts("OwnableUnauthorizedAccount", stranger):
        call(escrow, stranger)


def test_ownership_transfer_is_two_step(escrow, owner, stranger, alice):
    escrow.transferOwnership(stranger, {"from": owner})
    assert escrow.owner() == owner
    assert escrow.pendingOwner() == stranger
    with reverts("OwnableUnauthorizedAccount", alice):
        escrow.acceptOwnership({"from": alice})
    escrow.acceptOwnership({"from": stranger})
    assert escrow.owner() == stranger
    with reverts("OwnableUnauthorizedAccount", owner):
        escrow.pause({"from": owner})
    escrow.pause({"from": stranger})


def test_renounced_owner_cannot_act(escrow, owner):
    escrow.renounceOwnership({"from": owner})
    assert escrow.owner() == ETH
    with reverts("OwnableUnauthorizedAccount", owner):
        escrow.setFeeBps(0, {"from": owner})


def test_owner_has_no_special_access_to_campaigns(escrow, owner, creator, alice):
    cid, _ = create(escrow, creator, goal=100)
    pledge(escrow, alice, cid, 100)
    with reverts("CrowdfundEscrowNotCreator", cid, owner):
        escrow.cancel(cid, {"from": owner})
    with reverts("CrowdfundEscrowInsufficientPledge", cid, owner, 0, 1):
        escrow.unpledge(cid, 1, {"from": owner})
    finish(escrow, cid)
    with reverts("CrowdfundEscrowNotCreator", cid, owner):
        escrow.claim(cid, {"from": owner})
    with reverts("CrowdfundEscrowNotRefundable"):
        escrow.refund(cid, {"from": owner})


def test_every_owner_action_mid_campaign_leaves_escrow_untouched(
    escrow, owner, creator, alice, bob, carol, stranger, token
):
    """Mid-campaign the owner uses every power it has, then renounces while paused; every backer
    and creator still gets exactly their money."""
    win, _ = create(escrow, creator, goal=1000)  # will succeed
    lose, _ = create(escrow, creator, goal=10**18, token=token)  # will fail
    gone, _ = create(escrow, creator, goal=10**18)  # will be cancelled
    pledge(escrow, alice, win, 600)
    pledge(escrow, bob, win, 401)
    pledge(escrow, alice, lose, 5000, eth=False)
    pledge(escrow, carol, gone, 777)
    pledge(escrow, carol, win, 50)
    owner_eth = balance(ETH, owner)

    escrow.setFeeBps(1000, {"from": owner})
    escrow.setFeeRecipient(stranger, {"from": owner})
    escrow.pause({"from": owner})
    escrow.unpause({"from": owner})
    escrow.transferOwnership(stranger, {"from": owner})
    escrow.acceptOwnership({"from": stranger})
    escrow.pause({"from": stranger})
    escrow.renounceOwnership({"from": stranger})
    assert escrow.owner() == ETH and escrow.paused() is True  # paused for good

    # the terms of existing campaigns did not move
    assert escrow.getCampaign(win)["feeBps"] == FEE_BPS
    assert balance(ETH, escrow) == 600 + 401 + 777 + 50
    assert token.balanceOf(escrow) == 5000

    carol_eth = balance(ETH, carol)
    tx1 = escrow.unpledge(win, 50, {"from": carol})
    escrow.cancel(gone, {"from": creator})
    tx3 = escrow.refund(gone, {"from": carol})
    assert balance(ETH, carol) == carol_eth + 827 - gas_cost(tx1) - gas_cost(tx3)

    finish(escrow, lose)
    alice_tok = token.balanceOf(alice)
    escrow.refund(lose, {"from": alice})
    assert token.balanceOf(alice) == alice_tok + 5000

    creator_eth = balance(ETH, creator)
    tx4 = escrow.claim(win, {"from": creator})
    assert tx4.events["Claimed"]["fee"] == 26  # ceil(1001 * 250 / 10000): the fee fixed at creation
    assert balance(ETH, creator) == creator_eth + 1001 - 26 - gas_cost(tx4)

    recipient_eth = balance(ETH, stranger)
    escrow.withdrawFees(ETH, {"from": alice})  # to the recipient the owner set
    assert balance(ETH, stranger) == recipient_eth + 26
    assert balance(ETH, escrow) == 0
    assert token.balanceOf(escrow) == 0
    assert balance(ETH, owner) <= owner_eth  # the owner gained nothing
    assert token.balanceOf(owner) == 0
