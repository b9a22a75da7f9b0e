"""Reading an export back (NDJSON or CSV) as ledger entries, for the offline audit: each line
decoded into `ExportLine` (ledger.audit.export) by msgspec and checked field by field, so a line that
is not an entry becomes a `BadLine` naming the field, never an exception; lines are read one at a
time and cut at MAX_LINE bytes, so a hostile file cannot exhaust memory.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import msgspec

from ledger.audit.export import FIELDS, ExportLine
from ledger.core.hexdata import first_not_hex
from ledger.core.records import CampaignTerms, EntryTerms, Kind, LedgerEntry, MilestonePlanTerms, TrancheTerms

MAX_U256 = 2**256 - 1
MAX_LINE = 1 << 16  # bytes: an export line is under 1 KiB; a longer one is refused unread
ENTRY_FIELDS = FIELDS[:12]
_TERMS = {
    int(Kind.CAMPAIGN_CREATED): (
        "token",
        "goal",
        "deadline",
        "max_per_backer",
        "keep_it_all",
        "fee_bps",
        "metadata_hash",
    ),
    int(Kind.MILESTONE_PLAN): ("tranche_bps", "voting_period"),
    int(Kind.TRANCHE_RELEASED): ("tranche", "fee"),
}


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line of an export that could not be read as an entry."""

    line: int
    reason: str


_DECODER = msgspec.json.Decoder(ExportLine)


def _why(exc: msgspec.MsgspecError) -> str:
    """A msgspec error as 'field: what is wrong'."""
    message = str(exc)
    if " - at `$." in message:
        what, where = message.rsplit(" - at `$.", 1)
        return f"{where.rstrip('`')}: {what}"
    return message


def _terms(line: ExportLine) -> EntryTerms | None:
    """The terms a kind-1, -8 or -11 line must carry; ValueError naming a missing one."""
    wanted = _TERMS.get(line.kind)
    if wanted is None:
        return None
    missing = [name for name in wanted if getattr(line, name) is None]
    if missing:
        raise ValueError(f"missing field {missing[0]!r} (kind {line.kind} lines carry {', '.join(wanted)})")
    if line.kind == Kind.CAMPAIGN_CREATED:
        token, goal, deadline, cap = (
            line.token or "",
            line.goal or 0,
            line.deadline or 0,
            line.max_per_backer or 0,
        )
        fee_bps, metadata = line.fee_bps or 0, line.metadata_hash or ""
        return CampaignTerms(
            token.lower(),
            _u256("goal", goal),
            deadline,
            _u256("max_per_backer", cap),
            bool(line.keep_it_all),
            fee_bps,
            metadata.lower(),
        )
    if line.kind == Kind.MILESTONE_PLAN:
        bps = line.tranche_bps or []
        if isinstance(bps, str):
            try:
                bps = [int(b) for b in bps.split(";")]
            except ValueError:
                raise ValueError(
                    f"tranche_bps: {line.tranche_bps!r:.80} is not basis points separated by ;"
                ) from None
        if not 0 < len(bps) <= 64:
            raise ValueError(
                f"tranche_bps: expected a list of 1 to 64 basis points, got {line.tranche_bps!r:.80}"
            )
        if any(not 0 <= b < 2**16 for b in bps):
            raise ValueError(f"tranche_bps: {line.tranche_bps!r:.80} holds a value beyond uint16")
        return MilestonePlanTerms(tuple(bps), line.voting_period or 0)
    return TrancheTerms(_u256("tranche", line.tranche or 0), _u256("fee", line.fee or 0))


def _u256(name: str, value: int | str) -> int:
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit()):
            raise ValueError(f"{name}: {value!r:.90} is not a decimal number")
        value = int(value)
    if value > MAX_U256:
        raise ValueError(f"{name}: {value} is beyond uint256")
    return value


_HEX_FIELDS = ("account", "detail", "head", "block_hash", "tx_hash", "token", "metadata_hash")


def _check_hex(line: ExportLine) -> None:
    """The hex digits of a line's address and hashes (msgspec checked their lengths)."""
    bad = first_not_hex(
        _HEX_FIELDS,
        (line.account, line.detail, line.head, line.block_hash, line.tx_hash, line.token, line.metadata_hash),
    )
    if bad is not None:
        name, text = bad
        raise ValueError(f"{name}: expected 0x and hex digits, got {text!r:.90}")


