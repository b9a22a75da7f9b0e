"""One HTTP exchange with a JSON-RPC node, bounded in time and size.

requests' timeout is per socket read: a node that sends one byte every few seconds, or never
finishes its answer, would hold a reader for ever, and a huge answer would be read whole into
memory. `post` reads the answer itself, a piece at a time (urllib3's read1: whatever has arrived),
and stops with Transient when the attempt's deadline passes or with TooLarge when the answer
outgrows `max_bytes`, before it buffers more.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import requests
import urllib3

from ledger.chain.rpc_errors import TooLarge, Transient, describe, retry_after

PIECE = 1 << 16  # bytes read at a time
_RETRYABLE = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    reason: str
    content: bytes


def post(
    session: requests.Session, request: requests.PreparedRequest, *, deadline: float, max_bytes: int
) -> Answer:
    """Send `request` and read its answer by `deadline` (time.monotonic()), at most `max_bytes` of
    it (decompressed). Raises Transient (timed out, the connection failed, HTTP 429 or 5xx other
    than 500) or TooLarge (HTTP 413, or an answer over `max_bytes`)."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise Transient("timed out")
    try:
        response = session.send(request, timeout=(min(remaining, 10.0), remaining), stream=True)
    except _RETRYABLE as exc:
        raise Transient(_reason(exc, remaining)) from exc
    try:
        status = response.status_code
        if status == 429:
            raise Transient("HTTP 429 Too Many Requests", retry_after(response.headers.get("Retry-After")))
        if status == 413:
            raise TooLarge(f"HTTP 413 {response.reason or 'Payload Too Large'}")
        if status > 500:
            raise Transient(
                f"HTTP {status} {response.reason or ''}".rstrip(),
                retry_after(response.headers.get("Retry-After")),
            )
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            raise TooLarge(f"an answer of {int(declared):,} bytes (the cap is {max_bytes:,})")
        pieces: list[bytes] = []
        size = 0
        raw = response.raw
        while True:
            if time.monotonic() > deadline:
                raise Transient(f"timed out after {remaining:.3g}s, {size:,} bytes of the answer read")
            try:
                piece = raw.read1(PIECE, decode_content=True)
            except (OSError, urllib3.exceptions.HTTPError) as exc:  # mid-body: urllib3's own errors
                raise Transient(_reason(exc, remaining)) from exc
            if not piece:
                break
            size += len(piece)
            if size > max_bytes:
                raise TooLarge(f"an answer over {max_bytes:,} bytes (the cap)")
            pieces.append(piece)
        response.raw.release_conn()  # read to the end: the connection stays open for the next call
        return Answer(status, response.reason or "", b"".join(pieces))
    except BaseException:
        response.close()  # part of the answer is unread: the connection cannot be reused
        raise


def _reason(exc: BaseException, timeout: float) -> str:
    reason = describe(exc)
    if reason == "timed out" or "timed out" in reason.lower() or "Read timed out" in reason:
        return f"timed out after {timeout:.3g}s"
    return reason
