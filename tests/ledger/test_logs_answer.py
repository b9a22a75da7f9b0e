"""The one decoder of eth_getLogs answers (ledger.chain.events): recorded answers of real nodes
against expected files (golden files, as ethereum-etl tests its decoding), hand-made odd and hostile
answers with the outcome each must have, and random answers fuzzed with Hypothesis: whatever the
bytes, the decoder ends in entries that say what the JSON says, or in one clear NodeError or
LedgerIntegrityError; never in another exception."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from ledger.audit.export import write_export
from ledger.audit.offline import audit_export
from ledger.chain.answers import decode_logs_answer
from ledger.chain.events import TOPICS, decode_logs
from ledger.core.records import LedgerEntry
from ledger.errors import LedgerIntegrityError, NodeError
from tests.support.hostile_answers import answer, chosen_bodies, pledge_log, random_answer

GOLDEN = Path(__file__).parent / "golden"


def decode(body: bytes) -> list[LedgerEntry] | str:
    """What the indexer makes of an answer's body: its entries, or the name of the error it stops
    with ("error" for a JSON-RPC error object, which the client classifies)."""
    try:
        answer = decode_logs_answer(body)
        if answer is None:
            return "NodeError"  # not JSON: RpcClient says so, as a NodeError
        if "error" in answer:
            return "error"
        if "result" not in answer:
            return "NodeError"  # neither result nor error: RpcClient says so
        return decode_logs(answer["result"])
    except (NodeError, LedgerIntegrityError) as exc:
        assert str(exc) and "\n" not in str(exc), "one line"
        return type(exc).__name__


# ------------------------------------------------------------------------------------ golden files


@pytest.mark.parametrize("node", ["anvil", "ganache"])
def test_recorded_answers_decode_to_the_expected_entries(node: str, tmp_path: Path) -> None:
    """A real node's answer (all 13 kinds; ganache without block times) decodes to the expected
    export, and that export replays offline to the ledgerHead() the contract had: every chained
    field of every entry is right."""
    body = (GOLDEN / f"{node}_getlogs.json").read_bytes()
    meta = json.loads((GOLDEN / f"{node}_getlogs.meta.json").read_text())
    entries = decode(body)
    assert isinstance(entries, list) and len(entries) == 64
    assert {int(e.kind) for e in entries} == set(range(1, 14))
    out = io.BytesIO()
    write_export(entries, "ndjson", out)
    assert out.getvalue() == (GOLDEN / f"{node}_getlogs.expected.ndjson").read_bytes()
    report = audit_export(
        io.BytesIO(out.getvalue()), meta["chain_id"], meta["contract"], expect_head=meta["ledger_head"]
    )
    assert report.ok, report.findings
    if node == "ganache":
        assert all(e.block_timestamp is None for e in entries)


def test_a_recorded_answer_with_the_exits_decodes_to_the_expected_entries() -> None:
    """Issue 18's kinds as anvil answers them (tests/support/chain.py exit_outcomes): credited
    claims and releases (14) right after their payouts, withdrawals to other addresses (15) and a
    stale abort (16) decode to the expected export, which replays to the recorded ledgerHead()."""
    body = (GOLDEN / "anvil_exits_getlogs.json").read_bytes()
    meta = json.loads((GOLDEN / "anvil_exits_getlogs.meta.json").read_text())
    entries = decode(body)
    assert isinstance(entries, list) and {14, 15, 16} <= {int(e.kind) for e in entries}
    out = io.BytesIO()
    write_export(entries, "ndjson", out)
    assert out.getvalue() == (GOLDEN / "anvil_exits_getlogs.expected.ndjson").read_bytes()
    report = audit_export(
        io.BytesIO(out.getvalue()), meta["chain_id"], meta["contract"], expect_head=meta["ledger_head"]
    )
    assert report.ok and report.complete_proven, report.findings
    assert report.ledger_length == len(entries) == 45


# ------------------------------------------------------------------------------------ chosen bodies

EXPECTED: dict[str, int | str] = {
    "anvil": 2,
    "empty result": 0,
    "300 logs (scanned without the GIL)": 301,
    "other kinds": 2,
    "ganache order, no timestamp": 1,
    "geth pretty": 2,
    "tabs and CRLF": 1,
    "a malformed pledge": "LedgerIntegrityError",
    "escaped key": 1,
    "escaped value": 1,
    "escaped hex in data": 1,
    "escaped key in the envelope": 1,
    "escaped error key": "error",
    "duplicate topics, last wins": "NodeError",  # each occurrence is checked: a bad one refuses the answer
    "duplicate data, last is bad": "LedgerIntegrityError",
    "error": "error",
    "error and result": 1,
    "no result": "NodeError",
    "null result": "NodeError",
    "result twice": 0,
    "non-object element": "NodeError",
    "numbers": 1,
    "number 1e400": 1,
    "number -1e-400": 1,
    "non-ASCII value": 1,
    "non-ASCII escaped": 1,
    "surrogate pair": 1,
    "lone surrogate": "NodeError",
    "control character": "NodeError",
    "invalid UTF-8": 1,  # in a member the decoder skips
    "deep 60": 1,
    "deep 70": 1,
    "deep 2000": 1,  # skipped without recursion
    "truncated": "NodeError",
    "trailing garbage": "NodeError",
    "trailing comma": "NodeError",
    "top-level array": "NodeError",
    "empty body": "NodeError",
    "whitespace body": "NodeError",
    "not JSON": "NodeError",
    "BOM": "NodeError",
    "form feed": "NodeError",
    "NaN": "NodeError",
    "leading zero": "NodeError",
    "bad escape": "NodeError",
}


@pytest.mark.parametrize("name", list(chosen_bodies()))
def test_each_chosen_answer_has_its_outcome(name: str) -> None:
    body = chosen_bodies()[name]
    result = decode(body)
    expected = EXPECTED[name]
    if isinstance(expected, int):
        assert isinstance(result, list) and len(result) == expected, result
        assert_says_what_the_json_says(body, result)
    else:
        assert result == expected


HOSTILE: dict[str, tuple[dict[str, Any], str, str]] = {
    # name: (changes to a good log, error, what the message names)
    "removed": ({"removed": True}, "NodeError", "removed"),
    "logIndex not hex": ({"logIndex": "0xZZ"}, "NodeError", "logIndex"),
    "block number above int64": ({"blockNumber": "0x8000000000000000"}, "NodeError", "int64"),
    "block number of 17 digits": ({"blockNumber": "0x" + "1" * 17}, "NodeError", "blockNumber"),
    "block time past year 9999": ({"blockTimestamp": "0xffffffffffffff"}, "NodeError", "9999"),
    "no topics": ({"topics": None}, "NodeError", "topics"),
    "empty topics": ({"topics": []}, "NodeError", "topics"),
    "injected block hash": (
        {"blockHash": "0x" + "16" * 32 + '","amount":"999999000000000000000000","x":"<img src=x>'},
        "NodeError",
        "blockHash",
    ),
    "short block hash": ({"blockHash": "0x" + "16" * 31}, "NodeError", "blockHash"),
    "address of 39 digits": ({"address": "0x" + "ab" * 19 + "a"}, "NodeError", "address"),
    "odd data": ({"data": "0x123"}, "NodeError", "data"),
    "huge data": ({"data": "0x" + "00" * 32 * 100}, "NodeError", "data"),
    "unknown topic0": (
        {"topics": ["0x" + "99" * 32, "0x" + "00" * 32, "0x" + "00" * 32]},
        "LedgerIntegrityError",
        "topic0",
    ),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_each_hostile_log_stops_with_a_line_naming_what_is_wrong(name: str) -> None:
    changes, error, named = HOSTILE[name]
    log = {**pledge_log(), **changes}
    if log["topics"] is None:
        del log["topics"]
    body = orjson.dumps(answer([pledge_log(4), log]))
    try:
        result: Any = decode_logs(decode_logs_answer(body)["result"])  # type: ignore[index]
    except (NodeError, LedgerIntegrityError) as exc:
        assert type(exc).__name__ == error
        assert named in str(exc), str(exc)
        assert "\n" not in str(exc)
        return
    pytest.fail(f"decoded {result}")


# ------------------------------------------------------------------------------------ random answers


def assert_says_what_the_json_says(body: bytes, entries: list[LedgerEntry]) -> None:
    """Each entry carries its log's place and kind as the JSON spells them (the last duplicate of
    a key wins, as in every JSON reader the project uses)."""
    logs = json.loads(body.decode("utf-8", "replace"))["result"]  # the standard reader: lenient
    assert len(logs) == len(entries)
    for log, entry in zip(logs, entries):
        assert entry.block_number == int(log["blockNumber"], 16)
        assert entry.log_index == int(log["logIndex"], 16)
        assert (
            entry.block_hash == log["blockHash"].lower() and entry.tx_hash == log["transactionHash"].lower()
        )
        assert entry.kind == TOPICS[log["topics"][0].lower()]
        data = log["data"].lower()
        assert entry.head == "0x" + data[-64:]
        timestamp = log.get("blockTimestamp")
        assert entry.block_timestamp == (int(timestamp, 16) if timestamp else None)


@seed(20240611)
@settings(max_examples=3000, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=2**32))
def test_random_answers_end_in_entries_that_say_what_the_json_says_or_a_clear_error(number: int) -> None:
    body, note = random_answer(random.Random(number))
    result = decode(body)  # any other exception fails the test
    if isinstance(result, list):
        assert_says_what_the_json_says(body, result)
    else:
        assert result in ("NodeError", "LedgerIntegrityError", "error"), (result, note)
