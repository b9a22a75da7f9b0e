"""Verify a stream of ledger entries against the hash chain: seq must run on without a gap and
each entry's head must be the previous head chained with the entry (docs/ledger-format.md)."""

from __future__ import annotations

from ledger.errors import LedgerIntegrityError
from ledger.hashing import genesis_head, keccak256
from ledger.records import LedgerEntry

_ZERO12 = bytes(12)


def describe(entry: LedgerEntry) -> str:
    return f"entry seq {entry.seq} (kind {entry.kind}, campaign {entry.campaign_id}, tx {entry.tx_hash})"


class HashChain:
    """The running head of a ledger. `append` raises LedgerIntegrityError on the first entry
    that does not chain, leaving the chain at the last good entry."""

    __slots__ = ("head", "length")

    def __init__(self, head: str, length: int = 0) -> None:
        self.head = head
        self.length = length

    @classmethod
    def genesis(cls, chain_id: int, escrow: str) -> HashChain:
        return cls("0x" + genesis_head(chain_id, escrow).hex())

    def expected_head(self, entry: LedgerEntry) -> str:
        """The head `entry` must carry to follow the current head (abi.encode of 7 words,
        built inline: this runs once per entry)."""
        preimage = b"".join((
            bytes.fromhex(self.head[2:]),
            entry.seq.to_bytes(32, "big"),
            entry.kind.to_bytes(32, "big"),
            entry.campaign_id.to_bytes(32, "big"),
            _ZERO12,
            bytes.fromhex(entry.account[2:]),
            entry.amount.to_bytes(32, "big"),
            bytes.fromhex(entry.detail[2:]),
        ))
        return "0x" + keccak256(preimage).hex()

    def append(self, entry: LedgerEntry) -> None:
        if entry.seq != self.length + 1:
            kind = "gap" if entry.seq > self.length + 1 else "repeat or reorder"
            raise LedgerIntegrityError(
                f"seq {kind}: expected seq {self.length + 1} after {self.length}, got {describe(entry)}"
            )
        expected = self.expected_head(entry)
        if entry.head != expected:
            raise LedgerIntegrityError(
                f"head mismatch at {describe(entry)}: the event says {entry.head}, "
                f"the chain gives {expected}"
            )
        self.head = expected
        self.length = entry.seq
