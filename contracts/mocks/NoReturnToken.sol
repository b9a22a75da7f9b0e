// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title NoReturnToken
/// @notice An ERC-20 in the style of USDT: transfer and transferFrom return nothing and revert on
/// failure. The escrow must take a transfer that returns no data for a success.
contract NoReturnToken {
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    /// @notice Credits `amount` to `to`.
    function mint(address to, uint256 amount) external {
        balanceOf[to] += amount;
    }

    /// @notice Records an allowance (returns nothing).
    function approve(address spender, uint256 amount) external {
        allowance[msg.sender][spender] = amount;
    }

    /// @notice Moves `amount` from the caller to `to`; returns nothing.
    function transfer(address to, uint256 amount) external {
        balanceOf[msg.sender] -= amount;
        balanceOf[to] += amount;
    }

    /// @notice Moves `amount` from `from` to `to` against the caller's allowance; returns nothing.
    function transferFrom(address from, address to, uint256 amount) external {
        allowance[from][msg.sender] -= amount;
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
    }
}
