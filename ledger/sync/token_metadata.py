"""The metadata of the campaign tokens the indexer meets: each token's symbol, name and decimals
read from the chain once (ledger.chain.tokens), when the batch that creates its first campaign is
stored, and stored in that batch's transaction."""

from __future__ import annotations

from collections.abc import Sequence

from ledger.chain.rpc import RpcClient
from ledger.chain.tokens import read_tokens
from ledger.core.metadata import Token
from ledger.core.records import ETH, CampaignTerms, Kind, LedgerEntry
from ledger.db.store import LedgerStore


class TokenMetadata:
    """Which tokens have their metadata stored, and the reads of the ones that do not."""

    def __init__(self, rpc: RpcClient, store: LedgerStore) -> None:
        self.rpc = rpc
        self.store = store
        self._known: set[str] | None = None

    def first_seen(self, entries: Sequence[LedgerEntry]) -> list[Token]:
        """The metadata of the tokens whose first campaign `entries` create, read at the
        creation's block: one batch of eth_calls for all of them, none for a batch without any."""
        wanted: dict[str, int] = {}
        for entry in entries:
            if entry.kind == Kind.CAMPAIGN_CREATED and isinstance(entry.terms, CampaignTerms):
                wanted.setdefault(entry.terms.token, entry.block_number)
        if not wanted:
            return []
        if self._known is None:
            self._known = set(self.store.tokens())
        new = [(token, block) for token, block in wanted.items() if token != ETH and token not in self._known]
        found = read_tokens(self.rpc, new) if new else []
        self._known.update(token for token, _ in new)
        return found

    def read_unread(self) -> None:
        """Read and store the metadata of campaign tokens stored without it (a database indexed
        before token metadata was read)."""
        unread = self.store.tokens_unread()
        if unread:
            self.store.store_tokens(read_tokens(self.rpc, unread))

    def forget(self) -> None:
        """Read the stored tokens again before the next batch (one that read tokens failed)."""
        self._known = None
