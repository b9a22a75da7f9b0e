"""Answer a backer's question in one call: is my contribution where it should be?

`verify_tx` checks one transaction: its receipt, block and confirmations, every ledger entry it
produced with its head recomputed from the previous head, and whether the indexed ledger holds the
same entries. `verify_backer` lists a backer's campaigns with what they put in, took back and got
back, where the rest stands, and checks it against `pledgeOf` on-chain.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import msgspec
from sqlalchemy import select

from ledger.chain.answers import raw_log
from ledger.chain.contract import EscrowReader
from ledger.chain.events import TOPICS, decode_log
from ledger.chain.rpc import RpcClient
from ledger.core.addresses import checksum, parse_address
from ledger.core.hashing import HashChain
from ledger.core.records import ETH, Campaign, CampaignTerms, Kind, LedgerEntry, Milestones, Position, Vote
from ledger.core.status import position_breakdown
from ledger.db.rows import entry_from_row, from_row
from ledger.db.schema import campaigns, ledger_entries, milestones, positions, votes
from ledger.db.store import LedgerStore
from ledger.errors import ConfigError, LedgerIntegrityError, NodeError

TX_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")
KIND_NAMES = {
    Kind.CAMPAIGN_CREATED: "campaign created",
    Kind.PLEDGED: "pledge",
    Kind.UNPLEDGED: "unpledge",
    Kind.CANCELLED: "cancellation",
    Kind.CLAIMED: "claim",
    Kind.REFUNDED: "refund",
    Kind.FEES_WITHDRAWN: "fee withdrawal",
    Kind.MILESTONE_PLAN: "milestone plan",
    Kind.RELEASE_REQUESTED: "release request",
    Kind.VOTED: "vote",
    Kind.TRANCHE_RELEASED: "tranche release",
    Kind.ABORTED: "abort",
    Kind.DISCLOSED: "disclosure",
}
# kinds whose amount is not money: a tranche count, a tranche index or a vote's weight
_NOT_MONEY = (Kind.MILESTONE_PLAN, Kind.RELEASE_REQUESTED)


def format_amount(amount: int, token: str) -> str:
    """An amount in whole units (18 decimals) with its asset, e.g. '0.25 ETH'."""
    whole, frac = divmod(amount, 10**18)
    text = f"{whole:,}" + (f".{frac:018d}".rstrip("0") if frac else "")
    return f"{text} {'ETH' if token == ETH else 'tokens of ' + checksum(token)}"


@dataclass
class EntryCheck:
    """One ledger entry a transaction produced, checked."""

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


def _describe(entry: LedgerEntry, token: str | None) -> str:
    name = KIND_NAMES.get(Kind(entry.kind), f"kind {entry.kind}")
    amount = f" of {format_amount(entry.amount, token)}" if entry.amount and token is not None else ""
    target = f" to campaign {entry.campaign_id}" if entry.campaign_id else ""
    if entry.kind >= Kind.MILESTONE_PLAN:
        target = f" in campaign {entry.campaign_id}"
        if entry.kind in _NOT_MONEY:
            amount = (
                f" of {entry.amount} tranches"
                if entry.kind == Kind.MILESTONE_PLAN
                else f" for tranche {entry.amount}"
            )
        elif entry.kind == Kind.VOTED and token is not None:
            choice = "approve" if int(entry.detail, 16) else "reject"
            amount = f" ({choice}, weight {format_amount(entry.amount, token)})"
        elif entry.kind == Kind.ABORTED and token is not None:
            amount = f" ({format_amount(entry.amount, token)} unreleased, refundable pro rata)"
    return f"{name}{amount}{target}"


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
        result.verdict = f"This transaction reverted in block {block}: it moved no money and the ledger has no entry for it."
        return result
    logs = [
        raw
        for raw in receipt["logs"]
        if raw["address"].lower() == contract and raw["topics"] and raw["topics"][0] in TOPICS
    ]
    if not logs:
        result.ok = False
        target = "is not addressed to the escrow" if result.to != contract else "made no ledger entry"
        result.verdict = f"This transaction (block {block}) {target}: it touched no campaign."
        return result

    chain_id = rpc.chain_id()
    genesis = HashChain.genesis(chain_id, contract).head
    tokens: dict[int, str] = {}
    if store is not None:
        with store.engine.connect() as conn:
            tokens = dict(conn.execute(select(campaigns.c.campaign_id, campaigns.c.token)).all())
    earlier: dict[int, str] = {}
    descriptions = []
    for raw in logs:
        try:
            log = raw_log(
                {**raw, "blockHash": receipt["blockHash"], "transactionHash": receipt["transactionHash"]}
            )
        except msgspec.ValidationError as exc:
            raise NodeError(f"the node's receipt of {tx_hash} holds a malformed log: {exc}") from None
        try:
            entry = decode_log(log)
        except LedgerIntegrityError as exc:
            result.ok = False
            result.problems.append(str(exc))
            continue
        previous = _previous_head(store, entry.seq, genesis, earlier)
        matches = (
            None
            if previous is None
            else HashChain(previous, entry.seq - 1).expected_head(entry) == entry.head
        )
        in_db = db_ok = None
        if store is not None:
            row = _db_entry(store, entry.seq)
            in_db = row is not None
            if row is not None:
                db_ok = (
                    row.kind,
                    row.campaign_id,
                    row.account,
                    row.amount,
                    row.detail,
                    row.head,
                    row.tx_hash,
                ) == (
                    entry.kind,
                    entry.campaign_id,
                    entry.account,
                    entry.amount,
                    entry.detail,
                    entry.head,
                    entry.tx_hash,
                )
        earlier[entry.seq] = entry.head
        if isinstance(entry.terms, CampaignTerms):
            token: str | None = entry.terms.token
        else:
            token = tokens.get(entry.campaign_id, entry.token if entry.kind == Kind.FEES_WITHDRAWN else None)
        descriptions.append(f"{_describe(entry, token)} (ledger entry #{entry.seq})")
        result.entries.append(
            EntryCheck(
                seq=entry.seq,
                kind=int(entry.kind),
                kind_name=KIND_NAMES[Kind(entry.kind)],
                campaign_id=entry.campaign_id,
                account=checksum(entry.account),
                amount=str(entry.amount),
                head=entry.head,
                previous_head=previous,
                head_matches=matches,
                in_database=in_db,
                database_matches=db_ok,
            )
        )
        if matches is False:
            result.problems.append(f"entry #{entry.seq}: its head does not follow from the previous head")
        if in_db is False:
            result.problems.append(f"entry #{entry.seq} is not in the indexed ledger yet")
        if db_ok is False:
            result.problems.append(f"entry #{entry.seq} differs in the indexed ledger")
    result.ok = result.ok and not result.problems
    finality = (
        f"final since {confirmations - finality_depth} block{'s' if confirmations - finality_depth != 1 else ''}"
        if final
        else f"not final yet ({confirmations} of {finality_depth + 1} confirmations)"
    )
    heads = (
        "its head matches the chain"
        if all(e.head_matches for e in result.entries)
        else "its head could not be checked"
        if any(e.head_matches is None for e in result.entries)
        else "its head does NOT match"
    )
    result.verdict = f"Your {'; '.join(descriptions)} is in block {block}, {finality}; {heads}."
    if result.problems:
        result.verdict += " Problems: " + "; ".join(result.problems) + "."
    return result


# ----------------------------------------------------------------------------- backers


@dataclass
class BackerVote:
    """One of the backer's votes on a milestone campaign's release request."""

    tranche: int
    approve: bool
    weight: str
    seq: int


@dataclass
class BackerCampaign:
    """One campaign a backer backed, and where their money stands (ledger.status.PositionBreakdown:
    in a milestone campaign `released` is the backer's pro-rata share of the tranches released,
    `escrowed` the rest, `at_stake` its share of the tranche in the open vote, and after an abort
    `refundable` the pro-rata refund)."""

    campaign_id: int
    token: str
    status: str
    pledged_total: str
    unpledged_total: str
    refunded_total: str
    balance: str  # still counted for this backer: escrowed, refundable or released
    escrowed: str
    refundable: str
    released: str
    pledge_of_onchain: str
    matches_chain: bool
    at_stake: str = "0"
    lost_to_rounding: str = "0"
    votes: list[BackerVote] = field(default_factory=list)


@dataclass
class BackerVerification:
    backer: str
    block: int
    ok: bool
    verdict: str
    campaigns: list[BackerCampaign] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def verify_backer(
    rpc: RpcClient, contract: str, backer: str, store: LedgerStore, *, campaign_id: int | None = None
) -> BackerVerification:
    """A backer's positions from the indexed ledger, each checked against pledgeOf on-chain."""
    backer = parse_address(backer, "--backer")
    state = store.read_sync_state()
    if state is None:
        raise ConfigError("the database holds no indexed ledger; run `crowdledger index` first")
    backer = backer.lower()
    query = select(positions).where(positions.c.backer == backer)
    if campaign_id is not None:
        query = query.where(positions.c.campaign_id == campaign_id)
    with store.engine.connect() as conn:
        rows = [from_row(Position, r) for r in conn.execute(query.order_by(positions.c.campaign_id))]
        ids = [p.campaign_id for p in rows]
        found = {
            r.campaign_id: from_row(Campaign, r)
            for r in conn.execute(select(campaigns).where(campaigns.c.campaign_id.in_(ids)))
        }
        plans = {
            r.campaign_id: from_row(Milestones, r)
            for r in conn.execute(
                select(milestones).where(milestones.c.campaign_id.in_([c for c in ids if found[c].milestone]))
            )
        }
        cast: dict[int, list[BackerVote]] = {}
        for r in conn.execute(
            select(votes).where(votes.c.backer == backer).order_by(votes.c.campaign_id, votes.c.seq)
        ):
            v = from_row(Vote, r)
            cast.setdefault(v.campaign_id, []).append(BackerVote(v.tranche, v.approve, str(v.weight), v.seq))
    onchain = EscrowReader(rpc, contract).pledges_at(
        [(p.campaign_id, backer) for p in rows], state.last_block
    )
    timestamp = state.tip_timestamp or 0
    result = BackerVerification(checksum(backer), state.last_block, ok=True, verdict="")
    for position in rows:
        campaign = found[position.campaign_id]
        money = position_breakdown(campaign, position, timestamp, plans.get(position.campaign_id))
        chain_balance = onchain[(position.campaign_id, backer)]
        result.campaigns.append(
            BackerCampaign(
                campaign_id=position.campaign_id,
                token=checksum(campaign.token),
                status=money.status.value,
                pledged_total=str(position.pledged_total),
                unpledged_total=str(position.unpledged_total),
                refunded_total=str(position.refunded_total),
                balance=str(position.balance),
                escrowed=str(money.escrowed),
                refundable=str(money.refundable),
                released=str(money.released),
                pledge_of_onchain=str(chain_balance),
                matches_chain=chain_balance == position.balance,
                at_stake=str(money.at_stake),
                lost_to_rounding=str(money.lost_to_rounding),
                votes=cast.get(position.campaign_id, []),
            )
        )
    result.ok = all(c.matches_chain for c in result.campaigns)
    if not rows:
        scope = f" in campaign {campaign_id}" if campaign_id is not None else ""
        result.verdict = (
            f"{result.backer} has backed nothing{scope} in the indexed ledger (to block {state.last_block})."
        )
    else:
        parts = [_backer_part(c, plans.get(c.campaign_id)) for c in result.campaigns]
        check = (
            "every position matches pledgeOf on-chain"
            if result.ok
            else "SOME POSITIONS DO NOT MATCH pledgeOf on-chain"
        )
        result.verdict = f"{result.backer} at block {state.last_block}: " + "; ".join(parts) + f". {check}."
    return result


def _backer_part(c: BackerCampaign, plan: Any) -> str:
    """One campaign of verify_backer's verdict, e.g. 'campaign 3: 1 ETH in_delivery (0.2 ETH
    released to the creator, 0.8 ETH escrowed, 0.3 ETH at stake in the vote on tranche 1: you
    voted approve)'."""
    token = c.token.lower()
    text = f"campaign {c.campaign_id}: {format_amount(int(c.balance), token)} {c.status}"
    if c.status == "in_delivery":
        text += (
            f" ({format_amount(int(c.released), token)} released to the creator, "
            f"{format_amount(int(c.escrowed), token)} escrowed"
        )
        if plan is not None and plan.vote_pending:
            mine = next((v for v in c.votes if v.tranche == plan.vote_tranche), None)
            voted = f"you voted {'approve' if mine.approve else 'reject'}" if mine else "you have not voted"
            text += f", {format_amount(int(c.at_stake), token)} at stake in the vote on tranche {plan.vote_tranche}: {voted}"
        text += ")"
    elif c.status == "refundable_after_abort":
        text += (
            f" (a release vote failed: {format_amount(int(c.refundable), token)} to refund pro rata, "
            f"{format_amount(int(c.released), token)} was released to the creator)"
        )
    return text
