"""The one check that a text is hex data as Ethereum's JSON writes it: 0x, then whole bytes of hex
digits (node answers' hashes, topics and data; an export's addresses and hashes)."""

from __future__ import annotations

from collections.abc import Sequence


def is_hex_data(text: str) -> bool:
    """Whether `text` is 0x and whole bytes of hex digits ("0x" alone is no bytes)."""
    try:
        # fromhex skips spaces between bytes: the length tells them
        return text[:2] == "0x" and len(bytes.fromhex(text[2:])) * 2 == len(text) - 2
    except ValueError:
        return False


def first_not_hex(names: Sequence[str], texts: Sequence[str | None]) -> tuple[str, str] | None:
    """The first (name, text) whose text is not hex data (is_hex_data), skipping None; None when
    all are. The common case is one bytes.fromhex over the digits of them all (this runs for every
    log decoded and every export line read)."""
    digits = ""
    for text in texts:
        if text is not None:
            if text[:2] != "0x" or len(text) & 1:
                break
            digits += text[2:]
    else:
        try:
            if len(bytes.fromhex(digits)) * 2 == len(digits):
                return None
        except ValueError:
            pass
    for name, text in zip(names, texts):
        if text is not None and not is_hex_data(text):
            return name, text
    raise AssertionError("unreachable: the texts together were not hex data, so one of them is not")
