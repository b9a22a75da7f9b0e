"""The process's health, for probes and people."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field
from typing_extensions import TypedDict

AuditStatus = Literal["disabled", "pending", "ok", "findings", "error"]
FollowerState = Literal["off", "running", "degraded", "stopped", "failed"]
HealthStatus = Literal["ok", "degraded", "down"]


class HealthPublic(TypedDict):
    ok: Annotated[bool, Field(description="everything answers and the follower (if any) is running")]
    status: Annotated[
        HealthStatus,
        Field(
            description="ok; degraded: the API serves what is indexed but the node does not answer or the "
            "follower is retrying (see follower_error); down: the database does not answer or the follower "
            "stopped for good (HTTP 503)"
        ),
    ]
    database: Annotated[bool, Field(description="the database answered")]
    node: Annotated[
        bool | None, Field(description="the JSON-RPC node answered; null when none is configured")
    ]
    node_block: int | None
    indexed_block: int | None
    final_block: int | None
    lag_blocks: Annotated[int | None, Field(description="node tip - indexed block")]
    entries: int
    follower: Annotated[
        FollowerState,
        Field(
            description="off: not in this process; degraded: retrying after node errors, with a backoff; "
            "failed: stopped on what a retry cannot mend"
        ),
    ]
    follower_error: Annotated[str | None, Field(description="the last failure while degraded or failed")]
    audit: AuditStatus
    audit_ok: bool | None
