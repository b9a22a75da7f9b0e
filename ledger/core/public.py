"""The public JSON text of a ledger entry, formatted once when the entry is stored.

The API serves ledger entries as JSON (api/schemas.py EntryPublic): amounts as decimal strings,
addresses EIP-55 checksummed, times in ISO 8601 UTC. An entry never changes once stored (a reorg
deletes it; a new one takes its place), so the indexer formats that text when it writes the entry
and keeps it in `ledger_entries.public_json`; the hot routes then read one text column instead of
thirteen and format nothing. Only `final` changes (provisional -> final), so it is not part of
the stored text: the stored text is the object without its closing brace, and

    finish(stored, final)                       -> EntryPublic
    finish(stored, final, previous_head=head)   -> EntryDetailPublic

The audit recomputes every text from the chain's entry and reports a stored one that differs,
like any other altered field.

`entry_json` is the reference; `entry_jsons` formats a batch with the C speedups when they are
built (ledger/native.py), with the same result.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from time import gmtime
from typing import Any

from ledger import native
from ledger.core.hashing import keccak256
from ledger.core.records import Kind, LedgerEntry

KIND_NAMES = {int(k): k.name.lower() for k in Kind}
KIND_JSON = tuple(KIND_NAMES.get(k, "unknown") for k in range(max(Kind) + 1))  # by kind; 0 is "unknown"
_CLAIMED, _FEES_WITHDRAWN = int(Kind.CLAIMED), int(Kind.FEES_WITHDRAWN)

_NIBBLE_HIGH = bytes.maketrans(b"0123456789abcdef", b"\0" * 8 + b"\x20" * 8)
_IS_LETTER = bytes.maketrans(b"0123456789abcdef", b"\0" * 10 + b"\x20" * 6)

CHECKSUM_CACHE = 1 << 18  # addresses whose checksum is remembered (~70 MB when full)


@lru_cache(maxsize=CHECKSUM_CACHE)
def checksum(address: str) -> str:
    """EIP-55 checksum of a 0x-address given in any case (stored addresses are valid lowercase
    hex, so no input checks). A letter is upper case where the keccak of the lowercase hex has a
    nibble >= 8: done on the 40 bytes as one integer (flip bit 0x20 of those letters) rather than
    character by character, which is what makes long pages of addresses cheap."""
    body = address[2:].lower().encode()
    digest = keccak256(body).hex()[:40].encode()
    flip = int.from_bytes(digest.translate(_NIBBLE_HIGH), "big") & int.from_bytes(body.translate(_IS_LETTER), "big")
    return "0x" + (int.from_bytes(body, "big") ^ flip).to_bytes(40, "big").decode()


_MINUTES_SECONDS = [f"{m:02d}:{s:02d}Z" for m in range(60) for s in range(60)]


@lru_cache(maxsize=1 << 16)
def _hour(hour: int) -> str:
    year, month, mday, hh = gmtime(hour * 3600)[:4]
    return f"{year:04d}-{month:02d}-{mday:02d}T{hh:02d}:"


def iso(timestamp: int | None) -> str | None:
    """A unix time as ISO 8601 UTC, e.g. 2024-05-01T12:00:00Z. Assembled from cached pieces
    (the date and hour, then minutes and seconds): a page of entries has as many block times as
    entries, and formatting each from scratch was a tenth of the page's cost."""
    if timestamp is None:
        return None
    return _hour(timestamp // 3600) + _MINUTES_SECONDS[timestamp % 3600]


def entry_json(entry: LedgerEntry) -> str:
    """The stored public text of `entry`: the JSON object of EntryPublic up to `log_index`,
    without `final` and the closing brace (see finish)."""
    kind = int(entry.kind)
    detail = entry.detail
    fee = f'"{int(detail, 16)}"' if kind == _CLAIMED else "null"
    fee_token = f'"{checksum("0x" + detail[-40:])}"' if kind == _FEES_WITHDRAWN else "null"
    block_time = "null" if entry.block_timestamp is None else f'"{iso(entry.block_timestamp)}"'
    return (
        f'{{"seq":{entry.seq},"kind":{kind},"kind_name":"{KIND_JSON[kind] if 0 < kind < len(KIND_JSON) else KIND_JSON[0]}",'
        f'"campaign_id":{entry.campaign_id},"account":"{checksum(entry.account)}","amount":"{entry.amount}",'
        f'"detail":"{detail}","fee":{fee},"fee_token":{fee_token},"head":"{entry.head}",'
        f'"block_number":{entry.block_number},"block_hash":"{entry.block_hash}",'
        f'"block_time":{block_time},'
        f'"tx_hash":"{entry.tx_hash}","log_index":{entry.log_index}'
    )


def entry_jsons(entries: Sequence[LedgerEntry]) -> list[str]:
    """entry_json of each entry: in C when the speedups are built (a backfill formats every
    entry it stores), else in Python. The C code formats the common shape (a block time in
    years 1970-9999) and leaves None for the rest, which the reference formats here."""
    if not native.available or native.entry_jsons is None:  # None: an extension built before it had them
        return [entry_json(entry) for entry in entries]
    texts: list[Any] = native.entry_jsons(entries if isinstance(entries, list) else list(entries), KIND_JSON)
    for i, text in enumerate(texts):
        if text is None:
            texts[i] = entry_json(entries[i])
    return texts


FINAL_SUFFIX = ',"final":true}'  # what finish() appends (plain text: the API's SQL appends it too)
PROVISIONAL_SUFFIX = ',"final":false}'


def finish(stored: str, final: Any, previous_head: str | None = None) -> str:
    """The JSON text of EntryPublic (or of EntryDetailPublic, given the previous head) from
    the stored text and the row's `final` flag."""
    if previous_head is None:
        return stored + (FINAL_SUFFIX if final else PROVISIONAL_SUFFIX)
    return f'{stored},"final":{"true" if final else "false"},"previous_head":"{previous_head}"}}'
