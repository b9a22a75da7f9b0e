// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MilestoneRecord} from "./MilestoneLayout.sol";

/// @title EscrowLayout
/// @notice The escrow's storage structs and a typed view of each packed slot.
///
/// The hot paths read and write a packed slot as one word (one SLOAD, one SSTORE), because
/// Solidity would unpack every member on a struct read and read-modify-write the slot once per
/// member on a struct assignment. Each packed struct therefore has a user-defined value type
/// (`GlobalsWord` for `Globals`, ...) whose named getters and setters take the fields out of and
/// put them into the word, with the bit offsets below. The structs stay declared as structs, so
/// solc's `storageLayout` shows their fields and the views may read them as fields too;
/// tests/contracts/test_layout.py checks that every offset here is the one solc reports.
/// A milestone campaign's structs and words are in MilestoneLayout.sol.
/// Solidity packs a struct's members from the lowest-order bits up, in declaration order.

/*//////////////////////////////////////////////////////////////
                            STORAGE STRUCTS
//////////////////////////////////////////////////////////////*/

/// @dev One slot: everything a state change reads or writes besides its campaign.
struct Globals {
    uint64 ledgerLength;
    uint64 campaignCount;
    uint16 feeBps; // the fee campaigns created now get
    bool paused;
    bool locked; // the reentrancy lock
    uint96 ethFees; // accrued ETH fees; 2^96 wei exceeds all ETH in existence
}

/// @dev One slot: all a pledge, unpledge, cancel or refund needs to read.
struct CampaignCore {
    uint128 pledged;
    uint64 deadline; // never 0 for a campaign that exists
    uint16 feeBps;
    bool keepItAll;
    bool claimed; // a milestone campaign: every tranche released
    bool cancelled;
    bool capped; // maxPerBacker != 0
    bool isToken; // token != address(0)
    bool milestone; // created by createMilestoneCampaign
}

/// @dev A campaign. A plain ETH campaign writes only its first two slots:
///   core; creator | goal96; goal | maxPerBacker (only for a capped campaign or a goal of
///   2^96 - 1 or more); token (only for a token campaign); milestone (only for a milestone
///   campaign). `goal96` holds the goal when it is below 2^96 - 1, else GOAL_IN_SLOT_2, and then
///   the goal is read from `goal`.
struct CampaignRecord {
    CampaignCore core;
    address creator;
    uint96 goal96;
    uint128 goal;
    uint128 maxPerBacker;
    address token;
    MilestoneRecord milestone;
}

/// @dev A backer's pledge (below 2^128, like every campaign total) and, in a milestone campaign,
/// the last tranche it voted on (0: none). Votes come only after the deadline, so pledge and
/// unpledge always find `votedTranche` 0; the refund after an abort clears the whole slot.
struct BackerPledge {
    uint128 amount;
    uint8 votedTranche;
}

/// @dev The `goal96` marker for a goal that does not fit beside the creator.
uint96 constant GOAL_IN_SLOT_2 = type(uint96).max;

/*//////////////////////////////////////////////////////////////
                             GLOBALS WORD
//////////////////////////////////////////////////////////////*/

type GlobalsWord is uint256;

using GlobalsWords for GlobalsWord global;

