"""`crowdledger serve` and `crowdledger up --rpc ... --db ...` as processes: they serve an indexed
database, say where, and stop cleanly on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cli.main import main
from devnet.deploy import NodeAccount, connect, deploy_escrow
from devnet.nodes import LocalNode, free_port
from tests.cli.conftest import clean_env
from tests.support.server import wait_until


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[str], str]]:
    """(--rpc/--contract flags, --db URL) of an escrow on anvil, indexed."""
    with LocalNode.start("anvil") as node:
        w3 = connect(node.url)
        deployment = deploy_escrow(w3, NodeAccount(w3.eth.accounts[0]), fee_recipient=w3.eth.accounts[1])
        target = ["--rpc", node.url, "--contract", deployment.address]
        db = f"sqlite:///{tmp_path_factory.mktemp('serve') / 'l.db'}"
        assert main(["index", *target, "--db", db, "--quiet"]) == 0
        yield target, db


@pytest.mark.parametrize("command", [["serve"], ["up"]])
def test_serving_an_indexed_database_until_sigterm(
    command: list[str], indexed: tuple[list[str], str], tmp_path: Path
) -> None:
    target, db = indexed
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli",
            *command,
            *target,
            "--db",
            db,
            "--port",
            str(port),
            "--audit-interval",
            "0",
        ],
        cwd=tmp_path,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:

        def healthy() -> bool:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, timeout=60, interval=0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert f"CrowdLedger API on http://127.0.0.1:{port}" in output and "Traceback" not in output
