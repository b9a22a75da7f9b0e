"""The latest audit as the API shows it: the ledger replayed from the chain's logs and checked
against the contract, the escrow's solvency per asset, and the database compared with both."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field
from typing_extensions import NotRequired, TypedDict

from api.schemas.common import Address, Amount, Hash32, Time
from api.schemas.health import AuditStatus
from ledger.core.addresses import checksum
from ledger.core.public import iso


class SolvencyPublic(TypedDict):
    token: Address
    balance: Amount
    owed: Amount
    surplus: Annotated[
        str, Field(pattern=r"^-?[0-9]+$", description="balance - owed; negative means insolvent")
    ]
    solvent: bool


class FindingPublic(TypedDict):
    code: str
    message: str
    seq: NotRequired[int | None]
    kind: NotRequired[int | None]
    campaign_id: NotRequired[int | None]
    tx_hash: NotRequired[str | None]
    line: NotRequired[int | None]
    fields: NotRequired[dict[str, Any] | None]


class AuditPublic(TypedDict):
    status: Annotated[
        AuditStatus,
        Field(
            description="disabled: no RPC node configured; pending: the first audit has not finished; "
            "ok: clean; findings: discrepancies (see findings); error: the audit could not run (see error)"
        ),
    ]
    ok: Annotated[bool | None, Field(description="the latest completed audit found nothing")]
    started_at: NotRequired[Time | None]
    finished_at: NotRequired[Time | None]
    duration_seconds: NotRequired[float | None]
    block: NotRequired[Annotated[int | None, Field(description="the block audited at")]]
    head: NotRequired[Annotated[Hash32 | None, Field(description="the head replayed from the chain's logs")]]
    length: NotRequired[Annotated[int | None, Field(description="the number of entries replayed")]]
    onchain_head: NotRequired[Hash32 | None]
    onchain_length: NotRequired[int | None]
    onchain_match: NotRequired[
        Annotated[bool | None, Field(description="head and length equal ledgerHead() and ledgerLength()")]
    ]
    db_entries_compared: NotRequired[int | None]
    solvency: NotRequired[Annotated[list[SolvencyPublic], Field(default=[])]]
    findings: NotRequired[Annotated[list[FindingPublic], Field(default=[])]]
    notes: NotRequired[Annotated[list[str], Field(default=[])]]
    error: NotRequired[str | None]
    audits_run: NotRequired[Annotated[int, Field(default=0)]]


def audit_public(latest: dict[str, Any] | None, enabled: bool) -> AuditPublic:
    """The auditor's latest result (api.workers.auditor), or what stands in for it."""
    if not enabled:
        return {"status": "disabled", "ok": None, "error": "no RPC node is configured (CROWDLEDGER_RPC_URL)"}
    if latest is None:
        return {"status": "pending", "ok": None}
    status = latest["status"]
    result: AuditPublic = {
        "status": status,
        "ok": status == "ok" if status != "error" else None,
        "started_at": iso(int(latest["started"])),
        "finished_at": iso(int(latest["finished"])),
        "duration_seconds": round(latest["finished"] - latest["started"], 3),
        "error": latest.get("error"),
        "audits_run": latest["runs"],
    }
    report = latest.get("report")
    if report is not None:
        result["block"] = report["block"]
        result["head"] = report["ledger_head"]
        result["length"] = report["ledger_length"]
        result["onchain_head"] = report["onchain_head"]
        result["onchain_length"] = report["onchain_length"]
        result["onchain_match"] = (
            bool(report["head_matches"]) and report["onchain_length"] == report["ledger_length"]
        )
        result["db_entries_compared"] = report["db_entries_compared"]
        solvency: list[Any] = [{**s, "token": checksum(s["token"])} for s in report["solvency"]]
        result["solvency"] = solvency
        result["findings"] = report["findings"]
        result["notes"] = report["notes"]
    return result
