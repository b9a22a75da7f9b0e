"""The auditor: re-runs `ledger.audit.audit_chain` (replay from the chain's logs, compared with
the contract's views and with the database) at an interval, and soon after the follower catches
up with new entries. GET /audit serves the latest result.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Literal, cast

from ledger.audit.chain_audit import audit_chain
from ledger.chain.rpc import RpcClient
from ledger.db.store import LedgerStore
from ledger.errors import CrowdLedgerError

log = logging.getLogger("api.auditor")

MIN_GAP = 2.0  # seconds between two audits triggered by new entries
AuditState = Literal["pending", "ok", "findings", "error"]


class Auditor:
    """Audits in a daemon thread; `latest` is the newest result (a dict for AuditPublic)."""

    def __init__(
        self,
        rpc: RpcClient,
        store: LedgerStore,
        contract: Callable[[], str | None],
        *,
        interval: float,
        min_gap: float = MIN_GAP,
        wait_for: threading.Event | None = None,
        lock: threading.Lock | None = None,
    ) -> None:
        self.rpc = rpc
        self.store = store
        self.contract = contract
        self.interval = interval
        self.min_gap = min_gap
        self.wait_for = wait_for  # the follower's first catch-up, when there is one
        self.lock = lock or threading.Lock()  # shared with the follower: the database holds still
        self.latest: dict[str, Any] | None = None
        self.runs = 0
        self._trigger = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="crowdledger-auditor", daemon=True)

    @property
    def status(self) -> AuditState:
        return "pending" if self.latest is None else cast(AuditState, self.latest["status"])

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._trigger.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def request(self) -> None:
        """Audit again soon (the follower caught up with new entries)."""
        self._trigger.set()

    def _run(self) -> None:
        if self.wait_for is not None:
            while not self._stop.is_set() and not self.wait_for.wait(0.2):
                pass
        last = 0.0
        while not self._stop.is_set():
            gap = time.monotonic() - last
            if gap < self.min_gap:
                self._stop.wait(self.min_gap - gap)
                if self._stop.is_set():
                    return
            self._trigger.clear()
            last = time.monotonic()
            self.audit_once()
            self._trigger.wait(self.interval)

    def audit_once(self) -> dict[str, Any]:
        started = time.time()
        result: dict[str, Any] = {"started": started}
        try:
            contract = self.contract()
            if contract is None:
                raise CrowdLedgerError("nothing to audit yet: the database indexes no escrow")
            with self.lock:
                report = audit_chain(self.rpc, contract, store=self.store)
            result.update(status="ok" if report.ok else "findings", report=report.to_dict())
        except CrowdLedgerError as exc:
            result.update(status="error", error=str(exc))
        except Exception as exc:
            log.exception("the audit crashed")
            result.update(status="error", error=f"{type(exc).__name__}: {exc}")
        result["finished"] = time.time()
        self.runs += 1
        result["runs"] = self.runs
        if result["status"] != "ok":
            log.warning("audit: %s", result.get("error") or f"{len(result['report']['findings'])} findings")
        self.latest = result
        return result
