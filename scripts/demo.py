"""A local chain with the demo on it, and nothing else (`make run`, `crowdledger up`, adds the
indexer, the API and the page): anvil, a deployed escrow, demo campaigns in every state.

    python -m scripts.demo [--port 8545] [--backers 120] [--block-time 2]

Starts anvil on 127.0.0.1:PORT, deploys CrowdfundEscrow and the DemoToken from anvil's first
account, seeds campaigns in every state (Funding, Succeeded, Failed, Cancelled, Claimed,
InDelivery, Aborted) with milestone campaigns in every phase, one of them mid-vote (see
devnet.seed), writes deployments/local.json, prints where everything is, and keeps the
chain running until Ctrl-C.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from devnet.deploy import NodeAccount, connect
from devnet.nodes import LocalNode, rpc_ready
from devnet.seed import DEMO_CHAIN_AGE, seed_demo
from ledger.chain.deployment import default_deployment_path
from ledger.errors import ConfigError, NodeUnavailable
from scripts import run_cli
from scripts.deploy import deploy

PROG = "scripts.demo"
DEFAULT_PORT = 8545
DEFAULT_BACKERS = 120


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.demo",
        description="Start anvil, deploy the escrow and the demo token, seed campaigns in every state, "
        "and keep the chain running until Ctrl-C.",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port on 127.0.0.1 (default: {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--backers",
        type=int,
        default=DEFAULT_BACKERS,
        help=f"number of demo backers (default: {DEFAULT_BACKERS})",
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed for the demo data")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help=f"deployment file to write (default: {default_deployment_path()})",
    )
    parser.add_argument(
        "--block-time",
        type=float,
        default=None,
        metavar="SECONDS",
        help="after seeding, also mine a block every SECONDS (default: only on transactions)",
    )
    parser.add_argument(
        "--no-wait", action="store_true", help="stop the chain right after seeding (for checks)"
    )
    return parser.parse_args(argv)


class _Stop(Exception):
    pass


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def cli(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def body() -> int:
        if not 0 < args.port < 65536:
            raise ConfigError(f"--port {args.port} is not a TCP port")
        url = f"http://127.0.0.1:{args.port}"
        if rpc_ready(url, timeout=0.5):
            raise ConfigError(f"a node already answers at {url}; stop it or pass --port")
        print(f"starting anvil on {url} ...", flush=True)
        node = LocalNode.start("anvil", port=args.port, genesis_age=DEMO_CHAIN_AGE)
        # Ctrl-C (also when started without job control, which ignores SIGINT) and SIGTERM
        previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            w3 = connect(node.url)
            accounts = w3.eth.accounts
            deployer = NodeAccount(accounts[0])
            deployment = deploy(w3, deployer, fee_recipient=accounts[1], rpc_url=node.url)
            path = deployment.write(args.out or default_deployment_path())
            print(
                f"deployed CrowdfundEscrow at {deployment.address}; seeding {args.backers} backers ...",
                flush=True,
            )
            summary = seed_demo(w3, deployment, backers=args.backers, sender=deployer, seed=args.seed)
            if args.block_time:
                w3.provider.make_request("evm_setIntervalMining", [args.block_time])

            print()
            print("CrowdLedger demo chain is running")
            print(f"  RPC URL          {node.url}   (chain id {deployment.chain_id})")
            print(f"  CrowdfundEscrow  {deployment.address}   (deployed in block {deployment.block})")
            for symbol, address in deployment.tokens.items():
                print(f"  {symbol:<16} {address}")
            print(f"  fee              {deployment.fee_bps} bps to {deployment.fee_recipient}")
            print(f"  deployment file  {path}")
            print(summary.describe())
            if args.no_wait:
                return 0
            print("\nPress Ctrl-C to stop the chain.", flush=True)
            while node.process is not None and node.process.poll() is None:
                time.sleep(0.5)
            raise NodeUnavailable(
                f"anvil exited unexpectedly (code {node.process.returncode if node.process else '?'})"
            )
        except (KeyboardInterrupt, _Stop):
            print("\nstopping the chain ...")
            return 0
        finally:
            node.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    return run_cli(PROG, body)


if __name__ == "__main__":
    sys.exit(cli())
