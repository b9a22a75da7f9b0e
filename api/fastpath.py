"""The hot routes without FastAPI's per-request parameter work, for requests whose parameters
are already in canonical form.

FastAPI validates a route's parameters on every request by re-walking their declarations
(annotations, unions, sub-dependencies): on this API that cost a bare endpoint's whole time again
for `/ledger?after=...`, more than the query. FastRoute keeps everything else FastAPI does
(routing, the exception handlers, the middleware, and the route's declarations, so /openapi.json
is unchanged) and only replaces that step when a request's parameters are plainly valid:

    @router.get("/{seq}", response_model=EntryDetailPublic)
    @fast(path={"seq": Int(ge=1)})
    async def read_entry(request: Request, seq: Seq) -> Response: ...

A request takes the fast path only when every parameter it carries is one the route declares,
given once, in canonical form (digits without leading zeros within the declared range, an
address or a cursor in the declared alphabet): then the value is exactly what FastAPI's
validation would have produced. Anything else (a bad value, an unknown or repeated parameter,
percent-escapes) goes through FastAPI as before, so errors and their messages are FastAPI's.
The endpoint is called with keyword arguments either way and must not use Depends().
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi.routing import APIRoute
from starlette._utils import get_route_path
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import Receive, Scope, Send

INT64 = 2**63 - 1
_DIGITS = re.compile(r"0|[1-9][0-9]{0,17}")  # up to 18 digits: always below 2**63
_FAST = "__crowdledger_fast__"


class Param:
    """A canonical-form check: `parse(text)` is the value, or None to let FastAPI decide."""

    def parse(self, text: str) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class Int(Param):
    """An integer in [ge, le] written in plain digits, no sign, no leading zero."""

    ge: int = 0
    le: int = INT64

    def parse(self, text: str) -> int | None:
        if _DIGITS.fullmatch(text) is None:
            return None
        value = int(text)
        return value if self.ge <= value <= self.le else None


@dataclass(frozen=True)
class Text(Param):
    """A string that matches `pattern` as a whole (the declared pattern without ^ and $)."""

    pattern: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "_regex", re.compile(self.pattern))

    def parse(self, text: str) -> str | None:
        return text if self._regex.fullmatch(text) is not None else None  # type: ignore[attr-defined]


Parser = Callable[[Request], "dict[str, Any] | None"]


def parser(path: dict[str, Param] | None = None, query: dict[str, Param] | None = None) -> Parser:
    """The fast parser of a route with these path and query parameters: the keyword arguments
    for the endpoint, or None when the request is not in canonical form."""
    path_params = tuple((path or {}).items())
    query_params = dict(query or {})
    query_charset = re.compile(r"[A-Za-z0-9_=&-]*")  # no escapes, no '+', no ';'

    def parse(request: Request) -> dict[str, Any] | None:
        values: dict[str, Any] = {}
        given = request.path_params
        for name, param in path_params:
            value = param.parse(given[name])
            if value is None:
                return None
            values[name] = value
        raw = request.scope["query_string"]
        if raw:
            try:
                text = raw.decode("ascii")
            except UnicodeDecodeError:
                return None
            if query_charset.fullmatch(text) is None:
                return None
            for pair in text.split("&"):
                name, sep, literal = pair.partition("=")
                param = query_params.get(name)
                if param is None or not sep or name in values:
                    return None
                value = param.parse(literal)
                if value is None:
                    return None
                values[name] = value
        return values

    return parse


def fast(path: dict[str, Param] | None = None, query: dict[str, Param] | None = None) -> Callable[[Any], Any]:
    """Mark an endpoint for FastRoute: `path` and `query` name its parameters' canonical forms."""

    def mark(endpoint: Any) -> Any:
        setattr(endpoint, _FAST, parser(path, query))
        return endpoint

    return mark


