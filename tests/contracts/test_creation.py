"""Deployment and createCampaign: terms, ids, views and every creation error."""

import pytest
from brownie import chain
from conftest import (
    CANCELLED,
    DAY,
    ETH,
    FEE_BPS,
    FUNDING,
    LOCK_WINDOW,
    MAX_DURATION,
    META,
    UINT128_MAX,
    create,
    deploy_escrow,
    now,
    pin,
    reverts,
)

from ledger.core.hashing import genesis_head


def test_constructor_sets_parameters(escrow, owner, fee_recipient):
    assert escrow.owner() == owner
    assert escrow.pendingOwner() == ETH
    assert escrow.feeRecipient() == fee_recipient
    assert escrow.feeBps() == FEE_BPS
    assert escrow.unpledgeLockWindow() == LOCK_WINDOW
    assert escrow.MAX_FEE_BPS() == 1000
    assert escrow.MAX_DURATION() == MAX_DURATION
    assert escrow.paused() is False
    assert escrow.campaignCount() == 0
    assert escrow.ledgerLength() == 0
    assert bytes(escrow.ledgerHead()) == genesis_head(chain.id, escrow.address)
    assert escrow.accruedFees(ETH) == 0


def test_constructor_accepts_max_fee_and_zero_window(CrowdfundEscrow, owner, fee_recipient):
    e = deploy_escrow(CrowdfundEscrow, fee_recipient, 1000, 0, owner)
    assert e.feeBps() == 1000
    assert e.unpledgeLockWindow() == 0


def test_constructor_rejects_zero_fee_recipient(CrowdfundEscrow, owner):
    with reverts("CrowdfundEscrowInvalidFeeRecipient", ETH):
        deploy_escrow(CrowdfundEscrow, ETH, FEE_BPS, LOCK_WINDOW, owner)


def test_constructor_rejects_fee_above_max(CrowdfundEscrow, owner, fee_recipient):
    with reverts("CrowdfundEscrowFeeTooHigh", 1001, 1000):
        deploy_escrow(CrowdfundEscrow, fee_recipient, 1001, LOCK_WINDOW, owner)


def test_create_eth_campaign(escrow, creator):
    deadline = now() + 7 * DAY
    tx = escrow.createCampaign(ETH, 5 * 10**18, deadline, 10**18, False, META, {"from": creator})
    ev = tx.events["CampaignCreated"]
    assert ev["campaignId"] == 1
    assert ev["creator"] == creator
    assert ev["token"] == ETH
    assert ev["goal"] == 5 * 10**18
    assert ev["deadline"] == deadline
    assert ev["maxPerBacker"] == 10**18
    assert ev["keepItAll"] is False
    assert ev["feeBps"] == FEE_BPS
    assert ev["metadataHash"] == META
    assert ev["seq"] == 1

    c = escrow.getCampaign(1)
    assert c["creator"] == creator
    assert c["token"] == ETH
    assert c["goal"] == 5 * 10**18
    assert c["deadline"] == deadline
    assert c["maxPerBacker"] == 10**18
    assert c["keepItAll"] is False
    assert c["feeBps"] == FEE_BPS
    assert c["pledged"] == 0
    assert c["claimed"] is False
    assert c["cancelled"] is False
    assert escrow.campaignState(1) == FUNDING
    assert escrow.campaignCount() == 1
    assert escrow.pledgeOf(1, creator) == 0


def test_ids_start_at_one_and_increase(escrow, creator, alice):
    ids = [create(escrow, who)[0] for who in (creator, alice, creator)]
    assert ids == [1, 2, 3]
    assert escrow.campaignCount() == 3
    assert escrow.getCampaign(2)["creator"] == alice


def test_create_token_keep_it_all_with_zero_goal(escrow, creator, token):
    cid, tx = create(escrow, creator, token=token, goal=0, keep=True)
    c = escrow.getCampaign(cid)
    assert c["token"] == token
    assert c["goal"] == 0
    assert c["keepItAll"] is True
    assert c["maxPerBacker"] == 0
    assert tx.events["CampaignCreated"]["token"] == token


def test_create_accepts_uint128_max_goal_and_cap(escrow, creator):
    cid, _ = create(escrow, creator, goal=UINT128_MAX, cap=UINT128_MAX)
    c = escrow.getCampaign(cid)
    assert c["goal"] == UINT128_MAX
    assert c["maxPerBacker"] == UINT128_MAX


