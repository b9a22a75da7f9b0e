"""The auditor's checks.

`audit_chain` replays the ledger straight from the chain's logs at one block (not from the
indexer's database), compares the result with the contract's own views read with eth_call at that
same block, checks solvency per asset, and optionally diffs the indexer's database against it.
(ledger.audit.offline replays an export file with no node at all.)
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ledger.audit import findings as codes
from ledger.audit.assets import assets_for
from ledger.audit.db_diff import EntryDiffer, check_checkpoint, diff_projections
from ledger.audit.findings import Finding
from ledger.audit.replay import Replayer
from ledger.audit.report import AssetSolvency, AuditReport, plain
from ledger.chain.contract import EscrowReader
from ledger.chain.events import LEDGER_TOPICS_FILTER, decode_log
from ledger.chain.logs import LogFetcher
from ledger.chain.rpc import RpcClient
from ledger.core.records import (
    ETH,
    Campaign,
    Milestones,
    State,
)
from ledger.db.store import LedgerStore
from ledger.errors import LedgerIntegrityError

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
            report.notes.append(
                f"the database indexes {sync.contract} on chain {sync.chain_id}; not compared"
            )
        else:
            check_checkpoint(report, store, rpc)
            compare_to = min(at_block, sync.last_block)
            differ = EntryDiffer(store, compare_to)
            if sync.last_block < at_block:
                report.notes.append(
                    f"the database is indexed to block {sync.last_block}; later entries not compared"
                )

    fetcher = LogFetcher(rpc, contract, topics=LEDGER_TOPICS_FILTER, prefetch=True)
    batches = fetcher.iter_batches(start_block, at_block)
    try:
        for batch in batches:
            for raw in batch.logs:
                try:
                    entry = decode_log(raw)
                except LedgerIntegrityError as exc:
                    report.findings.append(
                        Finding(codes.INVALID_ENTRY, str(exc), tx_hash=raw.transaction_hash)
                    )
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
        report.findings.append(
            Finding(
                codes.LENGTH_MISMATCH,
                f"the logs hold {report.ledger_length} entries, ledgerLength() says {report.onchain_length}",
            )
        )
    if report.onchain_head != report.ledger_head:
        report.findings.append(
            Finding(
                codes.FINAL_HEAD_MISMATCH,
                f"the replayed head {report.ledger_head} is not ledgerHead() {report.onchain_head} at block {at_block}",
            )
        )

    timestamp = rpc.require_block(at_block).timestamp
    _compare_views(report, replayer, reader, at_block, timestamp)
    _check_solvency(report, replayer, reader, at_block, store if differ is not None else None)
    if differ is not None and store is not None and sync is not None and sync.last_block == at_block:
        if not diff_projections(report, replayer, store, sync.last_block):
            report.notes.append(
                "projections not compared: the indexer moved on during the audit; audit again"
            )
    elif differ is not None:
        report.notes.append("projections not compared: the database is not at the audited block")
    return report


def _compare_views(
    report: AuditReport, replayer: Replayer, reader: EscrowReader, block: int, timestamp: int
) -> None:
    state = replayer.state
    report.campaigns = len(state.campaigns)
    report.positions = len(state.positions)
    onchain_count = reader.campaign_count(block)
    if onchain_count != len(state.campaigns):
        report.findings.append(
            Finding(
                codes.CAMPAIGN_MISMATCH,
                f"the ledger creates {len(state.campaigns)} campaigns, campaignCount() is {onchain_count}",
            )
        )
    views = reader.campaigns_at(sorted(state.campaigns), block)
    for campaign_id, (view, onchain_state) in views.items():
        mine = state.campaigns[campaign_id]
        expected = {
            "creator": mine.creator,
            "token": mine.token,
            "goal": mine.goal,
            "deadline": mine.deadline,
            "max_per_backer": mine.max_per_backer,
            "keep_it_all": mine.keep_it_all,
            "fee_bps": mine.fee_bps,
            "pledged": mine.pledged,
            "claimed": mine.claimed,
            "cancelled": mine.cancelled,
            "state": int(mine.state_at(timestamp)),
        }
        actual = {**asdict(view), "state": onchain_state}
        _compare_view(
            report,
            codes.CAMPAIGN_MISMATCH,
            f"campaign {campaign_id}",
            "getCampaign/campaignState",
            campaign_id,
            expected,
            actual,
        )
    keys = sorted(state.positions)
    for key, balance in reader.pledges_at(keys, block).items():
        position = state.positions[key]
        if balance != position.balance:
            report.findings.append(
                Finding(
                    codes.POSITION_MISMATCH,
                    f"backer {key[1]} in campaign {key[0]}: the ledger gives {position.balance}, pledgeOf() {balance}",
                    campaign_id=key[0],
                    fields={"backer": key[1], "ledger": str(position.balance), "contract": str(balance)},
                )
            )
    _compare_milestones(report, replayer, reader, block, timestamp)
    _compare_credits(report, replayer, reader, block)
    fee_tokens = sorted(set(state.fees) | {ETH})
    for token, accrued in reader.accrued_fees_at(fee_tokens, block).items():
        mine_fees = state.fees.get(token)
        outstanding = mine_fees.outstanding if mine_fees else 0
        if accrued != outstanding:
            report.findings.append(
                Finding(
                    codes.FEES_MISMATCH,
                    f"fees in {token}: the ledger gives {outstanding} outstanding, accruedFees() {accrued}",
                    fields={"token": token, "ledger": str(outstanding), "contract": str(accrued)},
                )
            )


def _compare_credits(report: AuditReport, replayer: Replayer, reader: EscrowReader, block: int) -> None:
    """Every credit the ledger shows against owed(account, token). A kind-15 entry names where a
    credit went, not whose it was (docs/ledger-format.md, "Exits"), so when two credits in one
    asset owed the same amount and one was withdrawn to a third address, the replay may have
    charged the other: mismatches that are only such a swap (per asset, the same owed amounts on
    both sides) are a note, not a finding."""
    state = replayer.state
    wrong: dict[str, list[tuple[str, int, int]]] = {}
    for (account, token), owed in reader.owed_at(sorted(state.credits), block).items():
        mine = state.credits[(account, token)].owed
        if owed != mine:
            wrong.setdefault(token, []).append((account, mine, owed))
    for token, accounts in wrong.items():
        if sorted(mine for _, mine, _ in accounts) == sorted(owed for _, _, owed in accounts):
            names = ", ".join(account for account, _, _ in accounts)
            report.notes.append(
                f"credits in {token}: the withdrawals of equal credits ({names}) are charged to each "
                "other's account in the ledger (a withdrawal entry does not name whose credit it "
                "paid); the amounts owed match owed()"
            )
            continue
        for account, mine, owed in accounts:
            report.findings.append(
                Finding(
                    codes.CREDIT_MISMATCH,
                    f"the credit of {account} in {token}: the ledger gives {mine} owed, owed() {owed}",
                    fields={"account": account, "token": token, "ledger": str(mine), "contract": str(owed)},
                )
            )


def _next_tranche_amount(campaign: Campaign, mine: Milestones, timestamp: int) -> int:
    """getMilestones().nextTrancheAmount: the next tranche's gross while the campaign funds,
    succeeded or is in delivery (of the current total), else 0."""
    if campaign.state_at(timestamp) not in (State.FUNDING, State.SUCCEEDED, State.IN_DELIVERY):
        return 0
    return mine.tranche_gross(mine.tranches_released, campaign.pledged)


def _compare_milestones(
    report: AuditReport, replayer: Replayer, reader: EscrowReader, block: int, timestamp: int
) -> None:
    """Each milestone campaign's plan, progress, last vote and abort accounting against getMilestones."""
    state = replayer.state
    ids = sorted(c for c, campaign in state.campaigns.items() if campaign.milestone and c in state.milestones)
    for campaign_id, view in reader.milestones_at(ids, block).items():
        mine, campaign = state.milestones[campaign_id], state.campaigns[campaign_id]
        expected: dict[str, Any] = {
            "tranche_bps": mine.tranche_bps,
            "voting_period": mine.voting_period,
            "tranches_released": mine.tranches_released,
            "released_amount": mine.released_gross,
            "next_tranche_amount": _next_tranche_amount(campaign, mine, timestamp),
            "vote_pending": mine.vote_pending,
            "vote_tranche": mine.vote_tranche,
            "report_hash": mine.report_hash,
            "vote_end": mine.vote_end,
            "approve_weight": mine.approve_weight,
            "reject_weight": mine.reject_weight,
            "aborted": mine.aborted,
            "abort_remaining": mine.abort_remaining,
            "refunded": mine.refunded,
            "unrefunded_weight": mine.unrefunded_weight,
            "dust": mine.dust,
        }
        if mine.vote_end is None:  # the request's block timestamp was not in the logs: not checked
            del expected["vote_end"]
        actual = asdict(view)
        _compare_view(
            report,
            codes.MILESTONE_MISMATCH,
            f"milestone campaign {campaign_id}",
            "getMilestones",
            campaign_id,
            expected,
            actual,
        )


