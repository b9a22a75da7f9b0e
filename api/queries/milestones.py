"""Reads of a milestone campaign's delivery (its plan and progress, the tranches paid, the release
request and the abort), of votes, and of the documents creators put on the ledger."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from api.queries.campaigns import campaign
from api.queries.database import Database, Query, Row, select_list
from ledger.core.records import Campaign, Kind, Milestones, TrancheRelease, Vote
from ledger.db.rows import columns, from_row

MAX_TRANCHES = 16  # more than any plan holds: bounds the tranche releases read
_PLACE = "e.seq, e.block_number, e.block_timestamp, e.tx_hash, e.final"


class EntryPlace(NamedTuple):
    """Where an entry sits on the chain."""

    seq: int
    block_number: int
    block_timestamp: int | None
    tx_hash: str
    final: bool


def place_of(row: Sequence[Any]) -> EntryPlace:
    """The EntryPlace of a row holding _PLACE's columns."""
    seq, block_number, block_timestamp, tx_hash, final = row
    return EntryPlace(seq, block_number, block_timestamp, tx_hash, bool(final))


class VoteRow(NamedTuple):
    """A vote with its entry's transaction and finality."""

    vote: Vote
    tx_hash: str
    final: bool


class DocumentRow(NamedTuple):
    """A kind-9 (release request: `amount` is the tranche) or kind-13 entry: its hash is `detail`."""

    place: EntryPlace
    kind: int
    account: str
    amount: int
    detail: str


@dataclass(slots=True)
class MilestoneView:
    """A campaign's delivery as the database holds it: the campaign and the chain time, and for a
    milestone campaign its plan and progress, the tranches paid (with the transaction of each
    release by seq), where the open or last release request and the abort sit, and the pledges of
    the backers yet to refund after an abort."""

    campaign: Campaign
    chain_time: int
    plan: Milestones | None = None
    releases: list[TrancheRelease] = field(default_factory=list)
    release_txs: dict[int, str] = field(default_factory=dict)
    request: EntryPlace | None = None
    abort: EntryPlace | None = None
    unrefunded: list[int] = field(default_factory=list)


_PLAN = Query(f"SELECT {select_list('m', columns(Milestones))} FROM milestones m WHERE m.campaign_id = :id")
_RELEASES = Query(
    f"SELECT e.tx_hash, {select_list('t', columns(TrancheRelease))} FROM tranche_releases t "
    "JOIN ledger_entries e ON e.seq = t.seq WHERE t.campaign_id = :id ORDER BY t.tranche"
)
_ENTRY_PLACE = Query(f"SELECT {_PLACE} FROM ledger_entries e WHERE e.seq = :seq")
_ABORT_PLACE = Query(
    f"SELECT {_PLACE} FROM ledger_entries e WHERE e.campaign_id = :id"
    f" AND e.kind IN ({int(Kind.ABORTED)}, {int(Kind.STALE_ABORTED)})"
)
_UNREFUNDED = Query("SELECT p.balance FROM positions p WHERE p.campaign_id = :id AND p.balance > :zero")
_VOTES = "SELECT e.tx_hash, e.final, {vote} FROM votes v JOIN ledger_entries e ON e.seq = v.seq WHERE {where}"
_CAMPAIGN_VOTES = Query(
    _VOTES.format(
        vote=select_list("v", columns(Vote)),
        where="v.campaign_id = :id AND v.seq > :after ORDER BY v.seq LIMIT :n",
    )
)
_TRANCHE_VOTES = Query(
    _VOTES.format(
        vote=select_list("v", columns(Vote)),
        where="v.campaign_id = :id AND v.tranche = :tranche AND v.seq > :after ORDER BY v.seq LIMIT :n",
    )
)
_BACKER_VOTES = Query(
    _VOTES.format(
        vote=select_list("v", columns(Vote)),
        where="v.backer = :backer AND (v.campaign_id > :k_id OR (v.campaign_id = :k_id AND v.seq > :k_seq)) "
        "ORDER BY v.campaign_id, v.seq LIMIT :n",
    )
)
_DOCUMENTS = Query(
    f"SELECT e.kind, e.account, e.amount, e.detail, {_PLACE} FROM ledger_entries e WHERE e.campaign_id = :id "
    f"AND e.kind IN ({int(Kind.RELEASE_REQUESTED)}, {int(Kind.DISCLOSED)}) AND e.seq > :after "
    "ORDER BY e.seq LIMIT :n"
)


