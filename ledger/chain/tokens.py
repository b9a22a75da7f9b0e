"""A campaign token's symbol(), name() and decimals(), read from the chain once and cleaned.

    read_tokens(rpc, [(token, block), ...])  -> [Token, ...]   one JSON-RPC batch for all of them

A token is untrusted code: its answers may revert, be empty, be a bytes32 (as MKR's symbol and
name are) instead of a string, or be garbage. Strings are decoded either way, stripped of
control and format characters and capped (a symbol at 16 characters, a name at 64); decimals must
be 0-77. A symbol or decimals that cannot be read that way make the token `assumed`: its symbol is
its short address (0x1234…abcd) and its decimals 18. A name that cannot be read is its symbol.
Only a node that cannot answer at all raises (NodeError): a token's own failures never do.
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.chain.rpc import RpcClient
from ledger.core.amounts import short_address
from ledger.core.documents import clean_text
from ledger.core.hashing import keccak256
from ledger.core.metadata import Token
from ledger.errors import RpcError

MAX_SYMBOL, MAX_NAME = 16, 64
MAX_DECIMALS = 77  # 10**77 < 2**256 <= 10**78: more decimals than that cannot be a uint256 amount's
ASSUMED_DECIMALS = 18
_MAX_TEXT_BYTES = 1024  # a longer string answer is garbage, not a name

_SELECTORS = tuple("0x" + keccak256(sig.encode())[:4].hex() for sig in ("symbol()", "name()", "decimals()"))


def read_tokens(rpc: RpcClient, wanted: Sequence[tuple[str, int]]) -> list[Token]:
    """The metadata of each (token address, block) in `wanted`, read at that block."""
    calls = [
        ("eth_call", [{"to": token, "data": selector}, hex(block)])
        for token, block in wanted
        for selector in _SELECTORS
    ]
    answers = rpc.batch(calls, settle=True) if calls else []
    return [token_of(token, block, *answers[3 * i : 3 * i + 3]) for i, (token, block) in enumerate(wanted)]


def token_of(address: str, block: int, symbol: object, name: object, decimals: object) -> Token:
    """The Token of a token's three answers (each the eth_call's 0x-hex result, or its RpcError)."""
    read_symbol = text_of(_bytes(symbol), MAX_SYMBOL)
    read_decimals = decimals_of(_bytes(decimals))
    read_name = text_of(_bytes(name), MAX_NAME)
    assumed = read_symbol is None or read_decimals is None
    shown = read_symbol if read_symbol is not None else short_address(address)
    return Token(
        address=address,
        symbol=shown,
        name=read_name if read_name is not None else shown,
        decimals=read_decimals if read_decimals is not None else ASSUMED_DECIMALS,
        assumed=assumed,
        read_block=block,
    )


def _bytes(answer: object) -> bytes | None:
    if isinstance(answer, RpcError) or not isinstance(answer, str) or not answer.startswith("0x"):
        return None
    try:
        return bytes.fromhex(answer[2:])
    except ValueError:
        return None


def text_of(data: bytes | None, limit: int) -> str | None:
    """An ABI `string` answer, or a `bytes32` one (NUL-padded), as cleaned text of at most `limit`
    characters; None when it is neither, not UTF-8, or empty once cleaned."""
    if data is None:
        return None
    if len(data) == 32:
        raw = data.rstrip(b"\0")
    elif len(data) >= 64 and len(data) % 32 == 0:
        offset = int.from_bytes(data[:32], "big")
        if offset % 32 or offset + 32 > len(data):
            return None
        length = int.from_bytes(data[offset : offset + 32], "big")
        if length > _MAX_TEXT_BYTES or offset + 32 + length > len(data):
            return None
        raw = data[offset + 32 : offset + 32 + length]
    else:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    cleaned = " ".join(clean_text(text).split())[:limit].strip()
    return cleaned or None


def decimals_of(data: bytes | None) -> int | None:
    """A `decimals()` answer (one word) if it is 0 to MAX_DECIMALS; None otherwise."""
    if data is None or len(data) != 32:
        return None
    value = int.from_bytes(data, "big")
    return value if value <= MAX_DECIMALS else None
