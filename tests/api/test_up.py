"""`crowdledger up` end to end: anvil, deploy, seed, index, serve; then Ctrl-C stops it all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from devnet.nodes import free_port, rpc_ready
from tests.support.server import wait_until

ROOT = Path(__file__).resolve().parents[2]


def test_up_runs_the_whole_demo_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    port, anvil_port = free_port(), free_port()
    # the demo writes its deployment file here, not into the checkout's deployments/
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "CROWDLEDGER_DEPLOYMENT": str(tmp_path / "local.json")}
    env.pop("CROWDLEDGER_DB_URL", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli",
            "up",
            "--port",
            str(port),
            "--anvil-port",
            str(anvil_port),
            "--backers",
            "40",
            "--data-dir",
            str(tmp_path / "demo"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    api = f"http://127.0.0.1:{port}"
    try:

        def healthy() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"`up` exited early:\n{process.stdout.read() if process.stdout else ''}")
            try:
                return httpx.get(api + "/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, timeout=240, interval=0.5)
        campaigns = httpx.get(api + "/campaigns", timeout=10).json()
        assert campaigns["count"] >= 8
        states = {c["state"] for c in campaigns["data"]}
        assert {"funding", "succeeded", "failed", "cancelled", "claimed"} <= states
        one = httpx.get(f"{api}/campaigns/{campaigns['data'][0]['id']}", timeout=10)
        assert one.status_code == 200 and one.json()["id"] == campaigns["data"][0]["id"]
        assert rpc_ready(f"http://127.0.0.1:{anvil_port}")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            output, _ = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
    assert process.returncode == 0, output
    assert "CrowdLedger is up" in output and "eth_sendTransaction" in output and "curl" in output
    assert "stopping anvil" in output
    time.sleep(0.2)
    assert not rpc_ready(f"http://127.0.0.1:{anvil_port}")  # anvil is gone too
