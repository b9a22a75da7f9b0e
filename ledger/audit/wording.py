"""Ledger entries in plain words, for the verdicts `crowdledger verify` gives backers: each kind
with its amount in the asset's own decimals and symbol, and the right preposition.

    describe(entry, asset)  -> "pledge of 0.25 ETH to campaign 7"
                               "refund of 1.98 ETH from campaign 7"
                               "vote to approve tranche 2 of campaign 4 (weight 0.3 ETH)"

Tranches are numbered from 1 here, as people count them (the ledger counts from 0).
"""

from __future__ import annotations

from ledger.core.amounts import amount_of, short_address
from ledger.core.metadata import Token
from ledger.core.records import CampaignTerms, Kind, LedgerEntry, TrancheTerms

KIND_NAMES = {
    Kind.CAMPAIGN_CREATED: "campaign created",
    Kind.PLEDGED: "pledge",
    Kind.UNPLEDGED: "unpledge",
    Kind.CANCELLED: "cancellation",
    Kind.CLAIMED: "claim",
    Kind.REFUNDED: "refund",
    Kind.FEES_WITHDRAWN: "fee withdrawal",
    Kind.MILESTONE_PLAN: "milestone plan",
    Kind.RELEASE_REQUESTED: "release request",
    Kind.VOTED: "vote",
    Kind.TRANCHE_RELEASED: "tranche release",
    Kind.ABORTED: "abort after a failed vote",
    Kind.DISCLOSED: "disclosure",
    Kind.PAYOUT_DEFERRED: "payout credited",
    Kind.OWED_WITHDRAWN: "credit withdrawal",
    Kind.STALE_ABORTED: "abort for silence",
}


def kind_name(kind: int) -> str:
    return KIND_NAMES[Kind(kind)] if kind in KIND_NAMES else f"kind {kind}"


def tranche_words(tranche: int) -> str:
    """A ledger tranche index (from 0) as people say it: "tranche 1"."""
    return f"tranche {tranche + 1}"


def describe(entry: LedgerEntry, asset: Token) -> str:
    """One entry as a noun phrase, its amount in `asset` (the campaign's, or the withdrawn one's)."""
    money = amount_of(entry.amount, asset)
    cid = entry.campaign_id
    kind = entry.kind
    if kind == Kind.CAMPAIGN_CREATED:
        terms = entry.terms
        plan = " (keep it all)" if isinstance(terms, CampaignTerms) and terms.keep_it_all else ""
        return f"creation of campaign {cid} with a goal of {money}{plan}"
    if kind == Kind.PLEDGED:
        return f"pledge of {money} to campaign {cid}"
    if kind == Kind.UNPLEDGED:
        return f"unpledge of {money} from campaign {cid}"
    if kind == Kind.CANCELLED:
        return f"cancellation of campaign {cid}"
    if kind == Kind.CLAIMED:
        return f"claim of {money} from campaign {cid}"
    if kind == Kind.REFUNDED:
        return f"refund of {money} from campaign {cid}"
    if kind == Kind.FEES_WITHDRAWN:
        return f"withdrawal of {money} of platform fees to {short_address(entry.account)}"
    if kind == Kind.MILESTONE_PLAN:
        return f"plan of {entry.amount} tranches for campaign {cid}"
    if kind == Kind.RELEASE_REQUESTED:
        return f"request to release {tranche_words(entry.amount)} of campaign {cid}"
    if kind == Kind.VOTED:
        choice = "approve" if int(entry.detail, 16) else "reject"
        return f"vote to {choice} the release in campaign {cid} (weight {money})"
    if kind == Kind.TRANCHE_RELEASED:
        if isinstance(entry.terms, TrancheTerms):
            return f"release of {tranche_words(entry.terms.tranche)} ({money}) from campaign {cid}"
        return f"release of {money} from campaign {cid}"
    if kind == Kind.ABORTED:
        return f"abort of campaign {cid} after a failed vote ({money} unreleased, refundable pro rata)"
    if kind == Kind.DISCLOSED:
        return f"disclosure of document {entry.detail[:10]}\u2026 for campaign {cid}"
    if kind == Kind.PAYOUT_DEFERRED:
        return f"payout of {money} from campaign {cid} credited to {short_address(entry.account)}, who could not receive it"
    if kind == Kind.OWED_WITHDRAWN:
        return f"withdrawal of a {money} credit to {short_address(entry.account)}"
    if kind == Kind.STALE_ABORTED:
        return (
            f"abort of campaign {cid} after its creator fell silent ({money} unreleased, refundable pro rata)"
        )
    return f"entry of kind {kind} in campaign {cid}"


def joined(phrases: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    if len(phrases) <= 1:
        return "".join(phrases)
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]


def blocks(count: int) -> str:
    return f"{count:,} block{'s' if count != 1 else ''}"
