"""Decode the escrow's raw logs (JSON-RPC dicts) into LedgerEntry records.

Decoding is done by slicing the ABI words directly: every ledger event but MilestonePlan has
static fields only, so each field sits at a fixed offset. This is the indexer's hot path.
MilestonePlan (kind 8) carries a uint16[]: its offset, length and elements are checked word by
word, and anything but the canonical encoding the contract emits is refused.
"""

from __future__ import annotations

from typing import Any

import orjson

from ledger import native
from ledger.errors import LedgerIntegrityError
from ledger.core.hashing import campaign_terms_detail, keccak256, milestone_plan_detail, tranche_detail
from ledger.core.records import CampaignTerms, Kind, LedgerEntry, MilestonePlanTerms, TrancheTerms

SIGNATURES: dict[Kind, str] = {
    Kind.CAMPAIGN_CREATED: (
        "CampaignCreated(uint256,address,address,uint256,uint64,uint256,bool,uint16,bytes32,uint64,bytes32)"
    ),
    Kind.PLEDGED: "Pledged(uint256,address,uint256,uint64,bytes32)",
    Kind.UNPLEDGED: "Unpledged(uint256,address,uint256,uint64,bytes32)",
    Kind.CANCELLED: "Cancelled(uint256,address,uint64,bytes32)",
    Kind.CLAIMED: "Claimed(uint256,address,uint256,uint256,uint64,bytes32)",
    Kind.REFUNDED: "Refunded(uint256,address,uint256,uint64,bytes32)",
    Kind.FEES_WITHDRAWN: "FeesWithdrawn(address,address,uint256,uint64,bytes32)",
    Kind.MILESTONE_PLAN: "MilestonePlan(uint256,address,uint16[],uint64,uint64,bytes32)",
    Kind.RELEASE_REQUESTED: "ReleaseRequested(uint256,address,uint256,bytes32,uint64,bytes32)",
    Kind.VOTED: "Voted(uint256,address,uint256,bool,uint64,bytes32)",
    Kind.TRANCHE_RELEASED: "TrancheReleased(uint256,address,uint256,uint256,uint256,uint64,bytes32)",
    Kind.ABORTED: "Aborted(uint256,address,uint256,uint64,bytes32)",
    Kind.DISCLOSED: "Disclosed(uint256,address,bytes32,uint64,bytes32)",
}
TOPICS: dict[str, Kind] = {"0x" + keccak256(sig.encode()).hex(): kind for kind, sig in SIGNATURES.items()}
TOPIC_OF: dict[Kind, str] = {kind: topic for topic, kind in TOPICS.items()}
# eth_getLogs filter selecting exactly the ledger events (an OR over topic0).
LEDGER_TOPICS_FILTER: list[list[str]] = [list(TOPICS)]

