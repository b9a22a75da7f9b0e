"""Decode the escrow's raw logs (JSON-RPC dicts) into LedgerEntry records.

Decoding is done by slicing the ABI words directly: every ledger event has static fields only,
so each field sits at a fixed offset. This is the indexer's hot path.
"""

from __future__ import annotations

from typing import Any

from ledger.errors import LedgerIntegrityError
from ledger.hashing import campaign_terms_detail, keccak256
from ledger.records import CampaignTerms, Kind, LedgerEntry

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
}
ZERO_WORD = "0x" + "0" * 64


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
    else:  # FEES_WITHDRAWN
        amount, detail = int(_word(data, 0), 16), topics[1]
    return LedgerEntry(
        seq, kind, campaign_id, account, amount, detail, head, int(raw["blockNumber"], 16), raw["blockHash"],
        raw["transactionHash"], int(raw["logIndex"], 16), int(timestamp, 16) if timestamp else None, terms,
    )


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
