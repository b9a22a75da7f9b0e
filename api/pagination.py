"""Keyset pagination: every list answers `{"data": [...], "next": cursor-or-null}`; pass `next`
back as `?cursor=` for the following page. No OFFSET anywhere: a page costs the same at any depth,
and rows added meanwhile never shift a page (no gap, no repeat).

A cursor is opaque to clients: URL-safe base64 of a small JSON array naming the list it belongs
to and the sort key of the last row sent. It is validated on the way back in: a cursor that is
not ours, belongs to another list or sort, or holds a key of the wrong shape is a 400.

`limit` is 1..MAX_LIMIT (default DEFAULT_LIMIT).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import HTTPException, Query

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
_VERSION = 1
_MAX_CURSOR = 512
_INT64 = 2**63 - 1
_U256 = 2**256 - 1
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
T = TypeVar("T")

LimitQuery = Annotated[
    int,
    Query(ge=1, le=MAX_LIMIT, description=f"page size, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})"),
]
CursorQuery = Annotated[
    str | None,
    Query(
        max_length=_MAX_CURSOR,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="the `next` value of the previous page; omit for the first page",
    ),
]

# key shapes: "int" (a 64-bit id or seq), "u256" (an amount, sent as a decimal string),
# "address" (lowercase 0x-hex)
KeyShape = Sequence[str]


class CursorError(HTTPException):
    def __init__(self, message: str) -> None:
        super().__init__(
            status_code=400, detail=f"invalid cursor: {message}; use the `next` value of a previous page"
        )


def encode_cursor(kind: str, key: Sequence[Any]) -> str:
    """The cursor after a row with sort key `key` in the list `kind`."""
    values = [str(v) if isinstance(v, int) and v > _INT64 else v for v in key]
    raw = orjson.dumps([_VERSION, kind, *values])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(token: str, kind: str, shape: KeyShape) -> tuple[Any, ...]:
    """The sort key in `token`, checked against the list `kind` and the key `shape`."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        parsed = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise CursorError("not a cursor this API issued") from None
    if not isinstance(parsed, list) or len(parsed) < 2 or parsed[0] != _VERSION:
        raise CursorError("not a cursor this API issued")
    if parsed[1] != kind:
        raise CursorError(f"it belongs to another list or sort ({parsed[1]!r}, not {kind!r})")
    values = parsed[2:]
    if len(values) != len(shape):
        raise CursorError("wrong number of key values")
    return tuple(_check(value, what) for value, what in zip(values, shape))


def _check(value: Any, shape: str) -> Any:
    if shape == "int":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _INT64:
            raise CursorError("a key value is not a valid id")
        return value
    if shape == "u256":
        if not isinstance(value, (int, str)) or isinstance(value, bool):
            raise CursorError("a key value is not an amount")
        text = str(value)
        if not text.isdigit() or len(text) > 78 or int(text) > _U256:
            raise CursorError("a key value is not an amount")
        return int(text)
    if shape == "address":
        if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
            raise CursorError("a key value is not an address")
        return value.lower()
    raise ValueError(f"unknown key shape {shape!r}")


def page(rows: list[T], limit: int) -> tuple[list[T], bool]:
    """The first `limit` of `rows` (fetched as limit + 1) and whether there are more."""
    return (rows[:limit], True) if len(rows) > limit else (rows, False)
