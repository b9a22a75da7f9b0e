"""ledger.db.engine: the SQLite settings every connection gets."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ledger.db.engine import PAGE_SIZE, WAL_CHECKPOINT_BYTES, open_database


def settings(url: str) -> dict[str, object]:
    engine = open_database(url)
    with engine.connect() as conn:
        values = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("page_size", "journal_mode", "synchronous", "wal_autocheckpoint")
        }
    engine.dispose()
    return values


def test_a_new_database_gets_large_pages_and_checkpoints_every_64_mib(tmp_path: Path) -> None:
    assert settings(f"sqlite:///{tmp_path / 'new.db'}") == {
        "page_size": PAGE_SIZE,
        "journal_mode": "wal",
        "synchronous": 1,
        "wal_autocheckpoint": WAL_CHECKPOINT_BYTES // PAGE_SIZE,
    }
    assert WAL_CHECKPOINT_BYTES // PAGE_SIZE * PAGE_SIZE == 64 << 20


def test_a_database_keeps_the_page_size_it_was_created_with(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:  # made before PAGE_SIZE: SQLite's default 4 KiB pages
        old.execute("CREATE TABLE kept (a)")
    assert settings(f"sqlite:///{path}") == {
        "page_size": 4096,
        "journal_mode": "wal",
        "synchronous": 1,
        "wal_autocheckpoint": (64 << 20) // 4096,
    }
    with sqlite3.connect(path) as reopened:
        assert reopened.execute("SELECT name FROM sqlite_master WHERE name = 'kept'").fetchone() == ("kept",)
