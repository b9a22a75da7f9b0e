"""The indexer's writes and the reads that the replay, export and API share.

A batch of entries, the projection rows it changes, the block hashes it saw and the checkpoint
are committed in one transaction (`commit_batch`), so a crash at any instant leaves the database
at a batch boundary: restarting resumes with no gap and no duplicate.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from ledger.db.schema import blocks, campaigns, fee_accounts, ledger_entries, positions, sync_state
from ledger.db.types import to_sqlite_u256
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


_CAMPAIGN_FIELDS = [f.name for f in fields(Campaign)]
_POSITION_FIELDS = [f.name for f in fields(Position)]
_FEE_FIELDS = [f.name for f in fields(FeeAccount)]
_ENTRY_FIELDS = [c.name for c in ledger_entries.columns]
# which fields of each record are uint256 (converted per dialect on the fast path)
_U256 = {"amount", "goal", "max_per_backer", "pledged", "claimed_amount", "claim_fee", "refunded_total", "balance",
         "pledged_total", "unpledged_total", "accrued_total", "withdrawn_total"}


class _FastSql:
    """Driver-level statements for the indexer's batch writes: one `executemany` of plain tuples
    per table, with no per-row SQL compilation. The SQL is the same on SQLite and PostgreSQL
    (ON CONFLICT ... DO UPDATE); only the parameter style and the uint256 encoding differ."""

    def __init__(self, dialect: str) -> None:
        mark = "%s" if dialect == "postgresql" else "?"
        self.to_u256: Any = int if dialect == "postgresql" else to_sqlite_u256
        self.insert_entries = self._insert("ledger_entries", _ENTRY_FIELDS, mark)
        self.upsert_campaigns = self._upsert("campaigns", _CAMPAIGN_FIELDS, ["campaign_id"], mark)
        self.upsert_positions = self._upsert("positions", _POSITION_FIELDS, ["campaign_id", "backer"], mark)
        self.upsert_fees = self._upsert("fee_accounts", _FEE_FIELDS, ["token"], mark)
        self.select_campaigns = f"SELECT {', '.join(_CAMPAIGN_FIELDS)} FROM campaigns WHERE campaign_id IN "
        self.select_positions = f"SELECT {', '.join(_POSITION_FIELDS)} FROM positions WHERE campaign_id = {mark} AND backer IN "
        self.mark = mark

    @staticmethod
    def _insert(table: str, names: list[str], mark: str) -> str:
        return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join([mark] * len(names))})"

    def _upsert(self, table: str, names: list[str], keys: list[str], mark: str) -> str:
        updates = ", ".join(f"{n} = excluded.{n}" for n in names if n not in keys)
        return f"{self._insert(table, names, mark)} ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"

    def row(self, record: Any, names: list[str]) -> tuple[Any, ...]:
        to_u256 = self.to_u256
        return tuple(to_u256(getattr(record, n)) if n in _U256 else getattr(record, n) for n in names)

    def placeholders(self, count: int) -> str:
        return "(" + ", ".join([self.mark] * count) + ")"


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


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
        self._sql = _FastSql(self.dialect)

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
        sql = self._sql
        state = Projections()
        campaign_ids = sorted({e.campaign_id for e in entries if e.campaign_id})
        backers_by_campaign: dict[int, set[str]] = {}
        for e in entries:
            if e.kind in (Kind.PLEDGED, Kind.UNPLEDGED, Kind.REFUNDED):
                backers_by_campaign.setdefault(e.campaign_id, set()).add(e.account)
        u256 = [n in _U256 for n in _CAMPAIGN_FIELDS]
        for chunk in _chunks(campaign_ids):
            query = sql.select_campaigns + sql.placeholders(len(chunk))
            for row in conn.exec_driver_sql(query, tuple(chunk)):
                values = [int(v) if is_u256 else v for v, is_u256 in zip(row, u256)]
                state.campaigns[row[0]] = Campaign(*values)
        for campaign_id, backers in backers_by_campaign.items():
            for chunk in _chunks(sorted(backers)):
                query = sql.select_positions + sql.placeholders(len(chunk))
                for row in conn.exec_driver_sql(query, (campaign_id, *chunk)):
                    position = Position(row[0], row[1], int(row[2]), int(row[3]), int(row[4]), int(row[5]), row[6], row[7])
                    state.positions[(row[0], row[1])] = position
        for row in conn.execute(select(fee_accounts)):
            state.fees[row.token] = FeeAccount(row.token, row.accrued_total, row.withdrawn_total)
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
                to_u256, final_block = self._sql.to_u256, state.final_block
                conn.exec_driver_sql(
                    self._sql.insert_entries,
                    [
                        (e.seq, int(e.kind), e.campaign_id, e.account, to_u256(e.amount), e.detail, e.head,
                         e.block_number, e.block_hash, e.block_timestamp, e.tx_hash, e.log_index,
                         e.block_number <= final_block)
                        for e in entries
                    ],
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
        sql = self._sql
        for statement, records, names in (
            (sql.upsert_campaigns, projections.campaigns.values(), _CAMPAIGN_FIELDS),
            (sql.upsert_positions, projections.positions.values(), _POSITION_FIELDS),
            (sql.upsert_fees, projections.fees.values(), _FEE_FIELDS),
        ):
            rows = [sql.row(record, names) for record in records]
            if rows:
                conn.exec_driver_sql(statement, rows)

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
