"""What the chain and the public add beside the ledger: an asset's metadata (read from its token
once) and the documents the ledger commits to by hash. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.core.records import ETH


@dataclass(frozen=True, slots=True)
class Token:
    """An asset's metadata as read from the chain once (symbol(), name(), decimals() at
    `read_block`). `assumed`: the token did not answer symbol() or decimals() usably, so the symbol
    is its short address and the decimals 18. Symbols and names are untrusted text, stored
    cleaned (ledger.chain.tokens)."""

    address: str
    symbol: str
    name: str
    decimals: int
    assumed: bool
    read_block: int


ETHER = Token(ETH, "ETH", "Ether", 18, False, 0)


@dataclass(frozen=True, slots=True)
class Document:
    """A document stored by its Keccak-256 hash (the ledger commits to the hash; anyone may upload
    the bytes). `stored_at` is when the server stored it, unix seconds of its own clock."""

    hash: str
    body: bytes
    media_type: str
    size: int
    stored_at: int
