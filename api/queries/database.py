"""The API's connection to the indexed ledger: read-only SQL on the drivers themselves, without
an ORM between the statement and its rows (a hot route's query takes tens of microseconds).

    db = open_reader(settings.db_url, pool_size=4)
    await db.open()
    rows = await db.fetch(CAMPAIGN, {"id": 7})               # a lookup by key: one row
    rows = await db.fetch(PAGE, {"n": 51}, rows=51)          # a keyset page of up to 51 rows
    rows = await db.fetch(COUNT, {}, rows=None)              # work not bounded by its rows
    await db.close()

- PostgreSQL: psycopg 3 on an `AsyncConnectionPool` driven by the event loop, so the loop serves
  other requests while the server works. Connections run in autocommit (every statement sees the
  newest committed batch), prepare each statement on first use and use generic plans: the API's
  statements are key lookups and keyset pages whose best plan is the same for any value, and
  PostgreSQL otherwise re-plans them on every run. A connection the server dropped is replaced
  and the statement sent once more.
- SQLite: the standard `sqlite3` module, a small pool of read-only connections in autocommit
  (no transaction stays open, so readers never pin an old WAL snapshot). A lookup by key or a
  keyset page of at most INLINE_ROWS rows runs on the event loop: measured on a 213,000-entry
  ledger, a lookup by key takes 13-17 us and a 50-row page ~75 us, while the hop to a worker thread
  and back alone costs ~75 us of wall time (docs/architecture.md, "API and page"). Anything that may
  read more (larger pages, counts, filters, totals, the stream) runs in a worker thread.

Statements are written once with `:name` parameters (`Query`); driver errors become StorageError
(HTTP 503).
"""

from __future__ import annotations

import re
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any
from weakref import WeakKeyDictionary

import anyio.to_thread
import psycopg
from psycopg import AsyncConnection, AsyncCursor
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy.engine import make_url

from ledger.db.engine import BUSY_TIMEOUT_MS
from ledger.db.types import to_sqlite_u256
from ledger.errors import StorageError

INLINE_ROWS = 100  # SQLite: bounded statements of up to this many rows run on the event loop (see above)
READ_MMAP = 1 << 31  # bytes of the SQLite file a connection maps (SQLite caps it at its own limit)
IDLE_SQLITE = 8  # SQLite connections kept open between reads
BACKGROUND_THREADS = 2  # SQLite: worker threads the event stream's reads may use at once
POOL_TIMEOUT = 5.0  # seconds a PostgreSQL read waits for a connection before it is a 503

# :name parameters, only where SQL puts a value (after a space, '(', ',' or an operator), so the
# ':' inside string literals and PostgreSQL's '::' casts are never taken for one
PARAM = re.compile(r"(?<=[\s(,=<>]):([a-z_][a-z0-9_]*)")

Params = Mapping[str, Any]
Row = tuple[Any, ...]


class Query:
    """One SQL statement with `:name` parameters, in each driver's parameter style."""

    __slots__ = ("postgresql", "sqlite")

    def __init__(self, sql: str) -> None:
        self.sqlite = sql
        self.postgresql = PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))

    def __repr__(self) -> str:
        return f"Query({self.sqlite!r})"


def select_list(alias: str, names: Iterable[str]) -> str:
    """`alias.column, ...`: a record's columns (ledger.db.rows.columns) in a SELECT list."""
    return ", ".join(f"{alias}.{name}" for name in names)


def storage_error(exc: BaseException) -> StorageError:
    """A driver error as the StorageError the API answers 503 for."""
    text = str(exc).strip()
    reason = text.splitlines()[0] if text else type(exc).__name__
    return StorageError(f"database error: {reason}")


class Database(ABC):
    """Read-only access to the ledger's database, shared by every request of the process."""

    dialect: str

    @abstractmethod
    async def open(self) -> None:
        """Get ready to read (on the event loop that will run the reads)."""

    @abstractmethod
    async def close(self) -> None:
        """Close every connection."""

    @abstractmethod
    async def fetch(
        self, query: Query, params: Params | None = None, *, rows: int | None = 1, background: bool = False
    ) -> list[Row]:
        """The rows of `query`. `rows` is the most it returns when its work is bounded by them (a
        lookup by key, a keyset page), None when it is not (a count, a filter, a total): on
        SQLite that decides whether it runs on the event loop or in a worker thread.
        `background`: work for no request in particular (the event stream's reads): on SQLite it
        runs in a worker thread of its own small lane, so it never waits for nor holds up the
        threads of the requests' reads."""

    @abstractmethod
    def u256(self, value: int) -> Any:
        """A uint256 parameter compared with a U256 column."""


