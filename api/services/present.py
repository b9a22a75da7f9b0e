"""Turn stored rows into the public JSON shapes (api/schemas.py): amounts as decimal strings,
addresses checksummed, times as ISO 8601 UTC. Plain dicts encoded with orjson, and ledger entries formatted
straight to JSON text: building pydantic models per row would cost more than the query on the hot
paths, so the tests check every route's answers against its response model instead."""

from __future__ import annotations

from functools import lru_cache
from time import gmtime
from typing import TYPE_CHECKING, Any

import orjson
from starlette.responses import Response

from ledger.hashing import keccak256
from ledger.records import ETH, Campaign, Kind, Milestones, Position, State, TrancheRelease
from ledger.status import position_status

if TYPE_CHECKING:
    from api.services.reader import MilestoneView

KIND_NAMES = {int(k): k.name.lower() for k in Kind}
STATE_NAMES = {int(s): s.name.lower() for s in State}
STATE_VALUES = {name: value for value, name in STATE_NAMES.items()}


_NIBBLE_HIGH = bytes.maketrans(b"0123456789abcdef", b"\0" * 8 + b"\x20" * 8)
_IS_LETTER = bytes.maketrans(b"0123456789abcdef", b"\0" * 10 + b"\x20" * 6)


CHECKSUM_CACHE = 1 << 18  # addresses whose checksum is remembered (~70 MB when full)


@lru_cache(maxsize=CHECKSUM_CACHE)
def checksum(address: str) -> str:
    """EIP-55 checksum of a 0x-address given in any case (stored addresses are valid lowercase
    hex, so no input checks). A letter is upper case where the keccak of the lowercase hex has a
    nibble >= 8: done on the 40 bytes as one integer (flip bit 0x20 of those letters) rather than
    character by character, which is what makes long pages of addresses cheap."""
    body = address[2:].lower().encode()
    digest = keccak256(body).hex()[:40].encode()
    flip = int.from_bytes(digest.translate(_NIBBLE_HIGH), "big") & int.from_bytes(body.translate(_IS_LETTER), "big")
    return "0x" + (int.from_bytes(body, "big") ^ flip).to_bytes(40, "big").decode()


def warm_checksums(addresses: Any) -> int:
    """Checksum `addresses` ahead of the requests that will show them (at most CHECKSUM_CACHE of
    them, so the warm-up never evicts itself): a cold checksum costs keccak and ~6 us of Python,
    as much as the rest of a ledger entry's formatting, and a page can hold 50 of them."""
    count = 0
    for address in addresses:
        if count >= CHECKSUM_CACHE:
            break
        checksum(address)
        count += 1
    return count


_MINUTES_SECONDS = [f"{m:02d}:{s:02d}Z" for m in range(60) for s in range(60)]


@lru_cache(maxsize=1 << 16)
def _hour(hour: int) -> str:
    year, month, mday, hh = gmtime(hour * 3600)[:4]
    return f"{year:04d}-{month:02d}-{mday:02d}T{hh:02d}:"


