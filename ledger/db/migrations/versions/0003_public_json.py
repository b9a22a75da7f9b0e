"""entries keep their public JSON text

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08

ledger_entries.public_json: the entry as the API serves it, without `final`
(ledger/public.py), written by the indexer with each entry. The rows stored before this
migration are filled here, from their own fields; the append-only triggers are lifted for that
one UPDATE and put back in the same transaction.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ledger.core.public import stored_texts
from ledger.db.rows import entry_from_row
from ledger.db.schema import ledger_entries, trigger_ddl

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BATCH = 20_000


def upgrade() -> None:
    op.add_column("ledger_entries", sa.Column("public_json", sa.Text(), nullable=True))
    conn = op.get_bind()
    dialect = conn.dialect.name
    for statement in trigger_ddl(dialect, drop=True):
        conn.execute(sa.text(statement))
    table = ledger_entries
    fill = sa.text("UPDATE ledger_entries SET public_json = :text WHERE seq = :seq")
    after = 0
    while True:
        rows = conn.execute(
            sa.select(table).where(table.c.seq > after).order_by(table.c.seq).limit(BATCH)
        ).all()
        if not rows:
            break
        entries = [entry_from_row(row) for row in rows]
        conn.execute(fill, [{"text": text, "seq": e.seq} for e, text in zip(entries, stored_texts(entries))])
        after = rows[-1].seq
    for statement in trigger_ddl(dialect):
        conn.execute(sa.text(statement))


def downgrade() -> None:
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:  # SQLite: a new table, no triggers
        batch_op.drop_column("public_json")
    conn = op.get_bind()
    for statement in trigger_ddl(conn.dialect.name):
        conn.execute(sa.text(statement))
