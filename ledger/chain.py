"""Verify a stream of ledger entries against the hash chain: seq must run on without a gap and
each entry's head must be the previous head chained with the entry (docs/ledger-format.md)."""

from __future__ import annotations

from collections.abc import Iterable

from ledger import native
from ledger.errors import LedgerIntegrityError
from ledger.hashing import genesis_head, keccak256
from ledger.records import LedgerEntry

_ZERO12 = bytes(12)


def describe(entry: LedgerEntry) -> str:
    return f"entry seq {entry.seq} (kind {entry.kind}, campaign {entry.campaign_id}, tx {entry.tx_hash})"


class HashChain:
    """The running head of a ledger. `append` raises LedgerIntegrityError on the first entry
    that does not chain, leaving the chain at the last good entry."""

    __slots__ = ("_head", "length")

    def __init__(self, head: str, length: int = 0) -> None:
        self._head = bytes.fromhex(head[2:])  # kept as bytes: it is hashed once per entry
        self.length = length

    @classmethod
    def genesis(cls, chain_id: int, escrow: str) -> HashChain:
        return cls("0x" + genesis_head(chain_id, escrow).hex())

    @property
    def head(self) -> str:
        return "0x" + self._head.hex()

    @property
    def head_bytes(self) -> bytes:
        return self._head

    def reset(self, head: str, length: int) -> None:
        """Continue from `head` after entry `length` (a replay resynchronising after a fault)."""
        self._head = bytes.fromhex(head[2:])
        self.length = length

    def digest_after(self, entry: LedgerEntry) -> bytes:
        """The head `entry` must carry to follow the current head, as bytes: abi.encode of the
        seven words, built inline because this runs once per entry."""
        return keccak256(b"".join((
            self._head,
            entry.seq.to_bytes(32, "big"),
            entry.kind.to_bytes(32, "big"),
            entry.campaign_id.to_bytes(32, "big"),
            _ZERO12,
            bytes.fromhex(entry.account[2:]),
            entry.amount.to_bytes(32, "big"),
            bytes.fromhex(entry.detail[2:]),
        )))

    def expected_head(self, entry: LedgerEntry) -> str:
        return "0x" + self.digest_after(entry).hex()

    def advance(self, digest: bytes, seq: int) -> None:
        """Move to the head `digest` of entry `seq`, already checked by the caller."""
        self._head = digest
        self.length = seq

    def append(self, entry: LedgerEntry) -> None:
        if entry.seq != self.length + 1:
            kind = "gap" if entry.seq > self.length + 1 else "repeat or reorder"
            raise LedgerIntegrityError(
                f"seq {kind}: expected seq {self.length + 1} after {self.length}, got {describe(entry)}"
            )
        digest = self.digest_after(entry)
        if digest.hex() != entry.head[2:]:
            raise LedgerIntegrityError(
                f"head mismatch at {describe(entry)}: the event says {entry.head}, "
                f"the chain gives 0x{digest.hex()}"
            )
        self.advance(digest, entry.seq)

    def append_many(self, entries: Iterable[LedgerEntry]) -> None:
        """`append` each entry in turn, with the same outcome (the first entry that does not
        follow on or chain raises the same LedgerIntegrityError, the chain left at the entry
        before it) but verified in C when ledger.native is available."""
        if not native.available:
            for entry in entries:
                self.append(entry)
            return
        if not isinstance(entries, (list, tuple)):
            entries = list(entries)
        i, n = 0, len(entries)
        while i < n:
            count, head = native.verify_chain(self._head, self.length, entries, i, LedgerEntry)
            if count:
                i += count
                self.advance(head, entries[i - 1].seq)
            if i < n:  # one entry C did not verify: a fault (append raises), or a field it leaves to Python
                self.append(entries[i])
                i += 1
