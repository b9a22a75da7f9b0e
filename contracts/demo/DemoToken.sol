// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title DemoToken
/// @notice "Demo USD" (DUSD, 18 decimals): a plain OpenZeppelin ERC-20 for local demos and
/// benchmarks. Anyone may mint; never deploy it where the token should be worth anything.
contract DemoToken is ERC20 {
    constructor() ERC20("Demo USD", "DUSD") {}

    /// @notice Mints `amount` (in the smallest unit) to `to`. Open to everyone: demo use only.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
