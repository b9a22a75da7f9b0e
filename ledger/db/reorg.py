"""Undoing provisional blocks after a reorganisation: delete what lies above the common ancestor and
rebuild the projections it touched by folding the remaining entries through the same rules that
built them (ledger.core.projections), at a cost bounded by what the reorg touched:

- each campaign with an entry rolled back is rebuilt from its own remaining entries;
- the fee accounts change by what those campaigns' fees were with and without the rolled-back
  entries (both folded through apply_entry), less the fee withdrawals rolled back (folded too);
- the credits are folded again from the kind-14 and kind-15 entries alone (a partial index holds
  them): a withdrawal does not name whose credit it paid, so which one it debited depends on
  every credit before it, and undoing it needs them all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Row, delete, select, text

from ledger.core.hashing import genesis_head
from ledger.core.projections import apply_entry, credit_payout, withdraw_credit
from ledger.core.records import (
    Campaign,
    EntryTerms,
    FeeAccount,
    Kind,
    LedgerEntry,
    MilestonePlanTerms,
    Projections,
    TrancheTerms,
)
from ledger.db.reads import SyncState, chunks
from ledger.db.rows import decode_tranche_bps, entry_from_row, from_row, terms_of
from ledger.db.schema import (
    CREDIT_KINDS,
    blocks,
    campaigns,
    credits,
    disclosures,
    fee_accounts,
    ledger_entries,
    milestones,
    positions,
    tranche_releases,
    votes,
)
from ledger.errors import StorageError

Upsert = Callable[[Connection, Projections], None]

_CAMPAIGN_TABLES = (positions, campaigns, milestones, tranche_releases, votes, disclosures)


def roll_back(conn: Connection, ancestor: int, ancestor_hash: str, state: SyncState, upsert: Upsert) -> int:
    """Delete every entry and block hash above block `ancestor` (all of them provisional), rebuild
    the projections they touched (written with `upsert`) and move `state` back to the ancestor.
    Returns how many entries were removed; the caller writes `state` in the same transaction."""
    doomed = [
        entry_from_row(row)
        for row in conn.execute(select(ledger_entries).where(ledger_entries.c.block_number > ancestor))
    ]
    touched = sorted({e.campaign_id for e in doomed if e.campaign_id})
    terms = _terms(conn, touched)
    before = _fold(_entries_of(conn, touched, terms))
    conn.execute(delete(ledger_entries).where(ledger_entries.c.block_number > ancestor))
    conn.execute(delete(blocks).where(blocks.c.number > ancestor))
    for chunk in chunks(touched):
        for table in _CAMPAIGN_TABLES:
            conn.execute(delete(table).where(table.c.campaign_id.in_(chunk)))
    after = _fold(_entries_of(conn, touched, terms))
    withdrawn = _fold(e for e in doomed if e.kind == Kind.FEES_WITHDRAWN)
    fees = _fees(conn, before, after, withdrawn)
    after.fees.clear()
    after.credits.clear()
    upsert(conn, after)
    conn.execute(delete(fee_accounts))
    conn.execute(delete(credits))
    upsert(conn, Projections(fees=fees, credits=_credits(conn).credits))
    last = conn.execute(
        select(ledger_entries.c.seq, ledger_entries.c.head).order_by(ledger_entries.c.seq.desc()).limit(1)
    ).first()
    state.last_block = ancestor
    state.last_block_hash = ancestor_hash
    if last is not None:
        state.last_seq, state.last_head = last.seq, last.head
    else:  # the reorg took every entry: the ledger is empty again
        state.last_seq, state.last_head = 0, "0x" + genesis_head(state.chain_id, state.contract).hex()
    return len(doomed)


def _terms(conn: Connection, campaign_ids: Sequence[int]) -> dict[int, EntryTerms]:
    """What the kind-1, -8 and -11 entries of `campaign_ids` carry beyond their chained fields,
    by seq, read from the projections before they are deleted."""
    found: dict[int, EntryTerms] = {}
    for chunk in chunks(campaign_ids):
        for row in conn.execute(select(campaigns).where(campaigns.c.campaign_id.in_(chunk))):
            campaign = from_row(Campaign, row)
            found[campaign.created_seq] = terms_of(campaign)
        for plan in conn.execute(select(milestones).where(milestones.c.campaign_id.in_(chunk))):
            found[plan.plan_seq] = MilestonePlanTerms(
                decode_tranche_bps(plan.tranche_bps), plan.voting_period
            )
        for t in conn.execute(select(tranche_releases).where(tranche_releases.c.campaign_id.in_(chunk))):
            found[t.seq] = TrancheTerms(t.tranche, int(t.fee))
    return found


def _entries_of(
    conn: Connection, campaign_ids: Sequence[int], terms: dict[int, EntryTerms]
) -> list[LedgerEntry]:
    """Every stored entry of `campaign_ids`, in seq order, with its terms."""
    rows: list[Row[Any]] = []
    for chunk in chunks(campaign_ids):
        rows.extend(conn.execute(select(ledger_entries).where(ledger_entries.c.campaign_id.in_(chunk))))
    entries = [entry_from_row(row, terms.get(row.seq)) for row in sorted(rows, key=lambda r: r.seq)]
    for entry in entries:
        if entry.kind == Kind.TRANCHE_RELEASED and entry.terms is None:
            raise StorageError(f"the database lost the tranche and fee of entry seq {entry.seq}; re-index")
    return entries


def _fold(entries: Iterable[LedgerEntry]) -> Projections:
    projections = Projections()
    for entry in entries:
        apply_entry(projections, entry)
    return projections


def _fees(
    conn: Connection, before: Projections, after: Projections, withdrawn: Projections
) -> dict[str, FeeAccount]:
    """The fee accounts once the rolled-back entries are gone: what the rebuilt campaigns accrue
    now instead of before, and without the withdrawals rolled back."""
    fees = {
        account.token: account
        for account in (from_row(FeeAccount, r) for r in conn.execute(select(fee_accounts)))
    }
    for token in set(before.fees) | set(after.fees) | set(withdrawn.fees):
        account = fees.setdefault(token, FeeAccount(token))
        was, now, gone = (p.fees.get(token, FeeAccount(token)) for p in (before, after, withdrawn))
        account.accrued_total += now.accrued_total - was.accrued_total
        account.withdrawn_total -= gone.withdrawn_total
        if account.accrued_total < 0 or account.withdrawn_total < 0:
            raise StorageError(f"the fee account of {token} does not match its entries; re-index")
    return fees


def _credits(conn: Connection) -> Projections:
    """The credits folded from every remaining kind-14 and kind-15 entry, in seq order."""
    projections = Projections()
    query = select(ledger_entries).where(text(CREDIT_KINDS))  # ix_ledger_entries_credit_kinds
    for row in conn.execute(query.order_by(ledger_entries.c.seq)):
        entry = entry_from_row(row)
        if entry.kind == Kind.PAYOUT_DEFERRED:
            credit_payout(projections, entry)
        else:
            withdraw_credit(projections, entry)
    return projections
