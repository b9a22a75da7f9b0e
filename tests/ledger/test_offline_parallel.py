"""The offline audit with its export read and its hash chain's links checked by worker processes
(ledger.audit.parallel) gives the very report the audit gives alone: on a clean export, and on
every kind of edit, with ranges cut anywhere in the file, and when a worker dies."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ledger.audit import offline, parallel
from ledger.audit.export_reader import BadLine, ndjson_item, read_export
from ledger.audit.offline import audit_export
from ledger.core.hashing import HashChain
from ledger.core.records import LedgerEntry

GOLDEN = Path(__file__).parent / "golden"
META = json.loads((GOLDEN / "anvil_getlogs.meta.json").read_text())
LINES = (GOLDEN / "anvil_getlogs.expected.ndjson").read_bytes().splitlines(keepends=True)


def rechained(lines: list[bytes], start: int) -> list[bytes]:
    """`lines` with the heads of lines `start` on computed again from the head before them, so
    the hash chain holds whatever was edited there."""
    chain = HashChain("0x" + json.loads(lines[start - 1])["head"][2:])
    for index in range(start, len(lines)):
        record = json.loads(lines[index])
        record["head"] = chain.expected_head(ndjson_entry(lines[index]))
        chain.reset(record["head"], record["seq"])
        lines[index] = json.dumps(record, separators=(",", ":")).encode() + b"\n"
    return lines


def ndjson_entry(line: bytes) -> LedgerEntry:
    entry = ndjson_item(1, line)
    assert isinstance(entry, LedgerEntry)
    return entry


def edited(how: str) -> list[bytes]:
    lines = list(LINES)
    if how == "edited":
        record = json.loads(lines[20])
        record["amount"] = str(int(record["amount"]) + 1)
        lines[20] = json.dumps(record, separators=(",", ":")).encode() + b"\n"
    elif how == "dropped":
        del lines[30]
    elif how == "inserted":
        lines.insert(40, lines[10])
    elif how == "reordered":
        lines[25], lines[26] = lines[26], lines[25]
    elif how == "garbage and blanks":
        lines[33:33] = [b"\n", b"not json\n", b"{}\n", b"\n"]
    elif how == "a run repeated":  # seqs 21-25 again after seq 30: each links to the line before it
        lines[30:30] = lines[20:25]
    elif how == "dropped and rechained":  # seq 21 gone, the heads after it chain: only the seq tells
        del lines[20]
        lines = rechained(lines, 20)
    elif how == "invalid and rechained":  # a pledge to a campaign that does not exist, heads chained
        record = json.loads(lines[22])
        record["campaign_id"] = 99
        lines[22] = json.dumps(record, separators=(",", ":")).encode() + b"\n"
        lines = rechained(lines, 22)
    return lines


def report_of(path: Path, *, workers: bool, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    if workers:
        monkeypatch.setattr(parallel, "CHUNK_BYTES", 3000)  # a range every few lines, cut anywhere
        # workers even though the test process runs other threads (parallel_export would decline)
        size = path.stat().st_size
        monkeypatch.setattr(offline, "parallel_export", lambda name: parallel.ParallelExport(name, size, 2))
    else:
        monkeypatch.setattr(parallel, "MIN_FILE_BYTES", 1 << 62)
    with open(path, "rb") as handle:
        return audit_export(
            handle, META["chain_id"], META["contract"], expect_head=META["ledger_head"]
        ).to_dict()


@pytest.mark.parametrize(
    "how",
    [
        "clean",
        "edited",
        "dropped",
        "inserted",
        "reordered",
        "garbage and blanks",
        "a run repeated",
        "dropped and rechained",
        "invalid and rechained",
    ],
)
def test_the_workers_change_nothing_in_the_report(
    how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "export.ndjson"
    path.write_bytes(b"".join(edited(how)))
    assert parallel.parallel_export(str(path)) is None  # below the size that pays: no workers by default
    with monkeypatch.context() as patched:
        alone = report_of(path, workers=False, monkeypatch=patched)
    with monkeypatch.context() as patched:
        with_workers = report_of(path, workers=True, monkeypatch=patched)
        assert len(parallel.line_starts(str(path), path.stat().st_size)) > 5
    assert with_workers == alone
    assert alone["ok"] is (how == "clean")


def test_each_range_has_one_byte_per_line_and_vouches_only_for_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "export.ndjson"
    path.write_bytes(b"".join(edited("edited")))
    monkeypatch.setattr(parallel, "CHUNK_BYTES", 3000)
    size = path.stat().st_size
    starts = parallel.line_starts(str(path), size)
    found = b"".join(parallel.read_range(str(path), a, b).links for a, b in zip(starts, [*starts[1:], size]))
    assert len(found) == len(LINES)
    first_of_range = {len(b"".join(LINES[:i])) for i in range(len(LINES))}
    assert all(start in first_of_range for start in starts)
    assert found[20] == 0 and found[21] == 1  # the edited line; the next chains to its (unchanged) head field
    assert sum(found) >= len(LINES) - len(starts) - 2


def lines_read(path: Path) -> list[tuple[int, object]]:
    """(line number, entry or BadLine) of every line of the export at `path` as two workers read
    it, in order: each run of linked entries taken apart at its lines."""
    reader = parallel.ParallelExport(str(path), path.stat().st_size, workers=2)
    read: list[tuple[int, object]] = []
    try:
        for number, item, _ in reader.runs():
            if isinstance(item, parallel.Linked):
                read.extend(enumerate(item.entries, start=number))
            else:
                read.append((number, item))
    finally:
        reader.close()
    return read


@pytest.mark.parametrize("how", ["clean", "garbage and blanks"])
def test_the_workers_read_what_read_export_reads(
    how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every line's number and entry (or BadLine) as read_export gives them: the plain entries
    that came back as JSON arrays, the entries with terms and the bad lines read again here, an
    overlong line cut as read_export cuts it."""
    path = tmp_path / "export.ndjson"
    lines = edited(how)
    lines[50:50] = [b'{"seq":' + b"1" * (parallel.MAX_LINE + 10) + b"}\n"]
    path.write_bytes(b"".join(lines))
    monkeypatch.setattr(parallel, "CHUNK_BYTES", 3000)
    read = lines_read(path)
    with open(path, "rb") as handle:
        expected = list(read_export(handle))
    assert read == expected
    assert any(isinstance(item, BadLine) for _, item in read)
    assert any(isinstance(item, LedgerEntry) and item.terms is not None for _, item in read)


