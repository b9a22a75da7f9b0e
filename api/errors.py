"""One place that turns failures into HTTP answers, each `{"detail": "<what is wrong>"}`.

    ConfigError (bad input the ledger refused)       400
    NodeUnavailable                                 503   the node did not answer
    NodeError, NotAnEscrowError                     502   the node answered uselessly
    StorageError                                    503   the database did not answer
    other CrowdLedgerError                          500
    request validation (path, query, header)        422   "<where> <name>: <message>"

Routes raise HTTPException(400/404) for their own checks; FastAPI answers those as they are.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError

from api.responses import JSON
from api.schemas.common import ErrorPublic
from ledger.errors import (
    ConfigError,
    CrowdLedgerError,
    NodeError,
    NodeUnavailable,
    NotAnEscrowError,
    StorageError,
)

log = logging.getLogger("api")

STATUS = (
    (ConfigError, 400),
    (NodeUnavailable, 503),
    (NodeError, 502),
    (NotAnEscrowError, 502),
    (StorageError, 503),
)


# documented on every route (the routers pass it to APIRouter(responses=...))
RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorPublic, "description": "bad input: the message says what is wrong"},
    404: {"model": ErrorPublic, "description": "no such thing in the indexed ledger"},
    422: {"model": ErrorPublic, "description": "a parameter does not have the documented form"},
    502: {"model": ErrorPublic, "description": "the node gave an unusable answer"},
    503: {"model": ErrorPublic, "description": "the database or the node does not answer"},
}


def json_errors() -> dict[int | str, dict[str, Any]]:
    """RESPONSES for a route whose success is not JSON (a stream, plain text): its errors still are."""
    schema = {"$ref": "#/components/schemas/ErrorPublic"}
    return {
        status: {"description": doc["description"], "content": {"application/json": {"schema": schema}}}
        for status, doc in RESPONSES.items()
    }


def status_of(exc: CrowdLedgerError) -> int:
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def describe_validation(errors: list[dict[str, Any]]) -> str:
    """FastAPI's validation errors as one sentence: 'query limit: Input should be ... 500'."""
    parts = []
    for error in errors:
        loc = [str(p) for p in error.get("loc", ())]
        where = " ".join(loc) if loc else "request"
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        value = error.get("input")
        shown = (
            f" (got {value!r:.60})"
            if isinstance(value, (str, int, float)) and not isinstance(value, bool)
            else ""
        )
        parts.append(f"{where}: {message}{shown}")
    return "; ".join(parts) or "invalid request"


async def ledger_error(request: Request, exc: Exception) -> JSON:
    """A CrowdLedgerError (the handler Starlette calls for that class) as its status."""
    status = status_of(exc) if isinstance(exc, CrowdLedgerError) else 500
    if status >= 500:
        log.warning("%s %s: %s", request.method, request.url.path, exc)
    return JSON({"detail": str(exc)}, status_code=status)


async def validation_error(request: Request, exc: Exception) -> JSON:
    """A RequestValidationError (the handler Starlette calls for that class) in one sentence."""
    errors = list(exc.errors()) if isinstance(exc, RequestValidationError) else []
    return JSON({"detail": describe_validation(errors)}, status_code=422)


def install(app: FastAPI) -> None:
    app.add_exception_handler(CrowdLedgerError, ledger_error)
    app.add_exception_handler(RequestValidationError, validation_error)
