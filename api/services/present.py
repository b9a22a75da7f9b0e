"""Turn stored rows into the public JSON shapes (api/schemas.py): amounts as decimal strings,
addresses checksummed, times as ISO 8601 UTC. Plain dicts encoded with orjson, and ledger entries formatted
straight to JSON text: building pydantic models per row would cost more than the query on the hot
paths, so the tests check every route's answers against its response model instead."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from starlette.responses import Response

from ledger.core.public import checksum, iso
from ledger.core.records import ETH, Campaign, Kind, Milestones, Position, State, TrancheRelease
from ledger.core.status import position_status

if TYPE_CHECKING:
    from api.services.reader import MilestoneView

STATE_NAMES = {int(s): s.name.lower() for s in State}
STATE_VALUES = {name: value for value, name in STATE_NAMES.items()}


def u256(value: Any) -> str:
    """A stored uint256 as a decimal string: 78-digit zero-padded text (SQLite), Decimal
    (PostgreSQL NUMERIC(78,0), always plain digits) or int."""
    if value.__class__ is str:
        return value.lstrip("0") or "0"
    return str(value)


MAX_PROGRESS_BPS = 1_000_000  # 100x the goal: beyond that the bar is full anyway, and JSON ints stay small


def campaign_public(c: Campaign, chain_time: int) -> dict[str, Any]:
    state = c.state_at(chain_time)
    progress = min(c.pledged * 10_000 // c.goal, MAX_PROGRESS_BPS) if c.goal else 10_000
    return {
        "id": c.campaign_id,
        "creator": checksum(c.creator),
        "token": checksum(c.token),
        "asset": "ETH" if c.token == ETH else "ERC20",
        "goal": str(c.goal),
        "pledged": str(c.pledged),
        "progress_bps": progress,
        "backer_count": c.backer_count,
        "state": STATE_NAMES[state],
        "deadline": iso(c.deadline),
        "seconds_left": max(0, c.deadline - chain_time),
        "max_per_backer": str(c.max_per_backer),
        "keep_it_all": c.keep_it_all,
        "fee_bps": c.fee_bps,
        "metadata_hash": c.metadata_hash,
        "created_at": iso(c.created_timestamp),
        "created_seq": c.created_seq,
        "created_block": c.created_block,
        "claimed_amount": str(c.claimed_amount),
        "claim_fee": str(c.claim_fee),
        "refunded_total": str(c.refunded_total),
        "escrowed": str(c.escrowed),
        "last_seq": c.last_seq,
        "milestone": c.milestone,
        "tranche_count": c.tranche_count,
        "tranches_released": c.tranches_released,
        "aborted": c.aborted,
    }


def backed_campaign_public(c: Campaign, chain_time: int) -> dict[str, Any]:
    """What a backer's list shows of a campaign (GET /campaigns/{id} has the rest)."""
    return {
        "id": c.campaign_id,
        "creator": checksum(c.creator),
        "token": checksum(c.token),
        "asset": "ETH" if c.token == ETH else "ERC20",
        "goal": str(c.goal),
        "pledged": str(c.pledged),
        "state": STATE_NAMES[c.state_at(chain_time)],
        "deadline": iso(c.deadline),
    }


@dataclass(frozen=True, slots=True)
class BackedCampaign:
    """The campaign half of a backer's list items at one chain time, formatted once: the text
    before the position, and the status a position has in it (position_status depends on the
    campaign's state and on whether the position still holds a balance, and why not)."""

    prefix: str  # '{"campaign":{...},"position":'
    held: str  # the status of a position with a balance
    refunded: str  # of one emptied by a refund
    withdrawn: str  # of one emptied by unpledging


def backed_campaign(c: Campaign, chain_time: int) -> BackedCampaign:
    def status(balance: int, refunded: int) -> str:
        return position_status(c, Position(c.campaign_id, "", balance, 0, 0, refunded, 0, 0), chain_time).value

    prefix = (
        f'{{"campaign":{{"id":{c.campaign_id},"creator":"{checksum(c.creator)}","token":"{checksum(c.token)}",'
        f'"asset":"{"ETH" if c.token == ETH else "ERC20"}","goal":"{c.goal}","pledged":"{c.pledged}",'
        f'"state":"{STATE_NAMES[c.state_at(chain_time)]}","deadline":"{iso(c.deadline)}"}},"position":'
    )
    return BackedCampaign(prefix, status(1, 0), status(0, 1), status(0, 0))


