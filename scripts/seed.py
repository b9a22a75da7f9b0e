"""Seed a deployed escrow with demo campaigns in every state (see devnet.seed).

    brownie run scripts/seed.py
        on brownie's network, for the escrow in the deployment file, from accounts[0]
    python -m scripts.seed --rpc http://127.0.0.1:8545 --deployment deployments/local.json [--backers 200]
        signs with $CROWDLEDGER_PRIVATE_KEY if it is set, else the node's first unlocked account

On anvil, backers are impersonated and time moves forward: Funding, Succeeded, Failed,
Cancelled and Claimed campaigns, and milestone campaigns in every phase (funding, succeeded,
voting with the vote still open, delivering between tranches, released, aborted and partly
refunded), with disclosures. On a real node only what needs no time travel is seeded (Funding
and Cancelled campaigns, a funding milestone campaign, disclosures), and the summary says what
was skipped. If the deployment has no demo token, one is deployed and added to the deployment
file.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from web3 import Web3

from devnet.deploy import (
    PRIVATE_KEY_ENV,
    KeyAccount,
    NodeAccount,
    Sender,
    connect,
    sender_from_env,
)
from devnet.seed import seed_demo
from devnet.summary import SeedSummary
from ledger.chain.deployment import Deployment, default_deployment_path, read_deployment
from ledger.errors import ConfigError
from scripts import run_cli

PROG = "scripts.seed"
DEFAULT_BACKERS = 24


def seed(
    w3: Web3,
    deployment: Deployment,
    path: Path,
    sender: Sender,
    *,
    backers: int = DEFAULT_BACKERS,
    seed_value: int = 7,
    quiet: bool = False,
) -> SeedSummary:
    """Check the chain, seed, and record a newly deployed demo token in the deployment file."""
    chain_id = w3.eth.chain_id
    if chain_id != deployment.chain_id:
        raise ConfigError(f"{path} is for chain {deployment.chain_id}, but the node is chain {chain_id}")
    summary = seed_demo(
        w3, deployment, backers=backers, sender=sender, seed=seed_value, log=None if quiet else print
    )
    if summary.tokens_deployed:
        tokens = {**deployment.tokens, **{s: summary.tokens[s] for s in summary.tokens_deployed}}
        dataclasses.replace(deployment, tokens=tokens).write(path)
        print(f"recorded the new {' and '.join(summary.tokens_deployed)} token in {path}")
    return summary


def main() -> None:
    """`brownie run scripts/seed.py`: brownie's web3 and accounts[0], the default deployment file."""
    from brownie import accounts, web3  # only under brownie

    path = default_deployment_path()
    deployment = read_deployment(path)
    account = accounts[0]
    key = getattr(account, "private_key", None)
    sender: Sender = KeyAccount.from_key(key) if key else NodeAccount(account.address)
    summary = seed(web3, deployment, path, sender)
    print(summary.describe())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.seed",
        description="Seed a deployed CrowdfundEscrow with demo campaigns in every state. "
        f"Signs with ${PRIVATE_KEY_ENV} when set, else uses the node's first unlocked account.",
    )
    parser.add_argument("--rpc", metavar="URL", help="JSON-RPC URL (default: the deployment file's rpc_url)")
    parser.add_argument(
        "--deployment",
        type=Path,
        default=None,
        metavar="FILE",
        help=f"deployment file (default: {default_deployment_path()})",
    )
    parser.add_argument(
        "--backers",
        type=int,
        default=DEFAULT_BACKERS,
        help=f"number of distinct backers on anvil (default: {DEFAULT_BACKERS})",
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed for amounts and who backs what")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    return parser.parse_args(argv)


def cli(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def body() -> int:
        path = args.deployment or default_deployment_path()
        deployment = read_deployment(path)
        rpc = args.rpc or deployment.rpc_url
        if not rpc:
            raise ConfigError(f"{path} records no rpc_url: pass --rpc")
        w3 = connect(rpc)
        summary = seed(
            w3,
            deployment,
            path,
            sender_from_env(w3),
            backers=args.backers,
            seed_value=args.seed,
            quiet=args.json,
        )
        print(summary.to_json() if args.json else summary.describe())
        return 0

    return run_cli(PROG, body)


if __name__ == "__main__":
    sys.exit(cli())
