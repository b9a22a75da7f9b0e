// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ICrowdfundEscrow
/// @notice The public format of the CrowdLedger escrow: its functions, ledger events and errors.
/// Wallets, the indexer and auditors depend on these names, argument orders and types.
/// See docs/ledger-format.md for how the ledger events chain into the on-chain head.
interface ICrowdfundEscrow {
    /*//////////////////////////////////////////////////////////////
                                 TYPES
    //////////////////////////////////////////////////////////////*/

    /// @notice The lifecycle of a campaign, as returned by {campaignState}.
    enum CampaignState {
        Funding, // before the deadline, not cancelled
        Succeeded, // deadline passed, goal met (or keep-it-all), not yet claimed, claim window open
        Failed, // deadline passed, all-or-nothing goal missed: backers refund
        Cancelled, // cancelled by the creator before the deadline: backers refund
        Claimed, // the creator took the funds (a milestone campaign: every tranche released)
        InDelivery, // milestone campaign: first tranche claimed, later tranches still pending
        Aborted, // milestone campaign: a release vote failed, or the creator fell silent; backers refund pro rata
        Expired // succeeded but unclaimed when the claim window closed: backers refund in full
    }

    /// @notice A campaign's terms and running totals, as returned by {getCampaign}.
    /// @dev `metadataHash` is not kept in storage: it is committed on-chain through the ledger
    /// (the kind-1 entry's detail and its `CampaignCreated` event). `pledged` is the net total
    /// pledged (pledges minus unpledges); refunds do not lower it.
    struct Campaign {
        address creator;
        address token;
        uint256 goal;
        uint64 deadline;
        uint256 maxPerBacker;
        bool keepItAll;
        uint16 feeBps;
        uint256 pledged;
        bool claimed;
        bool cancelled;
    }

    /// @notice A milestone campaign's tranche plan and progress, as returned by {getMilestones}.
    /// Tranches are indexed from 0: tranche 0 is paid by {claim}, tranche k >= 1 by {release}
    /// after a vote requested by {requestRelease}. Amounts are in the campaign's asset.
    struct Milestones {
        uint16[] trancheBps; // the plan: each tranche's share of the total, in basis points
        uint64 votingPeriod; // how long each release vote lasts, in seconds
        uint256 tranchesReleased; // how many tranches were paid out; also the next tranche's index
        uint256 releasedAmount; // the gross (fee included) total of the tranches paid out
        uint256 nextTrancheAmount; // the next tranche's gross amount (of the current total); 0 if none
        bool votePending; // a release was requested and not yet decided by {release}
        uint256 voteTranche; // the tranche of the open or last vote (0 if none was ever requested)
        bytes32 reportHash; // the progress report of the open or last request
        uint64 voteEnd; // votes are accepted while block.timestamp < voteEnd
        uint256 approveWeight; // the open or last vote's tallies (net pledges)
        uint256 rejectWeight;
        bool aborted; // a vote failed: backers refund pro rata
        uint256 abortRemaining; // what was escrowed at the abort: total - releasedAmount (0 unless aborted)
        uint256 refunded; // paid back to backers since the abort
        uint256 unrefundedWeight; // the pledges of backers who have not refunded since the abort
        uint256 dust; // abortRemaining - refunded, moved to the fees once unrefundedWeight is 0
    }

    /*//////////////////////////////////////////////////////////////
                         LEDGER EVENTS (one per entry)
    //////////////////////////////////////////////////////////////*/

    /// @notice Ledger kind 1. account = creator, amount = goal, detail = keccak256(abi.encode(
    /// token, deadline, maxPerBacker, keepItAll, feeBps, metadataHash)).
    event CampaignCreated(
        uint256 indexed campaignId,
        address indexed creator,
        address indexed token,
        uint256 goal,
        uint64 deadline,
        uint256 maxPerBacker,
        bool keepItAll,
        uint16 feeBps,
        bytes32 metadataHash,
        uint64 seq,
        bytes32 head
    );

    /// @notice Ledger kind 2. amount = the amount the escrow received.
    event Pledged(uint256 indexed campaignId, address indexed backer, uint256 amount, uint64 seq, bytes32 head);

    /// @notice Ledger kind 3.
    event Unpledged(uint256 indexed campaignId, address indexed backer, uint256 amount, uint64 seq, bytes32 head);

    /// @notice Ledger kind 4. amount = 0.
    event Cancelled(uint256 indexed campaignId, address indexed creator, uint64 seq, bytes32 head);

