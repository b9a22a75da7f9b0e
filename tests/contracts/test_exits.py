"""No backer's money is ever locked (issue 18).

First the three ways the previous escrow locked money for good, each played to the end. Every one of them ends with every backer
refunded or the creator paid, and the escrow holding nothing but what it still owes.

* A creator who goes silent: a milestone campaign in delivery whose creator never requests the
  next release is aborted by anyone after MAX_SILENCE (abortStale), and its backers refund pro
  rata.
* A creator who cannot receive: a payout that fails (a creator contract that refuses ETH, a
  token that blocks the creator) is credited instead; the settlement completes and the creator
  withdraws the credit to another address (withdrawOwed).
* A success nobody claims: CLAIM_WINDOW after its deadline an unclaimed campaign that met its
  goal is Expired, and its backers refund their whole pledges.

Then each exit on its own: its boundaries, its errors, its ledger entries, and that pausing never
blocks it.
"""

import pytest
from brownie import web3
from conftest import (
    ABORTED,
    CANCELLED,
    CLAIM_WINDOW,
    CLAIMED,
    DAY,
    ETH,
    EXPIRED,
    FAILED,
    FUNDING,
    IN_DELIVERY,
    MAX_SILENCE,
    PAYOUT_GAS,
    SUCCEEDED,
    assert_error_data,
    assert_event_matches_chain,
    assert_ledger_consistent,
    balance,
    create,
    create_milestone,
    finish,
    ledger_entry,
    now,
    pin,
    pledge,
    reverts,
    travel_to,
)

from ledger.core.hashing import ZERO_DETAIL, token_detail

E = 10**18
REPORT = "0x" + "5e" * 32
ZERO = "0x" + "00" * 20
SWITCH_ACCEPT, SWITCH_REFUSE, SWITCH_BURN_GAS = range(3)


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


def test_creator_that_stops_accepting_eth_cannot_block_a_release(
    escrow, receiver, alice, bob, stranger, carol
):
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


def test_token_that_blocks_the_creator_cannot_block_its_claim(
    escrow, blocklist_token, creator, alice, bob, carol
):
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


# ============================================================================= the exits, one by one


def delivering(escrow, creator, backers, *, bps=(3000, 3000, 4000), period=DAY, claim_delay=0):
    """A milestone campaign funded by `backers` [(account, amount)], tranche 0 claimed
    `claim_delay` seconds after its deadline. Returns (id, the claim's timestamp)."""
    total = sum(a for _, a in backers)
    cid, _ = create_milestone(escrow, creator, goal=total, bps=bps, period=period)
    for who, amount in backers:
        pledge(escrow, who, cid, amount)
    travel_to(escrow.getCampaign(cid)["deadline"] + claim_delay)
    tx = escrow.claim(cid, {"from": creator})
    return cid, tx.timestamp


def via(receiver, escrow, fn, *args, sender, **params):
    """Calls the escrow's `fn` as the contract `receiver`, through its execute()."""
    return receiver.execute(escrow, fn.encode_input(*args), {"from": sender, **params})


# ----------------------------------------------------------------------------- abortStale


def test_abort_stale_counts_from_the_claim_of_tranche_0(escrow, creator, alice, bob, stranger):
    cid, claimed_at = delivering(escrow, creator, [(alice, 700), (bob, 300)], claim_delay=30 * DAY)
    stale_after = claimed_at + MAX_SILENCE  # later than the deadline: the claim came 30 days after it
    pin(stale_after)
    with reverts("CrowdfundEscrowNotStale", cid, stale_after):
        escrow.abortStale(cid, {"from": stranger})
    pin(stale_after + 1)
    tx = escrow.abortStale(cid, {"from": stranger})
    ev = tx.events["StaleAborted"]
    remaining = 1000 - 300  # tranche 0 (30%) was released
    assert (ev["campaignId"], ev["caller"], ev["remaining"]) == (cid, stranger, remaining)
    assert ledger_entry(ev) == (16, cid, stranger.address, remaining, ZERO_DETAIL)
    assert "Aborted" not in tx.events  # kind 12 stays the failed vote's
    assert_event_matches_chain(escrow, tx, "StaleAborted")
    assert escrow.campaignState(cid) == ABORTED


