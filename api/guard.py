"""Request rules every route shares, applied before routing (a plain ASGI middleware, a dict lookup
per request):

- `HEAD` wherever `GET` exists: a HEAD request runs as the GET it names and its answer goes out
  without a body (the headers, Content-Length included, as the GET's). A streaming answer ends
  after its headers.
- A path with a NUL character (`/assets/app.js%00.html`) is a 404: no route or file has one, and
  the filesystem refuses them.
"""

from __future__ import annotations

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

NOT_FOUND_BODY = orjson.dumps({"detail": "no such path (it holds a NUL character)"})
NOT_FOUND_START: Message = {
    "type": "http.response.start",
    "status": 404,
    "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(NOT_FOUND_BODY)).encode()),
    ],
}


class RequestGuard:
    """HEAD as GET without a body; 404 for a path with a NUL."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"]:
            await send(NOT_FOUND_START)
            await send({"type": "http.response.body", "body": NOT_FOUND_BODY})
            return
        if scope["method"] == "HEAD":
            await self._head(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _head(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the GET; send its start, then one empty body, and tell the app the client left so
        a stream stops (the server itself sends no body for a HEAD request)."""
        finished = False

        async def send_head(message: Message) -> None:
            nonlocal finished
            if finished:
                return
            if message["type"] == "http.response.start":
                await send(message)
            elif message["type"] == "http.response.body":
                finished = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        async def receive_head() -> Message:
            if finished:
                return {"type": "http.disconnect"}
            return await receive()

        get = {**scope, "method": "GET"}
        try:
            await self.app(get, receive_head, send_head)
        finally:
            if "route" in get:  # for the request metrics, which label by route
                scope["route"] = get["route"]