class FastRoute(APIRoute):
    """An APIRoute that calls a @fast endpoint directly when the request is canonical, and
    through FastAPI's request handler (validation, dependencies) otherwise.

    It also turns away a path that does not start with its static prefix (the path up to its
    first parameter) before FastAPI's matching: a request tries the routes in order, and each
    full miss costs ~5 us (FastAPI's route context, Starlette's regex); /ledger/{seq} is the
    thirteenth route. A path without that prefix can never match the route's pattern, so the
    answer is the same."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        self.static_prefix = self.path_format.split("{", 1)[0]

    @property
    def fast_parse(self) -> Parser | None:
        """The endpoint's @fast parser, if it has one."""
        return getattr(self.endpoint, _FAST, None)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and not get_route_path(scope).startswith(self.static_prefix):
            return Match.NONE, {}
        return super().matches(scope)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        parse = self.fast_parse
        if parse is None:
            return handler
        endpoint = self.endpoint

        async def fast_handler(request: Request) -> Response:
            values = parse(request)
            if values is None:
                return await handler(request)
            return await endpoint(request=request, **values)  # type: ignore[no-any-return]

        return fast_handler


def _first_segment(path: str) -> str:
    return path.split("/", 2)[1] if path.startswith("/") else ""


def _may_overlap(route: BaseRoute, fast_route: FastRoute) -> bool:
    """Whether some path could match both `route` and `fast_route` (conservatively: True when
    `route` has no path template to compare)."""
    template = getattr(route, "path_format", None)
    if not isinstance(template, str):
        return True
    prefix = template.split("{", 1)[0]
    return prefix.startswith(fast_route.static_prefix) or fast_route.static_prefix.startswith(prefix)


def _could_match(route: BaseRoute, scope: Scope) -> bool:
    """Whether `route` matches the request's path, for any method (its regex; else its matches)."""
    regex = getattr(route, "path_regex", None)
    if regex is not None:
        return regex.match(get_route_path(scope)) is not None
    return route.matches(scope)[0] is not Match.NONE


class HotRoutes:
    """Answers the canonical GET requests of the @fast routes from the app's middleware, without
    FastAPI's router and its inner layers (exception and exit-stack middleware, body limits,
    per-route request wrapping): on this API those cost more than a bare endpoint's whole
    request (~120 us of CPU), more than the ledger page's query.

    A request is served here only when FastAPI would route it to the same FastRoute: the route
    matches it (its own `matches`), no route before it that could share a path matches it, and
    its parameters pass the route's fast parser. Anything else, and any exception the endpoint
    raises (a 404, a database error), returns False: the caller then sends the request down
    FastAPI's full path, whose exception handlers answer it (the hot routes are read-only, so
    running one again is harmless).

        hot = HotRoutes(app.router.routes)
        if not await hot.serve(scope, receive, send):
            await app_stack(scope, receive, send)
    """

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self._by_segment: dict[str, list[tuple[FastRoute, tuple[BaseRoute, ...]]]] = {}
        for index, route in enumerate(routes):
            if isinstance(route, FastRoute) and route.fast_parse is not None and "GET" in (route.methods or ()):
                earlier = tuple(other for other in routes[:index] if _may_overlap(other, route))
                self._by_segment.setdefault(_first_segment(route.static_prefix), []).append((route, earlier))

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Answer the request if it is a hot route's; False (nothing sent) otherwise."""
        if scope["type"] != "http" or scope["method"] != "GET":
            return False
        candidates = self._by_segment.get(_first_segment(get_route_path(scope)))
        if candidates is None:
            return False
        for route, earlier in candidates:
            match, child_scope = route.matches(scope)
            if match is not Match.FULL:
                continue
            if any(_could_match(other, scope) for other in earlier):
                return False
            route_scope = {**scope, **child_scope}
            request = Request(route_scope, receive)
            try:
                values = route.fast_parse(request)  # type: ignore[misc]
                if values is None:
                    return False
                response = await route.endpoint(request=request, **values)
            except Exception:  # noqa: BLE001 - FastAPI's path runs it again and its handlers answer
                return False
            scope["route"] = route  # the metrics label
            await response(route_scope, receive, send)
            return True
        return False
