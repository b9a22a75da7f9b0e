"""The routes' dependencies as Annotated aliases, so a route reads
`async def list_campaigns(db: DatabaseDep, state: ...)`.

The four busiest routes (a campaign, a backer, a page of the ledger, an entry) take the Request
instead and call `runtime_of(request)`: FastAPI solves a sub-dependency on every request, which
costs those routes 10-23 us of CPU each (measured in-process, a tenth of their time).

Input types carry their own validation (pattern, range) so that bad input is a 4xx that says
what is wrong, and /openapi.json tells clients the same rules."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Path, Request
from pydantic import AfterValidator

from api.core.config import Settings
from api.queries.database import Database
from api.runtime import Runtime
from ledger.core.addresses import checksum_error

INT64 = 2**63 - 1
ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"
HASH_PATTERN = r"^0x[0-9a-fA-F]{64}$"


def runtime_of(request: Request) -> Runtime:
    """The process's Runtime (create_app's lifespan builds it)."""
    return cast(Runtime, request.app.state.runtime)


async def get_runtime(request: Request) -> Runtime:
    """The process's Runtime (create_app's lifespan builds it). Dependencies are `async def`: FastAPI
    would run a plain `def` in a worker thread."""
    return cast(Runtime, request.app.state.runtime)


async def get_database(request: Request) -> Database:
    """The read-only Database the routes query."""
    return cast(Runtime, request.app.state.runtime).db


async def get_app_settings(request: Request) -> Settings:
    """The app's settings: create_app(settings), else get_settings() from the environment."""
    return cast(Settings, request.app.state.settings)


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
DatabaseDep = Annotated[Database, Depends(get_database)]

CampaignId = Annotated[int, Path(ge=0, le=INT64, description="the campaign's id")]
Seq = Annotated[int, Path(ge=1, le=INT64, description="the entry's position in the ledger, from 1")]


def valid_checksum(value: str | None) -> str | None:
    """An address in mixed case must carry its EIP-55 checksum (all lowercase or all uppercase
    need none): a mistyped one is refused (422) with the checksum it should have."""
    if value is None or not value.startswith("0x") or len(value) != 42:
        return value  # "ETH", or the pattern refuses it
    problem = checksum_error(value)
    if problem is not None:
        raise ValueError(problem)
    return value


AddressPath = Annotated[
    str,
    Path(
        pattern=ADDRESS_PATTERN,
        description="an address: 0x and 40 hex digits, all lowercase, all uppercase, or with a correct EIP-55 "
        "checksum (a mixed case that does not match it is refused)",
    ),
    AfterValidator(valid_checksum),
]
TxHashPath = Annotated[
    str, Path(pattern=HASH_PATTERN, description="a transaction hash: 0x and 64 hex digits")
]
