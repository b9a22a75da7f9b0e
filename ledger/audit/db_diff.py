"""The database against a replay: every stored entry (and its public text) merged by seq against the
chain's, and every projection row field by field."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from sqlalchemy import select, text

from ledger.audit import findings as codes
from ledger.audit.findings import Finding
from ledger.audit.replay import Replayer
from ledger.audit.report import AuditReport, plain
from ledger.chain.rpc import RpcClient
from ledger.core.hashing import genesis_head
from ledger.core.public import stored_text, stored_texts
from ledger.core.records import (
    Campaign,
    Credit,
    Disclosure,
    FeeAccount,
    LedgerEntry,
    Milestones,
    Position,
    TrancheRelease,
    Vote,
)
from ledger.db.rows import from_row
from ledger.db.schema import (
    campaigns,
    credits,
    disclosures,
    fee_accounts,
    milestones,
    positions,
    tranche_releases,
    votes,
)
from ledger.db.store import LedgerStore

_ENTRY_FIELDS = [
    "kind",
    "campaign_id",
    "account",
    "amount",
    "detail",
    "head",
    "block_number",
    "block_hash",
    "tx_hash",
    "log_index",
    "block_timestamp",
]


class EntryDiffer:
    """Merges the database's entries (seq order, up to a block) against the chain's."""

    def __init__(self, store: LedgerStore, up_to_block: int) -> None:
        # each stored entry, its stored public text, and whether that is the text of its own
        # fields (formatted a page at a time)
        self._rows = (
            (entry, text, text == expected)
            for page in store.iter_entry_pages()
            for (entry, text), expected in zip(page, stored_texts([entry for entry, _ in page]))
            if entry.block_number <= up_to_block
        )
        self._next: LedgerEntry | None = None
        self._text: str | None = None
        self._text_fits = True
        self._advance()
        self.findings: list[Finding] = []
        self.compared = 0

    def _advance(self) -> None:
        self._next, self._text, self._text_fits = next(self._rows, (None, None, True))

    def push(self, entry: LedgerEntry) -> None:
        while self._next is not None and self._next.seq < entry.seq:
            self._extra(self._next)
            self._advance()
        if self._next is None or self._next.seq != entry.seq:
            self.findings.append(
                Finding(
                    codes.DB_MISSING_ENTRY,
                    f"the database lacks seq {entry.seq} (kind {entry.kind}, tx {entry.tx_hash})",
                    seq=entry.seq,
                    kind=int(entry.kind),
                    campaign_id=entry.campaign_id,
                    tx_hash=entry.tx_hash,
                )
            )
            return
        row, stored, text_fits = self._next, self._text, self._text_fits
        self._advance()
        self.compared += 1
        diff = {
            name: {"db": plain(getattr(row, name)), "chain": plain(getattr(entry, name))}
            for name in _ENTRY_FIELDS
            if getattr(row, name) != getattr(entry, name)
        }
        if diff or not text_fits:  # is the text the API serves still the chain entry's?
            expected = stored_text(entry)
            if stored != expected:
                diff["public_json"] = {"db": stored, "chain": expected}
        if diff:
            self.findings.append(
                Finding(
                    codes.DB_ALTERED_ENTRY,
                    f"the database's seq {entry.seq} (kind {entry.kind}, campaign {entry.campaign_id}, tx {entry.tx_hash}) "
                    f"differs from the chain in {', '.join(diff)}",
                    seq=entry.seq,
                    kind=int(entry.kind),
                    campaign_id=entry.campaign_id,
                    tx_hash=entry.tx_hash,
                    fields=diff,
                )
            )

    def _extra(self, row: LedgerEntry) -> None:
        self.findings.append(
            Finding(
                codes.DB_EXTRA_ENTRY,
                f"the database holds seq {row.seq} (kind {row.kind}, tx {row.tx_hash}), which the chain does not",
                seq=row.seq,
                kind=int(row.kind),
                campaign_id=row.campaign_id,
                tx_hash=row.tx_hash,
            )
        )

    def finish(self) -> None:
        while self._next is not None:
            self._extra(self._next)
            self._advance()


def _diff_records(
    report: AuditReport, what: str, mine: dict[Any, Any], theirs: dict[Any, Any], cls: type
) -> None:
    names = [f.name for f in fields(cls)]
    for key in sorted(set(mine) | set(theirs), key=str):
        campaign_id = key[0] if isinstance(key, tuple) else key if isinstance(key, int) else None
        if key not in theirs:
            report.findings.append(
                Finding(
                    codes.DB_MISSING_PROJECTION,
                    f"the database lacks the {what} {key}",
                    campaign_id=campaign_id,
                )
            )
        elif key not in mine:
            report.findings.append(
                Finding(
                    codes.DB_EXTRA_PROJECTION,
                    f"the database has a {what} {key} the ledger does not",
                    campaign_id=campaign_id,
                )
            )
        else:
            diff = {
                n: {"db": plain(getattr(theirs[key], n)), "ledger": plain(getattr(mine[key], n))}
                for n in names
                if getattr(theirs[key], n) != getattr(mine[key], n)
            }
            if diff:
                report.findings.append(
                    Finding(
                        codes.DB_ALTERED_PROJECTION,
                        f"the database's {what} {key} differs from the ledger in {', '.join(diff)}",
                        campaign_id=campaign_id,
                        fields=diff,
                    )
                )


def diff_projections(report: AuditReport, replayer: Replayer, store: LedgerStore, at_block: int) -> bool:
    """Diff the database's projections against the replay; False (and nothing compared) when the
    indexer committed while they were read, so a moving database never shows false findings."""
    with store.engine.connect() as conn:
        db_campaigns = {r.campaign_id: from_row(Campaign, r) for r in conn.execute(select(campaigns))}
        db_positions = {
            (r.campaign_id, r.backer): from_row(Position, r) for r in conn.execute(select(positions))
        }
        db_fees = {r.token: from_row(FeeAccount, r) for r in conn.execute(select(fee_accounts))}
        db_credits = {(r.account, r.token): from_row(Credit, r) for r in conn.execute(select(credits))}
        db_milestones = {r.campaign_id: from_row(Milestones, r) for r in conn.execute(select(milestones))}
        db_tranches = {
            (r.campaign_id, r.tranche): from_row(TrancheRelease, r)
            for r in conn.execute(select(tranche_releases))
        }
        db_votes = {
            (r.campaign_id, r.tranche, r.backer): from_row(Vote, r) for r in conn.execute(select(votes))
        }
        db_disclosures = {
            (r.campaign_id, r.seq): from_row(Disclosure, r) for r in conn.execute(select(disclosures))
        }
    after = store.read_sync_state()
    if after is None or after.last_block != at_block:
        return False
    state = replayer.state
    _diff_records(report, "campaign", state.campaigns, db_campaigns, Campaign)
    _diff_records(report, "position", state.positions, db_positions, Position)
    _diff_records(report, "fee account", state.fees, db_fees, FeeAccount)
    _diff_records(report, "credit", state.credits, db_credits, Credit)
    _diff_records(report, "milestone plan", state.milestones, db_milestones, Milestones)
    _diff_records(report, "tranche release", state.tranches, db_tranches, TrancheRelease)
    _diff_records(report, "vote", state.votes, db_votes, Vote)
    disclosed = {(d.campaign_id, seq): d for seq, d in state.disclosures.items()}
    _diff_records(report, "disclosure", disclosed, db_disclosures, Disclosure)
    return True


_CHECKPOINT = text(
    "SELECT s.last_seq, s.last_head, s.last_block, s.last_block_hash, s.finality_depth, s.chain_id, s.contract, "
    "e.seq, e.head, e.block_number, b.hash FROM sync_state s "
    "LEFT JOIN ledger_entries e ON e.seq = (SELECT max(seq) FROM ledger_entries) "
    "LEFT JOIN blocks b ON b.number = s.last_block WHERE s.id = 1"
)


def check_checkpoint(report: AuditReport, store: LedgerStore, rpc: RpcClient) -> None:
    """The indexer's checkpoint against what it claims to cover (read in one statement, so a
    follower committing meanwhile cannot make it look wrong): its last seq and head are the last
    stored entry's, its last block is at or after that entry's block, and the hash it stored for
    its last block is the chain's. A provisional last block whose hash the chain changed since, while
    the indexer's own record of that block (the blocks table) agrees with the checkpoint, is a reorg
    the indexer undoes on its next pass: a note, not a finding."""
    with store.engine.connect() as conn:
        row = conn.execute(_CHECKPOINT).first()
    if row is None:
        return
    (
        last_seq,
        last_head,
        last_block,
        block_hash,
        depth,
        chain_id,
        contract,
        seq,
        head,
        entry_block,
        recorded,
    ) = row
    problems = []
    if seq is None:
        genesis = "0x" + genesis_head(chain_id, contract).hex()
        if (last_seq, last_head) != (0, genesis):
            problems.append(f"it says seq {last_seq} and head {last_head}, but the database holds no entry")
    else:
        if last_seq != seq:
            problems.append(f"its last_seq is {last_seq}, the last stored entry is seq {seq}")
        if last_head != head:
            problems.append(f"its last_head is {last_head}, the last stored entry's head is {head}")
        if last_block < entry_block:
            problems.append(
                f"its last_block {last_block} is before the last stored entry's block {entry_block}"
            )
    if block_hash is not None and last_block >= 0:
        header = rpc.get_block(last_block)
        chain_hash = header.hash if header is not None else None
        if chain_hash != block_hash:
            tip = rpc.block_number()
            if last_block <= tip - depth or recorded != block_hash:
                problems.append(
                    f"it stored {block_hash} as the hash of block {last_block}; the chain has {chain_hash}"
                )
            else:
                report.notes.append(
                    f"the checkpoint's provisional block {last_block} changed on the chain (a reorg the indexer "
                    "undoes on its next pass)"
                )
    if problems:
        text_of = "; ".join(problems)
        report.findings.append(
            Finding(codes.DB_CHECKPOINT, f"the database's checkpoint (sync_state): {text_of}")
        )
