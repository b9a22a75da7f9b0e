"""The ledger's hash chain, exactly as the contract computes it (docs/ledger-format.md).

    head_0 = keccak256(abi.encode(chainid, escrow))
    head_n = keccak256(abi.encode(head_{n-1}, uint64 seq, uint8 kind, uint256 campaignId,
                                  address account, uint256 amount, bytes32 detail))

Every field is one 32-byte big-endian word, so the encoding is plain concatenation; this module
builds it with bytes operations instead of a general ABI encoder, which keeps replay fast.
"""

from __future__ import annotations

from collections.abc import Callable

from ledger import native

try:  # safe-pysha3 is the fastest keccak for Python; pycryptodome is the fallback.
    from sha3 import keccak_256 as _keccak_ctor

    def keccak256(data: bytes) -> bytes:
        return _keccak_ctor(data).digest()

except ImportError:  # pragma: no cover - depends on the environment
    from Crypto.Hash import keccak as _keccak_mod

    def keccak256(data: bytes) -> bytes:
        return _keccak_mod.new(digest_bits=256, data=data).digest()


if native.available:  # the C Keccak-256 (ledger/_speedups.c): no hash object per call
    keccak256 = native.keccak256  # noqa: F811


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
        (previous, _word(seq), _word(kind), _word(campaign_id), _ZERO12, account, _word(amount), detail)
    )


def next_head(
    previous: bytes,
    seq: int,
    kind: int,
    campaign_id: int,
    account: str | bytes,
    amount: int,
    detail: bytes,
    *,
    _keccak: Callable[[bytes], bytes] = keccak256,
) -> bytes:
    """The head after appending one entry to a ledger whose head is `previous`."""
    if not 0 <= seq < 2**64:
        raise ValueError(f"seq out of range for uint64: {seq}")
    if not 0 <= kind < 2**8:
        raise ValueError(f"kind out of range for uint8: {kind}")
    if len(previous) != _WORD or len(detail) != _WORD:
        raise ValueError("previous head and detail are 32 bytes each")
    return _keccak(
        entry_preimage(previous, seq, kind, campaign_id, address_bytes(account), amount, detail)
    )


def campaign_terms_detail(
    token: str | bytes, deadline: int, max_per_backer: int, keep_it_all: bool, fee_bps: int, metadata_hash: bytes
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
        b"".join((_word(0x40), _word(voting_period), _word(len(tranche_bps)), *(_word(b) for b in tranche_bps)))
    )


def tranche_detail(tranche: int, fee: int) -> bytes:
    """The detail of a kind-11 entry: keccak256(abi.encode(uint256 tranche, uint256 fee))."""
    return keccak256(_word(tranche) + _word(fee))
