"""Issue 18's exits in the projection rules, on hand-built entries (no node): kind 14 only right
after a payout of the same amount to the creator in the campaign's asset, kind 15 debiting the
credit that owes exactly its amount, kind 16 only after more than MAX_SILENCE of silence with no
vote pending, expiry strictly after deadline + CLAIM_WINDOW, and backer counts that never shrink."""

from __future__ import annotations

import pytest

from ledger.chain.answers import raw_log as as_raw_log
from ledger.chain.events import TOPIC_OF, decode_log
from ledger.core.hashing import entry_terms_detail
from ledger.core.milestone_rules import MAX_SILENCE
from ledger.core.projections import token_word
from ledger.core.records import CLAIM_WINDOW, ETH, FAILED_VOTE, SILENCE, CampaignTerms, Kind, State
from ledger.errors import LedgerIntegrityError
from tests.ledger.test_milestone_units import (
    ALICE,
    BOB,
    CAROL,
    CREATOR,
    ONE,
    REPORT,
    ZERO,
    Ledger,
    funded,
    topic,
)

TOKEN = "0x" + "70" * 20
OTHER = "0x" + "0e" * 20


def plain(ledger: Ledger, cid: int = 1, goal: int = 1000, token: str = ETH, creator: str = CREATOR) -> None:
    terms = CampaignTerms(token, goal, ledger.now + 900, 0, False, ledger.fee_bps, ZERO)
    ledger.apply(Kind.CAMPAIGN_CREATED, cid, creator, goal, "0x" + entry_terms_detail(terms).hex(), terms)


def fee_word(fee: int) -> str:
    return "0x" + fee.to_bytes(32, "big").hex()


def claimed(ledger: Ledger, cid: int = 1, token: str = ETH, creator: str = CREATOR) -> int:
    """A plain campaign of 1001 claimed by its creator: returns the amount due to it (975)."""
    plain(ledger, cid, token=token, creator=creator)
    for backer, amount in ((ALICE, 301), (BOB, 333), (CAROL, 367)):
        ledger.apply(Kind.PLEDGED, cid, backer, amount)
    ledger.now += 1000
    ledger.apply(Kind.CLAIMED, cid, creator, 975, fee_word(26))
    return 975


def rejects(ledger: Ledger, match: str, *args, **kw) -> None:
    with pytest.raises(LedgerIntegrityError, match=match):
        ledger.apply(*args, **kw)


def test_the_exit_events_decode_to_their_entries() -> None:
    head = "ab" * 32
    deferred = as_raw_log(
        {
            "address": "0x" + "e5" * 20,
            "topics": [TOPIC_OF[Kind.PAYOUT_DEFERRED], topic(7), topic(CREATOR), topic(TOKEN)],
            "data": "0x" + f"{975:064x}{12:064x}{head}",
            "blockNumber": "0x10",
            "blockHash": "0x" + "bb" * 32,
            "transactionHash": "0x" + "cc" * 32,
            "logIndex": "0x1",
            "blockTimestamp": "0x64",
        }
    )
    entry = decode_log(deferred)
    assert (entry.kind, entry.campaign_id, entry.account, entry.amount, entry.detail, entry.seq) == (
        Kind.PAYOUT_DEFERRED,
        7,
        CREATOR,
        975,
        token_word(TOKEN),
        12,
    )
    raw = {
        "address": "0x" + "e5" * 20,
        "topics": [TOPIC_OF[Kind.OWED_WITHDRAWN], topic(TOKEN), topic(OTHER)],
        "data": "0x" + f"{975:064x}{13:064x}{head}",
        "blockNumber": "0x10",
        "blockHash": "0x" + "bb" * 32,
        "transactionHash": "0x" + "cc" * 32,
        "logIndex": "0x2",
        "blockTimestamp": "0x64",
    }
    entry = decode_log(as_raw_log(raw))
    assert (entry.kind, entry.campaign_id, entry.account, entry.amount, entry.detail) == (
        Kind.OWED_WITHDRAWN,
        0,
        OTHER,
        975,
        token_word(TOKEN),
    )
    raw["topics"] = [TOPIC_OF[Kind.STALE_ABORTED], topic(7), topic(ALICE)]
    entry = decode_log(as_raw_log(raw))
    assert (entry.kind, entry.campaign_id, entry.account, entry.amount, entry.detail) == (
        Kind.STALE_ABORTED,
        7,
        ALICE,
        975,
        ZERO,
    )
    raw["topics"] = [TOPIC_OF[Kind.PAYOUT_DEFERRED], topic(7), topic(CREATOR)]  # a topic short
    with pytest.raises(LedgerIntegrityError, match="4 topics"):
        decode_log(as_raw_log(raw))


