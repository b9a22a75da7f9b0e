"""The ledger itself: pages in seq order, one entry with its place in the hash chain, the full
export, and a live stream of new entries (server-sent events).

Final entries never change, so /ledger/{seq} answers them with an ETag (the entry's head) and
`Cache-Control: public, max-age=31536000, immutable`, and a matching If-None-Match with 304;
provisional ones are `no-cache`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from starlette.responses import Response

from api.deps import INT64, RuntimeDep, Seq, runtime_of
from api.errors import RESPONSES, json_errors
from api.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery, decode_cursor, encode_cursor
from api.queries.checkpoint import genesis_head, sync_state
from api.queries.ledger import entry_page, stored_entry
from api.responses import JSON, fragments
from api.schemas.ledger import EntriesPublic, EntryDetailPublic, ExportFormat
from api.streams import EventStream, check_start, entry_events
from ledger.audit.export import export_lines
from ledger.core.public import finish

router = APIRouter(prefix="/ledger", tags=["ledger"], responses=RESPONSES)

FINAL_CACHE = "public, max-age=31536000, immutable"
AfterQuery = Annotated[
    int | None,
    Query(
        ge=0,
        le=INT64,
        description="start after this seq (0 = from the first entry); a cursor, if given, wins",
    ),
]
MEDIA = {"ndjson": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}


@router.get("", response_model=EntriesPublic)
async def list_entries(
    request: Request, after: AfterQuery = None, limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None
) -> JSON:
    """Ledger entries in seq order, from `after` (a seq) or a `cursor` (which wins), a page at a time."""
    start = decode_cursor(cursor, "ledger", ("int",))[0] if cursor else (after or 0)
    found = await entry_page(runtime_of(request).db, after=start, limit=limit)
    next_cursor = encode_cursor("ledger", (found.last_seq,)) if found.more else None
    return JSON({"data": fragments(text for _, text in found.entries), "next": next_cursor})


def _chunked(lines: Iterable[bytes], size: int = 1 << 16) -> Iterator[bytes]:
    """Join small lines into ~64 KiB chunks: each chunk is one hop to the event loop."""
    buffer: list[bytes] = []
    length = 0
    for line in lines:
        buffer.append(line)
        length += len(line)
        if length >= size:
            yield b"".join(buffer)
            buffer, length = [], 0
    if buffer:
        yield b"".join(buffer)


@router.get(
    "/export",
    response_class=StreamingResponse,
    response_model=None,
    responses={
        200: {
            "description": "one line per entry (NDJSON), or a header and one row per entry (CSV)",
            "content": {
                "application/x-ndjson": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
)
async def export_ledger(
    runtime: RuntimeDep,
    format: Annotated[ExportFormat, Query(description="ndjson or csv")] = ExportFormat.ndjson,
    after: AfterQuery = None,
) -> StreamingResponse:
    """The whole ledger (or from `after`) in the export format `crowdledger audit --from` replays, streamed."""
    lines = export_lines(runtime.store.iter_entries(after_seq=after or 0), format.value)
    body = _chunked(lines) if format == ExportFormat.ndjson else lines
    return StreamingResponse(
        body,
        media_type=MEDIA[format.value],
        headers={"Content-Disposition": f'attachment; filename="crowdledger-ledger.{format.value}"'},
    )


async def stream_start(
    runtime: RuntimeDep,
    after: AfterQuery = None,
    last_event_id: Annotated[
        str | None,
        Header(description="resume after this seq (browsers send it when they reconnect); wins over `after`"),
    ] = None,
) -> int:
    """The seq the stream starts after: Last-Event-ID, else `after`, else the newest; at most
    `stream_max_replay` entries back."""
    newest = await runtime.feed.current()
    if last_event_id is not None and last_event_id.strip() != "":
        text = last_event_id.strip()
        if not text.isascii() or not text.isdigit() or int(text) > INT64:
            raise HTTPException(400, f"Last-Event-ID must be a seq (a whole number), got {text[:40]!r}")
        start = int(text)
    else:
        start = newest if after is None else after
    check_start(start, newest, runtime.settings.stream_max_replay)
    return start


async def stream_slot(request: Request, runtime: RuntimeDep) -> AsyncIterator[None]:
    """One of the open streams the limits allow (503 past them), given back when the stream ends."""
    client = request.client.host if request.client else "unknown"
    runtime.streams.take(client)
    try:
        yield
    finally:
        runtime.streams.give(client)


STREAM_EVENTS = {
    "text/event-stream": {
        "itemSchema": {
            "type": "object",
            "properties": {
                "data": {
                    "type": "string",
                    "contentMediaType": "application/json",
                    "contentSchema": {"$ref": "#/components/schemas/EntryPublic"},
                },
                "event": {"type": "string", "enum": ["entry", "rollback"]},
                "id": {"type": "string"},
            },
            "required": ["data"],
        }
    }
}


@router.get(
    "/stream",
    response_class=EventStream,
    response_model=None,
    responses={
        **json_errors(),
        200: {
            "description": "`entry` events (id = seq, data = the entry), and a `rollback` event "
            '(data = {"last_seq": n}) when a reorg removed provisional entries above n',
            "content": STREAM_EVENTS,
        },
        400: {
            "description": "the start is further back than the stream replays (read /ledger?after= first), "
            "or Last-Event-ID is not a seq",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorPublic"}}},
        },
        503: {
            "description": "too many streams are open (in all or from this address): see Retry-After",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorPublic"}}},
        },
    },
    dependencies=[Depends(stream_slot)],
)
async def stream_entries(runtime: RuntimeDep, start: Annotated[int, Depends(stream_start)]) -> EventStream:
    """New ledger entries as they are indexed (server-sent events), after Last-Event-ID, `after` or the newest; at most `stream_max_replay` (default 1000) entries back: for older history page through /ledger?after= first."""
    return EventStream(
        entry_events(runtime.feed, runtime.db, start),
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get(
    "/{seq}",
    response_model=EntryDetailPublic,
    responses={
        304: {"description": "not modified (If-None-Match matched a final entry's ETag)"},
        404: {"description": "no entry with this seq yet"},
    },
)
async def read_entry(request: Request, seq: Seq) -> Response:
    """One entry: tx hash, block, log index, the head before and after it, final or provisional."""
    db = runtime_of(request).db
    found = await stored_entry(db, seq)
    if found is None:
        raise HTTPException(404, f"no entry {seq} in the indexed ledger")
    previous = found.previous_head
    if previous is None:  # seq 1 chains from the genesis head
        state = await sync_state(db)
        previous = genesis_head(state.chain_id, state.contract) if state else None
    if found.final:
        etag = f'"{found.head}"'
        headers = {"ETag": etag, "Cache-Control": FINAL_CACHE}
        wanted = {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}
        if wanted & {etag, f"W/{etag}", "*"}:
            return Response(status_code=304, headers=headers)
    else:
        headers = {"Cache-Control": "no-cache"}
    return JSON(finish(found.text, found.final, previous).encode(), headers=headers)
