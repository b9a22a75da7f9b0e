"""Compare an indexed database with the chain, through web3.py's own event decoding (a code path
independent of ledger.events) and the contract's views."""

from __future__ import annotations

from sqlalchemy import select

from ledger.db.schema import campaigns, fee_accounts, positions
from ledger.db.store import LedgerStore
from ledger.records import ETH, Kind
from tests.support.chain import EscrowChain

EVENT_KINDS = {
    "CampaignCreated": Kind.CAMPAIGN_CREATED,
    "Pledged": Kind.PLEDGED,
    "Unpledged": Kind.UNPLEDGED,
    "Cancelled": Kind.CANCELLED,
    "Claimed": Kind.CLAIMED,
    "Refunded": Kind.REFUNDED,
    "FeesWithdrawn": Kind.FEES_WITHDRAWN,
}


def chain_entries(chain: EscrowChain, to_block: int | str = "latest") -> list[tuple]:
    """(seq, kind, campaign_id, account, amount, head, tx_hash, log_index) per ledger event."""
    rows = []
    for name, kind in EVENT_KINDS.items():
        event = getattr(chain.escrow.events, name)()
        for log in event.get_logs(from_block=chain.deployment.block, to_block=to_block):
            args = log["args"]
            account = args.get("backer") or args.get("creator") or args.get("to")
            amount = args.get("amount", args.get("goal", 0))
            rows.append(
                (
                    args["seq"],
                    kind,
                    args.get("campaignId", 0),
                    account.lower(),
                    amount,
                    "0x" + args["head"].hex(),
                    "0x" + log["transactionHash"].hex().removeprefix("0x"),
                    log["logIndex"],
                )
            )
    return sorted(rows)


def db_entries(store: LedgerStore) -> list[tuple]:
    return [
        (e.seq, e.kind, e.campaign_id, e.account, e.amount, e.head, e.tx_hash, e.log_index)
        for e in store.iter_entries()
    ]


def assert_db_matches_chain(store: LedgerStore, chain: EscrowChain) -> None:
    state = store.read_sync_state()
    assert state is not None
    escrow = chain.escrow.functions
    assert state.last_seq == escrow.ledgerLength().call()
    assert state.last_head == "0x" + escrow.ledgerHead().call().hex()
    assert db_entries(store) == chain_entries(chain)
    timestamp = chain.now()
    with store.engine.connect() as conn:
        campaign_rows = conn.execute(select(campaigns)).all()
        position_rows = conn.execute(select(positions)).all()
        fee_rows = {r.token: r for r in conn.execute(select(fee_accounts))}
    assert len(campaign_rows) == escrow.campaignCount().call()
    from ledger.records import Campaign

    for row in campaign_rows:
        view = escrow.getCampaign(row.campaign_id).call()
        creator, token, goal, deadline, cap, keep, fee_bps, pledged, claimed, cancelled = view
        assert (row.creator, row.token) == (creator.lower(), token.lower())
        assert (row.goal, row.deadline, row.max_per_backer, row.keep_it_all, row.fee_bps) == (
            goal, deadline, cap, keep, fee_bps
        )
        assert (row.pledged, row.claimed, row.cancelled) == (pledged, claimed, cancelled)
        record = Campaign(**row._asdict())
        assert record.state_at(timestamp) == escrow.campaignState(row.campaign_id).call()
        backers = [p for p in position_rows if p.campaign_id == row.campaign_id and p.balance > 0]
        assert row.backer_count == len(backers)
    for p in position_rows:
        assert p.balance == escrow.pledgeOf(p.campaign_id, chain.w3.to_checksum_address(p.backer)).call()
    for token in {ETH, chain.token.address.lower()}:
        outstanding = fee_rows[token].accrued_total - fee_rows[token].withdrawn_total if token in fee_rows else 0
        assert outstanding == escrow.accruedFees(chain.w3.to_checksum_address(token)).call()
