"""unpledge and the lock rule: within the last unpledgeLockWindow seconds, an unpledge may not
drop a campaign that has reached its goal back below it."""

import pytest
from conftest import (
    CANCELLED,
    ETH,
    FAILED,
    LOCK_WINDOW,
    SUCCEEDED,
    balance,
    create,
    deploy_escrow,
    finish,
    gas_cost,
    pin,
    pledge,
    reverts,
)

GOAL = 1000


@pytest.fixture
def funded(escrow, creator, alice, bob):
    """A goal-1000 ETH campaign with alice 600 + bob 400 (exactly at goal); returns (id, deadline)."""
    cid, _ = create(escrow, creator, goal=GOAL)
    pledge(escrow, alice, cid, 600)
    pledge(escrow, bob, cid, 400)
    return cid, escrow.getCampaign(cid)["deadline"]


def test_unpledge_returns_eth(escrow, creator, alice):
    cid, _ = create(escrow, creator, goal=GOAL)
    pledge(escrow, alice, cid, 700)
    before = balance(ETH, alice)
    tx = escrow.unpledge(cid, 300, {"from": alice})
    assert balance(ETH, alice) == before + 300 - gas_cost(tx)
    assert escrow.pledgeOf(cid, alice) == 400
    assert escrow.getCampaign(cid)["pledged"] == 400
    assert balance(ETH, escrow) == 400
    ev = tx.events["Unpledged"]
    assert (ev["campaignId"], ev["backer"], ev["amount"]) == (cid, alice, 300)
    escrow.unpledge(cid, 400, {"from": alice})
    assert escrow.pledgeOf(cid, alice) == 0
    assert balance(ETH, escrow) == 0


def test_unpledge_returns_tokens(escrow, creator, alice, token):
    cid, _ = create(escrow, creator, token=token, goal=GOAL)
    pledge(escrow, alice, cid, 700, eth=False)
    before = token.balanceOf(alice)
    escrow.unpledge(cid, 700, {"from": alice})
    assert token.balanceOf(alice) == before + 700
    assert token.balanceOf(escrow) == 0
    assert escrow.pledgeOf(cid, alice) == 0


def test_unpledge_more_than_pledged_reverts(escrow, creator, alice, bob):
    cid, _ = create(escrow, creator, goal=GOAL)
    pledge(escrow, alice, cid, 10)
    pledge(escrow, bob, cid, 100)
    with reverts("CrowdfundEscrowInsufficientPledge", cid, alice, 10, 11):
        escrow.unpledge(cid, 11, {"from": alice})
    with reverts("CrowdfundEscrowInsufficientPledge", cid, creator, 0, 1):
        escrow.unpledge(cid, 1, {"from": creator})


def test_unpledge_zero_reverts(escrow, creator, alice):
    cid, _ = create(escrow, creator, goal=GOAL)
    pledge(escrow, alice, cid, 10)
    with reverts("CrowdfundEscrowZeroAmount"):
        escrow.unpledge(cid, 0, {"from": alice})


def test_unpledge_after_deadline_reverts(escrow, funded, alice):
    cid, deadline = funded
    pin(deadline)
    with reverts("CrowdfundEscrowNotFunding", cid, SUCCEEDED):
        escrow.unpledge(cid, 1, {"from": alice})


def test_unpledge_after_failed_deadline_reverts(escrow, creator, alice):
    cid, _ = create(escrow, creator, goal=GOAL)
    pledge(escrow, alice, cid, 10)
    finish(escrow, cid)
    with reverts("CrowdfundEscrowNotFunding", cid, FAILED):
        escrow.unpledge(cid, 10, {"from": alice})


def test_unpledge_from_cancelled_reverts(escrow, funded, creator, alice):
    cid, _ = funded
    escrow.cancel(cid, {"from": creator})
    with reverts("CrowdfundEscrowNotFunding", cid, CANCELLED):
        escrow.unpledge(cid, 1, {"from": alice})


def test_unpledge_works_while_paused(escrow, funded, owner, alice):
    cid, _ = funded
    escrow.pause({"from": owner})
    escrow.unpledge(cid, 600, {"from": alice})
    assert escrow.pledgeOf(cid, alice) == 0


# ----------------------------------------------------------------------------- the lock window


def test_before_window_may_drop_below_goal(escrow, funded, alice):
    cid, deadline = funded
    pin(deadline - LOCK_WINDOW - 1)
    escrow.unpledge(cid, 600, {"from": alice})
    assert escrow.getCampaign(cid)["pledged"] == 400


