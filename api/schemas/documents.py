"""The answer to an upload of a document (PUT /documents/0x{hash})."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from typing_extensions import TypedDict

from api.schemas.common import Hash32


class DocumentStoredPublic(TypedDict):
    hash: Hash32
    size: Annotated[int, Field(ge=0, description="bytes")]
    media_type: Annotated[
        str,
        Field(description="what GET serves it as: application/json, text/plain or application/octet-stream"),
    ]
    detail: Annotated[str, Field(description="stored now, or already stored")]
