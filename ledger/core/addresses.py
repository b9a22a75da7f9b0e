"""Addresses: the EIP-55 checksum, and reading an address given by a person or a client.

Addresses are stored and compared as lowercase hex; they are shown checksummed. An address given
in mixed case must carry a valid checksum (a mixed-case address with a wrong one is likely mistyped);
all-lowercase and all-uppercase are taken as they are.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ledger.core.hashing import keccak256
from ledger.errors import ConfigError

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")

_NIBBLE_HIGH = bytes.maketrans(b"0123456789abcdef", b"\0" * 8 + b"\x20" * 8)
_IS_LETTER = bytes.maketrans(b"0123456789abcdef", b"\0" * 10 + b"\x20" * 6)

CHECKSUM_CACHE = 1 << 18  # addresses whose checksum is remembered (~70 MB when full)


@lru_cache(maxsize=CHECKSUM_CACHE)
def checksum(address: str) -> str:
    """The EIP-55 checksummed spelling of a 0x-address given in any case (valid hex: check it
    first where it comes from outside). A letter is upper case where the keccak of the lowercase hex
    has a nibble >= 8: done on the 40 bytes as one integer (flip bit 0x20 of those letters) rather
    than character by character, which is what makes long pages of addresses cheap."""
    body = address[2:].lower().encode()
    digest = keccak256(body).hex()[:40].encode()
    flip = int.from_bytes(digest.translate(_NIBBLE_HIGH), "big") & int.from_bytes(
        body.translate(_IS_LETTER), "big"
    )
    return "0x" + (int.from_bytes(body, "big") ^ flip).to_bytes(40, "big").decode()


def is_address(text: object) -> bool:
    """Whether `text` is 0x and 40 hex digits (any case)."""
    return isinstance(text, str) and _ADDRESS.fullmatch(text) is not None


def checksum_error(text: str) -> str | None:
    """Why `text` is not an acceptable address (None when it is): not 0x and 40 hex digits, or mixed
    case that is not its EIP-55 checksum."""
    if not is_address(text):
        return f"{text!r:.60} is not an address (0x followed by 40 hex digits)"
    body = text[2:]
    if body != body.lower() and body != body.upper() and text != checksum(text):
        return f"{text} has a wrong EIP-55 checksum (mixed case); did you mean {checksum(text)}? (or give it all in lower case)"
    return None


def parse_address(text: str, what: str = "address") -> str:
    """`text` as a lowercase address; ConfigError naming `what` when it is not one."""
    problem = checksum_error(text)
    if problem is not None:
        raise ConfigError(f"{what}: {problem}")
    return text.lower()
