"""A small, fast JSON-RPC client over HTTP for the indexer.

    with RpcClient("http://127.0.0.1:8545") as rpc:
        head = rpc.block_number()
        logs = rpc.get_logs(escrow, 0, head)

One `requests.Session` per concurrent user (keep-alive), orjson for encoding and decoding, no
web3.py. Transient failures (connection refused/reset, timeouts, HTTP 5xx, HTTP 429 and
JSON-RPC "rate limited" answers) are retried with exponential backoff and jitter within a
`RetryPolicy`; past the budget the call raises `NodeUnavailable`. A JSON-RPC error object raises
`RpcError`; an eth_getLogs range or result-count refusal raises `RangeTooWide`, with the
provider's suggested end block in `suggested_to_block` when its message gives one.

The client is safe to share between threads: each call borrows a Session from a small pool.
"""

from __future__ import annotations

import itertools
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
import requests
from requests.adapters import HTTPAdapter

from ledger import __version__
from ledger.chain.events import RawLog, decode_logs_answer
from ledger.errors import ConfigError, NodeError, NodeUnavailable, RangeTooWide, RpcError

log = logging.getLogger("ledger.rpc")

__all__ = ["RetryPolicy", "RpcClient", "classify_error", "range_too_wide"]

_HEADERS = {
    "User-Agent": f"crowdledger-rpc/{__version__} {requests.utils.default_user_agent()}",
    "Accept-Encoding": "gzip, deflate",
    "Accept": "application/json",
    "Content-Type": "application/json",
    "Connection": "keep-alive",
}
# A kept-alive connection the server closed while idle fails once this way: retry at once.
_STALE_CONNECTION = {"connection closed by the server", "connection reset", "connection closed (broken pipe)"}
_EXCERPT = 200


@dataclass(frozen=True)
class RetryPolicy:
    """A bounded retry budget: at most `attempts` tries (the first included) within
    `total_timeout` seconds, sleeping base_delay * 2**n (capped at max_delay, with jitter)."""

    attempts: int = 8
    base_delay: float = 0.25
    max_delay: float = 8.0
    total_timeout: float = 120.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ConfigError(f"RetryPolicy.attempts must be >= 1, got {self.attempts}")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ConfigError("RetryPolicy delays must not be negative")
        if self.total_timeout <= 0:
            raise ConfigError(f"RetryPolicy.total_timeout must be > 0, got {self.total_timeout}")

    def backoff(self, retry: int) -> float:
        """The sleep before retry number `retry` (1 = the first retry), with jitter."""
        delay = min(self.max_delay, self.base_delay * (2 ** (retry - 1)))
        return random.uniform(delay / 2, delay)


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


def _check_rate_limited(decoded: Any) -> None:
    """Raise _Transient if the answer (or any item of a batch answer) says "rate limited"."""
    if isinstance(decoded, dict):
        error = decoded.get("error")
        if error is not None and _is_rate_limited(error):
            raise _Transient(f"rate limited: {error.get('message')}")
    elif isinstance(decoded, list):
        for item in decoded:
            if isinstance(item, dict) and item.get("error") is not None and _is_rate_limited(item["error"]):
                raise _Transient(f"rate limited: {item['error'].get('message')}")


# --- transport --------------------------------------------------------------------------------


class _Transient(Exception):
    """One attempt failed in a way worth retrying."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class _TooLarge(Exception):
    """HTTP 413 (or a batch-size refusal): the request must be made smaller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _redact(url: str) -> str:
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


def _excerpt(body: bytes) -> str:
    text = body[:_EXCERPT].decode("utf-8", errors="replace")
    return repr(text + ("..." if len(body) > _EXCERPT else ""))


def _describe(exc: BaseException) -> str:
    """A short reason for a transport exception: 'connection refused', 'timed out', ..."""
    stack: list[BaseException] = [exc]
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
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


def _retry_after(value: str | None) -> float | None:
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


def _block_tag(block: int | str) -> str:
    if isinstance(block, bool):
        raise ConfigError(f"not a block number or tag: {block!r}")
    if isinstance(block, int):
        if block < 0:
            raise ConfigError(f"block number must not be negative, got {block}")
        return hex(block)
    if isinstance(block, str) and block:
        return block
    raise ConfigError(f"not a block number or tag: {block!r}")


def _is_block_hash(block: int | str) -> bool:
    return isinstance(block, str) and len(block) == 66 and block[:2].lower() == "0x"


_RETRYABLE_EXCEPTIONS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


