"""Records and rows: one mapping between each record of ledger.core.records and its table.

Every projection record is stored in the table of the same shape: the dataclass's fields are the
table's columns, in the same order, checked when this module is imported. So a row is read and
written through one column list per record, never by position:

    columns(Campaign)                 -> ("campaign_id", "creator", ...)  the SELECT list
    from_row(Campaign, row)           -> Campaign                        a row in that order
    to_row(campaign, sqlite=True)     -> tuple                           the INSERT values

uint256 columns (the U256 type) are Python ints in the records: text of 78 digits on SQLite,
NUMERIC on PostgreSQL. Ledger entries have their own pair (`ENTRY_COLUMNS`, `entry_from_row`,
`entry_row`): their table adds `final` and the public text, and the terms of kinds 1, 8 and 11
live in the projections.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields
from operator import attrgetter
from typing import Any, TypeVar

from sqlalchemy import Boolean, Table

from ledger.core.metadata import Document, Token
from ledger.core.records import (
    Campaign,
    CampaignTerms,
    Credit,
    Disclosure,
    EntryTerms,
    FeeAccount,
    LedgerEntry,
    Milestones,
    Position,
    TrancheRelease,
    Vote,
)
from ledger.db.schema import (
    campaigns,
    credits,
    disclosures,
    documents,
    fee_accounts,
    ledger_entries,
    milestones,
    positions,
    tokens,
    tranche_releases,
    votes,
)
from ledger.db.types import U256, to_sqlite_u256

Record = (
    Campaign
    | Position
    | FeeAccount
    | Credit
    | Milestones
    | TrancheRelease
    | Vote
    | Disclosure
    | Token
    | Document
)
R = TypeVar(
    "R", Campaign, Position, FeeAccount, Credit, Milestones, TrancheRelease, Vote, Disclosure, Token, Document
)

TABLES: dict[type[Any], Table] = {
    Campaign: campaigns,
    Position: positions,
    FeeAccount: fee_accounts,
    Credit: credits,
    Milestones: milestones,
    TrancheRelease: tranche_releases,
    Vote: votes,
    Disclosure: disclosures,
    Token: tokens,
    Document: documents,
}


def _check_shapes() -> None:
    for record_type, table in TABLES.items():
        names = [f.name for f in fields(record_type)]
        if names != [c.name for c in table.columns]:
            raise RuntimeError(
                f"{record_type.__name__}'s fields are not the columns of {table.name}, in order"
            )


_check_shapes()


_COLUMNS: dict[type[Any], tuple[str, ...]] = {r: tuple(c.name for c in t.columns) for r, t in TABLES.items()}
# the positions of each table's uint256 columns and of its boolean columns
_WIDE: dict[type[Any], tuple[int, ...]] = {
    r: tuple(i for i, c in enumerate(t.columns) if isinstance(c.type, U256)) for r, t in TABLES.items()
}
_FLAGS: dict[type[Any], tuple[int, ...]] = {
    r: tuple(i for i, c in enumerate(t.columns) if isinstance(c.type, Boolean)) for r, t in TABLES.items()
}


def columns(record_type: type[Any]) -> tuple[str, ...]:
    """The columns of `record_type`'s table, in the order rows are read and written."""
    return _COLUMNS[record_type]


def encode_tranche_bps(tranche_bps: Iterable[int]) -> str:
    """The milestones.tranche_bps column: "2000,3000,5000"."""
    return ",".join(str(b) for b in tranche_bps)


def decode_tranche_bps(text: str) -> tuple[int, ...]:
    return tuple(int(b) for b in text.split(",")) if text else ()


_BPS_AT = columns(Milestones).index("tranche_bps")
_BODY_AT = columns(Document).index("body")


