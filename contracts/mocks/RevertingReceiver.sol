// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title RevertingReceiver
/// @notice Refuses all ETH; forwards calls so it can act as a campaign creator or backer.
contract RevertingReceiver {
    /// @notice Calls `target` with `data` and the ETH sent, bubbling up any revert.
    function execute(address target, bytes calldata data) external payable returns (bytes memory) {
        (bool ok, bytes memory ret) = target.call{value: msg.value}(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 0x20), mload(ret))
            }
        }
        return ret;
    }

    receive() external payable {
        revert("RevertingReceiver: no ETH");
    }
}
