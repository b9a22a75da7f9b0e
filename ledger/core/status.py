"""Where a backer's money in one campaign stands, in the words backers use. `crowdledger verify`,
the API and the web page all answer with these functions, so they always agree."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ledger.core.records import Campaign, Milestones, Position, State


class PositionStatus(str, Enum):
    ESCROWED = "escrowed"  # held by the escrow: the campaign is funding, or succeeded and not yet claimed
    REFUNDABLE = "refundable"  # the campaign failed or was cancelled: the backer may refund it now
    REFUNDED = "refunded"  # paid back to the backer after a failure, a cancellation or an abort
    RELEASED = "released"  # the creator claimed the campaign: the pledge went to the creator (minus the fee)
    WITHDRAWN = "withdrawn"  # the backer unpledged everything before the deadline
    # milestone campaigns
    IN_DELIVERY = (
        "in_delivery"  # part released to the creator in tranches, the rest escrowed until backers approve
    )
    REFUNDABLE_AFTER_ABORT = (
        "refundable_after_abort"  # a release vote failed: the backer may refund a pro-rata share
    )


def position_status(campaign: Campaign, position: Position, timestamp: int) -> PositionStatus:
    """The status of `position` in `campaign` as of a block with `timestamp`."""
    state = campaign.state_at(timestamp)
    if state == State.CLAIMED and position.balance > 0:
        return PositionStatus.RELEASED
    if position.balance == 0:
        return PositionStatus.REFUNDED if position.refunded_total > 0 else PositionStatus.WITHDRAWN
    if state in (State.FAILED, State.CANCELLED):
        return PositionStatus.REFUNDABLE
    if state == State.IN_DELIVERY:
        return PositionStatus.IN_DELIVERY
    if state == State.ABORTED:
        return PositionStatus.REFUNDABLE_AFTER_ABORT
    return PositionStatus.ESCROWED


@dataclass(frozen=True, slots=True)
class PositionBreakdown:
    """Where the backer's pledge (`balance`, pledgeOf) stands, in the campaign's asset:

    - `released`: gone to the creator (fees included). A milestone campaign releases each tranche
      pro rata from every pledge: floor(balance x released gross / total).
    - `escrowed`: still held by the escrow for the backer (a funding or succeeded campaign, or the
      tranches of a milestone campaign not released yet).
    - `at_stake`: of `escrowed`, the backer's share of the tranche the open release vote decides:
      floor(balance x tranche gross / total); 0 when no vote is open.
    - `refundable`: what the backer can take back now: the whole balance after a failure or
      cancellation, floor(balance x remaining / total) after an abort.
    - `lost_to_rounding`: after an abort, balance - released - refundable (under one unit per
      tranche): it stays in the escrow as dust and goes to the fees with the last refund.
    """

    status: PositionStatus
    balance: int
    released: int = 0
    escrowed: int = 0
    at_stake: int = 0
    refundable: int = 0
    lost_to_rounding: int = 0


def position_breakdown(
    campaign: Campaign, position: Position, timestamp: int, milestones: Milestones | None = None
) -> PositionBreakdown:
    """`position_status` with the amounts behind it. `milestones` is the campaign's Milestones
    record (needed for a milestone campaign in delivery or aborted; ignored otherwise)."""
    status = position_status(campaign, position, timestamp)
    balance = position.balance
    if status == PositionStatus.RELEASED:
        return PositionBreakdown(status, balance, released=balance)
    if status == PositionStatus.REFUNDABLE:
        return PositionBreakdown(status, balance, refundable=balance)
    if status == PositionStatus.ESCROWED:
        return PositionBreakdown(status, balance, escrowed=balance)
    total = campaign.pledged
    if (
        status in (PositionStatus.IN_DELIVERY, PositionStatus.REFUNDABLE_AFTER_ABORT)
        and milestones is not None
        and total
    ):
        released = balance * milestones.released_gross // total
        if status == PositionStatus.IN_DELIVERY:
            at_stake = 0
            if milestones.vote_pending:
                at_stake = balance * milestones.tranche_gross(milestones.vote_tranche, total) // total
            return PositionBreakdown(
                status, balance, released=released, escrowed=balance - released, at_stake=at_stake
            )
        refundable = milestones.refund_of(balance, total)
        return PositionBreakdown(
            status,
            balance,
            released=released,
            refundable=refundable,
            lost_to_rounding=balance - released - refundable,
        )
    return PositionBreakdown(status, balance)
