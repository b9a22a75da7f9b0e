"""ledger.db.bulk.execute_many: on SQLite the C module stores exactly what executemany stores,
and anything it does not take (a value type, a failing row, another driver) goes through
executemany with the driver's own result or error."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from ledger import native
from ledger.db import bulk
from tests.support.answers import record_answers

INSERT = "INSERT INTO t (a, b, c) VALUES (?, ?, ?)"
ROWS = [(i, f"text {i} \u00e9\u20ac", i / 7 if i % 3 else None) for i in range(1, 2_001)] + [(2**63 - 1, "", -1.5)]


@pytest.fixture()
def engine(tmp_path: Path):
    engine = create_engine(f"sqlite:///{tmp_path / 'bulk.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT, c REAL)"))
    yield engine
    engine.dispose()


def stored(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text("SELECT a, b, c, typeof(c) FROM t ORDER BY a"))]


def counting(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """The C module's answers, one per insert_many call."""
    return record_answers(monkeypatch, bulk._sqlite_bulk, "insert_many")


def test_the_module_is_built() -> None:
    assert bulk._sqlite_bulk is not None, "ledger._sqlite_bulk was not built: run `pip install -e .` (needs a C compiler)"


def test_the_c_path_stores_what_executemany_stores(engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = counting(monkeypatch)
    with engine.begin() as conn:
        bulk.execute_many(conn, INSERT, ROWS)
    assert answers == [True]
    reference = create_engine(f"sqlite:///{tmp_path / 'reference.db'}")
    with reference.begin() as conn:
        conn.execute(text("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT, c REAL)"))
        conn.exec_driver_sql(INSERT, ROWS)
    assert stored(engine) == stored(reference)
    reference.dispose()


def test_a_rolled_back_transaction_keeps_nothing(engine, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = counting(monkeypatch)
    with pytest.raises(RuntimeError), engine.begin() as conn:  # the C path opened the transaction itself
        bulk.execute_many(conn, INSERT, ROWS[:10])
        raise RuntimeError("the caller fails after the insert")
    assert answers == [True]
    assert stored(engine) == []


def test_a_failing_row_changes_nothing_and_raises_the_drivers_error(engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with engine.begin() as conn:
        bulk.execute_many(conn, INSERT, [(5, "five", None)])
    answers = counting(monkeypatch)
    with pytest.raises(IntegrityError, match="UNIQUE constraint failed"), engine.begin() as conn:
        bulk.execute_many(conn, INSERT, [(4, "four", None), (5, "again", None), (6, "six", None)])
    assert answers == [False]  # declined after rolling its rows back; executemany raised
    assert stored(engine) == [(5, "five", None, "null")]
    with engine.begin() as conn:  # the savepoint is gone: the connection works on
        bulk.execute_many(conn, INSERT, [(4, "four", None)])
    assert [row[0] for row in stored(engine)] == [4, 5]


@pytest.mark.parametrize(
    "rows",
    [[(1, b"bytes", None)], [(2**63, "too wide for int64", None)], [[1, "a list, not a tuple", None]],
     [(1, "short row")], [(1, "x", None), (2, "x")]],
    ids=["bytes", "wide-int", "list-row", "short-row", "ragged"],
)
def test_values_it_does_not_take_go_through_executemany(engine, monkeypatch: pytest.MonkeyPatch, rows) -> None:
    answers = counting(monkeypatch)
    try:
        with engine.begin() as conn:
            bulk.execute_many(conn, INSERT, rows)
        outcome: object = stored(engine)
    except Exception as exc:  # noqa: BLE001 - compared with executemany's own outcome below
        outcome = type(exc)
    assert answers == [False]
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM t"))
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(INSERT, rows)
        reference: object = stored(engine)
    except Exception as exc:  # noqa: BLE001
        reference = type(exc)
    assert outcome == reference


def test_without_speedups_or_on_another_connection_nothing_runs_in_c(engine, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = counting(monkeypatch)
    monkeypatch.setattr(native, "available", False)
    with engine.begin() as conn:
        bulk.execute_many(conn, INSERT, ROWS[:3])
    assert answers == [] and len(stored(engine)) == 3
    raw = sqlite3.connect(":memory:")
    raw.execute("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT, c REAL)")
    assert bulk._sqlite_bulk.insert_many(raw, INSERT + "; DELETE FROM t", ROWS[:1]) is False  # two statements
    assert bulk._sqlite_bulk.insert_many(raw, "INSERT INTO t (a) VALUES (?)", ROWS[:1]) is False  # one parameter
    assert bulk._sqlite_bulk.insert_many(raw, INSERT + " ;\n", ROWS[:1]) is True
    assert raw.execute("SELECT count(*) FROM t").fetchone() == (1,)
    assert bulk._sqlite_bulk.insert_many(object(), INSERT, ROWS[:1]) is False  # not a sqlite3.Connection
    assert bulk._sqlite_bulk.filename(object()) is None
    closed = sqlite3.connect(":memory:")
    closed.close()
    assert bulk._sqlite_bulk.insert_many(closed, INSERT, ROWS[:1]) is False


# ------------------------------------------------------------------ commit_steps: a whole transaction

GUARD = "UPDATE t SET b = ? WHERE a = ?"  # the guarded step: must change exactly one row


def test_commit_steps_commits_every_step_at_once(engine) -> None:
    steps = [(INSERT, ROWS[:100]), ("DELETE FROM t WHERE a > ?", [(90,)]), ("UPDATE t SET c = NULL", [()]),
             (GUARD, [("guarded", 1)], 1), (INSERT, [])]
    assert bulk.commit_steps(engine, steps) is True
    reference = [(a, "guarded" if a == 1 else b, None, "null") for a, b, _ in ROWS[:90]]
    assert stored(engine) == reference
    with engine.connect() as conn:  # committed, and the pooled connection is left with no transaction
        assert not conn.connection.driver_connection.in_transaction


@pytest.mark.parametrize(
    "bad_step",
    [(GUARD, [("x", 999)], 1), (INSERT, [(1, "again", None)]), ("UPDATE nowhere SET a = 1", [()]),
     (INSERT, [(5000, b"bytes", None)]), (INSERT, [(5000, "x")]), [INSERT, [(5000, "x", None)]], (GUARD, [], 1)],
    ids=["guard-misses", "unique", "no-table", "bytes", "short-row", "list-step", "guard-without-rows"],
)
def test_commit_steps_changes_nothing_when_a_step_fails_or_is_declined(engine, bad_step) -> None:
    assert bulk.commit_steps(engine, [(INSERT, ROWS[:3])]) is True
    before = stored(engine)
    assert bulk.commit_steps(engine, [(INSERT, ROWS[3:50]), (GUARD, [("changed", 2)], 1), bad_step]) is False
    assert stored(engine) == before
    assert bulk.commit_steps(engine, [(GUARD, [("works on", 2)], 1)]) is True  # the connection works on
    assert stored(engine)[1][1] == "works on"


def test_commit_steps_needs_its_own_transaction_and_sqlite(engine, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = sqlite3.connect(":memory:")
    raw.execute("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT, c REAL)")
    raw.execute("INSERT INTO t VALUES (1, 'open', NULL)")  # the sqlite3 module opened a transaction
    assert raw.in_transaction
    assert bulk._sqlite_bulk.commit_steps(raw, [(INSERT, ROWS[1:2])]) is False
    raw.rollback()
    assert raw.execute("SELECT count(*) FROM t").fetchone() == (0,)
    assert bulk._sqlite_bulk.commit_steps(object(), [(INSERT, ROWS[1:2])]) is False
    monkeypatch.setattr(native, "available", False)
    assert bulk.commit_steps(engine, [(INSERT, ROWS[:1])]) is False
    assert stored(engine) == []
