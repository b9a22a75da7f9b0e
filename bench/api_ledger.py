"""The API bench's database (bench/api.py): a consistent synthetic history of campaigns, pledges
and unpledges while they fund, claims, refunds, cancellations and fee withdrawals over a simulated
year, chained with ledger/core/hashing.py exactly as the contract would, folded into the
projections with ledger/core/projections.py, and bulk-inserted (executemany on SQLite, COPY on
PostgreSQL). A built database is kept and reused while it holds enough entries.

    entries, backers = build("SQLite", "sqlite:///api.db", entries=1_000_000, campaigns=1_000,
                             backers_wanted=100_000, rebuild=False)
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

from ledger.core.hashing import (
    ZERO_DETAIL,
    campaign_terms_detail,
    genesis_head,
    keccak256,
    next_head,
    token_detail,
    uint_detail,
)
from ledger.core.projections import apply_entry
from ledger.core.public import stored_texts
from ledger.core.records import (
    ETH,
    Campaign,
    CampaignTerms,
    FeeAccount,
    Kind,
    LedgerEntry,
    Position,
    Projections,
)
from ledger.db.rows import ENTRY_COLUMNS, columns, entry_row, to_rows
from ledger.db.store import SyncState

CHAIN_ID = 31337
ESCROW = "0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0"
TOKEN = "0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9"
T0 = 1_700_000_000
DAY = 86_400
BLOCK_TIME = 12
FEE_BPS = 250
FINALITY = 12
HISTORY_DAYS = 400


# ============================================================================ synthetic ledger


def _address(rng: random.Random) -> str:
    return "0x" + rng.randbytes(20).hex()


def generate(entries: int, n_campaigns: int, n_backers: int, seed: int = 1):
    """A consistent history in seq order with heads chained, and what it leads to:
    (entries, projections, backer addresses, tip block, tip timestamp)."""
    rng = random.Random(seed)
    backers = [_address(rng) for _ in range(n_backers)]
    creators = [_address(rng) for _ in range(max(1, n_campaigns // 4))]
    tip_t = T0 + HISTORY_DAYS * DAY
    per_campaign = max(1, round((entries - n_campaigns) / n_campaigns / 1.22))
    events: list[
        tuple[int, int, int, tuple]
    ] = []  # (time, campaign, order, (kind, campaign, account, amount, detail, terms))
    fees = {ETH: 0, TOKEN: 0}
    for c in range(n_campaigns):
        cid = c + 1
        token = TOKEN if rng.random() < 0.3 else ETH
        unit = 10**16 if token == ETH else 10**18
        created = T0 + c * (HISTORY_DAYS - 30) * DAY // n_campaigns + rng.randrange(DAY)
        duration = rng.choice([14, 21, 30, 45]) * DAY
        deadline = created + duration
        keep_it_all = rng.random() < 0.1
        cancel_at = created + int(duration * rng.uniform(0.2, 0.8)) if rng.random() < 0.04 else None
        open_until = min(deadline, tip_t, cancel_at or deadline)
        share = (open_until - created) / duration
        n_pledges = max(3, int(per_campaign * rng.uniform(0.4, 1.6) * share))
        mean_amount = 250 * unit
        goal = int(n_pledges * mean_amount * rng.uniform(0.55, 1.5) / share) // unit * unit
        metadata = keccak256(b"campaign %d" % cid)
        terms = CampaignTerms(token, goal, deadline, 0, keep_it_all, FEE_BPS, "0x" + metadata.hex())
        detail = campaign_terms_detail(token, deadline, 0, keep_it_all, FEE_BPS, metadata)
        order = 0
        events.append(
            (created, cid, order, (Kind.CAMPAIGN_CREATED, cid, rng.choice(creators), goal, detail, terms))
        )
        balances: dict[str, int] = {}
        pledged = 0
        span = open_until - created - 2 * DAY
        for _ in range(n_pledges):
            backer = (
                backers[rng.randrange(min(5_000, n_backers))]
                if rng.random() < 0.3
                else backers[rng.randrange(n_backers)]
            )
            amount = rng.randrange(1, 500) * unit
            t = created + 60 + rng.randrange(max(1, span))
            order += 1
            events.append((t, cid, order, (Kind.PLEDGED, cid, backer, amount, ZERO_DETAIL, None)))
            balances[backer] = balances.get(backer, 0) + amount
            pledged += amount
            if rng.random() < 0.04:
                back = rng.randrange(1, amount + 1)
                order += 1
                events.append(
                    (
                        t + rng.randrange(1, DAY),
                        cid,
                        order,
                        (Kind.UNPLEDGED, cid, backer, back, ZERO_DETAIL, None),
                    )
                )
                balances[backer] -= back
                pledged -= back
        ended = cancel_at is not None or deadline <= tip_t
        if cancel_at is not None:
            order += 1
            events.append((cancel_at, cid, order, (Kind.CANCELLED, cid, None, 0, ZERO_DETAIL, None)))
            refund_from = cancel_at
        elif ended and not keep_it_all and pledged < goal:
            refund_from = deadline
        else:
            refund_from = None
        if refund_from is not None:
            for backer, balance in sorted(balances.items()):
                if balance and rng.random() < 0.7:
                    t = refund_from + 3600 + rng.randrange(10 * DAY)
                    if t < tip_t:
                        order += 1
                        events.append(
                            (t, cid, order, (Kind.REFUNDED, cid, backer, balance, ZERO_DETAIL, None))
                        )
        elif ended and rng.random() < 0.85:
            t = deadline + 3600 + rng.randrange(3 * DAY)
            if t < tip_t:
                fee = -(-pledged * FEE_BPS // 10_000)
                fees[token] += fee
                order += 1
                events.append(
                    (t, cid, order, (Kind.CLAIMED, cid, None, pledged - fee, uint_detail(fee), None))
                )
    # cancellations and claims are sent by the creator: fill in who created each campaign
    creator_of = {e[3][1]: e[3][2] for e in events if e[3][0] == Kind.CAMPAIGN_CREATED}
    fee_recipient = _address(rng)
    for token, total in fees.items():
        if total:
            events.append(
                (
                    tip_t - 600,
                    0,
                    0,
                    (Kind.FEES_WITHDRAWN, 0, fee_recipient, total * 4 // 5, token_detail(token), None),
                )
            )
    events.sort(key=lambda e: (e[0], e[1], e[2]))

    head = genesis_head(CHAIN_ID, ESCROW)
    state = Projections()
    out: list[LedgerEntry] = []
    log_index: dict[int, int] = {}
    for seq, (t, _cid, _order, (kind, cid, account, amount, detail, terms)) in enumerate(events, start=1):
        if kind in (Kind.CANCELLED, Kind.CLAIMED):
            account = creator_of[cid]
        block = 1 + (t - T0) // BLOCK_TIME
        index = log_index.get(block, 0)
        log_index[block] = index + 1
        head = next_head(head, seq, int(kind), cid, account, amount, detail)
        entry = LedgerEntry(
            seq=seq,
            kind=kind,
            campaign_id=cid,
            account=account,
            amount=amount,
            detail="0x" + detail.hex(),
            head="0x" + head.hex(),
            block_number=block,
            block_hash="0x" + keccak256(b"block %d" % block).hex(),
            tx_hash="0x" + keccak256(b"tx %d" % seq).hex(),
            log_index=index,
            block_timestamp=T0 + (block - 1) * BLOCK_TIME,
            terms=terms,
        )
        apply_entry(state, entry)
        out.append(entry)
    tip_block = 1 + (tip_t - T0) // BLOCK_TIME
    return out, state, backers, tip_block, T0 + (tip_block - 1) * BLOCK_TIME


# ============================================================================ loading


def load(url: str, entries: list[LedgerEntry], state: Projections, tip_block: int, tip_ts: int) -> None:
    from dataclasses import astuple, fields

    from ledger.db.engine import open_database

    engine = open_database(url)
    final_block = tip_block - FINALITY
    sqlite = engine.dialect.name == "sqlite"
    texts = stored_texts(entries)
    last = entries[-1]
    sync = SyncState(
        chain_id=CHAIN_ID,
        contract=ESCROW,
        start_block=1,
        last_block=tip_block,
        last_block_hash="0x" + keccak256(b"block %d" % tip_block).hex(),
        last_seq=last.seq,
        last_head=last.head,
        finality_depth=FINALITY,
        final_block=final_block,
        tip_block=tip_block,
        tip_timestamp=tip_ts,
    )
    # each table through its one column list (ledger/db/rows.py)
    tables = {
        "ledger_entries": (ENTRY_COLUMNS, [
            entry_row(entry, entry.block_number <= final_block, text, sqlite=sqlite) for entry, text in zip(entries, texts)
        ]),
        "campaigns": (columns(Campaign), to_rows(state.campaigns.values(), Campaign, sqlite=sqlite)),
        "positions": (columns(Position), to_rows(state.positions.values(), Position, sqlite=sqlite)),
        "fee_accounts": (columns(FeeAccount), to_rows(state.fees.values(), FeeAccount, sqlite=sqlite)),
        "blocks": (("number", "hash"), [
            (n, "0x" + keccak256(b"block %d" % n).hex()) for n in range(final_block, tip_block + 1)
        ]),
        "sync_state": (("id", *(f.name for f in fields(SyncState))), [(1, *astuple(sync))]),
    }  # fmt: skip
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        if sqlite:
            conn.execute("PRAGMA synchronous=OFF")
            for table, (names, rows) in tables.items():
                marks = ", ".join("?" * len(names))
                conn.executemany(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", rows)
            conn.commit()
            conn.execute("ANALYZE")
            conn.commit()
        else:
            with conn.cursor() as cursor:
                for table, (names, rows) in tables.items():
                    with cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
            conn.commit()
            conn.autocommit = True
            conn.execute("VACUUM ANALYZE")
    finally:
        raw.close()
    engine.dispose()


def existing_seq(url: str) -> int | None:
    """The last seq of an already built database, or None."""
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(url)
        with engine.connect() as conn:
            value = conn.execute(text("SELECT last_seq FROM sync_state WHERE id = 1")).scalar()
            if conn.execute(text("SELECT public_json FROM ledger_entries WHERE seq = 1")).scalar() is None:
                value = None  # built before migration 0003: build it again
        engine.dispose()
        return value
    except Exception:  # noqa: BLE001 - missing database or table: build it
        return None


def clear(url: str) -> None:
    """Empty a database that is about to be built again (an older build, or a partial one)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)
        return
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def pg_bench_url(server_url: str, entries: int, rebuild: bool) -> str:
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(server_url)
    name = f"crowdledger_bench_api_{entries}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and rebuild:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


def build(
    label: str, url: str, entries: int, campaigns: int, backers_wanted: int, rebuild: bool
) -> tuple[int, list[str]]:
    """The database at `url` with at least `entries` entries (built unless one is there), and the
    backers' addresses."""
    have = None if rebuild else existing_seq(url)
    rng = random.Random(1)
    if have is not None and have >= entries:
        print(f"{label}: reusing the database ({have:,} entries)", file=sys.stderr)
        backers = [_address(rng) for _ in range(backers_wanted)]
        return have, backers
    started = time.monotonic()
    clear(url)
    print(f"{label}: generating {entries:,} entries ...", file=sys.stderr)
    history, state, backers, tip_block, tip_ts = generate(entries, campaigns, backers_wanted)
    print(
        f"{label}: {len(history):,} entries, {len(state.campaigns):,} campaigns, {len(state.positions):,} positions "
        f"({time.monotonic() - started:.0f} s); loading ...",
        file=sys.stderr,
    )
    load(url, history, state, tip_block, tip_ts)
    print(f"{label}: built in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return len(history), backers
