"""The follower: the indexer running in a thread of the API process, polling the node and
committing new entries as they come (`crowdledger up` and `crowdledger serve`).

It calls `on_caught_up` after every pass that stored entries (the database is then at the
node's tip), which is when the auditor re-audits. It never stops the API: see Follower. Passes and audits share `lock`: an audit
compares the database with the chain at one block, so the database must not move under it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Literal

from ledger.errors import ConfigError, CrowdLedgerError, LedgerIntegrityError, ReorgTooDeepError
from ledger.sync.indexer import Indexer

log = logging.getLogger("api.follower")


MAX_BACKOFF = 30.0  # seconds between retries at most while the node fails


class Follower:
    """Runs `indexer` in a daemon thread until `stop()`.

    A pass that fails on the node (unreachable, timing out, answering what the indexer refuses),
    on a busy database, or on anything unexpected is retried after a backoff that doubles from the
    poll interval up to MAX_BACKOFF; meanwhile the state is "degraded" and `error` says why, and
    the API goes on serving what is indexed. Only what a retry cannot mend stops it ("failed"): the
    chain's ledger not verifying, a reorg below the finality depth, a wrong configuration."""

    def __init__(
        self,
        indexer: Indexer,
        *,
        on_caught_up: Callable[[], None] | None = None,
        lock: threading.Lock | None = None,
        max_backoff: float = MAX_BACKOFF,
    ) -> None:
        self.indexer = indexer
        self.lock = lock or threading.Lock()
        self.on_caught_up = on_caught_up or (lambda: None)
        self.max_backoff = max_backoff
        self.error: str | None = None  # the last failure (while degraded) or why it stopped (failed)
        self.failures = 0  # consecutive failed passes
        self.stopped_for_good = False
        self.passes = 0
        self.caught_up = threading.Event()  # set after the first complete pass
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="crowdledger-follower", daemon=True)

    @property
    def state(self) -> Literal["running", "degraded", "stopped", "failed"]:
        if self.stopped_for_good:
            return "failed"
        if not self._thread.is_alive():
            return "stopped"
        return "degraded" if self.failures else "running"

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def backoff(self) -> float:
        """Seconds before the next try after `failures` failed passes in a row."""
        base = max(self.indexer.poll_interval, 0.1)
        return float(min(self.max_backoff, base * 2 ** min(self.failures, 16)))

    def _run(self) -> None:
        prepared = False
        while not self._stop.is_set():
            try:
                with self.lock:
                    if not prepared:
                        self.indexer.prepare()
                        prepared = True
                    stored = self.indexer.sync_once()
            except (LedgerIntegrityError, ReorgTooDeepError, ConfigError) as exc:
                self.error = str(exc)
                self.stopped_for_good = True
                log.error("the follower stopped: %s", exc)
                return
            except Exception as exc:  # the node, a busy database, the unexpected: retry later
                self._failed(exc)
                self._stop.wait(self.backoff())
                continue
            if self.failures:
                log.warning("the follower is indexing again after %d failed passes", self.failures)
            self.failures, self.error = 0, None
            self.passes += 1
            first = not self.caught_up.is_set()
            self.caught_up.set()
            if stored or first:
                self.on_caught_up()
            self._stop.wait(self.indexer.poll_interval)

    def _failed(self, exc: Exception) -> None:
        known = isinstance(exc, CrowdLedgerError)
        message = str(exc) if known else f"{type(exc).__name__}: {exc}"
        if self.failures == 0 or message != self.error:  # once per outage and cause, not every retry
            if known:
                log.warning("the follower will retry (%s): %s", type(exc).__name__, message)
            else:
                log.exception("the follower will retry after an unexpected error")
        self.failures += 1
        self.error = message
