"""The process's health, for probes and people."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field
from typing_extensions import TypedDict

AuditStatus = Literal["disabled", "pending", "ok", "findings", "error"]
FollowerState = Literal["off", "running", "stopped", "failed"]


class HealthPublic(TypedDict):
    ok: bool
    database: Annotated[bool, Field(description="the database answered")]
    node: Annotated[
        bool | None, Field(description="the JSON-RPC node answered; null when none is configured")
    ]
    node_block: int | None
    indexed_block: int | None
    final_block: int | None
    lag_blocks: Annotated[int | None, Field(description="node tip - indexed block")]
    entries: int
    follower: FollowerState
    follower_error: str | None
    audit: AuditStatus
    audit_ok: bool | None
