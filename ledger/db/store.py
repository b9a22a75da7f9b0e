"""The indexer's writes and the reads that the replay, export and API share.

A batch of entries, the projection rows it changes, the block hashes it saw and the checkpoint
are committed in one transaction (`commit_batch`), so a crash at any instant leaves the database
at a batch boundary: restarting resumes with no gap and no duplicate.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from ledger.db.schema import blocks, campaigns, fee_accounts, ledger_entries, positions, sync_state
from ledger.errors import StorageError
from ledger.projections import apply_entry
from ledger.records import (
    Campaign,
    CampaignTerms,
    FeeAccount,
    Kind,
    LedgerEntry,
    Position,
    Projections,
)

_CHUNK = 400


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


_ENTRY_COLUMNS = [c.name for c in ledger_entries.columns if c.name != "final"]
_CAMPAIGN_FIELDS = [f.name for f in fields(Campaign)]
_POSITION_FIELDS = [f.name for f in fields(Position)]


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def entry_row(entry: LedgerEntry, final: bool) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "kind": int(entry.kind),
        "campaign_id": entry.campaign_id,
        "account": entry.account,
        "amount": entry.amount,
        "detail": entry.detail,
        "head": entry.head,
        "block_number": entry.block_number,
        "block_hash": entry.block_hash,
        "block_timestamp": entry.block_timestamp,
        "tx_hash": entry.tx_hash,
        "log_index": entry.log_index,
        "final": final,
    }


def entry_from_row(row: Any, terms: CampaignTerms | None = None) -> LedgerEntry:
    return LedgerEntry(
        seq=row.seq,
        kind=Kind(row.kind),
        campaign_id=row.campaign_id,
        account=row.account,
        amount=row.amount,
        detail=row.detail,
        head=row.head,
        block_number=row.block_number,
        block_hash=row.block_hash,
        tx_hash=row.tx_hash,
        log_index=row.log_index,
        block_timestamp=row.block_timestamp,
        terms=terms,
    )


def terms_of(campaign: Any) -> CampaignTerms:
    """The creation terms of a campaign row or record."""
    return CampaignTerms(
        token=campaign.token,
        goal=campaign.goal,
        deadline=campaign.deadline,
        max_per_backer=campaign.max_per_backer,
        keep_it_all=campaign.keep_it_all,
        fee_bps=campaign.fee_bps,
        metadata_hash=campaign.metadata_hash,
    )


class LedgerStore:
    """Reads and writes of the indexed ledger on one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    # ----------------------------------------------------------------- checkpoint

    def read_sync_state(self, conn: Connection | None = None) -> SyncState | None:
        if conn is None:
            with self.engine.connect() as own:
                return self.read_sync_state(own)
        row = conn.execute(select(sync_state).where(sync_state.c.id == 1)).first()
        if row is None:
            return None
        values = row._asdict()
        values.pop("id")
        return SyncState(**values)

    def init_sync_state(self, state: SyncState) -> None:
        with self._begin() as conn:
            conn.execute(sync_state.insert().values(id=1, **asdict(state)))

    def _write_sync_state(self, conn: Connection, state: SyncState) -> None:
        conn.execute(update(sync_state).where(sync_state.c.id == 1).values(**asdict(state)))

    # ----------------------------------------------------------------- batches

    def load_projections(self, conn: Connection, entries: Sequence[LedgerEntry]) -> Projections:
        """The campaign, position and fee rows that `entries` will change."""
        state = Projections()
        campaign_ids = sorted({e.campaign_id for e in entries if e.campaign_id})
        position_keys = sorted(
            {(e.campaign_id, e.account) for e in entries if e.kind in (Kind.PLEDGED, Kind.UNPLEDGED, Kind.REFUNDED)}
        )
        for chunk in _chunks(campaign_ids):
            for row in conn.execute(select(campaigns).where(campaigns.c.campaign_id.in_(chunk))):
                state.campaigns[row.campaign_id] = Campaign(**row._asdict())
        for chunk in _chunks(position_keys):
            query = select(positions).where(tuple_(positions.c.campaign_id, positions.c.backer).in_(chunk))
            for row in conn.execute(query):
                state.positions[(row.campaign_id, row.backer)] = Position(**row._asdict())
        for row in conn.execute(select(fee_accounts)):
            state.fees[row.token] = FeeAccount(**row._asdict())
        return state

    def commit_batch(
        self,
        entries: Sequence[LedgerEntry],
        state: SyncState,
        block_hashes: Iterable[tuple[int, str]] = (),
    ) -> None:
        """Store verified `entries` (in seq order), fold them into the projections, record the
        block hashes and the checkpoint `state`, mark entries at or below `state.final_block`
        final, and prune block hashes below it: all in one transaction."""
        with self._begin() as conn:
            previous = self.read_sync_state(conn)
            if entries:
                projections = self.load_projections(conn, entries)
                for entry in entries:
                    apply_entry(projections, entry)
                conn.execute(
                    ledger_entries.insert(),
                    [entry_row(e, e.block_number <= state.final_block) for e in entries],
                )
                self._upsert_projections(conn, projections)
            hashes = dict(block_hashes)
            if hashes:
                self._upsert(conn, blocks, [{"number": n, "hash": h} for n, h in sorted(hashes.items())], ["number"])
            if previous is not None and state.final_block > previous.final_block:
                conn.execute(
                    update(ledger_entries)
                    .where(ledger_entries.c.block_number > previous.final_block)
                    .where(ledger_entries.c.block_number <= state.final_block)
                    .where(ledger_entries.c.final.is_(False))
                    .values(final=True)
                )
                anchor = conn.execute(
                    select(func.max(blocks.c.number)).where(blocks.c.number <= state.final_block)
                ).scalar()
                if anchor is not None:
                    conn.execute(delete(blocks).where(blocks.c.number < anchor))
            self._write_sync_state(conn, state)

    def _upsert_projections(self, conn: Connection, projections: Projections) -> None:
        if projections.campaigns:
            rows = [asdict(c) for c in projections.campaigns.values()]
            self._upsert(conn, campaigns, rows, ["campaign_id"])
        if projections.positions:
            rows = [asdict(p) for p in projections.positions.values()]
            self._upsert(conn, positions, rows, ["campaign_id", "backer"])
        if projections.fees:
            rows = [asdict(f) for f in projections.fees.values()]
            self._upsert(conn, fee_accounts, rows, ["token"])

    def _upsert(self, conn: Connection, table: Table, rows: list[dict[str, Any]], keys: list[str]) -> None:
        insert = pg_insert if self.dialect == "postgresql" else sqlite_insert
        stmt = insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=keys,
            set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys},
        )
        conn.execute(stmt, rows)

    # ----------------------------------------------------------------- reorgs

    def stored_blocks(self, conn: Connection | None = None) -> list[tuple[int, str]]:
        """Stored block hashes, newest first."""
        if conn is None:
            with self.engine.connect() as own:
                return self.stored_blocks(own)
        return [(r.number, r.hash) for r in conn.execute(select(blocks).order_by(blocks.c.number.desc()))]

    def rollback_to(self, ancestor: int, ancestor_hash: str, state: SyncState) -> int:
        """Undo everything above block `ancestor` (all of it provisional), rebuild the projections
        it touched, and move the checkpoint back. Returns how many entries were removed."""
        with self._begin() as conn:
            doomed = conn.execute(
                select(ledger_entries.c.seq, ledger_entries.c.campaign_id, ledger_entries.c.kind)
                .where(ledger_entries.c.block_number > ancestor)
            ).all()
            conn.execute(delete(ledger_entries).where(ledger_entries.c.block_number > ancestor))
            conn.execute(delete(blocks).where(blocks.c.number > ancestor))
            touched = sorted({r.campaign_id for r in doomed if r.campaign_id})
            for campaign_id in touched:
                self._rebuild_campaign(conn, campaign_id)
            self._rebuild_fees(conn)
            last = conn.execute(
                select(ledger_entries.c.seq, ledger_entries.c.head).order_by(ledger_entries.c.seq.desc()).limit(1)
            ).first()
            state.last_block = ancestor
            state.last_block_hash = ancestor_hash
            if last is not None:
                state.last_seq, state.last_head = last.seq, last.head
            self._write_sync_state(conn, state)
            return len(doomed)

    def _rebuild_campaign(self, conn: Connection, campaign_id: int) -> None:
        row = conn.execute(select(campaigns).where(campaigns.c.campaign_id == campaign_id)).first()
        conn.execute(delete(positions).where(positions.c.campaign_id == campaign_id))
        conn.execute(delete(campaigns).where(campaigns.c.campaign_id == campaign_id))
        if row is None:
            return
        creation = conn.execute(select(ledger_entries).where(ledger_entries.c.seq == row.created_seq)).first()
        if creation is None:  # the campaign itself was rolled back
            return
        projections = Projections()
        query = select(ledger_entries).where(ledger_entries.c.campaign_id == campaign_id).order_by(ledger_entries.c.seq)
        for entry_row_ in conn.execute(query):
            terms = terms_of(row) if entry_row_.seq == row.created_seq else None
            apply_entry(projections, entry_from_row(entry_row_, terms))
        projections.fees.clear()
        self._upsert_projections(conn, projections)

    def _rebuild_fees(self, conn: Connection) -> None:
        projections = Projections()
        tokens = dict(conn.execute(select(campaigns.c.campaign_id, campaigns.c.token)).all())
        query = select(ledger_entries).where(ledger_entries.c.kind.in_([Kind.CLAIMED, Kind.FEES_WITHDRAWN]))
        for row in conn.execute(query.order_by(ledger_entries.c.seq)):
            entry = entry_from_row(row)
            if entry.kind == Kind.CLAIMED:
                account = projections.fees.setdefault(tokens[entry.campaign_id], FeeAccount(tokens[entry.campaign_id]))
                account.accrued_total += entry.fee
            else:
                account = projections.fees.setdefault(entry.token, FeeAccount(entry.token))
                account.withdrawn_total += entry.amount
        conn.execute(delete(fee_accounts))
        self._upsert_projections(conn, projections)

    # ----------------------------------------------------------------- reads

    def iter_entries(self, after_seq: int = 0, batch: int = 5000) -> Iterator[LedgerEntry]:
        """Every stored entry in seq order, with kind-1 terms, streamed in pages."""
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(ledger_entries)
                    .where(ledger_entries.c.seq > after_seq)
                    .order_by(ledger_entries.c.seq)
                    .limit(batch)
                ).all()
                created = [r.campaign_id for r in rows if r.kind == Kind.CAMPAIGN_CREATED]
                terms = {}
                for chunk in _chunks(created):
                    for c in conn.execute(select(campaigns).where(campaigns.c.campaign_id.in_(chunk))):
                        terms[c.campaign_id] = terms_of(c)
            if not rows:
                return
            for row in rows:
                yield entry_from_row(row, terms.get(row.campaign_id) if row.kind == Kind.CAMPAIGN_CREATED else None)
            after_seq = rows[-1].seq

    def _begin(self) -> Any:
        return _Transaction(self.engine)


class _Transaction:
    """engine.begin() that turns driver errors into StorageError with one readable line."""

    def __init__(self, engine: Engine) -> None:
        self._ctx = engine.begin()

    def __enter__(self) -> Connection:
        try:
            return self._ctx.__enter__()
        except SQLAlchemyError as exc:
            raise StorageError(f"database error: {str(getattr(exc, 'orig', exc)).splitlines()[0]}") from exc

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        try:
            self._ctx.__exit__(exc_type, exc, tb)
        except SQLAlchemyError as err:
            raise StorageError(f"database error: {str(getattr(err, 'orig', err)).splitlines()[0]}") from err
        if isinstance(exc, SQLAlchemyError):
            raise StorageError(f"database error: {str(getattr(exc, 'orig', exc)).splitlines()[0]}") from exc
        return False
