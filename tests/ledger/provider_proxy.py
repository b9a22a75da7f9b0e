"""A JSON-RPC proxy for tests that behaves like a hosted provider in front of a real node.

    with LocalNode.start() as node, ProviderProxy(node.url, max_log_results=20) as proxy:
        rpc = RpcClient(proxy.url)

Restrictions, each off by default:
    max_log_results   eth_getLogs answers with more logs become error -32005 "query returned more
                      than N results" (with Infura's "Try with this block range [..]" hint when
                      suggest_range)
    max_log_range     wider eth_getLogs ranges get error -32602 "eth_getLogs is limited to a N block range"
    http_413_over     wider eth_getLogs ranges get HTTP 413 (the whole HTTP request)
    rate_limit_every  every Nth HTTP request gets HTTP 429 with Retry-After: 0

`go_down()` closes the listening socket and every open connection (clients see connection refused
or reset); `come_up()` listens again on the same port. `proxy.rewrite = f(method, params, result)`
may replace any successful result (e.g. to tamper with logs). `calls` counts forwarded calls by
method, `requests` counts HTTP requests received (refused ones included).

A hostile node, each also off by default:
    rewrite_body      f(method, body) -> body: the HTTP answer's bytes, after everything else
                      (e.g. text pasted into a JSON string)
    trickle           (method, seconds): answers to `method` are sent one byte every `seconds`
                      (until the client gives up)
    huge_answer       (method, bytes): answers to `method` are a JSON-RPC result padded with
                      whitespace to `bytes`, streamed in pieces (nothing that size is held)
"""

from __future__ import annotations

import collections
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import requests

Rewrite = Callable[[str, Any, Any], Any]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], proxy: ProviderProxy) -> None:
        self.proxy = proxy
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away, or go_down() cutting a connection: not worth a traceback


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like a real provider
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stalls
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.proxy._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.proxy._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:  # silence the access log
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        proxy = self.server.proxy
        method = _method_of(body)
        if proxy.huge_answer is not None and method == proxy.huge_answer[0]:
            self._send_huge(proxy.huge_answer[1])
            return
        status, headers, payload = proxy._handle(body)
        if proxy.rewrite_body is not None:
            payload = proxy.rewrite_body(method, payload)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if proxy.trickle is not None and method == proxy.trickle[0]:
            for at in range(len(payload)):
                self.wfile.write(payload[at : at + 1])
                self.wfile.flush()
                time.sleep(proxy.trickle[1])
            return
        self.wfile.write(payload)

    def _send_huge(self, size: int) -> None:
        head, tail = b'{"jsonrpc":"2.0","id":1,"result":[', b"]}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        self.wfile.write(head)
        left = size - len(head) - len(tail)
        piece = b" " * (1 << 20)
        while left > 0:
            self.wfile.write(piece[: min(left, len(piece))])
            left -= len(piece)
        self.wfile.write(tail)


def _method_of(body: bytes) -> str:
    try:
        request = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ""
    return str(request.get("method", "")) if isinstance(request, dict) else "batch"


class _HttpRefusal(Exception):
    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.headers = headers or {}


