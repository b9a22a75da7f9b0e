"""milestone campaigns

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

Ledger kinds 8-13 (issue 7): the milestones, tranche_releases, votes and disclosures tables, the
campaigns' milestone columns and the positions' last voted tranche. Existing rows are plain
campaigns and positions with no vote: the new columns default to false / 0.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ledger.db.types import U256

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("milestone", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("tranche_count", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("tranches_released", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("aborted", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("positions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("voted_tranche", sa.Integer(), nullable=False, server_default="0"))

    op.create_table(
        "milestones",
        sa.Column("campaign_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tranche_bps", sa.String(length=80), nullable=False),
        sa.Column("voting_period", sa.BigInteger(), nullable=False),
        sa.Column("plan_seq", sa.BigInteger(), nullable=False),
        sa.Column("tranches_released", sa.Integer(), nullable=False),
        sa.Column("released_gross", U256(), nullable=False),
        sa.Column("released_paid", U256(), nullable=False),
        sa.Column("released_fees", U256(), nullable=False),
        sa.Column("vote_pending", sa.Boolean(), nullable=False),
        sa.Column("vote_tranche", sa.Integer(), nullable=False),
        sa.Column("report_hash", sa.String(length=66), nullable=False),
        sa.Column("request_seq", sa.BigInteger(), nullable=False),
        sa.Column("requested_at", sa.BigInteger(), nullable=True),
        sa.Column("vote_end", sa.BigInteger(), nullable=True),
        sa.Column("approve_weight", U256(), nullable=False),
        sa.Column("reject_weight", U256(), nullable=False),
        sa.Column("voters", sa.Integer(), nullable=False),
        sa.Column("aborted", sa.Boolean(), nullable=False),
        sa.Column("abort_remaining", U256(), nullable=False),
        sa.Column("refunded", U256(), nullable=False),
        sa.Column("unrefunded_weight", U256(), nullable=False),
        sa.Column("dust", U256(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("campaign_id"),
    )
    op.create_table(
        "tranche_releases",
        sa.Column("campaign_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tranche", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("gross", U256(), nullable=False),
        sa.Column("amount", U256(), nullable=False),
        sa.Column("fee", U256(), nullable=False),
        sa.Column("report_hash", sa.String(length=66), nullable=True),
        sa.Column("approve_weight", U256(), nullable=False),
        sa.Column("reject_weight", U256(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_timestamp", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("campaign_id", "tranche"),
    )
    with op.batch_alter_table("tranche_releases", schema=None) as batch_op:
        batch_op.create_index("ix_tranche_releases_seq", ["seq"], unique=True)

    op.create_table(
        "votes",
        sa.Column("campaign_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tranche", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("backer", sa.String(length=42), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("weight", U256(), nullable=False),
        sa.Column("approve", sa.Boolean(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_timestamp", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("campaign_id", "tranche", "backer"),
    )
    with op.batch_alter_table("votes", schema=None) as batch_op:
        batch_op.create_index("ix_votes_backer", ["backer", "campaign_id"], unique=False)

    op.create_table(
        "disclosures",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("creator", sa.String(length=42), nullable=False),
        sa.Column("document_hash", sa.String(length=66), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_timestamp", sa.BigInteger(), nullable=True),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("disclosures", schema=None) as batch_op:
        batch_op.create_index("ix_disclosures_campaign_seq", ["campaign_id", "seq"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("disclosures", schema=None) as batch_op:
        batch_op.drop_index("ix_disclosures_campaign_seq")
    op.drop_table("disclosures")
    with op.batch_alter_table("votes", schema=None) as batch_op:
        batch_op.drop_index("ix_votes_backer")
    op.drop_table("votes")
    with op.batch_alter_table("tranche_releases", schema=None) as batch_op:
        batch_op.drop_index("ix_tranche_releases_seq")
    op.drop_table("tranche_releases")
    op.drop_table("milestones")
    with op.batch_alter_table("positions", schema=None) as batch_op:
        batch_op.drop_column("voted_tranche")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("aborted")
        batch_op.drop_column("tranches_released")
        batch_op.drop_column("tranche_count")
        batch_op.drop_column("milestone")
