"""Abusive HTTP clients for the API's self-protection tests (issue 19): raw sockets against a real
server on 127.0.0.1, each bounded in count and time, and the latency of normal requests measured
beside them. The sockets come from distinct loopback addresses (127.0.0.2, 127.0.0.3, ...) where
a test needs distinct peers: every one is still this machine."""

from __future__ import annotations

import resource
import selectors
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

CHUNK = b"a" * 65536


def raise_open_files(wanted: int = 4096) -> None:
    """Raise this process's soft RLIMIT_NOFILE (children inherit it) for tests that open many sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def connect(port: int, source: str = "127.0.0.1", timeout: float = 10.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0))
    return sock


def loopback(i: int) -> str:
    """The i-th loopback address after 127.0.0.1 (127.0.0.2, ...)."""
    return f"127.0.{(i + 2) // 256}.{(i + 2) % 256}"


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * 0.95) - 1)]


def latencies(url: str, path: str, count: int, pause: float = 0.01) -> list[float]:
    """Seconds each of `count` sequential GETs of `path` took, on one keep-alive connection."""
    samples = []
    with httpx.Client(base_url=url, timeout=30) as client:
        client.get(path)  # connect first: the samples time requests, not the handshake
        for _ in range(count):
            start = time.perf_counter()
            response = client.get(path)
            samples.append(time.perf_counter() - start)
            assert response.status_code == 200, response.text
            time.sleep(pause)
    return samples


@dataclass
class FloodResult:
    sent: int  # bytes of the header sent before the server stopped reading
    answer: bytes  # what the server answered


def flood_header(port: int, size: int = 50 * 2**20) -> FloodResult:
    """Send a request whose one header grows to `size` bytes without ending; return how much went
    through before the server refused or closed the connection, and its answer."""
    sock = connect(port)
    sent = 0
    try:
        sock.sendall(b"GET /campaigns HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Flood: ")
        while sent < size:
            sock.sendall(CHUNK)
            sent += len(CHUNK)
    except OSError:
        pass
    try:
        sock.settimeout(5)
        answer = sock.recv(4096)
    except OSError:
        answer = b""
    finally:
        sock.close()
    return FloodResult(sent, answer)


@dataclass
class SlowClients:
    """`count` connections that send a request head a few bytes at a time, never ending it, and
    note when the server closes each (seconds after it was opened) and what it answered."""

    port: int
    count: int
    interval: float = 0.5
    closed_after: list[float] = field(default_factory=list)
    answers: list[bytes] = field(default_factory=list)

    def run(self, limit: float) -> None:
        """Until every connection is closed by the server, or `limit` seconds."""
        selector = selectors.DefaultSelector()
        opened: dict[socket.socket, float] = {}
        try:
            for i in range(self.count):
                sock = connect(self.port, loopback(i % 200))
                sock.sendall(b"GET /campaigns HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                sock.setblocking(False)
                opened[sock] = time.monotonic()
                selector.register(sock, selectors.EVENT_READ)
            deadline = time.monotonic() + limit
            next_drip = time.monotonic() + self.interval
            while opened and time.monotonic() < deadline:
                for key, _ in selector.select(timeout=0.05):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    try:
                        data = sock.recv(4096)
                    except OSError:
                        data = b""
                    self.answers.append(data)
                    self.closed_after.append(time.monotonic() - opened.pop(sock))
                    selector.unregister(sock)
                    sock.close()
                if time.monotonic() >= next_drip:  # one more header line each, still no end
                    for sock in opened:
                        try:
                            sock.send(b"X-Slow: 1\r\n")
                        except OSError:
                            pass
                    next_drip += self.interval
        finally:
            for sock in opened:
                sock.close()
            selector.close()


def in_background(work: Callable[[], object]) -> threading.Thread:
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


@dataclass
class StreamClients:
    """`count` clients of /ledger/stream?after=`after`, `per_address` from each loopback address,
    that read what they are sent for `hold` seconds and then leave, half of them abruptly (a TCP
    reset in the middle of the stream)."""

    port: int
    count: int
    per_address: int
    after: int = 0
    statuses: list[int] = field(default_factory=list)
    retry_after: list[str] = field(default_factory=list)
    received: list[bytes] = field(default_factory=list)

    def run(self, hold: float) -> None:
        selector = selectors.DefaultSelector()
        buffers: dict[socket.socket, bytearray] = {}
        request = b"GET /ledger/stream?after=%d HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % self.after
        try:
            for i in range(self.count):
                sock = connect(self.port, loopback(i // self.per_address))
                sock.sendall(request)
                sock.setblocking(False)
                buffers[sock] = bytearray()
                selector.register(sock, selectors.EVENT_READ)
            deadline = time.monotonic() + hold
            while time.monotonic() < deadline:
                for key, _ in selector.select(timeout=0.05):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    try:
                        data = sock.recv(65536)
                    except OSError:
                        data = b""
                    if data:
                        buffers[sock] += data
                    else:
                        selector.unregister(sock)
        finally:
            for n, (sock, data) in enumerate(buffers.items()):
                head = bytes(data).split(b"\r\n\r\n", 1)[0].decode("latin1")
                lines = head.split("\r\n")
                self.statuses.append(int(lines[0].split()[1]) if lines[0].startswith("HTTP/") else 0)
                for line in lines[1:]:
                    if line.lower().startswith("retry-after:"):
                        self.retry_after.append(line.split(":", 1)[1].strip())
                self.received.append(bytes(data))
                if n % 2 == 0:  # leave abruptly: RST instead of FIN
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                try:
                    selector.unregister(sock)
                except (KeyError, ValueError):
                    pass
                sock.close()
            selector.close()


def main(argv: list[str]) -> None:
    """`python -m tests.api.abusers KIND PORT SECONDS`: one abuse in a process of its own (so its
    work does not share the test's interpreter with the latency measurement), printing a JSON
    summary: `flood` (10 clients sending endless headers, coming back 10 times a second when refused), `slow` (1000
    clients trickling unfinished heads), `streams` (300 stream clients, 3 per address)."""
    import json

    kind, port, seconds = argv[0], int(argv[1]), float(argv[2])
    raise_open_files(4096)
    summary: dict[str, object] = {}
    if kind == "flood":
        stop = time.monotonic() + seconds
        results: list[FloodResult] = []

        def keep_flooding() -> None:
            # each refused client comes back 10 times a second: faster, the megabytes it pushes into
            # closed sockets would cost this machine's two cores more than the server's answers do
            while time.monotonic() < stop:
                results.append(flood_header(port, size=50 * 2**20))
                time.sleep(0.1)

        threads = [in_background(keep_flooding) for _ in range(10)]
        for thread in threads:
            thread.join()
        summary = {
            "attempts": len(results),
            "refused_431": sum(r.answer.startswith(b"HTTP/1.1 431 ") for r in results),
            "max_sent": max(r.sent for r in results),
        }
    elif kind == "slow":
        slow = SlowClients(port, count=1000)
        slow.run(limit=seconds)
        summary = {
            "closed": len(slow.closed_after),
            "first_closed": min(slow.closed_after, default=None),
            "last_closed": max(slow.closed_after, default=None),
            "answered_408": sum(a.startswith(b"HTTP/1.1 408 ") for a in slow.answers),
        }
    elif kind == "streams":
        clients = StreamClients(port, count=300, per_address=3, after=0)
        clients.run(hold=seconds)
        summary = {
            "statuses": clients.statuses,
            "retry_after": clients.retry_after,
            "entries": [data.count(b"event: entry\n") for data in clients.received],
        }
    print(json.dumps(summary))


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
