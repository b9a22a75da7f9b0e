"""What an audit found, and how it reads: the report (entries, heads, solvency, findings) as a
dict for --json and as lines for people."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ledger.audit.findings import Finding
from ledger.core.addresses import checksum
from ledger.core.amounts import format_amount
from ledger.core.records import ETH


@dataclass
class AssetSolvency:
    """Whether the escrow's balance of one asset covers what it owes in it. `dust` is the
    rounding dust of aborted milestone campaigns whose backers are still refunding: owed to no
    one yet, but the escrow must hold it (the last refund moves it to the fees), so it is neither
    owed nor surplus."""

    token: str
    balance: int
    owed: int
    dust: int = 0
    symbol: str | None = None  # the asset's, when the audit knows it (ledger.audit.assets)
    decimals: int | None = None

    @property
    def surplus(self) -> int:
        return self.balance - self.owed - self.dust

    @property
    def solvent(self) -> bool:
        return self.balance >= self.owed + self.dust

    def to_dict(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "balance": str(self.balance),
            "owed": str(self.owed),
            "dust": str(self.dust),
            "surplus": str(self.surplus),
            "solvent": self.solvent,
            "symbol": self.symbol,
            "decimals": self.decimals,
        }

    def amount(self, value: int) -> str:
        """`value` for people: in the asset's decimals and symbol when known, else base units."""
        if self.symbol is None or self.decimals is None:
            return f"{value:,}"
        return format_amount(value, self.decimals, self.symbol)


@dataclass
class AuditReport:
    """What an audit checked and found."""

    source: str  # "chain" or "export"
    chain_id: int
    contract: str
    block: int | None = None
    entries: int = 0
    ledger_length: int = 0
    ledger_head: str = ""
    onchain_length: int | None = None
    onchain_head: str | None = None
    expected_head: str | None = None
    campaigns: int = 0
    positions: int = 0
    solvency: list[AssetSolvency] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    db_entries_compared: int | None = None

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def head_matches(self) -> bool | None:
        reference = self.onchain_head or self.expected_head
        return None if reference is None else reference == self.ledger_head

    @property
    def complete_proven(self) -> bool:
        """Whether the replayed ledger is shown to be the whole ledger: its head is the contract's
        (read on-chain, or given as --expect-head), with no entry missing before it."""
        return bool(self.head_matches) and self.onchain_length in (None, self.ledger_length)

    @property
    def verdict(self) -> str:
        if self.findings:
            return f"{len(self.findings)} FINDING{'S' if len(self.findings) != 1 else ''}"
        return "CLEAN" if self.complete_proven else "consistent, completeness not proven"

    @property
    def prove_with(self) -> str | None:
        """For an export audited without --expect-head: the one command that reads the head to
        pass (any block explorer shows the same ledgerHead() at that block)."""
        if self.source != "export" or self.expected_head is not None:
            return None
        block = f" --block {self.block}" if self.block is not None else ""
        return f'cast call {checksum(self.contract)} "ledgerHead()(bytes32)"{block} --rpc-url <URL>'

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "verdict": self.verdict,
            "complete_proven": self.complete_proven,
            "prove_with": self.prove_with,
            "source": self.source,
            "chain_id": self.chain_id,
            "contract": self.contract,
            "block": self.block,
            "entries": self.entries,
            "ledger_length": self.ledger_length,
            "ledger_head": self.ledger_head,
            "onchain_length": self.onchain_length,
            "onchain_head": self.onchain_head,
            "expected_head": self.expected_head,
            "head_matches": self.head_matches,
            "campaigns": self.campaigns,
            "positions": self.positions,
            "solvency": [s.to_dict() for s in self.solvency],
            "db_entries_compared": self.db_entries_compared,
            "findings": [f.to_dict() for f in self.findings],
            "first_divergence": self.findings[0].to_dict() if self.findings else None,
            "notes": self.notes,
        }


def plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [plain(v) for v in value]
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


# --------------------------------------------------------------------------------- presenting


def render(report: AuditReport) -> Iterator[str]:
    """The human summary, line by line."""
    where = f"at block {report.block}" if report.block is not None else ""
    source = "the chain's logs" if report.source == "chain" else "an export file, offline"
    yield f"CrowdLedger audit of {report.contract} on chain {report.chain_id} {where} (replayed from {source})"
    yield f"  ledger:    {report.ledger_length:,} entries, head {report.ledger_head}"
    if report.onchain_head is not None:
        verdict = (
            "match" if report.head_matches and report.onchain_length == report.ledger_length else "MISMATCH"
        )
        yield f"  on-chain:  ledgerLength {report.onchain_length:,}, ledgerHead {report.onchain_head}: {verdict}"
    if report.expected_head is not None:
        yield f"  expected:  head {report.expected_head}: {'match' if report.head_matches else 'MISMATCH'}"
    yield f"  checked:   {report.campaigns:,} campaigns, {report.positions:,} backer positions"
    for s in report.solvency:
        asset = s.symbol or ("ETH" if s.token == ETH else s.token)
        status = "solvent" if s.solvent else "INSOLVENT"
        dust = f", abort dust {s.amount(s.dust)}" if s.dust else ""
        yield (
            f"  solvency:  {asset}: balance {s.amount(s.balance)}, owed {s.amount(s.owed)}{dust}, "
            f"surplus {s.amount(s.surplus)}: {status}"
        )
    if report.db_entries_compared is not None:
        yield f"  database:  {report.db_entries_compared:,} entries compared"
    for note in report.notes:
        yield f"  note:      {note}"
    if report.ok:
        yield f"  result:    {report.verdict}"
        if report.prove_with is not None:
            yield (
                f"  prove it:  read ledgerHead() at block {report.block if report.block is not None else 'latest'} "
                "from any block explorer or node and pass it as --expect-head, e.g."
            )
            yield f"             {report.prove_with}"
        return
    yield f"  result:    {report.verdict}"
    yield f"  first divergence: {report.findings[0].message}"
    for finding in report.findings:
        yield f"  - [{finding.code}] {finding.message}"