def test_abort_stale_counts_from_the_end_of_the_last_vote(escrow, creator, alice, bob, stranger):
    cid, _ = delivering(escrow, creator, [(alice, 700), (bob, 300)])
    escrow.requestRelease(cid, REPORT, {"from": creator})
    escrow.vote(cid, True, {"from": alice})
    vote_end = escrow.getMilestones(cid)["voteEnd"]
    travel_to(vote_end + 90 * DAY)  # the release comes late: the silence still counts from voteEnd
    escrow.release(cid, {"from": stranger})
    pin(vote_end + MAX_SILENCE)
    with reverts("CrowdfundEscrowNotStale", cid, vote_end + MAX_SILENCE):
        escrow.abortStale(cid, {"from": stranger})
    pin(vote_end + MAX_SILENCE + 1)
    tx = escrow.abortStale(cid, {"from": alice})
    assert tx.events["StaleAborted"]["remaining"] == 1000 - 300 - 300


def test_abort_stale_refuses_an_open_or_undecided_vote(escrow, creator, alice, stranger):
    cid, _ = delivering(escrow, creator, [(alice, 1000)])
    escrow.requestRelease(cid, REPORT, {"from": creator})
    vote_end = escrow.getMilestones(cid)["voteEnd"]
    with reverts("CrowdfundEscrowReleasePending", cid, 1, vote_end):
        escrow.abortStale(cid, {"from": stranger})
    travel_to(vote_end + 10 * 365 * DAY)  # the vote is over but undecided: release is open to anyone
    with reverts("CrowdfundEscrowReleasePending", cid, 1, vote_end):
        escrow.abortStale(cid, {"from": stranger})
    escrow.release(cid, {"from": stranger})  # no votes: it fails and aborts (kind 12)
    assert escrow.campaignState(cid) == ABORTED


def test_abort_stale_refuses_campaigns_not_in_delivery(escrow, creator, alice, bob, stranger):
    with reverts("CrowdfundEscrowUnknownCampaign", 99):
        escrow.abortStale(99, {"from": stranger})
    plain, _ = create(escrow, creator, goal=100)
    with reverts("CrowdfundEscrowNotMilestoneCampaign", plain):
        escrow.abortStale(plain, {"from": stranger})
    funding, _ = create_milestone(escrow, creator, goal=100)
    failing, _ = create_milestone(escrow, creator, goal=10**20)
    won, _ = create_milestone(escrow, creator, goal=100)
    pledge(escrow, alice, won, 100)
    pledge(escrow, bob, failing, 5)
    with reverts("CrowdfundEscrowNotInDelivery", funding, FUNDING):
        escrow.abortStale(funding, {"from": stranger})
    finish(escrow, won)
    with reverts("CrowdfundEscrowNotInDelivery", won, SUCCEEDED):
        escrow.abortStale(won, {"from": stranger})
    with reverts("CrowdfundEscrowNotInDelivery", failing, FAILED):
        escrow.abortStale(failing, {"from": stranger})
    travel_to(now() + CLAIM_WINDOW + 1)
    with reverts("CrowdfundEscrowNotInDelivery", won, EXPIRED):
        escrow.abortStale(won, {"from": stranger})


def test_abort_stale_refuses_aborted_and_claimed_campaigns(escrow, creator, alice, stranger):
    aborted, _ = delivering(escrow, creator, [(alice, 1000)])
    done, _ = delivering(escrow, creator, [(alice, 1000)], bps=(5000, 5000))
    escrow.requestRelease(done, REPORT, {"from": creator})
    escrow.vote(done, True, {"from": alice})
    travel_to(escrow.getMilestones(done)["voteEnd"])
    escrow.release(done, {"from": stranger})
    assert escrow.campaignState(done) == CLAIMED
    travel_to(now() + MAX_SILENCE + 1)
    escrow.abortStale(aborted, {"from": stranger})
    with reverts("CrowdfundEscrowNotInDelivery", aborted, ABORTED):
        escrow.abortStale(aborted, {"from": stranger})
    with reverts("CrowdfundEscrowNotInDelivery", done, CLAIMED):
        escrow.abortStale(done, {"from": stranger})


