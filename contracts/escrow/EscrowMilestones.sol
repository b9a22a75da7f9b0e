// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {EscrowCampaigns} from "./EscrowCampaigns.sol";
import {
    BackerPledge,
    CampaignRecord,
    CoreWord,
    CoreWords,
    GlobalsWord,
    GlobalsWords,
    PledgeWord,
    PledgeWords
} from "./EscrowLayout.sol";
import {
    AbortWord,
    AbortWords,
    MilestoneRecord,
    PlanWord,
    PlanWords,
    StatusWord,
    StatusWords,
    TallyWord,
    TallyWords
} from "./MilestoneLayout.sol";

/// @title EscrowMilestones
/// @notice Milestone campaigns: all-or-nothing campaigns whose total is paid out in tranches.
/// {claim} pays tranche 0 and the campaign is InDelivery; each later tranche is paid by
/// {release} once the backers approve the creator's {requestRelease} in a vote ({vote}) weighted
/// by their pledges. A failed vote aborts the campaign, and so may anyone ({abortStale}) once the
/// creator has been silent for {MAX_SILENCE}; the backers then refund pro rata what was not
/// released.
abstract contract EscrowMilestones is EscrowCampaigns {
    /// @notice A milestone campaign has between MIN_TRANCHES and MAX_TRANCHES tranches.
    uint256 public constant MIN_TRANCHES = 2;
    uint256 public constant MAX_TRANCHES = 10;

    /// @notice The bounds of a milestone campaign's voting period.
    uint64 public constant MIN_VOTING_PERIOD = 1 hours;
    uint64 public constant MAX_VOTING_PERIOD = 365 days;

    /// @notice How long a milestone campaign in delivery may go without a release request
    /// before anyone may abort it ({abortStale}).
    uint64 public constant MAX_SILENCE = 180 days;

    /// @notice Launches an all-or-nothing milestone campaign: like {createCampaign} (keepItAll
    /// false), but the total is paid out in tranches. {claim} pays tranche 0; each later tranche
    /// needs the backers' approval ({requestRelease}, {vote}, {release}). Refused while paused.
    /// @param trancheBps Each tranche's share of the total in basis points: 2 to 10 entries, each
    /// above 0, summing to 10000. Tranche i (from 0) is floor(total × trancheBps[i] / 10000), the
    /// last one the rest.
    /// @param votingPeriod How long each release vote lasts: 1 hour to 365 days.
    /// Emits {CampaignCreated} (ledger kind 1) and right after it {MilestonePlan} (kind 8).
    function createMilestoneCampaign(
        address token,
        uint256 goal,
        uint64 deadline,
        uint256 maxPerBacker,
        bytes32 metadataHash,
        uint16[] calldata trancheBps,
        uint64 votingPeriod
    ) external returns (uint256 campaignId) {
        CampaignRecord storage campaign;
        (campaignId, campaign) = _create(token, goal, deadline, maxPerBacker, false, metadataHash, true);

        uint256 count = trancheBps.length;
        PlanWord plan;
        uint256 totalBps;
        for (uint256 i; i < count; ++i) {
            uint16 bps = trancheBps[i];
            if (bps == 0) revert CrowdfundEscrowZeroTranche(i);
            totalBps += bps;
            plan = plan.withTranche(i, bps); // past 10 entries the lanes overlap: refused below
        }
        if (count < MIN_TRANCHES || count > MAX_TRANCHES || totalBps != BPS) {
            revert CrowdfundEscrowInvalidTranchePlan(count, totalBps);
        }
        if (votingPeriod < MIN_VOTING_PERIOD || votingPeriod > MAX_VOTING_PERIOD) {
            revert CrowdfundEscrowInvalidVotingPeriod(votingPeriod, MIN_VOTING_PERIOD, MAX_VOTING_PERIOD);
        }
        PlanWords.store(campaign.milestone.plan, plan.withTerms(count, votingPeriod));

        (uint64 seq, bytes32 head) = _append(
            GlobalsWords.load(_globals), KIND_MILESTONE_PLAN, campaignId, msg.sender, count, keccak256(abi.encode(trancheBps, votingPeriod))
        );
        emit MilestonePlan(campaignId, msg.sender, trancheBps, votingPeriod, seq, head);
    }

    /// @notice Asks the backers of a milestone campaign in delivery to approve its next tranche:
    /// publishes a progress report (its hash) and opens a vote lasting the campaign's voting
    /// period. Only the creator, and only once the previous request was decided.
    /// Emits a {ReleaseRequested} event (ledger kind 9).
    function requestRelease(uint256 campaignId, bytes32 reportHash) external {
        GlobalsWord globals = _enter();
        CampaignRecord storage campaign = _campaigns[campaignId];
        {
            CoreWord core = CoreWords.load(campaign.core);
            _requireMilestone(campaignId, core);
            if (msg.sender != campaign.creator) revert CrowdfundEscrowNotCreator(campaignId, msg.sender);
            CampaignState state = _stateOf(campaign, core);
            if (state != CampaignState.InDelivery) revert CrowdfundEscrowNotInDelivery(campaignId, state);
        }
        MilestoneRecord storage m = campaign.milestone;
        StatusWord status = StatusWords.load(m.status);
        uint256 tranche = status.tranchesReleased(); // >= 1 in delivery
        if (status.pending()) revert CrowdfundEscrowReleasePending(campaignId, tranche, status.voteEnd());

        // voteEnd < 2^64: the timestamp is far below 2^63 and the period at most a year
        StatusWords.store(m.status, status.withVoteOpen(block.timestamp + PlanWords.load(m.plan).votingPeriod()));
        TallyWords.store(m.approve, TallyWords.opened(tranche)); // tallies 0; the slots stay non-zero
        TallyWords.store(m.reject, TallyWords.opened(tranche));
        m.report = reportHash;
        (uint64 seq, bytes32 head) = _append(globals, KIND_RELEASE_REQUESTED, campaignId, msg.sender, tranche, reportHash);
        emit ReleaseRequested(campaignId, msg.sender, tranche, reportHash, seq, head);
    }

    /// @notice Votes on the open release request of a milestone campaign, weighted by the
    /// caller's net pledge. Each backer votes once per request, while block.timestamp < voteEnd.
    /// Emits a {Voted} event (ledger kind 10).
    function vote(uint256 campaignId, bool approve) external {
        GlobalsWord globals = _enter();
        MilestoneRecord storage m = _campaigns[campaignId].milestone;
        uint256 weight;
        {
            StatusWord status = StatusWords.load(m.status);
            // a pending request in its voting period implies a milestone campaign in delivery
            if (!status.pending() || block.timestamp >= status.voteEnd()) _revertNoVote(campaignId, status);
            uint256 tranche = status.tranchesReleased();
            BackerPledge storage backer = _pledges[campaignId][msg.sender];
            PledgeWord word = PledgeWords.load(backer);
            weight = word.amount();
            if (weight == 0) revert CrowdfundEscrowNotABacker(campaignId, msg.sender);
            if (word.votedTranche() == tranche) revert CrowdfundEscrowAlreadyVoted(campaignId, msg.sender, tranche);
            PledgeWords.store(backer, word.withVote(tranche));
        }
        if (approve) TallyWords.store(m.approve, TallyWords.load(m.approve).plus(weight));
        else TallyWords.store(m.reject, TallyWords.load(m.reject).plus(weight));
        (uint64 seq, bytes32 head) =
            _append(globals, KIND_VOTED, campaignId, msg.sender, weight, bytes32(uint256(approve ? 1 : 0)));
        emit Voted(campaignId, msg.sender, weight, approve, seq, head);
    }

    /// @notice Decides a milestone campaign's release request once its vote has closed
    /// (block.timestamp >= voteEnd); anyone may call it, also while paused. The request passes
    /// when the approving weight exceeds the rejecting weight and at least a fifth of the total
    /// voted: (approve + reject) × 5 >= total. Then the tranche, minus its fee rounded up, goes to
    /// the creator (after the last tranche the campaign is Claimed); as with {claim}, a payout the
    /// creator refuses is credited to it ({owed}). Otherwise the campaign is aborted and its
    /// backers refund pro rata what was not released.
    /// Emits a {TrancheReleased} (ledger kind 11, then a {PayoutDeferred}, kind 14, if the payout
    /// was credited) or an {Aborted} (kind 12) event.
    function release(uint256 campaignId) external {
        GlobalsWord globals = _enter();
        CampaignRecord storage campaign = _campaigns[campaignId];
        CoreWord core = CoreWords.load(campaign.core);
        _requireMilestone(campaignId, core);
        MilestoneRecord storage m = campaign.milestone;
        StatusWord status = StatusWords.load(m.status);
        if (!status.pending()) revert CrowdfundEscrowNoOpenVote(campaignId);
        if (block.timestamp < status.voteEnd()) revert CrowdfundEscrowVoteOpen(campaignId, status.voteEnd());

        uint256 approveWeight = TallyWords.load(m.approve).weight();
        uint256 rejectWeight = TallyWords.load(m.reject).weight();
        status = status.withVoteSettled();
        // tallies <= total < 2^128: the sum times 5 cannot overflow
        if (approveWeight > rejectWeight && (approveWeight + rejectWeight) * 5 >= core.pledged()) {
            _releaseTranche(globals, campaignId, campaign, core, status);
        } else {
            uint256 remaining = _abort(m, core, status);
            address creator = campaign.creator;
            (uint64 seq, bytes32 head) = _append(globals, KIND_ABORTED, campaignId, creator, remaining, 0);
            emit Aborted(campaignId, creator, remaining, seq, head);
        }
    }

    /// @notice Aborts a milestone campaign in delivery whose creator has fallen silent: no vote is
    /// open or awaiting {release}, and more than {MAX_SILENCE} has passed since the later of its
    /// deadline, the claim of tranche 0 and the end of its last vote. Anyone may call it, also
    /// while paused. The campaign is then Aborted exactly as after a failed vote: its backers
    /// refund pro rata what was not released.
    /// Emits a {StaleAborted} event (ledger kind 16).
    function abortStale(uint256 campaignId) external {
        GlobalsWord globals = _enter();
        CampaignRecord storage campaign = _campaigns[campaignId];
        CoreWord core = CoreWords.load(campaign.core);
        _requireMilestone(campaignId, core);
        CampaignState state = _stateOf(campaign, core);
        if (state != CampaignState.InDelivery) revert CrowdfundEscrowNotInDelivery(campaignId, state);
        MilestoneRecord storage m = campaign.milestone;
        StatusWord status = StatusWords.load(m.status);
        if (status.pending()) {
            revert CrowdfundEscrowReleasePending(campaignId, status.tranchesReleased(), status.voteEnd());
        }
        uint256 silentSince = core.deadline();
        if (status.claimedAt() > silentSince) silentSince = status.claimedAt();
        if (status.voteEnd() > silentSince) silentSince = status.voteEnd();
        if (block.timestamp <= silentSince + MAX_SILENCE) {
            revert CrowdfundEscrowNotStale(campaignId, silentSince + MAX_SILENCE);
        }

        uint256 remaining = _abort(m, core, status);
        (uint64 seq, bytes32 head) = _append(globals, KIND_STALE_ABORTED, campaignId, msg.sender, remaining, 0);
        emit StaleAborted(campaignId, msg.sender, remaining, seq, head);
    }

    /*//////////////////////////////////////////////////////////////
                     HOOKS FOR THE CAMPAIGN STATE MACHINE
    //////////////////////////////////////////////////////////////*/

    function _deliveryState(CampaignRecord storage campaign) internal view override returns (CampaignState) {
        StatusWord status = StatusWords.load(campaign.milestone.status); // 0 until tranche 0 is claimed
        if (status.aborted()) return CampaignState.Aborted;
        if (!status.isZero()) return CampaignState.InDelivery;
        return CampaignState.Succeeded;
    }

    function _claimFirstTranche(CampaignRecord storage campaign, uint256 total)
        internal
        override
        returns (uint256 gross)
    {
        MilestoneRecord storage m = campaign.milestone;
        gross = total * PlanWords.load(m.plan).trancheBps(0) / BPS; // total < 2^128: no overflow
        StatusWords.store(m.status, StatusWords.firstTranche(gross, block.timestamp)); // InDelivery from now
    }

    /// @dev The refund from an aborted milestone campaign: floor(pledge × remaining / total),
    /// remaining = total - released. The refund that leaves no backer to refund moves the
    /// rounding dust (remaining - all refunds) to the platform's fees, so nothing stays locked.
    function _takeAbortedRefund(GlobalsWord globals, uint256 campaignId, CampaignRecord storage campaign, CoreWord core)
        internal
        override
        returns (GlobalsWord, uint256 amount)
    {
        BackerPledge storage backer = _pledges[campaignId][msg.sender];
        uint256 weight = PledgeWords.load(backer).amount();
        if (weight == 0) revert CrowdfundEscrowNothingToRefund(campaignId, msg.sender);
        PledgeWords.clear(backer);

        MilestoneRecord storage m = campaign.milestone;
        uint256 total = core.pledged(); // > 0: the goal was met
        uint256 remaining = total - StatusWords.load(m.status).released();
        amount = weight * remaining / total; // both < 2^128
        AbortWord book = AbortWords.load(m.abort);
        // the backers' pledges sum to the total, so the unrefunded weight covers this one
        // (checked all the same), and the refunds stay <= remaining
        uint256 refunded = book.refunded() + amount;
        uint256 unrefunded = book.unrefundedWeight() - weight;
        AbortWords.store(m.abort, AbortWords.pack(refunded, unrefunded));
        // the last backer to refund: the rounding dust goes to the fees
        if (unrefunded == 0) globals = _accrueFee(globals, _assetOf(campaign, core), remaining - refunded);
        return (globals, amount);
    }

    /*//////////////////////////////////////////////////////////////
                                INTERNAL
    //////////////////////////////////////////////////////////////*/

    /// @dev Pays the next tranche of a milestone campaign whose release vote passed; `status` is
    /// its status word with the vote settled.
    function _releaseTranche(
        GlobalsWord globals,
        uint256 campaignId,
        CampaignRecord storage campaign,
        CoreWord core,
        StatusWord status
    ) private {
        PlanWord plan = PlanWords.load(campaign.milestone.plan);
        uint256 tranche = status.tranchesReleased();
        uint256 gross = _trancheGross(plan, tranche, core.pledged(), status.released());
        uint256 fee = (gross * core.feeBps() + BPS - 1) / BPS;
        uint256 payout = gross - fee;
        address asset = _assetOf(campaign, core);
        address creator = campaign.creator;
        StatusWords.store(campaign.milestone.status, status.withTrancheReleased(gross)); // <= total, <= 10
        if (tranche + 1 == plan.count()) CoreWords.store(campaign.core, core.withClaimed());
        globals = _accrueFee(globals, asset, fee);
        (uint64 seq, bytes32 head) = _append(
            globals.withLock(), KIND_TRANCHE_RELEASED, campaignId, creator, payout, keccak256(abi.encode(tranche, fee))
        );
        emit TrancheReleased(campaignId, creator, tranche, payout, fee, seq, head);
        _payOrCredit(campaignId, asset, creator, payout);
        _unlock();
    }

    /// @dev Marks a milestone campaign in delivery aborted, every backer yet to refund; returns
    /// the remaining escrow (> 0: the last tranche, never released in delivery, is at least 1).
    function _abort(MilestoneRecord storage m, CoreWord core, StatusWord status) private returns (uint256 remaining) {
        remaining = core.pledged() - status.released();
        StatusWords.store(m.status, status.withAborted());
        AbortWords.store(m.abort, AbortWords.pack(0, core.pledged()));
    }

    /// @dev The gross amount of tranche `tranche` (from 0) of a milestone campaign whose total is
    /// `total` and which has released `released` so far: floor(total × bps / 10000), the last
    /// tranche the rest.
    function _trancheGross(PlanWord plan, uint256 tranche, uint256 total, uint256 released)
        internal
        pure
        returns (uint256)
    {
        if (tranche + 1 == plan.count()) return total - released;
        return total * plan.trancheBps(tranche) / BPS; // total < 2^128: no overflow
    }

    /// @dev Why {vote} found no vote open: the most specific error.
    function _revertNoVote(uint256 campaignId, StatusWord status) private view {
        _requireMilestone(campaignId, CoreWords.load(_campaigns[campaignId].core));
        if (!status.pending()) revert CrowdfundEscrowNoOpenVote(campaignId);
        revert CrowdfundEscrowVoteClosed(campaignId, status.voteEnd());
    }

    function _requireMilestone(uint256 campaignId, CoreWord core) internal pure {
        _requireExists(campaignId, core);
        if (!core.milestone()) revert CrowdfundEscrowNotMilestoneCampaign(campaignId);
    }
}
