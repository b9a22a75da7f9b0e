"""Deploy CrowdfundEscrow (and, unless told not to, the demo tokens) and write the deployment file.

    brownie run scripts/deploy.py
        on brownie's network (development: the anvil it launches) from accounts[0]
    python -m scripts.deploy --rpc http://127.0.0.1:8545 [--out deployments/local.json]
        signs with $CROWDLEDGER_PRIVATE_KEY if it is set, else sends from the node's first
        unlocked account; never put a key in the repository or on the command line

The file (deployments/local.json by default, or $CROWDLEDGER_DEPLOYMENT) records the address,
chain id, deployment block and hash, transaction, fee settings and token addresses; the indexer,
auditor and API read it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from web3 import Web3

from devnet.deploy import (
    DEFAULT_FEE_BPS,
    DEFAULT_UNPLEDGE_LOCK_WINDOW,
    PRIVATE_KEY_ENV,
    KeyAccount,
    NodeAccount,
    Sender,
    connect,
    deploy_escrow,
    rpc_url_of,
    sender_from_env,
)
from devnet.tokens import deploy_demo_tokens
from ledger.chain.deployment import Deployment, default_deployment_path
from scripts import run_cli

PROG = "scripts.deploy"


def deploy(
    w3: Web3,
    sender: Sender,
    *,
    fee_recipient: str | None = None,
    fee_bps: int = DEFAULT_FEE_BPS,
    unpledge_lock_window: int = DEFAULT_UNPLEDGE_LOCK_WINDOW,
    demo_token: bool = True,
    rpc_url: str | None = None,
) -> Deployment:
    """Deploy the demo tokens (optional: DUSD, and tUSDC with 6 decimals) and
    the escrow; the fee recipient defaults to the sender."""
    tokens = deploy_demo_tokens(w3, sender) if demo_token else {}
    return deploy_escrow(
        w3,
        sender,
        fee_recipient=fee_recipient or sender.address,
        fee_bps=fee_bps,
        unpledge_lock_window=unpledge_lock_window,
        tokens=tokens,
        rpc_url=rpc_url,
    )


def report(deployment: Deployment, path: Path) -> None:
    print(f"CrowdfundEscrow deployed at {deployment.address}")
    print(f"  chain id {deployment.chain_id}, block {deployment.block}, tx {deployment.tx_hash}")
    print(
        f"  fee {deployment.fee_bps} bps to {deployment.fee_recipient}, "
        f"unpledge lock window {deployment.unpledge_lock_window} s"
    )
    for symbol, address in deployment.tokens.items():
        print(f"  token {symbol}: {address}")
    print(f"  wrote {path}")


def main() -> None:
    """`brownie run scripts/deploy.py`: brownie's web3 and accounts[0]."""
    from brownie import accounts, web3  # only under brownie

    account = accounts[0]
    key = getattr(account, "private_key", None)
    sender: Sender = KeyAccount.from_key(key) if key else NodeAccount(account.address)
    deployment = deploy(web3, sender, rpc_url=rpc_url_of(web3))
    path = deployment.write(default_deployment_path())
    report(deployment, path)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.deploy",
        description="Deploy CrowdfundEscrow (and the DemoToken) and write the deployment file. "
        f"Signs with ${PRIVATE_KEY_ENV} when set, else uses the node's first unlocked account.",
    )
    parser.add_argument(
        "--rpc", required=True, metavar="URL", help="JSON-RPC URL of the node, e.g. http://127.0.0.1:8545"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help=f"deployment file to write (default: {default_deployment_path()})",
    )
    parser.add_argument("--fee-recipient", metavar="ADDRESS", help="where fees go (default: the deployer)")
    parser.add_argument(
        "--fee-bps",
        type=int,
        default=DEFAULT_FEE_BPS,
        help=f"platform fee in basis points, at most 1000 (default: {DEFAULT_FEE_BPS})",
    )
    parser.add_argument(
        "--lock-window",
        type=int,
        default=DEFAULT_UNPLEDGE_LOCK_WINDOW,
        metavar="SECONDS",
        help=f"unpledge lock window before a deadline (default: {DEFAULT_UNPLEDGE_LOCK_WINDOW})",
    )
    parser.add_argument(
        "--no-demo-token",
        action="store_true",
        help="do not deploy the demo tokens (DUSD and tUSDC)",
    )
    return parser.parse_args(argv)


def cli(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def body() -> int:
        w3 = connect(args.rpc)
        sender = sender_from_env(w3)
        print(f"deploying from {sender.address} to {args.rpc} (chain id {w3.eth.chain_id})")
        deployment = deploy(
            w3,
            sender,
            fee_recipient=args.fee_recipient,
            fee_bps=args.fee_bps,
            unpledge_lock_window=args.lock_window,
            demo_token=not args.no_demo_token,
            rpc_url=args.rpc,
        )
        path = deployment.write(args.out or default_deployment_path())
        report(deployment, path)
        return 0

    return run_cli(PROG, body)


if __name__ == "__main__":
    sys.exit(cli())
