"""A milestone campaign's delivery as the API shows it (the tranche plan and what was released, the
open or last release vote, the abort), its votes, and every campaign's reports and disclosures:
the schemas, and the functions that fill them from what api.queries.milestones reads."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field
from typing_extensions import TypedDict

from api.queries.milestones import DocumentRow, EntryPlace, MilestoneView, VoteRow
from api.schemas.common import STATES, Address, Amount, AssetPublic, CampaignState, Cursor, Hash32, Time
from ledger.core.addresses import checksum
from ledger.core.public import iso
from ledger.core.records import Kind, Milestones, State, TrancheRelease

TRANCHE_PENDING_STATES = (
    State.FUNDING,
    State.SUCCEEDED,
    State.IN_DELIVERY,
)  # a next tranche may still be paid


class TranchePublic(TypedDict):
    """One tranche of a milestone campaign's plan; the release fields are null until it is paid."""

    tranche: Annotated[
        int, Field(ge=0, description="its index: tranche 0 is paid by the claim, each later one after a vote")
    ]
    bps: Annotated[int, Field(ge=1, le=10_000, description="its share of the total, in basis points")]
    gross: Annotated[
        Amount,
        Field(
            description="its gross amount (fee included): floor(total x bps / 10000), the last tranche the rest; "
            "of the current total while the campaign is funding"
        ),
    ]
    status: Annotated[
        Literal["released", "voting", "pending", "returned"],
        Field(
            description="released: paid to the creator; voting: backers are voting on its release (or the vote "
            "awaits release()); pending: not paid yet; returned: never to be paid (the campaign aborted, failed or "
            "was cancelled): backers refund it"
        ),
    ]
    amount: Annotated[Amount | None, Field(description="paid to the creator")]
    fee: Annotated[Amount | None, Field(description="the platform fee taken from it")]
    seq: Annotated[
        int | None,
        Field(description="the ledger entry that paid it: a claim (tranche 0) or a tranche release"),
    ]
    tx_hash: Hash32 | None
    block_number: int | None
    block_time: Time | None
    report_hash: Annotated[
        Hash32 | None, Field(description="the progress report its vote was on (null for tranche 0)")
    ]
    approve_weight: Annotated[
        Amount | None, Field(description="the vote's final tallies (null for tranche 0)")
    ]
    reject_weight: Amount | None


class VoteStatusPublic(TypedDict):
    """The open or last release vote of a milestone campaign."""

    tranche: Annotated[int, Field(ge=1, description="the tranche the vote releases")]
    status: Annotated[
        Literal["open", "closed", "released", "aborted"],
        Field(
            description="open: backers may vote until vote_end; closed: voting ended and anyone may call "
            "release(), which pays the tranche if `passes` and aborts the campaign otherwise; released / aborted: "
            "decided"
        ),
    ]
    report_hash: Annotated[
        Hash32, Field(description="the progress report the creator asked backers to approve")
    ]
    request_seq: Annotated[int, Field(description="the release request's ledger entry (kind 9)")]
    request_tx_hash: Hash32 | None
    requested_at: Time | None
    vote_end: Annotated[Time | None, Field(description="votes count while the chain time is before this")]
    vote_end_unix: Annotated[int | None, Field(description="vote_end as a unix time (seconds)")]
    seconds_left: Annotated[int, Field(ge=0, description="until vote_end, in chain time; 0 unless open")]
    approve_weight: Annotated[Amount, Field(description="the pledges of the backers who approved")]
    reject_weight: Annotated[Amount, Field(description="the pledges of the backers who rejected")]
    voted_weight: Annotated[Amount, Field(description="approve_weight + reject_weight")]
    quorum: Annotated[
        Amount, Field(description="the weight that must vote for a release: a fifth of the total, rounded up")
    ]
    quorum_reached: bool
    voters: Annotated[int, Field(ge=0)]
    passes: Annotated[
        bool,
        Field(
            description="with the tallies as they stand the tranche is released: more approving than rejecting "
            "weight, and the quorum reached"
        ),
    ]
    at_stake: Annotated[Amount, Field(description="the gross amount of the tranche the vote decides")]


