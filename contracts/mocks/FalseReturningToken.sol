// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title FalseReturningToken
/// @notice A broken ERC-20 whose transfer and transferFrom return false without moving anything.
contract FalseReturningToken {
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    /// @notice Credits `amount` to `to`.
    function mint(address to, uint256 amount) external {
        balanceOf[to] += amount;
    }

    /// @notice Records an allowance and returns true.
    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        return true;
    }

    /// @notice Moves nothing and returns false.
    function transfer(address, uint256) external pure returns (bool) {
        return false;
    }

    /// @notice Moves nothing and returns false.
    function transferFrom(address, address, uint256) external pure returns (bool) {
        return false;
    }
}
