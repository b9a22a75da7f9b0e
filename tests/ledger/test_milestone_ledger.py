"""Milestone campaigns (ledger kinds 8-13) on a real anvil and both databases: a full sync with
campaigns in every phase, a clean audit with the abort dust on its own line, tampering in the new
kinds (in an export and in the database), a backer's verify answers, a reorg over milestone
entries, and the schema migration."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete, insert, select, update

from ledger.audit.chain_audit import audit_chain
from ledger.audit.export import write_export
from ledger.audit.offline import audit_export
from ledger.audit.verify import verify_backer, verify_tx
from ledger.chain.rpc import RpcClient
from ledger.core.records import ETH, Kind, State
from ledger.db.engine import alembic_config, open_database
from ledger.db.schema import campaigns, ledger_entries, positions, tranche_releases, votes
from ledger.db.store import LedgerStore
from ledger.sync.indexer import Indexer
from tests.ledger.test_audit import tamper
from tests.support.chain import VOTING_PERIOD, EscrowChain
from tests.support.compare import assert_db_matches_chain, assert_rows_add_up

STATES = {
    "funding": State.FUNDING,
    "succeeded": State.SUCCEEDED,
    "voting": State.IN_DELIVERY,
    "delivering": State.IN_DELIVERY,
    "claimed": State.CLAIMED,
    "aborted": State.ABORTED,
    "swept": State.ABORTED,
    "failed": State.FAILED,
    "cancelled": State.CANCELLED,
    "plain": State.CLAIMED,
}


@pytest.fixture(scope="module")
def phases() -> Iterator[tuple[EscrowChain, dict[str, int]]]:
    chain = EscrowChain.start()
    ids = chain.milestone_phases()
    chain.mine(3)
    yield chain, ids
    chain.stop()


def index(chain: EscrowChain, store: LedgerStore, depth: int = 2) -> Indexer:
    indexer = Indexer(
        RpcClient(chain.url), store, chain.address, start_block=chain.deployment.block, finality_depth=depth
    )
    indexer.run()
    return indexer


def audit(chain: EscrowChain, store: LedgerStore | None = None):
    return audit_chain(RpcClient(chain.url), chain.address, start_block=chain.deployment.block, store=store)


def test_full_sync_equals_the_chain_in_every_phase(phases, store: LedgerStore) -> None:
    chain, ids = phases
    assert {name: chain.escrow.functions.campaignState(cid).call() for name, cid in ids.items()} == STATES
    index(chain, store)
    assert_db_matches_chain(store, chain)
    with store.engine.connect() as conn:
        rows = {r.campaign_id: r for r in conn.execute(select(campaigns))}
    assert rows[ids["claimed"]].claimed and rows[ids["voting"]].tranches_released == 1
    assert rows[ids["delivering"]].tranches_released == 2 and rows[ids["aborted"]].aborted
    assert not rows[ids["plain"]].milestone and rows[ids["swept"]].tranche_count == 3
    swept = store.milestones_of(ids["swept"])
    assert swept is not None and (swept.dust, swept.unrefunded_weight) == (2, 0)
    aborted = store.milestones_of(ids["aborted"])
    assert aborted is not None and (aborted.abort_remaining, aborted.refunded) == (701, 443)
    voting = store.milestones_of(ids["voting"])
    assert (
        voting is not None
        and voting.vote_pending
        and (voting.approve_weight, voting.reject_weight) == (1000, 333)
    )
    assert [(t.tranche, t.report_hash is None) for t in store.tranche_releases_of(ids["claimed"])] == [
        (0, True),
        (1, False),
        (2, False),
    ]
    assert [d.campaign_id for d in store.disclosures_of(ids["plain"])] == [ids["plain"]]
    assert {(v.campaign_id, v.approve) for v in store.votes_by(chain.accounts[3])} == {
        (ids["aborted"], False),
        (ids["voting"], False),
    }
    assert index(chain, store).run() == 0


def test_audit_is_clean_and_shows_the_abort_dust(phases, store: LedgerStore) -> None:
    chain, _ = phases
    index(chain, store)
    report = audit(chain, store)
    assert report.ok, report.findings
    assert report.db_entries_compared == report.ledger_length
    eth = next(s for s in report.solvency if s.token == ETH)
    assert (eth.dust, eth.surplus, eth.solvent) == (1, 0, True)  # the aborted campaign's last backer owes 257
    assert all(s.surplus == 0 and s.solvent for s in report.solvency)
    assert report.to_dict()["solvency"][0]["dust"] in ("0", "1")


@pytest.fixture(scope="module")
def exported(phases, tmp_path_factory) -> list[bytes]:
    chain, _ = phases
    store = LedgerStore(open_database(f"sqlite:///{tmp_path_factory.mktemp('milestones') / 'x.db'}"))
    index(chain, store)
    out = io.BytesIO()
    write_export(store.iter_entries(), "ndjson", out)
    return out.getvalue().splitlines(keepends=True)


def offline(chain: EscrowChain, lines: list[bytes]):
    head = "0x" + chain.escrow.functions.ledgerHead().call().hex()
    return audit_export(
        io.BytesIO(b"".join(lines)), chain.deployment.chain_id, chain.address, expect_head=head
    )


def line_of(lines: list[bytes], kind: Kind, campaign_id: int, n: int = 0) -> int:
    found = [
        i
        for i, raw in enumerate(lines)
        if (r := json.loads(raw))["kind"] == kind and r["campaign_id"] == campaign_id
    ]
    return found[n]


def test_the_export_replays_clean_in_both_formats(phases, exported: list[bytes]) -> None:
    chain, ids = phases
    report = offline(chain, exported)
    assert report.ok and report.head_matches, report.findings
    plan = json.loads(exported[line_of(exported, Kind.MILESTONE_PLAN, ids["voting"])])
    assert (plan["tranche_bps"], plan["voting_period"], plan["amount"]) == (
        [2000, 3000, 5000],
        VOTING_PERIOD,
        "3",
    )
    release = json.loads(exported[line_of(exported, Kind.TRANCHE_RELEASED, ids["claimed"], 1)])
    assert release["tranche"] == 2 and int(release["fee"]) > 0
    from ledger.audit.export_reader import read_export

    out = io.BytesIO()
    write_export([e for _, e in read_export(io.BytesIO(b"".join(exported)))], "csv", out)
    report = audit_export(io.BytesIO(out.getvalue()), chain.deployment.chain_id, chain.address)
    assert report.ok, report.findings


def _edit(line: bytes, **changes) -> bytes:
    return json.dumps({**json.loads(line), **changes}).encode() + b"\n"


@pytest.mark.parametrize("how", ["altered tranche fee", "dropped vote", "edited plan"])
def test_tampering_with_the_new_kinds_in_an_export_is_named(phases, exported: list[bytes], how: str) -> None:
    chain, ids = phases
    lines = list(exported)
    if how == "altered tranche fee":
        at = line_of(lines, Kind.TRANCHE_RELEASED, ids["delivering"])
        lines[at] = _edit(lines[at], fee=str(int(json.loads(lines[at])["fee"]) + 1))
        first = "terms_mismatch"
    elif how == "dropped vote":
        at = line_of(lines, Kind.VOTED, ids["delivering"])  # the approving vote: the release then fails
        del lines[at]
        first = "seq_gap"
    else:
        at = line_of(lines, Kind.MILESTONE_PLAN, ids["voting"])
        lines[at] = _edit(lines[at], tranche_bps=[3000, 3000, 4000])
        first = "terms_mismatch"
    seq = json.loads(exported[at])["seq"]
    report = offline(chain, lines)
    findings = [(f.code, f.seq) for f in report.findings]
    assert findings[0] == (first, seq if first != "seq_gap" else seq + 1), report.findings
    # the rest are the consequences, in the same campaign: entries the rules no longer allow
    rest = report.findings[1:]
    assert rest and {f.code for f in rest} <= {"invalid_entry"}
    target = ids["voting" if how == "edited plan" else "delivering"]
    assert {f.campaign_id for f in rest} == {target}
    if how == "altered tranche fee":
        assert [(f.code, f.seq) for f in rest] == [("invalid_entry", seq)] and "fee" in rest[0].message


def test_tampering_with_milestone_rows_in_the_database_is_named(phases, store: LedgerStore) -> None:
    chain, ids = phases
    index(chain, store)
    backer = chain.accounts[5].lower()
    tamper(
        store,
        update(tranche_releases)
        .where(tranche_releases.c.campaign_id == ids["delivering"])
        .where(tranche_releases.c.tranche == 1)
        .values(fee=0),
        delete(votes).where(votes.c.campaign_id == ids["voting"]).where(votes.c.backer == backer),
    )
    report = audit(chain, store)
    found = sorted((f.code, f.campaign_id, tuple(sorted(f.fields or {}))) for f in report.findings)
    assert found == [
        ("db_altered_projection", ids["delivering"], ("fee",)),
        ("db_missing_projection", ids["voting"], ()),
    ], report.findings


def test_a_campaigns_rows_add_up_to_its_figures_in_every_phase(phases, store: LedgerStore) -> None:
    chain, _ = phases
    index(chain, store)
    assert_rows_add_up(store, chain.now())


def test_a_backer_sees_releases_votes_and_pro_rata_refunds(phases, store: LedgerStore) -> None:
    chain, ids = phases
    index(chain, store)
    rpc = RpcClient(chain.url)
    three = verify_backer(rpc, chain.address, chain.accounts[3], store)
    assert three.ok
    by_id = {c.campaign_id: c for c in three.campaigns}
    assert {name: by_id[cid].status for name, cid in ids.items()} == {
        "funding": "escrowed",
        "succeeded": "escrowed",
        "voting": "in_delivery",
        "delivering": "in_delivery",
        "claimed": "released",
        "aborted": "refunded",
        "swept": "refunded",
        "failed": "refunded",
        "cancelled": "refundable",
        "plain": "released",
    }
    voting = by_id[ids["voting"]]  # T = 2001: tranche 0 = 400, tranche 1 = 600
    # escrowed: what an abort now would refund, floor(333 x 1601 / 2001); the unit left is rounding
    assert (voting.balance, voting.released, voting.escrowed, voting.at_stake) == ("333", "66", "266", "99")
    assert voting.lost_to_rounding == "1"
    assert [(v.tranche, v.approve, v.weight) for v in voting.votes] == [(1, False, "333")]
    # amounts in ETH (these are wei); tranche 1 counted from 0 is the second
    assert (
        "0.000000000000000099 ETH of it is at stake in the vote on tranche 2: you voted reject."
        in three.verdict
    )
    delivering = by_id[ids["delivering"]]  # 400 + 600 released
    assert (delivering.released, delivering.at_stake) == (str(333 * 1000 // 2001), "0")

    four = verify_backer(rpc, chain.address, chain.accounts[4], store, campaign_id=ids["aborted"])
    (aborted,) = four.campaigns
    assert (aborted.status, aborted.reason, aborted.pledge_of_onchain) == ("refundable", "failed_vote", "367")
    assert (aborted.refundable, aborted.released, aborted.lost_to_rounding) == ("257", "109", "1")
    assert "was aborted after a release vote failed" in four.verdict and "refundable pro rata" in four.verdict

    # issue 20 bug 5: a refunded backer's share released before the abort is still shown
    two = verify_backer(rpc, chain.address, chain.accounts[2], store, campaign_id=ids["aborted"])
    (refunded,) = two.campaigns
    assert (refunded.status, refunded.balance, refunded.refunded_total) == ("refunded", "0", "210")
    assert (refunded.released, refunded.lost_to_rounding) == ("90", "1")  # 301 = 90 + 210 + 1
    assert "had gone to the creator in earlier tranches" in two.verdict

    with store.engine.connect() as conn:
        vote_tx = conn.execute(
            select(ledger_entries.c.tx_hash)
            .where(ledger_entries.c.kind == Kind.VOTED)
            .where(ledger_entries.c.campaign_id == ids["voting"])
        ).first()[0]
    result = verify_tx(rpc, chain.address, vote_tx, store=store, finality_depth=2)
    assert result.ok and "vote to approve the release in campaign" in result.verdict, result.verdict


def test_a_reorg_over_milestone_entries_rolls_them_back(chain: EscrowChain, store: LedgerStore) -> None:
    cid = chain.create_milestone(1, goal=1000, duration=900, tranche_bps=(3000, 7000))
    chain.pledge(cid, 2, 600)
    chain.pledge(cid, 3, 500)
    chain.sleep(1000)
    chain.claim(cid, 1)
    chain.mine(10)
    fork = chain.snapshot()
    chain.request_release(cid, 1)
    chain.vote(cid, 2, True)
    chain.sleep(VOTING_PERIOD)
    chain.release(cid)  # passes: the last tranche, the campaign is claimed
    chain.disclose(cid, 1)
    indexer = index(chain, store, depth=8)
    assert store.milestones_of(cid).tranches_released == 2 and len(store.disclosures_of(cid)) == 1

    chain.revert(fork)  # another branch: the vote fails and the campaign is aborted
    chain.request_release(cid, 1)
    chain.vote(cid, 3, False)
    chain.sleep(VOTING_PERIOD)
    chain.release(cid)
    chain.refund(cid, 2)
    chain.mine(4)
    indexer.sync_once()
    assert_db_matches_chain(store, chain)
    plan = store.milestones_of(cid)
    assert plan.aborted and plan.tranches_released == 1 and plan.refunded == 600 * 770 // 1100
    assert not store.disclosures_of(cid) and [t.tranche for t in store.tranche_releases_of(cid)] == [0]
    assert [(v.backer, v.approve) for v in store.votes_of(cid)] == [(chain.accounts[3].lower(), False)]
    report = audit(chain, store)
    assert report.ok, report.findings


def test_the_migration_upgrades_existing_rows(tmp_path: Path) -> None:
    from alembic import command

    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        conn.execute(
            insert(campaigns).values(
                campaign_id=1,
                creator="0x" + "11" * 20,
                token=ETH,
                goal=5,
                deadline=9,
                max_per_backer=0,
                keep_it_all=False,
                fee_bps=250,
                metadata_hash="0x" + "00" * 32,
                created_seq=1,
                created_block=1,
                created_timestamp=None,
                pledged=5,
                backer_count=1,
                cancelled=False,
                claimed=False,
                claimed_amount=0,
                claim_fee=0,
                refunded_total=0,
                last_seq=2,
            )
        )
        conn.execute(
            insert(positions).values(
                campaign_id=1,
                backer="0x" + "22" * 20,
                balance=5,
                pledged_total=5,
                unpledged_total=0,
                refunded_total=0,
                first_seq=2,
                last_seq=2,
            )
        )
    store = LedgerStore(open_database(f"sqlite:///{tmp_path / 'old.db'}"))
    with store.engine.connect() as conn:
        campaign = conn.execute(select(campaigns)).one()
        position = conn.execute(select(positions)).one()
    assert (campaign.milestone, campaign.tranche_count, campaign.tranches_released, campaign.aborted) == (
        False,
        0,
        0,
        False,
    )
    assert position.voted_tranche == 0 and store.milestones_of(1) is None
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0001")
    with store.engine.connect() as conn:
        assert "milestone" not in conn.exec_driver_sql("SELECT * FROM campaigns").one()._fields
