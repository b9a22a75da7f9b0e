// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {ICrowdfundEscrow} from "../interfaces/ICrowdfundEscrow.sol";
import {LedgerHash} from "../libraries/LedgerHash.sol";
import {
    BackerPledge,
    CampaignRecord,
    CoreWord,
    GOAL_IN_SLOT_2,
    Globals,
    GlobalsWord,
    GlobalsWords
} from "./EscrowLayout.sol";

/// @title EscrowCore
/// @notice What every part of the escrow shares: the storage, the state a campaign is in, the
/// reentrancy lock, the ledger, moving money in and out, the platform's fees and the credits of
/// payouts that failed.
///
/// @dev Every state change begins with {_enter}, which loads the globals word and refuses a
/// reentrant call, and writes it back once in {_append}, with the new ledger length (plus, where
/// they change, the campaign count or the ETH fees). The lock lives in that word and is only
/// *stored* around external calls: a state change that makes none still checks it, so a
/// reentrant call into it reverts with {CrowdfundEscrowReentrantCall}, but never pays to set and
/// clear it. A token pledge stores the lock before pulling the tokens; every payout stores it with
/// its ledger entry (effects before interactions) and clears it after the transfer with a
/// read-modify-write ({_unlock}), so an admin change made during the call is not overwritten.
abstract contract EscrowCore is ICrowdfundEscrow {
    using SafeERC20 for IERC20;

    /*//////////////////////////////////////////////////////////////
                               CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @notice The gas a creator's payout ({claim}, {release}) forwards to the receiver: enough
    /// for common smart-contract wallets and tokens, bounded so that a receiver that burns gas
    /// cannot make the settlement run out. A payout that fails is credited ({owed}).
    uint256 public constant PAYOUT_GAS = 100_000;

    /// @notice How long after its deadline a campaign that succeeded may be claimed: once
    /// block.timestamp > deadline + CLAIM_WINDOW an unclaimed one is Expired and its backers
    /// refund. For a milestone campaign this bounds the claim of tranche 0.
    uint64 public constant CLAIM_WINDOW = 180 days;

    uint256 internal constant BPS = 10_000;

    uint8 internal constant KIND_CAMPAIGN_CREATED = 1;
    uint8 internal constant KIND_PLEDGED = 2;
    uint8 internal constant KIND_UNPLEDGED = 3;
    uint8 internal constant KIND_CANCELLED = 4;
    uint8 internal constant KIND_CLAIMED = 5;
    uint8 internal constant KIND_REFUNDED = 6;
    uint8 internal constant KIND_FEES_WITHDRAWN = 7;
    uint8 internal constant KIND_MILESTONE_PLAN = 8;
    uint8 internal constant KIND_RELEASE_REQUESTED = 9;
    uint8 internal constant KIND_VOTED = 10;
    uint8 internal constant KIND_TRANCHE_RELEASED = 11;
    uint8 internal constant KIND_ABORTED = 12;
    uint8 internal constant KIND_DISCLOSED = 13;
    uint8 internal constant KIND_PAYOUT_DEFERRED = 14;
    uint8 internal constant KIND_OWED_WITHDRAWN = 15;
    uint8 internal constant KIND_STALE_ABORTED = 16;

    /*//////////////////////////////////////////////////////////////
                                STORAGE
    //////////////////////////////////////////////////////////////*/

    Globals internal _globals;
    bytes32 internal _ledgerHead;

    /// @notice Where {withdrawFees} sends accrued fees.
    address public feeRecipient;

    mapping(uint256 campaignId => CampaignRecord) internal _campaigns;
    mapping(uint256 campaignId => mapping(address backer => BackerPledge)) internal _pledges;
    mapping(address token => uint256) internal _tokenFees;
    mapping(address account => mapping(address token => uint256)) internal _owed;

    /*//////////////////////////////////////////////////////////////
                            FEES AND CREDITS
    //////////////////////////////////////////////////////////////*/

    /// @notice Pays the fees accrued in `token` (address(0) for ETH) to {feeRecipient}. Anyone
    /// may call it, also while paused; a recipient that cannot receive blocks only its own fees
    /// (the owner may point them elsewhere).
    /// Emits a {FeesWithdrawn} event (ledger kind 7).
    function withdrawFees(address token) external {
        GlobalsWord globals = _enter();
        uint256 amount;
        if (token == address(0)) {
            amount = globals.ethFees();
            globals = globals.withEthFees(0);
        } else {
            amount = _tokenFees[token];
            _tokenFees[token] = 0;
        }
        if (amount == 0) revert CrowdfundEscrowNoFees(token);

        address to = feeRecipient;
        (uint64 seq, bytes32 head) =
            _append(globals.withLock(), KIND_FEES_WITHDRAWN, 0, to, amount, bytes32(uint256(uint160(token))));
        emit FeesWithdrawn(token, to, amount, seq, head);
        _pay(token, to, amount);
        _unlock();
    }

    /// @notice Pays the caller's whole credit in `token` (address(0) for ETH) to `to`: the
    /// payouts of {claim} and {release} that the caller could not receive. `to` may be any
    /// address that can receive, so a creator whose own address refuses the asset still gets paid.
    /// Works while paused. Reverts if `to` is address(0) or nothing is owed.
    /// Emits an {OwedWithdrawn} event (ledger kind 15).
    function withdrawOwed(address token, address to) external {
        GlobalsWord globals = _enter();
        if (to == address(0)) revert CrowdfundEscrowInvalidRecipient(to);
        uint256 amount = _owed[msg.sender][token];
        if (amount == 0) revert CrowdfundEscrowNothingOwed(msg.sender, token);
        _owed[msg.sender][token] = 0;

        (uint64 seq, bytes32 head) =
            _append(globals.withLock(), KIND_OWED_WITHDRAWN, 0, to, amount, bytes32(uint256(uint160(token))));
        emit OwedWithdrawn(token, to, amount, seq, head);
        _pay(token, to, amount);
        _unlock();
    }

    /*//////////////////////////////////////////////////////////////
                            CAMPAIGN STATE
    //////////////////////////////////////////////////////////////*/

    /// @dev A campaign's state (see {CampaignState}); `core` is its core word.
    function _stateOf(CampaignRecord storage campaign, CoreWord core) internal view returns (CampaignState state) {
        if (core.cancelled()) return CampaignState.Cancelled;
        if (core.claimed()) return CampaignState.Claimed;
        uint256 deadline = core.deadline();
        if (block.timestamp < deadline) return CampaignState.Funding;
        if (core.keepItAll() || core.pledged() >= _goalOf(campaign)) {
            state = core.milestone() ? _deliveryState(campaign) : CampaignState.Succeeded;
            unchecked {
                // deadline < 2^64: no overflow
                if (state == CampaignState.Succeeded && block.timestamp > deadline + CLAIM_WINDOW) {
                    state = CampaignState.Expired;
                }
            }
            return state;
        }
        return CampaignState.Failed;
    }

    /// @dev The goal: beside the creator when it fits, else in the third slot.
    function _goalOf(CampaignRecord storage campaign) internal view returns (uint256 goal) {
        goal = campaign.goal96;
        if (goal == GOAL_IN_SLOT_2) goal = campaign.goal;
    }

    function _requireExists(uint256 campaignId, CoreWord core) internal pure {
        if (core.deadline() == 0) revert CrowdfundEscrowUnknownCampaign(campaignId);
    }

    function _requireFunding(uint256 campaignId, CampaignRecord storage campaign, CoreWord core) internal view {
        _requireExists(campaignId, core);
        if (core.cancelled()) revert CrowdfundEscrowNotFunding(campaignId, CampaignState.Cancelled);
        if (block.timestamp >= core.deadline()) {
            revert CrowdfundEscrowNotFunding(campaignId, _stateOf(campaign, core));
        }
    }

    function _assetOf(CampaignRecord storage campaign, CoreWord core) internal view returns (address) {
        return core.isToken() ? campaign.token : address(0);
    }

    /// @dev The state of a milestone campaign past its deadline with its goal met: Aborted,
    /// InDelivery, or Succeeded while tranche 0 is unclaimed.
    function _deliveryState(CampaignRecord storage campaign) internal view virtual returns (CampaignState);

    /*//////////////////////////////////////////////////////////////
                          LOCK AND LEDGER
    //////////////////////////////////////////////////////////////*/

    /// @dev The globals word, read once per state change; reverts inside another state change.
    function _enter() internal view returns (GlobalsWord globals) {
        globals = GlobalsWords.load(_globals);
        if (globals.locked()) revert CrowdfundEscrowReentrantCall();
    }

    /// @dev Clears the lock after a payout: a read-modify-write of the (warm) globals slot.
    function _unlock() internal {
        _globals.locked = false;
    }

    /// @dev Appends one entry to the ledger and returns its seq and the new head. Stores the
    /// globals word (with the new ledger length and whatever else the caller changed) in one go.
    function _append(GlobalsWord globals, uint8 kind, uint256 campaignId, address account, uint256 amount, bytes32 detail)
        internal
        returns (uint64 seq, bytes32 head)
    {
        (globals, seq) = globals.nextEntry();
        GlobalsWords.store(_globals, globals);
        head = LedgerHash.next(_ledgerHead, seq, kind, campaignId, account, amount, detail);
        _ledgerHead = head;
    }

    /// @dev Adds `fee` to the fees accrued in `asset`; returns the globals word to store.
    function _accrueFee(GlobalsWord globals, address asset, uint256 fee) internal returns (GlobalsWord) {
        if (fee != 0) {
            if (asset == address(0)) {
                // fee <= pledged < 2^128 wei, and all ETH fees together stay far below 2^96 wei;
                // they live in the globals word, so accruing them costs no slot of its own
                globals = globals.withEthFees(globals.ethFees() + uint96(fee)); // checked
            } else {
                _tokenFees[asset] += fee;
            }
        }
        return globals;
    }

    /*//////////////////////////////////////////////////////////////
                             MOVING MONEY
    //////////////////////////////////////////////////////////////*/

    /// @dev Pulls `amount` of `token` from the caller and returns what actually arrived.
    function _pullToken(address token, uint256 amount) internal returns (uint256 received) {
        uint256 balanceBefore = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
        uint256 balanceAfter = IERC20(token).balanceOf(address(this));
        if (balanceAfter <= balanceBefore) revert CrowdfundEscrowNothingReceived(token);
        received = balanceAfter - balanceBefore;
    }

    /// @dev Sends `amount` of `asset` (address(0) for ETH) to `to` with all gas, reverting if it
    /// fails: for payouts to the caller or to an address of its choosing. Does nothing for zero.
    function _pay(address asset, address to, uint256 amount) internal {
        if (amount == 0) return;
        if (asset == address(0)) {
            bool ok;
            assembly ("memory-safe") {
                // a plain value call, like `to.call{value: amount}("")`, but without copying the
                // recipient's return data into memory
                ok := call(gas(), to, amount, 0, 0, 0, 0)
            }
            if (!ok) revert CrowdfundEscrowEthTransferFailed(to, amount);
        } else {
            IERC20(asset).safeTransfer(to, amount);
        }
    }

    /// @dev Tries to send `amount` of `asset` to `to` forwarding at most PAYOUT_GAS; if the
    /// receiver (or the token) refuses, credits `to` instead and appends the kind-14 entry, so
    /// the settlement completes whatever the receiver does. For payouts to a campaign's creator,
    /// whom the caller may not be. The caller holds the lock.
    function _payOrCredit(uint256 campaignId, address asset, address to, uint256 amount) internal {
        if (amount == 0) return;
        bool ok;
        if (asset == address(0)) {
            assembly ("memory-safe") {
                ok := call(PAYOUT_GAS, to, amount, 0, 0, 0, 0)
            }
        } else {
            bytes memory data = abi.encodeCall(IERC20.transfer, (to, amount));
            assembly ("memory-safe") {
                // as SafeERC20: success without return data from a contract, or returning true
                ok := call(PAYOUT_GAS, asset, 0, add(data, 0x20), mload(data), 0, 0x20)
                if ok {
                    switch returndatasize()
                    case 0 { ok := gt(extcodesize(asset), 0) }
                    default { ok := and(gt(returndatasize(), 0x1f), eq(mload(0), 1)) }
                }
            }
        }
        if (ok) return;
        // A call handed less than PAYOUT_GAS (the caller's gas limit ran short: EIP-150 keeps
        // 1/64 back) leaves less than PAYOUT_GAS / 63 here: refuse to take that for a refusal.
        if (gasleft() < PAYOUT_GAS / 63) revert CrowdfundEscrowInsufficientGas(PAYOUT_GAS);
        _owed[to][asset] += amount;
        (uint64 seq, bytes32 head) = _append(
            GlobalsWords.load(_globals), KIND_PAYOUT_DEFERRED, campaignId, to, amount, bytes32(uint256(uint160(asset)))
        );
        emit PayoutDeferred(campaignId, to, asset, amount, seq, head);
    }
}
