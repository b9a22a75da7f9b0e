"""The indexer's checkpoint (`sync_state`): what is indexed, up to where it is final, and the chain
time campaign states are computed at (the indexed tip's timestamp, never the server's clock)."""

from __future__ import annotations

from dataclasses import fields

from api.queries.database import Database, Query
from ledger.core.hashing import HashChain
from ledger.db.store import SyncState

SYNC_COLUMNS = tuple(f.name for f in fields(SyncState))

# joined into the reads whose answers depend on the chain time: the indexed tip's timestamp as `ts`
CHAIN_TIME = "(SELECT COALESCE(tip_timestamp, 0) AS ts FROM sync_state WHERE id = 1) s"

_SYNC = Query(f"SELECT {', '.join(SYNC_COLUMNS)} FROM sync_state WHERE id = 1")
_LAST_SEQ = Query("SELECT last_seq FROM sync_state WHERE id = 1")
_genesis: dict[tuple[int, str], str] = {}


async def sync_state(db: Database) -> SyncState | None:
    """The checkpoint, or None before the first batch."""
    found = await db.fetch(_SYNC)
    return SyncState(**dict(zip(SYNC_COLUMNS, found[0]))) if found else None


async def last_seq(db: Database) -> int:
    """The newest indexed seq (0 before the first entry)."""
    found = await db.fetch(_LAST_SEQ)
    return int(found[0][0]) if found else 0


def genesis_head(chain_id: int, contract: str) -> str:
    """The head seq 1 chains from."""
    key = (chain_id, contract)
    if key not in _genesis:
        _genesis[key] = HashChain.genesis(chain_id, contract).head
    return _genesis[key]
