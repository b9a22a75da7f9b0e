"""Migration 0004: on PostgreSQL a backer's positions index carries the amounts (GET
/backers/{address} reads the index alone); on SQLite, which has no INCLUDE, it is unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from ledger.db.engine import alembic_config, open_database
from ledger.db.schema import POSITION_INDEX_INCLUDE
from tests.support.databases import fresh_database


def index_definition(engine, dialect: str) -> str:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        if dialect == "postgresql":
            return conn.execute(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_positions_backer'")
            ).scalar()
        return conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'ix_positions_backer'")).scalar()


@pytest.mark.parametrize("db_kind", ["sqlite", "postgresql"])
def test_the_backer_index_covers_the_positions_on_postgresql(db_kind: str, tmp_path: Path) -> None:
    from alembic import command

    with fresh_database(db_kind, tmp_path) as url:
        engine = open_database(url)
        try:
            definition = index_definition(engine, db_kind)
            columns = [
                c["column_names"]
                for c in inspect(engine).get_indexes("positions")
                if c["name"] == "ix_positions_backer"
            ]
            assert columns == [["backer", "campaign_id"]]
            if db_kind == "postgresql":
                assert f"INCLUDE ({', '.join(POSITION_INDEX_INCLUDE)})" in definition
            else:
                assert "INCLUDE" not in definition.upper()
            config = alembic_config()
            with engine.begin() as conn:
                config.attributes["connection"] = conn
                command.downgrade(config, "0003")
            assert "INCLUDE" not in index_definition(engine, db_kind).upper()
        finally:
            engine.dispose()
