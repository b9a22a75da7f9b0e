"""Migration 0003 gives the entries stored before it their public text, and keeps the ledger
append-only: on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, text
from sqlalchemy.exc import DBAPIError

from ledger.core.public import stored_text
from ledger.core.records import Kind, LedgerEntry
from ledger.db.engine import alembic_config, open_database
from ledger.db.schema import ledger_entries
from ledger.db.store import LedgerStore
from tests.support.databases import fresh_database


def old_entries(count: int) -> list[LedgerEntry]:
    kinds = [Kind.CAMPAIGN_CREATED, Kind.PLEDGED, Kind.CLAIMED, Kind.FEES_WITHDRAWN, Kind.REFUNDED]
    return [
        LedgerEntry(
            seq=seq,
            kind=kinds[seq % len(kinds)],
            campaign_id=seq % 4,
            account="0x" + f"{seq * 7919:040x}",
            amount=seq * 10**18 if seq % 3 else 2**256 - 1,
            detail="0x" + f"{seq * 104729:064x}",
            head="0x" + f"{seq:064x}",
            block_number=seq,
            block_hash="0x" + f"{seq + 1:064x}",
            tx_hash="0x" + f"{seq + 2:064x}",
            log_index=0,
            block_timestamp=None if seq == 3 else 1_700_000_000 + seq,
        )
        for seq in range(1, count + 1)
    ]


@pytest.mark.parametrize("db_kind", ["sqlite", "postgresql"])
def test_the_migration_fills_the_public_texts_and_keeps_the_triggers(db_kind: str, tmp_path: Path) -> None:
    from alembic import command

    entries = old_entries(45)
    with fresh_database(db_kind, tmp_path) as url:
        engine = create_engine(url)
        config = alembic_config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0002")
            columns = [c.name for c in ledger_entries.columns if c.name != "public_json"]
            rows = [{**e._asdict(), "final": e.seq <= 40} for e in entries]
            conn.execute(insert(ledger_entries), [{name: row[name] for name in columns} for row in rows])
        engine.dispose()

        store = LedgerStore(open_database(url))  # upgrades to the newest revision
        try:
            stored = [pair for page in store.iter_entry_pages(batch=10) for pair in page]
            assert [entry for entry, _ in stored] == entries
            assert [public_json for _, public_json in stored] == [stored_text(e) for e in entries]
            with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
                conn.execute(text("UPDATE ledger_entries SET public_json = 'x' WHERE seq = 1"))
            with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
                conn.execute(text("DELETE FROM ledger_entries WHERE seq = 2"))
            with store.engine.begin() as conn:  # provisional entries may still be rolled back
                conn.execute(text("DELETE FROM ledger_entries WHERE seq = 45"))

            with store.engine.begin() as conn:
                config.attributes["connection"] = conn
                command.downgrade(config, "0002")
            with store.engine.connect() as conn:
                assert (
                    "public_json" not in conn.exec_driver_sql("SELECT * FROM ledger_entries").first()._fields
                )
            with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
                conn.execute(text("DELETE FROM ledger_entries WHERE seq = 2"))
        finally:
            store.engine.dispose()
