"""The export format: one line per ledger entry, NDJSON or CSV, with every field an offline
replay needs (docs/ledger-format.md, "Export format"). Written and read as streams, so a ledger of
millions of entries exports and replays in constant memory.

Amounts (amount, goal, max_per_backer) are decimal strings: exact at any size, in any JSON reader.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import orjson

from ledger.errors import ConfigError
from ledger.records import CampaignTerms, Kind, LedgerEntry

FORMATS = ("ndjson", "csv")
ENTRY_FIELDS = [
    "seq", "kind", "campaign_id", "account", "amount", "detail", "head",
    "block_number", "block_hash", "block_timestamp", "tx_hash", "log_index",
]
TERM_FIELDS = ["token", "goal", "deadline", "max_per_backer", "keep_it_all", "fee_bps", "metadata_hash"]
FIELDS = ENTRY_FIELDS + TERM_FIELDS


def entry_record(entry: LedgerEntry) -> dict[str, Any]:
    """The export record of one entry; kind-1 records carry the campaign terms."""
    record: dict[str, Any] = {
        "seq": entry.seq,
        "kind": int(entry.kind),
        "campaign_id": entry.campaign_id,
        "account": entry.account,
        "amount": str(entry.amount),
        "detail": entry.detail,
        "head": entry.head,
        "block_number": entry.block_number,
        "block_hash": entry.block_hash,
        "block_timestamp": entry.block_timestamp,
        "tx_hash": entry.tx_hash,
        "log_index": entry.log_index,
    }
    if entry.terms is not None:
        t = entry.terms
        record.update(
            token=t.token, goal=str(t.goal), deadline=t.deadline, max_per_backer=str(t.max_per_backer),
            keep_it_all=t.keep_it_all, fee_bps=t.fee_bps, metadata_hash=t.metadata_hash,
        )
    return record


def ndjson_lines(entries: Iterable[LedgerEntry]) -> Iterator[bytes]:
    for entry in entries:
        yield orjson.dumps(entry_record(entry)) + b"\n"


def csv_lines(entries: Iterable[LedgerEntry]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for entry in entries:
        record = entry_record(entry)
        if "keep_it_all" in record:
            record["keep_it_all"] = "true" if record["keep_it_all"] else "false"
        writer.writerow(record)
        if buffer.tell() > 1 << 16:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


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


# --------------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line of an export that could not be read as an entry."""

    line: int
    reason: str


def _int(value: Any) -> int:
    if isinstance(value, bool) or value is None or value == "":
        raise ValueError(f"expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    text = str(value)
    if not text.isdigit():
        raise ValueError(f"expected a non-negative integer, got {value!r}")
    return int(text)


def _hex(value: Any, length: int) -> str:
    text = str(value).lower()
    if len(text) != 2 + length or not text.startswith("0x"):
        raise ValueError(f"expected 0x and {length} hex digits, got {value!r}")
    int(text[2:], 16)
    return text


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "1"):
        return True
    if str(value).lower() in ("false", "0"):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def record_entry(record: dict[str, Any]) -> LedgerEntry:
    """Parse one export record; raises ValueError naming the bad field."""
    try:
        kind = _int(record["kind"])
        terms = None
        if kind == Kind.CAMPAIGN_CREATED:
            terms = CampaignTerms(
                token=_hex(record["token"], 40),
                goal=_int(record["goal"]),
                deadline=_int(record["deadline"]),
                max_per_backer=_int(record["max_per_backer"]),
                keep_it_all=_bool(record["keep_it_all"]),
                fee_bps=_int(record["fee_bps"]),
                metadata_hash=_hex(record["metadata_hash"], 64),
            )
        timestamp = record.get("block_timestamp")
        return LedgerEntry(
            seq=_int(record["seq"]),
            kind=kind,
            campaign_id=_int(record["campaign_id"]),
            account=_hex(record["account"], 40),
            amount=_int(record["amount"]),
            detail=_hex(record["detail"], 64),
            head=_hex(record["head"], 64),
            block_number=_int(record["block_number"]),
            block_hash=_hex(record["block_hash"], 64),
            tx_hash=_hex(record["tx_hash"], 64),
            log_index=_int(record["log_index"]),
            block_timestamp=None if timestamp in (None, "") else _int(timestamp),
            terms=terms,
        )
    except KeyError as exc:
        raise ValueError(f"missing field {exc.args[0]!r}") from None


def read_export(stream: IO[bytes]) -> Iterator[tuple[int, LedgerEntry | BadLine]]:
    """(line number, entry or BadLine) for every line of an NDJSON or CSV export."""
    first = stream.readline()
    if not first:
        return
    if first.lstrip().startswith(b"{"):
        lines: Iterable[bytes] = _chain_first(first, stream)
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                record = orjson.loads(raw)
                if not isinstance(record, dict):
                    raise ValueError("not a JSON object")
                yield number, record_entry(record)
            except (ValueError, orjson.JSONDecodeError) as exc:
                yield number, BadLine(number, str(exc))
        return
    text = io.TextIOWrapper(_Prefixed(first, stream), encoding="utf-8", newline="")
    reader = csv.DictReader(text)
    missing = [f for f in ENTRY_FIELDS if f not in (reader.fieldnames or [])]
    if missing:
        yield 1, BadLine(1, f"the CSV header lacks {', '.join(missing)}")
        return
    for record in reader:
        number = reader.line_num
        try:
            yield number, record_entry(record)
        except ValueError as exc:
            yield number, BadLine(number, str(exc))


def _chain_first(first: bytes, stream: IO[bytes]) -> Iterator[bytes]:
    yield first
    yield from stream


class _Prefixed(io.RawIOBase):
    """A byte stream that replays an already-read first line before the rest."""

    def __init__(self, first: bytes, rest: IO[bytes]) -> None:
        self._first = first
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._first:
            n = min(len(buffer), len(self._first))
            buffer[:n] = self._first[:n]
            self._first = self._first[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
