"""Where a backer's money in one campaign stands, in the words backers use. `crowdledger verify`,
the API and the web page all answer with this one function, so they always agree."""

from __future__ import annotations

from enum import Enum

from ledger.records import Campaign, Position, State


class PositionStatus(str, Enum):
    ESCROWED = "escrowed"  # held by the escrow: the campaign is funding, or succeeded and not yet claimed
    REFUNDABLE = "refundable"  # the campaign failed or was cancelled: the backer may refund it now
    REFUNDED = "refunded"  # paid back to the backer after a failure or cancellation
    RELEASED = "released"  # the creator claimed the campaign: the pledge went to the creator (minus the fee)
    WITHDRAWN = "withdrawn"  # the backer unpledged everything before the deadline


def position_status(campaign: Campaign, position: Position, timestamp: int) -> PositionStatus:
    """The status of `position` in `campaign` as of a block with `timestamp`."""
    state = campaign.state_at(timestamp)
    if state == State.CLAIMED and position.balance > 0:
        return PositionStatus.RELEASED
    if position.balance == 0:
        return PositionStatus.REFUNDED if position.refunded_total > 0 else PositionStatus.WITHDRAWN
    if state in (State.FAILED, State.CANCELLED):
        return PositionStatus.REFUNDABLE
    return PositionStatus.ESCROWED
