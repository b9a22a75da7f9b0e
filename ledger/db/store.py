"""The indexer's writes and the reads that the replay, export and API share.

A batch of entries, the projection rows it changes, the block hashes it saw and the checkpoint
are committed in one transaction (`commit_batch`: `prepare_batch` builds the rows, `write_batch`
stores them), so a crash at any instant leaves the database at a batch boundary: restarting
resumes with no gap and no duplicate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from operator import attrgetter
from typing import Any

from sqlalchemy import Connection, Engine, delete, inspect, select, update
from sqlalchemy.exc import SQLAlchemyError

from ledger import native
from ledger.db.bulk import Step, commit_steps, execute_many
from ledger.db.schema import (
    blocks,
    campaigns,
    disclosures,
    fee_accounts,
    ledger_entries,
    milestones,
    positions,
    sync_state,
    tranche_releases,
    votes,
)
from ledger.db.types import MAX_U256, U256_DIGITS, to_sqlite_u256
from ledger.errors import StorageError
from ledger.core.hashing import genesis_head
from ledger.core.projections import apply_entry
from ledger.core.public import entry_jsons
from ledger.core.records import (
    Campaign,
    CampaignTerms,
    Disclosure,
    EntryTerms,
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

_CHUNK = 400

# Secondary indexes of ledger_entries that an initial backfill builds once, at its end, instead of
# updating row by row: random tx hashes and accounts make each insert into them a random B-tree
# write, and building them by sorting once is several times cheaper. The block index stays: the
# checkpoint's "mark final" update needs it on every commit.
DEFERRED_INDEXES = ("ix_ledger_entries_campaign_seq", "ix_ledger_entries_account_seq", "ix_ledger_entries_tx")


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


@dataclass(frozen=True)
class PreparedBatch:
    """A verified batch as rows, ready for `LedgerStore.write_batch`: the checkpoint it ends at,
    the block hashes it saw, and (statement, rows) for each table it changes, in writing order."""

    state: SyncState
    block_hashes: dict[int, str]
    writes: list[tuple[str, list[tuple[Any, ...]]]]


_CAMPAIGN_FIELDS = [f.name for f in fields(Campaign)]
_POSITION_FIELDS = [f.name for f in fields(Position)]
_FEE_FIELDS = [f.name for f in fields(FeeAccount)]
_MILESTONE_FIELDS = [f.name for f in fields(Milestones)]
_TRANCHE_FIELDS = [f.name for f in fields(TrancheRelease)]
_VOTE_FIELDS = [f.name for f in fields(Vote)]
_DISCLOSURE_FIELDS = [f.name for f in fields(Disclosure)]
_ENTRY_FIELDS = [c.name for c in ledger_entries.columns]
_STATE_FIELDS = [f.name for f in fields(SyncState)]
# which fields of each record are uint256 (converted per dialect on the fast path)
_U256 = {"amount", "goal", "max_per_backer", "pledged", "claimed_amount", "claim_fee", "refunded_total", "balance",
         "pledged_total", "unpledged_total", "accrued_total", "withdrawn_total",
         # milestone projections
         "released_gross", "released_paid", "released_fees", "approve_weight", "reject_weight", "abort_remaining",
         "refunded", "unrefunded_weight", "dust", "gross", "fee", "weight"}
_MILESTONE_BOOLS = {"vote_pending", "aborted"}
# the kinds whose entries change the position (campaign, account)
_POSITION_KINDS = frozenset({Kind.PLEDGED, Kind.UNPLEDGED, Kind.REFUNDED, Kind.VOTED})


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
        self.upsert_milestones = self._upsert("milestones", _MILESTONE_FIELDS, ["campaign_id"], mark)
        self.upsert_tranches = self._upsert("tranche_releases", _TRANCHE_FIELDS, ["campaign_id", "tranche"], mark)
        self.upsert_votes = self._upsert("votes", _VOTE_FIELDS, ["campaign_id", "tranche", "backer"], mark)
        self.upsert_disclosures = self._upsert("disclosures", _DISCLOSURE_FIELDS, ["seq"], mark)
        self.select_milestones = f"SELECT {', '.join(_MILESTONE_FIELDS)} FROM milestones WHERE campaign_id IN "
        self.select_campaigns = f"SELECT {', '.join(_CAMPAIGN_FIELDS)} FROM campaigns WHERE campaign_id IN "
        self.select_positions = f"SELECT {', '.join(_POSITION_FIELDS)} FROM positions WHERE campaign_id = {mark} AND backer IN "
        self.upsert_blocks = self._upsert("blocks", ["number", "hash"], ["number"], mark)
        self.mark_final = (f"UPDATE ledger_entries SET final = TRUE "
                           f"WHERE block_number > {mark} AND block_number <= {mark} AND final = FALSE")
        self.prune_blocks = f"DELETE FROM blocks WHERE number < (SELECT max(number) FROM blocks WHERE number <= {mark})"
        assignments = ", ".join(f"{name} = {mark}" for name in _STATE_FIELDS)
        self.update_sync_state = (f"UPDATE sync_state SET {assignments} WHERE id = 1 "
                                  f"AND last_seq = {mark} AND last_block = {mark} AND final_block = {mark}")
        self.mark = mark

    @staticmethod
    def _insert(table: str, names: list[str], mark: str) -> str:
        return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join([mark] * len(names))})"

    def _upsert(self, table: str, names: list[str], keys: list[str], mark: str) -> str:
        updates = ", ".join(f"{n} = excluded.{n}" for n in names if n not in keys)
        return f"{self._insert(table, names, mark)} ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"

    def rows(self, records: Iterable[Any], names: list[str]) -> list[tuple[Any, ...]]:
        """Parameter tuples for `records`, uint256 fields encoded for the dialect."""
        getter = attrgetter(*names)
        if self.to_u256 is int:  # PostgreSQL: NUMERIC takes the ints as they are
            return [getter(record) for record in records]
        if native.available and native.record_rows is not None:
            built = native.record_rows(records, tuple(names), tuple(n in _U256 for n in names))
            if built is not None:
                return built
        wide = [i for i, n in enumerate(names) if n in _U256]
        # SQLite: to_sqlite_u256 inlined (a hot path: a backfill encodes ~5 values per entry)
        zero, digits, top = "0" * U256_DIGITS, U256_DIGITS, MAX_U256
        out = []
        for record in records:
            values = list(getter(record))
            for i in wide:
                value = values[i]
                if value:
                    if not 0 < value <= top:
                        raise ValueError(f"{value} is outside uint256")
                    values[i] = str(value).zfill(digits)
                else:  # 0, or a None that to_sqlite_u256 refuses loudly
                    values[i] = zero if value == 0 else to_sqlite_u256(value)
            out.append(tuple(values))
        return out

    def placeholders(self, count: int) -> str:
        return "(" + ", ".join([self.mark] * count) + ")"


def entry_rows(
    entries: Sequence[LedgerEntry], final_block: int, to_u256: Callable[[int], Any]
) -> list[tuple[Any, ...]]:
    """ledger_entries rows (its columns' order) of `entries`, final up to `final_block`, with their
    public texts; `to_u256` encodes the amount for the dialect (the indexer's batches, the bench's
    bulk load)."""
    if native.available and native.entry_rows is not None and to_u256 in (int, to_sqlite_u256):
        entries = entries if isinstance(entries, list) else list(entries)
        built = native.entry_rows(entries, final_block, entry_jsons(entries), LedgerEntry, to_u256 is to_sqlite_u256)
        if built is not None:
            return built
    return [
        (e.seq, int(e.kind), e.campaign_id, e.account, to_u256(e.amount), e.detail, e.head, e.block_number,
         e.block_hash, e.block_timestamp, e.tx_hash, e.log_index, e.block_number <= final_block, text)
        for e, text in zip(entries, entry_jsons(entries))
    ]


def encode_tranche_bps(tranche_bps: Iterable[int]) -> str:
    """The milestones.tranche_bps column: "2000,3000,5000"."""
    return ",".join(str(b) for b in tranche_bps)


def decode_tranche_bps(text: str) -> tuple[int, ...]:
    return tuple(int(b) for b in text.split(",")) if text else ()


def milestones_from_row(row: Any) -> Milestones:
    """The Milestones record of a milestones row (a Row, or a plain tuple in column order)."""
    values = dict(zip(_MILESTONE_FIELDS, row))
    for name, value in values.items():
        if name in _U256:
            values[name] = int(value)
        elif name in _MILESTONE_BOOLS:
            values[name] = bool(value)
    values["tranche_bps"] = decode_tranche_bps(values["tranche_bps"])
    return Milestones(**values)


def _record_from_row(cls: type, names: list[str], row: Any) -> Any:
    values = dict(zip(names, row))
    for name, value in values.items():
        if name in _U256 and value is not None:
            values[name] = int(value)
    if "approve" in values:
        values["approve"] = bool(values["approve"])
    return cls(**values)


def tranche_from_row(row: Any) -> TrancheRelease:
    return _record_from_row(TrancheRelease, _TRANCHE_FIELDS, row)


def vote_from_row(row: Any) -> Vote:
    return _record_from_row(Vote, _VOTE_FIELDS, row)


def disclosure_from_row(row: Any) -> Disclosure:
    return _record_from_row(Disclosure, _DISCLOSURE_FIELDS, row)


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def entry_from_row(row: Any, terms: EntryTerms | None = None) -> LedgerEntry:
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
        # the checkpoint this store wrote last, as far as it knows (see _commit_steps)
        self._checkpoint_written: SyncState | None = None

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
        self._checkpoint_written = state

    def _write_sync_state(self, conn: Connection, state: SyncState) -> None:
        conn.execute(update(sync_state).where(sync_state.c.id == 1).values(**asdict(state)))
        self._checkpoint_written = state  # if the transaction fails, _commit_steps' guard notices

    # ----------------------------------------------------------------- batches

    def load_projections(
        self, conn: Connection | None, entries: Sequence[LedgerEntry], cache: Projections | None = None
    ) -> Projections:
        """The campaign, position (a voter's too), fee and milestone rows that `entries` will
        change; votes, tranche releases and disclosures are only ever added. With `cache` (the
        indexer's projections kept across the batches of one backfill), rows already there are not
        read again, and the returned records are the cache's own objects. `conn` may be None only
        with a complete cache (nothing is read then)."""
        sql = self._sql
        state = Projections()
        known = cache if cache is not None else Projections()
        if known.complete:
            return self._projections_in_cache(entries, known)
        if conn is None:
            raise ValueError("load_projections reads the database unless the cache is complete: pass a connection")
        campaign_ids = sorted({e.campaign_id for e in entries if e.campaign_id})
        backers_by_campaign: dict[int, set[str]] = {}
        for e in entries:
            if e.kind in _POSITION_KINDS:
                backers_by_campaign.setdefault(e.campaign_id, set()).add(e.account)
        u256 = [n in _U256 for n in _CAMPAIGN_FIELDS]
        missing = [c for c in campaign_ids if c not in known.campaigns]
        for chunk in _chunks(missing):
            query = sql.select_campaigns + sql.placeholders(len(chunk))
            for row in conn.exec_driver_sql(query, tuple(chunk)):
                values = [int(v) if is_u256 else v for v, is_u256 in zip(row, u256)]
                known.campaigns[row[0]] = Campaign(*values)
        for campaign_id in campaign_ids:
            if campaign_id in known.campaigns:
                state.campaigns[campaign_id] = known.campaigns[campaign_id]
        positions = known.positions
        for campaign_id, backers in backers_by_campaign.items():
            unknown = sorted(b for b in backers if (campaign_id, b) not in positions)
            for chunk in _chunks(unknown):
                query = sql.select_positions + sql.placeholders(len(chunk))
                for row in conn.exec_driver_sql(query, (campaign_id, *chunk)):
                    position = Position(
                        row[0], row[1], int(row[2]), int(row[3]), int(row[4]), int(row[5]), row[6], row[7], row[8]
                    )
                    positions[(row[0], row[1])] = position
            for backer in backers:
                position = positions.get((campaign_id, backer))
                if position is None:  # a new position: created here so the cache holds it too
                    position = positions[(campaign_id, backer)] = Position(campaign_id=campaign_id, backer=backer)
                state.positions[(campaign_id, backer)] = position
        for row in conn.execute(select(fee_accounts)):
            if row.token not in known.fees:
                known.fees[row.token] = FeeAccount(row.token, row.accrued_total, row.withdrawn_total)
        state.fees = known.fees  # every fee account (there are few); ones the batch creates reach the cache
        # milestone campaigns: their plan and progress (plain campaigns need no query)
        wanted = [c for c in campaign_ids if c in state.campaigns and state.campaigns[c].milestone]
        unknown_milestones = [c for c in wanted if c not in known.milestones]
        for chunk in _chunks(unknown_milestones):
            for row in conn.exec_driver_sql(sql.select_milestones + sql.placeholders(len(chunk)), tuple(chunk)):
                known.milestones[row[0]] = milestones_from_row(row)
        for campaign_id in wanted:
            if campaign_id in known.milestones:
                state.milestones[campaign_id] = known.milestones[campaign_id]
        return state

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
    ) -> None:
        """Store verified `entries` (in seq order), fold them into the projections, record the
        block hashes and the checkpoint `state`, mark entries at or below `state.final_block`
        final, and prune block hashes below it: all in one transaction. `cache` is kept in step
        with what was committed; if the commit fails it is emptied (its records may hold the
        uncommitted batch)."""
        try:
            self.write_batch(self.prepare_batch(entries, state, block_hashes, cache))
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
    ) -> PreparedBatch:
        """The first half of `commit_batch`: fold `entries` into the projection records they
        change (read from the database where `cache` does not hold them; the cache's records are
        updated in place) and build every row the batch writes.

        It reads outside any write transaction: the indexer is the database's only writer. So a
        backfill prepares the next batch while `write_batch` stores this one, as long as every
        projection row a batch still being written changes is in `cache` (it is: prepare_batch
        put it there). A caller that starts a new cache first waits for the writes in flight. If
        this raises, `cache` may hold part of the batch: empty it or drop it."""
        writes: list[tuple[str, list[tuple[Any, ...]]]] = []
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
            writes.append((self._sql.insert_entries, entry_rows(entries, state.final_block, self._sql.to_u256)))
            writes.extend(self._projection_writes(projections))
        return PreparedBatch(state, dict(block_hashes), writes)

    def write_batch(self, batch: PreparedBatch) -> None:
        """The second half of `commit_batch`: one transaction that stores the prepared rows, the
        block hashes and the checkpoint, marks entries final up to the checkpoint's final block
        and prunes the block hashes below it."""
        if self._commit_steps(batch):
            return
        with self._begin() as conn:
            for statement, rows in self._batch_writes(batch, self.read_sync_state(conn)):
                execute_many(conn, statement, rows)
            self._write_sync_state(conn, batch.state)

    def _batch_writes(self, batch: PreparedBatch, previous: SyncState | None) -> list[Step]:
        """write_batch's statements before the checkpoint, given the checkpoint they follow: the
        prepared rows, the block hashes, and if the final block moved, marking entries final and
        pruning the block hashes below it."""
        state, sql = batch.state, self._sql
        steps: list[Step] = list(batch.writes)
        if batch.block_hashes:
            steps.append((sql.upsert_blocks, sorted(batch.block_hashes.items())))
        if previous is not None and state.final_block > previous.final_block:
            steps.append((sql.mark_final, [(previous.final_block, state.final_block)]))
            steps.append((sql.prune_blocks, [(state.final_block,)]))
        return steps

    def _commit_steps(self, batch: PreparedBatch) -> bool:
        """write_batch as one call into C on SQLite (ledger/db/bulk.py commit_steps), given the
        checkpoint this store wrote last: the checkpoint update is guarded by it, so if the stored
        one is another, nothing is written and write_batch reads it and goes the ordinary way.
        True when the batch was committed."""
        previous, state = self._checkpoint_written, batch.state
        if previous is None or self.dialect != "sqlite":
            return False
        values = tuple(getattr(state, name) for name in _STATE_FIELDS)
        expected = (previous.last_seq, previous.last_block, previous.final_block)
        steps = [*self._batch_writes(batch, previous), (self._sql.update_sync_state, [values + expected], 1)]
        if not commit_steps(self.engine, steps):
            return False
        self._checkpoint_written = state
        return True

    def _upsert_projections(self, conn: Connection, projections: Projections) -> None:
        for statement, rows in self._projection_writes(projections):
            execute_many(conn, statement, rows)

    def _projection_writes(self, projections: Projections) -> list[tuple[str, list[tuple[Any, ...]]]]:
        """(upsert statement, rows) of each projection table the batch changed."""
        sql = self._sql
        writes = [
            (statement, sql.rows(records, names))
            for statement, records, names in (
                (sql.upsert_campaigns, projections.campaigns.values(), _CAMPAIGN_FIELDS),
                (sql.upsert_positions, projections.positions.values(), _POSITION_FIELDS),
                (sql.upsert_fees, projections.fees.values(), _FEE_FIELDS),
                (sql.upsert_tranches, projections.tranches.values(), _TRANCHE_FIELDS),
                (sql.upsert_votes, projections.votes.values(), _VOTE_FIELDS),
                (sql.upsert_disclosures, projections.disclosures.values(), _DISCLOSURE_FIELDS),
            )
        ]
        if projections.milestones:
            at = _MILESTONE_FIELDS.index("tranche_bps")
            rows = [
                (*row[:at], encode_tranche_bps(row[at]), *row[at + 1 :])
                for row in sql.rows(projections.milestones.values(), _MILESTONE_FIELDS)
            ]
            writes.append((sql.upsert_milestones, rows))
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
            else:  # the reorg took every entry: the ledger is empty again
                state.last_seq, state.last_head = 0, "0x" + genesis_head(state.chain_id, state.contract).hex()
            self._write_sync_state(conn, state)
            return len(doomed)

    def _rebuild_campaign(self, conn: Connection, campaign_id: int) -> None:
        row = conn.execute(select(campaigns).where(campaigns.c.campaign_id == campaign_id)).first()
        # what the kind-8 and kind-11 entries carry beyond their chained fields, kept before the
        # milestone rows go (entries rolled back simply find nothing)
        extra: dict[int, EntryTerms] = {}
        plan = conn.execute(select(milestones).where(milestones.c.campaign_id == campaign_id)).first()
        if plan is not None:
            extra[plan.plan_seq] = MilestonePlanTerms(decode_tranche_bps(plan.tranche_bps), plan.voting_period)
        for t in conn.execute(select(tranche_releases).where(tranche_releases.c.campaign_id == campaign_id)):
            extra[t.seq] = TrancheTerms(t.tranche, t.fee)
        for table in (positions, campaigns, milestones, tranche_releases, votes, disclosures):
            conn.execute(delete(table).where(table.c.campaign_id == campaign_id))
        if row is None:
            return
        creation = conn.execute(select(ledger_entries).where(ledger_entries.c.seq == row.created_seq)).first()
        if creation is None:  # the campaign itself was rolled back
            return
        extra[row.created_seq] = terms_of(row)
        projections = Projections()
        query = select(ledger_entries).where(ledger_entries.c.campaign_id == campaign_id).order_by(ledger_entries.c.seq)
        for entry_row_ in conn.execute(query):
            entry = entry_from_row(entry_row_, extra.get(entry_row_.seq))
            if entry.kind == Kind.TRANCHE_RELEASED and entry.terms is None:
                raise StorageError(f"the database lost the tranche and fee of entry seq {entry.seq}; re-index")
            apply_entry(projections, entry)
        projections.fees.clear()
        self._upsert_projections(conn, projections)

    def _rebuild_fees(self, conn: Connection) -> None:
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
        released = select(tranche_releases.c.campaign_id, tranche_releases.c.fee).where(tranche_releases.c.tranche > 0)
        for campaign_id, fee in conn.execute(released):
            accrue(campaign_id, fee)
        for campaign_id, dust in conn.execute(select(milestones.c.campaign_id, milestones.c.dust)):
            accrue(campaign_id, dust)
        conn.execute(delete(fee_accounts))
        self._upsert_projections(conn, projections)

    # ----------------------------------------------------------------- reads

    def iter_entries(self, after_seq: int = 0, batch: int = 5000) -> Iterator[LedgerEntry]:
        """Every stored entry in seq order, with the terms of kinds 1, 8 and 11, streamed in pages."""
        for page in self.iter_entry_pages(after_seq, batch):
            for entry, _ in page:
                yield entry

    def iter_entry_pages(self, after_seq: int = 0, batch: int = 5000) -> Iterator[list[tuple[LedgerEntry, str | None]]]:
        """iter_entries a page at a time, each entry with its stored public text (ledger/public.py)."""
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
                extra = self._entry_terms(conn, rows)
            if not rows:
                return
            yield [
                (entry_from_row(row, terms.get(row.campaign_id) if row.kind == Kind.CAMPAIGN_CREATED else extra.get(row.seq)),
                 row.public_json)
                for row in rows
            ]
            after_seq = rows[-1].seq

    def _entry_terms(self, conn: Connection, rows: Sequence[Any]) -> dict[int, EntryTerms]:
        """The plans of the kind-8 rows and the tranche and fee of the kind-11 rows, by seq."""
        found: dict[int, EntryTerms] = {}
        plans = [r.campaign_id for r in rows if r.kind == Kind.MILESTONE_PLAN]
        for chunk in _chunks(plans):
            query = select(milestones.c.plan_seq, milestones.c.tranche_bps, milestones.c.voting_period)
            for seq, bps, period in conn.execute(query.where(milestones.c.campaign_id.in_(chunk))):
                found[seq] = MilestonePlanTerms(decode_tranche_bps(bps), period)
        released = [r.seq for r in rows if r.kind == Kind.TRANCHE_RELEASED]
        for chunk in _chunks(released):
            query = select(tranche_releases.c.seq, tranche_releases.c.tranche, tranche_releases.c.fee)
            for seq, tranche, fee in conn.execute(query.where(tranche_releases.c.seq.in_(chunk))):
                found[seq] = TrancheTerms(tranche, fee)
        return found

    # ----------------------------------------------------------------- milestone reads (API, verify)

    def milestones_of(self, campaign_id: int, conn: Connection | None = None) -> Milestones | None:
        """A milestone campaign's plan and progress; None for a plain (or unknown) campaign."""
        if conn is None:
            with self.engine.connect() as own:
                return self.milestones_of(campaign_id, own)
        row = conn.execute(select(milestones).where(milestones.c.campaign_id == campaign_id)).first()
        return None if row is None else milestones_from_row(row)

    def tranche_releases_of(self, campaign_id: int) -> list[TrancheRelease]:
        """The tranches paid to a milestone campaign's creator, tranche 0 first."""
        query = select(tranche_releases).where(tranche_releases.c.campaign_id == campaign_id)
        with self.engine.connect() as conn:
            return [tranche_from_row(r) for r in conn.execute(query.order_by(tranche_releases.c.tranche))]

    def votes_of(self, campaign_id: int, tranche: int | None = None) -> list[Vote]:
        """A campaign's votes (on one tranche if given), in seq order."""
        query = select(votes).where(votes.c.campaign_id == campaign_id)
        if tranche is not None:
            query = query.where(votes.c.tranche == tranche)
        with self.engine.connect() as conn:
            return [vote_from_row(r) for r in conn.execute(query.order_by(votes.c.seq))]

    def votes_by(self, backer: str, campaign_id: int | None = None) -> list[Vote]:
        """A backer's votes (in one campaign if given), by campaign then seq."""
        query = select(votes).where(votes.c.backer == backer.lower())
        if campaign_id is not None:
            query = query.where(votes.c.campaign_id == campaign_id)
        with self.engine.connect() as conn:
            return [vote_from_row(r) for r in conn.execute(query.order_by(votes.c.campaign_id, votes.c.seq))]

    def disclosures_of(self, campaign_id: int) -> list[Disclosure]:
        """The documents a campaign's creator disclosed, in seq order."""
        query = select(disclosures).where(disclosures.c.campaign_id == campaign_id)
        with self.engine.connect() as conn:
            return [disclosure_from_row(r) for r in conn.execute(query.order_by(disclosures.c.seq))]

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
