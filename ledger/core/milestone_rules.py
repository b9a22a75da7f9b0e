"""The rules of CrowdfundEscrow's milestone campaigns (docs/ledger-format.md, "Milestone
campaigns"), checked entry by entry: the plan (kind 8), the claim of tranche 0 (kind 5), release
requests, votes and releases (kinds 9-11), the aborts after a failed vote (kind 12) or a silence
(kind 16), the pro-rata refunds after them (kind 6) and disclosures (kind 13, any campaign).

Each function runs after apply_entry (ledger.core.projections) has found the campaign and set its
last_seq; any entry the contract could not have emitted raises LedgerIntegrityError.
"""

from __future__ import annotations

from collections.abc import Callable

from ledger.core.fold import fault, fee_account, fee_of, position_of, require_creator, set_balance
from ledger.core.hashing import milestone_plan_detail, tranche_detail
from ledger.core.records import (
    CLAIM_WINDOW,
    FAILED_VOTE,
    SILENCE,
    ZERO_HASH,
    Campaign,
    Disclosure,
    Kind,
    LedgerEntry,
    MilestonePlanTerms,
    Milestones,
    Payout,
    Projections,
    TrancheRelease,
    TrancheTerms,
    Vote,
)

# The contract's bounds on a milestone plan (EscrowMilestones.MIN_TRANCHES ... MAX_VOTING_PERIOD)
MIN_TRANCHES, MAX_TRANCHES = 2, 10
MIN_VOTING_PERIOD, MAX_VOTING_PERIOD = 3600, 365 * 86400
BPS = 10_000
# EscrowMilestones.MAX_SILENCE: anyone may abort a campaign in delivery once block.timestamp is
# more than this past the later of its deadline, the claim of tranche 0 and the end of its last vote
MAX_SILENCE = 180 * 86400
_APPROVE = "0x" + "0" * 63 + "1"


def _milestones_of(state: Projections, campaign: Campaign, entry: LedgerEntry) -> Milestones:
    milestones = state.milestones.get(campaign.campaign_id) if campaign.milestone else None
    if milestones is None:
        raise fault(entry, campaign, "the campaign is not a milestone campaign")
    return milestones


def _require_open_request(milestones: Milestones, campaign: Campaign, entry: LedgerEntry) -> None:
    if not milestones.vote_pending:
        raise fault(entry, campaign, "no release request is open")


def _require_in_delivery(milestones: Milestones, campaign: Campaign, entry: LedgerEntry, what: str) -> None:
    if campaign.claimed or milestones.aborted or not milestones.tranches_released:
        raise fault(entry, campaign, f"{what} while the campaign is not in delivery")


def _vote_to_settle(state: Projections, campaign: Campaign, entry: LedgerEntry) -> Milestones:
    """The plan of a campaign whose release vote `entry` settles (a release or an abort): there is
    an open request, the creator emitted it, and the vote has closed."""
    milestones = _milestones_of(state, campaign, entry)
    _require_open_request(milestones, campaign, entry)
    require_creator(campaign, entry)
    end, now = milestones.vote_end, entry.block_timestamp
    if end is not None and now is not None and now < end:
        raise fault(
            entry,
            campaign,
            f"the vote on tranche {milestones.vote_tranche} is open until {end}, the block is at {now}",
        )
    return milestones


def _apply_plan(state: Projections, campaign: Campaign, entry: LedgerEntry) -> None:
    plan = entry.terms
    if not isinstance(plan, MilestonePlanTerms):
        raise fault(entry, campaign, "a milestone plan without its tranches and voting period")
    require_creator(campaign, entry)
    if campaign.milestone or entry.seq != campaign.created_seq + 1:
        raise fault(entry, campaign, "a milestone plan must follow right after its campaign's creation, once")
    bps = plan.tranche_bps
    if (
        campaign.keep_it_all
        or not MIN_TRANCHES <= len(bps) <= MAX_TRANCHES
        or sum(bps) != BPS
        or not all(bps)
        or not MIN_VOTING_PERIOD <= plan.voting_period <= MAX_VOTING_PERIOD
    ):
        raise fault(
            entry, campaign, f"the plan {list(bps)} / {plan.voting_period} s breaks the contract's rules"
        )
    if entry.amount != len(bps):
        raise fault(entry, campaign, f"the amount {entry.amount} is not the number of tranches {len(bps)}")
    if entry.detail[2:] != milestone_plan_detail(bps, plan.voting_period).hex():
        raise fault(entry, campaign, "the detail does not commit to the plan")
    campaign.milestone = True
    campaign.tranche_count = len(bps)
    state.milestones[campaign.campaign_id] = Milestones(
        campaign_id=campaign.campaign_id,
        tranche_bps=tuple(bps),
        voting_period=plan.voting_period,
        plan_seq=entry.seq,
        last_seq=entry.seq,
    )


