"""Answer a backer's question in one call: is my contribution where it should be?

`verify_tx` checks one transaction: its receipt, block and confirmations, every ledger entry it
produced with its head recomputed from the previous head, and whether the indexed ledger holds the
same entries; its verdict is one plain sentence ("Your pledge of 0.25 ETH to campaign 7 is in
block 1,234, final for 50 blocks; its head matches the chain."), amounts in the asset's own
decimals and symbol. `verify_backer` (ledger.audit.verify_backer) answers for an address.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import msgspec
from sqlalchemy import select

from ledger.audit.assets import assets_for
from ledger.audit.verify_backer import BackerCampaign, BackerVerification, BackerVote, verify_backer
from ledger.audit.wording import blocks, describe, joined, kind_name
from ledger.chain.answers import raw_log
from ledger.chain.contract import EscrowReader
from ledger.chain.events import TOPICS, decode_log
from ledger.chain.rpc import RpcClient
from ledger.core.addresses import checksum
from ledger.core.hashing import HashChain
from ledger.core.records import CampaignTerms, Kind, LedgerEntry
from ledger.db.rows import entry_from_row
from ledger.db.schema import campaigns, ledger_entries
from ledger.db.store import LedgerStore
from ledger.errors import ConfigError, LedgerIntegrityError, NodeError

__all__ = [
    "BackerCampaign",
    "BackerVerification",
    "BackerVote",
    "EntryCheck",
    "TxVerification",
    "verify_backer",
    "verify_tx",
]

TX_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")
_ASSET_IN_DETAIL = (Kind.FEES_WITHDRAWN, Kind.PAYOUT_DEFERRED, Kind.OWED_WITHDRAWN)


@dataclass
class EntryCheck:
    """One ledger entry a transaction produced, checked. `amount` is in base units; `words` says
    what it is in plain words, the amount in its asset's decimals and symbol."""

    seq: int
    kind: int
    kind_name: str
    campaign_id: int
    account: str
    amount: str
    head: str
    previous_head: str | None
    head_matches: bool | None  # None: the previous head is not known (database not indexed that far)
    in_database: bool | None  # None: no database given
    database_matches: bool | None
    words: str = ""


@dataclass
class TxVerification:
    """The answer for one transaction hash."""

    tx_hash: str
    status: str  # success | reverted | pending | not_found
    verdict: str
    ok: bool
    block_number: int | None = None
    block_hash: str | None = None
    confirmations: int | None = None
    final: bool | None = None
    to: str | None = None
    entries: list[EntryCheck] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_tx_hash(tx_hash: str) -> str:
    if not TX_HASH.match(tx_hash or ""):
        raise ConfigError(f"{tx_hash!r} is not a transaction hash (0x followed by 64 hex digits)")
    return tx_hash.lower()


def _previous_head(store: LedgerStore | None, seq: int, genesis: str, earlier: dict[int, str]) -> str | None:
    if seq == 1:
        return genesis
    if seq - 1 in earlier:
        return earlier[seq - 1]
    if store is None:
        return None
    with store.engine.connect() as conn:
        return conn.execute(select(ledger_entries.c.head).where(ledger_entries.c.seq == seq - 1)).scalar()


def _db_entry(store: LedgerStore, seq: int) -> LedgerEntry | None:
    with store.engine.connect() as conn:
        row = conn.execute(select(ledger_entries).where(ledger_entries.c.seq == seq)).first()
    return entry_from_row(row) if row is not None else None


def _entries(receipt: dict[str, Any], contract: str, tx_hash: str) -> list[LedgerEntry | str]:
    """The ledger entries of a receipt's logs from the escrow, or why a log is not one."""
    found: list[LedgerEntry | str] = []
    for raw in receipt["logs"]:
        if raw["address"].lower() != contract or not raw["topics"] or raw["topics"][0] not in TOPICS:
            continue
        try:
            log = raw_log(
                {**raw, "blockHash": receipt["blockHash"], "transactionHash": receipt["transactionHash"]}
            )
        except msgspec.ValidationError as exc:
            raise NodeError(f"the node's receipt of {tx_hash} holds a malformed log: {exc}") from None
        try:
            found.append(decode_log(log))
        except LedgerIntegrityError as exc:
            found.append(str(exc))
    return found


def _asset_addresses(
    rpc: RpcClient, contract: str, entries: list[LedgerEntry], store: LedgerStore | None, block: int
) -> dict[int, str]:
    """Each entry's asset address by seq: its detail's (kinds 7, 14, 15), its terms' (kind 1), or its
    campaign's (the database's, else getCampaign at the block)."""
    by_campaign: dict[int, str] = {}
    if store is not None:
        ids = sorted({e.campaign_id for e in entries if e.campaign_id})
        with store.engine.connect() as conn:
            query = select(campaigns.c.campaign_id, campaigns.c.token).where(campaigns.c.campaign_id.in_(ids))
            by_campaign = {cid: token for cid, token in conn.execute(query)}
    reader = EscrowReader(rpc, contract)
    assets: dict[int, str] = {}
    for entry in entries:
        if entry.kind in _ASSET_IN_DETAIL:
            assets[entry.seq] = entry.token
        elif isinstance(entry.terms, CampaignTerms):
            assets[entry.seq] = by_campaign[entry.campaign_id] = entry.terms.token
        else:
            if entry.campaign_id not in by_campaign:
                by_campaign[entry.campaign_id] = reader.get_campaign(entry.campaign_id, block).token
            assets[entry.seq] = by_campaign[entry.campaign_id]
    return assets


