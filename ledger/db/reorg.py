"""Undoing provisional blocks after a reorganisation: delete what lies above the common ancestor and
rebuild the projections it touched from the entries that remain (ledger.core.projections)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, delete, select

from ledger.core.hashing import genesis_head
from ledger.core.projections import apply_entry
from ledger.core.records import (
    Campaign,
    EntryTerms,
    FeeAccount,
    Kind,
    MilestonePlanTerms,
    Projections,
    TrancheTerms,
)
from ledger.db.reads import SyncState
from ledger.db.rows import decode_tranche_bps, entry_from_row, from_row, terms_of
from ledger.db.schema import (
    blocks,
    campaigns,
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


def roll_back(conn: Connection, ancestor: int, ancestor_hash: str, state: SyncState, upsert: Upsert) -> int:
    """Delete every entry and block hash above block `ancestor` (all of them provisional), rebuild
    the projections they touched (written with `upsert`) and move `state` back to the ancestor.
    Returns how many entries were removed; the caller writes `state` in the same transaction."""
    doomed = conn.execute(
        select(ledger_entries.c.seq, ledger_entries.c.campaign_id).where(
            ledger_entries.c.block_number > ancestor
        )
    ).all()
    conn.execute(delete(ledger_entries).where(ledger_entries.c.block_number > ancestor))
    conn.execute(delete(blocks).where(blocks.c.number > ancestor))
    for campaign_id in sorted({r.campaign_id for r in doomed if r.campaign_id}):
        _rebuild_campaign(conn, campaign_id, upsert)
    _rebuild_fees(conn, upsert)
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


def _rebuild_campaign(conn: Connection, campaign_id: int, upsert: Upsert) -> None:
    row = conn.execute(select(campaigns).where(campaigns.c.campaign_id == campaign_id)).first()
    # what the kind-8 and kind-11 entries carry beyond their chained fields, kept before the
    # milestone rows go (entries rolled back simply find nothing)
    extra: dict[int, EntryTerms] = {}
    plan = conn.execute(select(milestones).where(milestones.c.campaign_id == campaign_id)).first()
    if plan is not None:
        extra[plan.plan_seq] = MilestonePlanTerms(decode_tranche_bps(plan.tranche_bps), plan.voting_period)
    for t in conn.execute(select(tranche_releases).where(tranche_releases.c.campaign_id == campaign_id)):
        extra[t.seq] = TrancheTerms(t.tranche, int(t.fee))
    for table in (positions, campaigns, milestones, tranche_releases, votes, disclosures):
        conn.execute(delete(table).where(table.c.campaign_id == campaign_id))
    if row is None:
        return
    campaign = from_row(Campaign, row)
    creation = conn.execute(
        select(ledger_entries.c.seq).where(ledger_entries.c.seq == campaign.created_seq)
    ).first()
    if creation is None:  # the campaign itself was rolled back
        return
    extra[campaign.created_seq] = terms_of(campaign)
    projections = Projections()
    query = (
        select(ledger_entries)
        .where(ledger_entries.c.campaign_id == campaign_id)
        .order_by(ledger_entries.c.seq)
    )
    for stored in conn.execute(query):
        entry = entry_from_row(stored, extra.get(stored.seq))
        if entry.kind == Kind.TRANCHE_RELEASED and entry.terms is None:
            raise StorageError(f"the database lost the tranche and fee of entry seq {entry.seq}; re-index")
        apply_entry(projections, entry)
    projections.fees.clear()
    upsert(conn, projections)


def _rebuild_fees(conn: Connection, upsert: Upsert) -> None:
    """Fee accounts from the claims, tranche releases (their fees in tranche_releases), abort
    dust swept by a last refund (in milestones) and withdrawals."""
    projections = Projections()
    tokens = dict(conn.execute(select(campaigns.c.campaign_id, campaigns.c.token)).all())

    def accrue(campaign_id: int, amount: int) -> None:
        token = tokens[campaign_id]
        projections.fees.setdefault(token, FeeAccount(token)).accrued_total += amount

    query = select(ledger_entries).where(ledger_entries.c.kind.in_([Kind.CLAIMED, Kind.FEES_WITHDRAWN]))
    for row in conn.execute(query.order_by(ledger_entries.c.seq)):
        entry = entry_from_row(row)
        if entry.kind == Kind.CLAIMED:
            accrue(entry.campaign_id, entry.fee)
        else:
            account = projections.fees.setdefault(entry.token, FeeAccount(entry.token))
            account.withdrawn_total += entry.amount
    released = select(tranche_releases.c.campaign_id, tranche_releases.c.fee).where(
        tranche_releases.c.tranche > 0
    )
    for campaign_id, fee in conn.execute(released):
        accrue(campaign_id, int(fee))
    for campaign_id, dust in conn.execute(select(milestones.c.campaign_id, milestones.c.dust)):
        accrue(campaign_id, int(dust))
    conn.execute(delete(fee_accounts))
    upsert(conn, projections)