def _pay_tranche(
    state: Projections,
    campaign: Campaign,
    milestones: Milestones,
    entry: LedgerEntry,
    tranche: int,
    gross: int,
    fee: int,
    report_hash: str | None,
) -> None:
    """Record tranche `tranche` paid to the creator (the entry's amount) with its fee."""
    milestones.tranches_released = tranche + 1
    milestones.released_gross += gross
    milestones.released_paid += entry.amount
    milestones.released_fees += fee
    milestones.last_seq = entry.seq
    campaign.tranches_released = tranche + 1
    campaign.claimed_amount += entry.amount
    campaign.claim_fee += fee
    if tranche + 1 == milestones.tranche_count:
        campaign.claimed = True
    if fee:
        fee_account(state, campaign.token).accrued_total += fee
    voted = report_hash is not None
    state.tranches[(campaign.campaign_id, tranche)] = TrancheRelease(
        campaign_id=campaign.campaign_id,
        tranche=tranche,
        seq=entry.seq,
        gross=gross,
        amount=entry.amount,
        fee=fee,
        report_hash=report_hash,
        approve_weight=milestones.approve_weight if voted else 0,
        reject_weight=milestones.reject_weight if voted else 0,
        block_number=entry.block_number,
        block_timestamp=entry.block_timestamp,
    )


def claim_tranche_zero(state: Projections, campaign: Campaign, entry: LedgerEntry) -> None:
    """Kind 5 on a milestone campaign: tranche 0, floor(total x bps_0 / 10000) minus its fee,
    within the claim window."""
    milestones = _milestones_of(state, campaign, entry)
    require_creator(campaign, entry)
    now = entry.block_timestamp
    if (
        campaign.cancelled
        or milestones.tranches_released
        or campaign.pledged < campaign.goal
        or (now is not None and not campaign.deadline <= now <= campaign.deadline + CLAIM_WINDOW)
    ):
        raise fault(entry, campaign, "claims a milestone campaign that is not in the Succeeded state")
    gross = milestones.tranche_gross(0, campaign.pledged)
    fee = fee_of(gross, campaign.fee_bps)
    if entry.amount + entry.fee != gross or entry.fee != fee:
        raise fault(
            entry,
            campaign,
            f"claims {entry.amount} + fee {entry.fee} as tranche 0, whose gross is {gross} with fee {fee}",
        )
    milestones.claimed_at = now
    _pay_tranche(state, campaign, milestones, entry, 0, gross, fee, None)


def _apply_request(state: Projections, campaign: Campaign, entry: LedgerEntry) -> None:
    milestones = _milestones_of(state, campaign, entry)
    require_creator(campaign, entry)
    _require_in_delivery(milestones, campaign, entry, "requests a release")
    if milestones.vote_pending:
        raise fault(
            entry, campaign, f"requests a release while tranche {milestones.vote_tranche}'s vote is undecided"
        )
    if entry.amount != milestones.tranches_released:
        raise fault(
            entry,
            campaign,
            f"requests tranche {entry.amount}, the next one is {milestones.tranches_released}",
        )
    now = entry.block_timestamp
    milestones.vote_pending = True
    milestones.vote_tranche = entry.amount
    milestones.report_hash = entry.detail
    milestones.request_seq = entry.seq
    milestones.requested_at = now
    milestones.vote_end = None if now is None else now + milestones.voting_period
    milestones.approve_weight = milestones.reject_weight = milestones.voters = 0
    milestones.last_seq = entry.seq