@pytest.mark.parametrize("where", ["the file", "a later range"])
def test_an_overlong_line_that_starts_a_range_is_cut_as_read_export_cuts_it(
    where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file's first line as read_export reads it (the rest of an overlong one is read as lines
    of its own), a later line's rest skipped, as read_export skips it: so every line after it has
    its number."""
    monkeypatch.setattr(parallel, "CHUNK_BYTES", 3000)
    path = tmp_path / "export.ndjson"
    overlong = b'{"seq":' + b"1" * (parallel.MAX_LINE * 3) + b"}\n"
    for at in [0] if where == "the file" else range(40, 60):
        lines = list(LINES)
        lines[at:at] = [overlong]
        path.write_bytes(b"".join(lines))
        if len(b"".join(lines[:at])) in parallel.line_starts(str(path), path.stat().st_size):
            break
    else:
        pytest.fail("the overlong line starts no range")
    read = lines_read(path)
    with open(path, "rb") as handle:
        assert read == list(read_export(handle))


def _dies_in_a_worker(path: str, start: int, end: int) -> parallel.RangeRead:
    if os.getpid() != PARENT:
        os._exit(1)
    return READ_RANGE(path, start, end)


PARENT = os.getpid()
READ_RANGE = parallel.read_range


def test_a_worker_that_dies_changes_nothing_in_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "export.ndjson"
    path.write_bytes(b"".join(edited("edited")))
    with monkeypatch.context() as patched:
        alone = report_of(path, workers=False, monkeypatch=patched)
    with monkeypatch.context() as patched:
        patched.setattr(parallel, "read_range", _dies_in_a_worker)
        with_dead_workers = report_of(path, workers=True, monkeypatch=patched)
    assert with_dead_workers == alone
