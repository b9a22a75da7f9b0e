"""The one check that a text is hex data as Ethereum's JSON writes it: 0x, then whole bytes of hex
digits (node answers' hashes, topics and data; an export's addresses and hashes)."""

from __future__ import annotations

from binascii import unhexlify
from collections.abc import Sequence


def is_hex_data(text: str) -> bool:
    """Whether `text` is 0x and whole bytes of hex digits ("0x" alone is no bytes)."""
    try:
        # unhexlify takes nothing but pairs of ASCII hex digits (fromhex would skip spaces)
        return text[:2] == "0x" and unhexlify(text[2:]) is not None
    except ValueError:  # binascii.Error is one: odd length, a digit that is not hex, not ASCII
        return False


def first_not_hex(names: Sequence[str], texts: Sequence[str | None]) -> tuple[str, str] | None:
    """The first (name, text) whose text is not hex data (is_hex_data), skipping None; None when
    all are. The common case is one unhexlify per text in one loop (this runs for every log
    decoded and every export line read)."""
    try:
        for text in texts:
            if text is not None:
                if text[:2] != "0x":
                    break
                unhexlify(text[2:])
        else:
            return None
    except ValueError:
        pass
    for name, text in zip(names, texts):
        if text is not None and not is_hex_data(text):
            return name, text
    raise AssertionError("unreachable: one of the texts is not hex data")
