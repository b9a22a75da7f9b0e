"""A new database is built from ledger/db/schema.py at once (ledger.db.engine.create_schema), an
older one by the migrations: both ways give the same database, and Alembic takes the stamp of the
first as its own. On SQLite and on PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, inspect

from ledger.db.engine import (
    alembic_config,
    create_schema,
    head_revision,
    is_current,
    migrate,
    open_database,
    open_engine,
)
from ledger.db.schema import metadata
from ledger.errors import StorageError
from tests.support.databases import fresh_database

KINDS = ["sqlite", "postgresql"]


def structure(engine: Engine) -> dict[str, Any]:
    """Everything a database's schema is made of, as plain values: each table's columns (type,
    nullability, default), keys, constraints and indexes, and the indexes' and triggers' own SQL."""
    found = inspect(engine)
    tables: dict[str, Any] = {
        table: {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                for c in found.get_columns(table)
            ],
            "primary_key": found.get_pk_constraint(table),
            "foreign_keys": found.get_foreign_keys(table),
            "unique": sorted(map(str, found.get_unique_constraints(table))),
            "checks": sorted(map(str, found.get_check_constraints(table))),
            "indexes": sorted(
                (
                    i["name"],
                    tuple(i["column_names"]),
                    bool(i["unique"]),
                    str({k: str(v) for k, v in (i.get("dialect_options") or {}).items()}),
                )
                for i in found.get_indexes(table)
            ),
        }
        for table in found.get_table_names()
    }
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            sql = "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND sql IS NOT NULL"
        else:
            sql = (
                "SELECT 'index', indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
                "UNION ALL SELECT 'trigger', trigger_name, event_manipulation || ' ' || action_timing || ' ' "
                "|| action_statement FROM information_schema.triggers "
                "UNION ALL SELECT 'function', proname, prosrc FROM pg_proc WHERE proname LIKE 'crowdledger%%'"
            )
        tables["objects"] = sorted(tuple(row) for row in connection.exec_driver_sql(sql))
    return tables


@pytest.mark.parametrize("db_kind", KINDS)
def test_a_new_database_is_the_database_the_migrations_build(db_kind: str, tmp_path: Path) -> None:
    (tmp_path / "new").mkdir()
    (tmp_path / "migrated").mkdir()
    with (
        fresh_database(db_kind, tmp_path / "new") as new_url,
        fresh_database(db_kind, tmp_path / "migrated") as migrated_url,
    ):
        new = open_database(new_url)
        migrated = open_engine(migrated_url)
        migrate(migrated)
        built, upgraded = structure(new), structure(migrated)
        new.dispose()
        migrated.dispose()
    assert "alembic_version" in built and any(kind == "trigger" for kind, *_ in built["objects"])
    assert built == upgraded


@pytest.mark.parametrize("db_kind", KINDS)
def test_alembic_takes_a_new_databases_stamp_as_its_own(db_kind: str, tmp_path: Path) -> None:
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with fresh_database(db_kind, tmp_path) as url:
        engine = open_database(url)
        with engine.begin() as connection:
            context = MigrationContext.configure(connection)
            assert context.get_current_heads() == (head_revision(),)
            assert compare_metadata(context, metadata) == []  # schema.py and the database agree
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")  # nothing to do
            assert MigrationContext.configure(connection).get_current_heads() == (head_revision(),)
        engine.dispose()


def test_a_database_with_tables_is_left_to_the_migrations(tmp_path: Path) -> None:
    """create_schema touches only a database without a table; one with tables but no stamp goes to
    Alembic, as before (here: a table of someone else's, kept beside the ledger's)."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    other = create_engine(url)
    with other.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE kept (a)")
    assert create_schema(other, str(head_revision())) is False
    assert inspect(other).get_table_names() == ["kept"]
    other.dispose()
    engine = open_database(url)
    names = set(inspect(engine).get_table_names())
    assert {"kept", "ledger_entries", "alembic_version"} <= names
    engine.dispose()


@pytest.mark.parametrize("db_kind", KINDS)
def test_a_schema_that_fails_halfway_leaves_no_table(
    db_kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tables, triggers and stamp come in one transaction: a failure (here, a broken last
    trigger) leaves the database as it was, so the next start builds it whole."""
    import ledger.db.schema

    name = "SQLITE_TRIGGERS" if db_kind == "sqlite" else "POSTGRES_TRIGGERS"
    with fresh_database(db_kind, tmp_path) as url:
        engine = open_engine(url)
        with monkeypatch.context() as patched:
            patched.setattr(
                ledger.db.schema, name, [*getattr(ledger.db.schema, name), "CREATE TRIGGER broken"]
            )
            with pytest.raises(StorageError, match="cannot create the schema"):
                open_database(url)
        assert inspect(engine).get_table_names() == []
        engine.dispose()
        engine = open_database(url)
        assert is_current(engine)
        engine.dispose()


def test_two_openers_of_one_new_file_at_once_both_find_it_whole(tmp_path: Path) -> None:
    """SQLite, two connections at the same moment (as two commands started together): the second
    waits for the first's WAL switch and then for its schema's transaction, and finds the schema
    there; neither fails with "database is locked"."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    with ThreadPoolExecutor(max_workers=2) as pool:
        engines = list(pool.map(lambda _: open_database(url), range(2)))
    for engine in engines:
        assert is_current(engine)
        engine.dispose()