library GlobalsWords {
    uint256 internal constant LEDGER_LENGTH_SHIFT = 0;
    uint256 internal constant CAMPAIGN_COUNT_SHIFT = 64;
    uint256 internal constant FEE_BPS_SHIFT = 128;
    uint256 internal constant PAUSED_SHIFT = 144;
    uint256 internal constant LOCKED_SHIFT = 152;
    uint256 internal constant ETH_FEES_SHIFT = 160;

    uint256 private constant LOCKED = 1 << LOCKED_SHIFT;

    function load(Globals storage s) internal view returns (GlobalsWord w) {
        assembly ("memory-safe") {
            w := sload(s.slot)
        }
    }

    function store(Globals storage s, GlobalsWord w) internal {
        assembly ("memory-safe") {
            sstore(s.slot, w)
        }
    }

    function ledgerLength(GlobalsWord w) internal pure returns (uint64) {
        return uint64(GlobalsWord.unwrap(w) >> LEDGER_LENGTH_SHIFT);
    }

    function campaignCount(GlobalsWord w) internal pure returns (uint64) {
        return uint64(GlobalsWord.unwrap(w) >> CAMPAIGN_COUNT_SHIFT);
    }

    function feeBps(GlobalsWord w) internal pure returns (uint16) {
        return uint16(GlobalsWord.unwrap(w) >> FEE_BPS_SHIFT);
    }

    function paused(GlobalsWord w) internal pure returns (bool) {
        return uint8(GlobalsWord.unwrap(w) >> PAUSED_SHIFT) != 0;
    }

    function locked(GlobalsWord w) internal pure returns (bool) {
        return GlobalsWord.unwrap(w) & LOCKED != 0;
    }

    function ethFees(GlobalsWord w) internal pure returns (uint96) {
        return uint96(GlobalsWord.unwrap(w) >> ETH_FEES_SHIFT);
    }

    /// @dev The word with one more ledger entry, and that entry's seq. Unchecked: every entry
    /// costs over 20,000 gas, so no chain will ever hold 2^64 - 1 of them (nor campaigns below).
    /// Kept to one basic block so that the optimizer inlines it on the hot paths.
    function nextEntry(GlobalsWord w) internal pure returns (GlobalsWord, uint64 seq) {
        unchecked {
            seq = ledgerLength(w) + 1;
            return (GlobalsWord.wrap(GlobalsWord.unwrap(w) + (1 << LEDGER_LENGTH_SHIFT)), seq);
        }
    }

    /// @dev The word with one more campaign, and that campaign's id (unchecked, as above).
    function nextCampaign(GlobalsWord w) internal pure returns (GlobalsWord, uint64 id) {
        unchecked {
            id = campaignCount(w) + 1;
            return (GlobalsWord.wrap(GlobalsWord.unwrap(w) + (1 << CAMPAIGN_COUNT_SHIFT)), id);
        }
    }

    function withLock(GlobalsWord w) internal pure returns (GlobalsWord) {
        return GlobalsWord.wrap(GlobalsWord.unwrap(w) | LOCKED);
    }

    function withoutLock(GlobalsWord w) internal pure returns (GlobalsWord) {
        return GlobalsWord.wrap(GlobalsWord.unwrap(w) & ~LOCKED);
    }

    function withEthFees(GlobalsWord w, uint96 fees) internal pure returns (GlobalsWord) {
        uint256 rest = GlobalsWord.unwrap(w) & ~(uint256(type(uint96).max) << ETH_FEES_SHIFT);
        return GlobalsWord.wrap(rest | (uint256(fees) << ETH_FEES_SHIFT));
    }
}

/*//////////////////////////////////////////////////////////////
                          CAMPAIGN CORE WORD
//////////////////////////////////////////////////////////////*/

type CoreWord is uint256;

using CoreWords for CoreWord global;

