"""The offline audit with its hash chain's links checked by worker processes (ledger.audit.links)
gives the very report the audit gives alone: on a clean export, and on every kind of edit, with
ranges cut anywhere in the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger.audit import links
from ledger.audit.offline import audit_export

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
        monkeypatch.setattr(links, "MIN_FILE_BYTES", 0)
        monkeypatch.setattr(links, "CHUNK_BYTES", 3000)  # a range every few lines, cut anywhere
    else:
        monkeypatch.setattr(links, "links_for", lambda path: None)
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
    assert links.links_for(str(path)) is None  # below the size that pays: no workers by default
    with monkeypatch.context() as patched:
        alone = report_of(path, workers=False, monkeypatch=patched)
    with monkeypatch.context() as patched:
        with_workers = report_of(path, workers=True, monkeypatch=patched)
        assert len(links.line_starts(str(path), path.stat().st_size)) > 5
    assert with_workers == alone
    assert alone["ok"] is (how == "clean")


def test_each_range_has_one_byte_per_line_and_vouches_only_for_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "export.ndjson"
    path.write_bytes(b"".join(edited("edited")))
    monkeypatch.setattr(links, "CHUNK_BYTES", 3000)
    size = path.stat().st_size
    starts = links.line_starts(str(path), size)
    found = b"".join(links.check_range(str(path), a, b) for a, b in zip(starts, [*starts[1:], size]))
    assert len(found) == len(LINES)
    first_of_range = {len(b"".join(LINES[:i])) for i in range(len(LINES))}
    assert all(start in first_of_range for start in starts)
    assert found[20] == 0 and found[21] == 1  # the edited line; the next chains to its (unchanged) head field
    assert sum(found) >= len(LINES) - len(starts) - 2