def _check_solvency(
    report: AuditReport, replayer: Replayer, reader: EscrowReader, block: int, store: LedgerStore | None
) -> None:
    owed, dust = replayer.holdings_by_asset()
    owed.setdefault(ETH, 0)
    tokens = sorted(set(owed) | set(dust))
    assets = assets_for(tokens, block=block, rpc=reader.rpc, store=store)
    for token in tokens:
        solvency = AssetSolvency(
            token=token,
            balance=reader.asset_balance(token, block),
            owed=owed.get(token, 0),
            dust=dust.get(token, 0),
            symbol=assets[token].symbol,
            decimals=assets[token].decimals,
        )
        report.solvency.append(solvency)
        if not solvency.solvent:
            held = f" plus {solvency.amount(solvency.dust)} of abort dust" if solvency.dust else ""
            report.findings.append(
                Finding(
                    codes.INSOLVENT,
                    f"the escrow holds {solvency.amount(solvency.balance)} of {token} but owes "
                    f"{solvency.amount(solvency.owed)}{held}",
                    fields=solvency.to_dict(),
                )
            )


def _compare_view(
    report: AuditReport,
    code: str,
    what: str,
    view: str,
    campaign_id: int,
    expected: dict[str, Any],
    actual: dict[str, Any],
) -> None:
    """One finding naming every field where the replayed `expected` differs from the contract's view."""
    diff = {
        k: {"ledger": plain(v), "contract": plain(actual[k])} for k, v in expected.items() if actual[k] != v
    }
    if diff:
        report.findings.append(
            Finding(
                code,
                f"{what} differs from {view} in {', '.join(diff)}",
                campaign_id=campaign_id,
                fields=diff,
            )
        )