def test_stale_abort_refunds_pro_rata_like_a_failed_vote(
    escrow, creator, alice, bob, carol, stranger, fee_recipient
):
    backers = [(alice, 1001), (bob, 1002), (carol, 998)]
    cid, _ = delivering(escrow, creator, backers, bps=(3333, 3333, 3334))
    total = 3001
    released = total * 3333 // 10_000
    remaining = total - released
    travel_to(now() + MAX_SILENCE + 1)
    escrow.abortStale(cid, {"from": stranger})
    m = escrow.getMilestones(cid)
    assert (m["aborted"], m["abortRemaining"], m["refunded"], m["unrefundedWeight"]) == (
        True,
        remaining,
        0,
        total,
    )
    assert m["nextTrancheAmount"] == 0
    refunds = []
    for who, amount in backers:
        tx = escrow.refund(cid, {"from": who})
        refunds.append(tx.events["Refunded"]["amount"])
        assert refunds[-1] == amount * remaining // total
    dust = remaining - sum(refunds)
    m = escrow.getMilestones(cid)
    assert (m["refunded"], m["unrefundedWeight"], m["dust"]) == (sum(refunds), 0, dust)
    fee = -(-released * 250 // 10_000)
    assert escrow.accruedFees(ETH) == fee + dust
    escrow.withdrawFees(ETH, {"from": fee_recipient})
    assert balance(ETH, escrow) == 0
    with reverts("CrowdfundEscrowNothingToRefund", cid, alice):
        escrow.refund(cid, {"from": alice})


def test_a_creator_back_before_anyone_aborts_may_still_request(escrow, creator, alice, stranger):
    """abortStale is an exit anyone may take, not a deadline: until someone does, the creator may
    resume, and a request opens a vote that abortStale must wait for."""
    cid, _ = delivering(escrow, creator, [(alice, 1000)])
    travel_to(now() + MAX_SILENCE + 10 * DAY)
    tx = escrow.requestRelease(cid, REPORT, {"from": creator})
    with reverts("CrowdfundEscrowReleasePending"):
        escrow.abortStale(cid, {"from": stranger})
    assert tx.events["ReleaseRequested"]["tranche"] == 1


# ----------------------------------------------------------------------------- expiry


def test_claim_window_last_second_still_claims(escrow, creator, alice):
    cid, _ = create(escrow, creator, goal=1000)
    pledge(escrow, alice, cid, 1000)
    pin(escrow.getCampaign(cid)["deadline"] + CLAIM_WINDOW)
    escrow.claim(cid, {"from": creator})
    assert escrow.campaignState(cid) == CLAIMED


def test_expired_keep_it_all_token_campaign_refunds_in_full(escrow, creator, alice, bob, token, stranger):
    cid, _ = create(escrow, creator, token=token, goal=10**9, keep=True)
    pledge(escrow, alice, cid, 400, eth=False)
    pledge(escrow, bob, cid, 100, eth=False)
    travel_to(escrow.getCampaign(cid)["deadline"] + CLAIM_WINDOW + 1)
    assert escrow.campaignState(cid) == EXPIRED
    assert escrow.getCampaign(cid)["claimed"] is False
    before = token.balanceOf(stranger)
    tx = escrow.refundTo(cid, stranger, {"from": alice})  # to another address
    assert (tx.events["Refunded"]["backer"], tx.events["Refunded"]["amount"]) == (alice, 400)
    assert token.balanceOf(stranger) == before + 400
    escrow.refund(cid, {"from": bob})
    assert token.balanceOf(escrow) == 0
    with reverts("CrowdfundEscrowNothingToRefund", cid, alice):
        escrow.refund(cid, {"from": alice})


def test_expired_milestone_campaign_shows_no_next_tranche(escrow, creator, alice):
    cid, _ = create_milestone(escrow, creator, goal=1000)
    pledge(escrow, alice, cid, 1000)
    finish(escrow, cid)
    assert escrow.getMilestones(cid)["nextTrancheAmount"] == 300
    travel_to(now() + CLAIM_WINDOW + 1)
    assert escrow.campaignState(cid) == EXPIRED
    m = escrow.getMilestones(cid)
    assert (m["nextTrancheAmount"], m["tranchesReleased"], m["aborted"]) == (0, 0, False)
    with reverts("CrowdfundEscrowNotInDelivery", cid, EXPIRED):
        escrow.requestRelease(cid, REPORT, {"from": creator})


# ----------------------------------------------------------------------------- payouts and credits


def test_credits_accumulate_and_are_withdrawn_whole(escrow, receiver, alice, bob, carol, stranger):
    ids = []
    for _ in range(2):
        payload = escrow.createCampaign.encode_input(ETH, 1000, now() + DAY, 0, False, "0x" + "00" * 32)
        ids.append(receiver.execute(escrow, payload, {"from": carol}).events["CampaignCreated"]["campaignId"])
    pledge(escrow, alice, ids[0], 1000)
    pledge(escrow, bob, ids[1], 2000)
    finish(escrow, ids[1])
    receiver.setMode(SWITCH_REFUSE, {"from": carol})
    for cid in ids:
        tx = via(receiver, escrow, escrow.claim, cid, sender=carol)
        deferred = tx.events["PayoutDeferred"]
        assert ledger_entry(deferred) == (14, cid, receiver.address, deferred["amount"], token_detail(ETH))
        assert_event_matches_chain(escrow, tx, "PayoutDeferred")
    assert escrow.owed(receiver, ETH) == 975 + 1950
    assert escrow.owed(receiver, ETH) + escrow.accruedFees(ETH) == balance(ETH, escrow)

    with reverts("CrowdfundEscrowInvalidRecipient", ZERO):
        via(receiver, escrow, escrow.withdrawOwed, ETH, ZERO, sender=carol)
    with reverts("CrowdfundEscrowEthTransferFailed", receiver, 975 + 1950):
        via(receiver, escrow, escrow.withdrawOwed, ETH, receiver, sender=carol)  # it still refuses
    before = balance(ETH, stranger)
    tx = via(receiver, escrow, escrow.withdrawOwed, ETH, stranger, sender=carol)
    ev = tx.events["OwedWithdrawn"]
    assert ledger_entry(ev) == (15, 0, stranger.address, 975 + 1950, token_detail(ETH))
    assert_event_matches_chain(escrow, tx, "OwedWithdrawn")
    assert balance(ETH, stranger) == before + 975 + 1950
    with reverts("CrowdfundEscrowNothingOwed", receiver, ETH):
        via(receiver, escrow, escrow.withdrawOwed, ETH, stranger, sender=carol)
    with reverts("CrowdfundEscrowNothingOwed", alice, ETH):
        escrow.withdrawOwed(ETH, alice, {"from": alice})
    assert_ledger_consistent(escrow)


def test_a_gas_burning_creator_is_credited_within_bounded_gas(escrow, receiver, alice, carol):
    payload = escrow.createCampaign.encode_input(ETH, 1000, now() + DAY, 0, False, "0x" + "00" * 32)
    cid = receiver.execute(escrow, payload, {"from": carol}).events["CampaignCreated"]["campaignId"]
    pledge(escrow, alice, cid, 1000)
    finish(escrow, cid)
    receiver.setMode(SWITCH_BURN_GAS, {"from": carol})
    tx = via(receiver, escrow, escrow.claim, cid, sender=carol, gas_limit=1_000_000)
    assert tx.events["PayoutDeferred"]["amount"] == 975
    assert tx.gas_used < PAYOUT_GAS + 120_000  # the receiver burnt its PAYOUT_GAS, no more
    assert escrow.PAYOUT_GAS() == PAYOUT_GAS


def test_a_payout_starved_by_the_callers_gas_limit_reverts(escrow, receiver, alice, carol):
    """EIP-150 keeps 1/64 of the gas back: a caller could give the payout less than PAYOUT_GAS and
    have a creator who would accept it credited instead. Such a claim reverts as a whole."""
    payload = escrow.createCampaign.encode_input(ETH, 1000, now() + DAY, 0, False, "0x" + "00" * 32)
    cid = receiver.execute(escrow, payload, {"from": carol}).events["CampaignCreated"]["campaignId"]
    pledge(escrow, alice, cid, 1000)
    finish(escrow, cid)
    receiver.setMode(SWITCH_BURN_GAS, {"from": carol})  # uses up whatever it is given
    data = receiver.execute.encode_input(escrow, escrow.claim.encode_input(cid))
    starved = None
    for gas in range(100_000, 260_000, 2_000):
        try:
            web3.eth.call({"from": carol.address, "to": receiver.address, "data": data, "gas": gas})
            break  # enough gas: the payout was credited
        except Exception as exc:  # noqa: BLE001 - the node's revert, decoded below
            if "78217a3b" in str(exc):  # CrowdfundEscrowInsufficientGas(uint256)
                starved = gas
    assert starved is not None, "no gas limit starved the payout"
    with reverts("CrowdfundEscrowInsufficientGas", PAYOUT_GAS):
        via(receiver, escrow, escrow.claim, cid, sender=carol, gas_limit=starved)
    assert escrow.campaignState(cid) == SUCCEEDED and escrow.owed(receiver, ETH) == 0


def test_a_token_that_returns_false_is_credited(FalseReturningToken, escrow, owner, creator, alice, stranger):
    bad = FalseReturningToken.deploy({"from": owner})
    bad.setBroken(False, {"from": owner})
    bad.mint(alice, 1000, {"from": alice})
    cid, _ = create(escrow, creator, token=bad, goal=1000)
    pledge(escrow, alice, cid, 1000, eth=False)
    finish(escrow, cid)
    bad.setBroken(True, {"from": owner})
    tx = escrow.claim(cid, {"from": creator})
    assert tx.events["PayoutDeferred"]["token"] == bad
    assert escrow.owed(creator, bad) == 975
    with reverts("SafeERC20FailedOperation", bad):
        escrow.withdrawOwed(bad, creator, {"from": creator})  # still broken: the credit stays
    bad.setBroken(False, {"from": owner})
    escrow.withdrawOwed(bad, stranger, {"from": creator})
    assert bad.balanceOf(stranger) == 975


def test_a_token_that_returns_nothing_pays_at_once(NoReturnToken, escrow, owner, creator, alice):
    usdt = NoReturnToken.deploy({"from": owner})
    usdt.mint(alice, 1000, {"from": alice})
    usdt.approve(escrow, 1000, {"from": alice})
    cid, _ = create(escrow, creator, token=usdt, goal=1000)
    pledge(escrow, alice, cid, 1000, eth=False)
    finish(escrow, cid)
    tx = escrow.claim(cid, {"from": creator})
    assert "PayoutDeferred" not in tx.events
    assert usdt.balanceOf(creator) == 975
    assert escrow.owed(creator, usdt) == 0


def test_a_release_to_a_gas_burner_is_credited(escrow, receiver, alice, carol, stranger):
    payload = escrow.createMilestoneCampaign.encode_input(
        ETH, 1000, now() + DAY, 0, "0x" + "00" * 32, [5000, 5000], DAY
    )
    cid = receiver.execute(escrow, payload, {"from": carol}).events["CampaignCreated"]["campaignId"]
    pledge(escrow, alice, cid, 1000)
    finish(escrow, cid)
    via(receiver, escrow, escrow.claim, cid, sender=carol)
    via(receiver, escrow, escrow.requestRelease, cid, REPORT, sender=carol)
    escrow.vote(cid, True, {"from": alice})
    travel_to(escrow.getMilestones(cid)["voteEnd"])
    receiver.setMode(SWITCH_BURN_GAS, {"from": carol})
    tx = escrow.release(cid, {"from": stranger, "gas_limit": 1_000_000})
    assert tx.events["PayoutDeferred"]["amount"] == 500 - 13
    assert escrow.campaignState(cid) == CLAIMED and escrow.getCampaign(cid)["claimed"]
    assert escrow.owed(receiver, ETH) == 500 - 13


# ----------------------------------------------------------------------------- refundTo


def test_refund_to_pays_another_address_and_closes_the_callers_position(
    RevertingReceiver, escrow, owner, creator, alice, stranger
):
    refuser = RevertingReceiver.deploy({"from": owner})
    cid, _ = create(escrow, creator, goal=10**20)
    refuser.execute(escrow, escrow.pledge.encode_input(cid, 500), {"from": alice, "value": 500})
    finish(escrow, cid)
    assert escrow.campaignState(cid) == FAILED
    with reverts("CrowdfundEscrowEthTransferFailed", refuser, 500):
        refuser.execute(escrow, escrow.refund.encode_input(cid), {"from": alice})
    with reverts("CrowdfundEscrowInvalidRecipient", ZERO):
        refuser.execute(escrow, escrow.refundTo.encode_input(cid, ZERO), {"from": alice})
    before = balance(ETH, stranger)
    tx = refuser.execute(escrow, escrow.refundTo.encode_input(cid, stranger), {"from": alice})
    ev = tx.events["Refunded"]
    assert ledger_entry(ev) == (6, cid, refuser.address, 500, ZERO_DETAIL)  # the position's owner
    assert balance(ETH, stranger) == before + 500
    assert escrow.pledgeOf(cid, refuser) == 0
    assert balance(ETH, escrow) == 0


def test_refund_to_after_an_abort_is_pro_rata(escrow, creator, alice, bob, stranger):
    cid, _ = delivering(escrow, creator, [(alice, 600), (bob, 400)])
    escrow.requestRelease(cid, REPORT, {"from": creator})
    escrow.vote(cid, False, {"from": alice})
    travel_to(escrow.getMilestones(cid)["voteEnd"])
    escrow.release(cid, {"from": bob})
    before = balance(ETH, stranger)
    escrow.refundTo(cid, stranger, {"from": alice})
    assert balance(ETH, stranger) == before + 600 * 700 // 1000
    other, _ = delivering(escrow, creator, [(alice, 100)])
    with reverts("CrowdfundEscrowNotRefundable", other, IN_DELIVERY):
        escrow.refundTo(other, stranger, {"from": alice})


def test_refund_to_a_refusing_address_reverts(RevertingReceiver, escrow, owner, creator, alice):
    refuser = RevertingReceiver.deploy({"from": owner})
    cid, _ = create(escrow, creator)
    pledge(escrow, alice, cid, 300)
    escrow.cancel(cid, {"from": creator})
    assert escrow.campaignState(cid) == CANCELLED
    with reverts("CrowdfundEscrowEthTransferFailed", refuser, 300):
        escrow.refundTo(cid, refuser, {"from": alice})
    assert escrow.pledgeOf(cid, alice) == 300


# ----------------------------------------------------------------------------- the owner and the lock


def test_pausing_blocks_no_exit(escrow, owner, creator, receiver, alice, bob, carol, stranger):
    silent, _ = delivering(escrow, creator, [(alice, 1000)])
    unclaimed, _ = create(escrow, creator, goal=100)
    pledge(escrow, bob, unclaimed, 100)
    payload = escrow.createCampaign.encode_input(ETH, 100, now() + DAY, 0, False, "0x" + "00" * 32)
    theirs = receiver.execute(escrow, payload, {"from": carol}).events["CampaignCreated"]["campaignId"]
    pledge(escrow, bob, theirs, 100)
    finish(escrow, theirs)
    receiver.setMode(SWITCH_REFUSE, {"from": carol})
    escrow.pause({"from": owner})
    via(receiver, escrow, escrow.claim, theirs, sender=carol)
    via(receiver, escrow, escrow.withdrawOwed, ETH, carol, sender=carol)
    travel_to(now() + MAX_SILENCE + CLAIM_WINDOW)
    escrow.abortStale(silent, {"from": stranger})
    escrow.refundTo(silent, stranger, {"from": alice})
    escrow.refund(unclaimed, {"from": bob})
    escrow.withdrawFees(ETH, {"from": stranger})
    assert escrow.paused()
    assert balance(ETH, escrow) == 0


@pytest.mark.parametrize("call", ["withdrawOwed", "refundTo", "abortStale"])
def test_exits_cannot_be_reentered(ReentrantBacker, escrow, creator, alice, call):
    rbacker = ReentrantBacker.deploy(escrow, {"from": alice})
    cid, _ = create(escrow, creator, goal=10**20)
    rbacker.pledge(cid, {"from": alice, "value": 1000})
    finish(escrow, cid)
    payload = {
        "withdrawOwed": escrow.withdrawOwed.encode_input(ETH, alice),
        "refundTo": escrow.refundTo.encode_input(cid, alice),
        "abortStale": escrow.abortStale.encode_input(cid),
    }[call]
    rbacker.arm(payload, {"from": alice})
    rbacker.refund(cid, {"from": alice})
    assert not rbacker.reentrySucceeded()
    assert_error_data(rbacker.reentryRevertData(), "CrowdfundEscrowReentrantCall")
    assert rbacker.received() == 1000
