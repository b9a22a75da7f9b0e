// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";

import {CampaignCore, CampaignRecord, CoreWord, CoreWords} from "./escrow/EscrowLayout.sol";
import {EscrowCampaigns} from "./escrow/EscrowCampaigns.sol";
import {EscrowMilestones} from "./escrow/EscrowMilestones.sol";
import {AbortWord, AbortWords, MilestoneRecord, PlanWord, PlanWords, StatusWord, StatusWords, TallyWords} from
    "./escrow/MilestoneLayout.sol";
import {LedgerHash} from "./libraries/LedgerHash.sol";

/// @title CrowdfundEscrow
/// @notice Holds every CrowdLedger campaign in escrow. Creators launch campaigns in ETH or an
/// ERC-20 token; backers pledge; if the goal is met (or the campaign is keep-it-all) the creator
/// claims the total minus the platform fee fixed at creation, otherwise every backer refunds.
/// A milestone campaign (all-or-nothing) releases its total in tranches approved by its backers.
/// Creators of any campaign may {disclose} documents on the ledger.
///
/// No unit in escrow is ever locked, whatever one party does: a success left unclaimed for
/// {CLAIM_WINDOW} after its deadline expires and its backers refund; a milestone campaign whose
/// creator is silent for {MAX_SILENCE} may be aborted by anyone ({abortStale}); a payout its
/// creator cannot receive is credited ({owed}) and withdrawn to any address ({withdrawOwed}); a
/// backer who cannot receive refunds to another address ({refundTo}).
///
/// Every movement of money appends one entry to a hash-chained ledger whose head and length
/// live on-chain ({ledgerHead}, {ledgerLength}); docs/ledger-format.md defines the format.
///
/// The owner may change the fee and its recipient for future campaigns and pause new campaigns
/// and pledges. The owner has no path to escrowed money or credits: pausing never blocks an exit
/// (unpledge, claim, refund, release, abortStale, fee and credit withdrawals), and there is no
/// admin withdrawal.
///
/// @dev One deployed contract, written as concepts one can read one at a time, as OpenZeppelin's
/// Governor is: {EscrowCore} (storage, lock, ledger, payments, fees, credits), {EscrowCampaigns} (the
/// campaign state machine), {EscrowMilestones} (tranches, votes, aborts), and this contract
/// (constructor, admin, views). Storage is packed for the hot paths (escrow/EscrowLayout.sol):
/// an ETH pledge touches one campaign slot, the backer's pledge, the globals slot and the head.
contract CrowdfundEscrow is EscrowMilestones, Ownable2Step {
    /// @notice The highest platform fee the owner may set: 10%.
    uint16 public constant MAX_FEE_BPS = 1000;

    constructor(address feeRecipient_, uint16 feeBps_, uint64 unpledgeLockWindow_)
        EscrowCampaigns(unpledgeLockWindow_)
        Ownable(msg.sender)
    {
        if (feeRecipient_ == address(0)) revert CrowdfundEscrowInvalidFeeRecipient(feeRecipient_);
        if (feeBps_ > MAX_FEE_BPS) revert CrowdfundEscrowFeeTooHigh(feeBps_, MAX_FEE_BPS);
        feeRecipient = feeRecipient_;
        _globals.feeBps = feeBps_;
        _ledgerHead = LedgerHash.genesis(block.chainid, address(this));
    }

    /*//////////////////////////////////////////////////////////////
                                 ADMIN
    //////////////////////////////////////////////////////////////*/

    /// @notice Sets the fee fixed into campaigns created from now on. Only the owner.
    /// Emits {FeeBpsChanged}.
    function setFeeBps(uint16 newFeeBps) external onlyOwner {
        if (newFeeBps > MAX_FEE_BPS) revert CrowdfundEscrowFeeTooHigh(newFeeBps, MAX_FEE_BPS);
        emit FeeBpsChanged(_globals.feeBps, newFeeBps);
        _globals.feeBps = newFeeBps;
    }

    /// @notice Sets where fees are withdrawn to. Only the owner. Emits {FeeRecipientChanged}.
    function setFeeRecipient(address newRecipient) external onlyOwner {
        if (newRecipient == address(0)) revert CrowdfundEscrowInvalidFeeRecipient(newRecipient);
        emit FeeRecipientChanged(feeRecipient, newRecipient);
        feeRecipient = newRecipient;
    }

    /// @notice Stops new campaigns and pledges; every exit goes on. Only the owner.
    /// Emits {Paused}.
    function pause() external onlyOwner {
        if (_globals.paused) revert CrowdfundEscrowPaused();
        _globals.paused = true;
        emit Paused(msg.sender);
    }

    /// @notice Lets new campaigns and pledges in again. Only the owner. Emits {Unpaused}.
    function unpause() external onlyOwner {
        if (!_globals.paused) revert CrowdfundEscrowNotPaused();
        _globals.paused = false;
        emit Unpaused(msg.sender);
    }

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @notice A campaign's terms and totals. Reverts for an unknown id.
    function getCampaign(uint256 campaignId) external view returns (Campaign memory) {
        CampaignRecord storage campaign = _campaigns[campaignId];
        CampaignCore memory core = campaign.core; // read as fields, the way solc lays them out
        if (core.deadline == 0) revert CrowdfundEscrowUnknownCampaign(campaignId);
        return Campaign({
            creator: campaign.creator,
            token: campaign.token,
            goal: _goalOf(campaign),
            deadline: core.deadline,
            maxPerBacker: campaign.maxPerBacker,
            keepItAll: core.keepItAll,
            feeBps: core.feeBps,
            pledged: core.pledged,
            claimed: core.claimed,
            cancelled: core.cancelled
        });
    }

    /// @notice A milestone campaign's tranche plan, progress, open or last vote and abort
    /// accounting. Reverts for an unknown id or a campaign that is not a milestone campaign.
    function getMilestones(uint256 campaignId) external view returns (Milestones memory info) {
        CampaignRecord storage campaign = _campaigns[campaignId];
        CoreWord core = CoreWords.load(campaign.core);
        _requireMilestone(campaignId, core);
        MilestoneRecord storage m = campaign.milestone;
        PlanWord plan = PlanWords.load(m.plan);
        uint256 count = plan.count();
        info.trancheBps = new uint16[](count);
        for (uint256 i; i < count; ++i) {
            info.trancheBps[i] = plan.trancheBps(i);
        }
        info.votingPeriod = plan.votingPeriod();

        StatusWord status = StatusWords.load(m.status);
        uint256 total = core.pledged();
        info.tranchesReleased = status.tranchesReleased();
        info.releasedAmount = status.released();
        CampaignState state = _stateOf(campaign, core);
        if (state == CampaignState.Funding || state == CampaignState.Succeeded || state == CampaignState.InDelivery) {
            info.nextTrancheAmount = _trancheGross(plan, info.tranchesReleased, total, info.releasedAmount);
        }
        info.votePending = status.pending();
        info.voteTranche = TallyWords.load(m.approve).tranche();
        info.reportHash = m.report;
        info.voteEnd = status.voteEnd();
        info.approveWeight = TallyWords.load(m.approve).weight();
        info.rejectWeight = TallyWords.load(m.reject).weight();
        if (status.aborted()) {
            AbortWord book = AbortWords.load(m.abort);
            info.aborted = true;
            info.abortRemaining = total - info.releasedAmount;
            info.refunded = book.refunded();
            info.unrefundedWeight = book.unrefundedWeight();
            if (info.unrefundedWeight == 0) info.dust = info.abortRemaining - info.refunded;
        }
    }

    /// @notice 0 Funding, 1 Succeeded, 2 Failed, 3 Cancelled, 4 Claimed, 5 InDelivery,
    /// 6 Aborted, 7 Expired. Reverts for an unknown id.
    function campaignState(uint256 campaignId) external view returns (uint8) {
        CampaignRecord storage campaign = _campaigns[campaignId];
        CoreWord core = CoreWords.load(campaign.core);
        _requireExists(campaignId, core);
        return uint8(_stateOf(campaign, core));
    }

    /// @notice What `backer` has pledged to a campaign and not yet taken back or been refunded.
    function pledgeOf(uint256 campaignId, address backer) external view returns (uint256) {
        return _pledges[campaignId][backer].amount;
    }

    /// @notice What the escrow owes `account` in `token` (address(0) for ETH): its payouts from
    /// {claim} and {release} that it could not receive, to be taken with {withdrawOwed}.
    function owed(address account, address token) external view returns (uint256) {
        return _owed[account][token];
    }

    /// @notice The number of campaigns created; the newest id.
    function campaignCount() external view returns (uint256) {
        return _globals.campaignCount;
    }

    /// @notice The head of the hash-chained ledger.
    function ledgerHead() external view returns (bytes32) {
        return _ledgerHead;
    }

    /// @notice The number of ledger entries; the seq of the newest.
    function ledgerLength() external view returns (uint64) {
        return _globals.ledgerLength;
    }

    /// @notice The fee in basis points that campaigns created now get.
    function feeBps() external view returns (uint16) {
        return _globals.feeBps;
    }

    /// @notice Whether new campaigns and pledges are paused.
    function paused() external view returns (bool) {
        return _globals.paused;
    }

    /// @notice Fees accrued in `token` (address(0) for ETH) and not yet withdrawn.
    function accruedFees(address token) external view returns (uint256) {
        return token == address(0) ? _globals.ethFees : _tokenFees[token];
    }
}
