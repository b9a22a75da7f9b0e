"""The escrow's ledger events: their signatures and topics, and the decoding of a node's log
(ledger.chain.answers.RawLog, its format already checked) into a LedgerEntry.

`decode_log(raw)` turns one RawLog into a LedgerEntry by slicing the ABI words: every ledger
   event but MilestonePlan has static fields only, so each field sits at a fixed offset.
   MilestonePlan (kind 8) carries a uint16[]: its offset, length and elements are checked word by
   word, and anything but the canonical encoding the contract emits is refused. A log that is not a
   well-formed ledger event raises LedgerIntegrityError: skipping it would leave a hole in the ledger.
"""

from __future__ import annotations

from ledger.chain.answers import RawLog, check_hex, place
from ledger.core.hashing import entry_terms_detail, keccak256, milestone_plan_detail, tranche_detail
from ledger.core.records import CampaignTerms, Kind, LedgerEntry, MilestonePlanTerms, TrancheTerms
from ledger.errors import LedgerIntegrityError

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
    Kind.PAYOUT_DEFERRED: "PayoutDeferred(uint256,address,address,uint256,uint64,bytes32)",
    Kind.OWED_WITHDRAWN: "OwedWithdrawn(address,address,uint256,uint64,bytes32)",
    Kind.STALE_ABORTED: "StaleAborted(uint256,address,uint256,uint64,bytes32)",
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
    Kind.PAYOUT_DEFERRED: (4, 3),
    Kind.OWED_WITHDRAWN: (3, 3),
    Kind.STALE_ABORTED: (3, 3),
}
ZERO_WORD = "0x" + "0" * 64
ONE_WORD = "0x" + "0" * 63 + "1"
# MilestonePlan's data: the uint16[]'s offset, votingPeriod, seq, head, then the array's length and
# elements. The contract's plans have 2 to 10 tranches; a longer array is refused before it is read.
_PLAN_HEAD_WORDS = 4
_PLAN_MAX_TRANCHES = 64
_HIGH_BITS_ZERO = {bits: "0" * (64 - bits // 4) for bits in (16, 64)}


def _malformed(raw: RawLog, why: str) -> LedgerIntegrityError:
    return LedgerIntegrityError(
        f"malformed ledger event in tx {raw.transaction_hash} log {raw.log_index} (block {raw.block_number}): {why}"
    )


def _word(data: str, index: int) -> str:
    """Data word `index` of a 0x-hex data string, as 64 hex digits."""
    return data[2 + 64 * index : 66 + 64 * index]


def decode_log(raw: RawLog) -> LedgerEntry:
    """Decode one ledger event; a log that is not a well-formed ledger event raises
    LedgerIntegrityError, a log that is not well-formed JSON-RPC NodeError."""
    check_hex(raw)
    topics = raw.topics
    kind = TOPICS.get(topics[0].lower())
    if kind is None:
        raise _malformed(raw, f"topic0 {topics[0]} is not a ledger event")
    data = raw.data.lower()
    if kind == Kind.MILESTONE_PLAN:
        return _decode_plan(raw, data)
    n_topics, n_words = _SHAPE[kind]
    if len(topics) != n_topics or len(data) != 2 + 64 * n_words:
        raise _malformed(raw, f"{SIGNATURES[kind]} has {n_topics} topics and {n_words} data words")
    tail = 2 + 64 * (n_words - 2)  # the last two words: seq and head
    seq = int(data[tail : tail + 64], 16)
    head = "0x" + data[tail + 64 :]
    account = "0x" + topics[2][-40:].lower()
    campaign_id = int(topics[1], 16)
    terms: CampaignTerms | TrancheTerms | None = None
    if kind == Kind.PLEDGED or kind == Kind.UNPLEDGED or kind == Kind.REFUNDED:  # the common case
        amount, detail = int(data[2:66], 16), ZERO_WORD
    elif kind == Kind.CAMPAIGN_CREATED:
        terms = CampaignTerms(
            token="0x" + topics[3][-40:].lower(),
            goal=int(_word(data, 0), 16),
            deadline=int(_word(data, 1), 16),
            max_per_backer=int(_word(data, 2), 16),
            keep_it_all=int(_word(data, 3), 16) != 0,
            fee_bps=int(_word(data, 4), 16),
            metadata_hash="0x" + _word(data, 5),
        )
        amount = terms.goal
        detail = "0x" + entry_terms_detail(terms).hex()
    elif kind == Kind.CANCELLED:
        amount, detail = 0, ZERO_WORD
    elif kind == Kind.CLAIMED:
        amount, detail = int(_word(data, 0), 16), "0x" + _word(data, 1)
    elif kind == Kind.FEES_WITHDRAWN or kind == Kind.OWED_WITHDRAWN:  # campaign 0; detail: the token
        amount, detail, campaign_id = int(_word(data, 0), 16), topics[1].lower(), 0
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
    elif kind == Kind.ABORTED or kind == Kind.STALE_ABORTED:  # amount: the remaining escrow
        amount, detail = int(_word(data, 0), 16), ZERO_WORD
    elif kind == Kind.PAYOUT_DEFERRED:  # account: `to`; detail: the token (topic 3)
        amount, detail = int(_word(data, 0), 16), topics[3].lower()
    else:  # DISCLOSED: detail is the document hash
        amount, detail = 0, "0x" + _word(data, 0)
    block, block_hash, tx_hash, log_index, timestamp = place(raw)
    return LedgerEntry(
        seq,
        kind,
        campaign_id,
        account,
        amount,
        detail,
        head,
        block,
        block_hash,
        tx_hash,
        log_index,
        timestamp,
        terms,
    )


def _decode_plan(raw: RawLog, data: str) -> LedgerEntry:
    """MilestonePlan (kind 8): amount = the number of tranches, detail = the plan's hash."""
    name = SIGNATURES[Kind.MILESTONE_PLAN]
    topics = raw.topics
    if len(topics) != 3:
        raise _malformed(raw, f"{name} has 3 topics")
    if len(data) < 2 + 64 * (_PLAN_HEAD_WORDS + 1) or (len(data) - 2) % 64:
        raise _malformed(
            raw, f"{name}'s data is {len(data) - 2} hex digits, not whole words holding its fields"
        )
    if int(_word(data, 0), 16) != 32 * _PLAN_HEAD_WORDS:
        raise _malformed(
            raw, f"{name}'s trancheBps offset is 0x{_word(data, 0).lstrip('0') or '0'}, not 0x80"
        )
    count = int(_word(data, _PLAN_HEAD_WORDS), 16)
    if not 0 < count <= _PLAN_MAX_TRANCHES or len(data) != 2 + 64 * (_PLAN_HEAD_WORDS + 1 + count):
        raise _malformed(
            raw, f"{name}'s trancheBps length {count} does not match its {(len(data) - 2) // 64} data words"
        )
    words = [_word(data, _PLAN_HEAD_WORDS + 1 + i) for i in range(count)]
    if any(not w.startswith(_HIGH_BITS_ZERO[16]) for w in words):
        raise _malformed(raw, f"{name}'s trancheBps holds a value beyond uint16")
    for index, bits in ((1, 64), (2, 64)):
        if not _word(data, index).startswith(_HIGH_BITS_ZERO[bits]):
            raise _malformed(raw, f"{name}'s data word {index} is beyond uint{bits}")
    terms = MilestonePlanTerms(tuple(int(w, 16) for w in words), int(_word(data, 1), 16))
    block, block_hash, tx_hash, log_index, timestamp = place(raw)
    return LedgerEntry(
        int(_word(data, 2), 16),
        Kind.MILESTONE_PLAN,
        int(topics[1], 16),
        "0x" + topics[2][-40:].lower(),
        count,
        "0x" + milestone_plan_detail(terms.tranche_bps, terms.voting_period).hex(),
        "0x" + _word(data, 3),
        block,
        block_hash,
        tx_hash,
        log_index,
        timestamp,
        terms,
    )


def decode_logs(logs: list[RawLog]) -> list[LedgerEntry]:
    """decode_log of each log, in order."""
    return [decode_log(raw) for raw in logs]
