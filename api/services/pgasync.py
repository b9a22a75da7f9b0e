"""PostgreSQL for the hot routes: a few libpq connections driven straight from the event loop.

A hot route's query on PostgreSQL takes ~50-150 us of the server's time plus a round trip.
Run inline on a blocking connection, the event loop sits idle for the round trip; run through
psycopg's AsyncConnection, the loop stays free but each query costs ~100 us more of Python
(psycopg's generator protocol, futures and cursors), more than the query. This module keeps both
gains: it sends prepared statements on psycopg's libpq binding (`pgconn`) and waits for the
socket with `loop.add_reader`, so a query costs about what a blocking psycopg query does, and
the loop serves other requests while PostgreSQL works.

    links = PgLinks(conninfo, size=4)
    rows = await links.fetch(Statement("SELECT ... WHERE c.campaign_id = :id"), {"id": 7})
    page = await links.fetch_texts(Statement("SELECT seq, text ... LIMIT :n"), {"n": 51}, limit=50)

Rows are tuples of the Python values psycopg gives (its loaders: int, str, bool, Decimal);
fetch_texts joins a page of stored JSON texts as raw bytes, with no per-row decoding (measured on
the ledger page: ~180 -> ~160 us of the server's CPU per query).
The statements are the hot routes' key lookups and keyset pages, whose plan is the same for any
parameter value, so the connections use generic plans: with PostgreSQL's default it re-plans
these statements on every run (its custom plans look no dearer than the generic one), over a
quarter of its CPU on the ledger page's query (measured: ~195 -> ~140 us of backend CPU a page).
Connections run in autocommit (each statement sees the newest committed batch), are opened on
first use on the running loop, and a lost one is replaced once per query. Errors become
StorageError (HTTP 503), as on the other paths.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NamedTuple, TypeVar

from ledger.errors import StorageError

# :name parameters, only where SQL puts a value (after a space, '(', ',' or an operator), so that
# the ':' inside string literals (JSON text, to_char formats) is never taken for one
PARAM = re.compile(r"(?<=[\s(,=<>]):([a-z_][a-z0-9_]*)")
# Turns of the loop a query gives other requests before it waits for the socket (and one after
# each wait). A page's rows arrive in several 8 KiB sends; waiting for each with add_reader costs
# a registration, a future and a loop turn per send, while under load the rest has usually
# arrived by the time the other requests have had their turn. Measured on the ledger page
# (bench/api.py, PostgreSQL): 219 -> 196 us of server CPU a request.
YIELDS_BEFORE_WAITING = 2
_names = (f"crowdledger_{n}".encode() for n in itertools.count(1))
T = TypeVar("T")


class TextPage(NamedTuple):
    """PgLinks.fetch_texts's answer: the texts joined, the last one's key, the rows read."""

    joined: bytes
    last_key: int | None
    rows: int


class Statement:
    """A query with :name parameters, prepared once on each connection that runs it."""

    def __init__(self, sql: str) -> None:
        order: list[str] = []

        def number(match: re.Match[str]) -> str:
            if match.group(1) not in order:
                order.append(match.group(1))
            return f"${order.index(match.group(1)) + 1}"

        self.sql = PARAM.sub(number, sql).encode()
        self.params = tuple(order)
        self.name = next(_names)

    def encode(self, values: Mapping[str, Any]) -> list[bytes | None]:
        return [_text(values[name]) for name in self.params]


def _text(value: Any) -> bytes | None:
    """A parameter in PostgreSQL's text format (the statement's context gives its type)."""
    if value is None:
        return None
    if value is True or value is False:
        return b"t" if value else b"f"
    return str(value).encode()


class PgLink:
    """One connection, one query at a time."""

    def __init__(self, connection: Any) -> None:
        from psycopg.adapt import Transformer

        self.connection = connection  # the psycopg connection owns the libpq handle: keep it
        self.pgconn = connection.pgconn
        self.pgconn.nonblocking = 1
        self.fd = self.pgconn.socket
        self.transformer = Transformer.from_context(connection)
        self.prepared: set[bytes] = set()
        self.lost = False

    @property
    def broken(self) -> bool:
        from psycopg import pq

        return self.lost or self.pgconn.status != pq.ConnStatus.OK

    async def _wait(self, loop: asyncio.AbstractEventLoop, reading: bool) -> None:
        future = loop.create_future()
        add, remove = (loop.add_reader, loop.remove_reader) if reading else (loop.add_writer, loop.remove_writer)
        add(self.fd, _wake, future)
        try:
            await future
        finally:
            remove(self.fd)

    async def _result(self) -> Any:
        """Flush what was sent, then the one result of the statement."""
        from psycopg import pq

        loop = asyncio.get_running_loop()
        pgconn = self.pgconn
        while pgconn.flush():
            await self._wait(loop, reading=False)
        yields = 0
        while True:
            pgconn.consume_input()
            if not pgconn.is_busy():
                break
            if yields < YIELDS_BEFORE_WAITING:
                yields += 1
                await asyncio.sleep(0)
                continue
            await self._wait(loop, reading=True)
            yields = YIELDS_BEFORE_WAITING - 1
        result = pgconn.get_result()
        while pgconn.get_result() is not None:  # the end-of-statement marker
            pass
        if result is None:
            raise StorageError("database error: no result")
        if result.status not in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK):
            severity = result.error_field(pq.DiagnosticField.SEVERITY_NONLOCALIZED) or b""
            sqlstate = result.error_field(pq.DiagnosticField.SQLSTATE) or b""
            if severity in (b"FATAL", b"PANIC") or sqlstate.startswith((b"08", b"57P")):
                self.lost = True  # the server is closing this connection (restart, terminate)
            message = (result.error_message or pgconn.error_message).decode("utf-8", "replace").strip()
            raise StorageError(f"database error: {message.splitlines()[0] if message else 'failed'}")
        return result

    async def execute(self, statement: Statement, values: Mapping[str, Any]) -> Any:
        """The libpq result of `statement` (prepared on first use)."""
        if statement.name not in self.prepared:
            self.pgconn.send_prepare(statement.name, statement.sql)
            await self._result()
            self.prepared.add(statement.name)
        self.pgconn.send_query_prepared(statement.name, statement.encode(values))
        return await self._result()

    async def fetch(self, statement: Statement, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        result = await self.execute(statement, values)
        self.transformer.set_pgresult(result)
        try:
            return self.transformer.load_rows(0, result.ntuples, tuple)  # type: ignore[no-any-return]
        finally:
            self.transformer.set_pgresult(None)

    async def fetch_texts(self, statement: Statement, values: Mapping[str, Any], limit: int) -> TextPage:
        result = await self.execute(statement, values)
        shown = min(result.ntuples, limit)
        joined = b",".join([result.get_value(row, 1) for row in range(shown)])
        last = int(result.get_value(shown - 1, 0)) if shown else None
        return TextPage(joined, last, result.ntuples)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.pgconn.finish()


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class PgLinks:
    """Up to `size` PgLinks shared by the requests of one event loop."""

    def __init__(self, conninfo: str, size: int) -> None:
        self.conninfo = conninfo
        self.size = size
        self._idle: list[PgLink] = []
        self._count = 0
        self._waiters: collections.deque[asyncio.Future[PgLink | None]] = collections.deque()

    async def _open(self) -> PgLink:
        import psycopg

        try:
            connection = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
            # client_encoding: fetch_texts hands the texts on as UTF-8 bytes without decoding them
            await connection.execute("SET plan_cache_mode = force_generic_plan; SET client_encoding = 'UTF8'")
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StorageError(f"database error: {reason}") from exc
        return PgLink(connection)

    async def _acquire(self) -> PgLink:
        while True:
            if self._idle:
                return self._idle.pop()
            if self._count < self.size:
                self._count += 1
                try:
                    return await self._open()
                except BaseException:
                    self._count -= 1
                    self._hand_over(None)
                    raise
            waiter: asyncio.Future[PgLink | None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                link = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled() and waiter.result() is not None:
                    self._release(waiter.result())  # type: ignore[arg-type]
                raise
            if link is not None:
                return link
            # None: a link was dropped, so there is room to open one

    def _hand_over(self, link: PgLink | None) -> bool:
        """Give `link` (or, with None, the room to open one) to the first live waiter."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(link)
                return True
        return False

    def _release(self, link: PgLink) -> None:
        if not self._hand_over(link):
            self._idle.append(link)

    def _drop(self, link: PgLink, idle_too: bool = False) -> None:
        """Close `link`; with idle_too, the idle ones as well (a lost connection usually means
        the server restarted or cut them all, and a retry should not meet another dead one)."""
        links = [link]
        if idle_too:
            links += self._idle
            self._idle = []
        for dropped in links:
            dropped.close()
            self._count -= 1
            self._hand_over(None)

    async def fetch(self, statement: Statement, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """The rows of `statement`; a lost connection is replaced and the query sent again once."""
        return await self._on_a_link(lambda link: link.fetch(statement, values))

    async def fetch_texts(self, statement: Statement, values: Mapping[str, Any], limit: int) -> TextPage:
        """For a page of stored JSON texts: `statement` selects (an int key, a text) per row; the
        texts of the first `limit` rows come back joined with commas as they arrived, undecoded,
        with the last joined row's key and the number of rows (limit + 1 tells that more follow).
        Retried like fetch."""
        return await self._on_a_link(lambda link: link.fetch_texts(statement, values, limit))

    async def _on_a_link(self, call: Callable[[PgLink], Awaitable[T]]) -> T:
        for attempt in (1, 2):
            link = await self._acquire()
            try:
                answer = await call(link)
            except StorageError:
                if link.broken:  # the connection went away: try once more on a new one
                    self._drop(link, idle_too=True)
                    if attempt == 1:
                        continue
                else:  # PostgreSQL refused the statement; the connection is fine
                    self._release(link)
                raise
            except Exception as exc:  # the driver lost the connection (psycopg.OperationalError, OSError)
                self._drop(link, idle_too=True)
                if attempt == 1:
                    continue
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise StorageError(f"database error: {reason}") from exc
            except BaseException:  # cancelled mid-query: the connection's state is unknown
                self._drop(link)
                raise
            self._release(link)
            return answer
        raise AssertionError("unreachable")

    def close(self) -> None:
        idle, self._idle = self._idle, []
        for link in idle:
            link.close()
        self._count -= len(idle)