def test_a_deferred_payout_must_follow_its_payout() -> None:
    ledger = Ledger()
    due = claimed(ledger)
    rejects(ledger, "not a payout of that amount", Kind.PAYOUT_DEFERRED, 1, CREATOR, due - 1, token_word(ETH))
    ledger.seq -= 1  # the entry above was refused: the next one follows the claim again
    rejects(ledger, "is not the creator", Kind.PAYOUT_DEFERRED, 1, ALICE, due, token_word(ETH))
    ledger.seq -= 1
    rejects(ledger, "asset is", Kind.PAYOUT_DEFERRED, 1, CREATOR, due, token_word(TOKEN))
    ledger.seq -= 1
    ledger.apply(Kind.PAYOUT_DEFERRED, 1, CREATOR, due, token_word(ETH))
    credit = ledger.state.credits[(CREATOR, ETH)]
    assert (credit.credited_total, credit.owed) == (due, due)
    # a second one, or one after another entry, follows no payout
    rejects(ledger, "not a payout", Kind.PAYOUT_DEFERRED, 1, CREATOR, due, token_word(ETH))


def test_a_deferred_tranche_release_is_credited() -> None:
    ledger = Ledger()
    funded(ledger)  # tranche 0 paid: 300 gross, fee 8
    ledger.apply(Kind.RELEASE_REQUESTED, 1, CREATOR, 1, REPORT)
    ledger.apply(Kind.VOTED, 1, CAROL, 367, ONE)
    ledger.now += 3600
    ledger.release(1, 1, 683, 18)
    ledger.apply(Kind.PAYOUT_DEFERRED, 1, CREATOR, 683, token_word(ETH))
    assert ledger.state.credits[(CREATOR, ETH)].owed == 683 and ledger.state.campaigns[1].claimed


def test_a_withdrawal_debits_the_credit_that_owes_its_amount() -> None:
    ledger = Ledger()
    for cid, creator in ((1, CREATOR), (2, ALICE), (3, BOB)):
        due = claimed(ledger, cid, creator=creator)
        ledger.apply(Kind.PAYOUT_DEFERRED, cid, creator, due, token_word(ETH))
    credits = ledger.state.credits
    ledger.apply(Kind.OWED_WITHDRAWN, 0, ALICE, 975, token_word(ETH))  # to its own address
    assert credits[(ALICE, ETH)].owed == 0 and credits[(CREATOR, ETH)].owed == 975
    ledger.apply(Kind.OWED_WITHDRAWN, 0, OTHER, 975, token_word(ETH))  # elsewhere, ambiguous: the lowest
    assert min(CREATOR, BOB) == BOB and credits[(BOB, ETH)].owed == 0 and credits[(CREATOR, ETH)].owed == 975
    rejects(ledger, "no credit in it owes exactly", Kind.OWED_WITHDRAWN, 0, OTHER, 974, token_word(ETH))
    rejects(ledger, "no credit in it owes exactly", Kind.OWED_WITHDRAWN, 0, CREATOR, 975, token_word(TOKEN))
    rejects(ledger, "names none", Kind.OWED_WITHDRAWN, 4, CREATOR, 975, token_word(ETH))
    ledger.apply(Kind.OWED_WITHDRAWN, 0, OTHER, 975, token_word(ETH))
    assert all(c.owed == 0 for c in credits.values())
    rejects(ledger, "no credit", Kind.OWED_WITHDRAWN, 0, OTHER, 0, token_word(ETH))


def silent(ledger: Ledger) -> None:
    """Campaign 1 in delivery with tranche 0 claimed at ledger.now and no vote since."""
    funded(ledger, bps=(2000, 3000, 5000))


