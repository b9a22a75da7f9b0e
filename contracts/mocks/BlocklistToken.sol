// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title BlocklistToken
/// @notice An ERC-20 whose issuer can block accounts, as stablecoins do: a transfer from or to a
/// blocked account reverts. Anyone may mint or block in the tests.
contract BlocklistToken is ERC20 {
    /// @notice Whether transfers from or to an account revert.
    mapping(address account => bool) public blocked;

    /// @notice A transfer touched a blocked account.
    error BlocklistTokenBlocked(address account);

    constructor() ERC20("Blocklist", "BLK") {}

    /// @notice Mints `amount` to `to`.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Blocks or unblocks `account`.
    function setBlocked(address account, bool blocked_) external {
        blocked[account] = blocked_;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (blocked[from]) revert BlocklistTokenBlocked(from);
        if (blocked[to]) revert BlocklistTokenBlocked(to);
        super._update(from, to, value);
    }
}
