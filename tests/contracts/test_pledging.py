"""pledge: ETH and token pledges, the per-backer cap, values, deadlines, pausing."""

import pytest
from brownie import web3
from brownie.exceptions import VirtualMachineError
from conftest import (
    CANCELLED,
    ETH,
    FAILED,
    SUCCEEDED,
    UINT128_MAX,
    balance,
    create,
    finish,
    pin,
    pledge,
    reverts,
)


def test_eth_pledge_moves_value_and_records(escrow, creator, alice, bob):
    cid, _ = create(escrow, creator, goal=10**18)
    before = balance(ETH, alice)
    tx = pledge(escrow, alice, cid, 3 * 10**17)
    assert balance(ETH, alice) == before - 3 * 10**17
    assert balance(ETH, escrow) == 3 * 10**17
    ev = tx.events["Pledged"]
    assert (ev["campaignId"], ev["backer"], ev["amount"]) == (cid, alice, 3 * 10**17)

    pledge(escrow, alice, cid, 10**17)
    pledge(escrow, bob, cid, 5)
    assert escrow.pledgeOf(cid, alice) == 4 * 10**17
    assert escrow.pledgeOf(cid, bob) == 5
    assert escrow.getCampaign(cid)["pledged"] == 4 * 10**17 + 5
    assert balance(ETH, escrow) == 4 * 10**17 + 5


def test_token_pledge_pulls_tokens(escrow, creator, alice, token):
    cid, _ = create(escrow, creator, token=token, goal=1000)
    before = token.balanceOf(alice)
    tx = pledge(escrow, alice, cid, 700, eth=False)
    assert token.balanceOf(alice) == before - 700
    assert token.balanceOf(escrow) == 700
    assert escrow.pledgeOf(cid, alice) == 700
    assert tx.events["Pledged"]["amount"] == 700
    assert balance(ETH, escrow) == 0


def test_pledges_are_per_campaign(escrow, creator, alice, token):
    a, _ = create(escrow, creator)
    b, _ = create(escrow, creator, token=token)
    pledge(escrow, alice, a, 11)
    pledge(escrow, alice, b, 22, eth=False)
    assert escrow.pledgeOf(a, alice) == 11
    assert escrow.pledgeOf(b, alice) == 22
    assert escrow.getCampaign(a)["pledged"] == 11
    assert escrow.getCampaign(b)["pledged"] == 22


def test_zero_amount_reverts(escrow, creator, alice, token):
    cid, _ = create(escrow, creator)
    with reverts("CrowdfundEscrowZeroAmount"):
        pledge(escrow, alice, cid, 0)
    tid, _ = create(escrow, creator, token=token)
    with reverts("CrowdfundEscrowZeroAmount"):
        pledge(escrow, alice, tid, 0, eth=False)


@pytest.mark.parametrize("value", [0, 99, 101])
def test_eth_value_must_equal_amount(escrow, creator, alice, value):
    cid, _ = create(escrow, creator)
    with reverts("CrowdfundEscrowWrongEthValue", 100, value):
        escrow.pledge(cid, 100, {"from": alice, "value": value})


def test_token_pledge_with_value_reverts(escrow, creator, alice, token):
    cid, _ = create(escrow, creator, token=token)
    with reverts("CrowdfundEscrowWrongEthValue", 0, 100):
        escrow.pledge(cid, 100, {"from": alice, "value": 100})


def test_token_pledge_without_allowance_reverts(escrow, creator, stranger, token):
    cid, _ = create(escrow, creator, token=token)
    token.mint(stranger, 100, {"from": stranger})
    with pytest.raises(VirtualMachineError):
        pledge(escrow, stranger, cid, 100, eth=False)
    assert escrow.pledgeOf(cid, stranger) == 0


def test_cap_exact_is_accepted_and_one_more_reverts(escrow, creator, alice, bob):
    cid, _ = create(escrow, creator, cap=1000)
    pledge(escrow, alice, cid, 600)
    pledge(escrow, alice, cid, 400)  # exactly the cap, over two pledges
    assert escrow.pledgeOf(cid, alice) == 1000
    with reverts("CrowdfundEscrowCapExceeded", cid, alice, 1001, 1000):
        pledge(escrow, alice, cid, 1)
    # the cap is per backer
    pledge(escrow, bob, cid, 1000)
    with reverts("CrowdfundEscrowCapExceeded", cid, bob, 1500, 1000):
        pledge(escrow, bob, cid, 500)
    assert escrow.getCampaign(cid)["pledged"] == 2000


