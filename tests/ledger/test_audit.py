"""crowdledger audit and export on a real anvil and both databases: a clean audit, then each kind
of tampering, one at a time, in the database and in an export file."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
from sqlalchemy import delete, insert, select, text, update

from ledger.audit.chain_audit import audit_chain
from ledger.audit.export import write_export
from ledger.audit.offline import audit_export
from ledger.chain.rpc import RpcClient
from ledger.db.schema import campaigns, ledger_entries, positions, sync_state, trigger_ddl
from ledger.db.store import LedgerStore
from ledger.sync.indexer import Indexer
from tests.support.chain import EscrowChain, random_history_chain


@pytest.fixture(scope="module")
def history() -> Iterator[EscrowChain]:
    """One long random history shared by the module's read-only checks."""
    with random_history_chain(seed=11, steps=120, milestones=True) as chain:
        yield chain


def index(chain: EscrowChain, store: LedgerStore) -> None:
    Indexer(
        RpcClient(chain.url), store, chain.address, start_block=chain.deployment.block, finality_depth=2
    ).run()


def audit(chain: EscrowChain, store: LedgerStore | None = None, **kw):
    return audit_chain(
        RpcClient(chain.url), chain.address, start_block=chain.deployment.block, store=store, **kw
    )


def tamper(store: LedgerStore, *statements) -> None:
    """What someone with write access to the database could do: drop the triggers, edit, restore."""
    with store.engine.begin() as conn:
        for ddl in trigger_ddl(store.dialect, drop=True):
            conn.execute(text(ddl))
        for statement in statements:
            conn.execute(statement)
        for ddl in trigger_ddl(store.dialect):
            conn.execute(text(ddl))


def codes(report) -> list[str]:
    return [f.code for f in report.findings]


def test_clean_audit_after_a_long_random_history(history: EscrowChain, store: LedgerStore) -> None:
    index(history, store)
    report = audit(history, store)
    assert report.ok, report.findings
    assert report.ledger_length == history.escrow.functions.ledgerLength().call() > 100
    assert report.head_matches and report.db_entries_compared == report.ledger_length
    assert all(s.solvent and s.surplus == 0 for s in report.solvency)
    assert len(report.solvency) == 2  # ETH and the token


def test_audit_at_an_older_block(history: EscrowChain) -> None:
    middle = (history.deployment.block + history.w3.eth.block_number) // 2
    report = audit(history, at_block=middle)
    assert report.ok, report.findings
    assert report.block == middle
    assert report.onchain_length == history.escrow.functions.ledgerLength().call(block_identifier=middle)
    assert report.ledger_length < history.escrow.functions.ledgerLength().call()


def _entry(store: LedgerStore, seq: int):
    with store.engine.connect() as conn:
        return conn.execute(select(ledger_entries).where(ledger_entries.c.seq == seq)).one()


@pytest.mark.parametrize(
    "how",
    [
        "altered amount",
        "altered public text",
        "deleted entry",
        "inserted entry",
        "swapped pair",
        "altered projection",
    ],
)
def test_each_database_tampering_is_reported_precisely(
    history: EscrowChain, store: LedgerStore, how: str
) -> None:
    index(history, store)
    last = store.read_sync_state().last_seq
    target = _entry(store, 20)
    if how == "altered amount":
        tamper(
            store, update(ledger_entries).where(ledger_entries.c.seq == 20).values(amount=target.amount + 1)
        )
        expected = [("db_altered_entry", 20, {"amount"})]  # the text the API serves is still right
    elif how == "altered public text":  # what the API serves, while the fields stay right
        forged = target.public_json.replace('"amount":"', '"amount":"9', 1)
        tamper(store, update(ledger_entries).where(ledger_entries.c.seq == 20).values(public_json=forged))
        expected = [("db_altered_entry", 20, {"public_json"})]
    elif how == "deleted entry":
        tamper(store, delete(ledger_entries).where(ledger_entries.c.seq == 20))
        expected = [("db_missing_entry", 20, None)]
    elif how == "inserted entry":
        fake = {**target._asdict(), "seq": last + 1, "tx_hash": "0x" + "ee" * 32}
        tamper(store, insert(ledger_entries).values(**fake))
        # the checkpoint no longer ends at the last stored entry, and the entry is not the chain's
        expected = [("db_checkpoint", None, None), ("db_extra_entry", last + 1, None)]
    elif how == "swapped pair":
        other = _entry(store, 21)
        keep = ("seq", "final")
        tamper(
            store,
            update(ledger_entries)
            .where(ledger_entries.c.seq == 20)
            .values(**{k: v for k, v in other._asdict().items() if k not in keep}),
            update(ledger_entries)
            .where(ledger_entries.c.seq == 21)
            .values(**{k: v for k, v in target._asdict().items() if k not in keep}),
        )
        expected = [("db_altered_entry", 20, None), ("db_altered_entry", 21, None)]
    else:
        with store.engine.connect() as conn:
            victim = conn.execute(select(positions).where(positions.c.balance > 0).limit(1)).one()
        tamper(
            store,
            update(positions)
            .where(positions.c.campaign_id == victim.campaign_id)
            .where(positions.c.backer == victim.backer)
            .values(balance=victim.balance * 2),
        )
        expected = [("db_altered_projection", None, {"balance"})]
    report = audit(history, store)
    found = [
        (f.code, f.seq, set(f.fields or {}) if e[2] else None) for f, e in zip(report.findings, expected)
    ]
    assert len(report.findings) == len(expected), report.findings
    assert found == [(c, s, fields) for c, s, fields in expected]
    first = report.findings[0]
    if first.seq is not None:
        assert first.tx_hash and first.kind and str(first.seq) in first.message