# (topics including topic0, 32-byte data words) per event
_SHAPE = {
    Kind.CAMPAIGN_CREATED: (4, 8),
    Kind.PLEDGED: (3, 3),
    Kind.UNPLEDGED: (3, 3),
    Kind.CANCELLED: (3, 2),
    Kind.CLAIMED: (3, 4),
    Kind.REFUNDED: (3, 3),
    Kind.FEES_WITHDRAWN: (3, 3),
    Kind.RELEASE_REQUESTED: (3, 4),
    Kind.VOTED: (3, 4),
    Kind.TRANCHE_RELEASED: (3, 5),
    Kind.ABORTED: (3, 3),
    Kind.DISCLOSED: (3, 3),
}
ZERO_WORD = "0x" + "0" * 64
ONE_WORD = "0x" + "0" * 63 + "1"
# MilestonePlan's data: the uint16[]'s offset, votingPeriod, seq, head, then the array's length and
# elements. The contract's plans have 2 to 10 tranches; a longer array is refused before it is read.
_PLAN_HEAD_WORDS = 4
_PLAN_MAX_TRANCHES = 64
_HIGH_BITS_ZERO = {bits: "0" * (64 - bits // 4) for bits in (16, 64)}


def _malformed(raw: dict[str, Any], why: str) -> LedgerIntegrityError:
    return LedgerIntegrityError(
        f"malformed ledger event in tx {raw.get('transactionHash')} log {raw.get('logIndex')}: {why}"
    )


def _word(data: str, index: int) -> str:
    """Data word `index` of a 0x-hex data string, as 64 hex digits."""
    return data[2 + 64 * index : 66 + 64 * index]


def decode_log(raw: dict[str, Any]) -> LedgerEntry:
    """Decode one ledger event. A log that is not a well-formed ledger event raises
    LedgerIntegrityError: skipping it would leave a hole in the ledger."""
    topics = raw["topics"]
    kind = TOPICS.get(topics[0]) if topics else None
    if kind is None:
        raise _malformed(raw, f"topic0 {topics[0] if topics else None} is not a ledger event")
    data = raw["data"]
    if kind == Kind.MILESTONE_PLAN:
        return _decode_plan(raw, topics, data)
    n_topics, n_words = _SHAPE[kind]
    if len(topics) != n_topics or len(data) != 2 + 64 * n_words:
        raise _malformed(raw, f"{SIGNATURES[kind]} has {n_topics} topics and {n_words} data words")
    timestamp = raw.get("blockTimestamp")
    tail = 2 + 64 * (n_words - 2)  # the last two words: seq and head
    seq = int(data[tail : tail + 64], 16)
    head = "0x" + data[tail + 64 :]
    account = "0x" + topics[2][-40:]
    campaign_id = 0 if kind == Kind.FEES_WITHDRAWN else int(topics[1], 16)
    terms = None
    if kind == Kind.PLEDGED or kind == Kind.UNPLEDGED or kind == Kind.REFUNDED:  # the common case
        amount, detail = int(data[2:66], 16), ZERO_WORD
    elif kind == Kind.CAMPAIGN_CREATED:
        terms = CampaignTerms(
            token="0x" + topics[3][-40:],
            goal=int(_word(data, 0), 16),
            deadline=int(_word(data, 1), 16),
            max_per_backer=int(_word(data, 2), 16),
            keep_it_all=int(_word(data, 3), 16) != 0,
            fee_bps=int(_word(data, 4), 16),
            metadata_hash="0x" + _word(data, 5),
        )
        amount = terms.goal
        detail = "0x" + terms_detail(terms).hex()
    elif kind == Kind.CANCELLED:
        amount, detail = 0, ZERO_WORD
    elif kind == Kind.CLAIMED:
        amount, detail = int(_word(data, 0), 16), "0x" + _word(data, 1)
    elif kind == Kind.FEES_WITHDRAWN:
        amount, detail = int(_word(data, 0), 16), topics[1]
    elif kind == Kind.RELEASE_REQUESTED:  # amount: the tranche; detail: the report hash
        amount, detail = int(_word(data, 0), 16), "0x" + _word(data, 1)
    elif kind == Kind.VOTED:  # amount: the weight; detail: bytes32(approve ? 1 : 0)
        approve = "0x" + _word(data, 1)
        if approve != ZERO_WORD and approve != ONE_WORD:
            raise _malformed(raw, f"Voted's approve word {approve} is not a bool")
        amount, detail = int(_word(data, 0), 16), approve
    elif kind == Kind.TRANCHE_RELEASED:  # amount: paid; detail: keccak256(abi.encode(tranche, fee))
        terms = TrancheTerms(tranche=int(_word(data, 0), 16), fee=int(_word(data, 2), 16))
        amount = int(_word(data, 1), 16)
        detail = "0x" + tranche_detail(terms.tranche, terms.fee).hex()
    elif kind == Kind.ABORTED:  # amount: the remaining escrow
        amount, detail = int(_word(data, 0), 16), ZERO_WORD
    else:  # DISCLOSED: detail is the document hash
        amount, detail = 0, "0x" + _word(data, 0)
    return LedgerEntry(
        seq, kind, campaign_id, account, amount, detail, head, int(raw["blockNumber"], 16), raw["blockHash"],
        raw["transactionHash"], int(raw["logIndex"], 16), int(timestamp, 16) if timestamp else None, terms,
    )


def _decode_plan(raw: dict[str, Any], topics: list[str], data: str) -> LedgerEntry:
    """MilestonePlan (kind 8): amount = the number of tranches, detail = the plan's hash."""
    name = SIGNATURES[Kind.MILESTONE_PLAN]
    if len(topics) != 3:
        raise _malformed(raw, f"{name} has 3 topics")
    if len(data) < 2 + 64 * (_PLAN_HEAD_WORDS + 1) or (len(data) - 2) % 64:
        raise _malformed(raw, f"{name}'s data is {len(data) - 2} hex digits, not whole words holding its fields")
    if int(_word(data, 0), 16) != 32 * _PLAN_HEAD_WORDS:
        raise _malformed(raw, f"{name}'s trancheBps offset is 0x{_word(data, 0).lstrip('0') or '0'}, not 0x80")
    count = int(_word(data, _PLAN_HEAD_WORDS), 16)
    if not 0 < count <= _PLAN_MAX_TRANCHES or len(data) != 2 + 64 * (_PLAN_HEAD_WORDS + 1 + count):
        raise _malformed(raw, f"{name}'s trancheBps length {count} does not match its {(len(data) - 2) // 64} data words")
    words = [_word(data, _PLAN_HEAD_WORDS + 1 + i) for i in range(count)]
    if any(not w.startswith(_HIGH_BITS_ZERO[16]) for w in words):
        raise _malformed(raw, f"{name}'s trancheBps holds a value beyond uint16")
    for index, bits in ((1, 64), (2, 64)):
        if not _word(data, index).startswith(_HIGH_BITS_ZERO[bits]):
            raise _malformed(raw, f"{name}'s data word {index} is beyond uint{bits}")
    terms = MilestonePlanTerms(tuple(int(w, 16) for w in words), int(_word(data, 1), 16))
    timestamp = raw.get("blockTimestamp")
    return LedgerEntry(
        int(_word(data, 2), 16), Kind.MILESTONE_PLAN, int(topics[1], 16), "0x" + topics[2][-40:], count,
        "0x" + plan_detail(terms).hex(), "0x" + _word(data, 3), int(raw["blockNumber"], 16), raw["blockHash"],
        raw["transactionHash"], int(raw["logIndex"], 16), int(timestamp, 16) if timestamp else None, terms,
    )


def plan_detail(terms: MilestonePlanTerms) -> bytes:
    """The kind-8 detail for this plan."""
    return milestone_plan_detail(terms.tranche_bps, terms.voting_period)


def entry_terms_detail(terms: CampaignTerms | MilestonePlanTerms | TrancheTerms) -> bytes:
    """The detail that an entry's terms (kind 1, 8 or 11) hash to."""
    if isinstance(terms, CampaignTerms):
        return terms_detail(terms)
    if isinstance(terms, MilestonePlanTerms):
        return plan_detail(terms)
    return tranche_detail(terms.tranche, terms.fee)


# decode_logs decodes these in C: three topics, three data words (amount, seq, head), detail zero.
_NATIVE_KINDS = (Kind.PLEDGED, Kind.UNPLEDGED, Kind.REFUNDED)
_NATIVE_TOPICS = tuple(TOPIC_OF[kind] for kind in _NATIVE_KINDS)
_NATIVE_OK = all(_SHAPE[kind] == (3, 3) for kind in _NATIVE_KINDS)


def decode_logs(logs: list[dict[str, Any]]) -> list[LedgerEntry]:
    """[decode_log(raw) for raw in logs], with the Pledged, Unpledged and Refunded logs of the
    exact expected shape decoded in C when ledger.native is available: every other log (other
    kinds, anything malformed) still goes through decode_log, so its entry or error is the same."""
    if native.available and _NATIVE_OK:
        return native.decode_logs(logs, _NATIVE_TOPICS, _NATIVE_KINDS, ZERO_WORD, LedgerEntry, decode_log)
    return [decode_log(raw) for raw in logs]


def terms_detail(terms: CampaignTerms) -> bytes:
    """The kind-1 detail for these terms."""
    return campaign_terms_detail(
        terms.token,
        terms.deadline,
        terms.max_per_backer,
        terms.keep_it_all,
        terms.fee_bps,
        bytes.fromhex(terms.metadata_hash[2:]),
    )


def _decode_log_json(raw: bytes) -> LedgerEntry:
    """decode_log of one log object's JSON bytes: decode_logs_answer's fallback."""
    return decode_log(orjson.loads(raw))


def parse_logs_answer(body: bytes) -> dict[str, Any] | None:
    """An eth_getLogs answer's body decoded with its logs already turned into LedgerEntry records
    (for RpcClient.get_logs(parse=...)); the indexer's backfill decodes in the fetching thread this
    way. An error answer comes back as plain JSON for the client to classify; None if not JSON.

    With ledger.native, the logs are decoded in C straight from the body's bytes (orjson.loads of a
    large answer, a dict per log, costs more than decoding them), each log it does not decode
    itself going to decode_log through orjson, and only the envelope around the result array is
    decoded here. The C scanner takes only plain JSON that orjson takes too (None for anything else,
    and then the body is decoded as without it), so the answer and any exception are the same."""
    if native.available and _NATIVE_OK and native.decode_logs_answer is not None and type(body) is bytes:
        try:
            fused = native.decode_logs_answer(
                body, _NATIVE_TOPICS, _NATIVE_KINDS, ZERO_WORD, LedgerEntry, _decode_log_json
            )
            if fused is not None:
                entries, start, end = fused
                decoded = orjson.loads(body[:start] + b"null" + body[end:])
                decoded["result"] = entries
                return decoded
        except orjson.JSONDecodeError:  # cannot happen on the bodies the scanner takes; as before then
            pass
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if isinstance(decoded, dict) and "error" not in decoded and isinstance(decoded.get("result"), list):
        decoded["result"] = decode_logs(decoded["result"])
    return decoded
