"""A lossless uint256 column type.

PostgreSQL stores NUMERIC(78,0). SQLite has no 256-bit integer, so it stores the decimal digits
zero-padded to 78 characters: text comparison then orders exactly as the numbers do, and sums are
taken in Python (or with the `u256_sum` aggregate registered on every SQLite connection).
Values never pass through floats in either direction.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

U256_DIGITS = 78
MAX_U256 = 2**256 - 1


_SQLITE_ZERO = "0" * U256_DIGITS


def to_sqlite_u256(value: int) -> str:
    """`value` as SQLite stores a uint256: 78 digits, zero-padded (a hot path: a backfill writes
    a few of them per entry, most position totals 0)."""
    if value == 0:
        return _SQLITE_ZERO
    if value < 0 or value > MAX_U256:
        raise ValueError(f"{value} is outside uint256")
    return str(value).zfill(U256_DIGITS)  # the fastest spelling of the padding


class U256(TypeDecorator[int]):
    """uint256 as a Python int on both databases."""

    impl = String(U256_DIGITS)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(U256_DIGITS, 0, asdecimal=True))
        return dialect.type_descriptor(String(U256_DIGITS))

    def process_bind_param(self, value: int | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = int(value)
        if dialect.name == "postgresql":
            if not 0 <= value <= MAX_U256:
                raise ValueError(f"{value} is outside uint256")
            return Decimal(value)
        return to_sqlite_u256(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        return int(value)


class U256Sum:
    """SQLite aggregate: exact sum of U256 text values, returned as U256 text."""

    def __init__(self) -> None:
        self.total = 0

    def step(self, value: str | None) -> None:
        if value is not None:
            self.total += int(value)

    def finalize(self) -> str:
        return to_sqlite_u256(self.total)
