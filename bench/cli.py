"""Start-up and whole-command speed of `crowdledger`, measured side by side in one run (a benchmark,
not a test).

    python bench/cli.py [--entries 100000] [--crowdledger PATH] [--compare PATH ...] [--importtime]

On a fresh anvil with a ledger of --entries entries (bench/index.py's generator), it measures the
console script as a whole process, the way a person runs it:
  1. `crowdledger --help`, median of --runs runs                                target <= 0.4 s
  2. `crowdledger index` of the whole chain into a fresh SQLite file, best of --index-runs,
     beside one raw eth_getLogs over the same range (parsed), the two in turns    target >= 0.30x raw
  3. `crowdledger index` again with nothing to do, median of --runs runs          target <= 0.6 s
and prints each figure with its target and PASS or MISS; it exits 1 when the measured script
misses one. --compare measures other console scripts in the same rounds (e.g. another checkout's,
/work/before/.venv/bin/crowdledger), for before/after figures taken under the same load; their
misses are printed, not counted. --importtime prints the slowest top-level imports of 1 and 3.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devnet.deploy import NodeAccount, connect, deploy_escrow, escrow_contract  # noqa: E402
from devnet.nodes import LocalNode  # noqa: E402
from ledger.chain.rpc import RpcClient  # noqa: E402

HELP_TARGET = 0.4  # seconds, median
INDEX_TARGET = 0.30  # x raw eth_getLogs
NOOP_TARGET = 0.6  # seconds, median


def _bench_index():
    """bench/index.py as a module (bench/ is not a package): its chain generator and raw fetch."""
    spec = importlib.util.spec_from_file_location("bench_index", Path(__file__).with_name("index.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Script:
    """One console script under measurement, and its figures."""

    path: str
    help: list[float] = field(default_factory=list)
    index: list[float] = field(default_factory=list)
    noop: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def run(self, args: list[str], cwd: Path) -> float:
        """Wall seconds of one whole run; a failure is recorded and counts as infinitely slow."""
        start = time.perf_counter()
        done = subprocess.run([self.path, *args], cwd=cwd, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            self.errors.append(
                f"`{' '.join(args[:1])}` exited {done.returncode}: {done.stderr.strip()[-300:]}"
            )
            return float("inf")
        return elapsed

    def importtime(self, args: list[str], cwd: Path, top: int = 8) -> list[str]:
        """The slowest top-level imports of one run (python -X importtime), slowest first."""
        interpreter = Path(self.path).read_text().splitlines()[0].removeprefix("#!").strip()
        done = subprocess.run(
            [interpreter, "-X", "importtime", self.path, *args], cwd=cwd, capture_output=True, text=True
        )
        rows = []
        for line in done.stderr.splitlines():
            parts = line.removeprefix("import time:").split("|")
            if (
                len(parts) == 3
                and parts[2].startswith(" ")
                and not parts[2].startswith("  ")
                and parts[1].strip()
            ):
                if parts[1].strip().isdigit():
                    rows.append((int(parts[1]), parts[2].strip()))
        total = sum(us for us, _ in rows)
        rows.sort(reverse=True)
        return [f"{total / 1000:.0f} ms of imports in all"] + [
            f"{us / 1000:6.0f} ms  {name}" for us, name in rows[:top]
        ]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    default = Path(sys.executable).with_name("crowdledger")
    parser.add_argument(
        "--crowdledger", default=str(default), help=f"the console script measured (default {default})"
    )
    parser.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="PATH",
        help="another console script measured in the same rounds (figures only)",
    )
    parser.add_argument(
        "--entries", type=int, default=100_000, help="ledger entries on the chain (default 100000)"
    )
    parser.add_argument(
        "--runs", type=int, default=10, help="runs of --help and of the idle index (default 10)"
    )
    parser.add_argument("--index-runs", type=int, default=3, help="backfills of the whole chain (default 3)")
    parser.add_argument("--importtime", action="store_true", help="also print the slowest imports")
    args = parser.parse_args()

    # absolute: the commands run in a scratch directory, where a relative path would not resolve
    scripts = [Script(os.path.abspath(path)) for path in [args.crowdledger, *args.compare]]
    for script in scripts:
        if not os.access(script.path, os.X_OK):
            parser.error(f"{script.path} is not an executable console script")
    bench_index = _bench_index()
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as work:  # no deployment file: only the flags count
        return measure(args, scripts, bench_index, Path(work))


def measure(args: argparse.Namespace, scripts: list[Script], bench_index: Any, work: Path) -> int:
    """Every figure, in turns on one chain; the report; 0 when the measured script met its targets."""

    for _ in range(args.runs):  # in turns, so that a burst of load falls on every script alike
        for script in scripts:
            script.help.append(script.run(["--help"], work))

    with LocalNode.start(
        extra_args=["--gas-limit", str(bench_index.BLOCK_GAS_LIMIT), "--order", "fifo"]
    ) as node:
        w3 = connect(node.url)
        rpc = RpcClient(node.url, max_answer_bytes=1 << 30)  # the raw fetch takes the whole range at once
        deployment = deploy_escrow(w3, NodeAccount(w3.eth.accounts[0]), fee_recipient=w3.eth.accounts[9])
        print(f"generating {args.entries:,} ledger entries on anvil ...", flush=True)
        bench_index.generate(rpc, w3, escrow_contract(w3, deployment.address), args.entries, 200, 20_000)
        start, end = deployment.block, w3.eth.block_number
        target = ["--rpc", node.url, "--contract", deployment.address, "--from-block", str(start), "--quiet"]

        raws: list[float] = []
        entries = 0
        for _ in range(args.index_runs):
            seconds, entries = bench_index.measure_raw(rpc, deployment.address, start, end)
            raws.append(seconds)
            for number, script in enumerate(scripts):
                db = work / f"index-{number}.db"
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{db}{suffix}").unlink(missing_ok=True)
                script.index.append(script.run(["index", *target, "--db", f"sqlite:///{db}"], work))
        for _ in range(args.runs):
            for number, script in enumerate(scripts):
                script.noop.append(
                    script.run(["index", *target, "--db", f"sqlite:///{work / f'index-{number}.db'}"], work)
                )
        importtimes = {}
        if args.importtime:
            for number, script in enumerate(scripts):
                importtimes[script.path] = (
                    script.importtime(["--help"], work),
                    script.importtime(
                        ["index", *target, "--db", f"sqlite:///{work / f'index-{number}.db'}"], work
                    ),
                )

    raw = min(raws)
    print(
        f"\nchain: {entries:,} entries in blocks {start}-{end}; raw eth_getLogs (parsed): "
        f"{', '.join(f'{r:.2f}' for r in raws)} s, best {raw:.2f} s ({entries / raw:,.0f} entries/s)\n"
    )
    subject_ok = True
    for number, script in enumerate(scripts):
        help_median = statistics.median(script.help)
        index_best = min(script.index)
        ratio = raw / index_best if index_best else 0.0
        noop_median = statistics.median(script.noop)
        checks = [help_median <= HELP_TARGET, ratio >= INDEX_TARGET, noop_median <= NOOP_TARGET]
        role = "measured" if number == 0 else "compared"
        print(f"{script.path} ({role})")
        print(
            f"  crowdledger --help        median {help_median:.3f} s of {len(script.help)}  "
            f"(min {min(script.help):.3f}, max {max(script.help):.3f})   target <= {HELP_TARGET} s   "
            f"{verdict(checks[0])}"
        )
        print(
            f"  crowdledger index         best {index_best:.2f} s of {', '.join(f'{s:.2f}' for s in script.index)}"
            f" = {entries / index_best:,.0f} entries/s = {ratio:.2f}x raw   target >= {INDEX_TARGET}x   "
            f"{verdict(checks[1])}"
        )
        print(
            f"  index, nothing to do      median {noop_median:.3f} s of {len(script.noop)}  "
            f"(min {min(script.noop):.3f}, max {max(script.noop):.3f})   target <= {NOOP_TARGET} s   "
            f"{verdict(checks[2])}"
        )
        for error in dict.fromkeys(script.errors):
            print(f"  error: {error}")
        for title, lines in zip(
            ("imports of --help", "imports of the idle index"), importtimes.get(script.path, ())
        ):
            print(f"  {title}: {lines[0]}")
            for line in lines[1:]:
                print(f"    {line}")
        if number == 0:
            subject_ok = all(checks) and not script.errors
    return 0 if subject_ok else 1


if __name__ == "__main__":
    sys.exit(main())
