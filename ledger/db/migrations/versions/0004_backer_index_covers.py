"""a backer's positions are read from the index alone on PostgreSQL

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

ix_positions_backer (backer, campaign_id) INCLUDEs the position's amounts and seqs on PostgreSQL,
so GET /backers/{address} is an index-only scan. SQLite has no INCLUDE: its index is unchanged.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# as ledger.db.schema.POSITION_INDEX_INCLUDE was at this revision
INCLUDE = ["balance", "pledged_total", "unpledged_total", "refunded_total", "first_seq", "last_seq"]


def _recreate(include: list[str]) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_positions_backer", table_name="positions")
    op.create_index("ix_positions_backer", "positions", ["backer", "campaign_id"], postgresql_include=include)


def upgrade() -> None:
    _recreate(INCLUDE)


def downgrade() -> None:
    _recreate([])
