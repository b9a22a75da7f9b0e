"""The auditor's checks.

`audit_chain` replays the ledger straight from the chain's logs at one block (not from the
indexer's database), compares the result with the contract's own views read with eth_call at that
same block, checks solvency per asset, and optionally diffs the indexer's database against it.
`audit_export` replays an export file with no node at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from typing import IO, Any

from sqlalchemy import select

from ledger.audit import findings as codes
from ledger.chain.contract import EscrowReader
from ledger.db.schema import (
    campaigns,
    disclosures,
    fee_accounts,
    milestones,
    positions,
    tranche_releases,
    votes,
)
from ledger.db.rows import from_row
from ledger.db.store import LedgerStore
from ledger.errors import LedgerIntegrityError
from ledger.chain.events import LEDGER_TOPICS_FILTER, decode_log
from ledger.audit.export import BadLine, read_export
from ledger.audit.findings import Finding
from ledger.chain.logs import LogFetcher
from ledger.core.public import stored_text, stored_texts
from ledger.core.records import (
    ETH,
    Campaign,
    Disclosure,
    FeeAccount,
    LedgerEntry,
    Milestones,
    Position,
    State,
    TrancheRelease,
    Vote,
)
from ledger.audit.replay import Replayer
from ledger.chain.rpc import RpcClient

_ENTRY_FIELDS = [
    "kind", "campaign_id", "account", "amount", "detail", "head", "block_number", "block_hash", "tx_hash",
    "log_index", "block_timestamp",
]


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

    @property
    def surplus(self) -> int:
        return self.balance - self.owed - self.dust

    @property
    def solvent(self) -> bool:
        return self.balance >= self.owed + self.dust

    def to_dict(self) -> dict[str, Any]:
        return {
            "token": self.token, "balance": str(self.balance), "owed": str(self.owed), "dust": str(self.dust),
            "surplus": str(self.surplus), "solvent": self.solvent,
        }


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
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


# --------------------------------------------------------------------------------- from the chain


def audit_chain(
    rpc: RpcClient,
    contract: str,
    *,
    at_block: int | None = None,
    start_block: int = 0,
    store: LedgerStore | None = None,
) -> AuditReport:
    """Replay the ledger from the chain's logs at `at_block` (default: the database's last block
    when `store` is given, else the latest block) and check it against the contract."""
    contract = contract.lower()
    chain_id = rpc.chain_id()
    reader = EscrowReader(rpc, contract)
    sync = store.read_sync_state() if store is not None else None
    if at_block is None:
        at_block = sync.last_block if sync is not None and sync.last_block >= 0 else rpc.block_number()
    reader.check_is_escrow(at_block)
    report = AuditReport(source="chain", chain_id=chain_id, contract=contract, block=at_block)
    replayer = Replayer.from_genesis(chain_id, contract)

    differ = None
    if store is not None and sync is not None:
        if sync.contract != contract or sync.chain_id != chain_id:
            report.notes.append(f"the database indexes {sync.contract} on chain {sync.chain_id}; not compared")
        else:
            compare_to = min(at_block, sync.last_block)
            differ = _EntryDiffer(store, compare_to)
            if sync.last_block < at_block:
                report.notes.append(f"the database is indexed to block {sync.last_block}; later entries not compared")

    fetcher = LogFetcher(rpc, contract, topics=LEDGER_TOPICS_FILTER, prefetch=True)
    batches = fetcher.iter_batches(start_block, at_block)
    try:
        for batch in batches:
            for raw in batch.logs:
                try:
                    entry = decode_log(raw)
                except LedgerIntegrityError as exc:
                    report.findings.append(Finding(codes.INVALID_ENTRY, str(exc), tx_hash=raw.transaction_hash))
                    continue
                replayer.feed(entry)
                if differ is not None:
                    differ.push(entry)
    finally:
        batches.close()
    report.findings.extend(replayer.findings)
    if differ is not None:
        differ.finish()
        report.findings.extend(differ.findings)
        report.db_entries_compared = differ.compared

    report.entries = replayer.entries
    report.ledger_length = replayer.chain.length
    report.ledger_head = replayer.chain.head
    report.onchain_head = reader.ledger_head(at_block)
    report.onchain_length = reader.ledger_length(at_block)
    if report.onchain_length != report.ledger_length:
        report.findings.append(Finding(
            codes.LENGTH_MISMATCH,
            f"the logs hold {report.ledger_length} entries, ledgerLength() says {report.onchain_length}",
        ))
    if report.onchain_head != report.ledger_head:
        report.findings.append(Finding(
            codes.FINAL_HEAD_MISMATCH,
            f"the replayed head {report.ledger_head} is not ledgerHead() {report.onchain_head} at block {at_block}",
        ))

    timestamp = int(rpc.get_block(at_block)["timestamp"], 16)  # type: ignore[index]
    _compare_views(report, replayer, reader, at_block, timestamp)
    _check_solvency(report, replayer, reader, at_block)
    if differ is not None and sync is not None and sync.last_block == at_block:
        if not _diff_projections(report, replayer, store, sync.last_block):  # type: ignore[arg-type]
            report.notes.append("projections not compared: the indexer moved on during the audit; audit again")
    elif differ is not None:
        report.notes.append("projections not compared: the database is not at the audited block")
    return report


def _compare_views(report: AuditReport, replayer: Replayer, reader: EscrowReader, block: int, timestamp: int) -> None:
    state = replayer.state
    report.campaigns = len(state.campaigns)
    report.positions = len(state.positions)
    onchain_count = reader.campaign_count(block)
    if onchain_count != len(state.campaigns):
        report.findings.append(Finding(
            codes.CAMPAIGN_MISMATCH, f"the ledger creates {len(state.campaigns)} campaigns, campaignCount() is {onchain_count}",
        ))
    views = reader.campaigns_at(sorted(state.campaigns), block)
    for campaign_id, (view, onchain_state) in views.items():
        mine = state.campaigns[campaign_id]
        expected = {
            "creator": mine.creator, "token": mine.token, "goal": mine.goal, "deadline": mine.deadline,
            "max_per_backer": mine.max_per_backer, "keep_it_all": mine.keep_it_all, "fee_bps": mine.fee_bps,
            "pledged": mine.pledged, "claimed": mine.claimed, "cancelled": mine.cancelled,
            "state": int(mine.state_at(timestamp)),
        }
        actual = {**asdict(view), "state": onchain_state}
        _compare_view(report, codes.CAMPAIGN_MISMATCH, f"campaign {campaign_id}", "getCampaign/campaignState",
                      campaign_id, expected, actual)
    keys = sorted(state.positions)
    for key, balance in reader.pledges_at(keys, block).items():
        position = state.positions[key]
        if balance != position.balance:
            report.findings.append(Finding(
                codes.POSITION_MISMATCH,
                f"backer {key[1]} in campaign {key[0]}: the ledger gives {position.balance}, pledgeOf() {balance}",
                campaign_id=key[0],
                fields={"backer": key[1], "ledger": str(position.balance), "contract": str(balance)},
            ))
    _compare_milestones(report, replayer, reader, block, timestamp)
    fee_tokens = sorted(set(state.fees) | {ETH})
    for token, accrued in reader.accrued_fees_at(fee_tokens, block).items():
        mine_fees = state.fees.get(token)
        outstanding = mine_fees.outstanding if mine_fees else 0
        if accrued != outstanding:
            report.findings.append(Finding(
                codes.FEES_MISMATCH,
                f"fees in {token}: the ledger gives {outstanding} outstanding, accruedFees() {accrued}",
                fields={"token": token, "ledger": str(outstanding), "contract": str(accrued)},
            ))


def _next_tranche_amount(campaign: Campaign, mine: Milestones, timestamp: int) -> int:
    """getMilestones().nextTrancheAmount: the next tranche's gross while the campaign funds,
    succeeded or is in delivery (of the current total), else 0."""
    if campaign.state_at(timestamp) not in (State.FUNDING, State.SUCCEEDED, State.IN_DELIVERY):
        return 0
    return mine.tranche_gross(mine.tranches_released, campaign.pledged)


def _compare_milestones(report: AuditReport, replayer: Replayer, reader: EscrowReader, block: int, timestamp: int) -> None:
    """Each milestone campaign's plan, progress, last vote and abort accounting against getMilestones."""
    state = replayer.state
    ids = sorted(c for c, campaign in state.campaigns.items() if campaign.milestone and c in state.milestones)
    for campaign_id, view in reader.milestones_at(ids, block).items():
        mine, campaign = state.milestones[campaign_id], state.campaigns[campaign_id]
        expected: dict[str, Any] = {
            "tranche_bps": mine.tranche_bps, "voting_period": mine.voting_period,
            "tranches_released": mine.tranches_released, "released_amount": mine.released_gross,
            "next_tranche_amount": _next_tranche_amount(campaign, mine, timestamp),
            "vote_pending": mine.vote_pending, "vote_tranche": mine.vote_tranche, "report_hash": mine.report_hash,
            "vote_end": mine.vote_end, "approve_weight": mine.approve_weight, "reject_weight": mine.reject_weight,
            "aborted": mine.aborted, "abort_remaining": mine.abort_remaining, "refunded": mine.refunded,
            "unrefunded_weight": mine.unrefunded_weight, "dust": mine.dust,
        }
        if mine.vote_end is None:  # the request's block timestamp was not in the logs: not checked
            del expected["vote_end"]
        actual = asdict(view)
        _compare_view(report, codes.MILESTONE_MISMATCH, f"milestone campaign {campaign_id}", "getMilestones",
                      campaign_id, expected, actual)


