"""Migration 0005 (exits, tokens, documents) on a database indexed before it: the new campaign
columns are filled from the positions (backer_count = every address that ever pledged, holders =
positions with a balance), tranche 0's claim time moves into milestones.claimed_at, the new tables
are there and take rows, and the downgrade restores the old count. On SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, inspect, select

from ledger.core.metadata import Document, Token
from ledger.core.records import Campaign, Credit, Milestones, Position, TrancheRelease
from ledger.db.engine import alembic_config, open_database
from ledger.db.rows import columns, from_row, to_rows
from ledger.db.schema import campaigns, credits, milestones, positions, tokens, tranche_releases
from tests.support.databases import fresh_database

ALICE, BOB, CAROL = ("0x" + b * 20 for b in ("a1", "b2", "c3"))
CREATOR = "0x" + "c1" * 20
ZERO = "0x" + "00" * 32


def old_rows(table, records: list, record_type: type, sqlite: bool) -> list[dict]:  # type: ignore[no-untyped-def]
    """Rows as a database before 0005 holds them: the columns that existed then."""
    names = [c.name for c in table.columns if c.name not in ("abort_cause", "holders", "claimed_at")]
    full = columns(record_type)
    return [{n: row[full.index(n)] for n in names} for row in to_rows(records, record_type, sqlite=sqlite)]


@pytest.mark.parametrize("db_kind", ["sqlite", "postgresql"])
def test_the_migration_fills_the_new_columns_from_the_positions(db_kind: str, tmp_path: Path) -> None:
    from alembic import command

    sqlite = db_kind == "sqlite"
    plain = Campaign(
        1,
        CREATOR,
        "0x" + "00" * 20,
        10,
        2_000,
        0,
        False,
        250,
        ZERO,
        1,
        1,
        1_000,
        pledged=30,
        backer_count=2,
        refunded_total=5,
        last_seq=9,
    )
    aborted = Campaign(
        2,
        CREATOR,
        "0x" + "00" * 20,
        10,
        2_000,
        0,
        False,
        250,
        ZERO,
        2,
        1,
        1_000,
        pledged=20,
        backer_count=0,
        last_seq=12,
        milestone=True,
        tranche_count=2,
        tranches_released=1,
        aborted=True,
    )
    held = [
        Position(1, ALICE, balance=10, pledged_total=10, first_seq=3, last_seq=3),
        Position(1, BOB, balance=20, pledged_total=25, unpledged_total=5, first_seq=4, last_seq=5),
        Position(1, CAROL, balance=0, pledged_total=5, refunded_total=5, first_seq=6, last_seq=9),
        Position(2, ALICE, balance=0, pledged_total=20, refunded_total=14, first_seq=7, last_seq=12),
    ]
    plan = Milestones(
        2,
        (3000, 7000),
        3600,
        3,
        tranches_released=1,
        released_gross=6,
        aborted=True,
        abort_remaining=14,
        refunded=14,
        last_seq=12,
    )
    tranche0 = TrancheRelease(2, 0, 10, 6, 6, 0, None, 0, 0, 5, 1_234_567)
    with fresh_database(db_kind, tmp_path) as url:
        engine = create_engine(url)
        config = alembic_config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0004")
            conn.execute(insert(campaigns), old_rows(campaigns, [plain, aborted], Campaign, sqlite))
            conn.execute(insert(positions), old_rows(positions, held, Position, sqlite))
            conn.execute(insert(milestones), old_rows(milestones, [plan], Milestones, sqlite))
            conn.execute(
                insert(tranche_releases), old_rows(tranche_releases, [tranche0], TrancheRelease, sqlite)
            )
        engine.dispose()

        engine = open_database(url)  # upgrades to the newest revision
        try:
            with engine.begin() as conn:
                got = {r.campaign_id: from_row(Campaign, r) for r in conn.execute(select(campaigns))}
                assert (got[1].backer_count, got[1].holders, got[1].abort_cause) == (3, 2, None)
                assert (got[2].backer_count, got[2].holders, got[2].abort_cause) == (1, 0, "failed_vote")
                assert from_row(Milestones, conn.execute(select(milestones)).one()).claimed_at == 1_234_567
                credit = Credit(ALICE, "0x" + "00" * 20, credited_total=2**256 - 1, withdrawn_total=1)
                conn.execute(
                    insert(credits),
                    [dict(zip(columns(Credit), row)) for row in to_rows([credit], Credit, sqlite=sqlite)],
                )
                assert from_row(Credit, conn.execute(select(credits)).one()).owed == 2**256 - 2
                token = Token("0x" + "70" * 20, "tUSDC", "Test USD", 6, False, 7)
                conn.execute(
                    insert(tokens), [dict(zip(columns(Token), to_rows([token], Token, sqlite=sqlite)[0]))]
                )
                assert from_row(Token, conn.execute(select(tokens)).one()) == token
            assert {"credits", "tokens", "documents"} <= set(inspect(engine).get_table_names())
            assert columns(Document) == ("hash", "body", "media_type", "size", "stored_at")
            with engine.begin() as conn:
                config.attributes["connection"] = conn
                command.downgrade(config, "0004")
            with engine.connect() as conn:
                counts = dict(conn.execute(select(campaigns.c.campaign_id, campaigns.c.backer_count)).all())
            assert counts == {1: 2, 2: 0}  # back to the positions with a balance
            assert "credits" not in inspect(engine).get_table_names()
        finally:
            engine.dispose()
