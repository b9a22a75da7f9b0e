// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title DemoStablecoin
/// @notice "Test USD Coin" (tUSDC, 6 decimals, as USDC has): a plain OpenZeppelin ERC-20 for local
/// demos, so the ledger, the API and the page show a token whose decimals are not 18. Anyone may
/// mint; never deploy it where the token should be worth anything.
contract DemoStablecoin is ERC20 {
    constructor() ERC20("Test USD Coin", "tUSDC") {}

    /// @notice 6, as USDC: amounts are in millionths of a tUSDC.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Mints `amount` (in millionths) to `to`. Open to everyone: demo use only.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
