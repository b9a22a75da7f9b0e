"""Answer a backer for an address: every campaign they backed, what they put in, took back and got
back, where the rest stands (ledger.core.status, the rule the API and the page share), each
position checked against `pledgeOf` on-chain, and a verdict in plain sentences with every amount
in its asset's own decimals and symbol."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select

from ledger.audit.assets import assets_for
from ledger.audit.wording import tranche_words
from ledger.chain.contract import EscrowReader
from ledger.chain.rpc import RpcClient
from ledger.core.addresses import checksum, parse_address
from ledger.core.amounts import amount_of
from ledger.core.metadata import Token
from ledger.core.records import Campaign, Credit, Milestones, Position, Vote
from ledger.core.status import PositionBreakdown, PositionStatus, RefundReason, position_breakdown
from ledger.db.rows import from_row
from ledger.db.schema import campaigns, credits, milestones, positions, votes
from ledger.db.store import LedgerStore
from ledger.errors import ConfigError


@dataclass
class BackerVote:
    """One of the backer's votes on a milestone campaign's release request."""

    tranche: int
    approve: bool
    weight: str
    seq: int


@dataclass
class BackerCampaign:
    """One campaign a backer backed, and where their money stands (ledger.core.status.
    PositionBreakdown), amounts in base units; `symbol` and `decimals` are the asset's, `reason`
    why the position is (or was) refundable, and `words` the verdict's sentence about it."""

    campaign_id: int
    token: str
    status: str
    pledged_total: str
    unpledged_total: str
    refunded_total: str
    balance: str  # pledgeOf: what the escrow still counts for the backer
    escrowed: str
    refundable: str
    released: str
    pledge_of_onchain: str
    matches_chain: bool
    at_stake: str = "0"
    lost_to_rounding: str = "0"
    votes: list[BackerVote] = field(default_factory=list)
    reason: str | None = None
    symbol: str = "ETH"
    decimals: int = 18
    words: str = ""


@dataclass
class BackerCredit:
    """A payout the address could not receive, credited to it (ledger.core.records.Credit):
    `owed` by the ledger, checked against owed(address, token) on-chain."""

    token: str
    symbol: str
    decimals: int
    credited_total: str
    withdrawn_total: str
    owed: str
    owed_onchain: str
    matches_chain: bool
    words: str = ""


@dataclass
class BackerVerification:
    backer: str
    block: int
    ok: bool
    verdict: str
    campaigns: list[BackerCampaign] = field(default_factory=list)
    credits: list[BackerCredit] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Indexed:
    """What the database holds for one address (read in one connection)."""

    positions: list[Position]
    campaigns: dict[int, Campaign]
    plans: dict[int, Milestones]
    votes: dict[int, list[BackerVote]]
    credits: list[Credit]


def _read(store: LedgerStore, backer: str, campaign_id: int | None) -> _Indexed:
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
        wanted = [c for c in ids if found[c].milestone]
        plans = {
            r.campaign_id: from_row(Milestones, r)
            for r in conn.execute(select(milestones).where(milestones.c.campaign_id.in_(wanted)))
        }
        cast: dict[int, list[BackerVote]] = {}
        mine = select(votes).where(votes.c.backer == backer).order_by(votes.c.campaign_id, votes.c.seq)
        for r in conn.execute(mine):
            v = from_row(Vote, r)
            cast.setdefault(v.campaign_id, []).append(BackerVote(v.tranche, v.approve, str(v.weight), v.seq))
        owed: list[Credit] = []
        if campaign_id is None:  # a creator's credits are the address's, not a campaign's
            owed = [
                from_row(Credit, r) for r in conn.execute(select(credits).where(credits.c.account == backer))
            ]
    return _Indexed(rows, found, plans, cast, owed)


def verify_backer(
    rpc: RpcClient, contract: str, backer: str, store: LedgerStore, *, campaign_id: int | None = None
) -> BackerVerification:
    """A backer's positions (and, for the whole address, its credits) from the indexed ledger, each
    checked against pledgeOf (owed) on-chain."""
    backer = parse_address(backer, "--backer").lower()
    state = store.read_sync_state()
    if state is None:
        raise ConfigError("the database holds no indexed ledger; run `crowdledger index` first")
    indexed = _read(store, backer, campaign_id)
    reader = EscrowReader(rpc, contract)
    block = state.last_block
    pledged = reader.pledges_at([(p.campaign_id, backer) for p in indexed.positions], block)
    owed = reader.owed_at([(backer, c.token) for c in indexed.credits], block)
    tokens = [c.token for c in indexed.campaigns.values()] + [c.token for c in indexed.credits]
    assets = assets_for(tokens, block=block, rpc=rpc, store=store)
    timestamp = state.tip_timestamp or 0
    result = BackerVerification(checksum(backer), block, ok=True, verdict="")
    for position in indexed.positions:
        campaign = indexed.campaigns[position.campaign_id]
        result.campaigns.append(
            _campaign(
                campaign,
                position,
                position_breakdown(campaign, position, timestamp, indexed.plans.get(campaign.campaign_id)),
                assets[campaign.token],
                indexed.plans.get(campaign.campaign_id),
                indexed.votes.get(campaign.campaign_id, []),
                pledged[(campaign.campaign_id, backer)],
            )
        )
    for credit in indexed.credits:
        result.credits.append(_credit(credit, assets[credit.token], owed[(backer, credit.token)]))
    result.ok = all(c.matches_chain for c in result.campaigns) and all(
        c.matches_chain for c in result.credits
    )
    result.verdict = _verdict(result, campaign_id, len(indexed.positions))
    return result


