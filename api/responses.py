"""The API's JSON answers: encoded with orjson, which writes a page of dicts several times faster
than the standard library, and embeds texts that are JSON already (the ledger's stored entry
texts) as they are (`orjson.Fragment`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from starlette.responses import Response


class JSON(Response):
    """application/json: a dict (or anything orjson encodes) or bytes already encoded."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return content if isinstance(content, bytes) else orjson.dumps(content)


def fragments(texts: Iterable[str]) -> list[orjson.Fragment]:
    """JSON texts to embed in an answer as they are."""
    return [orjson.Fragment(text) for text in texts]