class AbortPublic(TypedDict):
    """A milestone campaign whose release vote failed: backers refund floor(pledge x remaining / total)."""

    remaining: Annotated[
        Amount, Field(description="what the escrow held at the abort: the tranches not released")
    ]
    refunded: Annotated[Amount, Field(description="paid back to backers since the abort")]
    owed: Annotated[Amount, Field(description="still owed to the backers who have not refunded yet")]
    unrefunded_weight: Annotated[
        Amount, Field(description="the pledges of the backers who have not refunded yet")
    ]
    dust: Annotated[
        Amount,
        Field(
            description="remaining - refunds paid and owed: the rounding left over, which the last refund moves to "
            "the platform's fees"
        ),
    ]
    dust_settled: Annotated[bool, Field(description="every backer refunded and the dust went to the fees")]
    seq: Annotated[int | None, Field(description="the abort's ledger entry (kind 12)")]
    tx_hash: Hash32 | None
    block_number: int | None
    block_time: Time | None
    final: bool


class MilestonesPublic(TypedDict):
    """A campaign's delivery: the tranche plan and what was released, the open or last vote with
    its tallies, and the abort. A plain campaign answers with `milestone: false`, no tranches, no
    vote and no abort (its released amounts are its claim)."""

    campaign_id: int
    milestone: bool
    state: CampaignState
    token: Address
    asset: Annotated[AssetPublic, Field(description="the asset every amount here is in")]
    total: Annotated[
        Amount, Field(description="the pledged total the tranches divide (frozen at the deadline)")
    ]
    escrowed: Annotated[Amount, Field(description="what the escrow still holds for the campaign's backers")]
    released_gross: Annotated[Amount, Field(description="released to the creator so far, fees included")]
    released_paid: Annotated[Amount, Field(description="of which paid to the creator")]
    released_fees: Annotated[Amount, Field(description="of which taken as platform fees")]
    voting_period: Annotated[int | None, Field(description="how long each release vote lasts, in seconds")]
    tranche_count: Annotated[int, Field(ge=0)]
    tranches_released: Annotated[int, Field(ge=0)]
    next_tranche: Annotated[int | None, Field(description="the next tranche to pay; null when none will be")]
    next_tranche_amount: Annotated[
        Amount, Field(description="its gross amount, 0 if none (getMilestones().nextTrancheAmount)")
    ]
    tranches: list[TranchePublic]
    vote: Annotated[
        VoteStatusPublic | None,
        Field(description="the open or last release vote; null before the first request"),
    ]
    abort: AbortPublic | None
    plan_seq: Annotated[int | None, Field(description="the milestone plan's ledger entry (kind 8)")]
    last_seq: int


class VotePublic(TypedDict):
    """One backer's vote on a release (a kind-10 entry)."""

    campaign_id: int
    tranche: Annotated[int, Field(ge=1)]
    backer: Address
    approve: bool
    weight: Annotated[Amount, Field(description="the backer's pledge when voting")]
    seq: int
    tx_hash: Hash32
    block_number: int
    block_time: Time | None
    final: bool


class CampaignVotesPublic(TypedDict):
    campaign_id: int
    data: list[VotePublic]
    next: Cursor


class DocumentPublic(TypedDict):
    """A document hash the creator put on the ledger: a progress report with a release request
    (kind 9), or a disclosure (kind 13)."""

    kind: Literal["report", "disclosure"]
    hash: Annotated[
        Hash32, Field(description="the document's hash: keep the document; anyone can hash it and compare")
    ]
    tranche: Annotated[int | None, Field(description="reports: the tranche whose release it asked for")]
    account: Annotated[Address, Field(description="the creator")]
    seq: int
    tx_hash: Hash32
    block_number: int
    block_time: Time | None
    final: bool


class DocumentsPublic(TypedDict):
    campaign_id: int
    data: list[DocumentPublic]
    next: Cursor


# ----------------------------------------------------------------------------- from the records


