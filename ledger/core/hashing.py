"""The ledger's hash chain, exactly as the contract computes it (docs/ledger-format.md).

    head_0 = keccak256(abi.encode(chainid, escrow))
    head_n = keccak256(abi.encode(head_{n-1}, uint64 seq, uint8 kind, uint256 campaignId,
                                  address account, uint256 amount, bytes32 detail))

Every field is one 32-byte big-endian word, so the encoding is plain concatenation; this module
builds it with bytes operations instead of a general ABI encoder, which keeps replay fast.
"""

from __future__ import annotations

from collections.abc import Iterable

from sha3 import keccak_256 as _keccak_256

from ledger.core.records import CampaignTerms, EntryTerms, LedgerEntry, MilestonePlanTerms
from ledger.errors import LedgerIntegrityError


def keccak256(data: bytes) -> bytes:
    """Keccak-256 (Ethereum's, not NIST SHA3-256) of `data`, by safe-pysha3."""
    digest: bytes = _keccak_256(data).digest()
    return digest


_ZERO12 = bytes(12)
_WORD = 32


def _word(value: int) -> bytes:
    return value.to_bytes(_WORD, "big")


def address_bytes(address: str | bytes) -> bytes:
    """The 20 bytes of an address given as 0x-hex or bytes."""
    if isinstance(address, bytes):
        if len(address) != 20:
            raise ValueError(f"an address has 20 bytes, got {len(address)}")
        return address
    raw = bytes.fromhex(address[2:] if address.startswith(("0x", "0X")) else address)
    if len(raw) != 20:
        raise ValueError(f"an address has 20 bytes, got {len(raw)}: {address!r}")
    return raw


def genesis_head(chain_id: int, escrow: str | bytes) -> bytes:
    """The head of an empty ledger for the escrow at `escrow` on chain `chain_id`."""
    return keccak256(_word(chain_id) + _ZERO12 + address_bytes(escrow))


def entry_preimage(
    previous: bytes, seq: int, kind: int, campaign_id: int, account: bytes, amount: int, detail: bytes
) -> bytes:
    """The 224 bytes hashed into the head after `previous`; `account` is 20 raw bytes."""
    return b"".join(
        (
            previous,
            seq.to_bytes(32, "big"),
            kind.to_bytes(32, "big"),
            campaign_id.to_bytes(32, "big"),
            _ZERO12,
            account,
            amount.to_bytes(32, "big"),
            detail,
        )
    )


def next_head(
    previous: bytes,
    seq: int,
    kind: int,
    campaign_id: int,
    account: str | bytes,
    amount: int,
    detail: bytes,
) -> bytes:
    """The head after appending one entry to a ledger whose head is `previous`."""
    if not 0 <= seq < 2**64:
        raise ValueError(f"seq out of range for uint64: {seq}")
    if not 0 <= kind < 2**8:
        raise ValueError(f"kind out of range for uint8: {kind}")
    if len(previous) != _WORD or len(detail) != _WORD:
        raise ValueError("previous head and detail are 32 bytes each")
    return keccak256(entry_preimage(previous, seq, kind, campaign_id, address_bytes(account), amount, detail))


def campaign_terms_detail(
    token: str | bytes,
    deadline: int,
    max_per_backer: int,
    keep_it_all: bool,
    fee_bps: int,
    metadata_hash: bytes,
) -> bytes:
    """The detail of a kind-1 entry: keccak256(abi.encode(token, deadline, maxPerBacker,
    keepItAll, feeBps, metadataHash))."""
    return keccak256(
        b"".join(
            (
                _ZERO12,
                address_bytes(token),
                _word(deadline),
                _word(max_per_backer),
                _word(int(keep_it_all)),
                _word(fee_bps),
                metadata_hash,
            )
        )
    )


def uint_detail(value: int) -> bytes:
    """bytes32(value): the detail of a Claimed entry (the fee)."""
    return _word(value)


def token_detail(token: str | bytes) -> bytes:
    """bytes32(uint256(uint160(token))): the detail of a FeesWithdrawn entry."""
    return _ZERO12 + address_bytes(token)


ZERO_DETAIL = bytes(32)


def milestone_plan_detail(tranche_bps: tuple[int, ...] | list[int], voting_period: int) -> bytes:
    """The detail of a kind-8 entry: keccak256(abi.encode(uint16[] trancheBps, uint64
    votingPeriod)): the array's offset (0x40), the period, the length, then one word per tranche."""
    return keccak256(
        b"".join(
            (_word(0x40), _word(voting_period), _word(len(tranche_bps)), *(_word(b) for b in tranche_bps))
        )
    )


def tranche_detail(tranche: int, fee: int) -> bytes:
    """The detail of a kind-11 entry: keccak256(abi.encode(uint256 tranche, uint256 fee))."""
    return keccak256(_word(tranche) + _word(fee))


def entry_terms_detail(terms: EntryTerms) -> bytes:
    """The detail that an entry's terms (kind 1, 8 or 11) hash to."""
    if isinstance(terms, CampaignTerms):
        return campaign_terms_detail(
            terms.token,
            terms.deadline,
            terms.max_per_backer,
            terms.keep_it_all,
            terms.fee_bps,
            bytes.fromhex(terms.metadata_hash[2:]),
        )
    if isinstance(terms, MilestonePlanTerms):
        return milestone_plan_detail(terms.tranche_bps, terms.voting_period)
    return tranche_detail(terms.tranche, terms.fee)


# ----------------------------------------------------------------------------- verifying a stream


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
        """The head `entry` must carry to follow the current head, as bytes."""
        return keccak256(
            entry_preimage(
                self._head,
                entry.seq,
                entry.kind,
                entry.campaign_id,
                bytes.fromhex(entry.account[2:]),
                entry.amount,
                bytes.fromhex(entry.detail[2:]),
            )
        )

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
        """`append` each entry in turn: the first that does not follow on or chain raises, the
        chain left at the entry before it."""
        for entry in entries:
            self.append(entry)
