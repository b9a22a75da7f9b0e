"""Reads of the indexed ledger that the replay, export, audit, verify and tests share: the
checkpoint, every entry with its terms, and the milestone projections. Rows are mapped through
ledger.db.rows (one column list per record)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Row, func, select

from ledger.core.metadata import Token
from ledger.core.records import (
    ETH,
    Campaign,
    Disclosure,
    EntryTerms,
    Kind,
    LedgerEntry,
    MilestonePlanTerms,
    Milestones,
    TrancheRelease,
    TrancheTerms,
    Vote,
)
from ledger.db.rows import decode_tranche_bps, entry_from_row, from_row, terms_of
from ledger.db.schema import (
    campaigns,
    disclosures,
    ledger_entries,
    milestones,
    sync_state,
    tokens,
    tranche_releases,
    votes,
)

CHUNK = 400  # ids per IN (...) list


@dataclass
class SyncState:
    """The checkpoint: everything up to `last_block` is stored; `final_block` and below is final."""

    chain_id: int
    contract: str
    start_block: int
    last_block: int
    last_block_hash: str | None
    last_seq: int
    last_head: str
    finality_depth: int
    final_block: int
    tip_block: int
    tip_timestamp: int | None = None


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def read_sync_state(conn: Connection) -> SyncState | None:
    row = conn.execute(select(sync_state).where(sync_state.c.id == 1)).first()
    if row is None:
        return None
    values = row._asdict()
    values.pop("id")
    return SyncState(**values)


def entry_terms(conn: Connection, rows: Sequence[Row[Any]]) -> dict[int, EntryTerms]:
    """The terms of the kind-1, -8 and -11 entries among `rows` (ledger_entries rows), by seq: kept in
    the projections (campaigns, milestones, tranche_releases), not in the entries."""
    found: dict[int, EntryTerms] = {}
    created = [r.campaign_id for r in rows if r.kind == Kind.CAMPAIGN_CREATED]
    for chunk in chunks(created):
        for c in conn.execute(select(campaigns).where(campaigns.c.campaign_id.in_(chunk))):
            campaign = from_row(Campaign, c)
            found[campaign.created_seq] = terms_of(campaign)
    plans = [r.campaign_id for r in rows if r.kind == Kind.MILESTONE_PLAN]
    for chunk in chunks(plans):
        query = select(milestones.c.plan_seq, milestones.c.tranche_bps, milestones.c.voting_period)
        for seq, bps, period in conn.execute(query.where(milestones.c.campaign_id.in_(chunk))):
            found[seq] = MilestonePlanTerms(decode_tranche_bps(bps), period)
    released = [r.seq for r in rows if r.kind == Kind.TRANCHE_RELEASED]
    for chunk in chunks(released):
        query = select(tranche_releases.c.seq, tranche_releases.c.tranche, tranche_releases.c.fee)
        for seq, tranche, fee in conn.execute(query.where(tranche_releases.c.seq.in_(chunk))):
            found[seq] = TrancheTerms(tranche, int(fee))
    return found


class LedgerReads:
    """Reads of the indexed ledger on one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    def read_sync_state(self, conn: Connection | None = None) -> SyncState | None:
        if conn is not None:
            return read_sync_state(conn)
        with self.engine.connect() as own:
            return read_sync_state(own)

    def iter_entries(self, after_seq: int = 0, batch: int = 5000) -> Iterator[LedgerEntry]:
        """Every stored entry in seq order, with the terms of kinds 1, 8 and 11, streamed in pages."""
        for page in self.iter_entry_pages(after_seq, batch):
            for entry, _ in page:
                yield entry

    def iter_entry_pages(
        self, after_seq: int = 0, batch: int = 5000
    ) -> Iterator[list[tuple[LedgerEntry, str | None]]]:
        """iter_entries a page at a time, each entry with its stored public text (ledger.core.public)."""
        while True:
            with self.engine.connect() as conn:
                query = select(ledger_entries).where(ledger_entries.c.seq > after_seq)
                rows = conn.execute(query.order_by(ledger_entries.c.seq).limit(batch)).all()
                terms = entry_terms(conn, rows)
            if not rows:
                return
            yield [(entry_from_row(row, terms.get(row.seq)), row.public_json) for row in rows]
            after_seq = rows[-1].seq

    # ----------------------------------------------------------------- tokens

    def tokens(self, conn: Connection | None = None) -> dict[str, Token]:
        """Every campaign token's metadata read so far, by address (ETH has none: metadata.ETHER)."""
        if conn is None:
            with self.engine.connect() as own:
                return self.tokens(own)
        return {t.address: t for t in (from_row(Token, r) for r in conn.execute(select(tokens)))}

    def tokens_unread(self) -> list[tuple[str, int]]:
        """(token, block of its first campaign) for each campaign token with no metadata row: a
        database indexed before tokens were read."""
        first = select(campaigns.c.token, func.min(campaigns.c.created_block)).where(
            campaigns.c.token != ETH, campaigns.c.token.not_in(select(tokens.c.address))
        )
        with self.engine.connect() as conn:
            return [(token, block) for token, block in conn.execute(first.group_by(campaigns.c.token))]

    # ----------------------------------------------------------------- milestone campaigns

    def milestones_of(self, campaign_id: int, conn: Connection | None = None) -> Milestones | None:
        """A milestone campaign's plan and progress; None for a plain (or unknown) campaign."""
        if conn is None:
            with self.engine.connect() as own:
                return self.milestones_of(campaign_id, own)
        row = conn.execute(select(milestones).where(milestones.c.campaign_id == campaign_id)).first()
        return None if row is None else from_row(Milestones, row)

    def tranche_releases_of(self, campaign_id: int) -> list[TrancheRelease]:
        """The tranches paid to a milestone campaign's creator, tranche 0 first."""
        query = select(tranche_releases).where(tranche_releases.c.campaign_id == campaign_id)
        with self.engine.connect() as conn:
            return [
                from_row(TrancheRelease, r) for r in conn.execute(query.order_by(tranche_releases.c.tranche))
            ]

    def votes_of(self, campaign_id: int, tranche: int | None = None) -> list[Vote]:
        """A campaign's votes (on one tranche if given), in seq order."""
        query = select(votes).where(votes.c.campaign_id == campaign_id)
        if tranche is not None:
            query = query.where(votes.c.tranche == tranche)
        with self.engine.connect() as conn:
            return [from_row(Vote, r) for r in conn.execute(query.order_by(votes.c.seq))]

    def votes_by(self, backer: str, campaign_id: int | None = None) -> list[Vote]:
        """A backer's votes (in one campaign if given), by campaign then seq."""
        query = select(votes).where(votes.c.backer == backer.lower())
        if campaign_id is not None:
            query = query.where(votes.c.campaign_id == campaign_id)
        with self.engine.connect() as conn:
            return [from_row(Vote, r) for r in conn.execute(query.order_by(votes.c.campaign_id, votes.c.seq))]

    def disclosures_of(self, campaign_id: int) -> list[Disclosure]:
        """The documents a campaign's creator disclosed, in seq order."""
        query = select(disclosures).where(disclosures.c.campaign_id == campaign_id)
        with self.engine.connect() as conn:
            return [from_row(Disclosure, r) for r in conn.execute(query.order_by(disclosures.c.seq))]
