"""The offline audit with its export read and its hash chain's links checked by worker processes
(ledger.audit.parallel) gives the very report the audit gives alone: on a clean export, and on
every kind of edit, with ranges cut anywhere in the file, and when a worker dies."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ledger.audit import offline, parallel
from ledger.audit.export_reader import BadLine, read_export
from ledger.audit.offline import audit_export
from ledger.core.records import LedgerEntry

GOLDEN = Path(__file__).parent / "golden"
META = json.loads((GOLDEN / "anvil_getlogs.meta.json").read_text())
LINES = (GOLDEN / "anvil_getlogs.expected.ndjson").read_bytes().splitlines(keepends=True)


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


@pytest.mark.parametrize("how", ["clean", "edited", "dropped", "inserted", "reordered", "garbage and blanks"])
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
    reader = parallel.ParallelExport(str(path), path.stat().st_size, workers=2)
    try:
        read = [(number, item) for number, item, _ in reader.items()]
    finally:
        reader.close()
    with open(path, "rb") as handle:
        expected = list(read_export(handle))
    assert read == expected
    assert any(isinstance(item, BadLine) for _, item in read)
    assert any(isinstance(item, LedgerEntry) and item.terms is not None for _, item in read)


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
