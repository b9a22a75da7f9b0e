"""Apply ledger entries to campaign, position and fee projections. Pure logic over in-memory
records: the indexer loads the rows a batch touches, applies, and writes them back; the auditor
keeps the whole state in memory."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ledger.core.hashing import milestone_plan_detail, tranche_detail
from ledger.core.records import (
    ZERO_HASH,
    Campaign,
    CampaignTerms,
    Disclosure,
    FeeAccount,
    Kind,
    LedgerEntry,
    MilestonePlanTerms,
    Milestones,
    Position,
    Projections,
    TrancheRelease,
    TrancheTerms,
    Vote,
)
from ledger.errors import LedgerIntegrityError

# The contract's bounds on a milestone plan (CrowdfundEscrow.MIN_TRANCHES ... MAX_VOTING_PERIOD).
MIN_TRANCHES, MAX_TRANCHES = 2, 10
MIN_VOTING_PERIOD, MAX_VOTING_PERIOD = 3600, 365 * 86400
BPS = 10_000
_APPROVE = "0x" + "0" * 63 + "1"


def _campaign(state: Projections, entry: LedgerEntry) -> Campaign:
    try:
        return state.campaigns[entry.campaign_id]
    except KeyError:
        raise LedgerIntegrityError(
            f"entry seq {entry.seq} (tx {entry.tx_hash}) refers to campaign {entry.campaign_id}, "
            "which no earlier entry created"
        ) from None


def _position(state: Projections, campaign_id: int, backer: str) -> Position:
    key = (campaign_id, backer)
    position = state.positions.get(key)
    if position is None:
        position = state.positions[key] = Position(campaign_id=campaign_id, backer=backer)
    return position


def _fee_account(state: Projections, token: str) -> FeeAccount:
    account = state.fees.get(token)
    if account is None:
        account = state.fees[token] = FeeAccount(token=token)
    return account


def _set_balance(campaign: Campaign, position: Position, balance: int) -> None:
    if position.balance == 0 and balance > 0:
        campaign.backer_count += 1
    elif position.balance > 0 and balance == 0:
        campaign.backer_count -= 1
    position.balance = balance


def apply_entry(state: Projections, entry: LedgerEntry) -> None:
    """Fold one verified entry into the projections."""
    kind = entry.kind
    if kind == Kind.CAMPAIGN_CREATED:
        terms = entry.terms
        if not isinstance(terms, CampaignTerms):
            raise LedgerIntegrityError(
                f"entry seq {entry.seq} creates campaign {entry.campaign_id} without its terms"
            )
        state.campaigns[entry.campaign_id] = Campaign(
            campaign_id=entry.campaign_id,
            creator=entry.account,
            token=terms.token,
            goal=terms.goal,
            deadline=terms.deadline,
            max_per_backer=terms.max_per_backer,
            keep_it_all=terms.keep_it_all,
            fee_bps=terms.fee_bps,
            metadata_hash=terms.metadata_hash,
            created_seq=entry.seq,
            created_block=entry.block_number,
            created_timestamp=entry.block_timestamp,
            last_seq=entry.seq,
        )
        return
    if kind == Kind.FEES_WITHDRAWN:
        _fee_account(state, entry.token).withdrawn_total += entry.amount
        return

    campaign = _campaign(state, entry)
    campaign.last_seq = entry.seq
    if kind == Kind.PLEDGED:
        position = _position(state, entry.campaign_id, entry.account)
        position.pledged_total += entry.amount
        position.first_seq = position.first_seq or entry.seq
        position.last_seq = entry.seq
        _set_balance(campaign, position, position.balance + entry.amount)
        campaign.pledged += entry.amount
    elif kind == Kind.UNPLEDGED:
        position = _position(state, entry.campaign_id, entry.account)
        if entry.amount > position.balance:
            raise LedgerIntegrityError(f"entry seq {entry.seq} unpledges more than the backer's position")
        position.unpledged_total += entry.amount
        position.last_seq = entry.seq
        _set_balance(campaign, position, position.balance - entry.amount)
        campaign.pledged -= entry.amount
    elif kind == Kind.REFUNDED:
        if campaign.aborted:
            _refund_after_abort(state, campaign, entry)
            return
        position = _position(state, entry.campaign_id, entry.account)
        if entry.amount != position.balance:
            raise LedgerIntegrityError(
                f"entry seq {entry.seq} refunds other than the backer's whole position"
            )
        position.refunded_total += entry.amount
        position.last_seq = entry.seq
        _set_balance(campaign, position, 0)
        campaign.refunded_total += entry.amount
    elif kind == Kind.CANCELLED:
        campaign.cancelled = True
    elif kind == Kind.CLAIMED:
        if campaign.milestone:
            _claim_tranche_zero(state, campaign, entry)
            return
        fee = -(-campaign.pledged * campaign.fee_bps // 10_000)
        if entry.amount + entry.fee != campaign.pledged or entry.fee != fee:
            raise LedgerIntegrityError(
                f"entry seq {entry.seq} claims {entry.amount} + fee {entry.fee} of campaign {campaign.campaign_id}, "
                f"whose total is {campaign.pledged} with fee {fee}"
            )
        campaign.claimed = True
        campaign.claimed_amount = entry.amount
        campaign.claim_fee = entry.fee
        if entry.fee:
            _fee_account(state, campaign.token).accrued_total += entry.fee
    else:
        apply_milestone = _MILESTONE_KINDS.get(kind)
        if apply_milestone is None:  # decode_log only yields known kinds
            raise LedgerIntegrityError(f"entry seq {entry.seq} has unknown kind {kind}")
        apply_milestone(state, campaign, entry)


def apply_entries(state: Projections, entries: Iterable[LedgerEntry]) -> None:
    for entry in entries:
        apply_entry(state, entry)


# --------------------------------------------------------------------------------- milestones
#
# The rules of CrowdfundEscrow's milestone campaigns (docs/ledger-format.md, "Milestone
# campaigns"), checked entry by entry. Each function runs after apply_entry has found the campaign
# and set its last_seq; any entry the contract could not have emitted raises LedgerIntegrityError.


def _fault(entry: LedgerEntry, campaign: Campaign, why: str) -> LedgerIntegrityError:
    return LedgerIntegrityError(
        f"entry seq {entry.seq} (kind {int(entry.kind)}, campaign {campaign.campaign_id}): {why}"
    )


def _fee_of(gross: int, fee_bps: int) -> int:
    return -(-gross * fee_bps // BPS)


def _milestones_of(state: Projections, campaign: Campaign, entry: LedgerEntry) -> Milestones:
    milestones = state.milestones.get(campaign.campaign_id) if campaign.milestone else None
    if milestones is None:
        raise _fault(entry, campaign, "the campaign is not a milestone campaign")
    return milestones


def _require_creator(campaign: Campaign, entry: LedgerEntry) -> None:
    if entry.account != campaign.creator:
        raise _fault(entry, campaign, f"the account {entry.account} is not the creator {campaign.creator}")


def _require_open_request(milestones: Milestones, campaign: Campaign, entry: LedgerEntry) -> None:
    if not milestones.vote_pending:
        raise _fault(entry, campaign, "no release request is open")


def _vote_to_settle(state: Projections, campaign: Campaign, entry: LedgerEntry) -> Milestones:
    """The plan of a campaign whose release vote `entry` settles (a release or an abort): there is
    an open request, the creator emitted it, and the vote has closed."""
    milestones = _milestones_of(state, campaign, entry)
    _require_open_request(milestones, campaign, entry)
    _require_creator(campaign, entry)
    end, now = milestones.vote_end, entry.block_timestamp
    if end is not None and now is not None and now < end:
        raise _fault(
            entry,
            campaign,
            f"the vote on tranche {milestones.vote_tranche} is open until {end}, the block is at {now}",
        )
    return milestones


def _apply_plan(state: Projections, campaign: Campaign, entry: LedgerEntry) -> None:
    plan = entry.terms
    if not isinstance(plan, MilestonePlanTerms):
        raise _fault(entry, campaign, "a milestone plan without its tranches and voting period")
    _require_creator(campaign, entry)
    if campaign.milestone or entry.seq != campaign.created_seq + 1:
        raise _fault(
            entry, campaign, "a milestone plan must follow right after its campaign's creation, once"
        )
    bps = plan.tranche_bps
    if (
        campaign.keep_it_all
        or not MIN_TRANCHES <= len(bps) <= MAX_TRANCHES
        or sum(bps) != BPS
        or not all(bps)
        or not MIN_VOTING_PERIOD <= plan.voting_period <= MAX_VOTING_PERIOD
    ):
        raise _fault(
            entry, campaign, f"the plan {list(bps)} / {plan.voting_period} s breaks the contract's rules"
        )
    if entry.amount != len(bps):
        raise _fault(entry, campaign, f"the amount {entry.amount} is not the number of tranches {len(bps)}")
    if entry.detail[2:] != milestone_plan_detail(bps, plan.voting_period).hex():
        raise _fault(entry, campaign, "the detail does not commit to the plan")
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
        _fee_account(state, campaign.token).accrued_total += fee
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


def _claim_tranche_zero(state: Projections, campaign: Campaign, entry: LedgerEntry) -> None:
    """Kind 5 on a milestone campaign: tranche 0, floor(total x bps_0 / 10000) minus its fee."""
    milestones = _milestones_of(state, campaign, entry)
    _require_creator(campaign, entry)
    now = entry.block_timestamp
    if (
        campaign.cancelled
        or milestones.tranches_released
        or campaign.pledged < campaign.goal
        or (now is not None and now < campaign.deadline)
    ):
        raise _fault(entry, campaign, "claims a milestone campaign that is not in the Succeeded state")
    gross = milestones.tranche_gross(0, campaign.pledged)
    fee = _fee_of(gross, campaign.fee_bps)
    if entry.amount + entry.fee != gross or entry.fee != fee:
        raise _fault(
            entry,
            campaign,
            f"claims {entry.amount} + fee {entry.fee} as tranche 0, whose gross is {gross} with fee {fee}",
        )
    _pay_tranche(state, campaign, milestones, entry, 0, gross, fee, None)


def _apply_request(state: Projections, campaign: Campaign, entry: LedgerEntry) -> None:
    milestones = _milestones_of(state, campaign, entry)
    _require_creator(campaign, entry)
    if campaign.claimed or milestones.aborted or not milestones.tranches_released:
        raise _fault(entry, campaign, "requests a release while the campaign is not in delivery")
    if milestones.vote_pending:
        raise _fault(
            entry, campaign, f"requests a release while tranche {milestones.vote_tranche}'s vote is undecided"
        )
    if entry.amount != milestones.tranches_released:
        raise _fault(
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
        raise _fault(entry, campaign, f"votes at {now}, after the vote closed at {end}")
    position = state.positions.get((campaign.campaign_id, entry.account))
    if position is None or not position.balance:
        raise _fault(entry, campaign, f"{entry.account} votes without a pledge")
    if entry.amount != position.balance:
        raise _fault(
            entry, campaign, f"votes with weight {entry.amount}, the backer's pledge is {position.balance}"
        )
    tranche = milestones.vote_tranche
    if position.voted_tranche == tranche:
        raise _fault(entry, campaign, f"{entry.account} votes twice on tranche {tranche}")
    approve = entry.detail == _APPROVE
    if not approve and entry.detail != ZERO_HASH:
        raise _fault(entry, campaign, f"the detail {entry.detail} is neither 0 (reject) nor 1 (approve)")
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
        raise _fault(entry, campaign, "a tranche release without its tranche and fee")
    total = campaign.pledged
    if not milestones.vote_passes(total):
        raise _fault(
            entry,
            campaign,
            f"releases tranche {milestones.vote_tranche} although its vote failed (approve "
            f"{milestones.approve_weight}, reject {milestones.reject_weight}, total {total})",
        )
    tranche = milestones.vote_tranche
    gross = milestones.tranche_gross(tranche, total)
    fee = _fee_of(gross, campaign.fee_bps)
    if (terms.tranche, terms.fee, entry.amount) != (tranche, fee, gross - fee):
        raise _fault(
            entry,
            campaign,
            f"releases tranche {terms.tranche}: {entry.amount} + fee {terms.fee}; the rules give tranche {tranche}: "
            f"{gross - fee} + fee {fee}",
        )
    if entry.detail[2:] != tranche_detail(tranche, fee).hex():
        raise _fault(entry, campaign, "the detail does not commit to the tranche and its fee")
    milestones.vote_pending = False
    _pay_tranche(state, campaign, milestones, entry, tranche, gross, fee, milestones.report_hash)


def _apply_abort(state: Projections, campaign: Campaign, entry: LedgerEntry) -> None:
    milestones = _vote_to_settle(state, campaign, entry)
    total = campaign.pledged
    if milestones.vote_passes(total):
        raise _fault(entry, campaign, f"aborts although tranche {milestones.vote_tranche}'s vote passed")
    remaining = total - milestones.released_gross
    if entry.amount != remaining or entry.detail != ZERO_HASH:
        raise _fault(entry, campaign, f"aborts with {entry.amount} remaining, the ledger gives {remaining}")
    milestones.vote_pending = False
    milestones.aborted = True
    milestones.abort_remaining = remaining
    milestones.unrefunded_weight = total
    milestones.last_seq = entry.seq
    campaign.aborted = True


def _refund_after_abort(state: Projections, campaign: Campaign, entry: LedgerEntry) -> None:
    """Kind 6 on an aborted campaign: floor(pledge x remaining / total); the refund that leaves no
    backer to refund moves the dust (remaining - all refunds) to the fees."""
    milestones = _milestones_of(state, campaign, entry)
    position = _position(state, entry.campaign_id, entry.account)
    weight = position.balance
    expected = milestones.refund_of(weight, campaign.pledged)
    if not weight or entry.amount != expected or weight > milestones.unrefunded_weight:
        raise _fault(
            entry,
            campaign,
            f"refunds {entry.amount} after the abort; the backer's pro-rata share of {weight} is {expected}",
        )
    position.refunded_total += entry.amount
    position.last_seq = entry.seq
    _set_balance(campaign, position, 0)
    campaign.refunded_total += entry.amount
    milestones.refunded += entry.amount
    milestones.unrefunded_weight -= weight
    milestones.last_seq = entry.seq
    if milestones.unrefunded_weight == 0:
        milestones.dust = milestones.abort_remaining - milestones.refunded
        if milestones.dust:
            _fee_account(state, campaign.token).accrued_total += milestones.dust


def _apply_disclosure(state: Projections, campaign: Campaign, entry: LedgerEntry) -> None:
    _require_creator(campaign, entry)
    if entry.amount:
        raise _fault(entry, campaign, f"a disclosure with amount {entry.amount}")
    state.disclosures[entry.seq] = Disclosure(
        seq=entry.seq,
        campaign_id=campaign.campaign_id,
        creator=entry.account,
        document_hash=entry.detail,
        block_number=entry.block_number,
        block_timestamp=entry.block_timestamp,
        tx_hash=entry.tx_hash,
    )


_MILESTONE_KINDS: dict[int, Callable[[Projections, Campaign, LedgerEntry], None]] = {
    Kind.MILESTONE_PLAN: _apply_plan,
    Kind.RELEASE_REQUESTED: _apply_request,
    Kind.VOTED: _apply_vote,
    Kind.TRANCHE_RELEASED: _apply_release,
    Kind.ABORTED: _apply_abort,
    Kind.DISCLOSED: _apply_disclosure,
}