def line_entry(line: ExportLine) -> LedgerEntry:
    """The entry of a decoded export line; ValueError naming what is wrong."""
    _check_hex(line)
    return LedgerEntry(
        line.seq,
        line.kind,
        _u256("campaign_id", line.campaign_id),
        line.account.lower(),
        _u256("amount", line.amount),
        line.detail.lower(),
        line.head.lower(),
        line.block_number,
        line.block_hash.lower(),
        line.tx_hash.lower(),
        line.log_index,
        line.block_timestamp,
        _terms(line) if line.kind in _TERMS else None,
    )


def ndjson_item(number: int, raw: bytes) -> LedgerEntry | BadLine | None:
    """Line `number` of an NDJSON export: its entry, a BadLine, or None for a blank line."""
    if len(raw) > MAX_LINE:
        return BadLine(number, f"the line is {len(raw):,} bytes long; an entry takes under 1 KiB")
    try:
        return line_entry(_DECODER.decode(raw))
    except (msgspec.ValidationError, ValueError) as exc:  # ValidationError first: it is a DecodeError too
        return BadLine(number, _why(exc) if isinstance(exc, msgspec.MsgspecError) else str(exc))
    except msgspec.DecodeError as exc:
        if not raw.strip():
            return None
        return BadLine(number, f"not a JSON object of an entry: {exc}")


def csv_item(number: int, record: dict[str | None, Any]) -> LedgerEntry | BadLine:
    """Row `number` of a CSV export (a DictReader record): its entry or a BadLine."""
    if None in record:
        return BadLine(number, f"the row has {len(record[None])} values more than the header")
    values: dict[str | None, Any] = {"block_timestamp": None}  # the one entry field that may be empty
    values.update((k, v) for k, v in record.items() if v not in (None, ""))
    try:
        return line_entry(msgspec.convert(values, ExportLine, strict=False))
    except (msgspec.ValidationError, ValueError) as exc:
        return BadLine(number, _why(exc) if isinstance(exc, msgspec.MsgspecError) else str(exc))


def read_export(stream: IO[bytes]) -> Iterator[tuple[int, LedgerEntry | BadLine]]:
    """(line number, entry or BadLine) for every line of an NDJSON or CSV export. Whatever the
    bytes, this yields; it never raises on the file's content."""
    first = stream.readline(MAX_LINE + 1)
    if not first:
        return
    if first.lstrip().startswith(b"{"):
        for number, raw in enumerate(lines(first, stream), start=1):
            item = ndjson_item(number, raw)
            if item is not None:
                yield number, item
        return
    text = io.TextIOWrapper(
        io.BufferedReader(_Prefixed(first, stream)), encoding="utf-8", errors="replace", newline=""
    )
    reader = csv.DictReader(text)
    try:
        header = reader.fieldnames or []
    except csv.Error as exc:
        yield 1, BadLine(1, f"not an export: {exc}")
        return
    missing = [f for f in ENTRY_FIELDS if f not in header]
    if missing:
        why = (
            f"its CSV header lacks {', '.join(missing)}"
            if header[:2] == ["seq", "kind"]
            else "its first line is neither an entry as JSON (NDJSON) nor the CSV header (seq,kind,...)"
        )
        yield 1, BadLine(1, f"not an export: {why}")
        return
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield reader.line_num, BadLine(reader.line_num, f"not a CSV row: {exc}")
            continue
        number = reader.line_num
        if any("\ufffd" in v for v in record.values() if isinstance(v, str)):
            yield number, BadLine(number, "the row is not valid UTF-8")
            continue
        yield number, csv_item(number, record)


def lines(first: bytes, stream: IO[bytes]) -> Iterator[bytes]:
    """`first`, then the stream's lines after it, each read by read_line."""
    yield first
    while line := read_line(stream):
        yield line


def read_line(stream: IO[bytes]) -> bytes:
    """The stream's next line (b"" at its end), cut at MAX_LINE + 1 bytes: the rest of an overlong
    line is skipped, so memory stays bounded."""
    line = stream.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE and not line.endswith(b"\n"):
        while True:  # skip the rest of the overlong line
            rest = stream.readline(MAX_LINE)
            if not rest or rest.endswith(b"\n"):
                break
    return line


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
