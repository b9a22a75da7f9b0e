"""`crowdledger publish FILE`: put a document the ledger commits to where the page can show it.

With --api (or CROWDLEDGER_API_URL) the file's exact bytes go to the API's `PUT /documents/0x{hash}`;
otherwise they are stored in the indexed database (--db, CROWDLEDGER_DB_URL, the deployment file's
database) after the API's own checks, in its order: too large, nothing on the ledger commits to
the hash, the bytes do not hash to it. The hash is the file's Keccak-256 unless --hash names the
one the ledger holds (then a file that is not that document is refused).

One line says the hash and the outcome. Exit 0 when the document is stored (now or before),
1 when it was refused, 2 when nothing could be asked (no file, no API, no database).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cli.common import EXIT_FINDINGS, open_indexed_store
from cli.settings import Settings, resolve
from ledger.core.documents import MAX_DOCUMENT_BYTES, document_hash
from ledger.errors import ConfigError, CrowdLedgerError

if TYPE_CHECKING:
    from sqlalchemy import Engine

_HASH = re.compile(r"0x[0-9a-fA-F]{64}")
BUSY_RETRIES = 3  # a 503 (the indexer holds SQLite's write lock): try again after its Retry-After
MAX_RETRY_AFTER = 10.0
TIMEOUT = 60.0


class PublishError(CrowdLedgerError):
    """The API could not be asked, or answered something publish does not know."""


@dataclass(frozen=True)
class Outcome:
    """What became of the document: `status` as the API's HTTP status (201, 200, 404, 413, 422)."""

    hash: str  # the hash it was published under
    status: int
    size: int
    actual: str  # the bytes' own Keccak-256

    @property
    def stored(self) -> bool:
        return self.status in (200, 201)

    def line(self, name: str, where: str) -> str:
        size = f"{self.size:,} bytes"
        return {
            201: f"{self.hash} stored ({size}) {where}",
            200: f"{self.hash} already stored {where} ({size})",
            404: f"{self.hash} refused: nothing on the ledger commits to this hash (a campaign's metadata, "
            f"a report or a disclosure; is it indexed yet?)",
            413: f"{self.hash} refused: {name} is larger than {MAX_DOCUMENT_BYTES:,} bytes, the most a "
            "document may be",
            422: f"{self.hash} refused: {name}'s bytes hash to {self.actual}, not to this hash",
        }.get(self.status, f"{self.hash}: HTTP {self.status}")


def run(args: argparse.Namespace) -> int:
    body, name = _read(args.file)
    digest = document_hash(body)
    expected = _expected_hash(args.hash, digest)
    settings = resolve(args, "api_url", "db_url")
    if len(body) > MAX_DOCUMENT_BYTES:  # the API's first check, made here: the bytes are not sent
        outcome = Outcome(expected, 413, len(body), digest)
        print(outcome.line(name, ""))
        return EXIT_FINDINGS
    if settings.api_url and args.db is None:
        outcome = put_document(settings.api_url, expected, body)
        where = f"at {settings.api_url.rstrip('/')}/documents/{expected}"
    else:
        outcome = store_in_database(settings, expected, body)
        where = "in the database"
    print(outcome.line(name, where))
    return 0 if outcome.stored else EXIT_FINDINGS


def _read(file: str) -> tuple[bytes, str]:
    if file == "-":
        return sys.stdin.buffer.read(MAX_DOCUMENT_BYTES + 1), "standard input"
    path = Path(file)
    try:
        with path.open("rb") as handle:  # no more than one byte past the cap: a 4 GB file is not read
            return handle.read(MAX_DOCUMENT_BYTES + 1), path.name
    except OSError as exc:
        raise ConfigError(f"cannot read {file}: {exc.strerror or exc}") from None


def _expected_hash(given: str | None, digest: str) -> str:
    if given is None:
        return digest
    if not _HASH.fullmatch(given):
        raise ConfigError(f"--hash {given!r:.80} is not a document hash (0x and 64 hex digits)")
    return given.lower()


def put_document(api_url: str, expected: str, body: bytes) -> Outcome:
    """PUT the bytes to the API; 503 (busy) is asked again after its Retry-After, a few times."""
    import urllib.error
    import urllib.request

    url = f"{api_url.rstrip('/')}/documents/{expected}"
    for attempt in range(BUSY_RETRIES + 1):
        request = urllib.request.Request(
            url, data=body, method="PUT", headers={"Content-Type": "application/octet-stream"}
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
                return Outcome(expected, int(answer.status), len(body), document_hash(body))
        except urllib.error.HTTPError as exc:
            status = int(exc.code)
            detail = _excerpt(exc.read(400))
            exc.close()
            if status in (404, 413, 422):
                return Outcome(expected, status, len(body), document_hash(body))
            if status == 503 and attempt < BUSY_RETRIES:
                time.sleep(_retry_after(exc.headers.get("Retry-After")))
                continue
            raise PublishError(f"{url} answered HTTP {status}{': ' + detail if detail else ''}") from None
        except urllib.error.URLError as exc:
            raise PublishError(f"cannot reach the API at {api_url}: {_reason(exc.reason)}") from None
        except (TimeoutError, OSError) as exc:
            raise PublishError(f"cannot reach the API at {api_url}: {_reason(exc)}") from None
    raise PublishError(f"{url}: the API stayed busy (503)")  # pragma: no cover - the loop returns or raises


def store_in_database(settings: Settings, expected: str, body: bytes) -> Outcome:
    """Store the document in the configured indexed database (store_checked); a database busy
    with the indexer's writes is asked again a few times."""
    from ledger.errors import DatabaseBusy

    store = open_indexed_store(settings.db_url, settings.source("db_url"))
    try:
        for attempt in range(BUSY_RETRIES + 1):
            try:
                return store_checked(store.engine, expected, body)
            except DatabaseBusy:
                if attempt == BUSY_RETRIES:
                    raise
                time.sleep(1.0)
        raise AssertionError("unreachable")  # pragma: no cover
    finally:
        store.engine.dispose()


def store_checked(engine: Engine, expected: str, body: bytes) -> Outcome:
    """The API's checks in its order (size, something on the ledger commits to the hash, the
    bytes hash to it), then the document stored through ledger.db.documents as the API stores it."""
    from ledger.core.documents import document_of
    from ledger.db.documents import committed, store_document

    actual = document_hash(body)
    if len(body) > MAX_DOCUMENT_BYTES:
        return Outcome(expected, 413, len(body), actual)
    if not committed(engine, expected):
        return Outcome(expected, 404, len(body), actual)
    if actual != expected:
        return Outcome(expected, 422, len(body), actual)
    created = store_document(engine, document_of(body, int(time.time())))
    return Outcome(expected, 201 if created else 200, len(body), actual)


def _retry_after(value: str | None) -> float:
    try:
        return min(MAX_RETRY_AFTER, max(0.1, float(value or 1)))
    except ValueError:
        return 1.0


def _reason(reason: object) -> str:
    """One line for a connection failure: the socket's own words, not a traceback."""
    import socket

    if isinstance(reason, socket.gaierror):
        return "the host name does not resolve"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, TimeoutError | socket.timeout):
        return f"no answer within {TIMEOUT:g} s"
    text = getattr(reason, "strerror", None) or str(reason)
    return str(text).splitlines()[0][:200] if text else type(reason).__name__


def _excerpt(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())[:200]
