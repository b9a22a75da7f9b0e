"""Everything one API process holds: the database (the ledger's store for the workers, the
read-only Database for the routes), the node, and the background workers (follower, auditor,
the event stream's entry feed). Built by create_app's lifespan from Settings."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

from api.core.config import Settings
from api.metrics import Metrics
from api.queries.assets import Assets
from api.queries.backers import Campaigns
from api.queries.campaigns import CampaignAt, Snapshot
from api.queries.checkpoint import sync_state
from api.queries.database import Database, open_reader
from api.queries.documents import MetadataCache
from api.queries.holdings import Holdings
from api.queries.labels import Labels, labels_for
from api.streams import StreamSlots
from api.workers.auditor import Auditor
from api.workers.feed import EntryFeed
from api.workers.follower import Follower
from ledger.chain.rpc import RetryPolicy, RpcClient
from ledger.core.records import Campaign
from ledger.db.engine import open_database
from ledger.db.store import LedgerStore
from ledger.errors import ConfigError, NodeError
from ledger.sync.indexer import Indexer

log = logging.getLogger("api")

FOLLOWER_RETRY = RetryPolicy(attempts=3, base_delay=0.25, max_delay=2.0, total_timeout=60.0)


class NodeProbe:
    """The node's tip block for /health and /metrics: one quick eth_blockNumber with no retries,
    remembered for `ttl` seconds so probes cannot hammer the node."""

    def __init__(self, url: str, timeout: float, ttl: float = 1.0) -> None:
        retry = RetryPolicy(attempts=1, base_delay=0.0, max_delay=0.0, total_timeout=timeout)
        self.rpc = RpcClient(url, timeout=timeout, retry=retry)
        self.ttl = ttl
        self._at = 0.0
        self._tip: int | None = None
        self._lock = threading.Lock()

    def tip(self) -> int | None:
        """The node's block number, or None when it does not answer."""
        with self._lock:
            if time.monotonic() - self._at < self.ttl:
                return self._tip
            try:
                self._tip = self.rpc.block_number()
            except NodeError:
                self._tip = None
            self._at = time.monotonic()
            return self._tip

    def close(self) -> None:
        self.rpc.close()


class Runtime:
    """The process's shared state; `start()` opens the database and launches the workers, `stop()`
    ends them."""

    def __init__(self, settings: Settings, metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.engine = open_database(settings.db_url)  # brings the schema up to date
        self.store = LedgerStore(self.engine)
        self.db: Database = open_reader(settings.db_url, settings.db_pool_size)
        self.metrics = metrics or Metrics()
        # the event stream's newest entries (a window that covers what a new stream may replay)
        self.feed = EntryFeed(
            self.db, settings.stream_poll_interval, window=max(settings.stream_max_replay, 500)
        )
        self.streams = StreamSlots(settings.stream_max_clients, settings.stream_max_per_client)
        self.rpc = (
            RpcClient(
                settings.rpc_url, timeout=settings.rpc_timeout, max_answer_bytes=settings.max_answer_bytes
            )
            if settings.rpc_url
            else None
        )
        self.probe = NodeProbe(settings.rpc_url, settings.node_timeout) if settings.rpc_url else None
        self.follower: Follower | None = None
        self.follower_rpc: RpcClient | None = None
        self.auditor: Auditor | None = None
        self.campaigns = Campaigns()  # campaign records for one ledger state (a backer's pages)
        self.snapshot = Snapshot()  # every campaign at one ledger state (/stats, lists by state)
        self.assets = Assets()  # every asset's symbol, name, decimals and display symbol
        self.metadata = MetadataCache()  # campaigns' metadata documents (title, summary)
        self.holdings = Holdings()  # what each campaign holds for its backers (sums of their positions)
        self.extras: dict[str, Any] = {}  # per-process caches the routes keep (e.g. /stats)
        self._lock = threading.Lock()
        self._check_contract()

    def _check_contract(self) -> None:
        state = self.store.read_sync_state()
        wanted = self.settings.contract
        if state is not None and wanted is not None and state.contract != wanted.lower():
            raise ConfigError(
                f"the database {self.settings.db_url} indexes {state.contract}, not {wanted}; use another database"
            )

    def contract(self) -> str | None:
        """The escrow this process serves: the setting, else the one the database indexes (blocking:
        for the workers' threads)."""
        if self.settings.contract:
            return self.settings.contract.lower()
        state = self.store.read_sync_state()
        return state.contract if state is not None else None

    async def served_contract(self) -> str | None:
        """contract(), read on the event loop."""
        if self.settings.contract:
            return self.settings.contract.lower()
        state = await sync_state(self.db)
        return state.contract if state is not None else None

    async def labels(self, campaigns: Iterable[Campaign], held: Iterable[CampaignAt] = ()) -> Labels:
        """The assets and metadata the answers about `campaigns` show, and the holdings of those in `held`."""
        return await labels_for(self.db, self.assets, self.metadata, campaigns, self.holdings, held)

    async def start(self) -> None:
        await self.db.open()
        settings = self.settings
        if settings.follow:
            contract = self.contract()
            if settings.rpc_url is None or contract is None:
                raise ConfigError(
                    "following the chain needs an RPC URL and the escrow's address (or an indexed database)"
                )
            # its own client with a short retry budget: the follower retries whole passes itself (with a
            # backoff, reporting "degraded"), so a node outage shows on /health in seconds
            self.follower_rpc = RpcClient(
                settings.rpc_url,
                timeout=settings.rpc_timeout,
                max_answer_bytes=settings.max_answer_bytes,
                retry=FOLLOWER_RETRY,
            )
            indexer = Indexer(
                self.follower_rpc,
                self.store,
                contract,
                start_block=settings.start_block,
                finality_depth=settings.finality_depth,
                poll_interval=settings.poll_interval,
            )
            # retries back off up to 60 polls (5 to 30 s)
            backoff = min(30.0, max(5.0, settings.poll_interval * 60))
            self.follower = Follower(
                indexer, on_caught_up=self._caught_up, lock=self._lock, max_backoff=backoff
            )
        if self.rpc is not None and settings.audit_interval > 0:
            self.auditor = Auditor(
                self.rpc,
                self.store,
                self.contract,
                interval=settings.audit_interval,
                wait_for=self.follower.caught_up if self.follower else None,
                lock=self._lock,
            )
        if self.follower is not None:
            self.follower.start()
        if self.auditor is not None:
            self.auditor.start()

    def _caught_up(self) -> None:
        if self.auditor is not None:
            self.auditor.request()

    async def stop(self) -> None:
        await self.feed.stop()
        if self.follower is not None:
            self.follower.stop()
        if self.auditor is not None:
            self.auditor.stop()
        for closable in (self.rpc, self.follower_rpc, self.probe):
            if closable is not None:
                closable.close()
        await self.db.close()
        self.engine.dispose()
