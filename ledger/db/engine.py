"""Open a database by URL and bring its schema up to date.

`sqlite:///path.db` (the default) or `postgresql+psycopg://user:pass@host/db`. SQLite runs in WAL
mode so the API can read while the indexer writes.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError

from ledger.db.types import U256Sum
from ledger.errors import StorageError

DEFAULT_DB_URL = "sqlite:///crowdledger.db"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


# A new database's page size. The ledger's rows are ~1 KiB (the public JSON text and the hashes), four
# to a 4 KiB page; at 16 KiB a backfill's writer spends ~15% less (fewer pages to split, link and
# log: 1.30 against 1.50-1.66 s of CPU per 100,000 entries). A database keeps the size it was
# created with.
PAGE_SIZE = 16384
WAL_CHECKPOINT_BYTES = 64 << 20  # checkpoint (and fsync) every 64 MiB of WAL, not every 4 MiB


def _on_sqlite_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA page_size={PAGE_SIZE}")  # only a database with no pages yet takes it
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA cache_size=-131072")  # 128 MiB of page cache: index inserts stay in memory
    cursor.execute("PRAGMA temp_store=MEMORY")
    page_size = cursor.execute("PRAGMA page_size").fetchone()[0]
    cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_BYTES // page_size}")
    cursor.close()
    dbapi_connection.create_aggregate("u256_sum", 1, U256Sum)  # type: ignore[arg-type]


def open_engine(url: str = DEFAULT_DB_URL, **kwargs: Any) -> Engine:
    """An Engine for `url`, checked by connecting once. Errors become StorageError."""
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

    config = alembic_config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot migrate the database: {str(exc).splitlines()[0]}") from None


def open_database(url: str = DEFAULT_DB_URL, **kwargs: Any) -> Engine:
    """Open `url` and migrate it to the current schema."""
    engine = open_engine(url, **kwargs)
    migrate(engine)
    return engine
