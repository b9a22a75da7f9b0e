"""Driver-level statements for the indexer's batch writes, and how a batch's rows reach the database.

Rows are plain tuples and the SQL is compiled once per table, not per row. The SQL is the same on
SQLite and PostgreSQL (ON CONFLICT ... DO UPDATE); only the parameter style differs, and how many
rows one statement carries:

- PostgreSQL: psycopg's `executemany`, which sends every row in one pipeline.
- SQLite: multi-row `INSERT ... VALUES (...), (...), ...` statements of up to 256 rows, within
  the connection's limit on a statement's parameters (32,766 since SQLite 3.32, 999 before).
  `sqlite3`'s `executemany` steps each row separately, giving the GIL up around every
  `sqlite3_step` and taking it back for the next row; beside a thread that runs Python (the
  indexer's main thread preparing the next batch) each of those takes waits for the switch
  interval. Measured (100,000 ledger rows in batches of 1,200 beside a thread running Python, switch
  interval 0.5 ms): `executemany` 15.7-18.6 s, 256-row statements 1.0-1.4 s; alone, 0.59 against
  0.51-0.54 s. A page shorter than a whole statement goes in statements of 64, 16, 4 and 1 rows, so
  each table has at most five statement texts and `sqlite3`'s statement cache keeps them all
  prepared.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import chain
from typing import Any

from sqlalchemy import Connection

from ledger.core.metadata import Token
from ledger.core.records import Position
from ledger.db.rows import TABLES, columns
from ledger.db.schema import ledger_entries

Row = tuple[Any, ...]
ROWS_PER_STATEMENT = (256, 64, 16, 4, 1)  # SQLite: the statement sizes a batch's rows are cut into


def placeholders(mark: str, count: int) -> str:
    """`(mark, mark, ...)`: `count` parameters in a dialect's style."""
    return "(" + ", ".join([mark] * count) + ")"


class Insert:
    """An INSERT (or upsert) of one table's rows: `sql` for one row; on SQLite, `pages` cuts many
    rows into multi-row statements."""

    __slots__ = ("_head", "_row", "_tail", "_texts", "columns", "sql")

    def __init__(self, table: str, names: Sequence[str], mark: str, tail: str = "") -> None:
        self._head = f"INSERT INTO {table} ({', '.join(names)}) VALUES "
        self._row = placeholders(mark, len(names))
        self._tail = f" {tail}" if tail else ""
        self.columns = len(names)
        self.sql = self._head + self._row + self._tail
        self._texts: dict[int, str] = {}

    def __str__(self) -> str:
        return self.sql

    def sizes(self, max_parameters: int) -> tuple[int, ...]:
        """The statement sizes (rows) whose parameters stay within `max_parameters`."""
        return tuple(n for n in ROWS_PER_STATEMENT if n * self.columns <= max_parameters) or (1,)

    def pages(self, rows: Sequence[Row], max_parameters: int) -> Iterator[tuple[str, Row]]:
        """(statement, its parameters) for every row of `rows`, in order, each statement within
        `max_parameters` parameters."""
        start, count = 0, len(rows)
        for size in self.sizes(max_parameters):
            while count - start >= size:
                text = self._texts.get(size)
                if text is None:
                    text = self._texts[size] = self._head + ", ".join([self._row] * size) + self._tail
                yield text, tuple(chain.from_iterable(rows[start : start + size]))
                start += size


Statement = Insert | str  # an Insert, or any other statement run once per row (UPDATE, DELETE)
Write = tuple[Statement, Sequence[Row]]


def execute(conn: Connection, statement: Statement, rows: Sequence[Row]) -> None:
    """Run `statement` for each of `rows` (see the module's docstring)."""
    if isinstance(statement, Insert) and len(rows) > 1 and conn.dialect.name == "sqlite":
        import sqlite3  # only here: SQLite's own constant

        driver = conn.connection.driver_connection
        limit = driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) if driver is not None else 999
        for text, parameters in statement.pages(rows, limit):
            conn.exec_driver_sql(text, parameters)
    elif rows:
        conn.exec_driver_sql(str(statement), list(rows))


class Statements:
    """The indexer's statements in one dialect's parameter style."""

    def __init__(self, dialect: str) -> None:
        mark = "%s" if dialect == "postgresql" else "?"
        self.mark = mark
        self.insert_entries = Insert("ledger_entries", [c.name for c in ledger_entries.columns], mark)
        keys = {
            record_type: [c.name for c in table.primary_key.columns] for record_type, table in TABLES.items()
        }
        self.upserts = {
            record_type: self._upsert(TABLES[record_type].name, list(columns(record_type)), keys[record_type])
            for record_type in TABLES
        }
        self.select = {  # by the first key column
            record_type: f"SELECT {', '.join(columns(record_type))} FROM {TABLES[record_type].name} "
            f"WHERE {keys[record_type][0]} IN "
            for record_type in TABLES
        }
        self.select_positions = (
            f"SELECT {', '.join(columns(Position))} FROM positions WHERE campaign_id = {mark} AND backer IN "
        )
        self.upsert_blocks = self._upsert("blocks", ["number", "hash"], ["number"])
        # a token's metadata is read once: a row already there stays
        self.insert_tokens = Insert("tokens", list(columns(Token)), mark, "ON CONFLICT (address) DO NOTHING")
        self.mark_final = (
            f"UPDATE ledger_entries SET final = TRUE WHERE block_number > {mark} AND block_number <= {mark} "
            "AND final = FALSE"
        )
        self.prune_blocks = (
            f"DELETE FROM blocks WHERE number < (SELECT max(number) FROM blocks WHERE number <= {mark})"
        )

    def _upsert(self, table: str, names: list[str], keys: list[str]) -> Insert:
        updates = ", ".join(f"{n} = excluded.{n}" for n in names if n not in keys)
        return Insert(table, names, self.mark, f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}")

    def placeholders(self, count: int) -> str:
        return placeholders(self.mark, count)
