"""Request counts and latencies for GET /metrics (Prometheus text format 0.0.4), recorded by a
plain ASGI middleware: a few microseconds per request, no client library.

Requests are labelled by route template (`/campaigns/{campaign_id}`, which FastAPI's routing puts
in the request's scope), never by raw path, so the number of series stays bounded whatever
clients send.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED = "<unmatched>"


class Metrics:
    """Counters and latency histograms per (method, route, status) and route."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.buckets: dict[str, list[int]] = {}
        self.sums: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(method, route, status)] += 1
            counts = self.buckets.get(route)
            if counts is None:
                counts = self.buckets[route] = [0] * (len(BUCKETS) + 1)
            counts[bisect_left(BUCKETS, seconds)] += 1
            self.sums[route] += seconds
            self.counts[route] += 1

    def render(self, gauges: Iterable[tuple[str, str, float | int | None]]) -> str:
        """The exposition text: `gauges` (name, help, value; None is left out), then requests."""
        lines: list[str] = []
        for name, help_, value in gauges:
            if value is None:
                continue
            lines += [f"# HELP {name} {help_}", f"# TYPE {name} gauge", f"{name} {_number(value)}"]
        with self._lock:
            requests = sorted(self.requests.items())
            histograms = sorted(
                (route, list(c), self.sums[route], self.counts[route]) for route, c in self.buckets.items()
            )
        lines += [
            "# HELP crowdledger_http_requests_total HTTP requests answered, by method, route and status.",
            "# TYPE crowdledger_http_requests_total counter",
        ]
        for (method, route, status), count in requests:
            lines.append(
                f'crowdledger_http_requests_total{{method="{method}",route="{_label(route)}",status="{status}"}} {count}'
            )
        lines += [
            "# HELP crowdledger_http_request_duration_seconds Time to answer, by route.",
            "# TYPE crowdledger_http_request_duration_seconds histogram",
        ]
        for route, counts, total, count in histograms:
            label = _label(route)
            cumulative = 0
            for bound, n in zip(BUCKETS, counts):
                cumulative += n
                lines.append(
                    f'crowdledger_http_request_duration_seconds_bucket{{route="{label}",le="{bound}"}} {cumulative}'
                )
            lines.append(
                f'crowdledger_http_request_duration_seconds_bucket{{route="{label}",le="+Inf"}} {count}'
            )
            lines.append(f'crowdledger_http_request_duration_seconds_sum{{route="{label}"}} {total:.6f}')
            lines.append(f'crowdledger_http_request_duration_seconds_count{{route="{label}"}} {count}')
        return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class MetricsMiddleware:
    """Times every HTTP request into `metrics`, under the template of the route that answered it."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            self.metrics.observe(scope["method"], route, status, time.perf_counter() - start)
