"""Reads of the ledger itself: pages of entries in seq order and one entry with the head before it.

Each entry is read as the public text the indexer stored with it (`ledger_entries.public_json`,
ledger.core.public) and finished with its `final` flag: one text column per entry, nothing
formatted per request.
"""

from __future__ import annotations

from typing import NamedTuple

from api.queries.database import Database, Query
from ledger.core.public import finish

_PAGE = "SELECT e.seq, e.public_json, e.final FROM ledger_entries e WHERE {where} ORDER BY e.seq LIMIT :n"
_ALL_PAGE = Query(_PAGE.format(where="e.seq > :after"))
_CAMPAIGN_PAGE = Query(_PAGE.format(where="e.campaign_id = :id AND e.seq > :after"))
_ENTRY = Query(
    "SELECT e.public_json, e.final, e.head, p.head FROM ledger_entries e "
    "LEFT JOIN ledger_entries p ON p.seq = e.seq - 1 WHERE e.seq = :seq"
)


class EntryPage(NamedTuple):
    """Entries in seq order as (seq, the JSON text of EntryPublic), and whether more follow."""

    entries: list[tuple[int, str]]
    more: bool

    @property
    def last_seq(self) -> int | None:
        return self.entries[-1][0] if self.entries else None


class StoredEntry(NamedTuple):
    """One entry as stored: its public text (without `final`), `final`, its head and the head
    before it (None for seq 1, which chains from the genesis head)."""

    text: str
    final: bool
    head: str
    previous_head: str | None


async def entry_page(db: Database, *, after: int, limit: int, campaign_id: int | None = None) -> EntryPage:
    """Up to `limit` entries after seq `after` (of one campaign if given)."""
    query = _ALL_PAGE if campaign_id is None else _CAMPAIGN_PAGE
    rows = await db.fetch(query, {"id": campaign_id, "after": after, "n": limit + 1}, rows=limit + 1)
    entries = [(seq, finish(text, final)) for seq, text, final in rows[:limit]]
    return EntryPage(entries, len(rows) > limit)


async def stored_entry(db: Database, seq: int) -> StoredEntry | None:
    found = await db.fetch(_ENTRY, {"seq": seq})
    if not found:
        return None
    text, final, head, previous_head = found[0]
    return StoredEntry(text, bool(final), head, previous_head)
