"""the escrow's exits (issue 18), token metadata and documents (issue 20)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-15

- campaigns.abort_cause (failed_vote | silence) and campaigns.holders (positions with a balance
  now); campaigns.backer_count now counts every address that ever pledged. Existing rows are filled
  from their positions: backer_count = positions with pledged_total > 0, holders = positions with
  balance > 0; abort_cause = failed_vote for a campaign already aborted (kind 16 did not exist).
- milestones.claimed_at: when tranche 0 was claimed (its tranche_releases row's block time).
- credits: payouts credited instead of paid (kind 14) and withdrawn since (kind 15).
- tokens: each campaign token's symbol, name and decimals; documents: documents by keccak256.
- ix_ledger_entries_credit_kinds: the kind-14 and kind-15 entries alone (a partial index).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ledger.db.types import U256

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

CREDIT_KINDS = sa.text("kind IN (14, 15)")


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("abort_cause", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("holders", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("milestones", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_at", sa.BigInteger(), nullable=True))

    zero = sa.bindparam("zero", 0, type_=U256())  # 78 zeros on SQLite, 0 on PostgreSQL
    op.get_bind().execute(
        sa.text(
            "UPDATE campaigns SET "
            "backer_count = (SELECT count(*) FROM positions p "
            "WHERE p.campaign_id = campaigns.campaign_id AND p.pledged_total <> :zero), "
            "holders = (SELECT count(*) FROM positions p "
            "WHERE p.campaign_id = campaigns.campaign_id AND p.balance <> :zero), "
            "abort_cause = CASE WHEN aborted THEN 'failed_vote' ELSE NULL END"
        ).bindparams(zero)
    )
    op.get_bind().execute(
        sa.text(
            "UPDATE milestones SET claimed_at = (SELECT t.block_timestamp FROM tranche_releases t "
            "WHERE t.campaign_id = milestones.campaign_id AND t.tranche = 0)"
        )
    )

    op.create_table(
        "credits",
        sa.Column("account", sa.String(length=42), nullable=False),
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("credited_total", U256(), nullable=False),
        sa.Column("withdrawn_total", U256(), nullable=False),
        sa.PrimaryKeyConstraint("account", "token"),
    )
    op.create_table(
        "tokens",
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("decimals", sa.Integer(), nullable=False),
        sa.Column("assumed", sa.Boolean(), nullable=False),
        sa.Column("read_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("address"),
    )
    op.create_table(
        "documents",
        sa.Column("hash", sa.String(length=66), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("stored_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("hash"),
    )
    op.create_index(
        "ix_ledger_entries_credit_kinds",
        "ledger_entries",
        ["seq"],
        sqlite_where=CREDIT_KINDS,
        postgresql_where=CREDIT_KINDS,
    )


def downgrade() -> None:
    op.drop_index("ix_ledger_entries_credit_kinds", table_name="ledger_entries")
    op.drop_table("documents")
    op.drop_table("tokens")
    op.drop_table("credits")
    with op.batch_alter_table("milestones", schema=None) as batch_op:
        batch_op.drop_column("claimed_at")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("holders")
        batch_op.drop_column("abort_cause")
    op.get_bind().execute(
        sa.text(
            "UPDATE campaigns SET backer_count = (SELECT count(*) FROM positions p "
            "WHERE p.campaign_id = campaigns.campaign_id AND p.balance <> :zero)"
        ).bindparams(sa.bindparam("zero", 0, type_=U256()))
    )
