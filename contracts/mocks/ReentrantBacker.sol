// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

interface IEscrowForBacker {
    function pledge(uint256 campaignId, uint256 amount) external payable;
    function unpledge(uint256 campaignId, uint256 amount) external;
    function refund(uint256 campaignId) external;
}

/// @title ReentrantBacker
/// @notice An ETH backer that, once armed, re-enters the escrow with `payload` from its receive().
contract ReentrantBacker {
    IEscrowForBacker public immutable escrow;
    bytes public payload;
    bool public armed;
    bool public reentrySucceeded;
    bytes public reentryRevertData;
    uint256 public received;

    constructor(address escrow_) {
        escrow = IEscrowForBacker(escrow_);
    }

    /// @notice Pledges the ETH sent to campaign `id`.
    function pledge(uint256 id) external payable {
        escrow.pledge{value: msg.value}(id, msg.value);
    }

    /// @notice Takes back `amount` of the pledge to campaign `id`.
    function unpledge(uint256 id, uint256 amount) external {
        escrow.unpledge(id, amount);
    }

    /// @notice Refunds the pledge to campaign `id`.
    function refund(uint256 id) external {
        escrow.refund(id);
    }

    /// @notice Arms a one-shot re-entry with `payload` on the next ETH received.
    function arm(bytes calldata payload_) external {
        payload = payload_;
        armed = true;
    }

    receive() external payable {
        received += msg.value;
        if (armed) {
            armed = false;
            (bool ok, bytes memory ret) = address(escrow).call(payload);
            reentrySucceeded = ok;
            reentryRevertData = ret;
        }
    }
}
