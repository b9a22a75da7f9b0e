// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title MilestoneLayout
/// @notice A milestone campaign's storage structs (the six slots after its CampaignRecord's
/// first four) and a typed view of each packed slot, as in EscrowLayout.sol; the offsets are
/// checked against solc's storageLayout by tests/contracts/test_layout.py.

/*//////////////////////////////////////////////////////////////
                            STORAGE STRUCTS
//////////////////////////////////////////////////////////////*/

/// @dev A milestone campaign's plan, written once at creation. Tranche i's share in basis
/// points is the 16-bit lane i of `trancheBps` (i < 10).
struct TranchePlan {
    uint160 trancheBps;
    uint8 count;
    uint64 votingPeriod;
}

/// @dev A milestone campaign's progress. All zero until tranche 0 is claimed, never zero after.
struct MilestoneStatus {
    uint128 released; // gross released so far
    uint64 voteEnd; // the end of the open or last vote
    uint8 tranchesReleased; // also the next tranche's index
    bool pending; // a release was requested and not yet decided
    bool aborted;
    uint40 claimedAt; // when tranche 0 was claimed
}

/// @dev One side of the open or last vote. `tranche` is at least 1, so requestRelease leaves
/// the slot non-zero and no vote pays for a zero-to-non-zero store.
struct VoteTally {
    uint128 weight;
    uint8 tranche;
}

/// @dev An aborted milestone campaign's refunds, written at the abort.
struct AbortBook {
    uint128 refunded; // paid back since the abort
    uint128 unrefundedWeight; // the pledges of backers yet to refund
}

/// @dev Six slots after a milestone campaign's record, which no other campaign ever touches.
struct MilestoneRecord {
    TranchePlan plan;
    MilestoneStatus status;
    VoteTally approve;
    VoteTally reject;
    bytes32 report; // the report hash of the open or last release request
    AbortBook abort;
}

/*//////////////////////////////////////////////////////////////
                        MILESTONE PLAN WORD
//////////////////////////////////////////////////////////////*/

type PlanWord is uint256;

using PlanWords for PlanWord global;

library PlanWords {
    uint256 internal constant TRANCHE_BPS_SHIFT = 0;
    uint256 internal constant COUNT_SHIFT = 160;
    uint256 internal constant VOTING_PERIOD_SHIFT = 168;
    uint256 internal constant LANE_BITS = 16;

    function load(TranchePlan storage s) internal view returns (PlanWord w) {
        assembly ("memory-safe") {
            w := sload(s.slot)
        }
    }

    function store(TranchePlan storage s, PlanWord w) internal {
        assembly ("memory-safe") {
            sstore(s.slot, w)
        }
    }

    /// @dev Tranche `i`'s share of the total in basis points (i < 10).
    function trancheBps(PlanWord w, uint256 i) internal pure returns (uint16) {
        return uint16(PlanWord.unwrap(w) >> (TRANCHE_BPS_SHIFT + LANE_BITS * i));
    }

    function count(PlanWord w) internal pure returns (uint8) {
        return uint8(PlanWord.unwrap(w) >> COUNT_SHIFT);
    }

    function votingPeriod(PlanWord w) internal pure returns (uint64) {
        return uint64(PlanWord.unwrap(w) >> VOTING_PERIOD_SHIFT);
    }

    /// @dev The word with tranche `i`'s lane set to `bps`; the lane must be empty. From i = 10
    /// on the lanes overlap the count and the period, so such a plan must be refused.
    function withTranche(PlanWord w, uint256 i, uint16 bps) internal pure returns (PlanWord) {
        return PlanWord.wrap(PlanWord.unwrap(w) | (uint256(bps) << (TRANCHE_BPS_SHIFT + LANE_BITS * i)));
    }

    /// @dev The word with its count and voting period set; both must be empty.
    function withTerms(PlanWord w, uint256 count_, uint64 votingPeriod_) internal pure returns (PlanWord) {
        return PlanWord.wrap(
            PlanWord.unwrap(w) | (count_ << COUNT_SHIFT) | (uint256(votingPeriod_) << VOTING_PERIOD_SHIFT)
        );
    }
}

/*//////////////////////////////////////////////////////////////
                       MILESTONE STATUS WORD
//////////////////////////////////////////////////////////////*/

type StatusWord is uint256;

using StatusWords for StatusWord global;

