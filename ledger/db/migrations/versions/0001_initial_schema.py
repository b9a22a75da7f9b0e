"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22

The tables of ledger/db/schema.py and the triggers that make final ledger entries append-only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ledger.db.schema import trigger_ddl
from ledger.db.types import U256

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blocks",
        sa.Column("number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("number"),
    )
    op.create_table(
        "campaigns",
        sa.Column("campaign_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("creator", sa.String(length=42), nullable=False),
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("goal", U256(), nullable=False),
        sa.Column("deadline", sa.BigInteger(), nullable=False),
        sa.Column("max_per_backer", U256(), nullable=False),
        sa.Column("keep_it_all", sa.Boolean(), nullable=False),
        sa.Column("fee_bps", sa.Integer(), nullable=False),
        sa.Column("metadata_hash", sa.String(length=66), nullable=False),
        sa.Column("created_seq", sa.BigInteger(), nullable=False),
        sa.Column("created_block", sa.BigInteger(), nullable=False),
        sa.Column("created_timestamp", sa.BigInteger(), nullable=True),
        sa.Column("pledged", U256(), nullable=False),
        sa.Column("backer_count", sa.Integer(), nullable=False),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("claimed", sa.Boolean(), nullable=False),
        sa.Column("claimed_amount", U256(), nullable=False),
        sa.Column("claim_fee", U256(), nullable=False),
        sa.Column("refunded_total", U256(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("campaign_id"),
    )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.create_index("ix_campaigns_creator", ["creator"], unique=False)
        batch_op.create_index("ix_campaigns_deadline", ["deadline"], unique=False)
        batch_op.create_index("ix_campaigns_pledged", ["pledged"], unique=False)
        batch_op.create_index("ix_campaigns_token", ["token"], unique=False)

    op.create_table(
        "fee_accounts",
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("accrued_total", U256(), nullable=False),
        sa.Column("withdrawn_total", U256(), nullable=False),
        sa.PrimaryKeyConstraint("token"),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("account", sa.String(length=42), nullable=False),
        sa.Column("amount", U256(), nullable=False),
        sa.Column("detail", sa.String(length=66), nullable=False),
        sa.Column("head", sa.String(length=66), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("block_timestamp", sa.BigInteger(), nullable=True),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_entries_account_seq", ["account", "seq"], unique=False)
        batch_op.create_index("ix_ledger_entries_block", ["block_number"], unique=False)
        batch_op.create_index("ix_ledger_entries_campaign_seq", ["campaign_id", "seq"], unique=False)
        batch_op.create_index("ix_ledger_entries_tx", ["tx_hash"], unique=False)

    op.create_table(
        "positions",
        sa.Column("campaign_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("backer", sa.String(length=42), nullable=False),
        sa.Column("balance", U256(), nullable=False),
        sa.Column("pledged_total", U256(), nullable=False),
        sa.Column("unpledged_total", U256(), nullable=False),
        sa.Column("refunded_total", U256(), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", "backer"),
    )
    with op.batch_alter_table("positions", schema=None) as batch_op:
        batch_op.create_index("ix_positions_backer", ["backer", "campaign_id"], unique=False)

    op.create_table(
        "sync_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("contract", sa.String(length=42), nullable=False),
        sa.Column("start_block", sa.BigInteger(), nullable=False),
        sa.Column("last_block", sa.BigInteger(), nullable=False),
        sa.Column("last_block_hash", sa.String(length=66), nullable=True),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_head", sa.String(length=66), nullable=False),
        sa.Column("finality_depth", sa.Integer(), nullable=False),
        sa.Column("final_block", sa.BigInteger(), nullable=False),
        sa.Column("tip_block", sa.BigInteger(), nullable=False),
        sa.Column("tip_timestamp", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    for statement in trigger_ddl(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    for statement in trigger_ddl(op.get_bind().dialect.name, drop=True):
        op.execute(statement)
    op.drop_table("sync_state")
    with op.batch_alter_table("positions", schema=None) as batch_op:
        batch_op.drop_index("ix_positions_backer")

    op.drop_table("positions")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entries_tx")
        batch_op.drop_index("ix_ledger_entries_campaign_seq")
        batch_op.drop_index("ix_ledger_entries_block")
        batch_op.drop_index("ix_ledger_entries_account_seq")

    op.drop_table("ledger_entries")
    op.drop_table("fee_accounts")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_index("ix_campaigns_token")
        batch_op.drop_index("ix_campaigns_pledged")
        batch_op.drop_index("ix_campaigns_deadline")
        batch_op.drop_index("ix_campaigns_creator")

    op.drop_table("campaigns")
    op.drop_table("blocks")
