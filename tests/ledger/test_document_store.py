"""Documents by hash (ledger.core.documents, ledger.db.documents): media types, the campaign
metadata format and its bounds, storing (created or already there), and which hashes the ledger
commits to, on real SQLite and PostgreSQL databases."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import insert

from ledger.core.documents import (
    BINARY,
    JSON,
    MAX_DESCRIPTION,
    MAX_TITLE,
    TEXT,
    MetadataError,
    document_hash,
    document_of,
    read_metadata,
)
from ledger.core.records import Campaign, Disclosure, Milestones, TrancheRelease
from ledger.db.documents import committed, read_document, store_document
from ledger.db.rows import columns, to_rows
from ledger.db.schema import campaigns, disclosures, milestones, tranche_releases
from ledger.db.store import LedgerStore

CREATOR = "0x" + "c1" * 20
ETH = "0x" + "00" * 20


def metadata(**fields: object) -> bytes:
    return orjson.dumps(
        {"title": "Solar kiln", "summary": "A kiln", "description": "Line 1\nLine 2", **fields}
    )


def test_media_types() -> None:
    assert document_of(b'{"a": 1}', 5).media_type == JSON
    assert document_of("rapport trimestriel\n".encode(), 5).media_type == TEXT
    assert document_of(b"\x89PNG\r\n\x1a\n\x00", 5).media_type == BINARY
    assert document_of(b"\xff\xfe", 5).media_type == BINARY
    doc = document_of(b"x", 7)
    assert (doc.hash, doc.size, doc.stored_at) == (document_hash(b"x"), 1, 7)


def test_metadata_is_read_cleaned_and_bounded() -> None:
    image = "0x" + "AB" * 32
    got = read_metadata(
        metadata(
            title="\u202eSolar\x07 kiln\n", website="https://kiln.example/x?y=1", image=image, extra="ignored"
        )
    )
    assert got.title == "Solar kiln" and got.description == "Line 1\nLine 2"
    assert got.website == "https://kiln.example/x?y=1" and got.image == image.lower()
    assert read_metadata(metadata()).image is None
    for body, why in (
        (metadata(title="x" * (MAX_TITLE + 1)), "title"),
        (metadata(description="x" * (MAX_DESCRIPTION + 1)), "description"),
        (metadata(website="javascript:alert(1)"), "http"),
        (metadata(website="ftp://kiln.example"), "http"),
        (metadata(image="0x1234"), "image"),
        (metadata(title="\x00\x01"), "title is empty"),
        (orjson.dumps({"title": "t", "summary": "s"}), "description"),
        (b"[1, 2]", "not campaign metadata"),
        (b"\xff", "not a JSON object"),
    ):
        with pytest.raises(MetadataError, match=why) as raised:
            read_metadata(body)
        assert "\n" not in str(raised.value)


def put_projections(
    store: LedgerStore, metadata_hash: str, report: str, old_report: str, disclosed: str
) -> None:
    sqlite = store.dialect == "sqlite"
    campaign = Campaign(1, CREATOR, ETH, 10, 2_000, 0, False, 250, metadata_hash, 1, 1, 1_000, milestone=True)
    plan = Milestones(1, (3000, 7000), 3600, 2, report_hash=report)
    release = TrancheRelease(1, 1, 9, 7, 7, 0, old_report, 1, 0, 4, 5)
    disclosure = Disclosure(10, 1, CREATOR, disclosed, 5, 6, "0x" + "cc" * 32)
    with store.engine.begin() as conn:
        for table, record in (
            (campaigns, campaign),
            (milestones, plan),
            (tranche_releases, release),
            (disclosures, disclosure),
        ):
            row = to_rows([record], type(record), sqlite=sqlite)[0]
            conn.execute(insert(table), [dict(zip(columns(type(record)), row))])


def test_stored_documents_and_what_the_ledger_commits_to(store: LedgerStore) -> None:
    image = b"\x89PNG image bytes"
    meta = metadata(image=document_hash(image))
    hashes = {
        name: document_hash(name.encode()) for name in ("report", "old report", "disclosed", "stranger")
    }
    put_projections(store, document_hash(meta), hashes["report"], hashes["old report"], hashes["disclosed"])
    engine = store.engine
    for name in ("report", "old report", "disclosed"):
        assert committed(engine, hashes[name].upper().replace("0X", "0x"))
    assert committed(engine, document_hash(meta))
    assert not committed(engine, hashes["stranger"])
    assert not committed(engine, document_hash(image))  # named only by a metadata document not stored yet

    doc = document_of(meta, 1_700_000_000)
    assert store_document(engine, doc) is True
    assert store_document(engine, doc) is False  # already there
    assert read_document(engine, doc.hash) == doc
    assert read_document(engine, hashes["stranger"]) is None
    assert committed(engine, document_hash(image))  # now the stored metadata names it
    with engine.connect() as conn:
        assert committed(conn, document_hash(image))
    with pytest.raises(ValueError, match="do not hash"):
        store_document(engine, doc.__class__(doc.hash, b"other bytes", doc.media_type, 11, doc.stored_at))


def test_a_document_waits_for_the_indexers_lock_only_so_long(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from ledger.db.engine import open_database
    from ledger.errors import DatabaseBusy

    engine = open_database(f"sqlite:///{tmp_path / 'busy.db'}")
    writer = engine.raw_connection()
    try:
        writer.execute("BEGIN IMMEDIATE")  # as a batch of the indexer's holds it
        with pytest.raises(DatabaseBusy, match="busy"):
            store_document(engine, document_of(b"late", 1), lock_timeout=0.1)
        writer.rollback()
        assert store_document(engine, document_of(b"late", 1), lock_timeout=0.1)
    finally:
        writer.close()
        engine.dispose()
