"""Replay a stream of ledger entries from genesis, trusting none of them: the hash chain, seq
continuity, the terms of kinds 1, 8 and 11 against their detail, and every campaign, milestone and
backer total.

Unlike the indexer, which stops at the first fault, a replay records a Finding and carries on
(resynchronising on the entry's own head), so one pass names every edited, dropped, inserted or
reordered entry.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from ledger.audit import findings as codes
from ledger.audit.findings import Finding
from ledger.core.hashing import HashChain, entry_terms_detail
from ledger.core.projections import apply_entry
from ledger.core.records import (
    Campaign,
    CampaignTerms,
    LedgerEntry,
    MilestonePlanTerms,
    Milestones,
    Projections,
)
from ledger.errors import LedgerIntegrityError


def _finding(code: str, message: str, entry: LedgerEntry, line: int | None, **fields: object) -> Finding:
    return Finding(
        code=code,
        message=message,
        seq=entry.seq,
        kind=int(entry.kind),
        campaign_id=entry.campaign_id,
        tx_hash=entry.tx_hash,
        line=line,
        fields=dict(fields) or None,
    )


@dataclass
class Replayer:
    """Folds entries into a verified head and projections, collecting findings."""

    chain: HashChain
    genesis: str = ""  # the head the ledger starts from: chain id and contract (HashChain.genesis)
    state: Projections = field(default_factory=Projections)
    findings: list[Finding] = field(default_factory=list)
    entries: int = 0
    last_block: int = 0
    # the line whose head the chain holds now (None: not a line's, e.g. genesis); see feed's `chained`
    head_line: int | None = None

    @classmethod
    def from_genesis(cls, chain_id: int, contract: str) -> Replayer:
        chain = HashChain.genesis(chain_id, contract.lower())
        return cls(chain, genesis=chain.head)

    def feed(self, entry: LedgerEntry, line: int | None = None, *, chained: bool = False) -> None:
        """Replay `entry` (from line `line` of an export, if it comes from one). `chained`: the
        caller already checked that the entry's head follows from the chain's head now
        (HashChain.digest_after, ledger.audit.parallel), so it is not hashed again."""
        self.entries += 1
        if entry.block_number > self.last_block:
            self.last_block = entry.block_number
        seq = entry.seq
        if seq == self.chain.length + 1 and entry.terms is None:
            # the common case: the entry chains to the running head
            digest = bytes.fromhex(entry.head[2:]) if chained else self.chain.digest_after(entry)
            if chained or digest.hex() == entry.head[2:]:
                self.chain.advance(digest, seq)
                self.head_line = line
                self._apply(entry, line)
                return
        self._feed_checked(entry, line)

    def feed_linked(self, entries: Iterable[LedgerEntry], line: int) -> None:
        """Replay the entries of lines `line`, `line` + 1, ... of an export, none with terms, each
        of which the caller checked follows the line before it: its seq is one more and its head
        follows from that line's head (HashChain.digest_after, ledger.audit.parallel). So once the
        chain's head is the line before's, each is `feed`'s common case, and the chain moves to the
        last one's head once."""
        rest = iter(entries)
        for number, entry in enumerate(rest, start=line):
            if self.head_line == number - 1:
                break
            self.feed(entry, number)  # the line before was not applied: this one is checked in full
        else:
            return
        first, state, last_block = number, self.state, self.last_block
        for number, entry in enumerate(itertools.chain((entry,), rest), start=first):
            if entry.block_number > last_block:
                last_block = entry.block_number
            try:
                apply_entry(state, entry)
            except LedgerIntegrityError as exc:
                self._invalid(entry, number, exc)
        self.entries += number - first + 1
        self.last_block = last_block
        self.chain.reset(entry.head, entry.seq)
        self.head_line = number

    def _apply(self, entry: LedgerEntry, line: int | None) -> None:
        """Fold `entry` into the projections; a finding if the contract could not have emitted it."""
        try:
            apply_entry(self.state, entry)
        except LedgerIntegrityError as exc:
            self._invalid(entry, line, exc)

    def _invalid(self, entry: LedgerEntry, line: int | None, exc: LedgerIntegrityError) -> None:
        where = f"line {line}: " if line is not None else ""
        self.findings.append(_finding(codes.INVALID_ENTRY, f"{where}{exc}", entry, line))

    def _feed_checked(self, entry: LedgerEntry, line: int | None) -> None:
        """Every check spelled out, with a finding for each fault (the slow path)."""
        where = f"line {line}: " if line is not None else ""
        expected_seq = self.chain.length + 1
        if entry.seq < expected_seq:
            self.findings.append(
                _finding(
                    codes.SEQ_OUT_OF_ORDER,
                    f"{where}seq {entry.seq} comes after seq {self.chain.length}: an inserted, repeated or reordered "
                    "entry; it was not applied",
                    entry,
                    line,
                )
            )
            return
        if entry.seq > expected_seq:
            missing = (
                f"seq {expected_seq}"
                if entry.seq == expected_seq + 1
                else f"seqs {expected_seq}-{entry.seq - 1}"
            )
            self.findings.append(
                _finding(
                    codes.SEQ_GAP,
                    f"{where}{missing} missing before seq {entry.seq}: dropped or reordered entries",
                    entry,
                    line,
                    missing_from=expected_seq,
                    missing_to=entry.seq - 1,
                )
            )
        else:
            expected_head = self.chain.expected_head(entry)
            if expected_head != entry.head:
                why = (
                    "the ledger of another chain or contract: the --chain-id or --contract may be wrong (or the "
                    "first entry was altered)"
                    if entry.seq == 1 and self.chain.head == self.genesis
                    else "this entry (or the head of the one before it) was altered"
                )
                self.findings.append(
                    _finding(
                        codes.HEAD_MISMATCH,
                        f"{where}seq {entry.seq} does not chain: its head is {entry.head}, its fields give "
                        f"{expected_head}; {why}",
                        entry,
                        line,
                        head=entry.head,
                        expected_head=expected_head,
                    )
                )
        if entry.terms is not None:
            detail = "0x" + entry_terms_detail(entry.terms).hex()
            if detail != entry.detail:
                what = (
                    "terms"
                    if isinstance(entry.terms, CampaignTerms)
                    else "milestone plan"
                    if isinstance(entry.terms, MilestonePlanTerms)
                    else "tranche and fee"
                )
                self.findings.append(
                    _finding(
                        codes.TERMS_MISMATCH,
                        f"{where}seq {entry.seq}: campaign {entry.campaign_id}'s {what} do not hash to the entry's detail",
                        entry,
                        line,
                        detail=entry.detail,
                        terms_detail=detail,
                    )
                )
        self.chain.reset(entry.head, entry.seq)
        self.head_line = line
        self._apply(entry, line)

    def owed_by_asset(self) -> dict[str, int]:
        """What the escrow still owes, per asset: the positions of campaigns not claimed (expired
        ones included), the tranches of milestone campaigns in delivery not released yet, the
        refunds still owed after an abort, the fees, and every credit (owed()). (The abort dust is
        not owed to anyone: abort_dust_by_asset.)"""
        return self.holdings_by_asset()[0]

    def abort_dust_by_asset(self) -> dict[str, int]:
        """Per asset, the rounding dust of aborted campaigns whose backers have not all refunded:
        held by the escrow, owed to no backer, and moved to the fees by the last refund."""
        return self.holdings_by_asset()[1]

    def holdings_by_asset(self) -> tuple[dict[str, int], dict[str, int]]:
        """(owed, abort dust) per asset; see owed_by_asset and abort_dust_by_asset."""
        state = self.state
        owed: dict[str, int] = defaultdict(int)
        dust: dict[str, int] = defaultdict(int)
        aborted: dict[int, tuple[Campaign, Milestones]] = {}
        for campaign in state.campaigns.values():
            milestones = state.milestones.get(campaign.campaign_id) if campaign.aborted else None
            if milestones is None:
                owed[campaign.token] += campaign.escrowed
            elif milestones.unrefunded_weight:  # after the last refund it holds nothing: the dust is a fee
                aborted[campaign.campaign_id] = (campaign, milestones)
        if aborted:
            due: dict[int, int] = defaultdict(int)
            for (campaign_id, _), position in state.positions.items():
                if position.balance and campaign_id in aborted:
                    campaign, milestones = aborted[campaign_id]
                    due[campaign_id] += milestones.refund_of(position.balance, campaign.pledged)
            for campaign_id, (campaign, milestones) in aborted.items():
                owed[campaign.token] += due[campaign_id]
                dust[campaign.token] += milestones.abort_remaining - milestones.refunded - due[campaign_id]
        for account in state.fees.values():
            owed[account.token] += account.outstanding
        for credit in state.credits.values():
            owed[credit.token] += credit.owed
        return dict(owed), dict(dust)
