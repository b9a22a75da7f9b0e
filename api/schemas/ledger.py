"""The ledger's entries as the API shows them. An entry's schema is the ledger's own
(ledger.core.public: the indexer stores each entry's text serialized with it), re-exported here."""

from __future__ import annotations

from enum import Enum

from typing_extensions import TypedDict

from api.schemas.common import Cursor
from ledger.core.public import EntryDetailPublic, EntryPublic

__all__ = ["EntriesPublic", "EntryDetailPublic", "EntryPublic", "ExportFormat"]


class EntriesPublic(TypedDict):
    data: list[EntryPublic]
    next: Cursor


class ExportFormat(str, Enum):
    ndjson = "ndjson"
    csv = "csv"
