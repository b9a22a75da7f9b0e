"""The demo's tokens: DUSD (contracts/demo/DemoToken.sol, 18 decimals) and tUSDC, 6 decimals as
USDC (contracts/demo/DemoStablecoin.sol), both with an open mint.

    tokens = deploy_demo_tokens(w3, sender)                  # {symbol: address}, for a deployment
    tokens, deployed = demo_tokens(w3, deployment, sender)   # by symbol: given, recorded or deployed
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from web3 import Web3

from devnet.deploy import Sender, deploy_contract, deploy_token, token_contract
from devnet.summary import DEMO_TOKEN_SYMBOL, STABLE_TOKEN_SYMBOL
from ledger.chain.deployment import Deployment
from ledger.errors import ConfigError

STABLE_TOKEN_CONTRACT = "DemoStablecoin"


def deploy_stable_token(w3: Web3, sender: Sender) -> Any:
    """Deploy the 6-decimal demo token (tUSDC, open mint)."""
    contract, _ = deploy_contract(w3, sender, STABLE_TOKEN_CONTRACT)
    return contract


def deploy_demo_tokens(w3: Web3, sender: Sender) -> dict[str, str]:
    """Deploy DUSD and tUSDC: their addresses by symbol (a deployment file's `tokens`)."""
    return {
        DEMO_TOKEN_SYMBOL: str(deploy_token(w3, sender).address),
        STABLE_TOKEN_SYMBOL: str(deploy_stable_token(w3, sender).address),
    }


def demo_tokens(
    w3: Web3,
    deployment: Deployment,
    sender: Sender,
    token_address: str | None = None,
    stable_address: str | None = None,
    log: Callable[[str], None] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The demo tokens by symbol (the address given, else the deployment's, else deployed now),
    and the symbols deployed now."""
    tokens: dict[str, Any] = {}
    deployed: list[str] = []
    for symbol, given in ((DEMO_TOKEN_SYMBOL, token_address), (STABLE_TOKEN_SYMBOL, stable_address)):
        address = given or deployment.tokens.get(symbol)
        if address:
            if not w3.eth.get_code(Web3.to_checksum_address(address)):
                raise ConfigError(f"no contract at the {symbol} token address {address}")
            tokens[symbol] = token_contract(w3, address)
            continue
        contract = (
            deploy_token(w3, sender) if symbol == DEMO_TOKEN_SYMBOL else deploy_stable_token(w3, sender)
        )
        if log is not None:
            log(f"deployed the demo token {symbol} at {contract.address}")
        tokens[symbol] = contract
        deployed.append(symbol)
    return tokens, deployed
