"""API throughput and latency against a large ledger, beside a bare FastAPI endpoint (a benchmark,
not a test).

    python bench/api.py [--entries 1000000] [--campaigns 1000] [--backers 100000]
                        [--pg-url postgresql+psycopg://...] [--no-pg] [--duration 5] [--rounds 3]
                        [--compare OTHER_CHECKOUT] [--floor]

1. Builds a database with >= 1,000,000 ledger entries over 1,000 campaigns and 100,000 backers:
   a consistent synthetic history (campaigns created over a simulated year, pledges and unpledges
   while they fund, claims, refunds, cancellations, fee withdrawals), chained with
   ledger/hashing.py exactly as the contract would, folded into the projections with
   ledger/projections.py, and bulk-inserted (executemany on SQLite, COPY on PostgreSQL). Built
   databases are kept in --work-dir (SQLite) or as crowdledger_bench_api_<entries> (PostgreSQL)
   and reused when they match (--rebuild to force).
2. Serves it with uvicorn as `crowdledger serve` does (api/server.py: one worker, uvloop, the
   guarded httptools protocol, no access log) in a subprocess, and a bare FastAPI app returning a
   constant JSON body in another, under the same settings; with --compare, also another
   checkout's API on the same database, measured in the same rounds; with --floor, also this
   API with the four endpoints' bodies replaced by returning an answer recorded from it (the
   median-sized of a few), so routing, validation, middlewares, the Response and the bytes sent
   are the same and only the route's own work (reads, presenting, encoding) is gone: the most
   these endpoints could reach here, and how much CPU their work may take at the target.
3. Drives both with `wrk` (a separate process; randomised ids via a Lua script) on
   /campaigns/{id}, /backers/{address}, /ledger?after=..., /ledger/{seq} and the bare endpoint,
   interleaved, for --rounds rounds of --duration seconds, and prints the median requests/s, p50
   and p99 per endpoint and each one's ratio to the bare endpoint measured in the same run, with
   the CPU time the server process (and, on PostgreSQL, its backends) spent per request: a
   steadier figure than req/s when the machine is shared, and the share of the machine's CPU time
   its hypervisor gave to other guests meanwhile (steal), which is what stretches p99 on this
   kind of machine.

Every request goes through FastAPI's routing and validation, like the bare endpoint's.
Targets: every endpoint >= 0.40x the bare endpoint's requests/s and p99 < 50 ms, on SQLite and
PostgreSQL. The exit status is 1 when a target is missed (the rows of --compare and --floor are
figures only).
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ledger.core.hashing import (  # noqa: E402 - after the sys.path line, run as a script
    ZERO_DETAIL,
    campaign_terms_detail,
    genesis_head,
    keccak256,
    next_head,
    token_detail,
    uint_detail,
)
from ledger.core.projections import apply_entry  # noqa: E402
from ledger.core.public import stored_texts  # noqa: E402
from ledger.core.records import (  # noqa: E402
    ETH,
    Campaign,
    CampaignTerms,
    FeeAccount,
    Kind,
    LedgerEntry,
    Position,
    Projections,
)
from ledger.db.rows import ENTRY_COLUMNS, columns, entry_row, to_rows  # noqa: E402
from ledger.db.store import SyncState  # noqa: E402

CHAIN_ID = 31337
ESCROW = "0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0"
TOKEN = "0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9"
T0 = 1_700_000_000
DAY = 86_400
BLOCK_TIME = 12
FEE_BPS = 250
FINALITY = 12
HISTORY_DAYS = 400
SERVER = {
    "host": "127.0.0.1",
    "loop": "uvloop",
    "http": "httptools",
    "ws": "none",
    "log_level": "warning",
    "access_log": False,
}
WRK = {"threads": 1, "connections": 16}
BARE_BODY = {"ok": True, "service": "bare", "items": [1, 2, 3]}
MIN_RATIO = 0.40  # of the bare endpoint's requests/s, measured side by side
MAX_P99_MS = 50


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


# ============================================================================ serving


def bare_app():
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/bare")
    async def bare() -> dict:
        return BARE_BODY

    return app


# --floor: the endpoint each measured kind is answered by
FLOOR_ENDPOINTS = {
    "campaign": ("api.routes.campaigns", "read_campaign"),
    "backer": ("api.routes.backers", "read_backer"),
    "ledger_page": ("api.routes.ledger", "list_entries"),
    "entry": ("api.routes.ledger", "read_entry"),
}
FLOOR_HEADERS = ("etag", "cache-control")  # the recorded answer's headers the floor sends too


def floor_app(settings, answers_file: str):
    """The API with FLOOR_ENDPOINTS answering a recorded answer and doing nothing else.

    Each endpoint's code is swapped for code of the same parameters that returns the answer: the
    routes FastAPI built (their matching, parameter validation and dependencies) stay as they are."""
    import importlib

    from api.main import create_app
    from api.responses import JSON

    answers = json.loads(Path(answers_file).read_text())
    app = create_app(settings)
    app.state.floor_answers = {
        kind: (lambda body=body["body"].encode(), headers=body["headers"]: JSON(body, headers=headers))
        for kind, body in answers.items()
    }
    for kind, (module, name) in FLOOR_ENDPOINTS.items():
        endpoint = getattr(importlib.import_module(module), name)
        params = list(inspect.signature(endpoint).parameters)
        if "request" not in params:
            raise SystemExit(f"--floor: {module}.{name} no longer takes the Request")
        namespace: dict = {}
        exec(  # same name and parameters; answers from the app's state, so it needs no globals
            f"async def {name}({', '.join(params)}):\n"
            f"    return request.app.state.floor_answers[{kind!r}]()\n",
            namespace,
        )
        endpoint.__code__ = namespace[name].__code__
    return app


def warm_campaigns(server: Server, campaigns: int) -> None:
    """Ask for every campaign once. The first answer about a campaign sums all its positions (the
    API keeps the sums until the campaign's next entry): ~13 ms a campaign of ~750 positions here,
    which a 1 s wrk warm-up does not cover, so the first round measured the cold cache (its p99
    100-180 ms, its req/s a fifth lower) and the median of two rounds mixed it in."""
    for campaign_id in range(1, campaigns + 1):
        with urllib.request.urlopen(f"{server.url}/campaigns/{campaign_id}", timeout=30) as response:
            response.read()


def record_answers(server: Server, paths: dict[str, list[str]], out: Path) -> None:
    """For each kind, the median-sized of its answers to `paths`, with FLOOR_HEADERS, into `out`."""
    answers = {}
    for kind, tried in paths.items():
        found = []
        for path in tried:
            with urllib.request.urlopen(server.url + path, timeout=10) as response:
                headers = {k: v for k, v in response.headers.items() if k.lower() in FLOOR_HEADERS}
                found.append((response.read().decode(), headers))
        found.sort(key=lambda answer: len(answer[0]))
        body, headers = found[len(found) // 2]
        answers[kind] = {"body": body, "headers": headers}
    out.write_text(json.dumps(answers))


def serve(kind: str, port: int, db_url: str | None, answers_file: str | None = None) -> None:
    """Run one server in this process (the benchmark starts two of these as subprocesses), both
    configured as `crowdledger serve` configures uvicorn (api/server.py: the guarded httptools
    protocol), on uvloop."""
    import uvicorn

    from api.core.config import Settings
    from api.server import server_config

    settings = Settings(db_url=db_url or "sqlite:///:memory:", audit_interval=0)
    if kind == "bare":
        app = bare_app()
    elif kind == "floor":
        if not answers_file:
            raise SystemExit("serve floor: give the recorded answers' file after the database")
        app = floor_app(settings, answers_file)
    else:
        from api.main import create_app

        app = create_app(settings)
    config = server_config(app, settings, host=SERVER["host"], port=port, loop=SERVER["loop"])
    uvicorn.Server(config).run()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen
    url: str

    @classmethod
    def start(
        cls, kind: str, db_url: str | None = None, root: Path = ROOT, answers: Path | None = None
    ) -> Server:
        """One server of this checkout's, or with `root` another checkout's (its bench/api.py serves)."""
        port = free_port()
        args = [sys.executable, str(root / "bench" / "api.py"), "serve", kind, str(port)] + (
            [db_url] if db_url else []
        )
        args += [str(answers)] if answers else []
        process = subprocess.Popen(args, cwd=root, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        probe = "/bare" if kind == "bare" else "/ledger/1"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + probe, timeout=1) as response:
                    if response.status == 200:
                        return cls(process, url)
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise SystemExit(f"the {kind} server did not start")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            # SIGTERM: uvicorn shuts down and re-raises the signal it caught, and a SIGINT re-raised
            # printed a KeyboardInterrupt traceback
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# ============================================================================ driving


LUA = """
local kind = "%(kind)s"
local max_campaign, max_seq = %(campaigns)d, %(entries)d
local addresses = {%(addresses)s}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end
function init(args)
  math.randomseed(os.time() * 1000 + id)
end
function request()
  local path
  if kind == "campaign" then
    path = "/campaigns/" .. math.random(1, max_campaign)
  elseif kind == "backer" then
    path = "/backers/" .. addresses[math.random(1, #addresses)]
  elseif kind == "ledger_page" then
    path = "/ledger?after=" .. math.random(0, max_seq - 50)
  elseif kind == "entry" then
    path = "/ledger/" .. math.random(1, max_seq)
  else
    path = "/bare"
  end
  return wrk.format("GET", path)
end
"""

ENDPOINTS = [
    ("bare", "GET /bare (constant JSON)"),
    ("campaign", "GET /campaigns/{id}"),
    ("backer", "GET /backers/{address}"),
    ("ledger_page", "GET /ledger?after={seq}"),
    ("entry", "GET /ledger/{seq}"),
]


@dataclass
class Sample:
    rps: float
    p50: float
    p99: float
    errors: int
    server_us: float = 0.0  # CPU time of the server process per request
    db_us: float = 0.0  # CPU time of the PostgreSQL backends serving it per request


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (Linux /proc; 0 where unreadable)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += (int(fields[11]) + int(fields[12])) / _TICK
    return total


def backend_pids(db_url: str) -> list[int]:
    """The PostgreSQL backends connected to the database of `db_url` (none for SQLite)."""
    if not db_url.startswith("postgresql"):
        return []
    name = db_url.rsplit("/", 1)[1].split("?")[0]
    found = subprocess.run(
        ["pgrep", "-f", f"postgres: .* {name} "], capture_output=True, text=True, check=False
    )
    return [int(pid) for pid in found.stdout.split()]


def measure(url: str, script: Path, duration: int, server: int, db_url: str | None) -> Sample:
    """run_wrk, with the CPU time the server (and its database backends) spent per request:
    on a shared machine the req/s move with the neighbours' load, the CPU per request much less."""
    backends = backend_pids(db_url) if db_url else []
    before, db_before = cpu_seconds([server]), cpu_seconds(backends)
    sample = run_wrk(url, script, duration)
    requests = max(1.0, sample.rps * duration)
    sample.server_us = (cpu_seconds([server]) - before) / requests * 1e6
    sample.db_us = (cpu_seconds(backends) - db_before) / requests * 1e6
    return sample


def _ms(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(f"cannot read latency {text!r}")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def run_wrk(url: str, script: Path, duration: int) -> Sample:
    args = [
        "wrk",
        f"-t{WRK['threads']}",
        f"-c{WRK['connections']}",
        f"-d{duration}s",
        "--latency",
        "--timeout",
        "5s",
        "-s",
        str(script),
        url,
    ]
    done = subprocess.run(args, capture_output=True, text=True, timeout=duration + 60, check=False)
    output = done.stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if found is None:
        raise SystemExit(f"wrk failed: {done.stderr.strip() or output.strip()}")
    rps = float(found.group(1))
    p50 = _ms(re.search(r"\s50%\s+(\S+)", output).group(1))
    p99 = _ms(re.search(r"\s99%\s+(\S+)", output).group(1))
    errors = 0
    for pattern in (r"Non-2xx or 3xx responses:\s+(\d+)", r"Socket errors:.*?timeout (\d+)"):
        found = re.search(pattern, output)
        if found:
            errors += int(found.group(1))
    return Sample(rps, p50, p99, errors)


def cpu_ticks() -> list[int]:
    """The machine's CPU time by state (/proc/stat: user ... steal), in clock ticks."""
    with open("/proc/stat") as stat:
        return [int(n) for n in stat.readline().split()[1:9]]


def stolen_share(before: list[int], after: list[int]) -> float:
    """The share of the machine's CPU time its hypervisor gave to other guests between two readings."""
    spent = [b - a for a, b in zip(before, after)]
    return spent[7] / max(1, sum(spent))


def bench_database(
    label: str, db_url: str, entries: int, campaigns: int, addresses: list[str], args
) -> tuple[list[tuple], float]:
    """The rows of the results table for one database, and the CPU steal while its rounds ran."""
    work = Path(args.work_dir)
    scripts = {}
    sample = ",".join(f'"{a}"' for a in addresses)
    for kind, _ in ENDPOINTS:
        path = work / f"wrk-{kind}.lua"
        path.write_text(LUA % {"kind": kind, "campaigns": campaigns, "entries": entries, "addresses": sample})
        scripts[kind] = path
    with contextlib.ExitStack() as running:  # every server started is stopped, whatever fails

        def start(kind: str, **options) -> Server:
            server = Server.start(kind, db_url if kind != "bare" else None, **options)
            running.callback(server.stop)
            return server

        api = start("api")
        bare = start("bare")
        # --compare: another checkout's API on the same database, each of its runs beside this one's
        other = start("api", root=Path(args.compare).resolve()) if args.compare else None
        floor = None
        if args.floor:
            rng = random.Random(3)
            tried = {
                "campaign": [f"/campaigns/{rng.randint(1, campaigns)}" for _ in range(15)],
                "backer": [f"/backers/{rng.choice(addresses)}" for _ in range(15)],
                "ledger_page": [f"/ledger?after={rng.randint(0, entries - 50)}" for _ in range(15)],
                "entry": [f"/ledger/{rng.randint(1, entries)}" for _ in range(15)],
            }
            record_answers(api, tried, work / f"floor-{label}.json")
            floor = start("floor", answers=work / f"floor-{label}.json")
        kinds = [(kind, name, api) for kind, name in ENDPOINTS]
        for tag, server in (("--compare", other), ("floor", floor)):
            if server is not None:
                kinds += [
                    (f"{kind}@{tag}", f"{name} [{tag}]", server) for kind, name in ENDPOINTS if kind != "bare"
                ]
        samples: dict[str, list[Sample]] = {kind: [] for kind, _, _ in kinds}
        for server in (api, other):
            if server is not None:
                warm_campaigns(server, campaigns)
        for kind, _, server in kinds:  # warm-up: caches, prepared statements
            base = kind.split("@")[0]
            run_wrk(bare.url if base == "bare" else server.url, scripts[base], 1)
        ticks = cpu_ticks()
        for round_ in range(args.rounds):
            for kind, _, server in kinds:
                base = kind.split("@")[0]
                server = bare if base == "bare" else server
                samples[kind].append(
                    measure(
                        server.url,
                        scripts[base],
                        args.duration,
                        server.process.pid,
                        None if base == "bare" else db_url,
                    )
                )
            print(f"  {label}: round {round_ + 1}/{args.rounds} done", file=sys.stderr)
        stolen = stolen_share(ticks, cpu_ticks())
    bare_rps = statistics.median(s.rps for s in samples["bare"])
    rows = []
    for kind, name, _ in kinds:
        rps = statistics.median(s.rps for s in samples[kind])
        p50 = statistics.median(s.p50 for s in samples[kind])
        p99 = statistics.median(s.p99 for s in samples[kind])
        errors = sum(s.errors for s in samples[kind])
        cpu = (
            statistics.median(s.server_us for s in samples[kind]),
            statistics.median(s.db_us for s in samples[kind]),
        )
        rows.append((label, name, rps, p50, p99, rps / bare_rps, errors, cpu))
    return rows, stolen


# ============================================================================ main


def build(label: str, url: str, args) -> tuple[int, list[str]]:
    have = None if args.rebuild else existing_seq(url)
    rng = random.Random(1)
    if have is not None and have >= args.entries:
        print(f"{label}: reusing the database ({have:,} entries)", file=sys.stderr)
        backers = [_address(rng) for _ in range(args.backers)]
        return have, backers
    started = time.monotonic()
    clear(url)
    print(f"{label}: generating {args.entries:,} entries ...", file=sys.stderr)
    entries, state, backers, tip_block, tip_ts = generate(args.entries, args.campaigns, args.backers)
    print(
        f"{label}: {len(entries):,} entries, {len(state.campaigns):,} campaigns, {len(state.positions):,} positions "
        f"({time.monotonic() - started:.0f} s); loading ...",
        file=sys.stderr,
    )
    load(url, entries, state, tip_block, tip_ts)
    print(f"{label}: built in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return len(entries), backers


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "serve":
        serve(argv[1], int(argv[2]), argv[3] if len(argv) > 3 else None, argv[4] if len(argv) > 4 else None)
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--campaigns", type=int, default=1_000)
    parser.add_argument("--backers", type=int, default=100_000)
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("CROWDLEDGER_TEST_PG_URL"),
        help="PostgreSQL server (default $CROWDLEDGER_TEST_PG_URL)",
    )
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run (default 5)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved rounds; medians are reported (default 3)"
    )
    parser.add_argument(
        "--work-dir", default="/tmp/crowdledger-bench-api", help="SQLite file and wrk scripts"
    )
    parser.add_argument("--rebuild", action="store_true", help="rebuild the databases even if they exist")
    parser.add_argument(
        "--compare",
        metavar="CHECKOUT",
        help="also serve the same database from another checkout's API (its bench/api.py serve), "
        "measured in the same rounds; its rows are marked [--compare]",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also serve this API with the measured endpoints answering a recorded answer and doing "
        "nothing else (rows marked [floor]), and print how much CPU each endpoint's own work takes "
        "beside what the target leaves it",
    )
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    if args.entries < args.campaigns * 2:
        raise SystemExit("--entries must be well above --campaigns")
    Path(args.work_dir).mkdir(parents=True, exist_ok=True)
    targets = []
    if not args.no_sqlite:
        targets.append(("SQLite", f"sqlite:///{Path(args.work_dir) / f'api-{args.entries}.db'}"))
    if not args.no_pg:
        if args.pg_url:
            targets.append(("PostgreSQL", pg_bench_url(args.pg_url, args.entries, args.rebuild)))
        else:
            print("PostgreSQL skipped: give --pg-url or set CROWDLEDGER_TEST_PG_URL", file=sys.stderr)
    rows = []
    stolen: dict[str, float] = {}
    for label, url in targets:
        entries, backers = build(label, url, args)
        sample = random.Random(2).sample(backers, min(len(backers), 10_000))
        database_rows, stolen[label] = bench_database(label, url, entries, args.campaigns, sample, args)
        rows += database_rows

    print()
    print(
        f"wrk -t{WRK['threads']} -c{WRK['connections']}, {args.rounds} x {args.duration:g} s, medians; "
        f"uvicorn 1 worker, uvloop, httptools"
    )
    print(
        f"{'database':<11} {'endpoint':<36} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'x bare':>7}  "
        f"{'cpu us/req':>10} {'db us/req':>9}  result"
    )
    failed = False
    for label, name, rps, p50, p99, ratio, errors, (server_us, db_us) in rows:
        is_bare = name.startswith("GET /bare")
        judged = not is_bare and not name.endswith("]")  # [--compare], [floor]: figures only
        ok = not judged or (ratio >= MIN_RATIO and p99 < MAX_P99_MS and errors == 0)
        failed |= not ok
        verdict = ("ok" if ok else "MISSED") if judged else ""
        verdict += f" ({errors} errors)" if errors else ""
        db = f"{db_us:>9,.0f}" if label == "PostgreSQL" and not is_bare else f"{'':>9}"
        print(
            f"{label:<11} {name:<36} {rps:>9,.0f} {p50:>8.2f} {p99:>8.2f} {ratio:>6.2f}x  {server_us:>10,.0f} {db}  {verdict}"
        )
    print(
        f"targets: every endpoint >= {MIN_RATIO:.2f}x the bare endpoint's req/s (same run) and p99 < {MAX_P99_MS} ms"
    )
    print("cpu us/req: the server process's CPU time per request; db us/req: its PostgreSQL backends'. The")
    print("machine's neighbours move req/s from run to run; these move much less.")
    print(
        "CPU time the hypervisor gave to other guests while the rounds ran (steal): "
        + ", ".join(f"{label} {share:.1%}" for label, share in stolen.items())
        + ". A stolen slice stalls every request in flight: p99 above 50 ms on the bare endpoint too means the "
        "run measured the machine."
    )
    if args.floor:
        print_work(rows)
    return 1 if failed else 0


def print_work(rows: list[tuple]) -> None:
    """Per endpoint: the CPU of its own work (the endpoint's CPU a request less its floor's) beside
    what the target leaves it (the bare endpoint's CPU / MIN_RATIO, less the floor's)."""
    cpu = {(label, name): server_us + db_us for label, name, *_, (server_us, db_us) in rows}
    print()
    print(
        f"[floor]: the same app and answer with the endpoint's own work (reads, presenting, encoding) "
        f"taken out. CPU a request (server + database), and the endpoint's own work beside the most a "
        f"{MIN_RATIO:.2f}x endpoint could spend on it:"
    )
    for label, name, *_ in rows:
        if name.endswith("]") or name.startswith("GET /bare"):
            continue
        bare = next(cpu[(lb, n)] for lb, n in cpu if lb == label and n.startswith("GET /bare"))
        floor = cpu[(label, f"{name} [floor]")]
        budget = bare / MIN_RATIO - floor
        print(
            f"  {label:<11} {name:<24} floor {floor:>4,.0f} us, own work {cpu[(label, name)] - floor:>4,.0f} us; "
            f"at {MIN_RATIO:.2f}x it may take {budget:>4,.0f} us"
        )


if __name__ == "__main__":
    sys.exit(main())