    /// @notice Ledger kind 5. amount = paid to the creator, detail = bytes32(fee).
    event Claimed(
        uint256 indexed campaignId, address indexed creator, uint256 amount, uint256 fee, uint64 seq, bytes32 head
    );

    /// @notice Ledger kind 6.
    event Refunded(uint256 indexed campaignId, address indexed backer, uint256 amount, uint64 seq, bytes32 head);

    /// @notice Ledger kind 7. campaignId = 0, account = to, detail = bytes32(uint256(uint160(token))).
    event FeesWithdrawn(address indexed token, address indexed to, uint256 amount, uint64 seq, bytes32 head);

    /// @notice Ledger kind 8, right after the milestone campaign's {CampaignCreated}.
    /// account = creator, amount = number of tranches, detail = keccak256(abi.encode(trancheBps,
    /// votingPeriod)) with trancheBps a uint16[] and votingPeriod a uint64.
    event MilestonePlan(
        uint256 indexed campaignId,
        address indexed creator,
        uint16[] trancheBps,
        uint64 votingPeriod,
        uint64 seq,
        bytes32 head
    );

    /// @notice Ledger kind 9. account = creator, amount = tranche index, detail = reportHash.
    event ReleaseRequested(
        uint256 indexed campaignId,
        address indexed creator,
        uint256 tranche,
        bytes32 reportHash,
        uint64 seq,
        bytes32 head
    );

    /// @notice Ledger kind 10. account = backer, amount = weight (the backer's net pledge),
    /// detail = bytes32(uint256(approve ? 1 : 0)).
    event Voted(
        uint256 indexed campaignId, address indexed backer, uint256 weight, bool approve, uint64 seq, bytes32 head
    );

    /// @notice Ledger kind 11. account = creator, amount = paid to the creator, detail =
    /// keccak256(abi.encode(tranche, fee)) (two uint256).
    event TrancheReleased(
        uint256 indexed campaignId,
        address indexed creator,
        uint256 tranche,
        uint256 amount,
        uint256 fee,
        uint64 seq,
        bytes32 head
    );

    /// @notice Ledger kind 12: a release vote failed. account = creator, amount = the remaining
    /// escrow, detail = 0.
    event Aborted(uint256 indexed campaignId, address indexed creator, uint256 remaining, uint64 seq, bytes32 head);

    /// @notice Ledger kind 13. account = creator, amount = 0, detail = documentHash.
    event Disclosed(
        uint256 indexed campaignId, address indexed creator, bytes32 documentHash, uint64 seq, bytes32 head
    );

    /// @notice Ledger kind 14, right after the kind-5 or kind-11 entry whose payout to `to` failed:
    /// that amount was credited to `to` instead ({owed}, {withdrawOwed}). account = to, amount,
    /// detail = bytes32(uint256(uint160(token))), token 0 = ETH.
    event PayoutDeferred(
        uint256 indexed campaignId, address indexed to, address indexed token, uint256 amount, uint64 seq, bytes32 head
    );

    /// @notice Ledger kind 15: a credit paid out. campaignId = 0, account = to, amount,
    /// detail = bytes32(uint256(uint160(token))), token 0 = ETH.
    event OwedWithdrawn(address indexed token, address indexed to, uint256 amount, uint64 seq, bytes32 head);

    /// @notice Ledger kind 16: a milestone campaign whose creator fell silent was aborted.
    /// account = caller, amount = the remaining escrow, detail = 0.
    event StaleAborted(
        uint256 indexed campaignId, address indexed caller, uint256 remaining, uint64 seq, bytes32 head
    );

    /*//////////////////////////////////////////////////////////////
                      ADMIN EVENTS (not ledger entries)
    //////////////////////////////////////////////////////////////*/

