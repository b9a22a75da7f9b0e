"""What a JSON-RPC node's failures mean: which errors are worth a retry (rate limits, 5xx,
timeouts), which ask for a narrower eth_getLogs range (with the provider's own hint when it gives
one), and short one-line descriptions of transport failures and URLs for messages."""

from __future__ import annotations

import re
import socket
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from ledger.errors import RangeTooWide, RpcError

_EXCERPT = 200

# --- error classification ---------------------------------------------------------------------

_RANGE_CODES = {-32005}
_RANGE_PATTERNS = re.compile(
    r"query returned more than"
    r"|block range"
    r"|range is too large"
    r"|range too large"
    r"|exceed(?:s|ed)? maximum block range"
    r"|limit exceeded"
    r"|response size"
    r"|too many results"
    r"|more than .*results"
    r"|log response size exceeded"
    r"|eth_getlogs is limited to",
    re.IGNORECASE,
)
# An explicit suggestion: Infura "[0x1, 0x2710]", Alchemy "should work: [0x1a2b, 0x1a3c]".
_SUGGESTED_RANGE = re.compile(r"\[\s*(0x[0-9a-f]+|\d+)\s*,\s*(0x[0-9a-f]+|\d+)\s*\]", re.IGNORECASE)
# A stated limit: "limited to a 1000 block range", "up to a 2K block range",
# "exceed maximum block range: 5000", "max block range is 10,000".
_STATED_LIMIT = (
    re.compile(r"\b(\d[\d,_]*)\s*(k?)\s*-?\s*blocks?\s+range", re.IGNORECASE),
    re.compile(r"max(?:imum)?\s+block\s+range(?:\s+is|\s+of)?\s*:?\s*(\d[\d,_]*)\s*(k?)", re.IGNORECASE),
)
_RATE_LIMITED = re.compile(
    r"rate.?limit|request rate|too many requests|compute units per second|exceeded .*capacity",
    re.IGNORECASE,
)


def _int_token(text: str) -> int:
    return int(text, 16) if text[:2].lower() == "0x" else int(text)


def _suggested_to_block(message: str, from_block: int | None) -> int | None:
    """The end block a provider's error message suggests, or None."""
    found = _SUGGESTED_RANGE.search(message)
    if found:
        return _int_token(found.group(2))
    if from_block is None:
        return None
    for pattern in _STATED_LIMIT:
        found = pattern.search(message)
        if found:
            width = int(found.group(1).replace(",", "").replace("_", ""))
            if found.group(2):
                width *= 1000
            if width > 0:
                return from_block + width - 1
    return None


def range_too_wide(
    method: str, code: int | None, message: str, data: object = None, suggested_to_block: int | None = None
) -> RangeTooWide:
    """A RangeTooWide carrying `suggested_to_block` (None when the provider gave no hint)."""
    exc = RangeTooWide(method, code, message, data)
    exc.suggested_to_block = suggested_to_block
    return exc


def _from_block_of(params: Any) -> int | None:
    try:
        value = params[0]["fromBlock"]
        return int(value, 16) if isinstance(value, str) else int(value)
    except (LookupError, TypeError, ValueError):
        return None


def is_range_error(code: object, message: str) -> bool:
    return code in _RANGE_CODES or bool(_RANGE_PATTERNS.search(message))


def classify_error(method: str, params: Any, error: object) -> RpcError:
    """The exception for a JSON-RPC error object answered to `method(params)`."""
    if isinstance(error, dict):
        code = error.get("code")
        message = error.get("message")
        message = message if isinstance(message, str) else str(message)
        data = error.get("data")
    else:  # some servers answer "error": "text"
        code, message, data = None, str(error), None
    if method == "eth_getLogs" and is_range_error(code, message):
        return range_too_wide(
            method, code, message, data, _suggested_to_block(message, _from_block_of(params))
        )
    return RpcError(method, code if isinstance(code, int) else None, message, data)


def _is_rate_limited(error: object) -> bool:
    if not isinstance(error, dict):
        return False
    message = error.get("message")
    return error.get("code") == 429 or (isinstance(message, str) and bool(_RATE_LIMITED.search(message)))


def check_rate_limited(decoded: Any) -> None:
    """Raise Transient if the answer (or any item of a batch answer) says "rate limited"."""
    if isinstance(decoded, dict):
        error = decoded.get("error")
        if error is not None and _is_rate_limited(error):
            raise Transient(f"rate limited: {error.get('message')}")
    elif isinstance(decoded, list):
        for item in decoded:
            if isinstance(item, dict) and item.get("error") is not None and _is_rate_limited(item["error"]):
                raise Transient(f"rate limited: {item['error'].get('message')}")


# --- what one attempt ran into -----------------------------------------------------------------


class Transient(Exception):
    """One attempt failed in a way worth retrying."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class TooLarge(Exception):
    """HTTP 413 (or a batch-size refusal): the request must be made smaller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def redact(url: str) -> str:
    """The URL for messages: no password, and an API-key-looking last path segment masked."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if ":" in netloc:  # IPv6
        netloc = f"[{netloc}]"
    if parts.port:
        netloc += f":{parts.port}"
    if parts.username:
        netloc = f"{parts.username}:***@{netloc}" if parts.password else f"{parts.username}@{netloc}"
    segments = parts.path.split("/")
    if segments and re.fullmatch(r"[A-Za-z0-9_-]{20,}", segments[-1] or ""):
        segments[-1] = "***"
    return urlunsplit((parts.scheme, netloc, "/".join(segments), "", ""))


def excerpt(body: bytes) -> str:
    text = body[:_EXCERPT].decode("utf-8", errors="replace")
    return repr(text + ("..." if len(body) > _EXCERPT else ""))


def describe(exc: BaseException) -> str:
    """A short reason for a transport exception: 'connection refused', 'timed out', ..."""
    stack: list[BaseException] = [exc]
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, socket.gaierror):
            return "the host name does not resolve"
        if isinstance(current, ConnectionRefusedError):
            return "connection refused"
        if isinstance(current, ConnectionResetError):
            return "connection reset"
        if isinstance(current, BrokenPipeError):
            return "connection closed (broken pipe)"
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        linked += [arg for arg in current.args if isinstance(arg, BaseException)]
        stack.extend(e for e in linked if isinstance(e, BaseException))
    if isinstance(exc, requests.Timeout):
        return "timed out"
    text = str(exc)
    if "Connection refused" in text:
        return "connection refused"
    if "RemoteDisconnected" in text or "Connection aborted" in text:
        return "connection closed by the server"
    return f"{type(exc).__name__}: {text[:_EXCERPT]}"


def retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from email.utils import parsedate_to_datetime  # a date in Retry-After is rare

        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


UNREACHABLE = ("connection refused", "the host name does not resolve")
"""describe()'s reasons that mean nothing answers at that address (as opposed to a node that
answered once and is restarting, or one that is slow)."""