def backed_item(
    campaign: BackedCampaign, balance: str, pledged_total: str, unpledged_total: str, refunded_total: str,
    first_seq: int, last_seq: int,
) -> str:
    """The JSON text of BackedCampaignPublic: what backed_campaign_public and position_public
    give, formatted straight to text from the position's amounts as decimal digits (a backer's
    page was mostly building those dicts)."""
    status = campaign.held if balance != "0" else campaign.refunded if refunded_total != "0" else campaign.withdrawn
    return (
        f'{campaign.prefix}{{"balance":"{balance}","pledged_total":"{pledged_total}",'
        f'"unpledged_total":"{unpledged_total}","refunded_total":"{refunded_total}",'
        f'"status":"{status}","first_seq":{first_seq},"last_seq":{last_seq}}}}}'
    )


def backed_json(row: Any) -> str:
    """backed_item of a row of LedgerReader.backer_positions (BACKED_COLUMNS, chain time,
    POSITION_COLUMNS, BACKED_STATE_COLUMNS)."""
    (campaign_id, creator, token, goal, deadline, keep_it_all, pledged, cancelled, claimed, chain_time,
     balance, pledged_total, unpledged_total, refunded_total, first_seq, last_seq, tranches_released, aborted) = row
    campaign = Campaign(campaign_id, creator, token, int(goal), deadline, 0, bool(keep_it_all), 0, "", 0, 0, None,
                        int(pledged), 0, bool(cancelled), bool(claimed), tranches_released=tranches_released,
                        aborted=bool(aborted))
    return backed_item(
        backed_campaign(campaign, chain_time), u256(balance), u256(pledged_total), u256(unpledged_total),
        u256(refunded_total), first_seq, last_seq,
    )


def position_public(c: Campaign, p: Position, chain_time: int) -> dict[str, Any]:
    return {
        "balance": str(p.balance),
        "pledged_total": str(p.pledged_total),
        "unpledged_total": str(p.unpledged_total),
        "refunded_total": str(p.refunded_total),
        "status": position_status(c, p, chain_time).value,
        "first_seq": p.first_seq,
        "last_seq": p.last_seq,
    }


# ---------------------------------------------------------------- milestone campaigns

TRANCHE_PENDING_STATES = (State.FUNDING, State.SUCCEEDED, State.IN_DELIVERY)  # a next tranche may still be paid


