"""Amounts for people: base units shown in their asset's own decimals and symbol, exactly.

    format_amount(1_000 * 10**6, 6, "tUSDC")               -> "1,000 tUSDC"
    format_amount(25 * 10**16, 18, "ETH")                   -> "0.25 ETH"
    format_amount(7, 18, "ETH", places=6)                   -> "<0.000001 ETH"
    asset_of("0x0000...0000", tokens)                       -> ETHER (ETH, 18 decimals)

No floats anywhere: the whole part gets thousands separators, the fraction keeps every digit it
has (trailing zeros trimmed) unless `places` cuts it (towards zero). Machines get base units as
decimal strings; only people get these.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ledger.core.addresses import checksum
from ledger.core.metadata import ETHER, Token
from ledger.core.records import ETH


def format_amount(value: int, decimals: int, symbol: str, *, places: int | None = None) -> str:
    """`value` base units as a decimal number of whole units with `symbol`; with `places`, at
    most that many decimals (cut towards zero; a non-zero amount below the last place reads
    "<0.000001 ETH")."""
    sign = "-" if value < 0 else ""
    whole, fraction = divmod(abs(value), 10**decimals)
    digits = f"{fraction:0{decimals}d}".rstrip("0") if decimals else ""
    if places is not None and len(digits) > places:
        digits = digits[:places].rstrip("0")
        if not whole and not digits:
            return f"<{sign}{format_amount(1, places, symbol)}"
    return f"{sign}{whole:,}{'.' + digits if digits else ''} {symbol}"


def short_address(address: str) -> str:
    """An address for a label: checksummed, its first four and last four hex digits, 0x1234…abcd."""
    text = checksum(address)
    return f"{text[:6]}\u2026{text[-4:]}"


def asset_of(token: str, tokens: Mapping[str, Token]) -> Token:
    """The metadata of a campaign's asset: ETHER for the zero address, else the token's row (its
    short address as the symbol and 18 decimals, `assumed`, when none was read)."""
    if token == ETH:
        return ETHER
    found = tokens.get(token)
    return (
        found if found is not None else Token(token, short_address(token), short_address(token), 18, True, 0)
    )


def asset_labels(assets: Iterable[Token]) -> dict[str, str]:
    """What to call each asset beside its amounts: its symbol, or the symbol and its short address
    when another asset (ETH included) has the same symbol (ignoring case), so a token cannot pass
    for another."""
    listed = {asset.address: asset for asset in (ETHER, *assets)}
    counts: dict[str, int] = {}
    for asset in listed.values():
        counts[asset.symbol.casefold()] = counts.get(asset.symbol.casefold(), 0) + 1
    return {
        address: asset.symbol
        if counts[asset.symbol.casefold()] == 1 or address == ETH
        else f"{asset.symbol} ({short_address(address)})"
        for address, asset in listed.items()
    }


def amount_of(value: int, asset: Token, label: str | None = None, *, places: int | None = None) -> str:
    """format_amount in `asset`'s decimals, with `label` (default: its symbol)."""
    return format_amount(value, asset.decimals, label or asset.symbol, places=places)