library CoreWords {
    uint256 internal constant PLEDGED_SHIFT = 0;
    uint256 internal constant DEADLINE_SHIFT = 128;
    uint256 internal constant FEE_BPS_SHIFT = 192;
    uint256 internal constant KEEP_IT_ALL_SHIFT = 208;
    uint256 internal constant CLAIMED_SHIFT = 216;
    uint256 internal constant CANCELLED_SHIFT = 224;
    uint256 internal constant CAPPED_SHIFT = 232;
    uint256 internal constant IS_TOKEN_SHIFT = 240;
    uint256 internal constant MILESTONE_SHIFT = 248;

    function load(CampaignCore storage s) internal view returns (CoreWord w) {
        assembly ("memory-safe") {
            w := sload(s.slot)
        }
    }

    function store(CampaignCore storage s, CoreWord w) internal {
        assembly ("memory-safe") {
            sstore(s.slot, w)
        }
    }

    function pledged(CoreWord w) internal pure returns (uint256) {
        return (CoreWord.unwrap(w) >> PLEDGED_SHIFT) & type(uint128).max;
    }

    function deadline(CoreWord w) internal pure returns (uint64) {
        return uint64(CoreWord.unwrap(w) >> DEADLINE_SHIFT);
    }

    function feeBps(CoreWord w) internal pure returns (uint16) {
        return uint16(CoreWord.unwrap(w) >> FEE_BPS_SHIFT);
    }

    function keepItAll(CoreWord w) internal pure returns (bool) {
        return CoreWord.unwrap(w) & (1 << KEEP_IT_ALL_SHIFT) != 0;
    }

    function claimed(CoreWord w) internal pure returns (bool) {
        return CoreWord.unwrap(w) & (1 << CLAIMED_SHIFT) != 0;
    }

    function cancelled(CoreWord w) internal pure returns (bool) {
        return CoreWord.unwrap(w) & (1 << CANCELLED_SHIFT) != 0;
    }

    function capped(CoreWord w) internal pure returns (bool) {
        return CoreWord.unwrap(w) & (1 << CAPPED_SHIFT) != 0;
    }

    function isToken(CoreWord w) internal pure returns (bool) {
        return CoreWord.unwrap(w) & (1 << IS_TOKEN_SHIFT) != 0;
    }

    function milestone(CoreWord w) internal pure returns (bool) {
        return CoreWord.unwrap(w) & (1 << MILESTONE_SHIFT) != 0;
    }

    /// @dev The word with `amount` as its total; `amount` must be below 2^128.
    function withPledged(CoreWord w, uint256 amount) internal pure returns (CoreWord) {
        return CoreWord.wrap((CoreWord.unwrap(w) & ~(uint256(type(uint128).max) << PLEDGED_SHIFT)) | (amount << PLEDGED_SHIFT));
    }

    function withClaimed(CoreWord w) internal pure returns (CoreWord) {
        return CoreWord.wrap(CoreWord.unwrap(w) | (1 << CLAIMED_SHIFT));
    }

    function withCancelled(CoreWord w) internal pure returns (CoreWord) {
        return CoreWord.wrap(CoreWord.unwrap(w) | (1 << CANCELLED_SHIFT));
    }
}

/*//////////////////////////////////////////////////////////////
                             PLEDGE WORD
//////////////////////////////////////////////////////////////*/

type PledgeWord is uint256;

using PledgeWords for PledgeWord global;

library PledgeWords {
    uint256 internal constant AMOUNT_SHIFT = 0;
    uint256 internal constant VOTED_TRANCHE_SHIFT = 128;

    function load(BackerPledge storage s) internal view returns (PledgeWord w) {
        assembly ("memory-safe") {
            w := sload(s.slot)
        }
    }

    function store(BackerPledge storage s, PledgeWord w) internal {
        assembly ("memory-safe") {
            sstore(s.slot, w)
        }
    }

    /// @dev Empties the pledge and its vote record (a refund closes the position).
    function clear(BackerPledge storage s) internal {
        assembly ("memory-safe") {
            sstore(s.slot, 0)
        }
    }

    /// @dev A pledge of `amount` (below 2^128) with no vote recorded: what pledge and unpledge
    /// write, as no vote is ever recorded before the deadline.
    function unvoted(uint256 amount) internal pure returns (PledgeWord) {
        return PledgeWord.wrap(amount << AMOUNT_SHIFT);
    }

    function amount(PledgeWord w) internal pure returns (uint256) {
        return (PledgeWord.unwrap(w) >> AMOUNT_SHIFT) & type(uint128).max;
    }

    function votedTranche(PledgeWord w) internal pure returns (uint8) {
        return uint8(PledgeWord.unwrap(w) >> VOTED_TRANCHE_SHIFT);
    }

    /// @dev The pledge with a vote on tranche `tranche` recorded (replacing the last one).
    function withVote(PledgeWord w, uint256 tranche) internal pure returns (PledgeWord) {
        return PledgeWord.wrap(amount(w) | (tranche << VOTED_TRANCHE_SHIFT));
    }
}
