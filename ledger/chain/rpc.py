"""A small, fast JSON-RPC client over HTTP for the indexer.

    with RpcClient("http://127.0.0.1:8545") as rpc:
        head = rpc.block_number()
        logs = rpc.get_logs(escrow, 0, head)

One `requests.Session` per concurrent user (keep-alive), orjson for encoding and decoding, no
web3.py. Every request has an overall deadline (`timeout`, not per socket read) and a cap on its
answer's size (`max_answer_bytes`; an eth_getLogs answer over it asks for a narrower range, as a
provider's "too many results" does): ledger.chain.http. Transient failures (timeouts, a
connection reset or refused by a node that answered before, HTTP 5xx, HTTP 429 and JSON-RPC "rate
limited" answers) are retried by tenacity with exponential backoff and jitter within a
`RetryPolicy` (ledger.chain.retry); past the budget the call raises `NodeUnavailable`. A node
that never answered (a refused connection, a host name that does not resolve) fails at once with
one line. A JSON-RPC
error object raises `RpcError`; an eth_getLogs range or result-count refusal raises
`RangeTooWide`, with the provider's suggested end block in `suggested_to_block` when its message
gives one (ledger.chain.rpc_errors). The typed eth_* methods (`get_logs`, `get_blocks`, ...) are
ledger.chain.eth's.

The client is safe to share between threads: each call borrows a Session from a small pool.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests
import tenacity
from requests.adapters import HTTPAdapter

from ledger import __version__
from ledger.chain.defaults import DEFAULT_MAX_ANSWER_BYTES, DEFAULT_TIMEOUT, MIN_ANSWER_BYTES
from ledger.chain.eth import EthMethods
from ledger.chain.http import post
from ledger.chain.retry import RetryPolicy
from ledger.chain.rpc_errors import (
    UNREACHABLE,
    TooLarge,
    Transient,
    check_rate_limited,
    classify_error,
    excerpt,
    range_too_wide,
    redact,
)
from ledger.errors import ConfigError, NodeError, NodeUnavailable

log = logging.getLogger("ledger.rpc")

__all__ = ["RetryPolicy", "RpcClient", "classify_error", "range_too_wide"]

_HEADERS = {
    "User-Agent": f"crowdledger-rpc/{__version__} {requests.utils.default_user_agent()}",
    "Accept-Encoding": "gzip, deflate",
    "Accept": "application/json",
    "Content-Type": "application/json",
    "Connection": "keep-alive",
}


class RpcClient(EthMethods):
    """A JSON-RPC client for one node URL, with the typed eth_* methods of ledger.chain.eth.
    Thread-safe; use as a context manager or `close()`."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
        retry: RetryPolicy | None = None,
        batch_limit: int = 100,
    ) -> None:
        if not isinstance(url, str):
            raise ConfigError(f"RPC URL must be a string, got {url!r}")
        parts = urlsplit(url.strip())
        try:
            valid = parts.scheme in ("http", "https") and bool(parts.hostname)
            _ = parts.port  # raises ValueError on a bad port
        except ValueError:
            valid = False
        if not valid:
            raise ConfigError(f"invalid RPC URL {url!r}: expected http://host[:port][/path] or https://...")
        if timeout <= 0:
            raise ConfigError(f"timeout must be > 0, got {timeout}")
        if batch_limit < 1:
            raise ConfigError(f"batch_limit must be >= 1, got {batch_limit}")
        if max_answer_bytes < MIN_ANSWER_BYTES:
            raise ConfigError(f"max_answer_bytes must be at least {MIN_ANSWER_BYTES}, got {max_answer_bytes}")
        self.url = url.strip()
        self.timeout = float(timeout)
        self.max_answer_bytes = max_answer_bytes
        self._reached = False  # whether the node ever answered: a refused connection then is a restart
        self.retry = retry or RetryPolicy()
        self.batch_limit = batch_limit
        self._display_url = redact(self.url)
        self._proxies = requests.utils.get_environ_proxies(self.url)
        self._template = requests.Request("POST", self.url, headers=_HEADERS).prepare()
        self._ids = itertools.count(1)
        self._idle: list[requests.Session] = []
        self._all: list[requests.Session] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RpcClient({self._display_url!r})"

    # --- sessions ---------------------------------------------------------------------------

    def _new_session(self) -> requests.Session:
        session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=1, max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        # No per-request environment lookups (proxies, netrc, CA bundle): they cost more than the
        # call itself on a local node. The environment's proxy for this URL is resolved once.
        session.trust_env = False
        session.proxies.update(self._proxies)
        session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        with self._lock:
            self._all.append(session)
        return session

    def _acquire(self) -> requests.Session:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._new_session()

    def _release(self, session: requests.Session) -> None:
        with self._lock:
            self._idle.append(session)

    def close(self) -> None:
        """Close every pooled connection. The client stays usable (it reconnects on demand)."""
        with self._lock:
            sessions, self._all, self._idle = self._all, [], []
        for session in sessions:
            session.close()

    def __enter__(self) -> RpcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- one HTTP exchange with retries -------------------------------------------------------

    def _post_once(
        self,
        session: requests.Session,
        body: bytes,
        deadline: float,
        parse: Callable[[bytes], Any] | None = None,
    ) -> Any:
        """One HTTP POST, by `deadline`; the decoded JSON. Raises Transient, TooLarge or NodeError.
        `parse`, if given, decodes a 200 answer instead of orjson; None from it means "use orjson"."""
        request = self._template.copy()  # prepared once: skips URL parsing and header merging
        request.body = body
        request.headers["Content-Length"] = str(len(body))
        try:
            answer = post(session, request, deadline=deadline, max_bytes=self.max_answer_bytes)
        except Transient as exc:
            if exc.reason in UNREACHABLE and not (self._reached and exc.reason == "connection refused"):
                raise NodeUnavailable(f"cannot reach the node at {self._display_url}: {exc.reason}") from None
            raise
        self._reached = True
        status, content = answer.status, answer.content
        if parse is not None and status == 200:
            decoded = parse(content)
            if decoded is not None:
                return decoded
        try:
            decoded = orjson.loads(content)
        except orjson.JSONDecodeError:
            if status == 500:
                raise Transient(f"HTTP 500 {answer.reason}".rstrip()) from None
            raise NodeError(
                f"{self._display_url} answered HTTP {status} that is not JSON: {excerpt(content)}"
            ) from None
        if status >= 400 and not _looks_like_rpc(decoded):
            if status == 500:
                raise Transient("HTTP 500 Internal Server Error")
            raise NodeError(f"{self._display_url} answered HTTP {status}: {excerpt(content)}")
        return decoded

    def _exchange(
        self, label: str, body: bytes, check: Any = None, parse: Callable[[bytes], Any] | None = None
    ) -> Any:
        """POST `body` with retries (tenacity, within the RetryPolicy); `check(decoded)` may raise
        Transient to retry the exchange."""
        policy = self.retry
        started = time.monotonic()
        budget_end = started + policy.total_timeout
        session = self._acquire()

        def attempt() -> Any:
            now = time.monotonic()
            decoded = self._post_once(session, body, min(now + self.timeout, budget_end), parse)
            if check is not None:
                check(decoded)
            return decoded

        def before_sleep(state: tenacity.RetryCallState) -> None:
            failure = state.outcome.exception() if state.outcome is not None else None
            log.warning(
                "%s to %s failed (%s); retry %d/%d in %.2fs",
                label,
                self._display_url,
                getattr(failure, "reason", failure),
                state.attempt_number,
                policy.attempts - 1,
                state.upcoming_sleep,
            )

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(Transient),
            stop=tenacity.stop_after_attempt(policy.attempts)
            | tenacity.stop_before_delay(policy.total_timeout),
            wait=policy.wait,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except Transient as exc:
            elapsed = time.monotonic() - started
            count = retrying.statistics.get("attempt_number", 1)
            last = exc.reason
            if exc.retry_after is not None and count < policy.attempts:
                last += f" (Retry-After {exc.retry_after:.3g}s exceeds the retry budget)"
            raise NodeUnavailable(
                f"{label} to {self._display_url} failed after {count} attempt{'s' if count != 1 else ''}"
                f" in {elapsed:.1f}s: {last}"
            ) from None
        finally:
            self._release(session)

    # --- public generic API -------------------------------------------------------------------

    def call(
        self,
        method: str,
        params: list[Any] | tuple[Any, ...] = (),
        *,
        parse: Callable[[bytes], Any] | None = None,
    ) -> Any:
        """Call `method(params)`; its result. Raises RpcError, RangeTooWide, NodeError, NodeUnavailable.
        `parse(body)` may decode a successful answer itself (a dict with "result"), or return None."""
        request_id = next(self._ids)
        body = orjson.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})

        try:
            decoded = self._exchange(method, body, check_rate_limited, parse)
        except TooLarge as exc:
            if method == "eth_getLogs":
                raise range_too_wide(method, 413, exc.reason, None, None) from None
            raise NodeError(f"{method} to {self._display_url}: {exc.reason}") from None
        if not isinstance(decoded, dict):
            raise NodeError(
                f"{method} to {self._display_url}: malformed answer {excerpt(orjson.dumps(decoded))}"
            )
        error = decoded.get("error")
        if error is not None:
            raise classify_error(method, params, error)
        if "result" not in decoded:
            raise NodeError(
                f"{method} to {self._display_url}: answer has neither result nor error "
                f"{excerpt(orjson.dumps(decoded))}"
            )
        return decoded["result"]

    def batch(
        self,
        calls: Sequence[tuple[str, list[Any]]],
        *,
        parse: Callable[[bytes], Any] | None = None,
        settle: bool = False,
    ) -> list[Any]:
        """Make `calls` as JSON-RPC batches of <= batch_limit; the results in request order.
        The first call (in request order) that failed raises its RpcError; with `settle`, each
        failed call's RpcError takes its place among the results instead (an eth_call that
        reverts is an answer too). `parse(body)` may decode an answer itself (a list of
        {"id", "result"|"error"}), or return None."""
        calls = list(calls)
        results: list[Any] = []
        for start in range(0, len(calls), self.batch_limit):
            results.extend(self._batch_chunk(calls[start : start + self.batch_limit], parse, settle))
        return results

    def _batch_chunk(
        self,
        calls: list[tuple[str, list[Any]]],
        parse: Callable[[bytes], Any] | None = None,
        settle: bool = False,
    ) -> list[Any]:
        if not calls:
            return []
        ids = [next(self._ids) for _ in calls]
        body = orjson.dumps(
            [
                {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
                for request_id, (method, params) in zip(ids, calls)
            ]
        )
        label = f"batch of {len(calls)} ({calls[0][0]}{', ...' if len(calls) > 1 else ''})"

        try:
            decoded = self._exchange(label, body, check_rate_limited, parse)
        except TooLarge as exc:
            if len(calls) > 1:
                return self._split(calls, exc.reason, parse, settle)
            method, params = calls[0]
            if method == "eth_getLogs":
                raise range_too_wide(method, 413, exc.reason, None, None) from None
            raise NodeError(f"{method} to {self._display_url}: {exc.reason}") from None

        if isinstance(decoded, dict):  # the whole batch was refused
            error = decoded.get("error")
            if error is not None:
                message = str(error.get("message", error) if isinstance(error, dict) else error)
                if len(calls) > 1 and re.search(
                    r"batch.*(large|limit|exceed|too many|size)", message, re.IGNORECASE
                ):
                    self.batch_limit = max(1, min(self.batch_limit, len(calls) // 2))
                    return self._split(calls, message, parse, settle)
                raise classify_error(label, None, error)
            raise NodeError(
                f"{label} to {self._display_url}: malformed answer {excerpt(orjson.dumps(decoded))}"
            )
        if not isinstance(decoded, list):
            raise NodeError(
                f"{label} to {self._display_url}: malformed answer {excerpt(orjson.dumps(decoded))}"
            )
        by_id: dict[Any, dict[str, Any]] = {}
        for item in decoded:
            if isinstance(item, dict):
                by_id[item.get("id")] = item
        results: list[Any] = []
        for request_id, (method, params) in zip(ids, calls):
            item = by_id.get(request_id)
            if item is None:
                item = by_id.get(str(request_id))
            if item is None:
                raise NodeError(
                    f"{label} to {self._display_url}: no answer for {method} (id {request_id}) "
                    f"in {excerpt(orjson.dumps(decoded))}"
                )
            error = item.get("error")
            if error is not None:
                if settle:
                    results.append(classify_error(method, params, error))
                    continue
                raise classify_error(method, params, error)
            if "result" not in item:
                raise NodeError(
                    f"{method} to {self._display_url}: malformed answer {excerpt(orjson.dumps(item))}"
                )
            results.append(item["result"])
        return results

    def _split(
        self,
        calls: list[tuple[str, list[Any]]],
        reason: str,
        parse: Callable[[bytes], Any] | None = None,
        settle: bool = False,
    ) -> list[Any]:
        half = len(calls) // 2
        log.info("%s refused a batch of %d (%s); splitting it", self._display_url, len(calls), reason)
        return self._batch_chunk(calls[:half], parse, settle) + self._batch_chunk(calls[half:], parse, settle)


def _looks_like_rpc(decoded: Any) -> bool:
    if isinstance(decoded, list):
        return bool(decoded) and all(isinstance(i, dict) and ("result" in i or "error" in i) for i in decoded)
    return isinstance(decoded, dict) and ("result" in decoded or "error" in decoded)