def _check_solvency(report: AuditReport, replayer: Replayer, reader: EscrowReader, block: int) -> None:
    owed, dust = replayer.holdings_by_asset()
    owed.setdefault(ETH, 0)
    for token in sorted(set(owed) | set(dust)):
        solvency = AssetSolvency(
            token=token, balance=reader.asset_balance(token, block), owed=owed.get(token, 0), dust=dust.get(token, 0)
        )
        report.solvency.append(solvency)
        if not solvency.solvent:
            held = f" plus {solvency.dust} of abort dust" if solvency.dust else ""
            report.findings.append(Finding(
                codes.INSOLVENT,
                f"the escrow holds {solvency.balance} of {token} but owes {solvency.owed}{held}",
                fields=solvency.to_dict(),
            ))


def _compare_view(
    report: AuditReport, code: str, what: str, view: str, campaign_id: int,
    expected: dict[str, Any], actual: dict[str, Any],
) -> None:
    """One finding naming every field where the replayed `expected` differs from the contract's view."""
    diff = {k: {"ledger": _plain(v), "contract": _plain(actual[k])} for k, v in expected.items() if actual[k] != v}
    if diff:
        report.findings.append(Finding(
            code, f"{what} differs from {view} in {', '.join(diff)}", campaign_id=campaign_id, fields=diff,
        ))


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


