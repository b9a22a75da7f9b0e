"""The indexer's writes and the reads that the replay, export and API share.

A batch of entries, the projection rows it changes, the block hashes it saw and the checkpoint
are committed in one transaction (`commit_batch`: `prepare_batch` builds the rows, `write_batch`
stores them), so a crash at any instant leaves the database at a batch boundary: restarting
resumes with no gap and no duplicate.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, TypeVar

from sqlalchemy import Connection, Engine, inspect, select, update
from sqlalchemy.exc import SQLAlchemyError

from ledger.core.metadata import Token
from ledger.core.projections import apply_entry
from ledger.core.records import (
    Campaign,
    Credit,
    Disclosure,
    FeeAccount,
    Kind,
    LedgerEntry,
    Milestones,
    Position,
    Projections,
    TrancheRelease,
    Vote,
)
from ledger.db.reads import LedgerReads, SyncState, chunks
from ledger.db.reorg import roll_back
from ledger.db.rows import entry_row, from_row, to_rows
from ledger.db.schema import blocks, credits, fee_accounts, ledger_entries, sync_state
from ledger.db.statements import Statements, Write, execute
from ledger.errors import StorageError

__all__ = ["DEFERRED_INDEXES", "LedgerStore", "PreparedBatch", "SyncState"]

_ByCampaign = TypeVar("_ByCampaign", Campaign, Milestones)  # a projection keyed by campaign id alone

# Secondary indexes of ledger_entries that an initial backfill builds once, at its end, instead of
# updating row by row: random tx hashes and accounts make each insert into them a random B-tree
# write, and building them by sorting once is several times cheaper. The block index stays: the
# checkpoint's "mark final" update needs it on every commit.
DEFERRED_INDEXES = ("ix_ledger_entries_campaign_seq", "ix_ledger_entries_account_seq", "ix_ledger_entries_tx")


@dataclass(frozen=True)
class PreparedBatch:
    """A verified batch as rows, ready for `LedgerStore.write_batch`: the checkpoint it ends at,
    the block hashes it saw, and (statement, rows) for each table it changes, in writing order."""

    state: SyncState
    block_hashes: dict[int, str]
    writes: list[Write]


# the kinds whose entries change the position (campaign, account)
_POSITION_KINDS = frozenset({Kind.PLEDGED, Kind.UNPLEDGED, Kind.REFUNDED, Kind.VOTED})


class LedgerStore(LedgerReads):
    """The indexer's writes (and every read of LedgerReads) on one database."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._sql = Statements(self.dialect)
        self._sqlite = self.dialect == "sqlite"

    # ----------------------------------------------------------------- checkpoint

    def init_sync_state(self, state: SyncState) -> None:
        with self._begin() as conn:
            conn.execute(sync_state.insert().values(id=1, **asdict(state)))

    def clear_empty_checkpoint(self) -> None:
        """Forget a checkpoint that covers no entry (and the block hashes it kept), so indexing
        can start again from another block."""
        with self._begin() as conn:
            if conn.execute(select(ledger_entries.c.seq).limit(1)).first() is not None:
                raise StorageError("the database holds entries: its checkpoint cannot start over")
            conn.execute(sync_state.delete())
            conn.execute(blocks.delete())

    def _write_sync_state(self, conn: Connection, state: SyncState) -> None:
        conn.execute(update(sync_state).where(sync_state.c.id == 1).values(**asdict(state)))

    # ----------------------------------------------------------------- batches

    def load_projections(
        self, conn: Connection | None, entries: Sequence[LedgerEntry], cache: Projections | None = None
    ) -> Projections:
        """The campaign, position (a voter's too), fee, credit and milestone rows that `entries`
        will change; votes, tranche releases and disclosures are only ever added. With `cache` (the
        indexer's projections kept across the batches of one backfill), rows already there are not
        read again, and the returned records are the cache's own objects. `conn` may be None only
        with a complete cache (nothing is read then)."""
        known = cache if cache is not None else Projections()
        if known.complete:
            return self._projections_in_cache(entries, known)
        if conn is None:
            raise ValueError(
                "load_projections reads the database unless the cache is complete: pass a connection"
            )
        sql, state = self._sql, Projections()
        campaign_ids = sorted({e.campaign_id for e in entries if e.campaign_id})
        backers_by_campaign: dict[int, set[str]] = {}
        for e in entries:
            if e.kind in _POSITION_KINDS:
                backers_by_campaign.setdefault(e.campaign_id, set()).add(e.account)
        state.campaigns = self._by_campaign(conn, Campaign, campaign_ids, known.campaigns)
        positions = known.positions
        for campaign_id, backers in backers_by_campaign.items():
            unknown = sorted(b for b in backers if (campaign_id, b) not in positions)
            for chunk in chunks(unknown):
                query = sql.select_positions + sql.placeholders(len(chunk))
                for row in conn.exec_driver_sql(query, (campaign_id, *chunk)):
                    position = from_row(Position, row)
                    positions[(position.campaign_id, position.backer)] = position
            for backer in backers:
                known_position = positions.get((campaign_id, backer))
                if known_position is None:  # a new position: created here so the cache holds it too
                    known_position = positions[(campaign_id, backer)] = Position(
                        campaign_id=campaign_id, backer=backer
                    )
                state.positions[(campaign_id, backer)] = known_position
        for row in conn.execute(select(fee_accounts)):
            fees = from_row(FeeAccount, row)
            known.fees.setdefault(fees.token, fees)
        state.fees = known.fees  # every fee account (there are few); ones the batch creates reach the cache
        for row in conn.execute(select(credits)):
            credit = from_row(Credit, row)
            known.credits.setdefault((credit.account, credit.token), credit)
        state.credits = known.credits  # every credit, likewise (a kind-15 entry may debit any of them)
        # milestone campaigns: their plan and progress (plain campaigns need no query)
        wanted = [c for c in campaign_ids if c in state.campaigns and state.campaigns[c].milestone]
        state.milestones = self._by_campaign(conn, Milestones, wanted, known.milestones)
        return state

    def _by_campaign(
        self,
        conn: Connection,
        record_type: type[_ByCampaign],
        ids: Sequence[int],
        known: dict[int, _ByCampaign],
    ) -> dict[int, _ByCampaign]:
        """The `record_type` rows (keyed by campaign id) of the campaigns `ids`, in that order: those
        `known` lacks are read into it first; a campaign with no row is left out."""
        sql = self._sql
        for chunk in chunks([c for c in ids if c not in known]):
            for row in conn.exec_driver_sql(
                sql.select[record_type] + sql.placeholders(len(chunk)), tuple(chunk)
            ):
                record = from_row(record_type, row)
                known[record.campaign_id] = record
        return {c: known[c] for c in ids if c in known}

    @staticmethod
    def _projections_in_cache(entries: Sequence[LedgerEntry], cache: Projections) -> Projections:
        """load_projections with a complete cache: the records `entries` change, all in the cache
        (new positions are added to it); one pass, nothing read."""
        state = Projections()
        campaigns = cache.campaigns
        for campaign_id in sorted({e.campaign_id for e in entries}):
            if campaign_id and campaign_id in campaigns:
                state.campaigns[campaign_id] = campaigns[campaign_id]
        positions = cache.positions
        for key in {(e.campaign_id, e.account) for e in entries if e.kind in _POSITION_KINDS}:
            position = positions.get(key)
            if position is None:  # a new position: created here so the cache holds it too
                position = positions[key] = Position(campaign_id=key[0], backer=key[1])
            state.positions[key] = position
        state.fees = cache.fees
        state.credits = cache.credits
        for campaign_id, campaign in state.campaigns.items():
            if campaign.milestone and campaign_id in cache.milestones:
                state.milestones[campaign_id] = cache.milestones[campaign_id]
        return state

    def commit_batch(
        self,
        entries: Sequence[LedgerEntry],
        state: SyncState,
        block_hashes: Iterable[tuple[int, str]] = (),
        cache: Projections | None = None,
        tokens: Sequence[Token] = (),
    ) -> None:
        """Store verified `entries` (in seq order), fold them into the projections, record the
        block hashes, the metadata of tokens first seen in the batch and the checkpoint `state`,
        mark entries at or below `state.final_block` final, and prune block hashes below it: all
        in one transaction. `cache` is kept in step with what was committed; if the commit fails
        it is emptied (its records may hold the uncommitted batch)."""
        try:
            self.write_batch(self.prepare_batch(entries, state, block_hashes, cache, tokens))
        except BaseException:
            if cache is not None:
                cache.clear()
            raise

    def prepare_batch(
        self,
        entries: Sequence[LedgerEntry],
        state: SyncState,
        block_hashes: Iterable[tuple[int, str]] = (),
        cache: Projections | None = None,
        tokens: Sequence[Token] = (),
    ) -> PreparedBatch:
        """The first half of `commit_batch`: fold `entries` into the projection records they
        change (read from the database where `cache` does not hold them; the cache's records are
        updated in place) and build every row the batch writes (`tokens` too).

        It reads outside any write transaction: the indexer is the database's only writer. So a
        backfill prepares the next batch while `write_batch` stores this one, as long as every
        projection row a batch still being written changes is in `cache` (it is: prepare_batch
        put it there). A caller that starts a new cache first waits for the writes in flight. If
        this raises, `cache` may hold part of the batch: empty it or drop it."""
        writes: list[Write] = []
        if entries:
            if cache is not None and cache.complete:  # every row is in the cache: nothing to read
                projections = self.load_projections(None, entries, cache)
            else:
                with self.engine.connect() as conn:
                    projections = self.load_projections(conn, entries, cache)
            for entry in entries:
                apply_entry(projections, entry)
            if cache is not None:  # campaigns and plans the batch created
                cache.campaigns.update(projections.campaigns)
                cache.milestones.update(projections.milestones)
            from ledger.core.public import stored_texts  # pydantic: only where entries are written

            final, sqlite = state.final_block, self._sqlite
            rows = [
                entry_row(entry, entry.block_number <= final, text, sqlite=sqlite)
                for entry, text in zip(entries, stored_texts(entries))
            ]
            writes.append((self._sql.insert_entries, rows))
            writes.extend(self._projection_writes(projections))
        if tokens:
            writes.append((self._sql.insert_tokens, to_rows(tokens, Token, sqlite=self._sqlite)))
        return PreparedBatch(state, dict(block_hashes), writes)

    def store_tokens(self, tokens: Sequence[Token]) -> None:
        """Store the metadata of tokens read outside a batch (campaigns indexed before tokens were
        read); a token already stored keeps its row."""
        if tokens:
            with self._begin() as conn:
                execute(conn, self._sql.insert_tokens, to_rows(tokens, Token, sqlite=self._sqlite))

    def write_batch(self, batch: PreparedBatch) -> None:
        """The second half of `commit_batch`: one transaction that stores the prepared rows, the
        block hashes and the checkpoint, marks entries final up to the checkpoint's final block
        and prunes the block hashes below it."""
        sql, state = self._sql, batch.state
        with self._begin() as conn:
            previous = self.read_sync_state(conn)
            writes = list(batch.writes)
            if batch.block_hashes:
                writes.append((sql.upsert_blocks, sorted(batch.block_hashes.items())))
            if previous is not None and state.final_block > previous.final_block:
                writes.append((sql.mark_final, [(previous.final_block, state.final_block)]))
                writes.append((sql.prune_blocks, [(state.final_block,)]))
            for statement, rows in writes:
                execute(conn, statement, rows)
            self._write_sync_state(conn, state)

    def _upsert_projections(self, conn: Connection, projections: Projections) -> None:
        for statement, rows in self._projection_writes(projections):
            execute(conn, statement, rows)

    def _projection_writes(self, projections: Projections) -> list[Write]:
        """(upsert statement, rows) of each projection table the batch changed."""
        records: dict[type[Any], Iterable[Any]] = {
            Campaign: projections.campaigns.values(),
            Position: projections.positions.values(),
            FeeAccount: projections.fees.values(),
            Credit: projections.credits.values(),
            TrancheRelease: projections.tranches.values(),
            Vote: projections.votes.values(),
            Disclosure: projections.disclosures.values(),
            Milestones: projections.milestones.values(),
        }
        writes = [
            (self._sql.upserts[record_type], to_rows(values, record_type, sqlite=self._sqlite))
            for record_type, values in records.items()
        ]
        return [(statement, rows) for statement, rows in writes if rows]

    # ----------------------------------------------------------------- bulk loading

    def missing_deferred_indexes(self) -> list[str]:
        """The DEFERRED_INDEXES that are not in the database right now."""
        with self.engine.connect() as conn:
            present = {ix["name"] for ix in inspect(conn).get_indexes("ledger_entries")}
        return [name for name in DEFERRED_INDEXES if name not in present]

    def drop_deferred_indexes(self) -> None:
        """Drop DEFERRED_INDEXES before an initial backfill (`create_deferred_indexes` restores them)."""
        with self._begin() as conn:
            for name in DEFERRED_INDEXES:
                conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")

    def create_deferred_indexes(self) -> list[str]:
        """Build whichever DEFERRED_INDEXES are missing; returns their names."""
        missing = self.missing_deferred_indexes()
        if missing:
            with self._begin() as conn:
                for index in ledger_entries.indexes:
                    if index.name in missing:
                        index.create(conn, checkfirst=True)
        return missing

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
            removed = roll_back(conn, ancestor, ancestor_hash, state, self._upsert_projections)
            self._write_sync_state(conn, state)
            return removed

    def _begin(self) -> _Transaction:
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

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Literal[False]:
        try:
            self._ctx.__exit__(exc_type, exc, tb)
        except SQLAlchemyError as err:
            raise StorageError(f"database error: {str(getattr(err, 'orig', err)).splitlines()[0]}") from err
        if isinstance(exc, SQLAlchemyError):
            raise StorageError(f"database error: {str(getattr(exc, 'orig', exc)).splitlines()[0]}") from exc
        return False
