"""The public shape of a ledger entry, and its text: what the API serves of an entry, formatted
once when the indexer stores it.

`EntryPublic` is the one public schema of an entry (the API re-exports it as its response model):
amounts as decimal strings, addresses EIP-55 checksummed, times in ISO 8601 UTC. An entry never
changes once stored (a reorg deletes it; a new one takes its place), so the indexer serializes it
with the schema's own serializer when it writes it and keeps the text in
`ledger_entries.public_json`; the API's list and entry routes then read one text column and format
nothing. Only `final` changes (provisional -> final), so the stored text is the serialized
`EntryText` (EntryPublic without `final`) without its closing brace, and

    finish(stored, final)                       -> the JSON of EntryPublic
    finish(stored, final, previous_head=head)   -> the JSON of EntryDetailPublic

The audit serializes every entry again from the chain's fields and reports a stored text that
differs, like any other altered field.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from time import gmtime
from typing import Annotated, Literal, cast, get_args

import orjson
from pydantic import Field, TypeAdapter
from typing_extensions import TypedDict

from ledger.core.addresses import checksum
from ledger.core.records import Kind, LedgerEntry

# ----------------------------------------------------------------------------- field types

Address = Annotated[
    str, Field(pattern=r"^0x[0-9a-fA-F]{40}$", examples=["0x5FbDB2315678afecb367f032d93F642f64180aa3"])
]
Hash32 = Annotated[str, Field(pattern=r"^0x[0-9a-f]{64}$")]
Amount = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{1,78}$",
        description="a uint256 as a decimal string",
        examples=["1000000000000000000"],
    ),
]
Time = Annotated[str, Field(pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", examples=["2024-05-01T12:00:00Z"])]

KindName = Literal[
    "campaign_created",
    "pledged",
    "unpledged",
    "cancelled",
    "claimed",
    "refunded",
    "fees_withdrawn",
    "milestone_plan",
    "release_requested",
    "voted",
    "tranche_released",
    "aborted",
    "disclosed",
    "payout_deferred",
    "owed_withdrawn",
    "stale_aborted",
    "unknown",
]


def _kind_name(kind: Kind) -> KindName:
    """The schema's name of `kind` (the schema lists every kind's name)."""
    name = kind.name.lower()
    if name not in get_args(KindName):
        raise RuntimeError(f"EntryText's kind_name does not list {name!r}")
    return cast(KindName, name)


KIND_NAMES: dict[int, KindName] = {int(k): _kind_name(k) for k in Kind}


# ----------------------------------------------------------------------------- the schema


class EntryText(TypedDict):
    """An entry as the API shows it, without `final`: what the indexer stores as its text."""

    seq: Annotated[int, Field(ge=1)]
    kind: Annotated[int, Field(ge=1, le=255)]
    kind_name: KindName
    campaign_id: Annotated[int, Field(description="0 for a fee withdrawal")]
    account: Address
    amount: Amount
    detail: Hash32
    fee: Annotated[Amount | None, Field(description="claimed entries: the platform fee (the detail)")]
    fee_token: Annotated[Address | None, Field(description="fees_withdrawn entries: the asset (the detail)")]
    head: Hash32
    block_number: int
    block_hash: Hash32
    block_time: Time | None
    tx_hash: Hash32
    log_index: int


class EntryPublic(EntryText):
    """One ledger entry."""

    final: Annotated[
        bool,
        Field(description="at or below the finality depth; provisional entries may still be reorged away"),
    ]


class EntryDetailPublic(EntryPublic):
    """One ledger entry with the head it chains from."""

    previous_head: Annotated[Hash32, Field(description="the head this entry chains from (genesis for seq 1)")]


_ENTRY_TEXT = TypeAdapter(EntryText)


# ----------------------------------------------------------------------------- formatting rules

_MINUTES_SECONDS = [f"{m:02d}:{s:02d}Z" for m in range(60) for s in range(60)]


@lru_cache(maxsize=1 << 16)
def _hour(hour: int) -> str:
    year, month, mday, hh = gmtime(hour * 3600)[:4]
    return f"{year:04d}-{month:02d}-{mday:02d}T{hh:02d}:"


def iso(timestamp: int | None) -> str | None:
    """A unix time as ISO 8601 UTC, e.g. 2024-05-01T12:00:00Z. Assembled from cached pieces
    (the date and hour, then minutes and seconds): a page of entries has as many block times as
    entries, and formatting each from scratch was a tenth of the page's cost."""
    if timestamp is None:
        return None
    return _hour(timestamp // 3600) + _MINUTES_SECONDS[timestamp % 3600]


# ----------------------------------------------------------------------------- entries


def entry_text(entry: LedgerEntry) -> EntryText:
    """`entry` in its public shape (without `final`)."""
    kind = int(entry.kind)
    detail = entry.detail
    return {
        "seq": entry.seq,
        "kind": kind,
        "kind_name": KIND_NAMES.get(kind, "unknown"),
        "campaign_id": entry.campaign_id,
        "account": checksum(entry.account),
        "amount": str(entry.amount),
        "detail": detail,
        "fee": str(int(detail, 16)) if kind == Kind.CLAIMED else None,
        "fee_token": checksum("0x" + detail[-40:]) if kind == Kind.FEES_WITHDRAWN else None,
        "head": entry.head,
        "block_number": entry.block_number,
        "block_hash": entry.block_hash,
        "block_time": iso(entry.block_timestamp),
        "tx_hash": entry.tx_hash,
        "log_index": entry.log_index,
    }


def stored_text(entry: LedgerEntry) -> str:
    """The text stored with `entry`: EntryText's serialization of it, without the closing brace
    (finish() closes it with `final`)."""
    return _ENTRY_TEXT.dump_json(entry_text(entry))[:-1].decode()


def stored_texts(entries: Iterable[LedgerEntry]) -> list[str]:
    """stored_text of each entry."""
    dump = _ENTRY_TEXT.dump_json
    return [dump(entry_text(entry))[:-1].decode() for entry in entries]


FINAL_SUFFIX = ',"final":true}'  # what finish() appends
PROVISIONAL_SUFFIX = ',"final":false}'


def finish(stored: str, final: object, previous_head: str | None = None) -> str:
    """The JSON of EntryPublic (or of EntryDetailPublic, given the previous head) from the stored
    text and the row's `final` flag."""
    suffix = FINAL_SUFFIX if final else PROVISIONAL_SUFFIX
    if previous_head is None:
        return stored + suffix
    return f'{stored}{suffix[:-1]},"previous_head":{orjson.dumps(previous_head).decode()}}}'
