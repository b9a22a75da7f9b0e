"""The assets campaigns are in: ETH and every token the indexer read the metadata of (`tokens`),
with the symbol each is shown by (ledger.core.amounts.asset_labels: a symbol that collides with
ETH's or another token's gets its short address beside it).

The table is small and changes only when a campaign in a new token is indexed, so `Assets` keeps
it in memory: read again when an answer names a token it lacks, and at most every REFRESH
seconds otherwise (a token whose symbol now collides relabels the others)."""

from __future__ import annotations

import asyncio
import time

from api.queries.database import Database, Query, select_list
from api.schemas.common import AssetPublic, asset_public
from ledger.core.amounts import asset_labels, asset_of
from ledger.core.metadata import Token
from ledger.db.rows import columns, from_row

REFRESH = 5.0
_TOKENS = Query(f"SELECT {select_list('t', columns(Token))} FROM tokens t")


class Assets:
    """Every asset's public description, kept for REFRESH seconds."""

    def __init__(self) -> None:
        self.tokens: dict[str, Token] = {}
        self.public: dict[str, AssetPublic] = {}  # the table's tokens, and those it lacked when last read
        self.read_at = float("-inf")
        self._lock = asyncio.Lock()

    async def of(self, db: Database, tokens: set[str]) -> dict[str, AssetPublic]:
        """The AssetPublic of each of `tokens` (lowercase addresses; ETH is the zero address)."""
        public = self.public
        if time.monotonic() - self.read_at > REFRESH or not all(t in public for t in tokens):
            await self._read(db, tokens)
            public = self.public
        return {token: public[token] for token in tokens}

    async def one(self, db: Database, token: str) -> AssetPublic:
        return (await self.of(db, {token}))[token]

    async def _read(self, db: Database, wanted: set[str]) -> None:
        async with self._lock:
            if time.monotonic() - self.read_at <= REFRESH and all(t in self.public for t in wanted):
                return  # another request read them meanwhile
            rows = await db.fetch(_TOKENS, rows=None)
            tokens = {token.address: token for token in (from_row(Token, row) for row in rows)}
            labels = asset_labels(tokens.values())
            public = {
                address: asset_public(asset_of(address, tokens), label) for address, label in labels.items()
            }
            # a token the indexer has not read yet: its short address, 18 decimals, assumed (until a read finds it)
            for token in wanted | (self.public.keys() - public.keys()):
                if token not in public:
                    asset = asset_of(token, tokens)
                    public[token] = asset_public(asset, asset.symbol)
            self.tokens, self.public = tokens, public
            self.read_at = time.monotonic()
