"""The documents table: the reads the API and the page share, and the API's one write.

    store_document(engine, document)   -> bool    True: stored now; False: it was already there
    read_document(engine, hash)        -> Document | None
    committed(engine_or_conn, hash)    -> bool    something on the ledger commits to the hash

A document is stored in a short transaction of its own that touches no row of the indexer's, so
it never waits on more than the database's write lock (SQLite: `lock_timeout`, then
DatabaseBusy). Only bytes whose keccak256 is their hash are stored (store_document checks it
again), and the caller stores only what `committed` says the ledger commits to.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, bindparam, select, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from ledger.core.documents import MetadataError, document_hash, read_metadata
from ledger.core.metadata import Document
from ledger.db.engine import BUSY_TIMEOUT_MS
from ledger.db.rows import columns, from_row
from ledger.db.schema import campaigns, disclosures, documents, milestones, tranche_releases
from ledger.errors import DatabaseBusy, StorageError

_INSERT = {
    dialect: text(
        f"INSERT INTO documents ({', '.join(columns(Document))}) "
        f"VALUES ({', '.join(':' + c for c in columns(Document))}) ON CONFLICT (hash) DO NOTHING"
    ).bindparams(bindparam("body", type_=documents.c.body.type))
    for dialect in ("sqlite", "postgresql")
}


def _one_line(exc: SQLAlchemyError) -> str:
    return str(getattr(exc, "orig", exc)).strip().splitlines()[0]


@contextmanager
def _connection(engine_or_conn: Engine | Connection) -> Iterator[Connection]:
    if isinstance(engine_or_conn, Connection):
        yield engine_or_conn
        return
    with engine_or_conn.connect() as conn:
        yield conn


def store_document(engine: Engine, document: Document, *, lock_timeout: float = 2.0) -> bool:
    """Store `document`; True if it was stored now, False if it was already there. Waits at most
    `lock_timeout` seconds for the database's write lock (SQLite, where the indexer's batches hold
    it), then raises DatabaseBusy; ValueError if its bytes do not hash to its hash."""
    if document_hash(document.body) != document.hash or document.size != len(document.body):
        raise ValueError(f"the bytes of document {document.hash} do not hash to it")
    dialect = engine.dialect.name
    wait_ms = int(lock_timeout * 1000)
    values = {name: getattr(document, name) for name in columns(Document)}
    try:
        with engine.begin() as conn:
            if dialect == "postgresql":
                conn.exec_driver_sql(f"SET LOCAL lock_timeout = {wait_ms}")
                stored = conn.execute(_INSERT[dialect], values).rowcount == 1
            else:  # the insert takes SQLite's write lock: wait for it this long only
                conn.exec_driver_sql(f"PRAGMA busy_timeout={wait_ms}")
                try:
                    stored = conn.execute(_INSERT[dialect], values).rowcount == 1
                finally:
                    conn.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")  # the engine's own setting
    except OperationalError as exc:
        reason = _one_line(exc)
        if "locked" in reason or "busy" in reason or "lock timeout" in reason:
            raise DatabaseBusy(f"the database is busy (the indexer is writing): {reason}") from None
        raise StorageError(f"database error: {reason}") from None
    except SQLAlchemyError as exc:
        raise StorageError(f"database error: {_one_line(exc)}") from None
    return stored


def read_document(engine_or_conn: Engine | Connection, hash: str) -> Document | None:
    """The stored document with this hash (0x-hex, any case), or None."""
    with _connection(engine_or_conn) as conn:
        row = conn.execute(select(documents).where(documents.c.hash == hash.lower())).first()
    return None if row is None else from_row(Document, row)


def committed(engine_or_conn: Engine | Connection, hash: str) -> bool:
    """Whether something on the ledger (provisional entries included) commits to `hash`: a
    campaign's metadata hash (kind 1), a release request's report hash (kind 9), a disclosed
    document's hash (kind 13), or the `image` named by a stored metadata document that verifies
    (its bytes hash to a campaign's metadata hash and read as campaign metadata)."""
    wanted = hash.lower()
    with _connection(engine_or_conn) as conn:
        on_ledger = (
            select(campaigns.c.campaign_id).where(campaigns.c.metadata_hash == wanted),
            # every kind-9 report hash: the released tranches' and the open or last request's
            select(milestones.c.campaign_id).where(milestones.c.report_hash == wanted),
            select(tranche_releases.c.campaign_id).where(tranche_releases.c.report_hash == wanted),
            select(disclosures.c.seq).where(disclosures.c.document_hash == wanted),
        )
        for query in on_ledger:
            if conn.execute(query.limit(1)).first() is not None:
                return True
        metadata_documents = select(documents.c.hash, documents.c.body).where(
            documents.c.hash.in_(select(campaigns.c.metadata_hash))
        )
        for stored_hash, body in conn.execute(metadata_documents):
            body = bytes(body)
            if wanted[2:].encode() not in body.lower() or document_hash(body) != stored_hash:
                continue
            try:
                if read_metadata(body).image == wanted:
                    return True
            except MetadataError:
                continue
    return False
