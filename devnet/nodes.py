"""Start and stop a local Ethereum node (anvil by default, ganache for compatibility tests).

    with LocalNode.start() as node:          # anvil on a free port
        rpc_url = node.url

The node binaries come from the project's node_modules (`npm ci`), or from PATH.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from devnet.checkout import node_binary
from ledger.errors import ConfigError, NodeUnavailable

# anvil's and ganache's default mnemonic accounts #0 and #1 differ; tests ask the node instead.
DEFAULT_CHAIN_ID = 31337


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_binary(name: str) -> str:
    """The path of a node binary: node_modules/.bin first, then PATH."""
    found = node_binary(name)
    if found is None:
        raise ConfigError(f"`{name}` was not found in node_modules/.bin or on PATH; run `npm ci` first")
    return str(found)


def rpc_ready(url: str, timeout: float = 1.0) -> bool:
    """Whether a JSON-RPC node answers eth_chainId at `url`."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return "result" in json.loads(response.read())
    except (OSError, ValueError, urllib.error.URLError):
        return False


@dataclass
class LocalNode:
    """A local node process on 127.0.0.1:`port`. Use `LocalNode.start(...)` as a context manager."""

    kind: str
    port: int
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(
        cls,
        kind: str = "anvil",
        *,
        port: int = 0,
        chain_id: int = DEFAULT_CHAIN_ID,
        block_time: float | None = None,
        accounts: int = 10,
        balance_eth: int = 1_000_000,
        extra_args: list[str] | None = None,
        startup_timeout: float = 30.0,
        genesis_age: int = 0,
    ) -> LocalNode:
        """Launch the node and wait until it answers. `block_time=None` mines on every transaction;
        `genesis_age` seconds puts the genesis block (and the node's clock) that far in the past
        (anvil only), so that a seeding can jump forward in time and still end about now."""
        port = port or free_port()
        if kind == "anvil":
            args = [
                find_binary("anvil"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--chain-id",
                str(chain_id),
                "--hardfork",
                "shanghai",
                "--accounts",
                str(accounts),
                "--balance",
                str(balance_eth),
                "--silent",
            ]
            if block_time is not None:
                args += ["--block-time", str(block_time)]
            if genesis_age:
                args += ["--timestamp", str(int(time.time()) - genesis_age)]
        elif kind == "ganache":
            args = [
                find_binary("ganache"),
                "--server.host",
                "127.0.0.1",
                "--server.port",
                str(port),
                "--chain.chainId",
                str(chain_id),
                "--chain.hardfork",
                "shanghai",
                "--wallet.totalAccounts",
                str(accounts),
                "--wallet.defaultBalance",
                str(balance_eth),
                "--logging.quiet",
            ]
            if block_time is not None:
                args += ["--miner.blockTime", str(block_time)]
        else:
            raise ConfigError(f"unknown node kind {kind!r}; use 'anvil' or 'ganache'")
        args += extra_args or []
        process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        node = cls(kind=kind, port=port, process=process)
        deadline = time.monotonic() + startup_timeout
        while not rpc_ready(node.url):
            if process.poll() is not None:
                err = process.stderr.read().decode(errors="replace").strip() if process.stderr else ""
                raise NodeUnavailable(f"{kind} exited at start-up (code {process.returncode}): {err[-500:]}")
            if time.monotonic() > deadline:
                node.stop()
                raise NodeUnavailable(f"{kind} did not answer on {node.url} within {startup_timeout:.0f}s")
            time.sleep(0.05)
        return node

    def stop(self) -> None:
        """Terminate the node (SIGTERM, then SIGKILL after 5 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> LocalNode:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
