"""Where a backer's money in one campaign stands, in the words backers use. `crowdledger verify`,
the API and the web page all answer with these functions, so they always agree; and a campaign's
figures for its backers (`campaign_holdings`) are the sums of its positions' breakdowns, so a
campaign's "held for backers now" and "still refundable" are exactly what its rows add up to."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from ledger.core.records import FAILED_VOTE, SILENCE, Campaign, Milestones, Position, State


class PositionStatus(str, Enum):
    ESCROWED = "escrowed"  # held by the escrow: the campaign is funding, or succeeded and not yet claimed
    REFUNDABLE = "refundable"  # the backer may refund now; `reason` says why (RefundReason)
    REFUNDED = "refunded"  # paid back to the backer after a failure, a cancellation, an expiry or an abort
    RELEASED = "released"  # the creator claimed the campaign: the pledge went to the creator (minus the fee)
    WITHDRAWN = "withdrawn"  # the backer unpledged everything before the deadline
    # milestone campaigns
    IN_DELIVERY = (
        "in_delivery"  # part released to the creator in tranches, the rest escrowed until backers approve
    )


class RefundReason(str, Enum):
    """Why a position is refundable."""

    FAILED = "failed"  # the goal was missed: whole pledges back
    CANCELLED = "cancelled"  # the creator cancelled: whole pledges back
    EXPIRED = "expired"  # the goal was met but nobody claimed within the claim window: whole pledges back
    FAILED_VOTE = FAILED_VOTE  # a release vote failed: pro rata what was not released
    SILENCE = SILENCE  # the creator fell silent and the campaign was aborted: pro rata likewise


_WHOLE = {
    State.FAILED: RefundReason.FAILED,
    State.CANCELLED: RefundReason.CANCELLED,
    State.EXPIRED: RefundReason.EXPIRED,
}


def refund_reason(campaign: Campaign, timestamp: int) -> RefundReason | None:
    """Why backers of `campaign` may refund as of a block with `timestamp`; None if they may not."""
    state = campaign.state_at(timestamp)
    if state == State.ABORTED:
        return RefundReason.SILENCE if campaign.abort_cause == SILENCE else RefundReason.FAILED_VOTE
    return _WHOLE.get(state)


def position_status(campaign: Campaign, position: Position, timestamp: int) -> PositionStatus:
    """The status of `position` in `campaign` as of a block with `timestamp`."""
    state = campaign.state_at(timestamp)
    if state == State.CLAIMED and position.balance > 0:
        return PositionStatus.RELEASED
    if position.balance == 0:
        return PositionStatus.REFUNDED if position.refunded_total > 0 else PositionStatus.WITHDRAWN
    if state in (State.FAILED, State.CANCELLED, State.EXPIRED, State.ABORTED):
        return PositionStatus.REFUNDABLE
    if state == State.IN_DELIVERY:
        return PositionStatus.IN_DELIVERY
    return PositionStatus.ESCROWED


@dataclass(frozen=True, slots=True)
class PositionBreakdown:
    """Where the backer's money stands, in the campaign's asset. `balance` is pledgeOf (0 once
    refunded); a milestone campaign releases each tranche pro rata from every pledge, T being the
    campaign's total and G the gross released so far:

    - `released`: gone to the creator (fees included): floor(pledge x G / T); the whole pledge once
      a campaign is claimed. Kept after a refund: what an abort gave back is the rest.
    - `escrowed`: held by the escrow for the backer now: the balance while the campaign funds,
      succeeded or failed; in delivery floor(balance x (T - G) / T) (what an abort would refund);
      after an abort the refund still to take.
    - `at_stake`: of `escrowed`, the backer's share of the tranche the open release vote decides:
      floor(balance x tranche gross / total); 0 when no vote is open.
    - `refundable`: what the backer can take back now (a part of `escrowed`): the whole balance
      after a failure, cancellation or expiry, floor(balance x remaining / total) after an abort.
    - `refunded`: what the backer was paid back (refunds; unpledges are the position's own).
    - `lost_to_rounding`: a milestone pledge less released, escrowed (or refunded) and nothing
      else: under one unit per tranche that the pro-rata floors leave over; after an abort it is
      the backer's part of the dust, which goes to the fees with the last refund.
    - `reason`: why a refundable (or refunded) position was refundable (RefundReason), else None.
    """

    status: PositionStatus
    balance: int
    released: int = 0
    escrowed: int = 0
    at_stake: int = 0
    refundable: int = 0
    refunded: int = 0
    lost_to_rounding: int = 0
    reason: RefundReason | None = None


def position_breakdown(
    campaign: Campaign, position: Position, timestamp: int, milestones: Milestones | None = None
) -> PositionBreakdown:
    """`position_status` with the amounts behind it. `milestones` is the campaign's Milestones
    record (needed for a milestone campaign in delivery or aborted; ignored otherwise)."""
    status = position_status(campaign, position, timestamp)
    reason = refund_reason(campaign, timestamp)
    balance, refunded = position.balance, position.refunded_total
    if status == PositionStatus.ESCROWED:
        return PositionBreakdown(status, balance, escrowed=balance)
    if status == PositionStatus.RELEASED:
        return PositionBreakdown(status, balance, released=balance)
    total = campaign.pledged
    if (
        milestones is None
        or not total
        or campaign.state_at(timestamp) not in (State.IN_DELIVERY, State.ABORTED)
    ):
        if status == PositionStatus.REFUNDABLE:
            return PositionBreakdown(status, balance, escrowed=balance, refundable=balance, reason=reason)
        return PositionBreakdown(status, balance, refunded=refunded, reason=reason if refunded else None)
    # a milestone campaign in delivery or aborted: every pledge shares the releases pro rata
    pledge = position.pledged_total - position.unpledged_total  # the balance before any refund
    released = pledge * milestones.released_gross // total
    if status == PositionStatus.IN_DELIVERY:
        escrowed = balance * (total - milestones.released_gross) // total
        at_stake = 0
        if milestones.vote_pending:
            at_stake = balance * milestones.tranche_gross(milestones.vote_tranche, total) // total
        return PositionBreakdown(
            status,
            balance,
            released=released,
            escrowed=escrowed,
            at_stake=at_stake,
            lost_to_rounding=balance - released - escrowed,
        )
    refundable = milestones.refund_of(balance, total)
    return PositionBreakdown(
        status,
        balance,
        released=released,
        escrowed=refundable,
        refundable=refundable,
        refunded=refunded,
        lost_to_rounding=pledge - released - refundable - refunded,
        reason=reason,
    )


@dataclass(frozen=True, slots=True)
class CampaignHoldings:
    """A campaign's figures for its backers, the sums of its positions' breakdowns:

    - `escrowed`: held for backers now (Σ escrowed); `refundable`: still refundable (Σ refundable);
      `released`: gone to the creator from their pledges (Σ released);
    - `rounding`: what the escrow holds for the campaign beyond the backers' shares
      (Campaign.escrowed - escrowed): the pro-rata floors' remainder in delivery, the abort dust
      until the last refund moves it to the fees; 0 for a plain campaign.
    """

    escrowed: int
    refundable: int
    released: int
    rounding: int


def campaign_holdings(
    campaign: Campaign, positions: Iterable[Position], timestamp: int, milestones: Milestones | None = None
) -> CampaignHoldings:
    """The sums of position_breakdown over every position of `campaign` (all of them: partial
    sums are not the campaign's figures)."""
    escrowed = refundable = released = 0
    for position in positions:
        money = position_breakdown(campaign, position, timestamp, milestones)
        escrowed += money.escrowed
        refundable += money.refundable
        released += money.released
    return CampaignHoldings(escrowed, refundable, released, campaign.escrowed - escrowed)
