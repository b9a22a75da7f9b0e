"""What folding an entry into the projections shares, whatever its kind: finding the records it
changes (creating positions, fee accounts and credits on first use), keeping a campaign's backer
counts, and the one error an entry the contract could not have emitted raises."""

from __future__ import annotations

from ledger.core.records import Campaign, Credit, FeeAccount, LedgerEntry, Position, Projections
from ledger.errors import LedgerIntegrityError

BPS = 10_000


def fault(entry: LedgerEntry, campaign: Campaign | None, why: str) -> LedgerIntegrityError:
    """The error for `entry` breaking a rule of the contract's, in one line."""
    where = f", campaign {campaign.campaign_id}" if campaign is not None else ""
    return LedgerIntegrityError(f"entry seq {entry.seq} (kind {int(entry.kind)}{where}): {why}")


def campaign_of(state: Projections, entry: LedgerEntry) -> Campaign:
    try:
        return state.campaigns[entry.campaign_id]
    except KeyError:
        raise LedgerIntegrityError(
            f"entry seq {entry.seq} (tx {entry.tx_hash}) refers to campaign {entry.campaign_id}, "
            "which no earlier entry created"
        ) from None


def position_of(state: Projections, campaign_id: int, backer: str) -> Position:
    key = (campaign_id, backer)
    position = state.positions.get(key)
    if position is None:
        position = state.positions[key] = Position(campaign_id=campaign_id, backer=backer)
    return position


def fee_account(state: Projections, token: str) -> FeeAccount:
    account = state.fees.get(token)
    if account is None:
        account = state.fees[token] = FeeAccount(token=token)
    return account


def credit_of(state: Projections, account: str, token: str) -> Credit:
    credit = state.credits.get((account, token))
    if credit is None:
        credit = state.credits[(account, token)] = Credit(account=account, token=token)
    return credit


def set_balance(campaign: Campaign, position: Position, balance: int) -> None:
    """Set a position's balance (pledgeOf), keeping the campaign's count of holders."""
    if position.balance == 0 and balance > 0:
        campaign.holders += 1
    elif position.balance > 0 and balance == 0:
        campaign.holders -= 1
    position.balance = balance


def fee_of(gross: int, fee_bps: int) -> int:
    """The contract's fee on a gross amount: rounded up."""
    return -(-gross * fee_bps // BPS)


def require_creator(campaign: Campaign, entry: LedgerEntry) -> None:
    if entry.account != campaign.creator:
        raise fault(entry, campaign, f"the account {entry.account} is not the creator {campaign.creator}")
