"""No backer's money is ever locked (issue 18): the three ways the escrow could lock money for
good, each played to the end on a fresh chain. Every one of them ends with every backer
refunded or the creator paid, and the escrow holding nothing but what it still owes.

* A creator who goes silent: a milestone campaign in delivery whose creator never requests the
  next release is aborted by anyone after MAX_SILENCE (abortStale), and its backers refund pro
  rata.
* A creator who cannot receive: a payout that fails (a creator contract that refuses ETH, a
  token that blocks the creator) is credited instead; the settlement completes and the creator
  withdraws the credit to another address (withdrawOwed).
* A success nobody claims: CLAIM_WINDOW after its deadline an unclaimed campaign that met its
  goal is Expired, and its backers refund their whole pledges.
"""

from conftest import (
    ABORTED,
    CLAIM_WINDOW,
    CLAIMED,
    DAY,
    ETH,
    EXPIRED,
    IN_DELIVERY,
    MAX_SILENCE,
    SUCCEEDED,
    assert_ledger_consistent,
    balance,
    create,
    create_milestone,
    finish,
    now,
    pledge,
    reverts,
    travel_to,
)

E = 10**18
REPORT = "0x" + "5e" * 32
SWITCH_REFUSE = 1


def fee_of(gross):
    return -(-gross * 250 // 10_000)


def test_silent_creator_campaign_is_aborted_and_every_backer_refunded(escrow, creator, alice, bob, stranger):
    """10 ETH, tranches 40/30/30, tranche 0 claimed, then the creator never requests a release:
    ten years on, 6 ETH would stay in escrow for good."""
    cid, _ = create_milestone(escrow, creator, goal=10 * E, bps=(4000, 3000, 3000))
    pledge(escrow, alice, cid, 6 * E)
    pledge(escrow, bob, cid, 4 * E)
    finish(escrow, cid)
    escrow.claim(cid, {"from": creator})
    assert escrow.campaignState(cid) == IN_DELIVERY
    travel_to(now() + 10 * 365 * DAY)

    with reverts("CrowdfundEscrowNotRefundable"):
        escrow.refund(cid, {"from": alice})
    tx = escrow.abortStale(cid, {"from": stranger})
    ev = tx.events["StaleAborted"]
    assert (ev["campaignId"], ev["caller"], ev["remaining"]) == (cid, stranger, 6 * E)
    assert escrow.campaignState(cid) == ABORTED

    a_before, b_before = balance(ETH, alice), balance(ETH, bob)
    escrow.refund(cid, {"from": alice})
    escrow.refund(cid, {"from": bob})
    assert balance(ETH, alice) == a_before + 6 * E * 6 // 10
    assert balance(ETH, bob) == b_before + 4 * E * 6 // 10
    escrow.withdrawFees(ETH, {"from": stranger})
    assert balance(ETH, escrow) == 0
    assert_ledger_consistent(escrow)


def test_creator_that_stops_accepting_eth_cannot_block_a_release(escrow, receiver, alice, bob, stranger, carol):
    """The creator contract refuses ETH once its backers approved the release: 1.5 ETH would be
    stuck, with neither release, abort nor refund possible."""
    payload = escrow.createMilestoneCampaign.encode_input(
        ETH, 3 * E, now() + 7 * DAY, 0, "0x" + "00" * 32, [5000, 5000], DAY
    )
    cid = receiver.execute(escrow, payload, {"from": carol}).events["CampaignCreated"]["campaignId"]
    pledge(escrow, alice, cid, 2 * E)
    pledge(escrow, bob, cid, 1 * E)
    finish(escrow, cid)
    receiver.execute(escrow, escrow.claim.encode_input(cid), {"from": carol})
    assert balance(ETH, receiver) == 3 * E // 2 - fee_of(3 * E // 2)
    receiver.execute(escrow, escrow.requestRelease.encode_input(cid, REPORT), {"from": carol})
    escrow.vote(cid, True, {"from": alice})
    escrow.vote(cid, True, {"from": bob})
    receiver.setMode(SWITCH_REFUSE, {"from": carol})
    travel_to(escrow.getMilestones(cid)["voteEnd"])

    tx = escrow.release(cid, {"from": stranger})
    paid = 3 * E // 2 - fee_of(3 * E // 2)
    released, deferred = tx.events["TrancheReleased"], tx.events["PayoutDeferred"]
    assert released["amount"] == paid
    assert deferred["seq"] == released["seq"] + 1
    assert (deferred["campaignId"], deferred["to"], deferred["token"], deferred["amount"]) == (
        cid,
        receiver,
        ETH,
        paid,
    )
    assert escrow.campaignState(cid) == CLAIMED
    assert escrow.owed(receiver, ETH) == paid

    # the creator takes its credit to an address that can receive
    before = balance(ETH, carol)
    tx = receiver.execute(escrow, escrow.withdrawOwed.encode_input(ETH, carol), {"from": stranger})
    assert (tx.events["OwedWithdrawn"]["to"], tx.events["OwedWithdrawn"]["amount"]) == (carol, paid)
    assert balance(ETH, carol) == before + paid
    assert escrow.owed(receiver, ETH) == 0
    escrow.withdrawFees(ETH, {"from": stranger})
    assert balance(ETH, escrow) == 0
    assert_ledger_consistent(escrow)


def test_creator_refusing_eth_cannot_block_its_claim(escrow, receiver, alice, carol, stranger):
    payload = escrow.createCampaign.encode_input(ETH, E, now() + DAY, 0, False, "0x" + "00" * 32)
    cid = receiver.execute(escrow, payload, {"from": carol}).events["CampaignCreated"]["campaignId"]
    pledge(escrow, alice, cid, E)
    finish(escrow, cid)
    receiver.setMode(SWITCH_REFUSE, {"from": carol})

    tx = receiver.execute(escrow, escrow.claim.encode_input(cid), {"from": carol})
    paid = E - fee_of(E)
    assert tx.events["Claimed"]["amount"] == paid
    assert tx.events["PayoutDeferred"]["amount"] == paid
    assert escrow.campaignState(cid) == CLAIMED
    before = balance(ETH, carol)
    receiver.execute(escrow, escrow.withdrawOwed.encode_input(ETH, carol), {"from": carol})
    assert balance(ETH, carol) == before + paid
    escrow.withdrawFees(ETH, {"from": stranger})
    assert balance(ETH, escrow) == 0


def test_token_that_blocks_the_creator_cannot_block_its_claim(escrow, blocklist_token, creator, alice, bob, carol):
    token = blocklist_token
    cid, _ = create(escrow, creator, token=token, goal=1000)
    pledge(escrow, alice, cid, 600, eth=False)
    pledge(escrow, bob, cid, 400, eth=False)
    finish(escrow, cid)
    token.setBlocked(creator, True, {"from": carol})

    tx = escrow.claim(cid, {"from": creator})
    assert tx.events["PayoutDeferred"]["token"] == token
    assert escrow.owed(creator, token) == 975
    assert escrow.campaignState(cid) == CLAIMED
    before = token.balanceOf(carol)
    escrow.withdrawOwed(token, carol, {"from": creator})
    assert token.balanceOf(carol) == before + 975
    escrow.withdrawFees(token, {"from": carol})
    assert token.balanceOf(escrow) == 0
    assert_ledger_consistent(escrow)


def test_success_nobody_claims_expires_and_every_backer_refunds(escrow, creator, alice, bob):
    """A plain campaign met its goal and its creator lost the key: the pledges would never move."""
    cid, _ = create(escrow, creator, goal=1000)
    pledge(escrow, alice, cid, 700)
    pledge(escrow, bob, cid, 500)
    finish(escrow, cid)
    deadline = escrow.getCampaign(cid)["deadline"]
    travel_to(deadline + CLAIM_WINDOW - 1)  # the next transaction runs at deadline + CLAIM_WINDOW
    with reverts("CrowdfundEscrowNotRefundable", cid, SUCCEEDED):
        escrow.refund(cid, {"from": alice})
    assert escrow.campaignState(cid) == SUCCEEDED  # strictly after the window, not at its end
    travel_to(deadline + CLAIM_WINDOW + 1)
    assert escrow.campaignState(cid) == EXPIRED
    a_before, b_before = balance(ETH, alice), balance(ETH, bob)
    escrow.refund(cid, {"from": alice})
    escrow.refund(cid, {"from": bob})
    assert balance(ETH, alice) == a_before + 700
    assert balance(ETH, bob) == b_before + 500
    with reverts("CrowdfundEscrowNotClaimable", cid, EXPIRED):
        escrow.claim(cid, {"from": creator})
    assert balance(ETH, escrow) == 0
    assert_ledger_consistent(escrow)


def test_milestone_campaign_whose_tranche_0_nobody_claims_expires(escrow, creator, alice):
    cid, _ = create_milestone(escrow, creator, goal=1000)
    pledge(escrow, alice, cid, 1000)
    finish(escrow, cid)
    travel_to(escrow.getCampaign(cid)["deadline"] + CLAIM_WINDOW + 1)
    assert escrow.campaignState(cid) == EXPIRED
    before = balance(ETH, alice)
    escrow.refund(cid, {"from": alice})
    assert balance(ETH, alice) == before + 1000
    assert balance(ETH, escrow) == 0
    assert MAX_SILENCE == escrow.MAX_SILENCE()