# --------------------------------------------------------------------------------- database diff


class _EntryDiffer:
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
            self.findings.append(Finding(
                codes.DB_MISSING_ENTRY, f"the database lacks seq {entry.seq} (kind {entry.kind}, tx {entry.tx_hash})",
                seq=entry.seq, kind=int(entry.kind), campaign_id=entry.campaign_id, tx_hash=entry.tx_hash,
            ))
            return
        row, stored, text_fits = self._next, self._text, self._text_fits
        self._advance()
        self.compared += 1
        diff = {
            name: {"db": _plain(getattr(row, name)), "chain": _plain(getattr(entry, name))}
            for name in _ENTRY_FIELDS
            if getattr(row, name) != getattr(entry, name)
        }
        if diff or not text_fits:  # is the text the API serves still the chain entry's?
            expected = stored_text(entry)
            if stored != expected:
                diff["public_json"] = {"db": stored, "chain": expected}
        if diff:
            self.findings.append(Finding(
                codes.DB_ALTERED_ENTRY,
                f"the database's seq {entry.seq} (kind {entry.kind}, campaign {entry.campaign_id}, tx {entry.tx_hash}) "
                f"differs from the chain in {', '.join(diff)}",
                seq=entry.seq, kind=int(entry.kind), campaign_id=entry.campaign_id, tx_hash=entry.tx_hash, fields=diff,
            ))

    def _extra(self, row: LedgerEntry) -> None:
        self.findings.append(Finding(
            codes.DB_EXTRA_ENTRY,
            f"the database holds seq {row.seq} (kind {row.kind}, tx {row.tx_hash}), which the chain does not",
            seq=row.seq, kind=int(row.kind), campaign_id=row.campaign_id, tx_hash=row.tx_hash,
        ))

    def finish(self) -> None:
        while self._next is not None:
            self._extra(self._next)
            self._advance()


