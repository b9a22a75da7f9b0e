"""Documents the ledger commits to by hash (issue 20): anyone may upload the bytes, and the chain
decides what is authentic. This is the API's only write: documents live in their own table,
stored in short transactions that touch no row of the indexer's (ledger/db/documents.py).

    PUT /documents/0x{hash}   the raw bytes (at most 1 MiB, read within `document_read_timeout`):
                              201 stored, 200 already stored; checked in this order: 413 too large,
                              404 nothing on the ledger commits to the hash, 422 the bytes do not hash
                              to it; 503 with Retry-After when the indexer holds SQLite's write lock
    GET /documents/0x{hash}   the exact bytes: application/json if they parse as JSON, text/plain if
                              UTF-8 text, else application/octet-stream as an attachment; nosniff
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, HTTPException, Path, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from api.deps import HASH_PATTERN, runtime_of
from api.errors import RESPONSES
from api.queries.documents import stored_document
from api.responses import JSON
from api.schemas.documents import DocumentStoredPublic
from ledger.core.documents import BINARY, MAX_DOCUMENT_BYTES, document_hash, document_of
from ledger.db.documents import committed, store_document
from ledger.errors import DatabaseBusy

router = APIRouter(prefix="/documents", tags=["documents"], responses=RESPONSES)

RETRY_AFTER = "2"
DocumentHash = Annotated[
    str, Path(pattern=HASH_PATTERN, description="the document's keccak256: 0x and 64 hex digits")
]
IMMUTABLE = "public, max-age=31536000, immutable"  # a hash names one content forever
ERROR_JSON = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorPublic"}}}
STORED: dict[int | str, dict[str, Any]] = {
    200: {"description": "already stored (the same bytes)", "model": DocumentStoredPublic},
    201: {"description": "stored", "model": DocumentStoredPublic},
    404: {"description": "nothing on the ledger commits to this hash", "content": ERROR_JSON},
    408: {"description": "the body did not arrive in time", "content": ERROR_JSON},
    413: {"description": f"the body is over {MAX_DOCUMENT_BYTES:,} bytes", "content": ERROR_JSON},
    422: {"description": "the bytes do not hash to the hash in the path", "content": ERROR_JSON},
    503: {
        "description": "the database is busy (the indexer is writing): see Retry-After",
        "content": ERROR_JSON,
    },
}
BODY = {
    "requestBody": {
        "required": True,
        "description": f"the document's exact bytes, at most {MAX_DOCUMENT_BYTES:,}",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}
SERVED: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the document's exact bytes",
        "content": {
            "application/json": {"schema": {}},
            "text/plain": {"schema": {"type": "string"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    },
    404: {"description": "no document with this hash is stored", "content": ERROR_JSON},
}


def too_large() -> HTTPException:
    return HTTPException(413, f"a document is at most {MAX_DOCUMENT_BYTES:,} bytes")


async def read_body(request: Request, timeout: float) -> bytes:
    """The request's body: 413 past the cap (by Content-Length before reading), 408 if it takes
    longer than `timeout` seconds."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_DOCUMENT_BYTES:
        raise too_large()
    chunks: list[bytes] = []
    size = 0
    try:
        with anyio.fail_after(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_DOCUMENT_BYTES:
                    raise too_large()
                chunks.append(chunk)
    except TimeoutError:
        raise HTTPException(408, f"the document did not arrive within {timeout:g} s") from None
    return b"".join(chunks)


@router.put(
    "/{hash}", status_code=201, response_model=DocumentStoredPublic, responses=STORED, openapi_extra=BODY
)
async def put_document(request: Request, hash: DocumentHash) -> JSON:
    """Store a document the ledger commits to (a campaign's metadata, a report, a disclosure, or an image a stored metadata document names), if its bytes hash to it."""
    runtime = runtime_of(request)
    wanted = hash.lower()
    body = await read_body(request, runtime.settings.document_read_timeout)
    engine = runtime.engine
    if not await run_in_threadpool(committed, engine, wanted):
        raise HTTPException(
            404, f"nothing on the ledger commits to {wanted}: only documents the ledger names are stored"
        )
    actual = document_hash(body)
    if actual != wanted:
        raise HTTPException(422, f"these {len(body):,} bytes hash to {actual}, not {wanted}")
    document = document_of(body, int(time.time()))
    try:
        stored = await run_in_threadpool(store_document, engine, document)
    except DatabaseBusy as exc:
        raise HTTPException(503, str(exc), headers={"Retry-After": RETRY_AFTER}) from None
    runtime.metadata.forget_missing(wanted)
    answer: DocumentStoredPublic = {
        "hash": wanted,
        "size": document.size,
        "media_type": document.media_type,
        "detail": "stored" if stored else "already stored",
    }
    return JSON(answer, status_code=201 if stored else 200, headers={"Location": f"/documents/{wanted}"})


@router.get("/{hash}", response_class=Response, responses=SERVED)
async def get_document(request: Request, hash: DocumentHash) -> Response:
    """A stored document's exact bytes (check them: their keccak256 is the hash)."""
    runtime = runtime_of(request)
    wanted = hash.lower()
    found = await stored_document(runtime.db, wanted)
    if found is None:
        raise HTTPException(
            404, f"no document {wanted} is stored: GET /campaigns/{{id}} says which are published"
        )
    headers = {
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "Cache-Control": IMMUTABLE,
        "ETag": f'"{wanted}"',
    }
    if found.media_type == BINARY:
        headers["Content-Disposition"] = f'attachment; filename="{wanted}.bin"'
    return Response(found.body, media_type=found.media_type, headers=headers)


@router.api_route("/{hash}", methods=["DELETE", "OPTIONS", "PATCH", "POST"], include_in_schema=False)
async def other_methods(hash: str) -> JSON:
    """A method this path does not take: 405 naming both it does (Starlette's own 405 would name
    only the first route's)."""
    return JSON({"detail": "Method Not Allowed"}, status_code=405, headers={"Allow": "GET, HEAD, PUT"})