def verify_tx(
    rpc: RpcClient, contract: str, tx_hash: str, *, store: LedgerStore | None = None, finality_depth: int = 12
) -> TxVerification:
    """Verify one transaction against the node and, if given, the indexed database."""
    tx_hash = _check_tx_hash(tx_hash)
    contract = contract.lower()
    receipt = rpc.get_transaction_receipt(tx_hash)
    if receipt is None:
        if rpc.get_transaction(tx_hash) is None:
            return TxVerification(
                tx_hash, "not_found", "No transaction with this hash exists on this chain.", ok=False
            )
        return TxVerification(
            tx_hash,
            "pending",
            "This transaction is waiting to be mined: it has not moved any money yet.",
            ok=False,
        )
    block = int(receipt["blockNumber"], 16)
    tip = rpc.block_number()
    confirmations = tip - block + 1
    final = block <= tip - finality_depth
    result = TxVerification(
        tx_hash,
        "success",
        "",
        ok=True,
        block_number=block,
        block_hash=receipt["blockHash"],
        confirmations=confirmations,
        final=final,
        to=(receipt.get("to") or "").lower() or None,
    )
    if int(receipt["status"], 16) != 1:
        result.status, result.ok = "reverted", False
        result.verdict = f"This transaction reverted in block {block:,}: it moved no money and the ledger has no entry for it."
        return result
    decoded = _entries(receipt, contract, tx_hash)
    if not decoded:
        result.ok = False
        target = "is not addressed to the escrow" if result.to != contract else "made no ledger entry"
        result.verdict = f"This transaction (block {block:,}) {target}: it touched no campaign."
        return result
    result.problems.extend(problem for problem in decoded if isinstance(problem, str))
    entries = [e for e in decoded if isinstance(e, LedgerEntry)]
    asset_of_seq = _asset_addresses(rpc, contract, entries, store, block)
    assets = assets_for(asset_of_seq.values(), block=block, rpc=rpc, store=store)
    genesis = HashChain.genesis(rpc.chain_id(), contract).head
    earlier: dict[int, str] = {}
    for entry in entries:
        _check_entry(result, entry, store, genesis, earlier, describe(entry, assets[asset_of_seq[entry.seq]]))
    result.ok = not result.problems
    result.verdict = _verdict(result, block, confirmations, finality_depth, final)
    return result


def _check_entry(
    result: TxVerification,
    entry: LedgerEntry,
    store: LedgerStore | None,
    genesis: str,
    earlier: dict[int, str],
    words: str,
) -> None:
    """Recompute one entry's head, compare it with the indexed ledger, and record the check."""
    previous = _previous_head(store, entry.seq, genesis, earlier)
    matches = (
        None if previous is None else HashChain(previous, entry.seq - 1).expected_head(entry) == entry.head
    )
    in_db = db_ok = None
    if store is not None:
        row = _db_entry(store, entry.seq)
        in_db = row is not None
        if row is not None:
            fields = ("kind", "campaign_id", "account", "amount", "detail", "head", "tx_hash")
            db_ok = all(getattr(row, name) == getattr(entry, name) for name in fields)
    earlier[entry.seq] = entry.head
    result.entries.append(
        EntryCheck(
            seq=entry.seq,
            kind=int(entry.kind),
            kind_name=kind_name(entry.kind),
            campaign_id=entry.campaign_id,
            account=checksum(entry.account),
            amount=str(entry.amount),
            head=entry.head,
            previous_head=previous,
            head_matches=matches,
            in_database=in_db,
            database_matches=db_ok,
            words=words,
        )
    )
    if matches is False:
        result.problems.append(f"entry #{entry.seq}: its head does not follow from the previous head")
    if in_db is False:
        result.problems.append(f"entry #{entry.seq} is not in the indexed ledger yet")
    if db_ok is False:
        result.problems.append(f"entry #{entry.seq} differs in the indexed ledger")


def _verdict(result: TxVerification, block: int, confirmations: int, depth: int, final: bool) -> str:
    """One plain sentence: what the transaction did, where it is, whether it is final and checked."""
    entries = result.entries
    what = joined([f"{e.words} (ledger entry #{e.seq:,})" for e in entries]) or "transaction"
    verb = "are" if len(entries) > 1 else "is"
    finality = (
        f"final for {blocks(confirmations - depth)}"
        if final
        else f"not final yet ({confirmations:,} of {depth + 1:,} confirmations)"
    )
    if all(e.head_matches for e in entries):
        heads = "its head matches the chain" if len(entries) == 1 else "their heads match the chain"
    elif any(e.head_matches is False for e in entries):
        heads = "a head does NOT match the chain"
    else:
        heads = "its head could not be checked (the indexed ledger does not reach the entry before it)"
    verdict = f"Your {what} {verb} in block {block:,}, {finality}; {heads}."
    if result.problems:
        verdict += " Problems: " + "; ".join(result.problems) + "."
    return verdict