def _campaign(
    campaign: Campaign,
    position: Position,
    money: PositionBreakdown,
    asset: Token,
    plan: Milestones | None,
    cast: list[BackerVote],
    chain_balance: int,
) -> BackerCampaign:
    return BackerCampaign(
        campaign_id=campaign.campaign_id,
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
        votes=cast,
        reason=money.reason.value if money.reason is not None else None,
        symbol=asset.symbol,
        decimals=asset.decimals,
        words=sentence(campaign.campaign_id, position, money, asset, plan, cast),
    )


def _credit(credit: Credit, asset: Token, chain_owed: int) -> BackerCredit:
    words = (
        f"The escrow owes you {amount_of(credit.owed, asset)} of payouts you could not receive: "
        "withdrawOwed sends it to any address you name."
        if credit.owed
        else f"You were paid every credit in {asset.symbol} ({amount_of(credit.withdrawn_total, asset)})."
    )
    return BackerCredit(
        token=checksum(credit.token),
        symbol=asset.symbol,
        decimals=asset.decimals,
        credited_total=str(credit.credited_total),
        withdrawn_total=str(credit.withdrawn_total),
        owed=str(credit.owed),
        owed_onchain=str(chain_owed),
        matches_chain=chain_owed == credit.owed,
        words=words,
    )


def _verdict(result: BackerVerification, campaign_id: int | None, count: int) -> str:
    """Plain sentences: what the address backed, where each position stands, what the escrow owes
    it, and whether the chain agrees."""
    where = f"At block {result.block:,}"
    credits = [c.words for c in result.credits]
    checks = []
    if count:
        matched = all(c.matches_chain for c in result.campaigns)
        checks.append(
            "every position matches pledgeOf on-chain" if matched else "SOME POSITIONS DO NOT MATCH pledgeOf"
        )
    if result.credits:
        matched = all(c.matches_chain for c in result.credits)
        checks.append(
            "every credit matches owed() on-chain" if matched else "SOME CREDITS DO NOT MATCH owed()"
        )
    check = [f"{' and '.join(checks)[0].upper()}{' and '.join(checks)[1:]}."] if checks else []
    if not count:
        scope = f" in campaign {campaign_id}" if campaign_id is not None else ""
        return " ".join(
            [f"{where}, {result.backer} has backed nothing{scope} in the indexed ledger.", *credits, *check]
        )
    backed = f"{count} campaign{'s' if count != 1 else ''}"
    return " ".join(
        [
            f"{where}, {result.backer} has backed {backed}.",
            *(c.words for c in result.campaigns),
            *credits,
            *check,
        ]
    )


_ABORTED = {
    RefundReason.FAILED_VOTE: "was aborted after a release vote failed",
    RefundReason.SILENCE: "was aborted after its creator fell silent",
}
_ENDED = {
    RefundReason.FAILED: "missed its goal",
    RefundReason.CANCELLED: "was cancelled",
    RefundReason.EXPIRED: "met its goal but was never claimed, and expired",
    **_ABORTED,
}


def sentence(
    campaign_id: int,
    position: Position,
    money: PositionBreakdown,
    asset: Token,
    plan: Milestones | None,
    cast: list[BackerVote],
) -> str:
    """Where one position stands, as one or two plain sentences."""

    def amount(value: int) -> str:
        return amount_of(value, asset)

    status, reason = money.status, money.reason
    released = (
        f" {amount(money.released)} had gone to the creator in earlier tranches." if money.released else ""
    )
    if status == PositionStatus.ESCROWED:
        return f"Campaign {campaign_id}: your {amount(money.escrowed)} is held in escrow."
    if status == PositionStatus.RELEASED:
        return f"Campaign {campaign_id} was claimed: your {amount(money.released)} went to the creator."
    if status == PositionStatus.WITHDRAWN:
        return f"Campaign {campaign_id}: you took back all {amount(position.unpledged_total)} before the deadline."
    if status == PositionStatus.REFUNDED:
        why = f" {_ENDED[reason]};" if reason is not None else ":"
        return f"Campaign {campaign_id}{why} you were refunded {amount(money.refunded)}.{released}"
    if status == PositionStatus.REFUNDABLE and reason in _ABORTED:
        return (
            f"Campaign {campaign_id} {_ABORTED[reason]}: {amount(money.refundable)} of your pledge is refundable "
            f"pro rata.{released}"
        )
    if status == PositionStatus.REFUNDABLE:
        why = _ENDED[reason] if reason is not None else "ended"
        return f"Campaign {campaign_id} {why}: your {amount(money.refundable)} is refundable in full."
    text = (
        f"Campaign {campaign_id} is in delivery: {amount(money.released)} of your pledge has gone to the creator "
        f"and {amount(money.escrowed)} is held in escrow"
    )
    if plan is not None and plan.vote_pending:
        vote = next((v for v in cast if v.tranche == plan.vote_tranche), None)
        voted = f"you voted {'approve' if vote.approve else 'reject'}" if vote else "you have not voted"
        text += f"; {amount(money.at_stake)} of it is at stake in the vote on {tranche_words(plan.vote_tranche)}: {voted}"
    return text + "."
