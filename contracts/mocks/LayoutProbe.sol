// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {
    BackerPledge,
    CampaignCore,
    CoreWord,
    CoreWords,
    Globals,
    GlobalsWord,
    GlobalsWords,
    PledgeWord,
    PledgeWords
} from "../escrow/EscrowLayout.sol";
import {
    AbortBook,
    AbortWords,
    MilestoneStatus,
    PlanWord,
    PlanWords,
    StatusWord,
    StatusWords,
    TallyWord,
    TallyWords,
    TranchePlan,
    VoteTally
} from "../escrow/MilestoneLayout.sol";

/// @title LayoutProbe
/// @notice Exposes the escrow's packed-slot offsets and runs its typed getters and setters
/// against Solidity's own packing of the same structs, for tests/contracts/test_layout.py:
/// a struct written field by field is read back through the getters, and a word built by the
/// setters is read back field by field. Call its functions with eth_call.
contract LayoutProbe {
    Globals private _globals;
    CampaignCore private _core;
    TranchePlan private _plan;
    MilestoneStatus private _status;
    VoteTally private _tally;
    AbortBook private _book;
    BackerPledge private _pledge;

    /// @notice Every offset the getters and setters use, as "Struct.member" and a bit shift.
    function shifts() external pure returns (string[] memory names, uint256[] memory values) {
        names = new string[](31);
        values = new uint256[](31);
        uint256 i;
        (names[i], values[i++]) = ("Globals.ledgerLength", GlobalsWords.LEDGER_LENGTH_SHIFT);
        (names[i], values[i++]) = ("Globals.campaignCount", GlobalsWords.CAMPAIGN_COUNT_SHIFT);
        (names[i], values[i++]) = ("Globals.feeBps", GlobalsWords.FEE_BPS_SHIFT);
        (names[i], values[i++]) = ("Globals.paused", GlobalsWords.PAUSED_SHIFT);
        (names[i], values[i++]) = ("Globals.locked", GlobalsWords.LOCKED_SHIFT);
        (names[i], values[i++]) = ("Globals.ethFees", GlobalsWords.ETH_FEES_SHIFT);
        (names[i], values[i++]) = ("CampaignCore.pledged", CoreWords.PLEDGED_SHIFT);
        (names[i], values[i++]) = ("CampaignCore.deadline", CoreWords.DEADLINE_SHIFT);
        (names[i], values[i++]) = ("CampaignCore.feeBps", CoreWords.FEE_BPS_SHIFT);
        (names[i], values[i++]) = ("CampaignCore.keepItAll", CoreWords.KEEP_IT_ALL_SHIFT);
        (names[i], values[i++]) = ("CampaignCore.claimed", CoreWords.CLAIMED_SHIFT);
        (names[i], values[i++]) = ("CampaignCore.cancelled", CoreWords.CANCELLED_SHIFT);
        (names[i], values[i++]) = ("CampaignCore.capped", CoreWords.CAPPED_SHIFT);
        (names[i], values[i++]) = ("CampaignCore.isToken", CoreWords.IS_TOKEN_SHIFT);
        (names[i], values[i++]) = ("CampaignCore.milestone", CoreWords.MILESTONE_SHIFT);
        (names[i], values[i++]) = ("TranchePlan.trancheBps", PlanWords.TRANCHE_BPS_SHIFT);
        (names[i], values[i++]) = ("TranchePlan.count", PlanWords.COUNT_SHIFT);
        (names[i], values[i++]) = ("TranchePlan.votingPeriod", PlanWords.VOTING_PERIOD_SHIFT);
        (names[i], values[i++]) = ("MilestoneStatus.released", StatusWords.RELEASED_SHIFT);
        (names[i], values[i++]) = ("MilestoneStatus.voteEnd", StatusWords.VOTE_END_SHIFT);
        (names[i], values[i++]) = ("MilestoneStatus.tranchesReleased", StatusWords.TRANCHES_RELEASED_SHIFT);
        (names[i], values[i++]) = ("MilestoneStatus.pending", StatusWords.PENDING_SHIFT);
        (names[i], values[i++]) = ("MilestoneStatus.aborted", StatusWords.ABORTED_SHIFT);
        (names[i], values[i++]) = ("MilestoneStatus.claimedAt", StatusWords.CLAIMED_AT_SHIFT);
        (names[i], values[i++]) = ("VoteTally.weight", TallyWords.WEIGHT_SHIFT);
        (names[i], values[i++]) = ("VoteTally.tranche", TallyWords.TRANCHE_SHIFT);
        (names[i], values[i++]) = ("AbortBook.refunded", AbortWords.REFUNDED_SHIFT);
        (names[i], values[i++]) = ("AbortBook.unrefundedWeight", AbortWords.UNREFUNDED_WEIGHT_SHIFT);
        (names[i], values[i++]) = ("BackerPledge.amount", PledgeWords.AMOUNT_SHIFT);
        (names[i], values[i++]) = ("BackerPledge.votedTranche", PledgeWords.VOTED_TRANCHE_SHIFT);
        (names[i], values[i++]) = ("TranchePlan.laneBits", PlanWords.LANE_BITS);
    }

    /*//////////////////////////////////////////////////////////////
                     GETTERS: FIELDS WRITTEN BY SOLIDITY
    //////////////////////////////////////////////////////////////*/

    function globalsGetters(Globals calldata v) external returns (uint256[6] memory got) {
        _globals = v;
        GlobalsWord w = GlobalsWords.load(_globals);
        got = [w.ledgerLength(), w.campaignCount(), w.feeBps(), _b(w.paused()), _b(w.locked()), w.ethFees()];
    }

    function coreGetters(CampaignCore calldata v) external returns (uint256[9] memory got) {
        _core = v;
        CoreWord w = CoreWords.load(_core);
        got = [
            w.pledged(),
            w.deadline(),
            w.feeBps(),
            _b(w.keepItAll()),
            _b(w.claimed()),
            _b(w.cancelled()),
            _b(w.capped()),
            _b(w.isToken()),
            _b(w.milestone())
        ];
    }

    function planGetters(TranchePlan calldata v) external returns (uint256[12] memory got) {
        _plan = v;
        PlanWord w = PlanWords.load(_plan);
        for (uint256 i; i < 10; ++i) {
            got[i] = w.trancheBps(i);
        }
        (got[10], got[11]) = (w.count(), w.votingPeriod());
    }

    function statusGetters(MilestoneStatus calldata v) external returns (uint256[7] memory got) {
        _status = v;
        StatusWord w = StatusWords.load(_status);
        got = [
            w.released(),
            w.voteEnd(),
            w.tranchesReleased(),
            _b(w.pending()),
            _b(w.aborted()),
            w.claimedAt(),
            _b(w.isZero())
        ];
    }

    function tallyGetters(VoteTally calldata v) external returns (uint256[2] memory got) {
        _tally = v;
        TallyWord w = TallyWords.load(_tally);
        got = [w.weight(), w.tranche()];
    }

    function abortGetters(AbortBook calldata v) external returns (uint256[2] memory got) {
        _book = v;
        got = [AbortWords.load(_book).refunded(), AbortWords.load(_book).unrefundedWeight()];
    }

    function pledgeGetters(BackerPledge calldata v) external returns (uint256[2] memory got) {
        _pledge = v;
        PledgeWord w = PledgeWords.load(_pledge);
        got = [w.amount(), w.votedTranche()];
    }

    /*//////////////////////////////////////////////////////////////
                  SETTERS: WORDS READ BACK AS SOLIDITY FIELDS
    //////////////////////////////////////////////////////////////*/

    /// @notice [withLock, withoutLock, withEthFees(fees), nextEntry, nextCampaign] applied to `v`.
    function globalsSetters(Globals calldata v, uint96 fees) external returns (Globals[5] memory out) {
        _globals = v;
        GlobalsWord w = GlobalsWords.load(_globals);
        (GlobalsWord next, uint64 seq) = w.nextEntry();
        (GlobalsWord added, uint64 id) = w.nextCampaign();
        require(seq == next.ledgerLength() && id == added.campaignCount(), "LayoutProbe: seq or id");
        GlobalsWord[5] memory words = [w.withLock(), w.withoutLock(), w.withEthFees(fees), next, added];
        for (uint256 i; i < 5; ++i) {
            GlobalsWords.store(_globals, words[i]);
            out[i] = _globals;
        }
    }

    /// @notice [withPledged(pledged), withClaimed, withCancelled] applied to `v`.
    function coreSetters(CampaignCore calldata v, uint128 pledged) external returns (CampaignCore[3] memory out) {
        _core = v;
        CoreWord w = CoreWords.load(_core);
        CoreWord[3] memory words = [w.withPledged(pledged), w.withClaimed(), w.withCancelled()];
        for (uint256 i; i < 3; ++i) {
            CoreWords.store(_core, words[i]);
            out[i] = _core;
        }
    }

    /// @notice A plan built lane by lane with withTranche, then withTerms.
    function planBuilt(uint16[] calldata bps, uint64 votingPeriod) external returns (TranchePlan memory) {
        PlanWord w;
        for (uint256 i; i < bps.length; ++i) {
            w = w.withTranche(i, bps[i]);
        }
        PlanWords.store(_plan, w.withTerms(bps.length, votingPeriod));
        return _plan;
    }

    /// @notice [firstTranche(gross, timestamp), then withVoteOpen(end), withVoteSettled,
    /// withTrancheReleased(gross), withAborted, each applied to `v`].
    function statusSetters(MilestoneStatus calldata v, uint128 gross, uint40 timestamp, uint64 end)
        external
        returns (MilestoneStatus[5] memory out)
    {
        _status = v;
        StatusWord w = StatusWords.load(_status);
        StatusWord[5] memory words = [
            StatusWords.firstTranche(gross, timestamp),
            w.withVoteOpen(end),
            w.withVoteSettled(),
            w.withTrancheReleased(gross),
            w.withAborted()
        ];
        for (uint256 i; i < 5; ++i) {
            StatusWords.store(_status, words[i]);
            out[i] = _status;
        }
    }

    /// @notice [opened(tranche), opened(tranche).plus(weight)].
    function tallySetters(uint8 tranche, uint128 weight) external returns (VoteTally[2] memory out) {
        TallyWord[2] memory words = [TallyWords.opened(tranche), TallyWords.opened(tranche).plus(weight)];
        for (uint256 i; i < 2; ++i) {
            TallyWords.store(_tally, words[i]);
            out[i] = _tally;
        }
    }

    function abortPacked(uint128 refunded, uint128 unrefundedWeight) external returns (AbortBook memory) {
        AbortWords.store(_book, AbortWords.pack(refunded, unrefundedWeight));
        return _book;
    }

    /// @notice [unvoted(amount), `v` withVote(tranche), `v` cleared].
    function pledgeSetters(BackerPledge calldata v, uint128 amount, uint8 tranche)
        external
        returns (BackerPledge[3] memory out)
    {
        PledgeWords.store(_pledge, PledgeWords.unvoted(amount));
        out[0] = _pledge;
        _pledge = v;
        PledgeWords.store(_pledge, PledgeWords.load(_pledge).withVote(tranche));
        out[1] = _pledge;
        _pledge = v;
        PledgeWords.clear(_pledge);
        out[2] = _pledge;
    }

    function _b(bool value) private pure returns (uint256) {
        return value ? 1 : 0;
    }
}
