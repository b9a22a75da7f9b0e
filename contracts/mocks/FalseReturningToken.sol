// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title FalseReturningToken
/// @notice A broken ERC-20 whose transfer and transferFrom return false without moving anything.
/// The owner of the test may mend it (setBroken(false)) to get tokens into the escrow first.
contract FalseReturningToken {
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    bool public broken = true;

    /// @notice Credits `amount` to `to`.
    function mint(address to, uint256 amount) external {
        balanceOf[to] += amount;
    }

    /// @notice While true, transfers return false and move nothing.
    function setBroken(bool broken_) external {
        broken = broken_;
    }

    /// @notice Records an allowance and returns true.
    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        return true;
    }

    /// @notice Returns false if broken; otherwise moves `amount` from the caller.
    function transfer(address to, uint256 amount) external returns (bool) {
        return _move(msg.sender, to, amount);
    }

    /// @notice Returns false if broken; otherwise moves `amount` from `from` (allowance unchecked).
    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        return _move(from, to, amount);
    }

    function _move(address from, address to, uint256 amount) private returns (bool) {
        if (broken) return false;
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
        return true;
    }
}
