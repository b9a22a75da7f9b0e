"""The database schema, shared by SQLite and PostgreSQL. Migrations (ledger/migrations) create
and upgrade it; this module is what the code queries against.

- ledger_entries: the ledger, one row per entry, append-only once final (enforced by triggers),
  with the public JSON text the API serves of it (ledger/public.py)
- campaigns, positions, fee_accounts, credits: projections the API serves
- milestones, tranche_releases, votes, disclosures: the milestone campaigns' projections (kinds
  8-13); milestones and tranche_releases also keep what kind-8 and kind-11 events carry beyond
  the chained fields (the plan; the tranche and its fee), so stored entries export exactly
- tokens: each campaign token's symbol, name and decimals, read from the chain once by the indexer
- documents: documents the ledger commits to by hash, uploaded through the API (its only write)
- blocks: hashes of blocks the indexer ingested, for reorg detection (pruned below finality)
- sync_state: the checkpoint, committed in the same transaction as the rows it covers
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    false,
    text,
)

from ledger.db.types import U256

metadata = MetaData()

# the credit entries' kinds (14, 15), as SQL text: a partial index is used only by a query whose
# WHERE clause names these literals, not bound parameters
CREDIT_KINDS = "kind IN (14, 15)"

Hash = String(66)
Address = String(42)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", SmallInteger, nullable=False),
    Column("campaign_id", BigInteger, nullable=False),
    Column("account", Address, nullable=False),
    Column("amount", U256, nullable=False),
    Column("detail", Hash, nullable=False),
    Column("head", Hash, nullable=False),
    Column("block_number", BigInteger, nullable=False),
    Column("block_hash", Hash, nullable=False),
    Column("block_timestamp", BigInteger, nullable=True),
    Column("tx_hash", Hash, nullable=False),
    Column("log_index", Integer, nullable=False),
    Column("final", Boolean, nullable=False, default=False),
    # the entry as the API serves it, without `final` (ledger/public.py); the indexer writes it
    # with the entry, migration 0003 filled the rows stored before it
    Column("public_json", Text, nullable=True),
    Index("ix_ledger_entries_campaign_seq", "campaign_id", "seq"),
    # the credit entries (kinds 14 and 15) alone, so a reorg rebuilds the credits from them without
    # scanning the ledger; a pledge's insert writes nothing to it
    Index(
        "ix_ledger_entries_credit_kinds",
        "seq",
        sqlite_where=text(CREDIT_KINDS),
        postgresql_where=text(CREDIT_KINDS),
    ),
    Index("ix_ledger_entries_account_seq", "account", "seq"),
    Index("ix_ledger_entries_block", "block_number"),
    Index("ix_ledger_entries_tx", "tx_hash"),
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("campaign_id", BigInteger, primary_key=True, autoincrement=False),
    Column("creator", Address, nullable=False),
    Column("token", Address, nullable=False),
    Column("goal", U256, nullable=False),
    Column("deadline", BigInteger, nullable=False),
    Column("max_per_backer", U256, nullable=False),
    Column("keep_it_all", Boolean, nullable=False),
    Column("fee_bps", Integer, nullable=False),
    Column("metadata_hash", Hash, nullable=False),
    Column("created_seq", BigInteger, nullable=False),
    Column("created_block", BigInteger, nullable=False),
    Column("created_timestamp", BigInteger, nullable=True),
    Column("pledged", U256, nullable=False),
    Column("backer_count", Integer, nullable=False),
    Column("cancelled", Boolean, nullable=False),
    Column("claimed", Boolean, nullable=False),
    Column("claimed_amount", U256, nullable=False),
    Column("claim_fee", U256, nullable=False),
    Column("refunded_total", U256, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("milestone", Boolean, nullable=False, server_default=false()),
    Column("tranche_count", Integer, nullable=False, server_default="0"),
    Column("tranches_released", Integer, nullable=False, server_default="0"),
    Column("aborted", Boolean, nullable=False, server_default=false()),
    Column("abort_cause", String(16), nullable=True),  # failed_vote | silence (records.Campaign)
    Column("holders", Integer, nullable=False, server_default="0"),
    Index("ix_campaigns_creator", "creator"),
    Index("ix_campaigns_token", "token"),
    Index("ix_campaigns_deadline", "deadline"),
    Index("ix_campaigns_pledged", "pledged"),
)

POSITION_INDEX_INCLUDE = [
    "balance",
    "pledged_total",
    "unpledged_total",
    "refunded_total",
    "first_seq",
    "last_seq",
]

positions = Table(
    "positions",
    metadata,
    Column("campaign_id", BigInteger, primary_key=True, autoincrement=False),
    Column("backer", Address, primary_key=True),
    Column("balance", U256, nullable=False),
    Column("pledged_total", U256, nullable=False),
    Column("unpledged_total", U256, nullable=False),
    Column("refunded_total", U256, nullable=False),
    Column("first_seq", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("voted_tranche", Integer, nullable=False, server_default="0"),
    # a backer's positions in campaign order; on PostgreSQL it carries the amounts too, so that
    # GET /backers/{address} is an index-only scan (one or two pages, not one heap page per row)
    Index("ix_positions_backer", "backer", "campaign_id", postgresql_include=POSITION_INDEX_INCLUDE),
)

# one row per milestone campaign (records.Milestones); tranche_bps is the plan as decimal basis
# points separated by commas, e.g. "2000,3000,5000"
milestones = Table(
    "milestones",
    metadata,
    Column("campaign_id", BigInteger, primary_key=True, autoincrement=False),
    Column("tranche_bps", String(80), nullable=False),
    Column("voting_period", BigInteger, nullable=False),
    Column("plan_seq", BigInteger, nullable=False),
    Column("tranches_released", Integer, nullable=False),
    Column("released_gross", U256, nullable=False),
    Column("released_paid", U256, nullable=False),
    Column("released_fees", U256, nullable=False),
    Column("vote_pending", Boolean, nullable=False),
    Column("vote_tranche", Integer, nullable=False),
    Column("report_hash", Hash, nullable=False),
    Column("request_seq", BigInteger, nullable=False),
    Column("requested_at", BigInteger, nullable=True),
    Column("vote_end", BigInteger, nullable=True),
    Column("approve_weight", U256, nullable=False),
    Column("reject_weight", U256, nullable=False),
    Column("voters", Integer, nullable=False),
    Column("aborted", Boolean, nullable=False),
    Column("abort_remaining", U256, nullable=False),
    Column("refunded", U256, nullable=False),
    Column("unrefunded_weight", U256, nullable=False),
    Column("dust", U256, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("claimed_at", BigInteger, nullable=True),
)

# one row per tranche paid (records.TrancheRelease): tranche 0 by claim (kind 5), the others by
# release (kind 11); `seq` finds a kind-11 entry's tranche and fee
tranche_releases = Table(
    "tranche_releases",
    metadata,
    Column("campaign_id", BigInteger, primary_key=True, autoincrement=False),
    Column("tranche", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("gross", U256, nullable=False),
    Column("amount", U256, nullable=False),
    Column("fee", U256, nullable=False),
    Column("report_hash", Hash, nullable=True),
    Column("approve_weight", U256, nullable=False),
    Column("reject_weight", U256, nullable=False),
    Column("block_number", BigInteger, nullable=False),
    Column("block_timestamp", BigInteger, nullable=True),
    Index("ix_tranche_releases_seq", "seq", unique=True),
)

# one row per vote (records.Vote)
votes = Table(
    "votes",
    metadata,
    Column("campaign_id", BigInteger, primary_key=True, autoincrement=False),
    Column("tranche", Integer, primary_key=True, autoincrement=False),
    Column("backer", Address, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("weight", U256, nullable=False),
    Column("approve", Boolean, nullable=False),
    Column("block_number", BigInteger, nullable=False),
    Column("block_timestamp", BigInteger, nullable=True),
    Index("ix_votes_backer", "backer", "campaign_id"),
)

# one row per disclosure (records.Disclosure)
disclosures = Table(
    "disclosures",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("campaign_id", BigInteger, nullable=False),
    Column("creator", Address, nullable=False),
    Column("document_hash", Hash, nullable=False),
    Column("block_number", BigInteger, nullable=False),
    Column("block_timestamp", BigInteger, nullable=True),
    Column("tx_hash", Hash, nullable=False),
    Index("ix_disclosures_campaign_seq", "campaign_id", "seq"),
)

fee_accounts = Table(
    "fee_accounts",
    metadata,
    Column("token", Address, primary_key=True),
    Column("accrued_total", U256, nullable=False),
    Column("withdrawn_total", U256, nullable=False),
)

# one row per (account, asset) that was ever credited a payout it could not receive (records.Credit)
credits = Table(
    "credits",
    metadata,
    Column("account", Address, primary_key=True),
    Column("token", Address, primary_key=True),
    Column("credited_total", U256, nullable=False),
    Column("withdrawn_total", U256, nullable=False),
)

# one row per campaign token (ledger.core.metadata.Token); ETH has none
tokens = Table(
    "tokens",
    metadata,
    Column("address", Address, primary_key=True),
    Column("symbol", String(64), nullable=False),
    Column("name", String(256), nullable=False),
    Column("decimals", Integer, nullable=False),
    Column("assumed", Boolean, nullable=False),
    Column("read_block", BigInteger, nullable=False),
)

# documents by their keccak256 (ledger.core.metadata.Document), written by the API alone
documents = Table(
    "documents",
    metadata,
    Column("hash", Hash, primary_key=True),
    Column("body", LargeBinary, nullable=False),
    Column("media_type", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("stored_at", BigInteger, nullable=False),
)

blocks = Table(
    "blocks",
    metadata,
    Column("number", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", Hash, nullable=False),
)

sync_state = Table(
    "sync_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("chain_id", BigInteger, nullable=False),
    Column("contract", Address, nullable=False),
    Column("start_block", BigInteger, nullable=False),
    Column("last_block", BigInteger, nullable=False),
    Column("last_block_hash", Hash, nullable=True),
    Column("last_seq", BigInteger, nullable=False),
    Column("last_head", Hash, nullable=False),
    Column("finality_depth", Integer, nullable=False),
    Column("final_block", BigInteger, nullable=False),
    Column("tip_block", BigInteger, nullable=False),
    Column("tip_timestamp", BigInteger, nullable=True),
)

APPEND_ONLY_MESSAGE = "ledger entry is final: the ledger is append-only"

SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER IF NOT EXISTS ledger_entries_final_no_update BEFORE UPDATE ON ledger_entries
    WHEN OLD.final = 1 BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS ledger_entries_final_no_delete BEFORE DELETE ON ledger_entries
    WHEN OLD.final = 1 BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END""",
]
SQLITE_DROP_TRIGGERS = [
    "DROP TRIGGER IF EXISTS ledger_entries_final_no_update",
    "DROP TRIGGER IF EXISTS ledger_entries_final_no_delete",
]

POSTGRES_TRIGGERS = [
    f"""CREATE OR REPLACE FUNCTION crowdledger_refuse_final_change() RETURNS trigger AS $$
    BEGIN
        IF OLD.final THEN
            RAISE EXCEPTION '{APPEND_ONLY_MESSAGE} (seq %)', OLD.seq
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS ledger_entries_append_only ON ledger_entries",
    """CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION crowdledger_refuse_final_change()""",
]
POSTGRES_DROP_TRIGGERS = [
    "DROP TRIGGER IF EXISTS ledger_entries_append_only ON ledger_entries",
    "DROP FUNCTION IF EXISTS crowdledger_refuse_final_change()",
]


def trigger_ddl(dialect: str, drop: bool = False) -> list[str]:
    """The statements that install (or remove) the append-only triggers on `dialect`."""
    if dialect == "postgresql":
        return POSTGRES_DROP_TRIGGERS if drop else POSTGRES_TRIGGERS
    return SQLITE_DROP_TRIGGERS if drop else SQLITE_TRIGGERS
