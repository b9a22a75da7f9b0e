"""The export format: one line per ledger entry, NDJSON or CSV, with every field an offline
replay needs (docs/ledger-format.md, "Export format"). Written and read as streams, so a ledger of
millions of entries exports and replays in constant memory.

`ExportLine` is the one definition of a line: msgspec writes it (NDJSON, here) and reads it back
(ledger.audit.export_reader), checking every field on the way, so a line that is not an entry
becomes a BadLine naming the field, never an exception. Amounts (amount, goal, max_per_backer, fee) are decimal strings: exact at any
size, in any JSON reader; a reader also takes them as JSON integers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import IO, Annotated, Any

import msgspec

from ledger.core.records import CampaignTerms, LedgerEntry, MilestonePlanTerms, TrancheTerms
from ledger.errors import ConfigError

FORMATS = ("ndjson", "csv")

# msgspec checks types, presence, lengths and ranges as it decodes (in C); hex and decimal digits
# are checked by line_entry (a regex per field cost more than the decode).
Hash = Annotated[str, msgspec.Meta(min_length=66, max_length=66)]
AddressText = Annotated[str, msgspec.Meta(min_length=42, max_length=42)]
Int64 = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
Uint16 = Annotated[int, msgspec.Meta(ge=0, le=2**16 - 1)]
Decimal = Annotated[str, msgspec.Meta(min_length=1, max_length=78)]
# read as a JSON integer or a decimal string, written as the string; at most 2**256 - 1 (line_entry)
U256 = Annotated[int, msgspec.Meta(ge=0)] | Decimal


class ExportLine(msgspec.Struct, omit_defaults=True):
    """One line of an export. The first twelve fields are the entry's; kind-1 lines carry the
    campaign terms, kind-8 lines the milestone plan, kind-11 lines the tranche and its fee."""

    seq: Int64
    kind: Annotated[int, msgspec.Meta(ge=0, le=255)]
    campaign_id: U256
    account: AddressText
    amount: U256
    detail: Hash
    head: Hash
    block_number: Int64
    block_hash: Hash
    block_timestamp: Int64 | None
    tx_hash: Hash
    log_index: Int64
    # kind 1
    token: AddressText | None = None
    goal: U256 | None = None
    deadline: Int64 | None = None
    max_per_backer: U256 | None = None
    keep_it_all: bool | None = None
    fee_bps: Uint16 | None = None
    metadata_hash: Hash | None = None
    # kind 8: a list of basis points (NDJSON), "2000;3000;5000" in CSV
    tranche_bps: Annotated[list[int], msgspec.Meta(max_length=64)] | str | None = None
    voting_period: Int64 | None = None
    # kind 11
    tranche: U256 | None = None
    fee: U256 | None = None


FIELDS = list(ExportLine.__struct_fields__)

# ----------------------------------------------------------------------------- writing


def export_line(entry: LedgerEntry) -> ExportLine:
    """The export line of one entry."""
    line = ExportLine(
        entry.seq,
        int(entry.kind),
        entry.campaign_id,
        entry.account,
        str(entry.amount),
        entry.detail,
        entry.head,
        entry.block_number,
        entry.block_hash,
        entry.block_timestamp,
        entry.tx_hash,
        entry.log_index,
    )
    t = entry.terms
    if isinstance(t, CampaignTerms):
        line.token, line.goal, line.deadline = t.token, str(t.goal), t.deadline
        line.max_per_backer, line.keep_it_all, line.fee_bps = str(t.max_per_backer), t.keep_it_all, t.fee_bps
        line.metadata_hash = t.metadata_hash
    elif isinstance(t, MilestonePlanTerms):
        line.tranche_bps, line.voting_period = list(t.tranche_bps), t.voting_period
    elif isinstance(t, TrancheTerms):
        line.tranche, line.fee = t.tranche, str(t.fee)
    return line


_ENCODER = msgspec.json.Encoder()


def ndjson_lines(entries: Iterable[LedgerEntry]) -> Iterator[bytes]:
    encode = _ENCODER.encode
    for entry in entries:
        yield encode(export_line(entry)) + b"\n"


def csv_lines(entries: Iterable[LedgerEntry]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(FIELDS)
    for entry in entries:
        values = msgspec.structs.astuple(export_line(entry))
        writer.writerow(["" if v is None else _csv_value(v) for v in values])
        if buffer.tell() > 1 << 16:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def _csv_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(b) for b in value)
    return value


def export_lines(entries: Iterable[LedgerEntry], fmt: str) -> Iterator[bytes]:
    """The export of `entries` in `fmt` ('ndjson' or 'csv'), as byte chunks."""
    if fmt == "ndjson":
        return ndjson_lines(entries)
    if fmt == "csv":
        return csv_lines(entries)
    raise ConfigError(f"unknown export format {fmt!r}: use ndjson or csv")


def write_export(entries: Iterable[LedgerEntry], fmt: str, out: IO[bytes]) -> int:
    """Stream the export to `out`; returns the number of entries written."""
    count = 0

    def counted() -> Iterator[LedgerEntry]:
        nonlocal count
        for entry in entries:
            count += 1
            yield entry

    for chunk in export_lines(counted(), fmt):
        out.write(chunk)
    return count
