"""Open a database by URL and bring its schema up to date.

`sqlite:///path.db` (the default) or `postgresql+psycopg://user:pass@host/db`. SQLite runs in WAL
mode so the API can read while the indexer writes.

Start-up: importing this module costs nothing (SQLAlchemy is imported when a database is opened),
and Alembic is imported only when the database needs a migration. Alembic's import and its
`upgrade` of an up-to-date database cost ~0.4 s, most of a `crowdledger index` with nothing to do,
so `open_database` first compares the database's `alembic_version` with the newest revision in
`migrations/versions/`. That revision is read from the files' `revision = "..."` and
`down_revision = "..."` lines, without importing them or Alembic, and only for the plain case: one
line of revisions, no branch labels, no dependencies, every file readable. Anything else goes to
Alembic, which decides.

A new database (no table at all) is given the current schema at once: ledger/db/schema.py's tables
and the append-only triggers, stamped at the newest revision in Alembic's own `alembic_version`
table (Alembic's recipe for building a database from scratch, without importing Alembic). That
takes ~0.02 s where Alembic's import and the five migrations took 0.25-0.35 s of every new
database's start; tests/ledger/test_schema.py checks that both ways build the same database, on
SQLite and PostgreSQL, and that Alembic reads the stamp as its own. Older databases are migrated.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger.errors import StorageError

if TYPE_CHECKING:
    import sqlite3

    from sqlalchemy import Engine

DEFAULT_DB_URL = "sqlite:///crowdledger.db"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


# A new database's page size. The ledger's rows are ~1 KiB (the public JSON text and the hashes), four
# to a 4 KiB page; at 16 KiB a backfill's writer spends ~15% less (fewer pages to split, link and
# log: 1.30 against 1.50-1.66 s of CPU per 100,000 entries). A database keeps the size it was
# created with.
PAGE_SIZE = 16384
WAL_CHECKPOINT_BYTES = 64 << 20  # checkpoint (and fsync) every 64 MiB of WAL, not every 4 MiB
BUSY_TIMEOUT_MS = 10_000  # how long a statement waits for another connection's lock


def _switch_to_wal(cursor: sqlite3.Cursor) -> None:
    """WAL mode, which a database keeps once set. Two connections switching one new file at the
    same moment: the second is told "database is locked" at once, without waiting its busy
    timeout, so it tries again for as long as that timeout."""
    import sqlite3

    import tenacity

    def locked(exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.OperationalError) and "database is locked" in str(exc)

    for attempt in tenacity.Retrying(
        retry=tenacity.retry_if_exception(locked),
        wait=tenacity.wait_fixed(0.01),
        stop=tenacity.stop_after_delay(BUSY_TIMEOUT_MS / 1000),
        reraise=True,
    ):
        with attempt:
            cursor.execute("PRAGMA journal_mode=WAL")


def _on_sqlite_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    from ledger.db.types import U256Sum

    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute(f"PRAGMA page_size={PAGE_SIZE}")  # only a database with no pages yet takes it
    _switch_to_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA cache_size=-131072")  # 128 MiB of page cache: index inserts stay in memory
    cursor.execute("PRAGMA temp_store=MEMORY")
    page_size = cursor.execute("PRAGMA page_size").fetchone()[0]
    cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_BYTES // page_size}")
    cursor.close()
    # typeshed's aggregate protocol says finalize returns an int; sqlite3 takes any SQLite value
    dbapi_connection.create_aggregate("u256_sum", 1, U256Sum)  # type: ignore[arg-type]


def open_engine(url: str = DEFAULT_DB_URL, **kwargs: Any) -> Engine:
    """An Engine for `url`, checked by connecting once. Errors become StorageError."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StorageError(f"not a database URL: {url!r} (try sqlite:///crowdledger.db)") from None
    if parsed.get_backend_name() not in {"sqlite", "postgresql"}:
        raise StorageError(f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql")
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        parent = Path(parsed.database).expanduser().resolve().parent
        if not parent.is_dir():
            raise StorageError(f"cannot open {url}: the folder {parent} does not exist")
    try:
        engine = create_engine(parsed, **kwargs)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise StorageError(f"cannot open {parsed.render_as_string(hide_password=True)}: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _on_sqlite_connect)
    try:
        with engine.connect():
            pass
    except (OperationalError, SQLAlchemyError) as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise StorageError(f"cannot open {parsed.render_as_string(hide_password=True)}: {reason}") from None
    return engine


def alembic_config() -> Any:
    from alembic.config import Config  # imported here: Alembic is slow to import and only migrations need it

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration."""
    from alembic import command
    from sqlalchemy.exc import SQLAlchemyError

    config = alembic_config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot migrate the database: {str(exc).splitlines()[0]}") from None


# a module-level `name = value` or `name: type = value` line of a migration file
_HEADER = re.compile(r"^(revision|down_revision|branch_labels|depends_on)\s*(?::[^=\n]*)?=\s*(.+?)\s*$", re.M)


@cache
def head_revision(versions: Path = MIGRATIONS / "versions") -> str | None:
    """The newest revision in `versions` when the migrations are one plain line (each file a
    `revision` and a `down_revision`, no branch labels, no dependencies); None otherwise, or when a
    file cannot be read that way: then only Alembic can say."""
    import ast  # only here: literal_eval of a header's values

    parents: dict[str, str | None] = {}
    for path in sorted(versions.glob("*.py")):
        if path.name.startswith("__init__"):
            continue
        try:
            header = {name: ast.literal_eval(value) for name, value in _HEADER.findall(path.read_text())}
        except (OSError, ValueError, SyntaxError):
            return None
        revision, parent = header.get("revision"), header.get("down_revision")
        if (
            not isinstance(revision, str)
            or revision in parents
            or not (parent is None or isinstance(parent, str))
        ):
            return None
        if header.get("branch_labels") is not None or header.get("depends_on") is not None:
            return None
        parents[revision] = parent
    heads = set(parents) - set(parents.values())
    if len(heads) != 1:
        return None
    (head,) = heads
    walk: str | None = head
    seen = 0
    while walk is not None and walk in parents and seen <= len(parents):  # the line reaches the root
        walk, seen = parents[walk], seen + 1
    return head if walk is None and seen == len(parents) else None


def is_current(engine: Engine) -> bool:
    """Whether the database is at the newest revision (see head_revision), read from its
    `alembic_version` table; False when that table is missing or says anything else."""
    from sqlalchemy.exc import SQLAlchemyError

    head = head_revision()
    if head is None:
        return False
    try:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version").fetchall()
    except SQLAlchemyError:  # a new database: no alembic_version yet
        return False
    return [tuple(row) for row in rows] == [(head,)]


def create_schema(engine: Engine, revision: str) -> bool:
    """Give a database without a table the current schema, stamped at `revision` (the newest), in
    one transaction; False, and nothing done, when it has a table."""
    from sqlalchemy import Column, MetaData, PrimaryKeyConstraint, String, Table, inspect, text

    from ledger.db.schema import metadata, trigger_ddl

    # Alembic's version table as Alembic defines it (alembic.ddl.impl.DefaultImpl.version_table_impl)
    version = Table(
        "alembic_version",
        MetaData(),
        Column("version_num", String(32), nullable=False),
        PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
    )
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            # sqlite3 opens no transaction before DDL by itself: without this, a failure would leave
            # half a schema, and a second process creating the same file could interleave with this one
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        if inspect(connection).get_table_names():
            return False
        metadata.create_all(connection)
        for statement in trigger_ddl(connection.dialect.name):
            connection.execute(text(statement))
        version.create(connection)
        connection.execute(version.insert().values(version_num=revision))
    return True


def open_database(url: str = DEFAULT_DB_URL, **kwargs: Any) -> Engine:
    """Open `url` with the current schema: a new database is given it at once, an older one is
    migrated (Alembic runs only when the database is behind)."""
    from sqlalchemy.exc import SQLAlchemyError

    engine = open_engine(url, **kwargs)
    if not is_current(engine):
        head = head_revision()
        try:
            created = head is not None and create_schema(engine, head)
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot create the schema: {str(exc).splitlines()[0]}") from None
        if not created:
            migrate(engine)
    return engine
