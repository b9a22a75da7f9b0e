// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title SwitchableReceiver
/// @notice A contract account (a campaign creator or backer in the tests) whose receive() can be
/// switched between accepting ETH, refusing it and burning every unit of gas it is given, e.g. a
/// creator that stops accepting ETH after its backers approved a release.
contract SwitchableReceiver {
    /// @notice How receive() treats incoming ETH.
    enum Mode {
        Accept,
        Refuse,
        BurnGas
    }

    /// @notice The current mode; Accept at deployment.
    Mode public mode;

    /// @notice Sets how receive() treats incoming ETH from now on.
    function setMode(Mode mode_) external {
        mode = mode_;
    }

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
        if (mode == Mode.Refuse) revert("SwitchableReceiver: no ETH");
        if (mode == Mode.BurnGas) {
            while (true) {} // runs until the call's gas is gone
        }
    }
}
