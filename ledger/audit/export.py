"""The export format: one line per ledger entry, NDJSON or CSV, with every field an offline
replay needs (docs/ledger-format.md, "Export format"). Written and read as streams, so a ledger of
millions of entries exports and replays in constant memory.

Amounts (amount, goal, max_per_backer, fee) are decimal strings: exact at any size, in any JSON reader.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import orjson

from ledger.errors import ConfigError
from ledger.core.records import CampaignTerms, Kind, LedgerEntry, MilestonePlanTerms, TrancheTerms

FORMATS = ("ndjson", "csv")
ENTRY_FIELDS = [
    "seq", "kind", "campaign_id", "account", "amount", "detail", "head",
    "block_number", "block_hash", "block_timestamp", "tx_hash", "log_index",
]
TERM_FIELDS = ["token", "goal", "deadline", "max_per_backer", "keep_it_all", "fee_bps", "metadata_hash"]
PLAN_FIELDS = ["tranche_bps", "voting_period"]  # kind 8
TRANCHE_FIELDS = ["tranche", "fee"]  # kind 11
FIELDS = ENTRY_FIELDS + TERM_FIELDS + PLAN_FIELDS + TRANCHE_FIELDS
_TERMS_KINDS = (b"1", b"8", b"11")  # kinds whose lines carry terms: never on the canonical fast path


def entry_record(entry: LedgerEntry) -> dict[str, Any]:
    """The export record of one entry; kind-1 records carry the campaign terms, kind-8 records
    the milestone plan (`tranche_bps` as a list of integers, `voting_period`), kind-11 records the
    tranche and its fee."""
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
    t = entry.terms
    if t is None:
        return record
    if isinstance(t, CampaignTerms):
        record.update(
            token=t.token, goal=str(t.goal), deadline=t.deadline, max_per_backer=str(t.max_per_backer),
            keep_it_all=t.keep_it_all, fee_bps=t.fee_bps, metadata_hash=t.metadata_hash,
        )
    elif isinstance(t, MilestonePlanTerms):
        record.update(tranche_bps=list(t.tranche_bps), voting_period=t.voting_period)
    else:
        record.update(tranche=t.tranche, fee=str(t.fee))
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
        if "tranche_bps" in record:
            record["tranche_bps"] = ";".join(str(b) for b in record["tranche_bps"])
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


_HEX = {n: re.compile(rf"0x[0-9a-fA-F]{{{n}}}").fullmatch for n in (40, 64)}
_DECIMAL = re.compile(r"[0-9]+").fullmatch


def _int(value: Any, name: str) -> int:
    if type(value) is int and value >= 0:
        return value
    if type(value) is str and _DECIMAL(value):
        return int(value)
    raise ValueError(f"{name}: expected a non-negative integer, got {value!r}")


def _hex(value: Any, length: int, name: str) -> str:
    if type(value) is str and _HEX[length](value):
        return value.lower()
    raise ValueError(f"{name}: expected 0x and {length} hex digits, got {value!r}")


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "1"):
        return True
    if str(value).lower() in ("false", "0"):
        return False
    raise ValueError(f"keep_it_all: expected true or false, got {value!r}")


def _tranche_bps(value: Any) -> tuple[int, ...]:
    """A kind-8 line's plan: a JSON list of integers (NDJSON) or "2000;3000;5000" (CSV)."""
    items = value.split(";") if type(value) is str else value
    if type(items) is not list or not 0 < len(items) <= 64:
        raise ValueError(f"tranche_bps: expected a list of basis points, got {value!r}")
    bps = tuple(_int(item, "tranche_bps") for item in items)
    if any(b >= 2**16 for b in bps):
        raise ValueError(f"tranche_bps: {value!r} holds a value beyond uint16")
    return bps


def record_entry(record: dict[str, Any]) -> LedgerEntry:
    """Parse one export record; raises ValueError naming the bad field."""
    try:
        kind = _int(record["kind"], "kind")
        terms = None
        if kind == Kind.CAMPAIGN_CREATED:
            terms = CampaignTerms(
                _hex(record["token"], 40, "token"),
                _int(record["goal"], "goal"),
                _int(record["deadline"], "deadline"),
                _int(record["max_per_backer"], "max_per_backer"),
                _bool(record["keep_it_all"]),
                _int(record["fee_bps"], "fee_bps"),
                _hex(record["metadata_hash"], 64, "metadata_hash"),
            )
        elif kind == Kind.MILESTONE_PLAN:
            terms = MilestonePlanTerms(_tranche_bps(record["tranche_bps"]), _int(record["voting_period"], "voting_period"))
        elif kind == Kind.TRANCHE_RELEASED:
            terms = TrancheTerms(_int(record["tranche"], "tranche"), _int(record["fee"], "fee"))
        timestamp = record.get("block_timestamp")
        return LedgerEntry(
            _int(record["seq"], "seq"),
            kind,
            _int(record["campaign_id"], "campaign_id"),
            _hex(record["account"], 40, "account"),
            _int(record["amount"], "amount"),
            _hex(record["detail"], 64, "detail"),
            _hex(record["head"], 64, "head"),
            _int(record["block_number"], "block_number"),
            _hex(record["block_hash"], 64, "block_hash"),
            _hex(record["tx_hash"], 64, "tx_hash"),
            _int(record["log_index"], "log_index"),
            None if timestamp is None or timestamp == "" else _int(timestamp, "block_timestamp"),
            terms,
        )
    except KeyError as exc:
        raise ValueError(f"missing field {exc.args[0]!r}") from None


