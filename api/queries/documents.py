"""Reads of the documents the ledger commits to (`documents`, filled through PUT /documents): one
document's bytes, and campaigns' metadata (title, summary) for their answers.

Metadata is read through `MetadataCache`: a document never changes once stored, so a metadata
document read is kept (bounded); a hash with no document stored is asked again after MISS_TTL
seconds (another process may store it) or at once when this process stores one."""

from __future__ import annotations

import time
from functools import lru_cache
from typing import NamedTuple

from api.queries.database import Database, Query
from ledger.core.documents import CampaignMetadata, MetadataError, read_metadata

MISS_TTL = 5.0
MAX_CACHED = 10_000
_DOCUMENT = Query("SELECT body, media_type FROM documents WHERE hash = :hash")


class StoredDocument(NamedTuple):
    body: bytes
    media_type: str


class Metadata(NamedTuple):
    """What a campaign's metadata hash points at: None while no document is stored; `metadata`
    None when the stored document is not campaign metadata (`problem` says why)."""

    metadata: CampaignMetadata | None
    problem: str | None


async def stored_document(db: Database, hash: str) -> StoredDocument | None:
    found = await db.fetch(_DOCUMENT, {"hash": hash}, rows=None)  # up to 1 MiB: off the loop on SQLite
    return StoredDocument(bytes(found[0][0]), found[0][1]) if found else None


@lru_cache(maxsize=64)
def _bodies(count: int) -> Query:
    names = ", ".join(f":h{i}" for i in range(count))
    return Query(f"SELECT hash, body FROM documents WHERE hash IN ({names})")


class MetadataCache:
    """Campaign metadata by metadata hash."""

    def __init__(self) -> None:
        self.found: dict[str, Metadata] = {}
        self.missing: dict[str, float] = {}  # hash -> when it was found missing

    def forget_missing(self, hash: str) -> None:
        """A document with this hash was just stored."""
        self.missing.pop(hash, None)

    async def of(self, db: Database, hashes: set[str]) -> dict[str, Metadata | None]:
        now = time.monotonic()
        wanted = [
            h for h in hashes if h not in self.found and now - self.missing.get(h, -MISS_TTL) >= MISS_TTL
        ]
        for start in range(0, len(wanted), 100):
            chunk = wanted[start : start + 100]
            rows = await db.fetch(_bodies(len(chunk)), {f"h{i}": h for i, h in enumerate(chunk)}, rows=None)
            bodies = {hash: bytes(body) for hash, body in rows}
            for hash in chunk:
                if hash in bodies:
                    self.found[hash] = _metadata(bodies[hash])
                    self.missing.pop(hash, None)
                else:
                    self.missing[hash] = now
        result = {h: self.found.get(h) for h in hashes}
        if len(self.found) > MAX_CACHED or len(self.missing) > MAX_CACHED:
            self.found.clear()
            self.missing.clear()
        return result


def _metadata(body: bytes) -> Metadata:
    try:
        return Metadata(read_metadata(body), None)
    except MetadataError as exc:
        return Metadata(None, str(exc))