def tranche_amounts(tranche_bps: tuple[int, ...], total: int) -> list[int]:
    """Each tranche's gross amount for a campaign total: floor(total x bps / 10000), the last
    tranche the rest (docs/ledger-format.md, "Milestone campaigns")."""
    amounts = [total * bps // 10_000 for bps in tranche_bps[:-1]]
    return amounts + [total - sum(amounts)] if tranche_bps else []


def _place(row: Any) -> dict[str, Any]:
    """Where an entry sits (an ENTRY_PLACE row of the reader): seq, tx hash, block and time."""
    seq, block, timestamp, tx, final = row
    return {"seq": seq, "tx_hash": tx, "block_number": block, "block_time": iso(timestamp), "final": bool(final)}


_NO_PLACE = {"seq": None, "tx_hash": None, "block_number": None, "block_time": None}


def milestones_public(view: MilestoneView) -> dict[str, Any]:
    """A campaign's delivery (MilestonesPublic): plan, tranches, the open or last vote, the abort."""
    c, now, plan = view.campaign, view.chain_time, view.plan
    state = c.state_at(now)
    body: dict[str, Any] = {
        "campaign_id": c.campaign_id,
        "milestone": c.milestone,
        "state": STATE_NAMES[state],
        "token": checksum(c.token),
        "asset": "ETH" if c.token == ETH else "ERC20",
        "total": str(c.pledged),
        "escrowed": str(c.escrowed),
        "released_gross": str(c.released_gross),
        "released_paid": str(c.claimed_amount),
        "released_fees": str(c.claim_fee),
        "voting_period": None,
        "tranche_count": 0,
        "tranches_released": 0,
        "next_tranche": None,
        "next_tranche_amount": "0",
        "tranches": [],
        "vote": None,
        "abort": None,
        "plan_seq": None,
        "last_seq": c.last_seq,
    }
    if plan is None:
        return body
    amounts = tranche_amounts(plan.tranche_bps, c.pledged)
    released = {r.tranche: (r, tx) for r, tx in view.releases}
    upcoming = plan.tranches_released if state in TRANCHE_PENDING_STATES else None
    body.update(
        voting_period=plan.voting_period,
        tranche_count=plan.tranche_count,
        tranches_released=plan.tranches_released,
        next_tranche=upcoming,
        next_tranche_amount=str(amounts[upcoming]) if upcoming is not None else "0",
        tranches=[_tranche_public(i, bps, amounts[i], released.get(i), plan, state) for i, bps in enumerate(plan.tranche_bps)],
        plan_seq=plan.plan_seq,
    )
    if plan.request_seq:
        body["vote"] = _vote_public(plan, c.pledged, amounts, now, view.request)
    if plan.aborted:
        owed = sum(plan.refund_of(pledge, c.pledged) for pledge in view.unrefunded)
        body["abort"] = {
            "remaining": str(plan.abort_remaining),
            "refunded": str(plan.refunded),
            "owed": str(owed),
            "unrefunded_weight": str(plan.unrefunded_weight),
            "dust": str(plan.abort_remaining - plan.refunded - owed),
            "dust_settled": plan.unrefunded_weight == 0,
            **(_place(view.abort) if view.abort is not None else {**_NO_PLACE, "final": False}),
        }
    return body


def _tranche_public(
    tranche: int, bps: int, gross: int, paid: tuple[TrancheRelease, str] | None, plan: Milestones, state: State
) -> dict[str, Any]:
    if paid is not None:
        release, tx = paid
        return {
            "tranche": tranche, "bps": bps, "gross": str(release.gross), "status": "released",
            "amount": str(release.amount), "fee": str(release.fee), "seq": release.seq, "tx_hash": tx,
            "block_number": release.block_number, "block_time": iso(release.block_timestamp),
            "report_hash": release.report_hash,
            "approve_weight": None if release.report_hash is None else str(release.approve_weight),
            "reject_weight": None if release.report_hash is None else str(release.reject_weight),
        }
    if plan.vote_pending and plan.vote_tranche == tranche:
        status = "voting"
    elif state in TRANCHE_PENDING_STATES:
        status = "pending"
    else:
        status = "returned"
    return {
        "tranche": tranche, "bps": bps, "gross": str(gross), "status": status, "amount": None, "fee": None,
        **_NO_PLACE, "report_hash": None, "approve_weight": None, "reject_weight": None,
    }


def _vote_public(plan: Milestones, total: int, amounts: list[int], now: int, request: Any) -> dict[str, Any]:
    if plan.vote_pending:
        status = "open" if plan.vote_end is None or now < plan.vote_end else "closed"
    else:
        status = "aborted" if plan.aborted else "released"
    voted = plan.approve_weight + plan.reject_weight
    quorum = -(-total // 5)  # (approve + reject) x 5 >= total
    return {
        "tranche": plan.vote_tranche,
        "status": status,
        "report_hash": plan.report_hash,
        "request_seq": plan.request_seq,
        "request_tx_hash": request[3] if request is not None else None,
        "requested_at": iso(plan.requested_at),
        "vote_end": iso(plan.vote_end),
        "vote_end_unix": plan.vote_end,
        "seconds_left": max(0, plan.vote_end - now) if status == "open" and plan.vote_end is not None else 0,
        "approve_weight": str(plan.approve_weight),
        "reject_weight": str(plan.reject_weight),
        "voted_weight": str(voted),
        "quorum": str(quorum),
        "quorum_reached": voted >= quorum,
        "voters": plan.voters,
        "passes": plan.vote_passes(total),
        "at_stake": str(amounts[plan.vote_tranche]),
    }


def vote_public(row: Any) -> dict[str, Any]:
    """A VOTE_COLUMNS row of the reader as VotePublic."""
    campaign_id, tranche, backer, seq, weight, approve, block, timestamp, tx, final = row
    return {
        "campaign_id": campaign_id, "tranche": tranche, "backer": checksum(backer), "approve": bool(approve),
        "weight": u256(weight), "seq": seq, "tx_hash": tx, "block_number": block, "block_time": iso(timestamp),
        "final": bool(final),
    }


def document_public(row: Any) -> dict[str, Any]:
    """A DOCUMENT_COLUMNS row of the reader (a kind-9 or kind-13 entry) as DocumentPublic."""
    kind, account, amount, detail = row[5:]
    report = kind == Kind.RELEASE_REQUESTED
    return {
        "kind": "report" if report else "disclosure",
        "hash": detail,
        "tranche": int(u256(amount)) if report else None,
        "account": checksum(account),
        **_place(row[:5]),
    }


def page_json(items: list[str], next_cursor: str | None, **extra: Any) -> bytes:
    """`{"data": [...], "next": ...}` from items already encoded as JSON text."""
    return page_text(",".join(items).encode(), next_cursor, **extra)


def page_text(data: bytes, next_cursor: str | None, **extra: Any) -> bytes:
    """page_json of items already joined with commas (UTF-8)."""
    head = "".join(f'"{key}":{orjson.dumps(value).decode()},' for key, value in extra.items())
    cursor = "null" if next_cursor is None else f'"{next_cursor}"'
    return b"".join((f'{{{head}"data":['.encode(), data, f'],"next":{cursor}}}'.encode()))


class JSON(Response):
    """application/json: a dict encoded with orjson, or bytes already encoded."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return content if isinstance(content, bytes) else orjson.dumps(content)
