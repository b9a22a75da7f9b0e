"""Documents the ledger commits to by hash (a campaign's metadataHash, a release request's
reportHash, a disclosure's documentHash), and the one document with a shape of its own: a
campaign's metadata (docs/ledger-format.md, "Campaign metadata documents").

    document_of(body, stored_at)   -> Document    hash, media type and size of uploaded bytes
    read_metadata(body)            -> CampaignMetadata, or MetadataError saying why not

Everything here is untrusted input: the bytes are whatever anyone uploaded (the hash proves only
that the ledger committed to them), so metadata is bounded, its text stripped of control
characters, and its website refused unless it is an http(s) URL.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

import msgspec
import orjson

from ledger.core.hashing import keccak256
from ledger.core.metadata import Document
from ledger.errors import CrowdLedgerError

MAX_DOCUMENT_BYTES = 1 << 20  # what the API accepts: 1 MiB

JSON = "application/json"
TEXT = "text/plain; charset=utf-8"
BINARY = "application/octet-stream"


def media_type_of(body: bytes) -> str:
    """application/json if `body` parses as JSON, text/plain (UTF-8) if it is UTF-8 text, else
    application/octet-stream."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return BINARY
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError:
        return TEXT if not _BINARY_CONTROLS.search(text) else BINARY
    return JSON


# control characters that do not occur in text (NUL and friends; tabs and line ends do)
_BINARY_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def document_hash(body: bytes) -> str:
    """The 0x-hex keccak256 of `body`: the hash the ledger commits to."""
    return "0x" + keccak256(body).hex()


def document_of(body: bytes, stored_at: int) -> Document:
    """The Document of uploaded bytes, stored at unix time `stored_at` (the server's clock)."""
    return Document(document_hash(body), bytes(body), media_type_of(body), len(body), stored_at)


# ----------------------------------------------------------------------------- campaign metadata

MAX_TITLE = 120
MAX_SUMMARY = 400
MAX_DESCRIPTION = 20_000
MAX_WEBSITE = 2048

Hash = Annotated[str, msgspec.Meta(pattern=r"^0x[0-9a-fA-F]{64}$")]


class CampaignMetadata(msgspec.Struct, frozen=True):
    """A campaign's metadata document, the JSON its metadataHash commits to. Unknown fields are
    ignored; the text fields come back with their control characters stripped."""

    title: Annotated[str, msgspec.Meta(max_length=MAX_TITLE)]
    summary: Annotated[str, msgspec.Meta(max_length=MAX_SUMMARY)]
    description: Annotated[str, msgspec.Meta(max_length=MAX_DESCRIPTION)]
    website: Annotated[str, msgspec.Meta(max_length=MAX_WEBSITE)] | None = None
    image: Hash | None = None  # the keccak256 of an image document


class MetadataError(CrowdLedgerError, ValueError):
    """A document that is not a campaign metadata document; the message says why, in one line."""


_METADATA = msgspec.json.Decoder(CampaignMetadata)
_WEBSITE = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.IGNORECASE)


def clean_text(text: str, *, keep_lines: bool = False) -> str:
    """`text` without control or format characters (bidi overrides included); with `keep_lines`,
    line feeds and tabs stay (a description's paragraphs)."""
    kept = "\n\t" if keep_lines else ""
    return "".join(
        ch for ch in text if ch in kept or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn")
    )


def read_metadata(body: bytes) -> CampaignMetadata:
    """`body` as campaign metadata, its text cleaned (clean_text); MetadataError naming what is
    wrong otherwise."""
    if len(body) > MAX_DOCUMENT_BYTES:
        raise MetadataError(
            f"the document is {len(body):,} bytes; metadata is at most {MAX_DOCUMENT_BYTES:,}"
        )
    try:
        raw = _METADATA.decode(body)
    except msgspec.ValidationError as exc:
        message = str(exc)
        if " - at `$." in message:
            what, where = message.rsplit(" - at `$.", 1)
            message = f"{where.rstrip('`')}: {what}"
        raise MetadataError(f"not campaign metadata: {message}") from None
    except msgspec.DecodeError as exc:
        raise MetadataError(f"not campaign metadata: not a JSON object ({exc})") from None
    title = clean_text(raw.title).strip()
    if not title:
        raise MetadataError("not campaign metadata: the title is empty")
    website = raw.website.strip() if raw.website is not None else None
    if website is not None and (not _WEBSITE.match(website) or clean_text(website) != website):
        raise MetadataError(f"not campaign metadata: the website {website[:80]!r} is not an http(s) URL")
    return CampaignMetadata(
        title=title,
        summary=clean_text(raw.summary).strip(),
        description=clean_text(raw.description, keep_lines=True).strip(),
        website=website,
        image=raw.image.lower() if raw.image is not None else None,
    )
