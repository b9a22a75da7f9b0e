"""Many-row writes for the indexer's batches: `execute_many(conn, statement, rows)` inside a
transaction, `commit_steps(engine, steps)` as a whole transaction.

On SQLite it hands the rows to ledger._sqlite_bulk (C), which binds and steps them all with the
GIL released; sqlite3's executemany gives the GIL up and takes it back around every row, and in
a backfill the fetch and decode threads are waiting for it. Everywhere else (PostgreSQL, the C
module not built, CROWDLEDGER_NO_SPEEDUPS=1, a value it does not take, any SQLite error) the rows
go through the driver's executemany as before, so results and errors are the driver's own.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import PoolProxiedConnection

from ledger import native

try:
    from ledger import _sqlite_bulk
except ImportError:  # not built: executemany does everything
    _sqlite_bulk = None

_CHECKED = "crowdledger_bulk_handle_checked"  # the pool's info key, kept for the connection's life


def _handle_checked(pooled: PoolProxiedConnection) -> bool:
    """Whether the C module reads the right SQLite handle from this pooled connection: the
    database file it names must be the one the connection itself reports (PRAGMA database_list).
    Checked once per DB-API connection."""
    info = pooled.info
    known = info.get(_CHECKED)
    if known is None:
        driver_connection = pooled.driver_connection
        named = _sqlite_bulk.filename(driver_connection)
        reported = next((row[2] for row in driver_connection.execute("PRAGMA database_list") if row[1] == "main"), None)
        known = info[_CHECKED] = named is not None and named == reported
    return known


def execute_many(conn: Connection, statement: str, rows: list[tuple[Any, ...]]) -> None:
    """Run `statement` (one INSERT, UPDATE or DELETE, driver parameter style) once per row, in one go."""
    if not rows:
        return
    if _sqlite_bulk is not None and native.available and conn.dialect.name == "sqlite":
        pooled = conn.connection
        if _handle_checked(pooled) and _sqlite_bulk.insert_many(pooled.driver_connection, statement, rows):
            return
    conn.exec_driver_sql(statement, rows)


Step = tuple[str, list[tuple[Any, ...]]] | tuple[str, list[tuple[Any, ...]], int]


def commit_steps(engine: Engine, steps: list[Step]) -> bool:
    """On SQLite, run every step, (statement, rows) or (statement, rows, changes), over its rows in
    one transaction of its own, by C with the GIL given up once, and commit: True when committed.
    A step with `changes` must change exactly that many rows. False when nothing was done: not
    SQLite, the C module not in use, a value it does not take, an SQLite error, or a step that
    changed another number of rows; the caller then writes the same rows the ordinary way."""
    if _sqlite_bulk is None or not native.available or engine.dialect.name != "sqlite":
        return False
    pooled = engine.raw_connection()
    try:
        return _handle_checked(pooled) and _sqlite_bulk.commit_steps(pooled.driver_connection, steps)
    finally:
        pooled.close()