def tranche_amounts(tranche_bps: tuple[int, ...], total: int) -> list[int]:
    """Each tranche's gross amount for a campaign total: floor(total x bps / 10000), the last
    tranche the rest (docs/ledger-format.md, "Milestone campaigns")."""
    amounts = [total * bps // 10_000 for bps in tranche_bps[:-1]]
    return amounts + [total - sum(amounts)] if tranche_bps else []


def milestones_public(view: MilestoneView, asset: AssetPublic) -> MilestonesPublic:
    """A campaign's delivery: plan, tranches, the open or last vote, the abort."""
    c, now, plan = view.campaign, view.chain_time, view.plan
    state = c.state_at(now)
    body: MilestonesPublic = {
        "campaign_id": c.campaign_id,
        "milestone": c.milestone,
        "state": STATES[state],
        "token": checksum(c.token),
        "asset": asset,
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
    released = {release.tranche: release for release in view.releases}
    upcoming = plan.tranches_released if state in TRANCHE_PENDING_STATES else None
    body["voting_period"] = plan.voting_period
    body["tranche_count"] = plan.tranche_count
    body["tranches_released"] = plan.tranches_released
    body["next_tranche"] = upcoming
    body["next_tranche_amount"] = str(amounts[upcoming]) if upcoming is not None else "0"
    body["tranches"] = [
        _tranche(i, bps, amounts[i], released.get(i), view.release_txs, plan, state)
        for i, bps in enumerate(plan.tranche_bps)
    ]
    body["plan_seq"] = plan.plan_seq
    if plan.request_seq:
        body["vote"] = _vote_status(plan, c.pledged, amounts, now, view.request)
    if plan.aborted:
        owed = sum(plan.refund_of(pledge, c.pledged) for pledge in view.unrefunded)
        where = view.abort
        body["abort"] = {
            "remaining": str(plan.abort_remaining),
            "refunded": str(plan.refunded),
            "owed": str(owed),
            "unrefunded_weight": str(plan.unrefunded_weight),
            "dust": str(plan.abort_remaining - plan.refunded - owed),
            "dust_settled": plan.unrefunded_weight == 0,
            "seq": where.seq if where else None,
            "tx_hash": where.tx_hash if where else None,
            "block_number": where.block_number if where else None,
            "block_time": iso(where.block_timestamp) if where else None,
            "final": where.final if where else False,
        }
    return body


def _tranche(
    tranche: int,
    bps: int,
    gross: int,
    paid: TrancheRelease | None,
    txs: dict[int, str],
    plan: Milestones,
    state: State,
) -> TranchePublic:
    if paid is not None:
        voted = paid.report_hash is not None
        return {
            "tranche": tranche,
            "bps": bps,
            "gross": str(paid.gross),
            "status": "released",
            "amount": str(paid.amount),
            "fee": str(paid.fee),
            "seq": paid.seq,
            "tx_hash": txs.get(paid.seq),
            "block_number": paid.block_number,
            "block_time": iso(paid.block_timestamp),
            "report_hash": paid.report_hash,
            "approve_weight": str(paid.approve_weight) if voted else None,
            "reject_weight": str(paid.reject_weight) if voted else None,
        }
    status: Literal["voting", "pending", "returned"]
    if plan.vote_pending and plan.vote_tranche == tranche:
        status = "voting"
    elif state in TRANCHE_PENDING_STATES:
        status = "pending"
    else:
        status = "returned"
    return {
        "tranche": tranche,
        "bps": bps,
        "gross": str(gross),
        "status": status,
        "amount": None,
        "fee": None,
        "seq": None,
        "tx_hash": None,
        "block_number": None,
        "block_time": None,
        "report_hash": None,
        "approve_weight": None,
        "reject_weight": None,
    }


def _vote_status(
    plan: Milestones, total: int, amounts: list[int], now: int, request: EntryPlace | None
) -> VoteStatusPublic:
    status: Literal["open", "closed", "released", "aborted"]
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
        "request_tx_hash": request.tx_hash if request is not None else None,
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


def vote_public(row: VoteRow) -> VotePublic:
    vote = row.vote
    return {
        "campaign_id": vote.campaign_id,
        "tranche": vote.tranche,
        "backer": checksum(vote.backer),
        "approve": vote.approve,
        "weight": str(vote.weight),
        "seq": vote.seq,
        "tx_hash": row.tx_hash,
        "block_number": vote.block_number,
        "block_time": iso(vote.block_timestamp),
        "final": row.final,
    }


def document_public(row: DocumentRow) -> DocumentPublic:
    """A kind-9 entry (a progress report with its release request) or a kind-13 disclosure."""
    report = row.kind == Kind.RELEASE_REQUESTED
    return {
        "kind": "report" if report else "disclosure",
        "hash": row.detail,
        "tranche": row.amount if report else None,
        "account": checksum(row.account),
        "seq": row.place.seq,
        "tx_hash": row.place.tx_hash,
        "block_number": row.place.block_number,
        "block_time": iso(row.place.block_timestamp),
        "final": row.place.final,
    }
