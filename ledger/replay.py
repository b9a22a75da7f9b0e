"""Replay a stream of ledger entries from genesis, trusting none of them: the hash chain, seq
continuity, the kind-1 terms against their detail, and every campaign and backer total.

Unlike the indexer, which stops at the first fault, a replay records a Finding and carries on
(resynchronising on the entry's own head), so one pass names every edited, dropped, inserted or
reordered entry.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from ledger import findings as codes
from ledger.chain import HashChain
from ledger.errors import LedgerIntegrityError
from ledger.events import terms_detail
from ledger.findings import Finding
from ledger.projections import apply_entry
from ledger.records import LedgerEntry, Projections


def _finding(code: str, message: str, entry: LedgerEntry, line: int | None, **fields: object) -> Finding:
    return Finding(
        code=code, message=message, seq=entry.seq, kind=int(entry.kind), campaign_id=entry.campaign_id,
        tx_hash=entry.tx_hash, line=line, fields=dict(fields) or None,
    )


@dataclass
class Replayer:
    """Folds entries into a verified head and projections, collecting findings."""

    chain: HashChain
    state: Projections = field(default_factory=Projections)
    findings: list[Finding] = field(default_factory=list)
    entries: int = 0
    last_block: int = 0

    @classmethod
    def from_genesis(cls, chain_id: int, contract: str) -> Replayer:
        return cls(HashChain.genesis(chain_id, contract.lower()))

    def feed(self, entry: LedgerEntry, line: int | None = None) -> None:
        self.entries += 1
        if entry.block_number > self.last_block:
            self.last_block = entry.block_number
        seq = entry.seq
        if seq == self.chain.length + 1 and entry.terms is None:
            # the common case: the entry chains to the running head
            digest = self.chain.digest_after(entry)
            if digest.hex() == entry.head[2:]:
                self.chain.advance(digest, seq)
                try:
                    apply_entry(self.state, entry)
                except LedgerIntegrityError as exc:
                    where = f"line {line}: " if line is not None else ""
                    self.findings.append(_finding(codes.INVALID_ENTRY, f"{where}{exc}", entry, line))
                return
        self._feed_checked(entry, line)

    def _feed_checked(self, entry: LedgerEntry, line: int | None) -> None:
        """Every check spelled out, with a finding for each fault (the slow path)."""
        where = f"line {line}: " if line is not None else ""
        expected_seq = self.chain.length + 1
        if entry.seq < expected_seq:
            self.findings.append(_finding(
                codes.SEQ_OUT_OF_ORDER,
                f"{where}seq {entry.seq} comes after seq {self.chain.length}: an inserted, repeated or reordered "
                "entry; it was not applied",
                entry, line,
            ))
            return
        if entry.seq > expected_seq:
            missing = f"seq {expected_seq}" if entry.seq == expected_seq + 1 else f"seqs {expected_seq}-{entry.seq - 1}"
            self.findings.append(_finding(
                codes.SEQ_GAP, f"{where}{missing} missing before seq {entry.seq}: dropped or reordered entries",
                entry, line, missing_from=expected_seq, missing_to=entry.seq - 1,
            ))
        else:
            expected_head = self.chain.expected_head(entry)
            if expected_head != entry.head:
                self.findings.append(_finding(
                    codes.HEAD_MISMATCH,
                    f"{where}seq {entry.seq} does not chain: its head is {entry.head}, its fields give "
                    f"{expected_head}; this entry (or the head of the one before it) was altered",
                    entry, line, head=entry.head, expected_head=expected_head,
                ))
        if entry.terms is not None:
            detail = "0x" + terms_detail(entry.terms).hex()
            if detail != entry.detail:
                self.findings.append(_finding(
                    codes.TERMS_MISMATCH,
                    f"{where}seq {entry.seq}: campaign {entry.campaign_id}'s terms do not hash to the entry's detail",
                    entry, line, detail=entry.detail, terms_detail=detail,
                ))
        self.chain.reset(entry.head, entry.seq)
        try:
            apply_entry(self.state, entry)
        except LedgerIntegrityError as exc:
            self.findings.append(_finding(codes.INVALID_ENTRY, f"{where}{exc}", entry, line))

    def owed_by_asset(self) -> dict[str, int]:
        """What the escrow still owes, per asset: unclaimed campaigns' positions plus fees."""
        owed: dict[str, int] = defaultdict(int)
        for campaign in self.state.campaigns.values():
            owed[campaign.token] += campaign.escrowed
        for account in self.state.fees.values():
            owed[account.token] += account.outstanding
        return dict(owed)