# The exact bytes `ndjson_lines` writes for an entry without terms. Matching it validates and
# extracts every field in one C-level call; any other spelling takes the general path, and so do
# the kinds that must carry terms (1, 8, 11): without them record_entry names the missing field.
_CANONICAL = re.compile(
    rb'\{"seq":(\d+),"kind":(\d+),"campaign_id":(\d+),"account":"(0x[0-9a-f]{40})","amount":"(\d+)",'
    rb'"detail":"(0x[0-9a-f]{64})","head":"(0x[0-9a-f]{64})","block_number":(\d+),"block_hash":"(0x[0-9a-f]{64})",'
    rb'"block_timestamp":(\d+|null),"tx_hash":"(0x[0-9a-f]{64})","log_index":(\d+)\}\r?\n?'
).fullmatch


def _canonical_entry(m: re.Match[bytes]) -> LedgerEntry:
    seq, kind, cid, account, amount, detail, head, block, block_hash, ts, tx, log_index = m.groups()
    return LedgerEntry(
        int(seq), int(kind), int(cid), account.decode(), int(amount), detail.decode(), head.decode(), int(block),
        block_hash.decode(), tx.decode(), int(log_index), None if ts == b"null" else int(ts), None,
    )


def ndjson_item(number: int, raw: bytes) -> LedgerEntry | BadLine | None:
    """Line `number` of an NDJSON export: its entry, a BadLine, or None for a blank line."""
    m = _CANONICAL(raw)
    if m is not None and m.group(2) not in _TERMS_KINDS:
        return _canonical_entry(m)
    if not raw.strip():
        return None
    try:
        record = orjson.loads(raw)
        if not isinstance(record, dict):
            raise ValueError("not a JSON object")
        return record_entry(record)
    except (ValueError, orjson.JSONDecodeError) as exc:
        return BadLine(number, str(exc))


# A fast path over an NDJSON export's buffer: fast(buffer, pos) consumes the lines it can from
# offset `pos` and returns (the offset of the first line it did not consume, how many it did).
FastPath = Callable[[memoryview, int], tuple[int, int]]
_CHUNK = 8 << 20  # bytes read at a time on the fast path


def read_export(stream: IO[bytes], fast: FastPath | None = None) -> Iterator[tuple[int, LedgerEntry | BadLine]]:
    """(line number, entry or BadLine) for every line of an NDJSON or CSV export.

    With `fast` (Replayer.feed_ndjson), an NDJSON export is read in large chunks and `fast` is
    offered each chunk first: only the lines it leaves are yielded, in order, each one before
    `fast` is called again, so the consumer must process every item before asking for the next."""
    first = stream.readline()
    if not first:
        return
    if first.lstrip().startswith(b"{"):
        if fast is not None:
            yield from _read_ndjson_fast(first, stream, fast)
            return
        lines: Iterable[bytes] = _chain_first(first, stream)
        for number, raw in enumerate(lines, start=1):
            item = ndjson_item(number, raw)
            if item is not None:
                yield number, item
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


def _read_ndjson_fast(first: bytes, stream: IO[bytes], fast: FastPath) -> Iterator[tuple[int, LedgerEntry | BadLine]]:
    """The lines `fast` leaves, numbered and split exactly as iterating the stream would. The
    file is read into one reused buffer (a fresh bytes object per chunk would cost more than the
    fast path itself), a partial last line carried over to its front."""
    buffer = bytearray(max(_CHUNK, len(first)))
    buffer[: len(first)] = first
    filled = len(first)
    pos = number = 0
    at_end = False
    while True:
        window = memoryview(buffer)[:filled]
        try:
            pos, handled = fast(window, pos)
        finally:
            window.release()
        number += handled
        end = buffer.find(b"\n", pos, filled)
        if end >= 0:  # a line `fast` left: read as read_export reads it
            number += 1
            item = ndjson_item(number, bytes(buffer[pos : end + 1]))
            pos = end + 1
            if item is not None:
                yield number, item
            continue
        if at_end:
            if pos < filled:  # a last line without a line end
                item = ndjson_item(number + 1, bytes(buffer[pos:filled]))
                if item is not None:
                    yield number + 1, item
            return
        buffer[: filled - pos] = buffer[pos:filled]
        filled -= pos
        pos = 0
        if filled == len(buffer):  # a line longer than the buffer
            buffer.extend(bytes(len(buffer)))
        count = _read_into(stream, buffer, filled)
        filled += count
        at_end = count == 0


def _read_into(stream: IO[bytes], buffer: bytearray, start: int) -> int:
    """Read from `stream` into buffer[start:]; the number of bytes read, 0 at its end."""
    readinto = getattr(stream, "readinto", None)
    if readinto is None:
        data = stream.read(len(buffer) - start)
        buffer[start : start + len(data)] = data
        return len(data)
    view = memoryview(buffer)[start:]
    try:
        return readinto(view) or 0
    finally:
        view.release()


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