def iso(timestamp: int | None) -> str | None:
    """A unix time as ISO 8601 UTC, e.g. 2024-05-01T12:00:00Z. Assembled from cached pieces
    (the date and hour, then minutes and seconds): a page of entries has as many block times as
    entries, and formatting each from scratch was a tenth of the page's cost."""
    if timestamp is None:
        return None
    return _hour(timestamp // 3600) + _MINUTES_SECONDS[timestamp % 3600]


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


def backed_json(row: Any) -> str:
    """A row of LedgerReader.backer_positions (BACKED_COLUMNS, chain time, POSITION_COLUMNS) as
    the JSON text of BackedCampaignPublic: what backed_campaign_public and position_public give,
    formatted straight to text (a backer's page was mostly building those dicts)."""
    (campaign_id, creator, token, goal, deadline, keep_it_all, pledged, cancelled, claimed, chain_time,
     balance, pledged_total, unpledged_total, refunded_total, first_seq, last_seq, tranches_released, aborted) = row
    campaign = Campaign(campaign_id, creator, token, int(goal), deadline, 0, bool(keep_it_all), 0, "", 0, 0, None,
                        int(pledged), 0, bool(cancelled), bool(claimed), tranches_released=tranches_released,
                        aborted=bool(aborted))
    position = Position(campaign_id, "", int(balance), 0, 0, int(refunded_total), first_seq, last_seq)
    return (
        f'{{"campaign":{{"id":{campaign_id},"creator":"{checksum(creator)}","token":"{checksum(token)}",'
        f'"asset":"{"ETH" if token == ETH else "ERC20"}","goal":"{u256(goal)}","pledged":"{u256(pledged)}",'
        f'"state":"{STATE_NAMES[campaign.state_at(chain_time)]}","deadline":"{iso(deadline)}"}},'
        f'"position":{{"balance":"{u256(balance)}","pledged_total":"{u256(pledged_total)}",'
        f'"unpledged_total":"{u256(unpledged_total)}","refunded_total":"{u256(refunded_total)}",'
        f'"status":"{position_status(campaign, position, chain_time).value}","first_seq":{first_seq},'
        f'"last_seq":{last_seq}}}}}'
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


KIND_JSON = [f'"{KIND_NAMES.get(k, "unknown")}"' if k else '"unknown"' for k in range(max(Kind) + 1)]
_CLAIMED, _FEES_WITHDRAWN = int(Kind.CLAIMED), int(Kind.FEES_WITHDRAWN)


def entry_json(row: Any, previous_head: str | None = None) -> str:
    """An entry row of LedgerReader (ENTRY_COLUMNS) as the JSON text of EntryPublic, or of
    EntryDetailPublic when `previous_head` is given. Formatted straight to text with one f-string:
    on a page of 50 entries this is the main cost, and it is under half that of building dicts
    for orjson."""
    seq, kind, campaign_id, account, amount, detail, head, block, block_hash, timestamp, tx, index, final = row[:13]
    return (
        f'{{"seq":{seq},"kind":{kind},"kind_name":{KIND_JSON[kind] if 0 < kind < len(KIND_JSON) else KIND_JSON[0]},'
        f'"campaign_id":{campaign_id},"account":"{checksum(account)}",'
        f'"amount":"{(amount.lstrip("0") or "0") if amount.__class__ is str else amount}","detail":"{detail}",'
        f'"fee":{_fee(detail) if kind == _CLAIMED else "null"},'
        f'"fee_token":{_fee_token(detail) if kind == _FEES_WITHDRAWN else "null"},"head":"{head}",'
        f'"block_number":{block},"block_hash":"{block_hash}",'
        f'"block_time":{"null" if timestamp is None else _quoted_iso(timestamp)},"tx_hash":"{tx}",'
        f'"log_index":{index},"final":{"true" if final else "false"}'
        + ("}" if previous_head is None else f',"previous_head":"{previous_head}"}}')
    )


def _fee(detail: str) -> str:
    return f'"{int(detail, 16)}"'


def _fee_token(detail: str) -> str:
    return f'"{checksum("0x" + detail[-40:])}"'


def _quoted_iso(timestamp: int) -> str:
    return f'"{_hour(timestamp // 3600)}{_MINUTES_SECONDS[timestamp % 3600]}"'


# ---------------------------------------------------------------- entries formatted by the database
#
# A page of entries is formatted by the database: each row comes back as the JSON text of
# EntryPublic in two pieces around the account, which the API checksums (EIP-55 needs keccak,
# which neither database has). The common case is then one concatenation per entry instead of
# a dozen Python objects and a format; the database's C formatting is cheaper than Python's, and
# on PostgreSQL it runs in the server's process. The rare rows SQL cannot finish are patched here
# from the two extra columns, which are NULL otherwise:
#   detail: claimed (fee = the detail as a number) and fees_withdrawn (fee_token = its address)
#   time:   a block time outside years 1970-9999 (SQLite's strftime range), formatted by iso()
# entry_json stays the reference: the tests check both give the same text for every entry.

_SQL_KIND_NAME = "CASE e.kind " + " ".join(f"WHEN {k} THEN '{KIND_JSON[k][1:-1]}'" for k in range(1, len(KIND_JSON))) + " ELSE 'unknown' END"
_TIME_RANGE = "e.block_timestamp >= 0 AND e.block_timestamp < 253402300800"  # 1970-01-01 .. 9999-12-31
_SQL_TIME = {
    "sqlite": "strftime('%Y-%m-%dT%H:%M:%SZ', e.block_timestamp, 'unixepoch')",
    "postgresql": "to_char(to_timestamp(e.block_timestamp) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
}
_SQL_AMOUNT = {
    "sqlite": "COALESCE(NULLIF(ltrim(e.amount, '0'), ''), '0')",  # 78-digit zero-padded text
    "postgresql": "CAST(e.amount AS TEXT)",  # NUMERIC(78,0): plain digits
}
_NO_FEE = '"fee":null,"fee_token":null'
_NO_TIME = '"block_time":null'


def entry_json_sql(dialect: str) -> str:
    """The select list of a ledger_entries query (alias `e`) whose rows entry_text() turns into
    the JSON text of EntryPublic: seq, the text before the account, the account, the text after
    it, and the detail and time when SQL could not format them."""
    time = _SQL_TIME[dialect]
    parts = [
        "'{\"seq\":'", "e.seq", "',\"kind\":'", "e.kind", "',\"kind_name\":\"'", _SQL_KIND_NAME,
        "'\",\"campaign_id\":'", "e.campaign_id", "',\"account\":\"'",
    ]
    rest = [
        "'\",\"amount\":\"'", _SQL_AMOUNT[dialect], "'\",\"detail\":\"'", "e.detail", f"'\",{_NO_FEE},\"head\":\"'",
        "e.head", "'\",\"block_number\":'", "e.block_number", "',\"block_hash\":\"'", "e.block_hash",
        "'\",\"block_time\":'", f"CASE WHEN {_TIME_RANGE} THEN '\"' || {time} || '\"' ELSE 'null' END",
        "',\"tx_hash\":\"'", "e.tx_hash", "'\",\"log_index\":'", "e.log_index",
        "',\"final\":'", "CASE WHEN e.final THEN 'true}' ELSE 'false}' END",
    ]
    if dialect == "postgresql":  # || of a number and a text needs a cast there
        numbers = {"e.seq", "e.kind", "e.campaign_id", "e.block_number", "e.log_index"}
        parts = [f"CAST({p} AS TEXT)" if p in numbers else p for p in parts]
        rest = [f"CAST({p} AS TEXT)" if p in numbers else p for p in rest]
    return (
        f"e.seq, {' || '.join(parts)}, e.account, {' || '.join(rest)}, "
        f"CASE WHEN e.kind IN ({int(Kind.CLAIMED)}, {int(Kind.FEES_WITHDRAWN)}) THEN e.detail END, "
        f"CASE WHEN e.block_timestamp IS NOT NULL AND NOT ({_TIME_RANGE}) THEN e.block_timestamp END"
    )


def entry_text(row: Any) -> str:
    """A row of entry_json_sql() as the JSON text of EntryPublic (what entry_json gives)."""
    text = row[1] + checksum(row[2]) + row[3]
    detail, timestamp = row[4], row[5]
    if detail is not None:
        start = text.index('"kind":') + 7
        if text[start:text.index(",", start)] == str(_CLAIMED):  # else fees_withdrawn
            text = text.replace(_NO_FEE, f'"fee":"{int(detail, 16)}","fee_token":null', 1)
        else:
            text = text.replace(_NO_FEE, f'"fee":null,"fee_token":"{checksum("0x" + detail[-40:])}"', 1)
    if timestamp is not None:
        text = text.replace(_NO_TIME, f'"block_time":"{iso(timestamp)}"', 1)
    return text


def page_json(items: list[str], next_cursor: str | None, **extra: Any) -> bytes:
    """`{"data": [...], "next": ...}` from items already encoded as JSON text."""
    head = "".join(f'"{key}":{orjson.dumps(value).decode()},' for key, value in extra.items())
    cursor = "null" if next_cursor is None else f'"{next_cursor}"'
    return f'{{{head}"data":[{",".join(items)}],"next":{cursor}}}'.encode()


class JSON(Response):
    """application/json: a dict encoded with orjson, or bytes already encoded."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return content if isinstance(content, bytes) else orjson.dumps(content)