def test_single_pledge_over_cap_reverts(escrow, creator, alice):
    cid, _ = create(escrow, creator, cap=1000)
    with reverts("CrowdfundEscrowCapExceeded", cid, alice, 1001, 1000):
        pledge(escrow, alice, cid, 1001)


def test_cap_room_returns_after_unpledge(escrow, creator, alice):
    cid, _ = create(escrow, creator, cap=1000, goal=10**18)
    pledge(escrow, alice, cid, 1000)
    escrow.unpledge(cid, 300, {"from": alice})
    pledge(escrow, alice, cid, 300)
    assert escrow.pledgeOf(cid, alice) == 1000


def test_no_cap_when_zero(escrow, creator, alice):
    cid, _ = create(escrow, creator, cap=0)
    pledge(escrow, alice, cid, 50 * 10**18)
    assert escrow.pledgeOf(cid, alice) == 50 * 10**18


def test_pledge_at_last_second_ok_and_at_deadline_reverts(escrow, creator, alice):
    cid, _ = create(escrow, creator, goal=100)
    deadline = escrow.getCampaign(cid)["deadline"]
    pin(deadline - 1)
    pledge(escrow, alice, cid, 100)
    pin(deadline)
    with reverts("CrowdfundEscrowNotFunding", cid, SUCCEEDED):
        pledge(escrow, alice, cid, 1)


def test_pledge_after_failed_deadline_reverts(escrow, creator, alice):
    cid, _ = create(escrow, creator, goal=100)
    pledge(escrow, alice, cid, 99)
    finish(escrow, cid)
    with reverts("CrowdfundEscrowNotFunding", cid, FAILED):
        pledge(escrow, alice, cid, 1)


def test_pledge_to_cancelled_reverts(escrow, creator, alice):
    cid, _ = create(escrow, creator)
    escrow.cancel(cid, {"from": creator})
    with reverts("CrowdfundEscrowNotFunding", cid, CANCELLED):
        pledge(escrow, alice, cid, 1)


def test_pledge_while_paused_reverts(escrow, owner, creator, alice):
    cid, _ = create(escrow, creator)
    escrow.pause({"from": owner})
    with reverts("CrowdfundEscrowPaused"):
        pledge(escrow, alice, cid, 1)
    escrow.unpause({"from": owner})
    pledge(escrow, alice, cid, 1)
    assert escrow.pledgeOf(cid, alice) == 1


def test_total_above_uint128_reverts(escrow, creator, alice, bob, token):
    cid, _ = create(escrow, creator, token=token, goal=1)
    token.mint(alice, UINT128_MAX, {"from": alice})
    pledge(escrow, alice, cid, UINT128_MAX, eth=False)
    with reverts("CrowdfundEscrowAmountTooLarge", 2**128, UINT128_MAX):
        pledge(escrow, bob, cid, 1, eth=False)
    assert escrow.getCampaign(cid)["pledged"] == UINT128_MAX


def test_plain_eth_transfer_reverts(escrow, alice):
    with pytest.raises(VirtualMachineError):
        alice.transfer(escrow, 1)
    with pytest.raises(VirtualMachineError):
        alice.transfer(escrow, 0, data="0xdeadbeef")
    assert balance(ETH, escrow) == 0


def test_failed_pledge_changes_nothing(escrow, creator, alice):
    cid, _ = create(escrow, creator, cap=10)
    length = escrow.ledgerLength()
    before = balance(ETH, alice)
    with reverts("CrowdfundEscrowCapExceeded"):
        pledge(escrow, alice, cid, 11)
    assert balance(ETH, alice) == before
    assert escrow.pledgeOf(cid, alice) == 0
    assert escrow.getCampaign(cid)["pledged"] == 0
    assert escrow.ledgerLength() == length
    assert web3.eth.get_balance(escrow.address) == 0
