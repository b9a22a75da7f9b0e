"""A backer as the API shows them: every campaign they backed with their position in it, and their
votes."""

from __future__ import annotations

from typing_extensions import TypedDict

from api.queries.backers import Backed
from api.queries.labels import Labels
from api.schemas.campaigns import CampaignSummaryPublic, PositionPublic, campaign_summary, position_public
from api.schemas.common import Address, Cursor
from api.schemas.milestones import VotePublic
from ledger.core.records import Milestones


class BackedCampaignPublic(TypedDict):
    campaign: CampaignSummaryPublic
    position: PositionPublic


class BackerPublic(TypedDict):
    address: Address
    data: list[BackedCampaignPublic]
    next: Cursor


class BackerVotesPublic(TypedDict):
    address: Address
    data: list[VotePublic]
    next: Cursor


def backed_campaign_public(backed: Backed, labels: Labels, plan: Milestones | None) -> BackedCampaignPublic:
    campaign, chain_time = backed.campaign, backed.chain_time
    return {
        "campaign": campaign_summary(campaign, chain_time, labels),
        "position": position_public(campaign, backed.position, chain_time, plan),
    }