def test_create_accepts_any_contract_as_token(escrow, creator):
    # Only "has code" is checked: the escrow's own address passes.
    cid, _ = create(escrow, creator, token=escrow.address)
    assert escrow.getCampaign(cid)["token"] == escrow


def test_deadline_at_max_duration_is_accepted(escrow, creator):
    t = now() + 10
    pin(t)
    escrow.createCampaign(ETH, 1, t + MAX_DURATION, 0, False, META, {"from": creator})
    assert escrow.getCampaign(1)["deadline"] == t + MAX_DURATION


def test_deadline_past_max_duration_reverts(escrow, creator):
    t = now() + 10
    pin(t)
    with reverts("CrowdfundEscrowDeadlineTooFar", t + MAX_DURATION + 1, t + MAX_DURATION):
        escrow.createCampaign(ETH, 1, t + MAX_DURATION + 1, 0, False, META, {"from": creator})


@pytest.mark.parametrize("offset", [0, -1, -DAY])
def test_deadline_not_in_future_reverts(escrow, creator, offset):
    t = now() + 10
    pin(t)
    with reverts("CrowdfundEscrowDeadlineNotInFuture", t + offset, t):
        escrow.createCampaign(ETH, 1, t + offset, 0, False, META, {"from": creator})


def test_deadline_one_second_ahead_is_accepted(escrow, creator):
    t = now() + 10
    pin(t)
    escrow.createCampaign(ETH, 1, t + 1, 0, False, META, {"from": creator})
    assert escrow.campaignState(1) == FUNDING


def test_zero_goal_all_or_nothing_reverts(escrow, creator):
    with reverts("CrowdfundEscrowZeroGoal"):
        create(escrow, creator, goal=0, keep=False)


def test_goal_too_large_reverts(escrow, creator):
    with reverts("CrowdfundEscrowAmountTooLarge", 2**128, UINT128_MAX):
        create(escrow, creator, goal=2**128)


def test_cap_too_large_reverts(escrow, creator):
    with reverts("CrowdfundEscrowAmountTooLarge", 2**128, UINT128_MAX):
        create(escrow, creator, cap=2**128)


def test_token_without_code_reverts(escrow, creator, stranger):
    with reverts("CrowdfundEscrowInvalidToken", stranger):
        create(escrow, creator, token=stranger.address)


def test_create_while_paused_reverts(escrow, owner, creator):
    escrow.pause({"from": owner})
    with reverts("CrowdfundEscrowPaused"):
        create(escrow, creator)
    escrow.unpause({"from": owner})
    assert create(escrow, creator)[0] == 1


def test_failed_creation_changes_nothing(escrow, creator):
    with reverts("CrowdfundEscrowZeroGoal"):
        create(escrow, creator, goal=0)
    assert escrow.campaignCount() == 0
    assert escrow.ledgerLength() == 0


def test_unknown_campaign_views_revert(escrow, creator):
    create(escrow, creator)
    for cid in (0, 2):
        with reverts("CrowdfundEscrowUnknownCampaign", cid):
            escrow.getCampaign(cid)
        with reverts("CrowdfundEscrowUnknownCampaign", cid):
            escrow.campaignState(cid)
    assert escrow.pledgeOf(2, creator) == 0


@pytest.mark.parametrize("action", ["pledge", "unpledge", "cancel", "claim", "refund"])
def test_unknown_campaign_actions_revert(escrow, alice, action):
    call = {
        "pledge": lambda: escrow.pledge(7, 1, {"from": alice, "value": 1}),
        "unpledge": lambda: escrow.unpledge(7, 1, {"from": alice}),
        "cancel": lambda: escrow.cancel(7, {"from": alice}),
        "claim": lambda: escrow.claim(7, {"from": alice}),
        "refund": lambda: escrow.refund(7, {"from": alice}),
    }[action]
    with reverts("CrowdfundEscrowUnknownCampaign", 7):
        call()


def test_state_views_per_campaign_are_independent(escrow, creator):
    a, _ = create(escrow, creator)
    b, _ = create(escrow, creator)
    escrow.cancel(a, {"from": creator})
    assert escrow.campaignState(a) == CANCELLED
    assert escrow.campaignState(b) == FUNDING
