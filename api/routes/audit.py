"""The latest audit: the ledger replayed from the chain's logs and checked against the contract,
the escrow's solvency and the database (a background task re-audits; see api/services/auditor.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import RuntimeDep
from api.errors import RESPONSES
from api.schemas import AuditPublic
from api.services.present import JSON, checksum, iso

router = APIRouter(tags=["audit"], responses=RESPONSES)


def audit_public(latest: dict[str, Any] | None, enabled: bool) -> dict[str, Any]:
    if not enabled:
        return {"status": "disabled", "ok": None, "error": "no RPC node is configured (CROWDLEDGER_RPC_URL)"}
    if latest is None:
        return {"status": "pending", "ok": None}
    result: dict[str, Any] = {
        "status": latest["status"],
        "ok": latest["status"] == "ok" if latest["status"] != "error" else None,
        "started_at": iso(int(latest["started"])),
        "finished_at": iso(int(latest["finished"])),
        "duration_seconds": round(latest["finished"] - latest["started"], 3),
        "error": latest.get("error"),
        "audits_run": latest["runs"],
    }
    report = latest.get("report")
    if report is not None:
        result.update(
            block=report["block"],
            head=report["ledger_head"],
            length=report["ledger_length"],
            onchain_head=report["onchain_head"],
            onchain_length=report["onchain_length"],
            onchain_match=bool(report["head_matches"]) and report["onchain_length"] == report["ledger_length"],
            db_entries_compared=report["db_entries_compared"],
            solvency=[{**s, "token": checksum(s["token"])} for s in report["solvency"]],
            findings=report["findings"],
            notes=report["notes"],
        )
    return result


@router.get("/audit", response_model=AuditPublic)
async def read_audit(runtime: RuntimeDep) -> JSON:
    """The latest audit: block, head, length, on-chain match, solvency per asset and findings."""
    auditor = runtime.auditor
    return JSON(audit_public(auditor.latest if auditor else None, auditor is not None))
