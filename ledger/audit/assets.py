"""The metadata of the assets an audit or a verification shows amounts in: ETH's own, each token's
row in the database, and for a token without one (no database, or not indexed yet) its symbol,
name and decimals read from the chain (ledger.chain.tokens)."""

from __future__ import annotations

from collections.abc import Iterable

from ledger.chain.rpc import RpcClient
from ledger.chain.tokens import read_tokens
from ledger.core.amounts import asset_of
from ledger.core.metadata import ETHER, Token
from ledger.core.records import ETH
from ledger.db.reads import LedgerReads


def assets_for(
    addresses: Iterable[str], *, block: int, rpc: RpcClient | None = None, store: LedgerReads | None = None
) -> dict[str, Token]:
    """The metadata of each asset in `addresses` (lowercase 0x-hex; ETH is the zero address): the
    database's when `store` has it, else read with `rpc` at `block`, else assumed (asset_of)."""
    wanted = sorted(set(addresses))
    known = store.tokens() if store is not None else {}
    unread = [(token, block) for token in wanted if token != ETH and token not in known]
    if unread and rpc is not None:
        known = {**known, **{t.address: t for t in read_tokens(rpc, unread)}}
    return {token: ETHER if token == ETH else asset_of(token, known) for token in wanted}
