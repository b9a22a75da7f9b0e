"""Apply ledger entries to campaign, position, fee and credit projections. Pure logic over
in-memory records: the indexer loads the rows a batch touches, applies, and writes them back; the
auditor keeps the whole state in memory. Milestone campaigns' rules are ledger.core.milestone_rules;
what every rule shares is ledger.core.fold.

Any entry the contract could not have emitted raises LedgerIntegrityError.
"""

from __future__ import annotations

from collections.abc import Iterable

from ledger.core import milestone_rules
from ledger.core.fold import (
    campaign_of,
    credit_of,
    fault,
    fee_account,
    fee_of,
    position_of,
    require_creator,
    set_balance,
)
from ledger.core.records import (
    Campaign,
    CampaignTerms,
    Credit,
    Kind,
    LedgerEntry,
    Payout,
    Projections,
    State,
)
from ledger.errors import LedgerIntegrityError

_REFUNDABLE = (State.FAILED, State.CANCELLED, State.EXPIRED)  # whole pledges back (an abort: pro rata)


def apply_entry(state: Projections, entry: LedgerEntry) -> None:
    """Fold one verified entry into the projections."""
    kind = entry.kind
    if kind == Kind.PLEDGED:  # the common case first
        campaign = campaign_of(state, entry)
        amount, seq = entry.amount, entry.seq
        campaign.last_seq = seq
        position = position_of(state, entry.campaign_id, entry.account)
        if not position.first_seq:  # the backer's first pledge: one more backer, for good
            position.first_seq = seq
            campaign.backer_count += 1
        if not position.balance and amount:
            campaign.holders += 1
        position.balance += amount
        position.pledged_total += amount
        position.last_seq = seq
        campaign.pledged += amount
        return
    if kind == Kind.CAMPAIGN_CREATED:
        _create(state, entry)
        return
    if kind == Kind.FEES_WITHDRAWN:
        fee_account(state, entry.token).withdrawn_total += entry.amount
        return
    if kind == Kind.OWED_WITHDRAWN:
        _withdraw_owed(state, entry)
        return

    campaign = campaign_of(state, entry)
    campaign.last_seq = entry.seq
    if kind == Kind.UNPLEDGED:
        position = position_of(state, entry.campaign_id, entry.account)
        if entry.amount > position.balance:
            raise LedgerIntegrityError(f"entry seq {entry.seq} unpledges more than the backer's position")
        position.unpledged_total += entry.amount
        position.last_seq = entry.seq
        set_balance(campaign, position, position.balance - entry.amount)
        campaign.pledged -= entry.amount
    elif kind == Kind.REFUNDED:
        if campaign.aborted:
            milestone_rules.refund_after_abort(state, campaign, entry)
        else:
            _refund(state, campaign, entry)
    elif kind == Kind.CANCELLED:
        campaign.cancelled = True
    elif kind == Kind.CLAIMED:
        if campaign.milestone:
            milestone_rules.claim_tranche_zero(state, campaign, entry)
        else:
            _claim(state, campaign, entry)
        state.last_payout = Payout(entry.seq, campaign.campaign_id, entry.account, entry.amount)
    elif kind == Kind.PAYOUT_DEFERRED:
        _defer_payout(state, campaign, entry)
    else:
        apply_milestone = milestone_rules.RULES.get(kind)
        if apply_milestone is None:  # decode_log only yields known kinds
            raise LedgerIntegrityError(f"entry seq {entry.seq} has unknown kind {kind}")
        apply_milestone(state, campaign, entry)


def apply_entries(state: Projections, entries: Iterable[LedgerEntry]) -> None:
    for entry in entries:
        apply_entry(state, entry)


# --------------------------------------------------------------------------------- plain campaigns


def _create(state: Projections, entry: LedgerEntry) -> None:
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


