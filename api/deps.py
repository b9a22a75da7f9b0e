"""The routes' dependencies as Annotated aliases, so a route reads
`def read_campaign(reader: ReaderDep, campaign_id: CampaignId)`.

Input types carry their own validation (pattern, range) so that bad input is a 4xx that says
what is wrong, and /openapi.json tells clients the same rules."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from api.core.config import Settings
from api.fastpath import Text
from api.services.reader import LedgerReader
from api.services.runtime import Runtime

INT64 = 2**63 - 1
ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"
HASH_PATTERN = r"^0x[0-9a-fA-F]{64}$"
ADDRESS = Text(ADDRESS_PATTERN[1:-1])  # the fast path's form of AddressPath (api/fastpath.py)


async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


async def get_reader(request: Request) -> LedgerReader:
    return request.app.state.runtime.reader  # type: ignore[no-any-return]


def reader_of(request: Request) -> LedgerReader:
    """The reader, for the hot routes: they take `request` rather than ReaderDep, because
    FastAPI resolves a sub-dependency on every request and FastRoute calls them without one."""
    return request.app.state.runtime.reader  # type: ignore[no-any-return]


async def get_app_settings(request: Request) -> Settings:
    """The app's settings: create_app(settings), else get_settings() from the environment."""
    return request.app.state.settings  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
ReaderDep = Annotated[LedgerReader, Depends(get_reader)]

CampaignId = Annotated[int, Path(ge=0, le=INT64, description="the campaign's id")]
Seq = Annotated[int, Path(ge=1, le=INT64, description="the entry's position in the ledger, from 1")]
AddressPath = Annotated[
    str,
    Path(pattern=ADDRESS_PATTERN, description="an address: 0x and 40 hex digits, any case (checksum not required)"),
]
TxHashPath = Annotated[str, Path(pattern=HASH_PATTERN, description="a transaction hash: 0x and 64 hex digits")]