class RpcClient:
    """A JSON-RPC client for one node URL. Thread-safe; use as a context manager or `close()`."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 30.0,
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
        self.url = url.strip()
        self.timeout = float(timeout)
        self.retry = retry or RetryPolicy()
        self.batch_limit = batch_limit
        self._display_url = _redact(self.url)
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
        timeout: float,
        parse: Callable[[bytes], Any] | None = None,
    ) -> Any:
        """One HTTP POST; the decoded JSON. Raises _Transient, _TooLarge or NodeError. `parse`, if
        given, decodes a 200 answer instead of orjson; None from it means "use orjson"."""
        request = self._template.copy()  # prepared once: skips URL parsing and header merging
        request.body = body
        request.headers["Content-Length"] = str(len(body))
        try:
            response = session.send(request, timeout=timeout)
        except _RETRYABLE_EXCEPTIONS as exc:
            reason = _describe(exc)
            if isinstance(exc, requests.Timeout) and reason == "timed out":
                reason = f"timed out after {timeout:.3g}s"
            raise _Transient(reason) from exc
        status = response.status_code
        content = response.content
        if status == 429:
            raise _Transient("HTTP 429 Too Many Requests", _retry_after(response.headers.get("Retry-After")))
        if status == 413:
            raise _TooLarge(f"HTTP 413 {response.reason or 'Payload Too Large'}")
        if status >= 500 and status != 500:
            raise _Transient(
                f"HTTP {status} {response.reason or ''}".rstrip(),
                _retry_after(response.headers.get("Retry-After")),
            )
        if parse is not None and status == 200:
            decoded = parse(content)
            if decoded is not None:
                return decoded
        try:
            decoded = orjson.loads(content)
        except orjson.JSONDecodeError:
            if status == 500:
                raise _Transient(f"HTTP 500 {response.reason or ''}".rstrip()) from None
            raise NodeError(
                f"{self._display_url} answered HTTP {status} that is not JSON: {_excerpt(content)}"
            ) from None
        if status >= 400 and not _looks_like_rpc(decoded):
            if status == 500:
                raise _Transient("HTTP 500 Internal Server Error")
            raise NodeError(f"{self._display_url} answered HTTP {status}: {_excerpt(content)}")
        return decoded

    def _exchange(
        self, label: str, body: bytes, check: Any = None, parse: Callable[[bytes], Any] | None = None
    ) -> Any:
        """POST `body` with retries; `check(decoded)` may raise _Transient to retry the exchange."""
        policy = self.retry
        started = time.monotonic()
        deadline = started + policy.total_timeout
        last = "no attempt made"
        attempt = 0
        session = self._acquire()
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                attempt += 1
                try:
                    decoded = self._post_once(session, body, min(self.timeout, remaining), parse)
                    if check is not None:
                        check(decoded)
                    return decoded
                except _Transient as exc:
                    last = exc.reason
                    if attempt >= policy.attempts:
                        break
                    if exc.retry_after is not None:
                        delay = exc.retry_after
                    elif attempt == 1 and exc.reason in _STALE_CONNECTION:
                        delay = 0.0
                    else:
                        delay = policy.backoff(attempt)
                    if time.monotonic() + delay >= deadline:
                        if exc.retry_after is not None:
                            last += f" (Retry-After {exc.retry_after:.3g}s exceeds the retry budget)"
                        break
                    log.warning(
                        "%s to %s failed (%s); retry %d/%d in %.2fs",
                        label,
                        self._display_url,
                        last,
                        attempt,
                        policy.attempts - 1,
                        delay,
                    )
                    time.sleep(delay)
        finally:
            self._release(session)
        elapsed = time.monotonic() - started
        raise NodeUnavailable(
            f"{label} to {self._display_url} failed after {attempt} attempt{'s' if attempt != 1 else ''}"
            f" in {elapsed:.1f}s: {last}"
        )

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
            decoded = self._exchange(method, body, _check_rate_limited, parse)
        except _TooLarge as exc:
            if method == "eth_getLogs":
                raise range_too_wide(method, 413, exc.reason, None, None) from None
            raise NodeError(f"{method} to {self._display_url}: {exc.reason}") from None
        if not isinstance(decoded, dict):
            raise NodeError(
                f"{method} to {self._display_url}: malformed answer {_excerpt(orjson.dumps(decoded))}"
            )
        error = decoded.get("error")
        if error is not None:
            raise classify_error(method, params, error)
        if "result" not in decoded:
            raise NodeError(
                f"{method} to {self._display_url}: answer has neither result nor error "
                f"{_excerpt(orjson.dumps(decoded))}"
            )
        return decoded["result"]

    def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        """Make `calls` as JSON-RPC batches of <= batch_limit; the results in request order.
        The first call (in request order) that failed raises its RpcError."""
        calls = list(calls)
        results: list[Any] = []
        for start in range(0, len(calls), self.batch_limit):
            results.extend(self._batch_chunk(calls[start : start + self.batch_limit]))
        return results

    def _batch_chunk(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
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
            decoded = self._exchange(label, body, _check_rate_limited)
        except _TooLarge as exc:
            if len(calls) > 1:
                return self._split(calls, exc.reason)
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
                    return self._split(calls, message)
                raise classify_error(label, None, error)
            raise NodeError(
                f"{label} to {self._display_url}: malformed answer {_excerpt(orjson.dumps(decoded))}"
            )
        if not isinstance(decoded, list):
            raise NodeError(
                f"{label} to {self._display_url}: malformed answer {_excerpt(orjson.dumps(decoded))}"
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
                    f"in {_excerpt(orjson.dumps(decoded))}"
                )
            error = item.get("error")
            if error is not None:
                raise classify_error(method, params, error)
            if "result" not in item:
                raise NodeError(
                    f"{method} to {self._display_url}: malformed answer {_excerpt(orjson.dumps(item))}"
                )
            results.append(item["result"])
        return results

    def _split(self, calls: list[tuple[str, list[Any]]], reason: str) -> list[Any]:
        half = len(calls) // 2
        log.info("%s refused a batch of %d (%s); splitting it", self._display_url, len(calls), reason)
        return self._batch_chunk(calls[:half]) + self._batch_chunk(calls[half:])

    # --- typed helpers ------------------------------------------------------------------------

    def _quantity(self, method: str, value: Any) -> int:
        try:
            return int(value, 16)
        except (TypeError, ValueError):
            raise NodeError(
                f"{method} to {self._display_url}: expected a hex quantity, got {value!r:.80}"
            ) from None

    def _data(self, method: str, value: Any) -> bytes:
        try:
            if not value.startswith(("0x", "0X")):
                raise ValueError
            return bytes.fromhex(value[2:])
        except (AttributeError, TypeError, ValueError):
            raise NodeError(
                f"{method} to {self._display_url}: expected hex data, got {value!r:.80}"
            ) from None

    def chain_id(self) -> int:
        return self._quantity("eth_chainId", self.call("eth_chainId"))

    def block_number(self) -> int:
        return self._quantity("eth_blockNumber", self.call("eth_blockNumber"))

    def get_block(self, block: int | str, full: bool = False) -> dict[str, Any] | None:
        """The block as the node returns it (hex strings); None if the node has no such block.
        `block` is a number, a tag ("latest", "finalized", ...) or a 32-byte block hash."""
        found: dict[str, Any] | None
        if _is_block_hash(block):
            found = self.call("eth_getBlockByHash", [block, full])
        else:
            found = self.call("eth_getBlockByNumber", [_block_tag(block), full])
        return found

    def get_blocks(self, numbers: Sequence[int]) -> list[dict[str, Any] | None]:
        """Block headers (no transactions) for `numbers` in one batched exchange, in the same order.
        A block the node does not have (above a head that moved back) comes back as None."""
        return self.batch([("eth_getBlockByNumber", [_block_tag(n), False]) for n in numbers])

    def get_logs(
        self, address: str, from_block: int, to_block: int, topics: list[Any] | None = None
    ) -> list[RawLog]:
        """The logs of `address` in [from_block, to_block], in the node's (block, logIndex) order,
        decoded and format-checked (ledger.chain.events.RawLog)."""
        query: dict[str, Any] = {
            "address": address,
            "fromBlock": _block_tag(from_block),
            "toBlock": _block_tag(to_block),
        }
        if topics is not None:
            query["topics"] = topics
        logs: list[RawLog] = self.call("eth_getLogs", [query], parse=decode_logs_answer)
        return logs

    def eth_call(self, to: str, data: bytes | str, block: int | str = "latest") -> bytes:
        payload = data if isinstance(data, str) else "0x" + bytes(data).hex()
        return self._data("eth_call", self.call("eth_call", [{"to": to, "data": payload}, _block_tag(block)]))

    def get_code(self, address: str, block: int | str = "latest") -> bytes:
        return self._data("eth_getCode", self.call("eth_getCode", [address, _block_tag(block)]))

    def get_balance(self, address: str, block: int | str = "latest") -> int:
        return self._quantity("eth_getBalance", self.call("eth_getBalance", [address, _block_tag(block)]))

    def get_transaction(self, tx_hash: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.call("eth_getTransactionByHash", [tx_hash])
        return found

    def get_transaction_receipt(self, tx_hash: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.call("eth_getTransactionReceipt", [tx_hash])
        return found


def _looks_like_rpc(decoded: Any) -> bool:
    if isinstance(decoded, list):
        return bool(decoded) and all(isinstance(i, dict) and ("result" in i or "error" in i) for i in decoded)
    return isinstance(decoded, dict) and ("result" in decoded or "error" in decoded)
