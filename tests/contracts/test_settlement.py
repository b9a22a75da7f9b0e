"""cancel, claim and refund: state transitions, payouts, fee rounding and their errors."""

import pytest
from conftest import (
    CANCELLED,
    CLAIMED,
    ETH,
    FAILED,
    FEE_BPS,
    FUNDING,
    LOCK_WINDOW,
    SUCCEEDED,
    UINT128_MAX,
    balance,
    create,
    finish,
    gas_cost,
    pin,
    pledge,
    reverts,
    travel_to,
)


def fee_of(total, bps):
    return -(-total * bps // 10_000)  # ceil


# ----------------------------------------------------------------------------- cancel


def test_cancel_by_creator(escrow, creator, alice):
    cid, _ = create(escrow, creator)
    pledge(escrow, alice, cid, 10)
    tx = escrow.cancel(cid, {"from": creator})
    ev = tx.events["Cancelled"]
    assert (ev["campaignId"], ev["creator"]) == (cid, creator)
    assert escrow.campaignState(cid) == CANCELLED
    assert escrow.getCampaign(cid)["cancelled"] is True
    assert escrow.pledgeOf(cid, alice) == 10  # until refunded


def test_cancel_by_other_reverts(escrow, owner, creator, alice):
    cid, _ = create(escrow, creator)
    for who in (alice, owner):
        with reverts("CrowdfundEscrowNotCreator", cid, who):
            escrow.cancel(cid, {"from": who})


def test_cancel_twice_reverts(escrow, creator):
    cid, _ = create(escrow, creator)
    escrow.cancel(cid, {"from": creator})
    with reverts("CrowdfundEscrowNotFunding", cid, CANCELLED):
        escrow.cancel(cid, {"from": creator})


def test_cancel_at_deadline_reverts(escrow, creator, alice):
    cid, _ = create(escrow, creator, goal=100)
    deadline = escrow.getCampaign(cid)["deadline"]
    pin(deadline - 1)
    pledge(escrow, alice, cid, 100)
    pin(deadline)
    with reverts("CrowdfundEscrowNotFunding", cid, SUCCEEDED):
        escrow.cancel(cid, {"from": creator})


def test_cancel_failed_campaign_reverts(escrow, creator):
    cid, _ = create(escrow, creator, goal=100)
    finish(escrow, cid)
    with reverts("CrowdfundEscrowNotFunding", cid, FAILED):
        escrow.cancel(cid, {"from": creator})


def test_cancel_succeeded_campaign_even_at_goal_before_deadline(escrow, creator, alice):
    cid, _ = create(escrow, creator, goal=100)
    pledge(escrow, alice, cid, 100)
    escrow.cancel(cid, {"from": creator})
    finish(escrow, cid)
    assert escrow.campaignState(cid) == CANCELLED
    with reverts("CrowdfundEscrowNotClaimable", cid, CANCELLED):
        escrow.claim(cid, {"from": creator})


# ----------------------------------------------------------------------------- refund


def test_refund_after_cancel_pays_whole_pledge(escrow, creator, alice, bob):
    cid, _ = create(escrow, creator)
    pledge(escrow, alice, cid, 300)
    pledge(escrow, alice, cid, 200)
    pledge(escrow, bob, cid, 70)
    escrow.cancel(cid, {"from": creator})
    before = balance(ETH, alice)
    tx = escrow.refund(cid, {"from": alice})
    assert balance(ETH, alice) == before + 500 - gas_cost(tx)
    ev = tx.events["Refunded"]
    assert (ev["campaignId"], ev["backer"], ev["amount"]) == (cid, alice, 500)
    assert escrow.pledgeOf(cid, alice) == 0
    escrow.refund(cid, {"from": bob})
    assert balance(ETH, escrow) == 0
    # `pledged` is the net pledged total; refunds do not lower it
    assert escrow.getCampaign(cid)["pledged"] == 570


def test_refund_twice_reverts(escrow, creator, alice):
    cid, _ = create(escrow, creator)
    pledge(escrow, alice, cid, 300)
    escrow.cancel(cid, {"from": creator})
    escrow.refund(cid, {"from": alice})
    with reverts("CrowdfundEscrowNothingToRefund", cid, alice):
        escrow.refund(cid, {"from": alice})


def test_refund_without_pledge_reverts(escrow, creator, bob):
    cid, _ = create(escrow, creator)
    escrow.cancel(cid, {"from": creator})
    with reverts("CrowdfundEscrowNothingToRefund", cid, bob):
        escrow.refund(cid, {"from": bob})


def test_refund_failed_campaign(escrow, creator, alice, bob, token):
    cid, _ = create(escrow, creator, token=token, goal=1000)
    pledge(escrow, alice, cid, 600, eth=False)
    pledge(escrow, bob, cid, 399, eth=False)
    finish(escrow, cid)
    assert escrow.campaignState(cid) == FAILED
    before = token.balanceOf(bob)
    escrow.refund(cid, {"from": bob})
    escrow.refund(cid, {"from": alice})
    assert token.balanceOf(bob) == before + 399
    assert token.balanceOf(escrow) == 0
    with reverts("CrowdfundEscrowNotClaimable", cid, FAILED):
        escrow.claim(cid, {"from": creator})


def test_refund_while_funding_reverts(escrow, creator, alice):
    cid, _ = create(escrow, creator)
    pledge(escrow, alice, cid, 1)
    with reverts("CrowdfundEscrowNotRefundable", cid, FUNDING):
        escrow.refund(cid, {"from": alice})


def test_refund_succeeded_and_claimed_revert(escrow, creator, alice):
    cid, _ = create(escrow, creator, goal=100)
    pledge(escrow, alice, cid, 100)
    finish(escrow, cid)
    with reverts("CrowdfundEscrowNotRefundable", cid, SUCCEEDED):
        escrow.refund(cid, {"from": alice})
    escrow.claim(cid, {"from": creator})
    with reverts("CrowdfundEscrowNotRefundable", cid, CLAIMED):
        escrow.refund(cid, {"from": alice})


def test_refund_after_partial_unpledge(escrow, creator, alice):
    cid, _ = create(escrow, creator)
    pledge(escrow, alice, cid, 500)
    escrow.unpledge(cid, 120, {"from": alice})
    escrow.cancel(cid, {"from": creator})
    tx = escrow.refund(cid, {"from": alice})
    assert tx.events["Refunded"]["amount"] == 380
    assert balance(ETH, escrow) == 0


# ----------------------------------------------------------------------------- claim


def test_claim_pays_creator_total_minus_fee(escrow, creator, alice, bob):
    cid, _ = create(escrow, creator, goal=10**18)
    pledge(escrow, alice, cid, 7 * 10**17)
    pledge(escrow, bob, cid, 3 * 10**17 + 1)
    total = 10**18 + 1
    finish(escrow, cid)
    assert escrow.campaignState(cid) == SUCCEEDED
    before = balance(ETH, creator)
    tx = escrow.claim(cid, {"from": creator})
    fee = fee_of(total, FEE_BPS)
    assert balance(ETH, creator) == before + total - fee - gas_cost(tx)
    ev = tx.events["Claimed"]
    assert (ev["campaignId"], ev["creator"], ev["amount"], ev["fee"]) == (cid, creator, total - fee, fee)
    assert escrow.accruedFees(ETH) == fee
    assert balance(ETH, escrow) == fee
    assert escrow.campaignState(cid) == CLAIMED
    assert escrow.getCampaign(cid)["claimed"] is True


def test_claim_goal_exactly_met(escrow, creator, alice):
    cid, _ = create(escrow, creator, goal=1000)
    pledge(escrow, alice, cid, 1000)
    finish(escrow, cid)
    assert escrow.campaignState(cid) == SUCCEEDED
    escrow.claim(cid, {"from": creator})


def test_claim_twice_reverts(escrow, creator, alice):
    cid, _ = create(escrow, creator, goal=100)
    pledge(escrow, alice, cid, 100)
    finish(escrow, cid)
    escrow.claim(cid, {"from": creator})
    with reverts("CrowdfundEscrowNotClaimable", cid, CLAIMED):
        escrow.claim(cid, {"from": creator})


def test_claim_by_other_reverts(escrow, owner, creator, alice):
    cid, _ = create(escrow, creator, goal=100)
    pledge(escrow, alice, cid, 100)
    finish(escrow, cid)
    for who in (alice, owner):
        with reverts("CrowdfundEscrowNotCreator", cid, who):
            escrow.claim(cid, {"from": who})


def test_claim_before_deadline_reverts(escrow, creator, alice):
    cid, _ = create(escrow, creator, goal=100)
    pledge(escrow, alice, cid, 100)
    pin(escrow.getCampaign(cid)["deadline"] - 1)
    with reverts("CrowdfundEscrowNotClaimable", cid, FUNDING):
        escrow.claim(cid, {"from": creator})


def test_keep_it_all_claims_below_goal(escrow, creator, alice):
    cid, _ = create(escrow, creator, goal=10**18, keep=True)
    pledge(escrow, alice, cid, 1000)
    finish(escrow, cid)
    assert escrow.campaignState(cid) == SUCCEEDED
    with reverts("CrowdfundEscrowNotRefundable", cid, SUCCEEDED):
        escrow.refund(cid, {"from": alice})
    tx = escrow.claim(cid, {"from": creator})
    assert tx.events["Claimed"]["amount"] == 1000 - 25
    assert tx.events["Claimed"]["fee"] == 25


def test_keep_it_all_with_nothing_raised(escrow, creator):
    cid, _ = create(escrow, creator, goal=0, keep=True)
    finish(escrow, cid)
    before = balance(ETH, creator)
    tx = escrow.claim(cid, {"from": creator})
    assert (tx.events["Claimed"]["amount"], tx.events["Claimed"]["fee"]) == (0, 0)
    assert balance(ETH, creator) == before - gas_cost(tx)
    assert escrow.accruedFees(ETH) == 0
    assert escrow.campaignState(cid) == CLAIMED


def test_token_claim(escrow, creator, alice, token):
    cid, _ = create(escrow, creator, token=token, goal=10_000)
    pledge(escrow, alice, cid, 10_001, eth=False)
    finish(escrow, cid)
    tx = escrow.claim(cid, {"from": creator})
    fee = fee_of(10_001, FEE_BPS)  # 250.025 -> 251
    assert fee == 251
    assert token.balanceOf(creator) == 10_001 - 251
    assert escrow.accruedFees(token) == 251
    assert escrow.accruedFees(ETH) == 0
    assert token.balanceOf(escrow) == 251
    assert tx.events["Claimed"]["fee"] == 251


@pytest.mark.parametrize(
    "total,bps,fee",
    [
        (1, 250, 1),
        (1, 1, 1),
        (39, 250, 1),
        (40, 250, 1),
        (41, 250, 2),
        (10_000, 250, 250),
        (10_001, 250, 251),
        (3, 1000, 1),
        (999, 0, 0),
        (10**18, 1000, 10**17),
    ],
)
def test_fee_rounds_up(escrow, owner, creator, alice, total, bps, fee):
    escrow.setFeeBps(bps, {"from": owner})
    cid, _ = create(escrow, creator, goal=total)
    pledge(escrow, alice, cid, total)
    finish(escrow, cid)
    before = balance(ETH, creator)
    tx = escrow.claim(cid, {"from": creator})
    assert tx.events["Claimed"]["fee"] == fee == fee_of(total, bps)
    assert balance(ETH, creator) - before + gas_cost(tx) == total - fee
    assert escrow.accruedFees(ETH) == fee


def test_transitions_funding_to_failed_by_time(escrow, creator, alice):
    cid, _ = create(escrow, creator, goal=100)
    pledge(escrow, alice, cid, 99)
    deadline = escrow.getCampaign(cid)["deadline"]
    travel_to(deadline - 1)
    assert escrow.campaignState(cid) == FUNDING
    finish(escrow, cid)
    assert escrow.campaignState(cid) == FAILED


@pytest.mark.parametrize("goal", [2**96 - 2, 2**96 - 1, 2**96, UINT128_MAX])
def test_large_goals_decide_state_lock_and_claim(escrow, creator, alice, bob, token, goal):
    """Goals around 2^96 (where the escrow's storage packing changes) and the largest goal."""
    token.mint(alice, goal, {"from": alice})
    met, _ = create(escrow, creator, token=token, goal=goal)
    missed, _ = create(escrow, creator, token=token, goal=goal)
    pledge(escrow, alice, met, goal - 1, eth=False)
    pledge(escrow, bob, met, 1, eth=False)
    pledge(escrow, bob, missed, 1, eth=False)
    deadline = escrow.getCampaign(met)["deadline"]
    assert escrow.getCampaign(met)["goal"] == goal
    pin(deadline - 1)
    with reverts("CrowdfundEscrowUnpledgeLocked", met, goal - 1, goal, deadline - LOCK_WINDOW):
        escrow.unpledge(met, 1, {"from": bob})
    finish(escrow, missed)
    assert escrow.campaignState(met) == SUCCEEDED
    assert escrow.campaignState(missed) == FAILED
    tx = escrow.claim(met, {"from": creator})
    assert tx.events["Claimed"]["fee"] == fee_of(goal, FEE_BPS)
    assert token.balanceOf(creator) == goal - fee_of(goal, FEE_BPS)
    escrow.refund(missed, {"from": bob})
    with reverts("CrowdfundEscrowNotClaimable", missed, FAILED):
        escrow.claim(missed, {"from": creator})
