"""uvicorn's httptools protocol with two limits on a request's head (its request line and headers),
enforced as the bytes arrive, before the parser buffers them:

- a size cap: once a head passes `max_head_bytes` without ending, the connection is answered
  431 (Request Header Fields Too Large) and closed, so a client sending an endless header holds
  at most the cap (plus one socket read) of the server's memory;
- a read timeout: a head must be complete within `head_timeout` seconds of its first byte (of the
  connection, for the first request), or the connection is answered 408 and closed, so slow
  clients cannot hold connections open.

Why here: an ASGI middleware sees a request only after the server has parsed (and buffered) its
whole head, and neither of uvicorn's HTTP/1.1 protocols has a head timeout. h11's protocol caps the
head (`h11_max_incomplete_event_size`) but is pure Python, ~2x the CPU of httptools per request
on this API; httptools' parser (llhttp) accumulates a header of any size. So this subclass keeps
httptools and counts the bytes itself (docs/architecture.md, "API and page").

    uvicorn.Config(app, http=guarded_protocol(max_head_bytes=16384, head_timeout=10.0))
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("api.protocol")

DEFAULT_MAX_HEAD_BYTES = 16 * 1024
DEFAULT_HEAD_TIMEOUT = 10.0


def _answer(status: str, message: str) -> bytes:
    body = message.encode()
    return (
        f"HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    ).encode() + body


TOO_LARGE = _answer("431 Request Header Fields Too Large", "Request header fields too large.")
TIMED_OUT = _answer("408 Request Timeout", "The request's headers did not arrive in time.")


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol that caps a request head's size and the time it may take to arrive.

    `_head` counts the bytes of the head being read, None while none is (between the end of a
    head and the end of its request's body)."""

    max_head_bytes = DEFAULT_MAX_HEAD_BYTES
    head_timeout = DEFAULT_HEAD_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head: int | None = 0
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(cast(asyncio.Transport, transport))
        self._arm_head_timer()  # a connection that sends nothing is closed too

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        while data:
            if self._head is None:  # a body: uvicorn's flow control bounds what it buffers
                super().data_received(data)
                return
            if self._head == 0 and self._head_timer is None:
                self._arm_head_timer()
            room = self.max_head_bytes - self._head
            if len(data) <= room:
                self._head += len(data)
                super().data_received(data)
                return
            # feed what still fits: the head may end inside it (the rest is then a body or the next request)
            piece, data = data[:room], data[room:]
            self._head = self.max_head_bytes
            super().data_received(piece)
            if self.transport.is_closing():
                return
            if self._head is not None and self._head >= self.max_head_bytes:
                self._refuse(TOO_LARGE, "request head over %d bytes", self.max_head_bytes)
                return

    # parser callbacks (httptools calls them from feed_data)

    def on_headers_complete(self) -> None:
        self._head = None
        self._cancel_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._head = 0  # the next request's head; its timer starts with its first byte

    # the limits

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._head is None or self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # a pipelined head that trickles in while the previous answer is under way: no room to answer
            self._drop("request head not received within %.1f s", self.head_timeout)
            return
        self._refuse(TIMED_OUT, "request head not received within %.1f s", self.head_timeout)

    def _refuse(self, answer: bytes, reason: str, value: float) -> None:
        if self._head:  # a client that opened a connection and sent nothing gets no answer
            self.transport.write(answer)
        self._drop(reason, value)

    def _drop(self, reason: str, value: float) -> None:
        self._head = None
        self._cancel_head_timer()
        if log.isEnabledFor(logging.DEBUG):
            log.debug("closing %s: " + reason, self.client, value)
        self.transport.close()


def guarded_protocol(*, max_head_bytes: int, head_timeout: float) -> type[GuardedHttpToolsProtocol]:
    """The protocol class with these limits, for uvicorn.Config(http=...)."""
    return type(
        "GuardedHttpToolsProtocol",
        (GuardedHttpToolsProtocol,),
        {"max_head_bytes": max_head_bytes, "head_timeout": head_timeout},
    )