def test_a_stale_abort_needs_more_than_max_silence_and_no_vote_pending() -> None:
    ledger = Ledger()
    silent(ledger)
    campaign, plan = ledger.state.campaigns[1], ledger.state.milestones[1]
    claimed_at = plan.claimed_at
    assert claimed_at == ledger.now
    remaining = 1001 - 200
    ledger.now = claimed_at + MAX_SILENCE  # "more than": not yet
    rejects(ledger, "silent only since", Kind.STALE_ABORTED, 1, ALICE, remaining)
    ledger.seq -= 1
    ledger.apply(Kind.RELEASE_REQUESTED, 1, CREATOR, 1, REPORT)  # the creator speaks: a vote opens
    ledger.apply(Kind.VOTED, 1, ALICE, 301, ONE)
    ledger.apply(Kind.VOTED, 1, CAROL, 367, ONE)
    ledger.now += 10**8  # the vote ended long ago, but nobody decided it: still no stale abort
    rejects(ledger, "undecided", Kind.STALE_ABORTED, 1, ALICE, remaining)
    ledger.seq -= 1
    ledger.release(1, 1, 292, 8)  # tranche 1: 300 gross
    vote_end = plan.vote_end
    assert vote_end is not None
    ledger.now = vote_end + MAX_SILENCE  # silent since the end of the last vote, not the release
    rejects(ledger, "silent only since", Kind.STALE_ABORTED, 1, BOB, 501)
    ledger.seq -= 1
    ledger.now += 1
    rejects(ledger, "aborts with", Kind.STALE_ABORTED, 1, BOB, 500)
    ledger.seq -= 1
    ledger.apply(Kind.STALE_ABORTED, 1, BOB, 501)  # anyone: not the creator
    assert campaign.state_at(ledger.now) == State.ABORTED and campaign.abort_cause == SILENCE
    assert (plan.aborted, plan.abort_remaining, plan.unrefunded_weight) == (True, 501, 1001)
    ledger.apply(Kind.REFUNDED, 1, BOB, 333 * 501 // 1001)  # pro rata, as after a failed vote
    assert campaign.holders == 2 and campaign.backer_count == 3
    rejects(ledger, "not in delivery", Kind.STALE_ABORTED, 1, BOB, 501)


def test_a_failed_vote_is_the_other_abort_cause() -> None:
    ledger = Ledger()
    funded(ledger)
    ledger.apply(Kind.RELEASE_REQUESTED, 1, CREATOR, 1, REPORT)
    ledger.now += 3600
    ledger.apply(Kind.ABORTED, 1, CREATOR, 701)
    assert ledger.state.campaigns[1].abort_cause == FAILED_VOTE


def test_expiry_is_strictly_after_the_claim_window_and_refunds_whole_pledges() -> None:
    ledger = Ledger()
    plain(ledger)
    for backer, amount in ((ALICE, 600), (BOB, 500)):
        ledger.apply(Kind.PLEDGED, 1, backer, amount)
    campaign = ledger.state.campaigns[1]
    deadline = campaign.deadline
    assert campaign.state_at(deadline + CLAIM_WINDOW) == State.SUCCEEDED
    assert campaign.state_at(deadline + CLAIM_WINDOW + 1) == State.EXPIRED
    ledger.now = deadline + 10
    rejects(ledger, "refunds a campaign that is succeeded", Kind.REFUNDED, 1, ALICE, 600)
    ledger.seq -= 1
    ledger.now = deadline + CLAIM_WINDOW + 1
    rejects(ledger, "claims a campaign that is expired", Kind.CLAIMED, 1, CREATOR, 1072, fee_word(28))
    ledger.seq -= 1
    rejects(ledger, "whole position", Kind.REFUNDED, 1, ALICE, 599)
    ledger.seq -= 1
    ledger.apply(Kind.REFUNDED, 1, ALICE, 600)
    assert (campaign.holders, campaign.backer_count, campaign.escrowed) == (1, 2, 500)

    milestone = Ledger()
    milestone.milestone_campaign(1, (3000, 7000))
    milestone.apply(Kind.PLEDGED, 1, ALICE, 1000)
    late = milestone.state.campaigns[1].deadline + CLAIM_WINDOW + 1
    assert milestone.state.campaigns[1].state_at(late) == State.EXPIRED  # tranche 0 never claimed
    milestone.now = late
    rejects(milestone, "not in the Succeeded state", Kind.CLAIMED, 1, CREATOR, 293, fee_word(7))


def test_backers_are_counted_once_and_holders_as_they_hold() -> None:
    ledger = Ledger()
    plain(ledger, goal=10**9)
    campaign = ledger.state.campaigns[1]
    ledger.apply(Kind.PLEDGED, 1, ALICE, 5)
    ledger.apply(Kind.PLEDGED, 1, ALICE, 5)
    ledger.apply(Kind.PLEDGED, 1, BOB, 5)
    assert (campaign.backer_count, campaign.holders) == (2, 2)
    ledger.apply(Kind.UNPLEDGED, 1, ALICE, 10)
    assert (campaign.backer_count, campaign.holders) == (2, 1)
    ledger.apply(Kind.PLEDGED, 1, ALICE, 1)
    assert (campaign.backer_count, campaign.holders) == (2, 2)
    ledger.now += 1000  # failed: both refund
    ledger.apply(Kind.REFUNDED, 1, ALICE, 1)
    ledger.apply(Kind.REFUNDED, 1, BOB, 5)
    assert (campaign.backer_count, campaign.holders, campaign.escrowed) == (2, 0, 0)