library StatusWords {
    uint256 internal constant RELEASED_SHIFT = 0;
    uint256 internal constant VOTE_END_SHIFT = 128;
    uint256 internal constant TRANCHES_RELEASED_SHIFT = 192;
    uint256 internal constant PENDING_SHIFT = 200;
    uint256 internal constant ABORTED_SHIFT = 208;
    uint256 internal constant CLAIMED_AT_SHIFT = 216;

    uint256 private constant PENDING = 1 << PENDING_SHIFT;
    uint256 private constant ABORTED = 1 << ABORTED_SHIFT;

    function load(MilestoneStatus storage s) internal view returns (StatusWord w) {
        assembly ("memory-safe") {
            w := sload(s.slot)
        }
    }

    function store(MilestoneStatus storage s, StatusWord w) internal {
        assembly ("memory-safe") {
            sstore(s.slot, w)
        }
    }

    /// @dev The status after the claim of tranche 0 (gross `gross`) at `timestamp`: in delivery.
    function firstTranche(uint256 gross, uint256 timestamp) internal pure returns (StatusWord) {
        return StatusWord.wrap(
            (gross << RELEASED_SHIFT) | (1 << TRANCHES_RELEASED_SHIFT) | (uint256(uint40(timestamp)) << CLAIMED_AT_SHIFT)
        );
    }

    function isZero(StatusWord w) internal pure returns (bool) {
        return StatusWord.unwrap(w) == 0;
    }

    function released(StatusWord w) internal pure returns (uint256) {
        return (StatusWord.unwrap(w) >> RELEASED_SHIFT) & type(uint128).max;
    }

    function voteEnd(StatusWord w) internal pure returns (uint64) {
        return uint64(StatusWord.unwrap(w) >> VOTE_END_SHIFT);
    }

    function tranchesReleased(StatusWord w) internal pure returns (uint8) {
        return uint8(StatusWord.unwrap(w) >> TRANCHES_RELEASED_SHIFT);
    }

    function pending(StatusWord w) internal pure returns (bool) {
        return StatusWord.unwrap(w) & PENDING != 0;
    }

    function aborted(StatusWord w) internal pure returns (bool) {
        return StatusWord.unwrap(w) & ABORTED != 0;
    }

    function claimedAt(StatusWord w) internal pure returns (uint40) {
        return uint40(StatusWord.unwrap(w) >> CLAIMED_AT_SHIFT);
    }

    /// @dev The status with a vote open until `end` (below 2^64).
    function withVoteOpen(StatusWord w, uint256 end) internal pure returns (StatusWord) {
        uint256 rest = StatusWord.unwrap(w) & ~(uint256(type(uint64).max) << VOTE_END_SHIFT);
        return StatusWord.wrap(rest | (end << VOTE_END_SHIFT) | PENDING);
    }

    function withVoteSettled(StatusWord w) internal pure returns (StatusWord) {
        return StatusWord.wrap(StatusWord.unwrap(w) & ~PENDING);
    }

    /// @dev The status with one more tranche, of gross `gross`, released. Released + gross must
    /// stay below 2^128 and the tranches below 2^8 (both hold: at most the total, at most 10).
    function withTrancheReleased(StatusWord w, uint256 gross) internal pure returns (StatusWord) {
        unchecked {
            return StatusWord.wrap(StatusWord.unwrap(w) + (gross << RELEASED_SHIFT) + (1 << TRANCHES_RELEASED_SHIFT));
        }
    }

    function withAborted(StatusWord w) internal pure returns (StatusWord) {
        return StatusWord.wrap(StatusWord.unwrap(w) | ABORTED);
    }
}

/*//////////////////////////////////////////////////////////////
                      VOTE TALLY AND ABORT BOOK WORDS    
//////////////////////////////////////////////////////////////*/

type TallyWord is uint256;

using TallyWords for TallyWord global;

library TallyWords {
    uint256 internal constant WEIGHT_SHIFT = 0;
    uint256 internal constant TRANCHE_SHIFT = 128;

    function load(VoteTally storage s) internal view returns (TallyWord w) {
        assembly ("memory-safe") {
            w := sload(s.slot)
        }
    }

    function store(VoteTally storage s, TallyWord w) internal {
        assembly ("memory-safe") {
            sstore(s.slot, w)
        }
    }

    /// @dev An empty tally of the vote on tranche `tranche`.
    function opened(uint256 tranche) internal pure returns (TallyWord) {
        return TallyWord.wrap(tranche << TRANCHE_SHIFT);
    }

    function weight(TallyWord w) internal pure returns (uint256) {
        return (TallyWord.unwrap(w) >> WEIGHT_SHIFT) & type(uint128).max;
    }

    function tranche(TallyWord w) internal pure returns (uint8) {
        return uint8(TallyWord.unwrap(w) >> TRANCHE_SHIFT);
    }

    /// @dev The tally with `amount` more weight; the weight must stay below 2^128 (it does: each
    /// backer adds its pledge once per vote, and the pledges sum to the total).
    function plus(TallyWord w, uint256 amount) internal pure returns (TallyWord) {
        unchecked {
            return TallyWord.wrap(TallyWord.unwrap(w) + (amount << WEIGHT_SHIFT));
        }
    }
}

type AbortWord is uint256;

using AbortWords for AbortWord global;

library AbortWords {
    uint256 internal constant REFUNDED_SHIFT = 0;
    uint256 internal constant UNREFUNDED_WEIGHT_SHIFT = 128;

    function load(AbortBook storage s) internal view returns (AbortWord w) {
        assembly ("memory-safe") {
            w := sload(s.slot)
        }
    }

    function store(AbortBook storage s, AbortWord w) internal {
        assembly ("memory-safe") {
            sstore(s.slot, w)
        }
    }

    /// @dev The book with `refunded_` paid back and `unrefundedWeight_` yet to refund (each below 2^128).
    function pack(uint256 refunded_, uint256 unrefundedWeight_) internal pure returns (AbortWord) {
        return AbortWord.wrap((refunded_ << REFUNDED_SHIFT) | (unrefundedWeight_ << UNREFUNDED_WEIGHT_SHIFT));
    }

    function refunded(AbortWord w) internal pure returns (uint256) {
        return (AbortWord.unwrap(w) >> REFUNDED_SHIFT) & type(uint128).max;
    }

    function unrefundedWeight(AbortWord w) internal pure returns (uint256) {
        return uint128(AbortWord.unwrap(w) >> UNREFUNDED_WEIGHT_SHIFT);
    }
}