async def plan_of(db: Database, campaign_id: int) -> Milestones | None:
    """A milestone campaign's plan and progress (None for a plain campaign)."""
    found = await db.fetch(_PLAN, {"id": campaign_id})
    return from_row(Milestones, found[0]) if found else None


async def milestone_view(db: Database, campaign_id: int) -> MilestoneView | None:
    """Everything GET /campaigns/{id}/milestones shows, or None for an unknown campaign."""
    found = await campaign(db, campaign_id)
    if found is None:
        return None
    view = MilestoneView(found.campaign, found.chain_time)
    if not view.campaign.milestone:
        return view
    params = {"id": campaign_id}
    found_plan = await db.fetch(_PLAN, params)
    view.plan = plan = from_row(Milestones, found_plan[0]) if found_plan else None
    for tx_hash, *values in await db.fetch(_RELEASES, params, rows=MAX_TRANCHES):
        release = from_row(TrancheRelease, values)
        view.releases.append(release)
        view.release_txs[release.seq] = tx_hash
    if plan is not None and plan.request_seq:
        request = await db.fetch(_ENTRY_PLACE, {"seq": plan.request_seq})
        view.request = place_of(request[0]) if request else None
    if plan is not None and plan.aborted:
        abort = await db.fetch(_ABORT_PLACE, params)
        view.abort = place_of(abort[0]) if abort else None
        rows = await db.fetch(_UNREFUNDED, {**params, "zero": db.u256(0)}, rows=None)
        view.unrefunded = [int(balance) for (balance,) in rows]
    return view


def _votes(rows: list[Row]) -> list[VoteRow]:
    return [VoteRow(from_row(Vote, values), tx_hash, bool(final)) for tx_hash, final, *values in rows]


async def campaign_votes(
    db: Database, campaign_id: int, *, tranche: int | None, limit: int, after: int
) -> list[VoteRow]:
    """A campaign's votes (on one tranche if given) after seq `after`, in seq order (limit + 1 of them)."""
    params = {"id": campaign_id, "tranche": tranche, "after": after, "n": limit + 1}
    query = _CAMPAIGN_VOTES if tranche is None else _TRANCHE_VOTES
    return _votes(await db.fetch(query, params, rows=limit + 1))


async def backer_votes(
    db: Database, backer: str, *, limit: int, after: tuple[int, int] | None
) -> list[VoteRow]:
    """A backer's votes by campaign, then seq (limit + 1 of them), after (campaign id, seq) `after`."""
    k_id, k_seq = after if after is not None else (-1, 0)
    params = {"backer": backer, "k_id": k_id, "k_seq": k_seq, "n": limit + 1}
    return _votes(await db.fetch(_BACKER_VOTES, params, rows=limit + 1))


async def documents(db: Database, campaign_id: int, *, limit: int, after: int) -> list[DocumentRow]:
    """A campaign's progress reports (kind 9) and disclosures (kind 13) after seq `after`, in seq
    order (limit + 1 of them)."""
    params = {"id": campaign_id, "after": after, "n": limit + 1}
    rows = await db.fetch(_DOCUMENTS, params, rows=None)  # the kinds filter may skip any number of entries
    return [
        DocumentRow(place_of(place), int(kind), account, int(amount), detail)
        for kind, account, amount, detail, *place in rows
    ]
