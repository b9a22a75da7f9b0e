"""ERC-20 tokens the web tests deploy themselves, with the decimals, symbol and name they choose:
the page must show what the indexer reads from the chain (a 6-decimal stablecoin, a symbol that
collides with ETH's, a hostile symbol), never what a seeded table says.

The source is compiled here with the project's compiler settings (devnet.artifacts), so no test
contract is added to contracts/."""

from __future__ import annotations

from functools import cache
from typing import Any

from devnet.artifacts import compile_standard, compiler_settings
from devnet.deploy import NodeAccount, transact
from tests.support.chain import EscrowChain

SOURCE = """// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice An ERC-20 with the decimals, name and symbol its deployer picks; anyone may mint.
contract WebTestToken is ERC20 {
    uint8 private immutable _tokenDecimals;

    constructor(string memory name_, string memory symbol_, uint8 decimals_) ERC20(name_, symbol_) {
        _tokenDecimals = decimals_;
    }

    function decimals() public view override returns (uint8) {
        return _tokenDecimals;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
"""
UNIT = "tests/web/WebTestToken.sol"


@cache
def artifact() -> tuple[list[Any], str]:
    """The token's ABI and creation bytecode."""
    output = compile_standard({UNIT: SOURCE}, compiler_settings())
    compiled = output["contracts"][UNIT]["WebTestToken"]
    return compiled["abi"], compiled["evm"]["bytecode"]["object"]


def deploy_token(chain: EscrowChain, name: str, symbol: str, decimals: int, backers: range) -> Any:
    """Deploy a token, mint each backer 10**12 whole units and approve the escrow for them."""
    abi, bytecode = artifact()
    owner = NodeAccount(chain.accounts[0])
    factory = chain.w3.eth.contract(abi=abi, bytecode=bytecode)
    receipt = transact(
        chain.w3, owner, data=factory.constructor(name, symbol, decimals).data_in_transaction, gas=3_000_000
    )
    token = chain.w3.eth.contract(address=receipt["contractAddress"], abi=abi)
    for backer in backers:
        chain.send(0, token.functions.mint(chain.accounts[backer], 10**12 * 10**decimals), gas=100_000)
        chain.send(backer, token.functions.approve(chain.address, 2**256 - 1), gas=100_000)
    return token
