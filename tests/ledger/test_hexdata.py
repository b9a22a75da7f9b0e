"""The one hex-data rule (ledger.core.hexdata) that node answers and export lines are held to."""

from __future__ import annotations

import pytest

from ledger.core.hexdata import first_not_hex, is_hex_data


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("0x", True),
        ("0x00ff", True),
        ("0xABcd", True),
        ("0x0", False),  # half a byte
        ("00ff", False),
        ("0X00ff", False),
        ("0x00 ff", False),  # fromhex would skip the space
        ("0x00fg", False),
        ("0x\u0660\u0661", False),  # other scripts' digits
    ],
)
def test_hex_data_is_0x_and_whole_bytes(text: str, ok: bool) -> None:
    assert is_hex_data(text) is ok


def test_the_first_bad_field_is_named_even_when_the_digits_together_are_hex() -> None:
    names = ("a", "b", "c")
    assert first_not_hex(names, ("0xab", None, "0x")) is None
    # "0xabc" and "0xd": the digits together, "abcd", are whole bytes; each alone is not
    assert first_not_hex(names, ("0xab", "0xabc", "0xd")) == ("b", "0xabc")
    assert first_not_hex(names, ("0xab", "ab", "0x12")) == ("b", "ab")
    assert first_not_hex(names, ("0xab", None, "0x1z")) == ("c", "0x1z")