    event FeeBpsChanged(uint16 previousFeeBps, uint16 newFeeBps);
    event FeeRecipientChanged(address indexed previousRecipient, address indexed newRecipient);
    event Paused(address account);
    event Unpaused(address account);

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    error CrowdfundEscrowFeeTooHigh(uint16 feeBps, uint16 maxFeeBps);
    error CrowdfundEscrowInvalidFeeRecipient(address recipient);
    error CrowdfundEscrowPaused();
    error CrowdfundEscrowNotPaused();
    error CrowdfundEscrowDeadlineNotInFuture(uint64 deadline, uint256 timestamp);
    error CrowdfundEscrowDeadlineTooFar(uint64 deadline, uint256 latestAllowed);
    error CrowdfundEscrowZeroGoal();
    error CrowdfundEscrowAmountTooLarge(uint256 amount, uint256 maxAmount);
    error CrowdfundEscrowInvalidToken(address token);
    error CrowdfundEscrowUnknownCampaign(uint256 campaignId);
    error CrowdfundEscrowNotFunding(uint256 campaignId, CampaignState state);
    error CrowdfundEscrowZeroAmount();
    error CrowdfundEscrowWrongEthValue(uint256 expected, uint256 sent);
    error CrowdfundEscrowNothingReceived(address token);
    error CrowdfundEscrowCapExceeded(uint256 campaignId, address backer, uint256 newTotal, uint256 maxPerBacker);
    error CrowdfundEscrowInsufficientPledge(uint256 campaignId, address backer, uint256 pledged, uint256 requested);
    error CrowdfundEscrowUnpledgeLocked(uint256 campaignId, uint256 remainingTotal, uint256 goal, uint64 lockStart);
    error CrowdfundEscrowNotCreator(uint256 campaignId, address caller);
    error CrowdfundEscrowNotClaimable(uint256 campaignId, CampaignState state);
    error CrowdfundEscrowNotRefundable(uint256 campaignId, CampaignState state);
    error CrowdfundEscrowNothingToRefund(uint256 campaignId, address backer);
    error CrowdfundEscrowNoFees(address token);
    error CrowdfundEscrowEthTransferFailed(address to, uint256 amount);
    error CrowdfundEscrowReentrantCall();
    error CrowdfundEscrowInvalidTranchePlan(uint256 tranches, uint256 totalBps);
    error CrowdfundEscrowZeroTranche(uint256 index);
    error CrowdfundEscrowInvalidVotingPeriod(uint64 votingPeriod, uint64 minPeriod, uint64 maxPeriod);
    error CrowdfundEscrowNotMilestoneCampaign(uint256 campaignId);
    error CrowdfundEscrowNotInDelivery(uint256 campaignId, CampaignState state);
    error CrowdfundEscrowReleasePending(uint256 campaignId, uint256 tranche, uint64 voteEnd);
    error CrowdfundEscrowNoOpenVote(uint256 campaignId);
    error CrowdfundEscrowVoteClosed(uint256 campaignId, uint64 voteEnd);
    error CrowdfundEscrowVoteOpen(uint256 campaignId, uint64 voteEnd);
    error CrowdfundEscrowAlreadyVoted(uint256 campaignId, address backer, uint256 tranche);
    error CrowdfundEscrowNotABacker(uint256 campaignId, address account);
    error CrowdfundEscrowNotStale(uint256 campaignId, uint256 staleAfter);
    error CrowdfundEscrowNothingOwed(address account, address token);
    error CrowdfundEscrowInvalidRecipient(address to);
    error CrowdfundEscrowInsufficientGas(uint256 payoutGas);

    /*//////////////////////////////////////////////////////////////
                               FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    function createCampaign(
        address token,
        uint256 goal,
        uint64 deadline,
        uint256 maxPerBacker,
        bool keepItAll,
        bytes32 metadataHash
    ) external returns (uint256 campaignId);

    function createMilestoneCampaign(
        address token,
        uint256 goal,
        uint64 deadline,
        uint256 maxPerBacker,
        bytes32 metadataHash,
        uint16[] calldata trancheBps,
        uint64 votingPeriod
    ) external returns (uint256 campaignId);

    function pledge(uint256 campaignId, uint256 amount) external payable;

    function unpledge(uint256 campaignId, uint256 amount) external;

    function cancel(uint256 campaignId) external;

    function claim(uint256 campaignId) external;

    function refund(uint256 campaignId) external;

    function refundTo(uint256 campaignId, address to) external;

    function withdrawOwed(address token, address to) external;

    function withdrawFees(address token) external;

    function requestRelease(uint256 campaignId, bytes32 reportHash) external;

    function vote(uint256 campaignId, bool approve) external;

    function release(uint256 campaignId) external;

    function abortStale(uint256 campaignId) external;

    function disclose(uint256 campaignId, bytes32 documentHash) external;

    function getCampaign(uint256 campaignId) external view returns (Campaign memory);

    function getMilestones(uint256 campaignId) external view returns (Milestones memory);

    function campaignState(uint256 campaignId) external view returns (uint8);

    function pledgeOf(uint256 campaignId, address backer) external view returns (uint256);

    function owed(address account, address token) external view returns (uint256);

    function campaignCount() external view returns (uint256);

    function ledgerHead() external view returns (bytes32);

    function ledgerLength() external view returns (uint64);
}
