// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title LedgerHash
/// @notice The hash chain of the CrowdLedger ledger (docs/ledger-format.md):
///
///     head_0 = keccak256(abi.encode(block.chainid, address(escrow)))
///     head_n = keccak256(abi.encode(head_{n-1}, uint64 seq, uint8 kind, uint256 campaignId,
///                                   address account, uint256 amount, bytes32 detail))
///
/// @dev `next` hashes in the scratch memory past the free memory pointer without moving it,
/// which is what `abi.encode` would produce at a fraction of the gas.
library LedgerHash {
    /// @notice The head of an empty ledger, binding it to one chain and one contract.
    function genesis(uint256 chainId, address escrow) internal pure returns (bytes32) {
        return keccak256(abi.encode(chainId, escrow));
    }

    /// @notice The head after appending entry `seq` to a ledger whose head is `previous`.
    function next(
        bytes32 previous,
        uint64 seq,
        uint8 kind,
        uint256 campaignId,
        address account,
        uint256 amount,
        bytes32 detail
    ) internal pure returns (bytes32 head) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, previous)
            mstore(add(ptr, 0x20), and(seq, 0xffffffffffffffff))
            mstore(add(ptr, 0x40), and(kind, 0xff))
            mstore(add(ptr, 0x60), campaignId)
            mstore(add(ptr, 0x80), and(account, 0xffffffffffffffffffffffffffffffffffffffff))
            mstore(add(ptr, 0xa0), amount)
            mstore(add(ptr, 0xc0), detail)
            head := keccak256(ptr, 0xe0)
        }
    }
}
