"""What campaign answers show beside the ledger's numbers: each campaign's asset (symbol, name,
decimals), its metadata (title, summary) and what it holds for its backers, from the process's
caches (api/queries/assets.py, documents.py, holdings.py): no query per campaign once warm."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from api.queries.assets import Assets
from api.queries.campaigns import CampaignAt
from api.queries.database import Database
from api.queries.documents import Metadata, MetadataCache
from api.queries.holdings import Holdings
from api.schemas.common import AssetPublic
from ledger.core.records import Campaign
from ledger.core.status import CampaignHoldings


class Labels(NamedTuple):
    assets: dict[str, AssetPublic]  # by token address (lowercase; ETH the zero address)
    metadata: dict[str, Metadata | None]  # by metadata hash; None: no document stored
    holdings: dict[int, CampaignHoldings]  # by campaign id, for the campaigns asked for


async def labels_for(
    db: Database,
    assets: Assets,
    metadata: MetadataCache,
    campaigns: Iterable[Campaign],
    holdings: Holdings | None = None,
    held: Iterable[CampaignAt] = (),
) -> Labels:
    """The assets and metadata of `campaigns`, and the holdings of the campaigns in `held`."""
    listed = list(campaigns)
    return Labels(
        await assets.of(db, {c.token for c in listed}),
        await metadata.of(db, {c.metadata_hash for c in listed}),
        {found.campaign.campaign_id: await holdings.of(db, found) for found in held} if holdings else {},
    )
