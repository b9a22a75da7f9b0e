"""The latest audit: the ledger replayed from the chain's logs and checked against the contract,
the escrow's solvency and the database (a background task re-audits; see api/workers/auditor.py)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import RuntimeDep
from api.errors import RESPONSES
from api.responses import JSON
from api.schemas.audit import AuditPublic, audit_public

router = APIRouter(tags=["audit"], responses=RESPONSES)


@router.get("/audit", response_model=AuditPublic)
async def read_audit(runtime: RuntimeDep) -> JSON:
    """The latest audit: block, head, length, on-chain match, solvency per asset and findings."""
    auditor = runtime.auditor
    return JSON(audit_public(auditor.latest if auditor else None, auditor is not None))