def _diff_records(report: AuditReport, what: str, mine: dict[Any, Any], theirs: dict[Any, Any], cls: type) -> None:
    names = [f.name for f in fields(cls)]
    for key in sorted(set(mine) | set(theirs), key=str):
        campaign_id = key[0] if isinstance(key, tuple) else key if isinstance(key, int) else None
        if key not in theirs:
            report.findings.append(Finding(
                codes.DB_MISSING_PROJECTION, f"the database lacks the {what} {key}", campaign_id=campaign_id,
            ))
        elif key not in mine:
            report.findings.append(Finding(
                codes.DB_EXTRA_PROJECTION, f"the database has a {what} {key} the ledger does not", campaign_id=campaign_id,
            ))
        else:
            diff = {
                n: {"db": _plain(getattr(theirs[key], n)), "ledger": _plain(getattr(mine[key], n))}
                for n in names
                if getattr(theirs[key], n) != getattr(mine[key], n)
            }
            if diff:
                report.findings.append(Finding(
                    codes.DB_ALTERED_PROJECTION,
                    f"the database's {what} {key} differs from the ledger in {', '.join(diff)}",
                    campaign_id=campaign_id, fields=diff,
                ))


def _diff_projections(report: AuditReport, replayer: Replayer, store: LedgerStore, at_block: int) -> bool:
    """Diff the database's projections against the replay; False (and nothing compared) when the
    indexer committed while they were read, so a moving database never shows false findings."""
    with store.engine.connect() as conn:
        db_campaigns = {r.campaign_id: from_row(Campaign, r) for r in conn.execute(select(campaigns))}
        db_positions = {(r.campaign_id, r.backer): from_row(Position, r) for r in conn.execute(select(positions))}
        db_fees = {r.token: from_row(FeeAccount, r) for r in conn.execute(select(fee_accounts))}
        db_milestones = {r.campaign_id: from_row(Milestones, r) for r in conn.execute(select(milestones))}
        db_tranches = {(r.campaign_id, r.tranche): from_row(TrancheRelease, r) for r in conn.execute(select(tranche_releases))}
        db_votes = {(r.campaign_id, r.tranche, r.backer): from_row(Vote, r) for r in conn.execute(select(votes))}
        db_disclosures = {(r.campaign_id, r.seq): from_row(Disclosure, r) for r in conn.execute(select(disclosures))}
    after = store.read_sync_state()
    if after is None or after.last_block != at_block:
        return False
    state = replayer.state
    _diff_records(report, "campaign", state.campaigns, db_campaigns, Campaign)
    _diff_records(report, "position", state.positions, db_positions, Position)
    _diff_records(report, "fee account", state.fees, db_fees, FeeAccount)
    _diff_records(report, "milestone plan", state.milestones, db_milestones, Milestones)
    _diff_records(report, "tranche release", state.tranches, db_tranches, TrancheRelease)
    _diff_records(report, "vote", state.votes, db_votes, Vote)
    disclosed = {(d.campaign_id, seq): d for seq, d in state.disclosures.items()}
    _diff_records(report, "disclosure", disclosed, db_disclosures, Disclosure)
    return True