def _apply_vote(state: Projections, campaign: Campaign, entry: LedgerEntry) -> None:
    milestones = _milestones_of(state, campaign, entry)
    _require_open_request(milestones, campaign, entry)
    end, now = milestones.vote_end, entry.block_timestamp
    if end is not None and now is not None and now >= end:
        raise fault(entry, campaign, f"votes at {now}, after the vote closed at {end}")
    position = state.positions.get((campaign.campaign_id, entry.account))
    if position is None or not position.balance:
        raise fault(entry, campaign, f"{entry.account} votes without a pledge")
    if entry.amount != position.balance:
        raise fault(
            entry, campaign, f"votes with weight {entry.amount}, the backer's pledge is {position.balance}"
        )
    tranche = milestones.vote_tranche
    if position.voted_tranche == tranche:
        raise fault(entry, campaign, f"{entry.account} votes twice on tranche {tranche}")
    approve = entry.detail == _APPROVE
    if not approve and entry.detail != ZERO_HASH:
        raise fault(entry, campaign, f"the detail {entry.detail} is neither 0 (reject) nor 1 (approve)")
    if approve:
        milestones.approve_weight += entry.amount
    else:
        milestones.reject_weight += entry.amount
    milestones.voters += 1
    milestones.last_seq = entry.seq
    position.voted_tranche = tranche
    position.last_seq = entry.seq
    state.votes[(campaign.campaign_id, tranche, entry.account)] = Vote(
        campaign_id=campaign.campaign_id,
        tranche=tranche,
        backer=entry.account,
        seq=entry.seq,
        weight=entry.amount,
        approve=approve,
        block_number=entry.block_number,
        block_timestamp=entry.block_timestamp,
    )


def _apply_release(state: Projections, campaign: Campaign, entry: LedgerEntry) -> None:
    milestones = _vote_to_settle(state, campaign, entry)
    terms = entry.terms
    if not isinstance(terms, TrancheTerms):
        raise fault(entry, campaign, "a tranche release without its tranche and fee")
    total = campaign.pledged
    if not milestones.vote_passes(total):
        raise fault(
            entry,
            campaign,
            f"releases tranche {milestones.vote_tranche} although its vote failed (approve "
            f"{milestones.approve_weight}, reject {milestones.reject_weight}, total {total})",
        )
    tranche = milestones.vote_tranche
    gross = milestones.tranche_gross(tranche, total)
    fee = fee_of(gross, campaign.fee_bps)
    if (terms.tranche, terms.fee, entry.amount) != (tranche, fee, gross - fee):
        raise fault(
            entry,
            campaign,
            f"releases tranche {terms.tranche}: {entry.amount} + fee {terms.fee}; the rules give tranche {tranche}: "
            f"{gross - fee} + fee {fee}",
        )
    if entry.detail[2:] != tranche_detail(tranche, fee).hex():
        raise fault(entry, campaign, "the detail does not commit to the tranche and its fee")
    milestones.vote_pending = False
    _pay_tranche(state, campaign, milestones, entry, tranche, gross, fee, milestones.report_hash)
    state.last_payout = Payout(entry.seq, campaign.campaign_id, entry.account, entry.amount)


def _abort(campaign: Campaign, milestones: Milestones, entry: LedgerEntry, cause: str) -> None:
    """Abort a campaign in delivery (kind 12 or 16): its backers refund pro rata what was not
    released, R = total - released gross, the entry's amount."""
    total = campaign.pledged
    remaining = total - milestones.released_gross
    if entry.amount != remaining or entry.detail != ZERO_HASH:
        raise fault(entry, campaign, f"aborts with {entry.amount} remaining, the ledger gives {remaining}")
    milestones.vote_pending = False
    milestones.aborted = True
    milestones.abort_remaining = remaining
    milestones.unrefunded_weight = total
    milestones.last_seq = entry.seq
    campaign.aborted = True
    campaign.abort_cause = cause