@pytest.mark.parametrize("field", ["last_seq", "last_head", "last_block_hash", "last_block"])
def test_an_edited_checkpoint_is_reported(history: EscrowChain, store: LedgerStore, field: str) -> None:
    """Editing sync_state once audited CLEAN; each field the checkpoint claims is now checked."""
    index(history, store)
    state = store.read_sync_state()
    edited = {
        "last_seq": state.last_seq - 1,
        "last_head": "0x" + "ab" * 32,
        "last_block_hash": "0x" + "cd" * 32,
        "last_block": state.last_block - 100,
    }[field]
    with store.engine.begin() as conn:
        conn.execute(update(sync_state).where(sync_state.c.id == 1).values(**{field: edited}))
    report = audit(history, store, at_block=state.last_block)
    assert "db_checkpoint" in codes(report), report.findings
    checkpoint = [f for f in report.findings if f.code == "db_checkpoint"]
    assert len(checkpoint) == 1 and (
        field in checkpoint[0].message or "hash of block" in checkpoint[0].message
    )


def test_an_altered_campaign_row_is_reported(history: EscrowChain, store: LedgerStore) -> None:
    index(history, store)
    tamper(store, update(campaigns).where(campaigns.c.campaign_id == 1).values(goal=1))
    report = audit(history, store)
    assert codes(report) == ["db_altered_projection"] and report.findings[0].campaign_id == 1


def test_force_fed_eth_is_surplus_not_a_fault(history: EscrowChain) -> None:
    snapshot = history.snapshot()
    try:
        balance = history.w3.eth.get_balance(history.address)
        history.rpc("anvil_setBalance", [history.address, hex(balance + 10**18)])
        history.mine()
        report = audit(history)
        assert report.ok, report.findings
        eth = next(s for s in report.solvency if int(s.token, 16) == 0)
        assert eth.surplus == 10**18 and eth.solvent
    finally:
        history.revert(snapshot)


# ------------------------------------------------------------------------------ offline exports


@pytest.fixture(scope="module")
def exported(history: EscrowChain, tmp_path_factory) -> list[bytes]:
    from ledger.db.engine import open_database

    store = LedgerStore(open_database(f"sqlite:///{tmp_path_factory.mktemp('export') / 'x.db'}"))
    index(history, store)
    out = io.BytesIO()
    write_export(store.iter_entries(), "ndjson", out)
    return out.getvalue().splitlines(keepends=True)


def offline(history: EscrowChain, lines: list[bytes], expect_head: str | None = None):
    return audit_export(
        io.BytesIO(b"".join(lines)), history.deployment.chain_id, history.address, expect_head=expect_head
    )


def head_of(history: EscrowChain) -> str:
    return "0x" + history.escrow.functions.ledgerHead().call().hex()


def test_a_clean_export_replays_to_the_onchain_head(history: EscrowChain, exported: list[bytes]) -> None:
    report = offline(history, exported, head_of(history))
    assert report.ok and report.head_matches and report.ledger_length == len(exported)


def test_csv_export_replays_too(history: EscrowChain, exported: list[bytes]) -> None:
    from ledger.audit.export_reader import read_export

    entries = [e for _, e in read_export(io.BytesIO(b"".join(exported)))]
    out = io.BytesIO()
    write_export(entries, "csv", out)
    report = audit_export(
        io.BytesIO(out.getvalue()), history.deployment.chain_id, history.address, expect_head=head_of(history)
    )
    assert report.ok, report.findings


def _edit(line: bytes, **changes) -> bytes:
    record = json.loads(line)
    record.update(changes)
    return json.dumps(record).encode() + b"\n"