# --------------------------------------------------------------------------------- from an export


def audit_export(
    stream: IO[bytes], chain_id: int, contract: str, *, expect_head: str | None = None
) -> AuditReport:
    """Replay an export file from genesis with no node: hash chain, seq continuity, terms,
    campaign and backer totals, and (if given) the head an auditor read from a block explorer."""
    contract = contract.lower()
    report = AuditReport(source="export", chain_id=chain_id, contract=contract, expected_head=expect_head)
    replayer = Replayer.from_genesis(chain_id, contract)
    for number, item in read_export(stream):
        if isinstance(item, BadLine):
            report.findings.append(Finding(codes.BAD_LINE, f"line {number}: {item.reason}", line=number))
            continue
        replayer.feed(item, line=number)
    report.findings = report.findings + replayer.findings
    report.findings.sort(key=lambda f: (f.line or 0))
    report.entries = replayer.entries
    report.ledger_length = replayer.chain.length
    report.ledger_head = replayer.chain.head
    report.block = replayer.last_block or None
    report.campaigns = len(replayer.state.campaigns)
    report.positions = len(replayer.state.positions)
    if expect_head is not None and expect_head.lower() != report.ledger_head:
        report.findings.append(Finding(
            codes.FINAL_HEAD_MISMATCH,
            f"the export replays to head {report.ledger_head}, not the expected {expect_head.lower()}: entries "
            "are missing at the end, or the file was altered",
        ))
    return report


# --------------------------------------------------------------------------------- presenting


def _amount(value: int) -> str:
    return f"{value:,}"


def render(report: AuditReport) -> Iterator[str]:
    """The human summary, line by line."""
    where = f"at block {report.block}" if report.block is not None else ""
    source = "the chain's logs" if report.source == "chain" else "an export file, offline"
    yield f"CrowdLedger audit of {report.contract} on chain {report.chain_id} {where} (replayed from {source})"
    yield f"  ledger:    {report.ledger_length:,} entries, head {report.ledger_head}"
    if report.onchain_head is not None:
        verdict = "match" if report.head_matches and report.onchain_length == report.ledger_length else "MISMATCH"
        yield f"  on-chain:  ledgerLength {report.onchain_length:,}, ledgerHead {report.onchain_head}: {verdict}"
    if report.expected_head is not None:
        yield f"  expected:  head {report.expected_head}: {'match' if report.head_matches else 'MISMATCH'}"
    yield f"  checked:   {report.campaigns:,} campaigns, {report.positions:,} backer positions"
    for s in report.solvency:
        asset = "ETH" if s.token == ETH else s.token
        status = "solvent" if s.solvent else "INSOLVENT"
        dust = f", abort dust {_amount(s.dust)}" if s.dust else ""
        yield (f"  solvency:  {asset}: balance {_amount(s.balance)}, owed {_amount(s.owed)}{dust}, "
               f"surplus {_amount(s.surplus)}: {status}")
    if report.db_entries_compared is not None:
        yield f"  database:  {report.db_entries_compared:,} entries compared"
    for note in report.notes:
        yield f"  note:      {note}"
    if report.ok:
        yield "  result:    CLEAN"
        return
    yield f"  result:    {len(report.findings)} FINDING{'S' if len(report.findings) != 1 else ''}"
    yield f"  first divergence: {report.findings[0].message}"
    for finding in report.findings:
        yield f"  - [{finding.code}] {finding.message}"
