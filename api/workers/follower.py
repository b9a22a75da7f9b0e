"""The follower: the indexer running in a thread of the API process, polling the node and
committing new entries as they come (`crowdledger up` and `crowdledger serve`).

It calls `on_caught_up` after every pass that stored entries (the database is then at the
node's tip), which is when the auditor re-audits. Passes and audits share `lock`: an audit
compares the database with the chain at one block, so the database must not move under it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Literal

from ledger.errors import CrowdLedgerError, NodeError
from ledger.sync.indexer import Indexer

log = logging.getLogger("api.follower")


class Follower:
    """Runs `indexer` in a daemon thread until `stop()`."""

    def __init__(
        self,
        indexer: Indexer,
        *,
        on_caught_up: Callable[[], None] | None = None,
        lock: threading.Lock | None = None,
    ) -> None:
        self.indexer = indexer
        self.lock = lock or threading.Lock()
        self.on_caught_up = on_caught_up or (lambda: None)
        self.error: str | None = None
        self.passes = 0
        self.caught_up = threading.Event()  # set after the first complete pass
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="crowdledger-follower", daemon=True)

    @property
    def state(self) -> Literal["running", "stopped", "failed"]:
        if self.error is not None:
            return "failed"
        return "running" if self._thread.is_alive() else "stopped"

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        interval = self.indexer.poll_interval
        prepared = False
        while not self._stop.is_set():
            try:
                with self.lock:
                    if not prepared:
                        self.indexer.prepare()
                        prepared = True
                    stored = self.indexer.sync_once()
                self.passes += 1
                first = not self.caught_up.is_set()
                self.caught_up.set()
                if stored or first:
                    self.on_caught_up()
            except NodeError as exc:  # the node went away: keep following, it may come back
                log.warning("node error, retrying: %s", exc)
                self._stop.wait(min(5.0, interval * 4))
                continue
            except CrowdLedgerError as exc:  # integrity, reorg too deep, storage: stop and say why
                self.error = str(exc)
                log.error("the follower stopped: %s", exc)
                return
            except Exception as exc:
                self.error = f"{type(exc).__name__}: {exc}"
                log.exception("the follower crashed")
                return
            self._stop.wait(interval)
