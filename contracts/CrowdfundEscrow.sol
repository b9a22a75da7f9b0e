// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {ICrowdfundEscrow} from "./interfaces/ICrowdfundEscrow.sol";
import {LedgerHash} from "./libraries/LedgerHash.sol";

/// @title CrowdfundEscrow
/// @notice Holds every CrowdLedger campaign in escrow. Creators launch campaigns in ETH or an
/// ERC-20 token; backers pledge; if the goal is met (or the campaign is keep-it-all) the creator
/// claims the total minus the platform fee fixed at creation, otherwise every backer refunds.
///
/// A milestone campaign (all-or-nothing) releases its total in tranches instead: {claim} pays
/// tranche 0, and each later tranche is paid by {release} once the backers approve the creator's
/// {requestRelease} in a vote ({vote}) weighted by their pledges. A failed vote aborts the
/// campaign and every backer refunds a pro-rata share of what was not released. Creators of any
/// campaign may {disclose} documents on the ledger.
///
/// Every movement of money appends one entry to a hash-chained ledger whose head and length
/// live on-chain ({ledgerHead}, {ledgerLength}); docs/ledger-format.md defines the format.
///
/// The owner may change the fee and its recipient for future campaigns and pause new campaigns
/// and pledges. The owner has no path to escrowed money: pausing never blocks unpledge, claim,
/// refund or fee withdrawal, and there is no admin withdrawal.
///
/// @dev Storage is packed for the hot paths: an ETH pledge touches one campaign slot, the
/// backer's pledge, the globals slot (ledger length, campaign count, pause flag, lock, ETH fees)
/// and the head; cancel and claim one campaign slot more (the creator and the goal share it).
/// See GAS NOTES below.
contract CrowdfundEscrow is ICrowdfundEscrow, Ownable2Step {
    using SafeERC20 for IERC20;

    /*//////////////////////////////////////////////////////////////
                               CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @notice The highest platform fee the owner may set: 10%.
    uint16 public constant MAX_FEE_BPS = 1000;

    /// @notice The furthest a deadline may lie in the future when a campaign is created.
    uint64 public constant MAX_DURATION = 365 days;

    uint256 private constant BPS = 10_000;

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

    /// @notice A milestone campaign has between MIN_TRANCHES and MAX_TRANCHES tranches.
    uint256 public constant MIN_TRANCHES = 2;
    uint256 public constant MAX_TRANCHES = 10;

    /// @notice The bounds of a milestone campaign's voting period.
    uint64 public constant MIN_VOTING_PERIOD = 1 hours;
    uint64 public constant MAX_VOTING_PERIOD = 365 days;

    /// @notice Within this many seconds before a deadline, an unpledge may not drop a campaign
    /// that has reached its goal back below it.
    uint64 public immutable unpledgeLockWindow;

    /*//////////////////////////////////////////////////////////////
                                STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @dev One slot: everything a state change reads or writes besides its campaign.
    struct Globals {
        uint64 ledgerLength;
        uint64 campaignCount;
        uint16 feeBps;
        bool paused;
        bool locked;
        uint96 ethFees; // accrued ETH fees; 2^96 wei exceeds all ETH in existence
    }

    /// @dev One slot: all a pledge, unpledge, cancel or refund needs to read.
    struct CampaignCore {
        uint128 pledged;
        uint64 deadline;
        uint16 feeBps;
        bool keepItAll;
        bool claimed;
        bool cancelled;
        bool capped; // maxPerBacker != 0
        bool isToken; // token != address(0)
        bool milestone; // created by createMilestoneCampaign
    }

    /// @dev A milestone campaign's plan and progress: six words after its CampaignRecord's
    /// first four, which no other campaign ever touches. Each is used as one whole word (see
    /// GAS NOTES for the bit layouts):
    ///   plan      the tranche plan and voting period; written once, at creation
    ///   status    released gross, voteEnd, tranches released, pending and aborted flags
    ///   approve   the approve tally | the tranche voted on
    ///   reject    the reject tally  | the tranche voted on
    ///   report    the report hash of the open or last release request
    ///   abort     refunded so far | the pledges of backers yet to refund (written at the abort)
    /// The tranche in `approve` and `reject` is at least 1, so requestRelease leaves both words
    /// non-zero and no vote pays for a zero-to-non-zero store.
    struct MilestoneRecord {
        uint256 plan;
        uint256 status;
        uint256 approve;
        uint256 reject;
        bytes32 report;
        uint256 abort;
    }

    /// @dev Four slots, of which a plain ETH campaign writes only the first two:
    ///   0  core
    ///   1  creator | goal96      (cancel and claim need the creator, claim and refund the goal)
    ///   2  goal | maxPerBacker   (written only for a capped campaign or a goal of 2^96 - 1 or more)
    ///   3  token                 (written only for a token campaign)
    ///   4+ milestone             (six slots, written only for a milestone campaign)
    /// `goal96` holds the goal when it is below 2^96 - 1 (79 billion units of an 18-decimal
    /// token); otherwise it holds GOAL_IN_SLOT_2 and the goal is read from `goal`.
    struct CampaignRecord {
        CampaignCore core;
        address creator;
        uint96 goal96;
        uint128 goal;
        uint128 maxPerBacker;
        address token;
        MilestoneRecord milestone;
    }

    /// @dev A backer's pledge. A one-field struct occupies its slot exactly as a bare uint256
    /// would; the wrapper lets a function hold a storage reference to the slot, so its mapping
    /// location is hashed once for both the read and the write.
    /// A pledge is below 2^128 (so is every campaign total). In a milestone campaign the bits
    /// from 128 up hold the index of the last tranche the backer voted on (0: none); votes come
    /// only after the deadline, so pledge and unpledge always find those bits zero, and the
    /// refund after an abort clears the whole word. {pledgeOf} masks them off.
    struct BackerPledge {
        uint256 amount;
    }

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

    Globals private _globals;
    bytes32 private _ledgerHead;

    /// @notice Where {withdrawFees} sends accrued fees.
    address public feeRecipient;

    mapping(uint256 campaignId => CampaignRecord) private _campaigns;
    mapping(uint256 campaignId => mapping(address backer => BackerPledge)) private _pledges;
    mapping(address token => uint256) private _tokenFees;

    /*//////////////////////////////////////////////////////////////
                               GAS NOTES
    //////////////////////////////////////////////////////////////*/

    // The state changes handle the Globals slot and a campaign's CampaignCore slot as whole words
    // (one SLOAD each, fields taken out with the bit constants below, one SSTORE for the write),
    // because Solidity would unpack every member into memory on a read and read-modify-write the
    // slot once per member on a struct assignment. The constants mirror how Solidity packs the
    // structs (first member in the lowest-order bits). createCampaign, getCampaign, the other
    // views and the admin functions use the struct fields, so the two views of a slot must agree:
    // a layout change to Globals or CampaignCore must update the constants with it.
    //
    // Every state change begins with {_enter}, which loads the globals word and refuses a
    // reentrant call, and writes it back once in {_append}, with the new ledger length (plus,
    // where they change, the campaign count or the ETH fees). The reentrancy lock lives in that
    // word and is only *stored* around external calls: createCampaign, createMilestoneCampaign,
    // cancel, the ETH pledge, requestRelease, vote, disclose and a release that aborts make none,
    // so setting and clearing the lock inside them could never be observed; they still check it,
    // so a reentrant call into them reverts with {CrowdfundEscrowReentrantCall} as before. A token
    // pledge stores the lock before pulling the tokens; every payout stores it with its ledger
    // entry (effects before interactions) and clears it after the transfer with a
    // read-modify-write, so an admin change made during the call is not overwritten.
    //
    // Milestone campaigns keep their state in the MilestoneRecord words after their record, which
    // pledge, unpledge, cancel and the plain claim and refund never read: those paths only test
    // CORE_MILESTONE where they already branch (claim; the state of a campaign past its deadline
    // that met its goal; refund's error path), so a plain campaign pays a few dozen gas for the
    // feature. A vote touches the milestone status word (read), one tally word and the backer's
    // pledge word (the vote record shares it, see BackerPledge), and not the core at all: a pending
    // request in its voting period can only belong to a milestone campaign in delivery.

    /// @dev Globals word: ledgerLength bits 0-63, campaignCount 64-127, feeBps 128-143,
    /// paused 144, locked 152, ethFees 160-255.
    uint256 private constant GLOBALS_LEDGER_LENGTH_MASK = type(uint64).max;
    uint256 private constant GLOBALS_COUNT_SHIFT = 64;
    uint256 private constant GLOBALS_FEE_BPS_SHIFT = 128;
    uint256 private constant GLOBALS_PAUSED = 1 << 144;
    uint256 private constant GLOBALS_LOCKED = 1 << 152;
    uint256 private constant GLOBALS_ETH_FEES_SHIFT = 160;

    /// @dev CampaignCore word: pledged bits 0-127, deadline 128-191, feeBps 192-207, then one
    /// byte per flag.
    uint256 private constant CORE_PLEDGED_MASK = type(uint128).max;
    uint256 private constant CORE_DEADLINE_SHIFT = 128;
    uint256 private constant CORE_FEE_BPS_SHIFT = 192;
    uint256 private constant CORE_KEEP_IT_ALL = 1 << 208;
    uint256 private constant CORE_CLAIMED = 1 << 216;
    uint256 private constant CORE_CANCELLED = 1 << 224;
    uint256 private constant CORE_CAPPED = 1 << 232;
    uint256 private constant CORE_IS_TOKEN = 1 << 240;
    uint256 private constant CORE_MILESTONE = 1 << 248;

    /// @dev Milestone words (MilestoneRecord). Amounts and weights take bits 0-127 everywhere.
    ///   plan:    bps of tranche i at bits 16i-16i+15 (i < 10), count 160-167, votingPeriod 168-231
    ///   status:  released gross 0-127, voteEnd 128-191, tranches released 192-199 (also the
    ///            next tranche's index), pending 200, aborted 208
    ///   approve: approve weight 0-127, tranche 128-135; reject likewise
    ///   abort:   refunded 0-127, unrefunded weight 128-255
    ///   a backer's pledge word: amount 0-127, last tranche voted on 128-255
    uint256 private constant AMOUNT_MASK = type(uint128).max;
    uint256 private constant PLAN_COUNT_SHIFT = 160;
    uint256 private constant PLAN_VOTING_PERIOD_SHIFT = 168;
    uint256 private constant STATUS_VOTE_END_SHIFT = 128;
    uint256 private constant STATUS_COUNT_SHIFT = 192;
    uint256 private constant STATUS_PENDING = 1 << 200;
    uint256 private constant STATUS_ABORTED = 1 << 208;
    uint256 private constant TALLY_TRANCHE_SHIFT = 128;
    uint256 private constant ABORT_WEIGHT_SHIFT = 128;
    uint256 private constant PLEDGE_VOTE_SHIFT = 128;

    /// @dev The `goal96` marker for a goal that does not fit beside the creator.
    uint96 private constant GOAL_IN_SLOT_2 = type(uint96).max;

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    constructor(address feeRecipient_, uint16 feeBps_, uint64 unpledgeLockWindow_) Ownable(msg.sender) {
        if (feeRecipient_ == address(0)) revert CrowdfundEscrowInvalidFeeRecipient(feeRecipient_);
        if (feeBps_ > MAX_FEE_BPS) revert CrowdfundEscrowFeeTooHigh(feeBps_, MAX_FEE_BPS);
        feeRecipient = feeRecipient_;
        _globals.feeBps = feeBps_;
        unpledgeLockWindow = unpledgeLockWindow_;
        _ledgerHead = LedgerHash.genesis(block.chainid, address(this));
    }

    /*//////////////////////////////////////////////////////////////
                               CAMPAIGNS
    //////////////////////////////////////////////////////////////*/

    /// @notice Launches a campaign; the current fee is fixed into it.
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

    /// @notice Launches an all-or-nothing milestone campaign: like {createCampaign} (keepItAll
    /// false), but the total is paid out in tranches. {claim} pays tranche 0; each later tranche
    /// needs the backers' approval ({requestRelease}, {vote}, {release}).
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
        uint256 plan;
        uint256 totalBps;
        for (uint256 i; i < count; ++i) {
            uint256 bps = trancheBps[i];
            if (bps == 0) revert CrowdfundEscrowZeroTranche(i);
            totalBps += bps;
            plan |= bps << (16 * i); // beyond 16 entries the shift yields 0; such a plan is refused below
        }
        if (count < MIN_TRANCHES || count > MAX_TRANCHES || totalBps != BPS) {
            revert CrowdfundEscrowInvalidTranchePlan(count, totalBps);
        }
        if (votingPeriod < MIN_VOTING_PERIOD || votingPeriod > MAX_VOTING_PERIOD) {
            revert CrowdfundEscrowInvalidVotingPeriod(votingPeriod, MIN_VOTING_PERIOD, MAX_VOTING_PERIOD);
        }
        campaign.milestone.plan =
            plan | (count << PLAN_COUNT_SHIFT) | (uint256(votingPeriod) << PLAN_VOTING_PERIOD_SHIFT);

        (uint64 seq, bytes32 head) = _append(
            _loadGlobals(),
            KIND_MILESTONE_PLAN,
            campaignId,
            msg.sender,
            count,
            keccak256(abi.encode(trancheBps, votingPeriod))
        );
        emit MilestonePlan(campaignId, msg.sender, trancheBps, votingPeriod, seq, head);
    }

    /// @notice Pledges `amount` to a campaign that is still funding. For ETH send exactly
    /// `amount` as value; for a token approve the escrow first and send no value. What is recorded
    /// is what the escrow received, so fee-on-transfer tokens stay solvent.
    /// Emits a {Pledged} event (ledger kind 2).
    function pledge(uint256 campaignId, uint256 amount) external payable {
        uint256 globals = _enter();
        if (globals & GLOBALS_PAUSED != 0) revert CrowdfundEscrowPaused();
        CampaignRecord storage campaign = _campaigns[campaignId];
        uint256 core = _loadCore(campaign);
        _requireFunding(campaignId, campaign, core);
        if (amount == 0) revert CrowdfundEscrowZeroAmount();

        uint256 received;
        if (core & CORE_IS_TOKEN != 0) {
            if (msg.value != 0) revert CrowdfundEscrowWrongEthValue(0, msg.value);
            _storeGlobals(globals | GLOBALS_LOCKED); // hold the lock while the token runs
            received = _pullToken(campaign.token, amount);
            globals = _loadGlobals() & ~GLOBALS_LOCKED; // as the call left it; _append unlocks
        } else {
            if (msg.value != amount) revert CrowdfundEscrowWrongEthValue(amount, msg.value);
            received = amount;
        }

        BackerPledge storage backer = _pledges[campaignId][msg.sender];
        uint256 backerTotal = backer.amount + received;
        if (core & CORE_CAPPED != 0) {
            uint256 cap = campaign.maxPerBacker; // a third slot, read only for capped campaigns
            if (backerTotal > cap) revert CrowdfundEscrowCapExceeded(campaignId, msg.sender, backerTotal, cap);
        }
        uint256 newPledged = _pledged(core) + received;
        if (newPledged > type(uint128).max) revert CrowdfundEscrowAmountTooLarge(newPledged, type(uint128).max);

        backer.amount = backerTotal;
        _storeCore(campaign, (core & ~CORE_PLEDGED_MASK) | newPledged);
        (uint64 seq, bytes32 head) = _append(globals, KIND_PLEDGED, campaignId, msg.sender, received, 0);
        emit Pledged(campaignId, msg.sender, received, seq, head);
    }

    /// @notice Takes back `amount` of the caller's pledge before the deadline. Within the last
    /// {unpledgeLockWindow} seconds, refused when it would drop a campaign that has reached its
    /// goal back below it.
    /// Emits an {Unpledged} event (ledger kind 3).
    function unpledge(uint256 campaignId, uint256 amount) external {
        uint256 globals = _enter();
        CampaignRecord storage campaign = _campaigns[campaignId];
        uint256 core = _loadCore(campaign);
        _requireFunding(campaignId, campaign, core);
        if (amount == 0) revert CrowdfundEscrowZeroAmount();

        BackerPledge storage backer = _pledges[campaignId][msg.sender];
        uint256 backerTotal = backer.amount;
        if (amount > backerTotal) {
            revert CrowdfundEscrowInsufficientPledge(campaignId, msg.sender, backerTotal, amount);
        }
        uint256 remaining;
        unchecked {
            // amount <= backerTotal <= pledged: a campaign's total is the sum of its backers' pledges
            remaining = _pledged(core) - amount;
        }
        {
            uint64 deadline = _deadline(core);
            uint64 lockStart;
            unchecked {
                lockStart = deadline > unpledgeLockWindow ? deadline - unpledgeLockWindow : 0;
            }
            if (block.timestamp >= lockStart) {
                uint256 goal = _goalOf(campaign);
                if (_pledged(core) >= goal && remaining < goal) {
                    revert CrowdfundEscrowUnpledgeLocked(campaignId, remaining, goal, lockStart);
                }
            }
        }

        unchecked {
            backer.amount = backerTotal - amount; // amount <= backerTotal, checked above
        }
        _storeCore(campaign, (core & ~CORE_PLEDGED_MASK) | remaining);
        (uint64 seq, bytes32 head) =
            _append(globals | GLOBALS_LOCKED, KIND_UNPLEDGED, campaignId, msg.sender, amount, 0);
        emit Unpledged(campaignId, msg.sender, amount, seq, head);
        _pay(_assetOf(campaign, core), msg.sender, amount);
        _unlock();
    }

    /// @notice Cancels a campaign before its deadline; its backers may then refund.
    /// Only the creator may cancel. Emits a {Cancelled} event (ledger kind 4).
    function cancel(uint256 campaignId) external {
        uint256 globals = _enter();
        CampaignRecord storage campaign = _campaigns[campaignId];
        uint256 core = _loadCore(campaign);
        _requireFunding(campaignId, campaign, core);
        if (msg.sender != campaign.creator) revert CrowdfundEscrowNotCreator(campaignId, msg.sender);

        _storeCore(campaign, core | CORE_CANCELLED);
        (uint64 seq, bytes32 head) = _append(globals, KIND_CANCELLED, campaignId, msg.sender, 0, 0);
        emit Cancelled(campaignId, msg.sender, seq, head);
    }

    /// @notice Pays a succeeded campaign's total, minus the fee rounded up, to its creator, once.
    /// The fee accrues to the platform. Only the creator may claim.
    /// For a milestone campaign it pays tranche 0 only (its gross floor(total × trancheBps[0] /
    /// 10000) minus its fee, rounded up) and the campaign goes on to InDelivery.
    /// Emits a {Claimed} event (ledger kind 5).
    function claim(uint256 campaignId) external {
        uint256 globals = _enter();
        CampaignRecord storage campaign = _campaigns[campaignId];
        uint256 core = _loadCore(campaign);
        _requireExists(campaignId, core);
        address creator = campaign.creator;
        if (msg.sender != creator) revert CrowdfundEscrowNotCreator(campaignId, msg.sender);
        CampaignState state = _stateOf(campaign, core);
        if (state != CampaignState.Succeeded) revert CrowdfundEscrowNotClaimable(campaignId, state);

        uint256 gross = _pledged(core);
        if (core & CORE_MILESTONE == 0) {
            _storeCore(campaign, core | CORE_CLAIMED);
        } else {
            // tranche 0 of a milestone campaign; gross < 2^128, so the product cannot overflow
            gross = gross * uint16(campaign.milestone.plan) / BPS;
            campaign.milestone.status = gross | (1 << STATUS_COUNT_SHIFT); // InDelivery from now
        }
        uint256 fee = (gross * _feeBps(core) + BPS - 1) / BPS;
        uint256 payout = gross - fee;
        address asset = _assetOf(campaign, core);
        if (fee != 0) {
            // as _accrueFee, written out: on this hot path the call costs some 50 gas
            if (asset == address(0)) {
                uint96 ethFees = uint96(globals >> GLOBALS_ETH_FEES_SHIFT) + uint96(fee); // checked
                globals = (globals & type(uint160).max) | (uint256(ethFees) << GLOBALS_ETH_FEES_SHIFT);
            } else {
                _tokenFees[asset] += fee;
            }
        }
        (uint64 seq, bytes32 head) =
            _append(globals | GLOBALS_LOCKED, KIND_CLAIMED, campaignId, creator, payout, bytes32(fee));
        emit Claimed(campaignId, creator, payout, fee, seq, head);
        _pay(asset, creator, payout);
        _unlock();
    }

    /// @notice Returns the caller's whole pledge from a failed or cancelled campaign; from an
    /// aborted milestone campaign, its pro-rata share floor(pledge × remaining / total) of what
    /// was not released. Emits a {Refunded} event (ledger kind 6).
    function refund(uint256 campaignId) external {
        uint256 globals = _enter();
        CampaignRecord storage campaign = _campaigns[campaignId];
        uint256 core = _loadCore(campaign);
        _requireExists(campaignId, core);
        CampaignState state = _stateOf(campaign, core);
        if (state != CampaignState.Failed && state != CampaignState.Cancelled) {
            if (state == CampaignState.Aborted) return _refundAborted(globals, campaignId, campaign, core);
            revert CrowdfundEscrowNotRefundable(campaignId, state);
        }
        BackerPledge storage backer = _pledges[campaignId][msg.sender];
        uint256 amount = backer.amount;
        if (amount == 0) revert CrowdfundEscrowNothingToRefund(campaignId, msg.sender);

        backer.amount = 0;
        (uint64 seq, bytes32 head) =
            _append(globals | GLOBALS_LOCKED, KIND_REFUNDED, campaignId, msg.sender, amount, 0);
        emit Refunded(campaignId, msg.sender, amount, seq, head);
        _pay(_assetOf(campaign, core), msg.sender, amount);
        _unlock();
    }

    /// @notice Pays the fees accrued in `token` (address(0) for ETH) to {feeRecipient}. Anyone
    /// may call it; a recipient that cannot receive blocks only its own fees.
    /// Emits a {FeesWithdrawn} event (ledger kind 7).
    function withdrawFees(address token) external {
        uint256 globals = _enter();
        uint256 amount;
        if (token == address(0)) {
            amount = globals >> GLOBALS_ETH_FEES_SHIFT;
            globals &= type(uint160).max; // ethFees = 0
        } else {
            amount = _tokenFees[token];
            _tokenFees[token] = 0;
        }
        if (amount == 0) revert CrowdfundEscrowNoFees(token);

        address to = feeRecipient;
        (uint64 seq, bytes32 head) = _append(
            globals | GLOBALS_LOCKED, KIND_FEES_WITHDRAWN, 0, to, amount, bytes32(uint256(uint160(token)))
        );
        emit FeesWithdrawn(token, to, amount, seq, head);
        _pay(token, to, amount);
        _unlock();
    }

    /*//////////////////////////////////////////////////////////////
                         MILESTONES AND DISCLOSURES
    //////////////////////////////////////////////////////////////*/

    /// @notice Asks the backers of a milestone campaign in delivery to approve its next tranche:
    /// publishes a progress report (its hash) and opens a vote lasting the campaign's voting
    /// period. Only the creator, and only once the previous tranche was released.
    /// Emits a {ReleaseRequested} event (ledger kind 9).
    function requestRelease(uint256 campaignId, bytes32 reportHash) external {
        uint256 globals = _enter();
        CampaignRecord storage campaign = _campaigns[campaignId];
        {
            uint256 core = _loadCore(campaign);
            _requireMilestone(campaignId, core);
            if (msg.sender != campaign.creator) revert CrowdfundEscrowNotCreator(campaignId, msg.sender);
            CampaignState state = _stateOf(campaign, core);
            if (state != CampaignState.InDelivery) revert CrowdfundEscrowNotInDelivery(campaignId, state);
        }
        MilestoneRecord storage m = campaign.milestone;
        uint256 status = m.status;
        uint256 tranche = uint8(status >> STATUS_COUNT_SHIFT); // >= 1 in delivery
        if (status & STATUS_PENDING != 0) {
            revert CrowdfundEscrowReleasePending(campaignId, tranche, uint64(status >> STATUS_VOTE_END_SHIFT));
        }

        // voteEnd < 2^64: the timestamp is far below 2^63 and the period at most a year
        uint256 voteEnd = block.timestamp + uint64(m.plan >> PLAN_VOTING_PERIOD_SHIFT);
        m.status = (status & ~(uint256(type(uint64).max) << STATUS_VOTE_END_SHIFT))
            | (voteEnd << STATUS_VOTE_END_SHIFT) | STATUS_PENDING;
        m.approve = tranche << TALLY_TRANCHE_SHIFT; // tallies 0; the words stay non-zero
        m.reject = tranche << TALLY_TRANCHE_SHIFT;
        m.report = reportHash;
        (uint64 seq, bytes32 head) =
            _append(globals, KIND_RELEASE_REQUESTED, campaignId, msg.sender, tranche, reportHash);
        emit ReleaseRequested(campaignId, msg.sender, tranche, reportHash, seq, head);
    }

    /// @notice Votes on the open release request of a milestone campaign, weighted by the
    /// caller's net pledge. Each backer votes once per request, while block.timestamp < voteEnd.
    /// Emits a {Voted} event (ledger kind 10).
    function vote(uint256 campaignId, bool approve) external {
        uint256 globals = _enter();
        MilestoneRecord storage m = _campaigns[campaignId].milestone;
        uint256 weight;
        {
            uint256 status = m.status;
            // a pending request in its voting period implies a milestone campaign in delivery
            if (status & STATUS_PENDING == 0 || block.timestamp >= uint64(status >> STATUS_VOTE_END_SHIFT)) {
                _revertNoVote(campaignId, status);
            }
            uint256 tranche = uint8(status >> STATUS_COUNT_SHIFT);
            BackerPledge storage backer = _pledges[campaignId][msg.sender];
            uint256 word = backer.amount;
            weight = word & AMOUNT_MASK;
            if (weight == 0) revert CrowdfundEscrowNotABacker(campaignId, msg.sender);
            if (word >> PLEDGE_VOTE_SHIFT == tranche) {
                revert CrowdfundEscrowAlreadyVoted(campaignId, msg.sender, tranche);
            }
            backer.amount = weight | (tranche << PLEDGE_VOTE_SHIFT);
        }
        unchecked {
            // each backer adds its pledge once per request: a tally stays <= the total < 2^128,
            // so it never carries into the tranche bits
            if (approve) m.approve += weight;
            else m.reject += weight;
        }
        (uint64 seq, bytes32 head) =
            _append(globals, KIND_VOTED, campaignId, msg.sender, weight, bytes32(uint256(approve ? 1 : 0)));
        emit Voted(campaignId, msg.sender, weight, approve, seq, head);
    }

    /// @notice Decides a milestone campaign's release request once its vote has closed
    /// (block.timestamp >= voteEnd); anyone may call it. The request passes when the approving
    /// weight exceeds the rejecting weight and at least a fifth of the total voted:
    /// (approve + reject) × 5 >= total. Then the tranche, minus its fee rounded up, goes to the
    /// creator (after the last tranche the campaign is Claimed). Otherwise the campaign is
    /// aborted and its backers refund pro rata what was not released.
    /// Emits a {TrancheReleased} (ledger kind 11) or an {Aborted} (kind 12) event.
    function release(uint256 campaignId) external {
        uint256 globals = _enter();
        CampaignRecord storage campaign = _campaigns[campaignId];
        uint256 core = _loadCore(campaign);
        _requireMilestone(campaignId, core);
        MilestoneRecord storage m = campaign.milestone;
        uint256 status = m.status;
        if (status & STATUS_PENDING == 0) revert CrowdfundEscrowNoOpenVote(campaignId);
        {
            uint64 voteEnd = uint64(status >> STATUS_VOTE_END_SHIFT);
            if (block.timestamp < voteEnd) revert CrowdfundEscrowVoteOpen(campaignId, voteEnd);
        }

        uint256 approveWeight = m.approve & AMOUNT_MASK;
        uint256 rejectWeight = m.reject & AMOUNT_MASK;
        status &= ~STATUS_PENDING;
        // tallies <= total < 2^128: the sum times 5 cannot overflow
        if (approveWeight > rejectWeight && (approveWeight + rejectWeight) * 5 >= _pledged(core)) {
            _releaseTranche(globals, campaignId, campaign, core, status);
        } else {
            // > 0: the last tranche, never released before the campaign is Claimed, is at least 1
            uint256 remaining = _pledged(core) - (status & AMOUNT_MASK);
            m.status = status | STATUS_ABORTED;
            m.abort = _pledged(core) << ABORT_WEIGHT_SHIFT; // refunded 0, every backer yet to refund
            address creator = campaign.creator;
            (uint64 seq, bytes32 head) = _append(globals, KIND_ABORTED, campaignId, creator, remaining, 0);
            emit Aborted(campaignId, creator, remaining, seq, head);
        }
    }

    /// @notice Publishes a document (a spending report, a delay notice...) on the ledger: its
    /// hash commits to it. Only the creator, of any campaign, in any state.
    /// Emits a {Disclosed} event (ledger kind 13).
    function disclose(uint256 campaignId, bytes32 documentHash) external {
        uint256 globals = _enter();
        CampaignRecord storage campaign = _campaigns[campaignId];
        _requireExists(campaignId, _loadCore(campaign));
        if (msg.sender != campaign.creator) revert CrowdfundEscrowNotCreator(campaignId, msg.sender);
        (uint64 seq, bytes32 head) = _append(globals, KIND_DISCLOSED, campaignId, msg.sender, 0, documentHash);
        emit Disclosed(campaignId, msg.sender, documentHash, seq, head);
    }

    /*//////////////////////////////////////////////////////////////
                                 ADMIN
    //////////////////////////////////////////////////////////////*/

    /// @notice Sets the fee fixed into campaigns created from now on. Emits {FeeBpsChanged}.
    function setFeeBps(uint16 newFeeBps) external onlyOwner {
        if (newFeeBps > MAX_FEE_BPS) revert CrowdfundEscrowFeeTooHigh(newFeeBps, MAX_FEE_BPS);
        emit FeeBpsChanged(_globals.feeBps, newFeeBps);
        _globals.feeBps = newFeeBps;
    }

    /// @notice Sets where fees are withdrawn to. Emits {FeeRecipientChanged}.
    function setFeeRecipient(address newRecipient) external onlyOwner {
        if (newRecipient == address(0)) revert CrowdfundEscrowInvalidFeeRecipient(newRecipient);
        emit FeeRecipientChanged(feeRecipient, newRecipient);
        feeRecipient = newRecipient;
    }

    /// @notice Stops new campaigns and pledges. Unpledge, claim, refund and fee withdrawal go on.
    /// Emits {Paused}.
    function pause() external onlyOwner {
        if (_globals.paused) revert CrowdfundEscrowPaused();
        _globals.paused = true;
        emit Paused(msg.sender);
    }

    /// @notice Lets new campaigns and pledges in again. Emits {Unpaused}.
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
        CampaignCore memory core = campaign.core;
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
        uint256 core = _loadCore(campaign);
        _requireMilestone(campaignId, core);
        MilestoneRecord storage m = campaign.milestone;
        uint256 plan = m.plan;
        uint256 count = uint8(plan >> PLAN_COUNT_SHIFT);
        info.trancheBps = new uint16[](count);
        for (uint256 i; i < count; ++i) {
            info.trancheBps[i] = uint16(plan >> (16 * i));
        }
        info.votingPeriod = uint64(plan >> PLAN_VOTING_PERIOD_SHIFT);

        uint256 status = m.status;
        uint256 total = _pledged(core);
        info.tranchesReleased = uint8(status >> STATUS_COUNT_SHIFT);
        info.releasedAmount = status & AMOUNT_MASK;
        CampaignState state = _stateOf(campaign, core);
        if (state == CampaignState.Funding || state == CampaignState.Succeeded || state == CampaignState.InDelivery) {
            info.nextTrancheAmount = _trancheGross(plan, info.tranchesReleased, total, info.releasedAmount);
        }
        info.votePending = status & STATUS_PENDING != 0;
        info.voteTranche = m.approve >> TALLY_TRANCHE_SHIFT;
        info.reportHash = m.report;
        info.voteEnd = uint64(status >> STATUS_VOTE_END_SHIFT);
        info.approveWeight = m.approve & AMOUNT_MASK;
        info.rejectWeight = m.reject & AMOUNT_MASK;
        if (status & STATUS_ABORTED != 0) {
            uint256 abortWord = m.abort;
            info.aborted = true;
            info.abortRemaining = total - info.releasedAmount;
            info.refunded = abortWord & AMOUNT_MASK;
            info.unrefundedWeight = abortWord >> ABORT_WEIGHT_SHIFT;
            if (info.unrefundedWeight == 0) info.dust = info.abortRemaining - info.refunded;
        }
    }

    /// @notice 0 Funding, 1 Succeeded, 2 Failed, 3 Cancelled, 4 Claimed, 5 InDelivery, 6 Aborted.
    /// Reverts for an unknown id.
    function campaignState(uint256 campaignId) external view returns (uint8) {
        CampaignRecord storage campaign = _campaigns[campaignId];
        uint256 core = _loadCore(campaign);
        _requireExists(campaignId, core);
        return uint8(_stateOf(campaign, core));
    }

    /// @notice What `backer` has pledged to a campaign and not yet taken back or been refunded.
    function pledgeOf(uint256 campaignId, address backer) external view returns (uint256) {
        return _pledges[campaignId][backer].amount & AMOUNT_MASK; // without a milestone vote record
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

    /*//////////////////////////////////////////////////////////////
                                INTERNAL
    //////////////////////////////////////////////////////////////*/

    /// @dev The globals word, read once per state change; reverts inside another state change.
    function _enter() private view returns (uint256 globals) {
        globals = _loadGlobals();
        if (globals & GLOBALS_LOCKED != 0) revert CrowdfundEscrowReentrantCall();
    }

    function _loadGlobals() private view returns (uint256 globals) {
        assembly ("memory-safe") {
            globals := sload(_globals.slot)
        }
    }

    function _storeGlobals(uint256 globals) private {
        assembly ("memory-safe") {
            sstore(_globals.slot, globals)
        }
    }

    /// @dev Clears the lock after a payout: a read-modify-write of the (warm) globals slot.
    function _unlock() private {
        _globals.locked = false;
    }

    /// @dev The campaign's CampaignCore slot as one word (see GAS NOTES).
    function _loadCore(CampaignRecord storage campaign) private view returns (uint256 core) {
        assembly ("memory-safe") {
            core := sload(campaign.slot) // `core` is the record's first member
        }
    }

    function _storeCore(CampaignRecord storage campaign, uint256 core) private {
        assembly ("memory-safe") {
            sstore(campaign.slot, core)
        }
    }

    function _pledged(uint256 core) private pure returns (uint256) {
        return core & CORE_PLEDGED_MASK;
    }

    function _deadline(uint256 core) private pure returns (uint64) {
        return uint64(core >> CORE_DEADLINE_SHIFT);
    }

    function _feeBps(uint256 core) private pure returns (uint16) {
        return uint16(core >> CORE_FEE_BPS_SHIFT);
    }

    /// @dev Appends one entry to the ledger and returns its seq and the new head. Stores the
    /// globals word (with the new ledger length and whatever else the caller changed) in one go.
    function _append(uint256 globals, uint8 kind, uint256 campaignId, address account, uint256 amount, bytes32 detail)
        private
        returns (uint64 seq, bytes32 head)
    {
        seq = uint64(globals & GLOBALS_LEDGER_LENGTH_MASK) + 1; // checked as a uint64, like the field
        unchecked {
            _storeGlobals(globals + 1); // no carry out of the field: checked above
        }
        head = LedgerHash.next(_ledgerHead, seq, kind, campaignId, account, amount, detail);
        _ledgerHead = head;
    }

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
    ) private returns (uint256 campaignId, CampaignRecord storage campaign) {
        uint256 globals = _enter();
        if (globals & GLOBALS_PAUSED != 0) revert CrowdfundEscrowPaused();
        if (deadline <= block.timestamp) revert CrowdfundEscrowDeadlineNotInFuture(deadline, block.timestamp);
        if (deadline > block.timestamp + MAX_DURATION) {
            revert CrowdfundEscrowDeadlineTooFar(deadline, block.timestamp + MAX_DURATION);
        }
        if (goal == 0 && !keepItAll) revert CrowdfundEscrowZeroGoal();
        if (goal > type(uint128).max) revert CrowdfundEscrowAmountTooLarge(goal, type(uint128).max);
        if (maxPerBacker > type(uint128).max) revert CrowdfundEscrowAmountTooLarge(maxPerBacker, type(uint128).max);
        if (token != address(0) && token.code.length == 0) revert CrowdfundEscrowInvalidToken(token);

        campaignId = uint64(globals >> GLOBALS_COUNT_SHIFT) + 1; // checked as a uint64, like the field
        unchecked {
            globals += 1 << GLOBALS_COUNT_SHIFT; // no carry out of the field: checked above
        }
        NewCampaign memory terms = NewCampaign({
            token: token,
            goal: goal,
            deadline: deadline,
            maxPerBacker: maxPerBacker,
            keepItAll: keepItAll,
            feeBps: uint16(globals >> GLOBALS_FEE_BPS_SHIFT),
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
    function _logCreated(uint256 globals, uint256 campaignId, NewCampaign memory t) private {
        bytes32 detail = keccak256(abi.encode(t.token, t.deadline, t.maxPerBacker, t.keepItAll, t.feeBps, t.metadataHash));
        (uint64 seq, bytes32 head) = _append(globals, KIND_CAMPAIGN_CREATED, campaignId, msg.sender, t.goal, detail);
        emit CampaignCreated(
            campaignId, msg.sender, t.token, t.goal, t.deadline, t.maxPerBacker, t.keepItAll, t.feeBps, t.metadataHash, seq, head
        );
    }

    /// @dev The goal: beside the creator when it fits, else in the third slot.
    function _goalOf(CampaignRecord storage campaign) private view returns (uint256 goal) {
        goal = campaign.goal96;
        if (goal == GOAL_IN_SLOT_2) goal = campaign.goal;
    }

    function _stateOf(CampaignRecord storage campaign, uint256 core) private view returns (CampaignState) {
        if (core & CORE_CANCELLED != 0) return CampaignState.Cancelled;
        if (core & CORE_CLAIMED != 0) return CampaignState.Claimed;
        if (block.timestamp < _deadline(core)) return CampaignState.Funding;
        if (core & CORE_KEEP_IT_ALL != 0 || _pledged(core) >= _goalOf(campaign)) {
            if (core & CORE_MILESTONE != 0) {
                uint256 status = campaign.milestone.status; // 0 until tranche 0 is claimed
                if (status & STATUS_ABORTED != 0) return CampaignState.Aborted;
                if (status != 0) return CampaignState.InDelivery;
            }
            return CampaignState.Succeeded;
        }
        return CampaignState.Failed;
    }

    function _requireExists(uint256 campaignId, uint256 core) private pure {
        if (_deadline(core) == 0) revert CrowdfundEscrowUnknownCampaign(campaignId);
    }

    function _requireMilestone(uint256 campaignId, uint256 core) private pure {
        _requireExists(campaignId, core);
        if (core & CORE_MILESTONE == 0) revert CrowdfundEscrowNotMilestoneCampaign(campaignId);
    }

    function _requireFunding(uint256 campaignId, CampaignRecord storage campaign, uint256 core) private view {
        _requireExists(campaignId, core);
        if (core & CORE_CANCELLED != 0) revert CrowdfundEscrowNotFunding(campaignId, CampaignState.Cancelled);
        if (block.timestamp >= _deadline(core)) {
            revert CrowdfundEscrowNotFunding(campaignId, _stateOf(campaign, core));
        }
    }

    function _assetOf(CampaignRecord storage campaign, uint256 core) private view returns (address) {
        return core & CORE_IS_TOKEN != 0 ? campaign.token : address(0);
    }

    /// @dev Adds `fee` to the fees accrued in `asset`; returns the globals word to store.
    function _accrueFee(uint256 globals, address asset, uint256 fee) private returns (uint256) {
        if (fee != 0) {
            if (asset == address(0)) {
                // fee <= pledged < 2^128 wei, and all ETH fees together stay far below 2^96 wei;
                // they live in the globals word, so accruing them costs no slot of its own
                uint96 ethFees = uint96(globals >> GLOBALS_ETH_FEES_SHIFT) + uint96(fee); // checked
                globals = (globals & type(uint160).max) | (uint256(ethFees) << GLOBALS_ETH_FEES_SHIFT);
            } else {
                _tokenFees[asset] += fee;
            }
        }
        return globals;
    }

    /// @dev The gross amount of tranche `tranche` (from 0) of a milestone campaign whose total is
    /// `total` and which has released `released` so far: floor(total × bps / 10000), the last
    /// tranche the rest.
    function _trancheGross(uint256 plan, uint256 tranche, uint256 total, uint256 released)
        private
        pure
        returns (uint256)
    {
        if (tranche + 1 == uint8(plan >> PLAN_COUNT_SHIFT)) return total - released;
        return total * uint16(plan >> (16 * tranche)) / BPS; // total < 2^128: no overflow
    }

    /// @dev The refund from an aborted milestone campaign: floor(pledge × remaining / total),
    /// remaining = total - released. The refund that leaves no backer to refund moves the
    /// rounding dust (remaining - all refunds) to the platform's fees, so nothing stays locked.
    function _refundAborted(uint256 globals, uint256 campaignId, CampaignRecord storage campaign, uint256 core)
        private
    {
        uint256 amount;
        {
            BackerPledge storage backer = _pledges[campaignId][msg.sender];
            uint256 weight = backer.amount & AMOUNT_MASK;
            if (weight == 0) revert CrowdfundEscrowNothingToRefund(campaignId, msg.sender);
            backer.amount = 0;

            MilestoneRecord storage m = campaign.milestone;
            uint256 total = _pledged(core); // > 0: the goal was met
            uint256 remaining = total - (m.status & AMOUNT_MASK);
            amount = weight * remaining / total; // both < 2^128
            uint256 abortWord = m.abort;
            // the backers' pledges sum to the total, so the unrefunded weight covers this one
            // (checked all the same), and the refunds stay <= remaining
            uint256 refunded = (abortWord & AMOUNT_MASK) + amount;
            uint256 unrefunded = (abortWord >> ABORT_WEIGHT_SHIFT) - weight;
            m.abort = (unrefunded << ABORT_WEIGHT_SHIFT) | refunded;
            // the last backer to refund: the rounding dust goes to the fees
            if (unrefunded == 0) globals = _accrueFee(globals, _assetOf(campaign, core), remaining - refunded);
        }
        (uint64 seq, bytes32 head) =
            _append(globals | GLOBALS_LOCKED, KIND_REFUNDED, campaignId, msg.sender, amount, 0);
        emit Refunded(campaignId, msg.sender, amount, seq, head);
        _pay(_assetOf(campaign, core), msg.sender, amount);
        _unlock();
    }

    /// @dev Pays the next tranche of a milestone campaign whose release vote passed; `status` is
    /// its status word with the pending flag cleared.
    function _releaseTranche(
        uint256 globals,
        uint256 campaignId,
        CampaignRecord storage campaign,
        uint256 core,
        uint256 status
    ) private {
        uint256 plan = campaign.milestone.plan;
        uint256 tranche = uint8(status >> STATUS_COUNT_SHIFT);
        uint256 gross = _trancheGross(plan, tranche, _pledged(core), status & AMOUNT_MASK);
        uint256 fee = (gross * _feeBps(core) + BPS - 1) / BPS;
        address asset = _assetOf(campaign, core);
        address creator = campaign.creator;
        // released + gross <= total < 2^128 and tranche + 1 <= 10: no field carries over
        campaign.milestone.status = status + gross + (1 << STATUS_COUNT_SHIFT);
        if (tranche + 1 == uint8(plan >> PLAN_COUNT_SHIFT)) _storeCore(campaign, core | CORE_CLAIMED);
        globals = _accrueFee(globals, asset, fee);
        (uint64 seq, bytes32 head) = _append(
            globals | GLOBALS_LOCKED,
            KIND_TRANCHE_RELEASED,
            campaignId,
            creator,
            gross - fee,
            keccak256(abi.encode(tranche, fee))
        );
        emit TrancheReleased(campaignId, creator, tranche, gross - fee, fee, seq, head);
        _pay(asset, creator, gross - fee);
        _unlock();
    }

    /// @dev Why {vote} found no vote open: the most specific error.
    function _revertNoVote(uint256 campaignId, uint256 status) private view {
        _requireMilestone(campaignId, _loadCore(_campaigns[campaignId]));
        if (status & STATUS_PENDING == 0) revert CrowdfundEscrowNoOpenVote(campaignId);
        revert CrowdfundEscrowVoteClosed(campaignId, uint64(status >> STATUS_VOTE_END_SHIFT));
    }

    /// @dev Pulls `amount` of `token` from the caller and returns what actually arrived.
    function _pullToken(address token, uint256 amount) private returns (uint256 received) {
        uint256 balanceBefore = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
        uint256 balanceAfter = IERC20(token).balanceOf(address(this));
        if (balanceAfter <= balanceBefore) revert CrowdfundEscrowNothingReceived(token);
        received = balanceAfter - balanceBefore;
    }

    /// @dev Sends `amount` of `asset` (address(0) for ETH) to `to`; does nothing for zero.
    function _pay(address asset, address to, uint256 amount) private {
        if (amount == 0) return;
        if (asset == address(0)) {
            bool ok;
            assembly ("memory-safe") {
                // a plain value call with all gas, like `to.call{value: amount}("")`, but
                // without copying the recipient's return data into memory
                ok := call(gas(), to, amount, 0, 0, 0, 0)
            }
            if (!ok) revert CrowdfundEscrowEthTransferFailed(to, amount);
        } else {
            IERC20(asset).safeTransfer(to, amount);
        }
    }
}
