"""ledger.db.statements: a batch's rows reach the table whole and in order, however many there are,
on SQLite (multi-row statements) and PostgreSQL (executemany)."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import Engine

from ledger.db.engine import open_database
from ledger.db.statements import ROWS_PER_STATEMENT, Insert, Statements, execute


@pytest.fixture
def engine(db_url: str) -> Engine:
    return open_database(db_url)


def stored_blocks(engine: Engine) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.exec_driver_sql("SELECT number, hash FROM blocks ORDER BY number")]


@pytest.mark.parametrize("count", [0, 1, 2, 5, 63, 255, 256, 257, 341, 1200])
def test_every_row_is_written_once(engine: Engine, count: int) -> None:
    statements = Statements(engine.dialect.name)
    rows = [(n, f"0x{n:064x}") for n in range(1, count + 1)]
    with engine.begin() as conn:
        execute(conn, statements.upsert_blocks, rows)
    assert stored_blocks(engine) == rows


def test_an_upsert_updates_the_rows_already_there(engine: Engine) -> None:
    statements = Statements(engine.dialect.name)
    with engine.begin() as conn:
        execute(conn, statements.upsert_blocks, [(n, "0xold") for n in range(1, 301)])
    with engine.begin() as conn:
        execute(conn, statements.upsert_blocks, [(n, "0xnew") for n in range(200, 501)])
    kept, updated = [(n, "0xold") for n in range(1, 200)], [(n, "0xnew") for n in range(200, 501)]
    assert stored_blocks(engine) == kept + updated


def test_rows_are_cut_into_a_few_statement_sizes_in_order() -> None:
    insert = Insert("t", ["a", "b"], "?")
    rows = [(n, -n) for n in range(341)]  # 256 + 64 + 16 + 4 + 1
    pages = list(insert.pages(rows, 32_766))
    assert [text.count("(?, ?)") for text, _ in pages] == [256, 64, 16, 4, 1]
    assert [value for _, parameters in pages for value in parameters] == [v for row in rows for v in row]
    assert insert.sql == "INSERT INTO t (a, b) VALUES (?, ?)"
    assert ROWS_PER_STATEMENT[-1] == 1  # any count is reachable


@pytest.mark.parametrize("limit", [32_766, 999])  # SQLite's default since 3.32, and before it
def test_each_statement_keeps_within_the_parameter_limit(limit: int) -> None:
    insert = Insert("wide", [f"c{i}" for i in range(20)], "?")
    assert insert.sizes(32_766) == (256, 64, 16, 4, 1) and insert.sizes(999) == (16, 4, 1)
    pages = list(insert.pages([tuple(range(20))] * 300, limit))
    assert sum(len(parameters) for _, parameters in pages) == 300 * 20
    for text, parameters in pages:
        assert len(parameters) <= limit and text.count("?") == len(parameters)
    assert Insert("huge", [f"c{i}" for i in range(1200)], "?").sizes(999) == (1,)  # SQLite refuses it


def test_the_connections_own_limit_is_used(engine: Engine) -> None:
    """A SQLite built with a lower limit still takes a batch (here: the limit lowered to 999)."""
    statements = Statements(engine.dialect.name)
    rows = [(n, f"0x{n:064x}") for n in range(1, 1001)]
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.connection.driver_connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
        execute(conn, statements.upsert_blocks, rows)
    assert stored_blocks(engine) == rows
