"""The node's answers as the ledger reads them, checked before anything of them is used.

msgspec decodes an answer's bytes straight into typed structs, checking types, presence and
lengths on the way (in C); `check_hex` and `quantity` check the digits (bytes.fromhex and int, also
C: a regex per field cost more than the whole decode). A log is 0x-hex hashes and topics of 64
digits, an address of 40, quantities of at most 64 bits within range, data of whole bytes, and
never `removed`; a block header is its number, hash and time. A node that answers anything else is
refused with one NodeError naming the field and the block, and nothing of the answer is used.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, NamedTuple

import msgspec
import orjson

from ledger.core.hexdata import first_not_hex
from ledger.errors import NodeError

INT64_MAX = 2**63 - 1
# The latest block time a ledger entry may carry: the last second of year 9999 (what an ISO 8601
# date can spell); a node that says later is wrong.
MAX_TIMESTAMP = 253_402_300_799

# ----------------------------------------------------------------------------- logs

Hash = Annotated[str, msgspec.Meta(min_length=66, max_length=66)]
AddressText = Annotated[str, msgspec.Meta(min_length=42, max_length=42)]
Quantity = Annotated[str, msgspec.Meta(min_length=3, max_length=18)]
Data = Annotated[str, msgspec.Meta(min_length=2, max_length=2 + 64 * 80)]


class RawLog(msgspec.Struct, rename="camel", frozen=True):
    """One log as a JSON-RPC node returns it, its fields' types and lengths checked (their hex
    digits by `check_hex`). Fields the ledger does not use (transactionIndex, ...) are ignored."""

    address: AddressText
    topics: Annotated[list[Hash], msgspec.Meta(min_length=1, max_length=4)]
    data: Data
    block_number: Quantity
    block_hash: Hash
    transaction_hash: Hash
    log_index: Quantity
    # a log a reorg took away: eth_getLogs never returns one, and one is refused (False or absent)
    removed: Literal[False] = False
    block_timestamp: Quantity | None = None


class _LogsAnswer(msgspec.Struct):
    """An eth_getLogs answer: its result decoded into RawLog structs (format-checked), or an error."""

    result: list[RawLog] | None = None
    error: Any = None


_LOGS_ANSWER = msgspec.json.Decoder(_LogsAnswer)


def _where(body: bytes, path: str) -> str:
    """' (log i, block n)' for a validation error at `path` ($.result[i]...) of an eth_getLogs
    answer, read from the body again without checks; '' when it cannot say."""
    found = re.match(r"\$\.result\[(\d+)\]", path)
    if not found:
        return ""
    try:
        log = orjson.loads(body)["result"][int(found.group(1))]
        return f" (log {found.group(1)}, block {log.get('blockNumber')!r:.40})"
    except Exception:  # noqa: BLE001 - only a hint for the message
        return f" (log {found.group(1)})"


def decode_logs_answer(body: bytes) -> dict[str, Any] | None:
    """An eth_getLogs answer's body as {"result": [RawLog, ...]} or {"error": ...}; None if it is not
    JSON at all (the client then says so). A log that is not of the expected format raises NodeError
    naming the field, the log and its block: nothing of such an answer is used."""
    try:
        answer = _LOGS_ANSWER.decode(body)
    except msgspec.ValidationError as exc:
        message = str(exc)
        path = message.rsplit(" - at `", 1)[-1].rstrip("`") if " - at `" in message else ""
        reason = message.split(" - at `", 1)[0]
        raise NodeError(
            f"eth_getLogs answered a malformed log: {path or 'the answer'} {reason}{_where(body, path)}"
        ) from None
    except msgspec.DecodeError:
        return None
    if answer.error is not None:
        return {"error": answer.error}
    if answer.result is None:
        return {}
    return {"result": answer.result}


def raw_log(value: Any) -> RawLog:
    """A RawLog from JSON already decoded (a receipt's log); raises msgspec.ValidationError."""
    return msgspec.convert(value, RawLog)


def _bad_quantity(raw: RawLog, name: str, text: str) -> NodeError:
    return NodeError(
        f"the node's log {raw.transaction_hash!r:.70} has {name} {text!r:.40}, not a 0x-hex quantity"
    )


def quantity(raw: RawLog, name: str, text: str) -> int:
    """A 0x-hex quantity of the node's; NodeError naming the field unless it is one (int() alone
    would also take '_', spaces and other scripts' digits)."""
    if text[:2] == "0x" and text.isascii() and text[2:].isalnum():
        try:
            return int(text, 16)
        except ValueError:
            pass
    raise _bad_quantity(raw, name, text)


_HEX_FIELDS = ("blockHash", "transactionHash", "address", "data", "topics", "topics", "topics", "topics")


def check_hex(raw: RawLog) -> None:
    """The hex digits of a log's hashes, topics and data (msgspec checked their lengths, at most
    four topics): NodeError naming the field and the block unless each is 0x and whole bytes of hex."""
    bad = first_not_hex(
        _HEX_FIELDS, (raw.block_hash, raw.transaction_hash, raw.address, raw.data, *raw.topics)
    )
    if bad is not None:
        name, text = bad
        raise NodeError(
            f"the node's log in block {raw.block_number!r:.20} has {name} {text!r:.80}, not 0x and hex digits"
        )


def place(raw: RawLog) -> tuple[int, str, str, int, int | None]:
    """(block number, block hash, tx hash, log index, block time) of a log; a number out of range
    is the node's error (NodeError), not the event's."""
    block = quantity(raw, "blockNumber", raw.block_number)
    log_index = quantity(raw, "logIndex", raw.log_index)
    if block > INT64_MAX:
        raise NodeError(
            f"the node says log {log_index} of tx {raw.transaction_hash} is in block {block}, beyond int64"
        )
    timestamp = None if raw.block_timestamp is None else quantity(raw, "blockTimestamp", raw.block_timestamp)
    if timestamp is not None and timestamp > MAX_TIMESTAMP:
        raise NodeError(f"the node says block {block} has the time {timestamp}, beyond the year 9999")
    return block, raw.block_hash.lower(), raw.transaction_hash.lower(), log_index, timestamp


# ----------------------------------------------------------------------------- block headers


class BlockHeader(NamedTuple):
    """What the ledger reads of a block: its number, hash and time."""

    number: int
    hash: str
    timestamp: int


class _Header(msgspec.Struct):
    number: Quantity
    hash: Hash
    timestamp: Quantity


class _HeaderItem(msgspec.Struct):
    id: Any = None
    result: _Header | None = None
    error: Any = None


_HEADER_BATCH = msgspec.json.Decoder(list[_HeaderItem])


def decode_header_batch(body: bytes) -> list[dict[str, Any]] | None:
    """A batch answer of eth_getBlockByNumber calls as [{"id", "result"|"error"}], each result
    read as a header only: the transaction hashes a header lists (thousands in a dense block) are
    skipped unread. None when the body is not such a list (the client reads it as plain JSON)."""
    try:
        items = _HEADER_BATCH.decode(body)
    except msgspec.ValidationError as exc:
        if " - at `$[" in str(exc):
            raise NodeError(f"the node answered a malformed block header: {exc}") from None
        return None  # not a list: an error for the whole batch, read as plain JSON
    except msgspec.DecodeError:
        return None
    return [
        {"id": i.id, "error": i.error} if i.error is not None else {"id": i.id, "result": i.result}
        for i in items
    ]


def header_of(value: Any) -> BlockHeader | None:
    """The header in an eth_getBlockBy* result (None stays None: the node has no such block);
    NodeError naming the field unless it is a well-formed header."""
    if value is None:
        return None
    try:
        raw = value if isinstance(value, _Header) else msgspec.convert(value, _Header)
    except msgspec.ValidationError as exc:
        raise NodeError(f"the node answered a malformed block header: {exc}") from None
    number = _header_quantity("number", raw.number)
    timestamp = _header_quantity("timestamp", raw.timestamp)
    if number > INT64_MAX or timestamp > MAX_TIMESTAMP:
        raise NodeError(f"the node's block header says block {number} at time {timestamp}: out of range")
    try:
        if raw.hash[:2] != "0x" or len(bytes.fromhex(raw.hash[2:])) != 32:
            raise ValueError
    except ValueError:
        raise NodeError(
            f"the node's header of block {number} has hash {raw.hash!r:.80}, not 0x and hex digits"
        ) from None
    return BlockHeader(number, raw.hash.lower(), timestamp)


def _header_quantity(name: str, text: str) -> int:
    if text[:2] == "0x" and text.isascii() and text[2:].isalnum():
        try:
            return int(text, 16)
        except ValueError:
            pass
    raise NodeError(f"the node's block header has {name} {text!r:.40}, not a 0x-hex quantity")
