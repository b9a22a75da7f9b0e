"""Turn stored rows into the public JSON shapes (api/schemas.py): amounts as decimal strings,
addresses checksummed, times as ISO 8601 UTC. Plain dicts encoded with orjson, and ledger entries formatted
straight to JSON text: building pydantic models per row would cost more than the query on the hot
paths, so the tests check every route's answers against its response model instead."""

from __future__ import annotations

from functools import lru_cache
from time import gmtime
from typing import Any

import orjson
from starlette.responses import Response

from ledger.hashing import keccak256
from ledger.records import ETH, Campaign, Kind, Position, State
from ledger.status import position_status

KIND_NAMES = {int(k): k.name.lower() for k in Kind}
STATE_NAMES = {int(s): s.name.lower() for s in State}
STATE_VALUES = {name: value for value, name in STATE_NAMES.items()}


_NIBBLE_HIGH = bytes.maketrans(b"0123456789abcdef", b"\0" * 8 + b"\x20" * 8)
_IS_LETTER = bytes.maketrans(b"0123456789abcdef", b"\0" * 10 + b"\x20" * 6)


@lru_cache(maxsize=1 << 18)
def checksum(address: str) -> str:
    """EIP-55 checksum of a 0x-address given in any case (stored addresses are valid lowercase
    hex, so no input checks). A letter is upper case where the keccak of the lowercase hex has a
    nibble >= 8: done on the 40 bytes as one integer (flip bit 0x20 of those letters) rather than
    character by character, which is what makes long pages of addresses cheap."""
    body = address[2:].lower().encode()
    digest = keccak256(body).hex()[:40].encode()
    flip = int.from_bytes(digest.translate(_NIBBLE_HIGH), "big") & int.from_bytes(body.translate(_IS_LETTER), "big")
    return "0x" + (int.from_bytes(body, "big") ^ flip).to_bytes(40, "big").decode()


_HOURS = [f"{h:02d}:" for h in range(24)]
_MINUTES_SECONDS = [f"{m:02d}:{s:02d}Z" for m in range(60) for s in range(60)]


@lru_cache(maxsize=1 << 12)
def _day(day: int) -> str:
    year, month, mday = gmtime(day * 86_400)[:3]
    return f"{year:04d}-{month:02d}-{mday:02d}T"


def iso(timestamp: int | None) -> str | None:
    """A unix time as ISO 8601 UTC, e.g. 2024-05-01T12:00:00Z. Assembled from cached pieces
    (the date, the hour, minutes and seconds): a page of entries has as many block times as
    entries, and formatting each from scratch was a tenth of the page's cost."""
    if timestamp is None:
        return None
    day, second = divmod(timestamp, 86_400)
    hour, second = divmod(second, 3600)
    return _day(day) + _HOURS[hour] + _MINUTES_SECONDS[second]


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


KIND_JSON = [f'"{KIND_NAMES.get(k, "unknown")}"' for k in range(8)]
_ENTRY = (
    '{"seq":%d,"kind":%d,"kind_name":%s,"campaign_id":%d,"account":"%s","amount":"%s","detail":"%s","fee":%s,'
    '"fee_token":%s,"head":"%s","block_number":%d,"block_hash":"%s","block_time":%s,"tx_hash":"%s","log_index":%d,'
    '"final":%s%s}'
)


def entry_json(row: Any, previous_head: str | None = None) -> str:
    """An entry row of LedgerReader (ENTRY_COLUMNS) as the JSON text of EntryPublic, or of
    EntryDetailPublic when `previous_head` is given. Formatted straight to text: on a page of 50
    entries this is the main cost, and it is half that of building dicts for orjson."""
    kind, detail, timestamp = row[1], row[5], row[9]
    return _ENTRY % (
        row[0], kind, KIND_JSON[kind] if 0 < kind < 8 else '"unknown"', row[2], checksum(row[3]), u256(row[4]), detail,
        f'"{int(detail, 16)}"' if kind == Kind.CLAIMED else "null",
        f'"{checksum("0x" + detail[-40:])}"' if kind == Kind.FEES_WITHDRAWN else "null",
        row[6], row[7], row[8], "null" if timestamp is None else f'"{iso(timestamp)}"', row[10], row[11],
        "true" if row[12] else "false",
        "" if previous_head is None else f',"previous_head":"{previous_head}"',
    )


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
