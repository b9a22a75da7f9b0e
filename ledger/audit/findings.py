"""Typed audit findings: each names what diverged, where, and the fields that differ."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Finding:
    """One discrepancy found by an audit or replay."""

    code: str
    message: str
    seq: int | None = None
    kind: int | None = None
    campaign_id: int | None = None
    tx_hash: str | None = None
    line: int | None = None
    fields: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


# codes
SEQ_GAP = "seq_gap"
SEQ_OUT_OF_ORDER = "seq_out_of_order"
HEAD_MISMATCH = "head_mismatch"
TERMS_MISMATCH = "terms_mismatch"
INVALID_ENTRY = "invalid_entry"
BAD_LINE = "bad_line"
FINAL_HEAD_MISMATCH = "final_head_mismatch"
LENGTH_MISMATCH = "length_mismatch"
CAMPAIGN_MISMATCH = "campaign_mismatch"
MILESTONE_MISMATCH = "milestone_mismatch"
POSITION_MISMATCH = "position_mismatch"
FEES_MISMATCH = "fees_mismatch"
CREDIT_MISMATCH = "credit_mismatch"
INSOLVENT = "insolvent"
DB_MISSING_ENTRY = "db_missing_entry"
DB_EXTRA_ENTRY = "db_extra_entry"
DB_ALTERED_ENTRY = "db_altered_entry"
DB_ALTERED_PROJECTION = "db_altered_projection"
DB_MISSING_PROJECTION = "db_missing_projection"
DB_EXTRA_PROJECTION = "db_extra_projection"
DB_CHECKPOINT = "db_checkpoint"
