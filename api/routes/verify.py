"""Verification of one transaction or one backer: the JSON of `crowdledger verify --tx` and
`crowdledger verify --backer` (ledger/audit/verify.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from starlette.concurrency import run_in_threadpool

from api.deps import AddressPath, RuntimeDep, TxHashPath
from api.errors import RESPONSES
from api.queries.checkpoint import sync_state
from api.responses import JSON
from api.runtime import Runtime
from api.schemas.verify import BackerVerificationPublic, TxVerificationPublic
from ledger.audit.verify import verify_backer, verify_tx
from ledger.chain.rpc import RpcClient
from ledger.core.addresses import checksum

router = APIRouter(prefix="/verify", tags=["verify"], responses=RESPONSES)


async def node_and_contract(runtime: Runtime) -> tuple[RpcClient, str]:
    if runtime.rpc is None:
        raise HTTPException(
            503, "verifying needs a node: start the API with an RPC URL (CROWDLEDGER_RPC_URL)"
        )
    contract = await runtime.served_contract()
    if contract is None:
        raise HTTPException(503, "nothing is indexed yet: the database names no escrow")
    return runtime.rpc, contract


@router.get(
    "/tx/{tx_hash}",
    response_model=TxVerificationPublic,
    responses={404: {"description": "no transaction with this hash on the chain"}},
)
async def verify_transaction(runtime: RuntimeDep, tx_hash: TxHashPath) -> JSON:
    """Is this transaction's money where it should be? Receipt, entries and heads, checked against the chain and the database."""
    rpc, contract = await node_and_contract(runtime)
    info = await sync_state(runtime.db)
    depth = info.finality_depth if info else runtime.settings.finality_depth
    result = await run_in_threadpool(
        verify_tx, rpc, contract, tx_hash, store=runtime.store, finality_depth=depth
    )
    if result.status == "not_found":
        raise HTTPException(404, result.verdict)
    data: dict[str, Any] = result.to_dict()
    if data.get("to"):
        data["to"] = checksum(data["to"])
    return JSON(data)


@router.get("/backer/{address}", response_model=BackerVerificationPublic)
async def verify_backer_positions(runtime: RuntimeDep, address: AddressPath) -> JSON:
    """Where is this backer's money? Every position from the indexed ledger, checked against pledgeOf on-chain."""
    rpc, contract = await node_and_contract(runtime)
    # any case is an address here (the path says so): the checksum is not required
    result = await run_in_threadpool(verify_backer, rpc, contract, address.lower(), runtime.store)
    return JSON(result.to_dict())