class SqliteDatabase(Database):
    """SQLite through `sqlite3`: bounded reads of up to INLINE_ROWS rows inline, others in a worker thread."""

    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        self._idle: list[sqlite3.Connection] = []
        self._background: anyio.CapacityLimiter | None = None

    async def open(self) -> None:
        self._background = anyio.CapacityLimiter(BACKGROUND_THREADS)
        self._release(self._connect())  # fail at start-up, not at the first request

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _connect(self) -> sqlite3.Connection:
        try:
            connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA query_only=ON")
            connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            # pages straight from the OS cache through a memory map, without a pread and a copy each
            connection.execute(f"PRAGMA mmap_size={READ_MMAP}")
        except sqlite3.Error as exc:
            raise storage_error(exc) from exc
        return connection

    def _release(self, connection: sqlite3.Connection) -> None:
        if len(self._idle) < IDLE_SQLITE:
            self._idle.append(connection)
        else:
            connection.close()

    def read(self, query: Query, params: Params) -> list[Row]:
        """The rows of `query` on an idle connection (the calling thread's until it returns)."""
        try:
            connection = self._idle.pop()
        except IndexError:
            connection = self._connect()
        try:
            return connection.execute(query.sqlite, params).fetchall()
        except sqlite3.Error as exc:
            raise storage_error(exc) from exc
        finally:
            self._release(connection)

    async def fetch(
        self, query: Query, params: Params | None = None, *, rows: int | None = 1, background: bool = False
    ) -> list[Row]:
        if background:
            return await anyio.to_thread.run_sync(self.read, query, params or {}, limiter=self._background)
        if rows is not None and rows <= INLINE_ROWS:
            return self.read(query, params or {})
        return await anyio.to_thread.run_sync(self.read, query, params or {})

    def u256(self, value: int) -> Any:
        return to_sqlite_u256(value)


class PostgresDatabase(Database):
    """PostgreSQL through psycopg's AsyncConnectionPool on the event loop.

    Each connection keeps one cursor for the reads: a cursor per statement costs ~15 us more."""

    dialect = "postgresql"

    def __init__(self, conninfo: str, size: int) -> None:
        self.pool = AsyncConnectionPool(
            conninfo,
            min_size=size,
            max_size=size,
            open=False,
            timeout=POOL_TIMEOUT,
            name="crowdledger-api",
            kwargs={
                "autocommit": True,
                "prepare_threshold": 0,
                "options": "-c plan_cache_mode=force_generic_plan",
            },
        )
        self._cursors: WeakKeyDictionary[AsyncConnection[Row], AsyncCursor[Row]] = WeakKeyDictionary()

    async def open(self) -> None:
        await self.pool.open(wait=False)

    async def close(self) -> None:
        await self.pool.close()

    async def fetch(
        self, query: Query, params: Params | None = None, *, rows: int | None = 1, background: bool = False
    ) -> list[Row]:
        for attempt in (1, 2):
            # getconn/putconn rather than `async with pool.connection()`: the same two calls without
            # the context manager's generator around them (a few microseconds a read)
            try:
                connection = await self.pool.getconn()
            except PoolTimeout as exc:
                raise storage_error(exc) from exc
            try:
                cursor = self._cursors.get(connection)
                if cursor is None:
                    cursor = self._cursors[connection] = connection.cursor()
                await cursor.execute(query.postgresql, params)
                return await cursor.fetchall()
            except psycopg.OperationalError as exc:
                if attempt == 2:
                    raise storage_error(exc) from exc
            except psycopg.Error as exc:
                raise storage_error(exc) from exc
            finally:
                await self.pool.putconn(connection)  # a broken connection is discarded, not reused
            # the server dropped the connection (a restart, an administrator): it usually dropped
            # the idle ones too, so check those before trying once more
            await self.pool.check()
        raise AssertionError("unreachable")

    def u256(self, value: int) -> Any:
        return value


def open_reader(db_url: str, pool_size: int) -> Database:
    """The Database for a SQLAlchemy-style URL (sqlite:///file.db, postgresql+psycopg://...)."""
    url = make_url(db_url)
    if url.get_backend_name() == "postgresql":
        return PostgresDatabase(
            url.set(drivername="postgresql").render_as_string(hide_password=False), pool_size
        )
    return SqliteDatabase(url.database or ":memory:")