def _refund(state: Projections, campaign: Campaign, entry: LedgerEntry) -> None:
    """Kind 6 from a failed, cancelled or expired campaign: the backer's whole position."""
    now = entry.block_timestamp
    if now is not None and campaign.state_at(now) not in _REFUNDABLE:
        raise fault(entry, campaign, f"refunds a campaign that is {campaign.state_at(now).name.lower()}")
    position = position_of(state, entry.campaign_id, entry.account)
    if entry.amount != position.balance:
        raise LedgerIntegrityError(f"entry seq {entry.seq} refunds other than the backer's whole position")
    position.refunded_total += entry.amount
    position.last_seq = entry.seq
    set_balance(campaign, position, 0)
    campaign.refunded_total += entry.amount


def _claim(state: Projections, campaign: Campaign, entry: LedgerEntry) -> None:
    """Kind 5 of a plain campaign: the total less the fee (rounded up), within the claim window."""
    require_creator(campaign, entry)
    now = entry.block_timestamp
    if now is not None and campaign.state_at(now) != State.SUCCEEDED:
        raise fault(entry, campaign, f"claims a campaign that is {campaign.state_at(now).name.lower()}")
    fee = fee_of(campaign.pledged, campaign.fee_bps)
    if entry.amount + entry.fee != campaign.pledged or entry.fee != fee:
        raise LedgerIntegrityError(
            f"entry seq {entry.seq} claims {entry.amount} + fee {entry.fee} of campaign {campaign.campaign_id}, "
            f"whose total is {campaign.pledged} with fee {fee}"
        )
    campaign.claimed = True
    campaign.claimed_amount = entry.amount
    campaign.claim_fee = entry.fee
    if entry.fee:
        fee_account(state, campaign.token).accrued_total += entry.fee


# --------------------------------------------------------------------------------- credits


def token_word(token: str) -> str:
    """bytes32(uint256(uint160(token))) as 0x-hex: the detail of kinds 7, 14 and 15."""
    return "0x" + "0" * 24 + token[2:]


def _defer_payout(state: Projections, campaign: Campaign, entry: LedgerEntry) -> None:
    """Kind 14: the payout of the kind-5 or kind-11 entry right before it, to the campaign's
    creator in the campaign's asset, was credited instead of paid."""
    last = state.last_payout
    if last is None or (last.seq, last.campaign_id, last.amount) != (
        entry.seq - 1,
        campaign.campaign_id,
        entry.amount,
    ):
        raise fault(
            entry, campaign, f"defers {entry.amount}, but the entry before it is not a payout of that amount"
        )
    require_creator(campaign, entry)
    if entry.detail != token_word(campaign.token):
        raise fault(
            entry, campaign, f"defers a payout in {entry.token}, the campaign's asset is {campaign.token}"
        )
    credit_payout(state, entry)


def credit_payout(state: Projections, entry: LedgerEntry) -> Credit:
    """The credit a kind-14 entry adds to (its account, its asset)."""
    credit = credit_of(state, entry.account, entry.token)
    credit.credited_total += entry.amount
    return credit


def _withdraw_owed(state: Projections, entry: LedgerEntry) -> None:
    if entry.campaign_id:
        raise fault(entry, None, f"a credit withdrawal names campaign {entry.campaign_id}; it names none")
    withdraw_credit(state, entry)


def withdraw_credit(state: Projections, entry: LedgerEntry) -> Credit:
    """Kind 15: withdrawOwed paid someone's whole credit in the entry's asset to the entry's
    account (`to`). The entry does not name whose credit it was (the contract records where the
    money went, not who asked), so it is the credit that owes exactly the amount: `to`'s own when
    it does, else the only one that does, else (ambiguous) the lowest such address; none is an
    integrity error."""
    token, amount = entry.token, entry.amount
    credit = state.credits.get((entry.account, token))
    if credit is None or credit.owed != amount or not amount:
        owing = [c for c in state.credits.values() if c.token == token and c.owed == amount and amount]
        if not owing:
            raise fault(entry, None, f"withdraws {amount} of {token}, but no credit in it owes exactly that")
        credit = min(owing, key=lambda c: c.account)
    credit.withdrawn_total += amount
    return credit
