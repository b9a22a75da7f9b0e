"""Operations: /health for probes and people, /metrics for Prometheus."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from api.deps import RuntimeDep
from api.errors import RESPONSES, json_errors
from api.queries.checkpoint import sync_state
from api.responses import JSON
from api.runtime import Runtime
from api.schemas.health import AuditStatus, HealthPublic
from ledger.errors import CrowdLedgerError

router = APIRouter(tags=["operations"], responses=RESPONSES)

PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"


async def health(runtime: Runtime) -> HealthPublic:
    try:
        info = await sync_state(runtime.db)
        database = True
    except CrowdLedgerError:
        info, database = None, False
    node_block = await run_in_threadpool(runtime.probe.tip) if runtime.probe is not None else None
    node = None if runtime.probe is None else node_block is not None
    follower = runtime.follower
    auditor = runtime.auditor
    audit: AuditStatus = "disabled" if auditor is None else auditor.status
    indexed = info.last_block if info else None
    follower_state = follower.state if follower else "off"
    ok = database and node is not False and follower_state in ("off", "running")
    down = not database or follower_state in ("stopped", "failed")
    return {
        "status": "ok" if ok else "down" if down else "degraded",
        "database": database,
        "node": node,
        "node_block": node_block,
        "indexed_block": indexed,
        "final_block": info.final_block if info else None,
        "lag_blocks": max(0, node_block - indexed)
        if node_block is not None and indexed is not None
        else None,
        "entries": info.last_seq if info else 0,
        "follower": follower_state,
        "follower_error": follower.error if follower else None,
        "audit": audit,
        "audit_ok": None if audit in ("disabled", "pending", "error") else audit == "ok",
        "ok": ok,
    }


@router.get(
    "/health",
    response_model=HealthPublic,
    responses={
        503: {
            "model": HealthPublic,
            "description": "down: the database does not answer, or the follower stopped",
        }
    },
)
async def read_health(runtime: RuntimeDep) -> JSON:
    """Node reachable, indexed block, lag, follower and last audit; 200 when ok or degraded (the API serves what is indexed), 503 when down."""
    result = await health(runtime)
    return JSON(result, status_code=503 if result["status"] == "down" else 200)


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    response_model=str,
    responses={**json_errors(), 200: {"content": {PROMETHEUS: {"schema": {"type": "string"}}}}},
)
async def read_metrics(runtime: RuntimeDep) -> PlainTextResponse:
    """Prometheus metrics: indexed block, lag, entries, request counts and latencies."""
    status = await health(runtime)
    gauges = [
        ("crowdledger_indexed_block", "The last block indexed.", status["indexed_block"]),
        ("crowdledger_final_block", "The last block whose entries are final.", status["final_block"]),
        ("crowdledger_node_block", "The node's latest block.", status["node_block"]),
        (
            "crowdledger_lag_blocks",
            "Blocks between the node's tip and the indexed block.",
            status["lag_blocks"],
        ),
        ("crowdledger_ledger_entries", "Ledger entries indexed (the last seq).", status["entries"]),
        ("crowdledger_up", "1 when the database (and node, if configured) answer.", status["ok"]),
        (
            "crowdledger_audit_ok",
            "1 when the last audit was clean, 0 when it found or hit a problem.",
            None if status["audit"] in ("disabled", "pending") else status["audit"] == "ok",
        ),
    ]
    return PlainTextResponse(runtime.metrics.render(gauges), media_type=PROMETHEUS)
