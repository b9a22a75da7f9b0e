"""The offline audit: an export file replayed from genesis with no node at all. A large NDJSON
file is read, and its hash chain's links checked, by worker processes on every core meanwhile
(ledger.audit.parallel)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

from ledger.audit import findings as codes
from ledger.audit.export_reader import BadLine, read_export
from ledger.audit.findings import Finding
from ledger.audit.parallel import Linked, parallel_export
from ledger.audit.replay import Replayer
from ledger.audit.report import AuditReport
from ledger.core.records import LedgerEntry


def _unlinked(
    items: Iterator[tuple[int, LedgerEntry | BadLine]],
) -> Iterator[tuple[int, LedgerEntry | BadLine | Linked, bool]]:
    """read_export's items with no link checked ahead: the replay hashes every entry itself."""
    for number, item in items:
        yield number, item, False


def audit_export(
    stream: IO[bytes], chain_id: int, contract: str, *, expect_head: str | None = None
) -> AuditReport:
    """Replay an export file from genesis with no node: hash chain, seq continuity, terms,
    campaign and backer totals, and (if given) the head an auditor read from a block explorer."""
    contract = contract.lower()
    report = AuditReport(source="export", chain_id=chain_id, contract=contract, expected_head=expect_head)
    replayer = Replayer.from_genesis(chain_id, contract)
    name = getattr(stream, "name", None)
    parallel = parallel_export(name if isinstance(name, str) else None)
    items = parallel.runs() if parallel is not None else _unlinked(read_export(stream))
    try:
        for number, item, linked in items:
            if isinstance(item, BadLine):
                report.findings.append(Finding(codes.BAD_LINE, f"line {number}: {item.reason}", line=number))
                continue
            if isinstance(item, Linked):
                replayer.feed_linked(item.entries, number)
                continue
            replayer.feed(item, line=number, chained=linked and replayer.head_line == number - 1)
    finally:
        if parallel is not None:
            parallel.close()
    report.findings = report.findings + replayer.findings
    report.findings.sort(key=lambda f: f.line or 0)
    if (
        not replayer.entries
        and report.findings
        and not report.findings[0].message.startswith("not an export")
    ):
        report.findings.insert(
            0, Finding(codes.BAD_LINE, "not an export: none of its lines is a ledger entry (NDJSON or CSV)")
        )
    if not replayer.entries and not report.findings:
        report.notes.append("the file holds no entries: it is the export of an empty ledger, or empty")
    report.entries = replayer.entries
    report.ledger_length = replayer.chain.length
    report.ledger_head = replayer.chain.head
    report.block = replayer.last_block or None
    report.campaigns = len(replayer.state.campaigns)
    report.positions = len(replayer.state.positions)
    if expect_head is not None and expect_head.lower() != report.ledger_head:
        report.findings.append(
            Finding(
                codes.FINAL_HEAD_MISMATCH,
                f"the export replays to head {report.ledger_head}, not the expected {expect_head.lower()}: entries "
                "are missing at the end, or the file was altered",
            )
        )
    return report
