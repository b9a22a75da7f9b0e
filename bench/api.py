"""API throughput and latency against a large ledger, beside a bare FastAPI endpoint (a benchmark,
not a test).

    python bench/api.py [--entries 1000000] [--campaigns 1000] [--backers 100000]
                        [--pg-url postgresql+psycopg://...] [--no-pg] [--duration 5] [--rounds 3]
                        [--compare OTHER_CHECKOUT] [--floor]

1. Builds a database with >= 1,000,000 ledger entries over 1,000 campaigns and 100,000 backers:
   a consistent synthetic history (campaigns created over a simulated year, pledges and unpledges
   while they fund, claims, refunds, cancellations, fee withdrawals; bench/api_ledger.py), chained
   with ledger/core/hashing.py exactly as the contract would, folded into the projections with
   ledger/core/projections.py, and bulk-inserted (executemany on SQLite, COPY on PostgreSQL). Built
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
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api_ledger import build, pg_bench_url  # noqa: E402 - bench/ beside this script, after the sys.path line

from devnet.nodes import free_port  # noqa: E402

SERVER = {"host": "127.0.0.1", "loop": "uvloop"}  # the rest as `crowdledger serve` (api/server.py)
WRK = {"threads": 1, "connections": 16}
BARE_BODY = {"ok": True, "service": "bare", "items": [1, 2, 3]}
MIN_RATIO = 0.40  # of the bare endpoint's requests/s, measured side by side
MAX_P99_MS = 50


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
        entries, backers = build(label, url, args.entries, args.campaigns, args.backers, args.rebuild)
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