def test_window_start_locks_drop_below_goal(escrow, funded, alice):
    cid, deadline = funded
    lock_start = deadline - LOCK_WINDOW
    pin(lock_start)
    with reverts("CrowdfundEscrowUnpledgeLocked", cid, GOAL - 1, GOAL, lock_start):
        escrow.unpledge(cid, 1, {"from": alice})
    assert escrow.pledgeOf(cid, alice) == 600


def test_last_second_locks_drop_below_goal(escrow, funded, bob):
    cid, deadline = funded
    pin(deadline - 1)
    with reverts("CrowdfundEscrowUnpledgeLocked", cid, GOAL - 400, GOAL, deadline - LOCK_WINDOW):
        escrow.unpledge(cid, 400, {"from": bob})


def test_window_allows_unpledge_that_stays_at_goal(escrow, funded, alice, carol):
    cid, deadline = funded
    pledge(escrow, carol, cid, 250)  # total 1250
    pin(deadline - 10)
    escrow.unpledge(cid, 250, {"from": carol})  # back to exactly the goal: allowed
    assert escrow.getCampaign(cid)["pledged"] == GOAL
    with reverts("CrowdfundEscrowUnpledgeLocked", cid, GOAL - 1, GOAL, deadline - LOCK_WINDOW):
        escrow.unpledge(cid, 1, {"from": alice})


def test_window_allows_unpledge_when_already_below_goal(escrow, creator, alice):
    cid, _ = create(escrow, creator, goal=GOAL)
    pledge(escrow, alice, cid, 999)
    deadline = escrow.getCampaign(cid)["deadline"]
    pin(deadline - 1)
    escrow.unpledge(cid, 999, {"from": alice})
    assert escrow.getCampaign(cid)["pledged"] == 0


def test_window_applies_to_keep_it_all_with_goal(escrow, creator, alice):
    cid, _ = create(escrow, creator, goal=GOAL, keep=True)
    pledge(escrow, alice, cid, GOAL)
    deadline = escrow.getCampaign(cid)["deadline"]
    pin(deadline - 5)
    with reverts("CrowdfundEscrowUnpledgeLocked"):
        escrow.unpledge(cid, 1, {"from": alice})


def test_zero_goal_keep_it_all_never_locks(escrow, creator, alice):
    cid, _ = create(escrow, creator, goal=0, keep=True)
    pledge(escrow, alice, cid, 500)
    deadline = escrow.getCampaign(cid)["deadline"]
    pin(deadline - 1)
    escrow.unpledge(cid, 500, {"from": alice})
    assert escrow.pledgeOf(cid, alice) == 0


def test_lock_rejoined_by_new_pledges(escrow, funded, alice, carol):
    """Inside the window a campaign below goal may be topped up, and is then locked again."""
    cid, deadline = funded
    pin(deadline - LOCK_WINDOW - 100)
    escrow.unpledge(cid, 600, {"from": alice})  # before the window: 400 left
    pin(deadline - 100)
    pledge(escrow, carol, cid, 700)  # 1100 >= goal again
    escrow.unpledge(cid, 100, {"from": carol})  # 1000: still at goal
    with reverts("CrowdfundEscrowUnpledgeLocked", cid, GOAL - 1, GOAL, deadline - LOCK_WINDOW):
        escrow.unpledge(cid, 1, {"from": carol})


def test_window_longer_than_deadline_locks_from_start(CrowdfundEscrow, owner, fee_recipient, creator, alice):
    e = deploy_escrow(CrowdfundEscrow, fee_recipient, 0, 2**64 - 1, owner)
    cid, _ = create(e, creator, goal=10)
    pledge(e, alice, cid, 10)
    with reverts("CrowdfundEscrowUnpledgeLocked", cid, 9, 10, 0):
        e.unpledge(cid, 1, {"from": alice})


def test_zero_window_never_locks(CrowdfundEscrow, owner, fee_recipient, creator, alice):
    e = deploy_escrow(CrowdfundEscrow, fee_recipient, 0, 0, owner)
    cid, _ = create(e, creator, goal=10)
    pledge(e, alice, cid, 10)
    pin(e.getCampaign(cid)["deadline"] - 1)
    e.unpledge(cid, 10, {"from": alice})
    assert e.getCampaign(cid)["pledged"] == 0
