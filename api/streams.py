"""/ledger/stream's rules and its events, apart from the route (api/routes/ledger.py):

- how many streams may be open: at most `total` in all and `per_client` per client address (the
  socket's peer, or X-Forwarded-For from a trusted proxy: api/server.py); past either, 503 with
  Retry-After;
- how far back a new stream may start: at most `max_replay` entries before the newest; further
  back is a 400 that names /ledger?after= for the history (a client catches up through /ledger
  pages, then opens the stream from the newest seq it has);
- the events, as text/event-stream bytes: each entry an `entry` event (id = seq), a `rollback`
  event when a reorg removed entries the client was sent, a comment every PING seconds while
  nothing happens. Entries come from the process's EntryFeed (api/workers/feed.py); a client that
  fell behind its window reads the gap from the database, off the event loop. Each wake-up sends
  what is ready in one write.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import orjson
from fastapi import HTTPException
from fastapi.responses import StreamingResponse

from api.queries.database import Database, Query
from api.workers.feed import PAGE, EntryFeed
from ledger.core.public import finish

PING = 15.0  # seconds between keep-alive comments on an idle stream
RETRY_AFTER = 10  # seconds a refused client is told to wait
_PAGE = Query("SELECT seq, public_json, final FROM ledger_entries WHERE seq > :after ORDER BY seq LIMIT :n")


class EventStream(StreamingResponse):
    """A text/event-stream answer (FastAPI's EventSourceResponse would run the route as a
    generator of single events; this one streams the bytes entry_events makes)."""

    media_type = "text/event-stream"


class StreamSlots:
    """Open streams, in all and per client address."""

    def __init__(self, total: int, per_client: int) -> None:
        self.total = total
        self.per_client = per_client
        self.open = 0
        self.by_client: Counter[str] = Counter()

    def take(self, client: str) -> None:
        """Count one more stream for `client`, or raise the 503 that refuses it."""
        if self.open >= self.total:
            raise busy(f"the server has {self.open} event streams open, its limit")
        if self.by_client[client] >= self.per_client:
            raise busy(f"{self.by_client[client]} event streams are open from your address, the limit")
        self.open += 1
        self.by_client[client] += 1

    def give(self, client: str) -> None:
        self.open -= 1
        self.by_client[client] -= 1
        if self.by_client[client] <= 0:
            del self.by_client[client]


def busy(reason: str) -> HTTPException:
    return HTTPException(
        503,
        f"{reason}: try again in {RETRY_AFTER} s (GET /ledger?after=SEQ reads the same entries)",
        headers={"Retry-After": str(RETRY_AFTER)},
    )


def check_start(start: int, newest: int, max_replay: int) -> None:
    """Refuse a stream asked to start more than `max_replay` entries before the newest."""
    if newest - start > max_replay:
        raise HTTPException(
            400,
            f"the stream replays at most {max_replay} entries and seq {start} is {newest - start} before the "
            f"newest ({newest}): read the history from /ledger?after={start} (page by page, following `next`), "
            "then open the stream after the last seq you have",
        )


def entry_event(seq: int, text: str) -> bytes:
    return b"event: entry\nid: %d\ndata: %s\n\n" % (seq, text.encode())


def rollback_event(seq: int) -> bytes:
    return b"event: rollback\nid: %d\ndata: %s\n\n" % (seq, orjson.dumps({"last_seq": seq}))


async def entry_events(feed: EntryFeed, db: Database, sent: int) -> AsyncIterator[bytes]:
    """The stream after seq `sent`, until the client leaves."""
    generation = feed.generation
    while True:
        if not await feed.wait(sent, generation, PING):
            yield b": ping\n\n"
            continue
        chunk: list[bytes] = []
        back_to = feed.rolled_back_to(generation)
        generation = feed.generation
        if back_to is not None and back_to < sent:
            sent = back_to
            chunk.append(rollback_event(sent))
        entries = feed.entries_after(sent)
        if entries is None:  # behind the feed's window: read the gap from the database
            rows = await db.fetch(_PAGE, {"after": sent, "n": PAGE}, background=True)
            entries = [(int(seq), finish(text, final)) for seq, text, final in rows]
        for seq, text in entries:
            chunk.append(entry_event(seq, text))
            sent = seq
        if chunk:
            yield b"".join(chunk)
        else:  # the database is behind the checkpoint the feed read (a reorg under way): let it settle
            await asyncio.sleep(feed.interval)
