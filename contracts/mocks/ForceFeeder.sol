// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ForceFeeder
/// @notice Forces its ETH into `target` with selfdestruct, bypassing any receive or fallback.
contract ForceFeeder {
    constructor() payable {}

    /// @notice Sends this contract's whole balance to `target` by selfdestruct.
    function feed(address payable target) external {
        selfdestruct(target);
    }
}