@pytest.mark.parametrize("how", ["edited", "dropped", "inserted", "reordered"])
def test_each_export_edit_is_detected_and_named(
    history: EscrowChain, exported: list[bytes], how: str
) -> None:
    lines = list(exported)
    seq = 30
    if how == "edited":
        record = json.loads(lines[seq - 1])
        lines[seq - 1] = _edit(lines[seq - 1], amount=str(int(record["amount"]) + 1))
        expected = [("head_mismatch", seq)]
    elif how == "dropped":
        del lines[seq - 1]
        expected = [("seq_gap", seq + 1)]
    elif how == "inserted":
        lines.insert(seq, lines[seq - 1])
        expected = [("seq_out_of_order", seq)]
    else:
        lines[seq - 1], lines[seq] = lines[seq], lines[seq - 1]
        expected = [("seq_gap", seq + 1), ("seq_out_of_order", seq)]
    report = offline(history, lines, head_of(history))
    chain_codes = {"head_mismatch", "seq_gap", "seq_out_of_order"}
    named = [(f.code, f.seq) for f in report.findings if f.code in chain_codes]
    assert named == expected, report.findings
    assert report.findings[0].code in chain_codes  # the first divergence is the edit itself
    # anything else is a consequence (e.g. a refund that no longer matches a dropped pledge)
    assert {f.code for f in report.findings} - chain_codes <= {"invalid_entry", "final_head_mismatch"}
    if how == "dropped":  # the dropped entry is named by its seq in the message
        assert f"seq {seq} missing" in report.findings[0].message


def test_a_wrong_expected_head_is_a_finding(history: EscrowChain, exported: list[bytes]) -> None:
    report = offline(history, exported, "0x" + "11" * 32)
    assert codes(report) == ["final_head_mismatch"]
    report = offline(history, exported[:-1], head_of(history))  # a truncated export
    assert codes(report) == ["final_head_mismatch"]


def test_cli_exit_codes_and_json(history: EscrowChain, exported: list[bytes], tmp_path) -> None:
    path = tmp_path / "ledger.ndjson"
    path.write_bytes(b"".join(exported))
    base = [sys.executable, "-m", "cli", "audit"]
    ok = subprocess.run(
        base + ["--rpc", history.url, "--contract", history.address, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    body = json.loads(ok.stdout)
    assert body["ok"] and body["head_matches"] and body["block"] and body["findings"] == []

    bad_head = subprocess.run(
        base
        + [
            "--from",
            str(path),
            "--chain-id",
            "31337",
            "--contract",
            history.address,
            "--expect-head",
            "0x" + "22" * 32,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad_head.returncode == 1 and "FINDING" in bad_head.stdout

    wrong_address = subprocess.run(
        base + ["--rpc", history.url, "--contract", history.accounts[3]],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert wrong_address.returncode == 2
    assert wrong_address.stderr.strip().count("\n") == 0 and "no contract" in wrong_address.stderr


def test_without_an_expected_head_completeness_is_not_proven(
    history: EscrowChain, exported: list[bytes], tmp_path
) -> None:
    """Issue 20 bug 6: a truncated export (or an empty file) without --expect-head was CLEAN."""
    from ledger.audit.report import render

    truncated = exported[:-5]
    report = offline(history, truncated)
    assert report.ok and not report.complete_proven
    assert report.verdict == "consistent, completeness not proven"
    last_block = json.loads(truncated[-1])["block_number"]
    command = f'cast call {history.address} "ledgerHead()(bytes32)" --block {last_block} --rpc-url <URL>'
    assert report.prove_with == command and report.to_dict()["complete_proven"] is False
    text = "\n".join(render(report))
    assert (
        "result:    consistent, completeness not proven" in text and command in text and "CLEAN" not in text
    )
    empty = offline(history, [])
    assert empty.ok and not empty.complete_proven and "no entries" in empty.notes[0]
    proven = offline(history, exported, head_of(history))
    assert proven.complete_proven and proven.verdict == "CLEAN" and proven.prove_with is None

    path = tmp_path / "short.ndjson"
    path.write_bytes(b"".join(truncated))
    cli = [
        sys.executable,
        "-m",
        "cli",
        "audit",
        "--from",
        str(path),
        "--chain-id",
        "31337",
        "--contract",
        history.address,
    ]
    run = subprocess.run([*cli, "--json"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and json.loads(run.stdout)["complete_proven"] is False, run.stderr


def test_a_wrong_chain_id_is_named_once_with_the_hint(history: EscrowChain, exported: list[bytes]) -> None:
    report = audit_export(io.BytesIO(b"".join(exported)), 1, history.address, expect_head=head_of(history))
    assert [(f.code, f.seq) for f in report.findings] == [("head_mismatch", 1)]
    assert "the --chain-id or --contract may be wrong" in report.findings[0].message
    assert "altered" not in report.findings[0].message.split(";")[0]


def test_junk_is_not_an_export(history: EscrowChain, tmp_path) -> None:
    for junk in (
        b"just some notes, really\nmore notes\n",
        b'{"hello": "world"}\n[1, 2, 3]\n',
        b"\x00\xff\xfe garbage",
    ):
        report = offline(history, [junk])
        assert not report.ok and report.findings[0].message.startswith("not an export"), report.findings
        assert "CSV header lacks" not in report.findings[0].message
