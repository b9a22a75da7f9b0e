// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {EscrowCore} from "./EscrowCore.sol";
import {
    BackerPledge,
    CampaignCore,
    CampaignRecord,
    CoreWord,
    CoreWords,
    GOAL_IN_SLOT_2,
    GlobalsWord,
    GlobalsWords,
    PledgeWords
} from "./EscrowLayout.sol";

/// @title EscrowCampaigns
/// @notice The campaign state machine: create, pledge, unpledge, cancel, claim, refund.
///
///     Funding ──deadline──▶ Succeeded ──claim──▶ Claimed
///        │                     └──claim window closes──▶ Expired ──▶ backers refund in full
///        ├──deadline, goal missed──▶ Failed ──▶ backers refund in full
///        └──cancel──▶ Cancelled ──▶ backers refund in full
///
/// A milestone campaign's claim pays tranche 0 only and its delivery (InDelivery, Aborted) is
/// {EscrowMilestones}'; this contract reaches it through two hooks, {_claimFirstTranche} and
/// {_takeAbortedRefund}, and {EscrowCore-_stateOf} through a third, {_deliveryState}.
abstract contract EscrowCampaigns is EscrowCore {
    /// @notice The furthest a deadline may lie in the future when a campaign is created.
    uint64 public constant MAX_DURATION = 365 days;

    /// @notice Within this many seconds before a deadline, an unpledge may not drop a campaign
    /// that has reached its goal back below it.
    uint64 public immutable unpledgeLockWindow;

    /// @dev A new campaign's terms, gathered to keep {createCampaign}'s stack shallow.
    struct NewCampaign {
        address token;
        uint256 goal;
        uint64 deadline;
        uint256 maxPerBacker;
        bool keepItAll;
        uint16 feeBps;
        bytes32 metadataHash;
    }

    constructor(uint64 unpledgeLockWindow_) {
        unpledgeLockWindow = unpledgeLockWindow_;
    }

    /*//////////////////////////////////////////////////////////////
                          CREATING AND FUNDING
    //////////////////////////////////////////////////////////////*/

    /// @notice Launches a campaign; the current fee is fixed into it. Refused while paused.
    /// @param token The ERC-20 token pledged, or address(0) for ETH.
    /// @param goal The target; may be 0 only for a keep-it-all campaign. At most 2^128 - 1.
    /// @param deadline Pledges are accepted while block.timestamp < deadline.
    /// @param maxPerBacker The most one backer may have pledged at once; 0 for no cap.
    /// @param keepItAll If true the creator may claim whatever was raised; otherwise all-or-nothing.
    /// @param metadataHash Commits to the off-chain description; kept in the ledger, not in storage.
    /// @return campaignId The new campaign's id; ids start at 1.
    /// Emits a {CampaignCreated} event (ledger kind 1).
    function createCampaign(
        address token,
        uint256 goal,
        uint64 deadline,
        uint256 maxPerBacker,
        bool keepItAll,
        bytes32 metadataHash
    ) external returns (uint256 campaignId) {
        (campaignId,) = _create(token, goal, deadline, maxPerBacker, keepItAll, metadataHash, false);
    }

    /// @notice Pledges `amount` to a campaign that is still funding. For ETH send exactly
    /// `amount` as value; for a token approve the escrow first and send no value. What is recorded
    /// is what the escrow received, so fee-on-transfer tokens stay solvent. Refused while paused.
    /// Emits a {Pledged} event (ledger kind 2).
    function pledge(uint256 campaignId, uint256 amount) external payable {
        GlobalsWord globals = _enter();
        if (globals.paused()) revert CrowdfundEscrowPaused();
        CampaignRecord storage campaign = _campaigns[campaignId];
        CoreWord core = CoreWords.load(campaign.core);
        _requireFunding(campaignId, campaign, core);
        if (amount == 0) revert CrowdfundEscrowZeroAmount();

        uint256 received;
        if (core.isToken()) {
            if (msg.value != 0) revert CrowdfundEscrowWrongEthValue(0, msg.value);
            GlobalsWords.store(_globals, globals.withLock()); // hold the lock while the token runs
            received = _pullToken(campaign.token, amount);
            globals = GlobalsWords.load(_globals).withoutLock(); // as the call left it; _append unlocks
        } else {
            if (msg.value != amount) revert CrowdfundEscrowWrongEthValue(amount, msg.value);
            received = amount;
        }

        BackerPledge storage backer = _pledges[campaignId][msg.sender];
        uint256 backerTotal = PledgeWords.load(backer).amount() + received;
        if (core.capped()) {
            uint256 cap = campaign.maxPerBacker; // a third slot, read only for capped campaigns
            if (backerTotal > cap) revert CrowdfundEscrowCapExceeded(campaignId, msg.sender, backerTotal, cap);
        }
        uint256 newPledged = core.pledged() + received;
        if (newPledged > type(uint128).max) revert CrowdfundEscrowAmountTooLarge(newPledged, type(uint128).max);

        PledgeWords.store(backer, PledgeWords.unvoted(backerTotal)); // backerTotal <= newPledged
        CoreWords.store(campaign.core, core.withPledged(newPledged));
        (uint64 seq, bytes32 head) = _append(globals, KIND_PLEDGED, campaignId, msg.sender, received, 0);
        emit Pledged(campaignId, msg.sender, received, seq, head);
    }

    /// @notice Takes back `amount` of the caller's pledge before the deadline. Within the last
    /// {unpledgeLockWindow} seconds, refused when it would drop a campaign that has reached its
    /// goal back below it. Works while paused.
    /// Emits an {Unpledged} event (ledger kind 3).
    function unpledge(uint256 campaignId, uint256 amount) external {
        GlobalsWord globals = _enter();
        CampaignRecord storage campaign = _campaigns[campaignId];
        CoreWord core = CoreWords.load(campaign.core);
        _requireFunding(campaignId, campaign, core);
        if (amount == 0) revert CrowdfundEscrowZeroAmount();

        BackerPledge storage backer = _pledges[campaignId][msg.sender];
        uint256 backerTotal = PledgeWords.load(backer).amount();
        if (amount > backerTotal) {
            revert CrowdfundEscrowInsufficientPledge(campaignId, msg.sender, backerTotal, amount);
        }
        uint256 remaining;
        unchecked {
            // amount <= backerTotal <= pledged: a campaign's total is the sum of its backers' pledges
            remaining = core.pledged() - amount;
        }
        {
            uint64 deadline = core.deadline();
            uint64 lockStart;
            unchecked {
                lockStart = deadline > unpledgeLockWindow ? deadline - unpledgeLockWindow : 0;
            }
            if (block.timestamp >= lockStart) {
                uint256 goal = _goalOf(campaign);
                if (core.pledged() >= goal && remaining < goal) {
                    revert CrowdfundEscrowUnpledgeLocked(campaignId, remaining, goal, lockStart);
                }
            }
        }

        unchecked {
            PledgeWords.store(backer, PledgeWords.unvoted(backerTotal - amount)); // checked above
        }
        CoreWords.store(campaign.core, core.withPledged(remaining));
        (uint64 seq, bytes32 head) =
            _append(globals.withLock(), KIND_UNPLEDGED, campaignId, msg.sender, amount, 0);
        emit Unpledged(campaignId, msg.sender, amount, seq, head);
        _pay(_assetOf(campaign, core), msg.sender, amount);
        _unlock();
    }

    /*//////////////////////////////////////////////////////////////
                              SETTLEMENT
    //////////////////////////////////////////////////////////////*/

    /// @notice Cancels a campaign before its deadline; its backers may then refund.
    /// Only the creator may cancel. Emits a {Cancelled} event (ledger kind 4).
    function cancel(uint256 campaignId) external {
        GlobalsWord globals = _enter();
        CampaignRecord storage campaign = _campaigns[campaignId];
        CoreWord core = CoreWords.load(campaign.core);
        _requireFunding(campaignId, campaign, core);
        if (msg.sender != campaign.creator) revert CrowdfundEscrowNotCreator(campaignId, msg.sender);

        CoreWords.store(campaign.core, core.withCancelled());
        (uint64 seq, bytes32 head) = _append(globals, KIND_CANCELLED, campaignId, msg.sender, 0, 0);
        emit Cancelled(campaignId, msg.sender, seq, head);
    }

    /// @notice Pays a succeeded campaign's total, minus the fee rounded up, to its creator, once,
    /// within {CLAIM_WINDOW} after its deadline. The fee accrues to the platform. Only the creator
    /// may claim; it works while paused.
    /// For a milestone campaign it pays tranche 0 only (its gross floor(total × trancheBps[0] /
    /// 10000) minus its fee, rounded up) and the campaign goes on to InDelivery.
    /// The payout forwards at most {PAYOUT_GAS}; if the creator (or the token) refuses it, it is
    /// credited to the creator instead ({owed}, {withdrawOwed}) and the claim completes.
    /// Emits a {Claimed} event (ledger kind 5), then a {PayoutDeferred} event (kind 14) if the
    /// payout was credited.
    function claim(uint256 campaignId) external {
        GlobalsWord globals = _enter();
        CampaignRecord storage campaign = _campaigns[campaignId];
        CoreWord core = CoreWords.load(campaign.core);
        _requireExists(campaignId, core);
        address creator = campaign.creator;
        if (msg.sender != creator) revert CrowdfundEscrowNotCreator(campaignId, msg.sender);
        CampaignState state = _stateOf(campaign, core);
        if (state != CampaignState.Succeeded) revert CrowdfundEscrowNotClaimable(campaignId, state);

        uint256 gross = core.pledged();
        if (core.milestone()) gross = _claimFirstTranche(campaign, gross);
        else CoreWords.store(campaign.core, core.withClaimed());
        uint256 fee = (gross * core.feeBps() + BPS - 1) / BPS;
        uint256 payout = gross - fee;
        address asset = _assetOf(campaign, core);
        if (fee != 0) {
            // as _accrueFee, written out: on this hot path the call costs some 50 gas
            if (asset == address(0)) globals = globals.withEthFees(globals.ethFees() + uint96(fee)); // checked
            else _tokenFees[asset] += fee;
        }
        (uint64 seq, bytes32 head) =
            _append(globals.withLock(), KIND_CLAIMED, campaignId, creator, payout, bytes32(fee));
        emit Claimed(campaignId, creator, payout, fee, seq, head);
        _payOrCredit(campaignId, asset, creator, payout);
        _unlock();
    }

    /// @notice Returns the caller's whole pledge from a failed, cancelled or expired campaign;
    /// from an aborted milestone campaign, its pro-rata share floor(pledge × remaining / total)
    /// of what was not released. Works while paused.
    /// Emits a {Refunded} event (ledger kind 6).
    function refund(uint256 campaignId) external {
        _refund(campaignId, msg.sender);
    }

    /// @notice As {refund}, but pays the refund to `to`: for a backer whose own address cannot
    /// receive the asset. The entry is the caller's refund (account = the caller); `to` is only
    /// where the money goes. Reverts if `to` is address(0).
    /// Emits a {Refunded} event (ledger kind 6).
    function refundTo(uint256 campaignId, address to) external {
        if (to == address(0)) revert CrowdfundEscrowInvalidRecipient(to);
        _refund(campaignId, to);
    }

    /// @notice Publishes a document (a spending report, a delay notice...) on the ledger: its
    /// hash commits to it. Only the creator, of any campaign, in any state.
    /// Emits a {Disclosed} event (ledger kind 13).
    function disclose(uint256 campaignId, bytes32 documentHash) external {
        GlobalsWord globals = _enter();
        CampaignRecord storage campaign = _campaigns[campaignId];
        _requireExists(campaignId, CoreWords.load(campaign.core));
        if (msg.sender != campaign.creator) revert CrowdfundEscrowNotCreator(campaignId, msg.sender);
        (uint64 seq, bytes32 head) = _append(globals, KIND_DISCLOSED, campaignId, msg.sender, 0, documentHash);
        emit Disclosed(campaignId, msg.sender, documentHash, seq, head);
    }

    /*//////////////////////////////////////////////////////////////
                            MILESTONE HOOKS
    //////////////////////////////////////////////////////////////*/

    /// @dev Records the claim of a milestone campaign's tranche 0 and returns its gross amount.
    function _claimFirstTranche(CampaignRecord storage campaign, uint256 total) internal virtual returns (uint256);

    /// @dev Closes the caller's position in an aborted milestone campaign and returns its refund
    /// (and the globals word to store, with the rounding dust accrued by the last refund).
    function _takeAbortedRefund(GlobalsWord globals, uint256 campaignId, CampaignRecord storage campaign, CoreWord core)
        internal
        virtual
        returns (GlobalsWord, uint256);

    /*//////////////////////////////////////////////////////////////
                                INTERNAL
    //////////////////////////////////////////////////////////////*/

    /// @dev Checks a new campaign's terms, stores it, appends its kind-1 entry and emits
    /// {CampaignCreated}.
    function _create(
        address token,
        uint256 goal,
        uint64 deadline,
        uint256 maxPerBacker,
        bool keepItAll,
        bytes32 metadataHash,
        bool milestone
    ) internal returns (uint256 campaignId, CampaignRecord storage campaign) {
        GlobalsWord globals = _enter();
        if (globals.paused()) revert CrowdfundEscrowPaused();
        if (deadline <= block.timestamp) revert CrowdfundEscrowDeadlineNotInFuture(deadline, block.timestamp);
        if (deadline > block.timestamp + MAX_DURATION) {
            revert CrowdfundEscrowDeadlineTooFar(deadline, block.timestamp + MAX_DURATION);
        }
        if (goal == 0 && !keepItAll) revert CrowdfundEscrowZeroGoal();
        if (goal > type(uint128).max) revert CrowdfundEscrowAmountTooLarge(goal, type(uint128).max);
        if (maxPerBacker > type(uint128).max) revert CrowdfundEscrowAmountTooLarge(maxPerBacker, type(uint128).max);
        if (token != address(0) && token.code.length == 0) revert CrowdfundEscrowInvalidToken(token);

        (globals, campaignId) = globals.nextCampaign();
        NewCampaign memory terms = NewCampaign({
            token: token,
            goal: goal,
            deadline: deadline,
            maxPerBacker: maxPerBacker,
            keepItAll: keepItAll,
            feeBps: globals.feeBps(),
            metadataHash: metadataHash
        });

        campaign = _campaigns[campaignId];
        campaign.core = CampaignCore({
            pledged: 0,
            deadline: deadline,
            feeBps: terms.feeBps,
            keepItAll: keepItAll,
            claimed: false,
            cancelled: false,
            capped: maxPerBacker != 0,
            isToken: token != address(0),
            milestone: milestone
        });
        bool largeGoal = goal >= GOAL_IN_SLOT_2;
        campaign.creator = msg.sender;
        campaign.goal96 = largeGoal ? GOAL_IN_SLOT_2 : uint96(goal);
        if (largeGoal || maxPerBacker != 0) {
            campaign.goal = uint128(goal);
            campaign.maxPerBacker = uint128(maxPerBacker);
        }
        if (token != address(0)) campaign.token = token;
        _logCreated(globals, campaignId, terms);
    }

    /// @dev Appends the kind-1 entry for a new campaign and emits {CampaignCreated}.
    function _logCreated(GlobalsWord globals, uint256 campaignId, NewCampaign memory t) private {
        bytes32 detail = keccak256(abi.encode(t.token, t.deadline, t.maxPerBacker, t.keepItAll, t.feeBps, t.metadataHash));
        (uint64 seq, bytes32 head) = _append(globals, KIND_CAMPAIGN_CREATED, campaignId, msg.sender, t.goal, detail);
        emit CampaignCreated(
            campaignId, msg.sender, t.token, t.goal, t.deadline, t.maxPerBacker, t.keepItAll, t.feeBps, t.metadataHash, seq, head
        );
    }

    /// @dev Pays the caller's refund to `to` (see {refund}).
    function _refund(uint256 campaignId, address to) private {
        GlobalsWord globals = _enter();
        CampaignRecord storage campaign = _campaigns[campaignId];
        CoreWord core = CoreWords.load(campaign.core);
        _requireExists(campaignId, core);
        CampaignState state = _stateOf(campaign, core);
        uint256 amount;
        if (state == CampaignState.Failed || state == CampaignState.Cancelled || state == CampaignState.Expired) {
            BackerPledge storage backer = _pledges[campaignId][msg.sender];
            amount = PledgeWords.load(backer).amount();
            if (amount == 0) revert CrowdfundEscrowNothingToRefund(campaignId, msg.sender);
            PledgeWords.clear(backer);
        } else if (state == CampaignState.Aborted) {
            (globals, amount) = _takeAbortedRefund(globals, campaignId, campaign, core);
        } else {
            revert CrowdfundEscrowNotRefundable(campaignId, state);
        }
        (uint64 seq, bytes32 head) =
            _append(globals.withLock(), KIND_REFUNDED, campaignId, msg.sender, amount, 0);
        emit Refunded(campaignId, msg.sender, amount, seq, head);
        _pay(_assetOf(campaign, core), to, amount);
        _unlock();
    }
}