class ProviderProxy:
    """A threaded HTTP JSON-RPC proxy in front of `upstream`; see the module docstring."""

    def __init__(
        self,
        upstream: str,
        *,
        max_log_range: int | None = None,
        max_log_results: int | None = None,
        http_413_over: int | None = None,
        rate_limit_every: int | None = None,
        suggest_range: bool = False,
        port: int = 0,
    ) -> None:
        self.upstream = upstream
        self.max_log_range = max_log_range
        self.max_log_results = max_log_results
        self.http_413_over = http_413_over
        self.rate_limit_every = rate_limit_every
        self.suggest_range = suggest_range
        self.rewrite: Rewrite | None = None
        self.rewrite_body: Callable[[str, bytes], bytes] | None = None
        self.trickle: tuple[str, float] | None = None
        self.huge_answer: tuple[str, int] | None = None
        self.calls: collections.Counter[str] = collections.Counter()
        self.requests = 0
        self._lock = threading.Lock()
        self._local = threading.local()
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port = port
        self.come_up()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    # --- lifecycle -----------------------------------------------------------------------------

    def come_up(self) -> None:
        """Listen (again) on the proxy's port."""
        if self._server is not None:
            return
        server = _Server(("127.0.0.1", self._port), self)
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="provider-proxy", daemon=True
        )
        self._thread.start()

    def go_down(self) -> None:
        """Stop listening and drop every open connection: clients get connection refused/reset."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)

    def stop(self) -> None:
        self.go_down()

    def __enter__(self) -> ProviderProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    # --- requests ------------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def _upstream(self, method: str, params: Any) -> dict:
        body = orjson.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        response = self._session().post(
            self.upstream, data=body, timeout=30, headers={"Content-Type": "application/json"}
        )
        return orjson.loads(response.content)

    def _handle(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.requests += 1
            number = self.requests
        if self.rate_limit_every and number % self.rate_limit_every == 0:
            return 429, {"Retry-After": "0", "Content-Type": "text/plain"}, b"rate limited"
        try:
            request = orjson.loads(body)
        except orjson.JSONDecodeError:
            return (
                400,
                {"Content-Type": "application/json"},
                orjson.dumps(
                    {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}}
                ),
            )
        try:
            if isinstance(request, list):
                answer: Any = [self._one(item) for item in request]
            else:
                answer = self._one(request)
        except _HttpRefusal as refusal:
            return (
                refusal.status,
                {"Content-Type": "text/plain", **refusal.headers},
                b"request entity too large",
            )
        return 200, {"Content-Type": "application/json"}, orjson.dumps(answer)

    def _one(self, request: dict) -> dict:
        method = request.get("method", "")
        params = request.get("params", [])
        request_id = request.get("id")

        def error(code: int, message: str) -> dict:
            return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}

        if method == "eth_getLogs":
            span = self._log_range(params)
            if span is not None:
                from_block, to_block = span
                width = to_block - from_block + 1
                if self.http_413_over is not None and width > self.http_413_over:
                    raise _HttpRefusal(413)
                if self.max_log_range is not None and width > self.max_log_range:
                    return error(-32602, f"eth_getLogs is limited to a {self.max_log_range} block range")
        with self._lock:
            self.calls[method] += 1
        answer = self._upstream(method, params)
        answer["id"] = request_id
        if "result" not in answer:
            return answer
        result = answer["result"]
        if (
            method == "eth_getLogs"
            and self.max_log_results is not None
            and len(result) > self.max_log_results
        ):
            message = f"query returned more than {self.max_log_results} results"
            if self.suggest_range:
                first, last = self._suggest(params, result)
                message += f". Try with this block range [{hex(first)}, {hex(last)}]."
            return error(-32005, message)
        if self.rewrite is not None:
            answer["result"] = self.rewrite(method, params, result)
        return answer

    def _log_range(self, params: Any) -> tuple[int, int] | None:
        try:
            query = params[0]
        except (IndexError, KeyError, TypeError):
            return None
        if "blockHash" in query:
            return None
        head: int | None = None

        def resolve(tag: Any) -> int:
            nonlocal head
            if isinstance(tag, str) and tag.startswith("0x"):
                return int(tag, 16)
            if tag == "earliest":
                return 0
            if head is None:
                head = int(self._upstream("eth_blockNumber", [])["result"], 16)
            return head

        return resolve(query.get("fromBlock", "latest")), resolve(query.get("toBlock", "latest"))

    def _suggest(self, params: Any, logs: list[dict]) -> tuple[int, int]:
        """The widest range from the query's start whose logs fit in max_log_results."""
        from_block, _ = self._log_range(params) or (0, 0)
        assert self.max_log_results is not None
        first_excess = int(logs[self.max_log_results]["blockNumber"], 16)
        return from_block, max(from_block, first_excess - 1)