def from_row(record_type: type[R], row: Sequence[Any]) -> R:
    """The record of a row holding `columns(record_type)` in order (more values may follow)."""
    values = list(row[: len(_COLUMNS[record_type])])
    for i in _WIDE[record_type]:
        if values[i] is not None:
            values[i] = int(values[i])
    for i in _FLAGS[record_type]:
        values[i] = bool(values[i])
    if record_type is Document:  # bytea may come back as a memoryview
        values[_BODY_AT] = bytes(values[_BODY_AT])
    if record_type is Milestones:
        values[_BPS_AT] = decode_tranche_bps(values[_BPS_AT])
    record: R = record_type(*values)
    return record


_GETTERS: dict[type[Any], Callable[[Any], tuple[Any, ...]]] = {
    r: attrgetter(*names) for r, names in _COLUMNS.items()
}


def to_rows(records: Iterable[R], record_type: type[R], *, sqlite: bool) -> list[tuple[Any, ...]]:
    """The rows of `records` (all of `record_type`) to write, uint256 values encoded for the
    database (78-digit text on SQLite, ints for PostgreSQL's NUMERIC). A backfill writes millions of
    values: the fields are read with one attrgetter per record and the text made inline."""
    getter, wide = _GETTERS[record_type], _WIDE[record_type]
    plan = record_type is Milestones
    if not sqlite and not plan:
        return [getter(record) for record in records]
    out = []
    for record in records:
        values = list(getter(record))
        if sqlite:
            for i in wide:
                value = values[i]
                if value is not None:
                    values[i] = to_sqlite_u256(value)
        if plan:
            values[_BPS_AT] = encode_tranche_bps(values[_BPS_AT])
        out.append(tuple(values))
    return out


# ----------------------------------------------------------------------------- ledger entries

ENTRY_COLUMNS: tuple[str, ...] = tuple(c.name for c in ledger_entries.columns)
"""seq, kind, campaign_id, account, amount, detail, head, block_number, block_hash,
block_timestamp, tx_hash, log_index, final, public_json."""

_ENTRY_FIELDS = (
    "seq",
    "kind",
    "campaign_id",
    "account",
    "amount",
    "detail",
    "head",
    "block_number",
    "block_hash",
    "tx_hash",
    "log_index",
    "block_timestamp",
)
_ENTRY_AT = tuple(ENTRY_COLUMNS.index(name) for name in _ENTRY_FIELDS)


def entry_from_row(row: Sequence[Any], terms: EntryTerms | None = None) -> LedgerEntry:
    """The LedgerEntry of a ledger_entries row holding ENTRY_COLUMNS in order (the first 12 at
    least), with the terms of a kind-1, -8 or -11 entry if given."""
    (
        seq,
        kind,
        campaign_id,
        account,
        amount,
        detail,
        head,
        block,
        block_hash,
        tx_hash,
        log_index,
        timestamp,
    ) = (row[i] for i in _ENTRY_AT)
    return LedgerEntry(
        seq,
        kind,
        campaign_id,
        account,
        int(amount),
        detail,
        head,
        block,
        block_hash,
        tx_hash,
        log_index,
        timestamp,
        terms,
    )


def entry_row(entry: LedgerEntry, final: bool, text: str, *, sqlite: bool) -> tuple[Any, ...]:
    """The ledger_entries row of `entry` (ENTRY_COLUMNS in order) with its public text."""
    amount = to_sqlite_u256(entry.amount) if sqlite else entry.amount
    return (
        entry.seq,
        int(entry.kind),
        entry.campaign_id,
        entry.account,
        amount,
        entry.detail,
        entry.head,
        entry.block_number,
        entry.block_hash,
        entry.block_timestamp,
        entry.tx_hash,
        entry.log_index,
        final,
        text,
    )


def terms_of(campaign: Campaign) -> CampaignTerms:
    """The creation terms (kind-1 entry) of a campaign record."""
    return CampaignTerms(
        token=campaign.token,
        goal=campaign.goal,
        deadline=campaign.deadline,
        max_per_backer=campaign.max_per_backer,
        keep_it_all=campaign.keep_it_all,
        fee_bps=campaign.fee_bps,
        metadata_hash=campaign.metadata_hash,
    )
