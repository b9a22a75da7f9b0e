"""Apply ledger entries to campaign, position and fee projections. Pure logic over in-memory
records: the indexer loads the rows a batch touches, applies, and writes them back; the auditor
keeps the whole state in memory."""

from __future__ import annotations

from collections.abc import Iterable

from ledger.errors import LedgerIntegrityError
from ledger.records import (
    Campaign,
    FeeAccount,
    Kind,
    LedgerEntry,
    Position,
    Projections,
)


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
        assert terms is not None
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
        position = _position(state, entry.campaign_id, entry.account)
        if entry.amount != position.balance:
            raise LedgerIntegrityError(f"entry seq {entry.seq} refunds other than the backer's whole position")
        position.refunded_total += entry.amount
        position.last_seq = entry.seq
        _set_balance(campaign, position, 0)
        campaign.refunded_total += entry.amount
    elif kind == Kind.CANCELLED:
        campaign.cancelled = True
    elif kind == Kind.CLAIMED:
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
    else:  # pragma: no cover - decode_log only yields known kinds
        raise LedgerIntegrityError(f"entry seq {entry.seq} has unknown kind {kind}")


def apply_entries(state: Projections, entries: Iterable[LedgerEntry]) -> None:
    for entry in entries:
        apply_entry(state, entry)