def _apply_abort(state: Projections, campaign: Campaign, entry: LedgerEntry) -> None:
    """Kind 12: the release vote failed."""
    milestones = _vote_to_settle(state, campaign, entry)
    if milestones.vote_passes(campaign.pledged):
        raise fault(entry, campaign, f"aborts although tranche {milestones.vote_tranche}'s vote passed")
    _abort(campaign, milestones, entry, FAILED_VOTE)


def silent_since(campaign: Campaign, milestones: Milestones) -> int | None:
    """When the creator of a campaign in delivery last acted as abortStale counts it: the later of
    the deadline, the claim of tranche 0 and the end of the last vote; None when a time it needs is
    not known (a replay without block times)."""
    if milestones.vote_end is None or (milestones.claimed_at is None and not milestones.vote_end):
        return None
    return max(campaign.deadline, milestones.claimed_at or 0, milestones.vote_end)


def _apply_stale_abort(state: Projections, campaign: Campaign, entry: LedgerEntry) -> None:
    """Kind 16: anyone (the entry's account) aborted a campaign in delivery whose creator fell
    silent: no request undecided, and more than MAX_SILENCE since silent_since."""
    milestones = _milestones_of(state, campaign, entry)
    _require_in_delivery(milestones, campaign, entry, "aborts for silence")
    if milestones.vote_pending:
        raise fault(
            entry, campaign, f"aborts for silence while tranche {milestones.vote_tranche}'s vote is undecided"
        )
    since, now = silent_since(campaign, milestones), entry.block_timestamp
    if since is not None and now is not None and now <= since + MAX_SILENCE:
        raise fault(
            entry,
            campaign,
            f"aborts for silence at {now}; the creator was silent only since {since} (allowed after "
            f"{since + MAX_SILENCE})",
        )
    _abort(campaign, milestones, entry, SILENCE)


def refund_after_abort(state: Projections, campaign: Campaign, entry: LedgerEntry) -> None:
    """Kind 6 on an aborted campaign: floor(pledge x remaining / total); the refund that leaves no
    backer to refund moves the dust (remaining - all refunds) to the fees."""
    milestones = _milestones_of(state, campaign, entry)
    position = position_of(state, entry.campaign_id, entry.account)
    weight = position.balance
    expected = milestones.refund_of(weight, campaign.pledged)
    if not weight or entry.amount != expected or weight > milestones.unrefunded_weight:
        raise fault(
            entry,
            campaign,
            f"refunds {entry.amount} after the abort; the backer's pro-rata share of {weight} is {expected}",
        )
    position.refunded_total += entry.amount
    position.last_seq = entry.seq
    set_balance(campaign, position, 0)
    campaign.refunded_total += entry.amount
    milestones.refunded += entry.amount
    milestones.unrefunded_weight -= weight
    milestones.last_seq = entry.seq
    if milestones.unrefunded_weight == 0:
        milestones.dust = milestones.abort_remaining - milestones.refunded
        if milestones.dust:
            fee_account(state, campaign.token).accrued_total += milestones.dust


def _apply_disclosure(state: Projections, campaign: Campaign, entry: LedgerEntry) -> None:
    require_creator(campaign, entry)
    if entry.amount:
        raise fault(entry, campaign, f"a disclosure with amount {entry.amount}")
    state.disclosures[entry.seq] = Disclosure(
        seq=entry.seq,
        campaign_id=campaign.campaign_id,
        creator=entry.account,
        document_hash=entry.detail,
        block_number=entry.block_number,
        block_timestamp=entry.block_timestamp,
        tx_hash=entry.tx_hash,
    )


RULES: dict[int, Callable[[Projections, Campaign, LedgerEntry], None]] = {
    Kind.MILESTONE_PLAN: _apply_plan,
    Kind.RELEASE_REQUESTED: _apply_request,
    Kind.VOTED: _apply_vote,
    Kind.TRANCHE_RELEASED: _apply_release,
    Kind.ABORTED: _apply_abort,
    Kind.DISCLOSED: _apply_disclosure,
    Kind.STALE_ABORTED: _apply_stale_abort,
}
