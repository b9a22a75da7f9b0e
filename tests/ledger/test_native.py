"""The C speedups (ledger/_speedups.c, imported through ledger.native) against the Python reference
code they shortcut: Keccak-256, the offline replay of NDJSON exports (every edit the audit tests
make and more, at several read chunk sizes, plus a seeded fuzz), the batch decode of eth_getLogs
results and the batch hash-chain check. Every comparison runs the same input both ways and wants
the same result: reports, findings, projections, entries, field types, exceptions and messages."""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest

from ledger import audit as audit_module
from ledger.audit import export as export_module
from ledger import native
from ledger.audit.chain_audit import audit_export
from ledger.core.hashing import HashChain
from ledger.errors import LedgerIntegrityError
from ledger.chain.events import TOPIC_OF, decode_log, decode_logs
from ledger.audit.export import write_export
from ledger.core.hashing import (
    campaign_terms_detail,
    genesis_head,
    keccak256,
    next_head,
    token_detail,
    uint_detail,
)
from ledger.core.projections import apply_entry
from ledger.core.records import ETH, CampaignTerms, Kind, LedgerEntry, Projections
from ledger.audit.replay import Replayer

CHAIN_ID = 31337
CONTRACT = "0x" + "c1" * 20
TOKEN = "0x" + "7e" * 20
ZERO = bytes(32)

needs_native = pytest.mark.skipif(not native.compiled, reason="ledger._speedups is not built")


@contextmanager
def native_path(enabled: bool) -> Iterator[None]:
    """Run with the C speedups on or off (off is the pure-Python reference)."""
    saved = native.available
    native.available = enabled and native.compiled
    try:
        yield
    finally:
        native.available = saved


def outcome(fn: Callable[[], Any]) -> tuple[Any, ...]:
    try:
        return ("ok", fn())
    except Exception as exc:  # noqa: BLE001 - the exception is the outcome compared
        return ("raised", type(exc), str(exc))


def test_the_extension_is_built_and_used() -> None:
    """`pip install -e .` builds ledger._speedups (optional in setup.py, so a failed build only
    shows here); unless CROWDLEDGER_NO_SPEEDUPS is set, the package uses it."""
    assert native.compiled, "ledger._speedups was not built: run `pip install -e .` (needs a C compiler)"
    if not native.disabled:
        assert native.available
        from ledger.core import hashing

        assert hashing.keccak256 is native.keccak256


def test_the_environment_switch_forces_the_python_path() -> None:
    code = (
        "from ledger import native, hashing; "
        "print(native.available, native.compiled, hashing.keccak256 is native.keccak256)"
    )
    env = {**os.environ, "CROWDLEDGER_NO_SPEEDUPS": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["False", str(native.compiled), "False"]


# ------------------------------------------------------------------------------------ keccak


@needs_native
def test_keccak256_matches_pysha3_and_pycryptodome() -> None:
    from Crypto.Hash import keccak as crypto_keccak

    try:
        from sha3 import keccak_256
    except ImportError:  # pragma: no cover - depends on the environment
        keccak_256 = None
    rng = random.Random(1600)
    lengths = list(range(0, 301)) + [135, 136, 137, 271, 272, 273, 1000, 4095, 4096, 4097, 100_000]
    for n in lengths:
        for _ in range(3):
            data = rng.randbytes(n)
            want = crypto_keccak.new(digest_bits=256, data=data).digest()
            assert native.keccak256(data) == want, n
            if keccak_256 is not None:
                assert keccak_256(data).digest() == want
    assert native.keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert native.keccak256(bytearray(b"abc")) == native.keccak256(memoryview(b"xabc")[1:]) == native.keccak256(b"abc")
    with pytest.raises(TypeError):
        native.keccak256("abc")


# ------------------------------------------------------------------------------------ a synthetic ledger


def _hex32(data: bytes) -> str:
    return "0x" + data.hex()


def build_ledger(seed: int, steps: int, *, faults: bool = False) -> list[LedgerEntry]:
    """A ledger with every kind 1-7, chained from genesis, whose amounts cross the u64 and go
    near the uint256 bounds; with `faults`, also entries that chain but do not apply (an unpledge
    beyond the position, a pledge to an unknown campaign, a wrong refund) and campaign ids beyond
    a u64 (whose kind-1 lines the export reader refuses: orjson reads such integers as floats)."""
    rng = random.Random(seed)
    state = Projections()
    head = genesis_head(CHAIN_ID, CONTRACT)
    entries: list[LedgerEntry] = []
    creators = ["0x" + "cc" * 20, "0x" + "cd" * 20]
    backers = ["0x" + keccak256(b"backer %d" % i)[:20].hex() for i in range(9)]
    recipient = "0x" + "fe" * 20
    next_id = [1]

    def amount() -> int:
        return rng.choice([
            0, 1, rng.randrange(1, 10**6), rng.randrange(10**15, 10**20), 2**64 - 1, 2**64,
            rng.randrange(2**64, 2**128), rng.randrange(2**200, 2**220),
        ])

    def add(kind: int, cid: int, account: str, value: int, detail: bytes, terms: CampaignTerms | None = None) -> None:
        nonlocal head
        seq = len(entries) + 1
        head = next_head(head, seq, kind, cid, account, value, detail)
        block = 1 + seq // 3
        timestamp = None if rng.random() < 0.1 else 1_700_000_000 + block
        entry = LedgerEntry(
            seq, kind, cid, account, value, _hex32(detail), _hex32(head), block, _hex32(keccak256(b"%d" % block)),
            _hex32(keccak256(b"tx %d" % seq)), seq % 5, timestamp, terms,
        )
        entries.append(entry)
        try:
            apply_entry(state, entry)
        except LedgerIntegrityError:
            assert faults

    while len(entries) < steps:
        campaigns = state.campaigns
        open_ids = [c for c, v in campaigns.items() if not v.cancelled and not v.claimed]
        held = [(k, p) for k, p in state.positions.items() if p.balance > 0 and not campaigns[k[0]].claimed]
        action = rng.choices(
            ["create", "pledge", "unpledge", "cancel", "claim", "refund", "withdraw", "fault"],
            [1 if len(open_ids) > 2 else 5, 12, 4, 0.4, 0.6, 1.5, 0.4, 0.8 if faults else 0],
        )[0]
        if action == "create" or not campaigns:
            cid = next_id[0] if not faults or rng.random() < 0.9 else 2**64 + next_id[0]
            next_id[0] += 1 + (rng.random() < 0.2) * 300
            token = rng.choice([ETH, TOKEN])
            terms = CampaignTerms(token, rng.randrange(1, 10**20), 2_000_000_000, 0, rng.random() < 0.3,
                                  rng.choice([0, 250, 999]), _hex32(keccak256(b"m %d" % cid)))
            detail = campaign_terms_detail(token, terms.deadline, 0, terms.keep_it_all, terms.fee_bps,
                                           bytes.fromhex(terms.metadata_hash[2:]))
            add(Kind.CAMPAIGN_CREATED, cid, rng.choice(creators), terms.goal, detail, terms)
        elif action == "pledge" and open_ids:
            add(Kind.PLEDGED, rng.choice(open_ids), rng.choice(backers), amount(), ZERO)
        elif action == "unpledge" and held:
            (cid, backer), position = rng.choice(held)
            value = rng.choice([position.balance, 0, rng.randrange(0, position.balance + 1)])
            add(Kind.UNPLEDGED, cid, backer, value, ZERO)
        elif action == "cancel" and open_ids:
            cid = rng.choice(open_ids)
            add(Kind.CANCELLED, cid, campaigns[cid].creator, 0, ZERO)
        elif action == "claim" and open_ids:
            campaign = campaigns[rng.choice(open_ids)]
            fee = -(-campaign.pledged * campaign.fee_bps // 10_000)
            add(Kind.CLAIMED, campaign.campaign_id, campaign.creator, campaign.pledged - fee, uint_detail(fee))
        elif action == "refund":
            refundable = [(k, p) for k, p in held if campaigns[k[0]].cancelled]
            if refundable:
                (cid, backer), position = rng.choice(refundable)
                add(Kind.REFUNDED, cid, backer, position.balance, ZERO)
        elif action == "withdraw":
            owing = [t for t, f in state.fees.items() if f.outstanding > 0]
            if owing:
                token = rng.choice(owing)
                add(Kind.FEES_WITHDRAWN, 0, recipient, state.fees[token].outstanding, token_detail(token))
        elif action == "fault":
            which = rng.choice(["over-unpledge", "unknown campaign", "bad refund"])
            if which == "over-unpledge" and held:
                (cid, backer), position = rng.choice(held)
                add(Kind.UNPLEDGED, cid, backer, position.balance + 1, ZERO)
            elif which == "over-unpledge" and open_ids:  # no position at all
                add(Kind.UNPLEDGED, rng.choice(open_ids), "0x" + "ab" * 20, 5, ZERO)
            elif which == "unknown campaign":
                add(rng.choice([Kind.PLEDGED, Kind.UNPLEDGED]), 424_242, rng.choice(backers), 7, ZERO)
            elif held:
                (cid, backer), position = rng.choice(held)
                add(Kind.REFUNDED, cid, backer, position.balance + 1, ZERO)
    return entries


def export_lines(entries: list[LedgerEntry]) -> list[bytes]:
    """The NDJSON export of `entries`, as `crowdledger export` writes it. orjson stops at 64-bit
    integers, so lines with a campaign id beyond that are spelled with json (the same bytes)."""
    lines = []
    for entry in entries:
        if entry.campaign_id < 2**64:
            out = io.BytesIO()
            write_export([entry], "ndjson", out)
            lines.append(out.getvalue())
        else:
            lines.append(json.dumps(export_module.entry_record(entry), separators=(",", ":")).encode() + b"\n")
    return lines


@pytest.fixture(scope="module")
def ledger_lines() -> list[bytes]:
    return export_lines(build_ledger(seed=7, steps=400))


@pytest.fixture(scope="module")
def faulty_lines() -> list[bytes]:
    return export_lines(build_ledger(seed=8, steps=400, faults=True))


# ------------------------------------------------------------------------------------ offline replay


def replay_both_ways(
    data: bytes, chunk: int | None = None, expect_head: str | None = None, genesis: tuple[int, str] = (CHAIN_ID, CONTRACT)
) -> tuple[Any, Any, int]:
    """audit_export on `data` with and without the C fast path; the outcome of each (the report,
    the replayer's state, counters and head, or the exception) and how many entries the Python
    `feed` saw on the native run."""

    def run(enabled: bool) -> tuple[Any, int]:
        made: list[Replayer] = []
        fed = [0]

        class Recording(Replayer):
            @classmethod
            def from_genesis(cls, chain_id: int, contract: str) -> Replayer:
                replayer = super().from_genesis(chain_id, contract)
                made.append(replayer)
                return replayer

            def feed(self, entry: LedgerEntry, line: int | None = None) -> None:
                fed[0] += 1
                super().feed(entry, line)

        def go() -> Any:
            report = audit_export(io.BytesIO(data), *genesis, expect_head=expect_head)
            replayer = made[0]
            return (
                report.to_dict(), report.findings, replayer.state, replayer.entries, replayer.last_block,
                replayer.chain.head, replayer.chain.length,
            )

        with native_path(enabled), mock.patch.object(audit_module, "Replayer", Recording), \
                mock.patch.object(export_module, "_CHUNK", chunk or export_module._CHUNK):
            return outcome(go), fed[0]

    with_c, fed = run(True)
    python, _ = run(False)
    return with_c, python, fed


def assert_same_replay(data: bytes, **kw: Any) -> tuple[Any, int]:
    for chunk in (None, 64, 1000):
        with_c, python, fed = replay_both_ways(data, chunk=chunk, **kw)
        assert with_c == python
    return python, fed


def head_of(lines: list[bytes]) -> str:
    return json.loads(lines[-1])["head"]


def _line_of_kind(lines: list[bytes], kind: int, start: int = 0) -> int:
    """The first line of `kind` from `start` on (or else the last before it)."""
    found = [i for i in range(1, len(lines) - 1) if json.loads(lines[i])["kind"] == kind]
    return next((i for i in found if i >= start), found[-1])


def _set(line: bytes, key: str, raw_value: bytes) -> bytes:
    """`line` with field `key`'s value replaced by `raw_value`, keeping the canonical spelling."""
    marker = b'"' + key.encode() + b'":'
    start = line.index(marker) + len(marker)
    end = start
    if line[start:start + 1] == b'"':
        end = line.index(b'"', start + 1) + 1
    else:
        while line[end:end + 1] not in (b",", b"}"):
            end += 1
    return line[:start] + raw_value + line[end:]


def _json(line: bytes, **changes: Any) -> bytes:
    record = json.loads(line)
    record.update(changes)
    return json.dumps(record).encode() + b"\n"


@needs_native
def test_a_clean_export_replays_the_same_and_mostly_in_c(ledger_lines: list[bytes]) -> None:
    python, fed = assert_same_replay(b"".join(ledger_lines), expect_head=head_of(ledger_lines))
    assert python[0] == "ok"
    report = python[1][0]
    assert report["ok"] and report["ledger_length"] == len(ledger_lines)
    pledges = sum(json.loads(line)["kind"] in (2, 3) for line in ledger_lines)
    assert fed <= len(ledger_lines) - pledges * 0.8, "the C fast path replayed few of the pledge lines"


@needs_native
def test_faulty_entries_give_the_same_findings(faulty_lines: list[bytes]) -> None:
    python, _ = assert_same_replay(b"".join(faulty_lines), expect_head=head_of(faulty_lines))
    codes = {f["code"] for f in python[1][0]["findings"]}
    assert codes == {"invalid_entry", "bad_line", "seq_gap"}
    messages = " ".join(f["message"] for f in python[1][0]["findings"])
    assert "unpledges more than" in messages and "which no earlier entry created" in messages


def _edits(lines: list[bytes]) -> dict[str, list[bytes]]:
    """Every way an export gets edited, damaged or re-spelled; each keeps the other lines."""
    pledge = _line_of_kind(lines, 2, 40)
    unpledge = _line_of_kind(lines, 3, 40)
    last = len(lines) - 1
    amount = int(json.loads(lines[pledge])["amount"])
    cases: dict[str, list[bytes]] = {}

    def case(name: str, at: int | None = None, replacement: list[bytes] | None = None) -> None:
        edited = list(lines)
        if at is not None:
            edited[at:at + 1] = replacement or []
        cases[name] = edited

    case("amount altered, canonical spelling", pledge, [_set(lines[pledge], "amount", b'"%d"' % (amount + 1))])
    case("amount altered, json.dumps spelling", pledge, [_json(lines[pledge], amount=str(amount + 1))])
    case("amount with leading zeros", pledge, [_set(lines[pledge], "amount", b'"000%d"' % amount)])
    case("seq with leading zeros", pledge, [_set(lines[pledge], "seq", b"00%d" % (pledge + 1))])
    case("campaign id with leading zeros", unpledge,
         [_set(lines[unpledge], "campaign_id", b"0" + _field(lines[unpledge], "campaign_id"))])
    case("kind spelled 02", pledge, [_set(lines[pledge], "kind", b"02")])
    case("head altered", pledge, [_set(lines[pledge], "head", b'"0x' + b"ab" * 32 + b'"')])
    case("detail altered", unpledge, [_set(lines[unpledge], "detail", b'"0x' + b"00" * 31 + b'01"')])
    case("head in capitals", pledge, [lines[pledge].replace(b'"head":"0x', b'"head":"0X')])
    case("account in capitals", pledge, [_json(lines[pledge], account=json.loads(lines[pledge])["account"].upper()
                                               .replace("0X", "0x"))])
    case("dropped", pledge, [])
    case("inserted", pledge, [lines[pledge], lines[pledge]])
    case("repeated earlier line", pledge, [lines[pledge], lines[pledge - 5]])
    edited = list(lines)
    edited[pledge], edited[pledge + 1] = edited[pledge + 1], edited[pledge]
    cases["swapped pair"] = edited
    case("extra spaces", pledge, [_json(lines[pledge])])
    case("space before the line end", pledge, [lines[pledge][:-1] + b" \n"])
    record = json.loads(lines[unpledge])
    case("other key order", unpledge, [json.dumps(dict(reversed(list(record.items()))),
                                                  separators=(",", ":")).encode() + b"\n"])
    case("timestamp null", pledge, [_set(lines[pledge], "block_timestamp", b"null")])
    case("timestamp as a string", pledge, [_set(lines[pledge], "block_timestamp", b'"1700000000"')])
    case("block number beyond u64", pledge, [_set(lines[pledge], "block_number", b"%d" % 2**70)])
    case("seq beyond u64", pledge, [_set(lines[pledge], "seq", b"%d" % 2**64)])
    case("amount beyond uint256", pledge, [_set(lines[pledge], "amount", b'"%d"' % 2**256)])
    case("amount of 80 digits", pledge, [_set(lines[pledge], "amount", b'"' + b"9" * 80 + b'"')])
    case("blank lines", pledge, [b"\n", b"   \n", b"\r\n", b"\t\n", lines[pledge], b"\n"])
    case("garbage line", pledge, [b"not json at all\n", lines[pledge]])
    case("a JSON array line", pledge, [b"[1, 2]\n", lines[pledge]])
    case("trailing garbage after the object", pledge, [lines[pledge][:-1] + b"x\n"])
    case("a lone carriage return", pledge, [lines[pledge][:-1] + b"\r\r\n"])
    case("a carriage return inside", pledge, [lines[pledge].replace(b",", b",\r", 1)])
    case("a line cut short", pledge, [lines[pledge][:100] + b"\n"])
    case("a field missing", pledge, [_json(lines[pledge], log_index=None)])
    cases["truncated last line"] = lines[:-1] + [lines[last][: len(lines[last]) // 2]]
    cases["no line end at the end"] = lines[:-1] + [lines[last][:-1]]
    cases["a carriage return at the very end"] = lines[:-1] + [lines[last][:-1] + b"\r"]
    cases["CRLF line ends"] = [line[:-1] + b"\r\n" for line in lines]
    cases["mixed line ends"] = [line[:-1] + b"\r\n" if i % 3 == 0 else line for i, line in enumerate(lines)]
    cases["blank first line (read as CSV)"] = [b"\n"] + lines
    cases["whitespace before the first line"] = [b"  " + lines[0]] + lines[1:]
    cases["empty file"] = []
    cases["only blank lines"] = [b"\n", b"\n"]
    return cases


def _field(line: bytes, key: str) -> bytes:
    return str(json.loads(line)[key]).encode()


@needs_native
def test_every_edit_replays_the_same_both_ways(ledger_lines: list[bytes]) -> None:
    for name, lines in _edits(ledger_lines).items():
        for expect in (None, head_of(ledger_lines)):
            with_c, python, _ = replay_both_ways(b"".join(lines), expect_head=expect)
            assert with_c == python, name
            with_c, python, _ = replay_both_ways(b"".join(lines), chunk=97, expect_head=expect)
            assert with_c == python, f"{name} (97-byte chunks)"


@needs_native
def test_the_edits_are_found(ledger_lines: list[bytes]) -> None:
    """The edits above are real faults the replay names (so the comparisons compare something)."""
    edits = _edits(ledger_lines)
    expected = {
        "amount altered, canonical spelling": {"head_mismatch"},
        "dropped": {"seq_gap"},
        "inserted": {"seq_out_of_order"},
        "garbage line": {"bad_line"},
        "amount with leading zeros": set(),
        "CRLF line ends": set(),
        "blank lines": set(),
    }
    for name, codes in expected.items():
        with_c, python, _ = replay_both_ways(b"".join(edits[name]))
        assert with_c == python
        found = {f["code"] for f in python[1][0]["findings"]}
        assert codes <= found and (codes or not found), (name, found)
    with_c, python, _ = replay_both_ways(b"".join(edits["amount beyond uint256"]))
    assert with_c == python and python[:2] == ("raised", OverflowError)


@needs_native
def test_random_damage_replays_the_same_both_ways() -> None:
    """A seeded fuzz: byte edits, cuts, duplicated and dropped lines, stray whitespace."""
    lines = export_lines(build_ledger(seed=21, steps=60, faults=True))
    data = b"".join(lines)
    rng = random.Random(2024)
    alphabet = b'0123456789abcdefABx"{}:, \r\n'
    for _ in range(250):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(damaged))
            how = rng.random()
            if how < 0.4:
                damaged[at] = rng.choice(alphabet)
            elif how < 0.55:
                del damaged[at]
            elif how < 0.7:
                damaged[at:at] = bytes([rng.choice(alphabet)])
            elif how < 0.85:  # duplicate or drop the line around `at`
                start = damaged.rfind(b"\n", 0, at) + 1
                end = damaged.find(b"\n", at) + 1 or len(damaged)
                if rng.random() < 0.5:
                    damaged[start:start] = damaged[start:end]
                else:
                    del damaged[start:end]
            else:
                del damaged[at:]
        chunk = rng.choice([None, 1, 50, 300])
        with_c, python, _ = replay_both_ways(bytes(damaged), chunk=chunk)
        assert with_c == python, bytes(damaged)


class _ReadOnly:
    """A stream with only readline and read (no readinto), as some file-likes are."""

    def __init__(self, data: bytes) -> None:
        self._stream = io.BytesIO(data)

    def readline(self) -> bytes:
        return self._stream.readline()

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)


@needs_native
def test_streams_without_readinto_and_long_lines(ledger_lines: list[bytes]) -> None:
    lines = list(ledger_lines)
    lines[50] = b" " * 5000 + lines[50]  # a line longer than the read chunk below
    data = b"".join(lines)
    results = []
    for enabled, stream in ((True, _ReadOnly(data)), (True, io.BytesIO(data)), (False, io.BytesIO(data))):
        with native_path(enabled), mock.patch.object(export_module, "_CHUNK", 1000):
            results.append(audit_export(stream, CHAIN_ID, CONTRACT).to_dict())
    assert results[0] == results[1] == results[2] and results[0]["ok"]


@needs_native
def test_state_already_in_the_projections_is_respected() -> None:
    """feed_ndjson applies onto whatever state a replay holds, exactly as feed would."""
    entries = build_ledger(seed=5, steps=200)
    data = b"".join(export_lines(entries))
    results = []
    for enabled in (True, False):
        with native_path(enabled):
            replayer = Replayer.from_genesis(CHAIN_ID, CONTRACT)
            for number, item in export_module.read_export(io.BytesIO(data), fast=replayer.feed_ndjson):
                replayer.feed(item, line=number)
            results.append((replayer.state, replayer.entries, replayer.last_block, replayer.chain.head,
                            replayer.findings))
    assert results[0] == results[1]
    state = results[0][0]
    assert any(p.balance == 0 and p.unpledged_total for p in state.positions.values())  # 0 -> >0 -> 0
    assert any(c.backer_count > 1 for c in state.campaigns.values())


# ------------------------------------------------------------------------------------ decode_logs


def raw_log(entry: LedgerEntry, **changes: Any) -> dict[str, Any]:
    """The eth_getLogs dict of a Pledged/Unpledged/Refunded entry."""
    raw: dict[str, Any] = {
        "address": CONTRACT,
        "topics": [TOPIC_OF[Kind(entry.kind)], "0x" + entry.campaign_id.to_bytes(32, "big").hex(),
                   "0x" + "00" * 12 + entry.account[2:]],
        "data": "0x" + entry.amount.to_bytes(32, "big").hex() + entry.seq.to_bytes(32, "big").hex() + entry.head[2:],
        "blockNumber": hex(entry.block_number),
        "blockHash": entry.block_hash,
        "transactionHash": entry.tx_hash,
        "transactionIndex": "0x0",
        "logIndex": hex(entry.log_index),
        "removed": False,
    }
    if entry.block_timestamp is not None:
        raw["blockTimestamp"] = hex(entry.block_timestamp)
    raw.update(changes)
    return raw


def _typed(entries: Any) -> Any:
    return [(tuple(e), [type(v) for v in e], type(e)) for e in entries]


def assert_same_decode(logs: list[Any]) -> tuple[Any, ...]:
    with native_path(True):
        with_c = outcome(lambda: _typed(decode_logs(logs)))
    python = outcome(lambda: _typed([decode_log(raw) for raw in logs]))
    with native_path(False):
        assert outcome(lambda: _typed(decode_logs(logs))) == python
    assert with_c == python, logs
    return python


@pytest.fixture(scope="module")
def pledge_entries() -> list[LedgerEntry]:
    return [e for e in build_ledger(seed=3, steps=300) if e.kind in (Kind.PLEDGED, Kind.UNPLEDGED, Kind.REFUNDED)]


@needs_native
def test_decode_logs_equals_decode_log(pledge_entries: list[LedgerEntry]) -> None:
    logs = [raw_log(e) for e in pledge_entries]
    result = assert_same_decode(logs)
    assert result[0] == "ok" and len(result[1]) == len(logs)
    decoded = decode_logs(logs)
    assert [e[:7] for e in decoded] == [e[:7] for e in pledge_entries]
    assert all(type(e.kind) is Kind for e in decoded)
    assert any(e.amount >= 2**64 for e in decoded) and any(e.block_timestamp is None for e in decoded)


def _variants(entry: LedgerEntry) -> dict[str, dict[str, Any]]:
    raw = raw_log(entry)
    topics, data = raw["topics"], raw["data"]
    big = entry._replace(seq=2**64 + 5, campaign_id=2**255 + 3, amount=2**256 - 1)
    return {
        "as is": raw,
        "capital hex": raw_log(entry, data=data.upper().replace("0X", "0x"), topics=[topics[0]] + [
            t.upper().replace("0X", "0x") for t in topics[1:]]),
        "0X prefixes": raw_log(entry, blockNumber=raw["blockNumber"].replace("0x", "0X"), logIndex="0X0"),
        "numbers without a prefix": raw_log(entry, blockNumber=raw["blockNumber"][2:], logIndex="7"),
        "numbers with leading zeros": raw_log(entry, blockNumber="0x000" + raw["blockNumber"][2:]),
        "huge numbers": raw_log(big),
        "no timestamp": {k: v for k, v in raw.items() if k != "blockTimestamp"},
        "timestamp None": raw_log(entry, blockTimestamp=None),
        "timestamp empty": raw_log(entry, blockTimestamp=""),
        "timestamp 0x0": raw_log(entry, blockTimestamp="0x0"),
        "timestamp 0": raw_log(entry, blockTimestamp=0),
        "timestamp an int": raw_log(entry, blockTimestamp=1_700_000_000),
        "timestamp 0x": raw_log(entry, blockTimestamp="0x"),
        "block number an int": raw_log(entry, blockNumber=entry.block_number),
        "block number 0x": raw_log(entry, blockNumber="0x"),
        "block number with space": raw_log(entry, blockNumber=" " + raw["blockNumber"]),
        "block number with underscore": raw_log(entry, blockNumber="0x1_0"),
        "block number signed": raw_log(entry, blockNumber="-0x10"),
        "block number of 70 digits": raw_log(entry, blockNumber="0x" + "1" * 70),
        "non-ASCII digit": raw_log(entry, logIndex="0x\u0661"),
        "non-hex in the amount": raw_log(entry, data=data[:10] + "zz" + data[12:]),
        "underscore in the seq": raw_log(entry, data=data[:100] + "_" + data[101:]),
        "non-hex in the head": raw_log(entry, data=data[:-2] + "zz"),
        "no 0x on the data": raw_log(entry, data="zz" + data[2:]),
        "non-ASCII data": raw_log(entry, data=data[:-1] + "\u00e9"),
        "data a word short": raw_log(entry, data=data[:-64]),
        "data a word long": raw_log(entry, data=data + "00" * 32),
        "four topics": raw_log(entry, topics=topics + [topics[1]]),
        "two topics": raw_log(entry, topics=topics[:2]),
        "no topics": raw_log(entry, topics=[]),
        "topics a tuple": raw_log(entry, topics=tuple(topics)),
        "topic0 in capitals": raw_log(entry, topics=[topics[0].upper()] + topics[1:]),
        "unknown topic0": raw_log(entry, topics=["0x" + "12" * 32] + topics[1:]),
        "short account topic": raw_log(entry, topics=topics[:2] + ["0xabc"]),
        "long account topic": raw_log(entry, topics=topics[:2] + [topics[2] + "ff"]),
        "campaign topic with spaces": raw_log(entry, topics=[topics[0], " " + topics[1], topics[2]]),
        "campaign topic an int": raw_log(entry, topics=[topics[0], entry.campaign_id, topics[2]]),
        "account topic bytes": raw_log(entry, topics=topics[:2] + [bytes(32)]),
        "hashes not strings": raw_log(entry, blockHash=None, transactionHash=b"\x01" * 32),
    }


@needs_native
def test_decode_logs_on_every_variant(pledge_entries: list[LedgerEntry]) -> None:
    seen = set()
    for entry in pledge_entries[:6]:
        variants = _variants(entry)
        for name, raw in variants.items():
            result = assert_same_decode([raw])
            seen.add((name, result[0]))
            missing = {k: v for k, v in raw.items() if k != "logIndex"}
            assert_same_decode([missing])
        # one list: the first bad log raises, as the list comprehension would
        assert_same_decode(list(variants.values()))
    assert ("as is", "ok") in seen and ("data a word short", "raised") in seen


@needs_native
def test_decode_logs_other_kinds_and_containers(pledge_entries: list[LedgerEntry]) -> None:
    from collections import OrderedDict

    entry = pledge_entries[0]
    raw = raw_log(entry)
    claimed = dict(raw, topics=[TOPIC_OF[Kind.CLAIMED]] + raw["topics"][1:], data=raw["data"] + "00" * 31 + "07")
    cancelled = dict(raw, topics=[TOPIC_OF[Kind.CANCELLED]] + raw["topics"][1:], data="0x" + raw["data"][66:])
    logs = [raw, claimed, OrderedDict(raw), cancelled, raw_log(pledge_entries[1])]
    assert assert_same_decode(logs)[0] == "ok"
    assert assert_same_decode(tuple(logs))[0] == "ok"
    assert assert_same_decode([])[1] == []
    assert assert_same_decode([raw, None])[0] == "raised"


# ------------------------------------------------------------------------------------ append_many


def chain_both_ways(
    entries: Any, make: Callable[[Any], Any] = list, chain_id: int = CHAIN_ID, contract: str = CONTRACT
) -> tuple[Any, Any]:
    """HashChain.append_many in C, and `append` entry by entry: (outcome, head, length) of each."""
    results = []
    for enabled in (True, False):
        chain = HashChain.genesis(chain_id, contract)

        def one_by_one() -> None:
            for entry in make(entries):
                chain.append(entry)

        with native_path(enabled):
            result = outcome(lambda: chain.append_many(make(entries))) if enabled else outcome(one_by_one)
        results.append((result, chain.head, chain.length))
    return results[0], results[1]


@needs_native
def test_append_many_equals_append() -> None:
    entries = build_ledger(seed=9, steps=300)
    with_c, python = chain_both_ways(entries)
    assert with_c == python and python[0] == ("ok", None) and python[2] == len(entries)
    assert chain_both_ways(entries, make=tuple)[0] == python
    assert chain_both_ways(entries, make=lambda e: (x for x in e))[0] == python
    assert chain_both_ways([])[0][2] == 0


@needs_native
def test_append_many_stops_at_the_first_fault_with_the_same_error() -> None:
    entries = build_ledger(seed=10, steps=120)
    at = 57
    entry = entries[at]
    broken: dict[str, list[Any]] = {
        "gap": entries[:at] + entries[at + 1:],
        "repeat": entries[:at] + [entries[at - 1]] + entries[at:],
        "altered amount": entries[:at] + [entry._replace(amount=entry.amount + 1)] + entries[at + 1:],
        "altered head": entries[:at] + [entry._replace(head="0x" + "ab" * 32)] + entries[at + 1:],
        "head in capitals": entries[:at] + [entry._replace(head=entry.head.upper())] + entries[at + 1:],
        "head without 0x": entries[:at] + [entry._replace(head="zz" + entry.head[2:])] + entries[at + 1:],
        "head as bytes": entries[:at] + [entry._replace(head=bytes.fromhex(entry.head[2:]))] + entries[at + 1:],
        "account in capitals": entries[:at] + [entry._replace(account="0x" + entry.account[2:].upper())]
        + entries[at + 1:],
        "account with spaces": entries[:at] + [entry._replace(account="0x" + " ".join(
            entry.account[i:i + 2] for i in range(2, 42, 2)))] + entries[at + 1:],
        "negative amount": entries[:at] + [entry._replace(amount=-1)] + entries[at + 1:],
        "amount of 2**256": entries[:at] + [entry._replace(amount=2**256)] + entries[at + 1:],
        "kind an int": entries[:at] + [entry._replace(kind=int(entry.kind))] + entries[at + 1:],
        "seq a float": entries[:at] + [entry._replace(seq=float(entry.seq))] + entries[at + 1:],
        "a plain tuple": entries[:at] + [tuple(entry)] + entries[at + 1:],
        "seq beyond u64": entries[:at] + [entry._replace(seq=2**64)] + entries[at + 1:],
    }
    for name, run in broken.items():
        with_c, python = chain_both_ways(run)
        assert with_c == python, name
    assert chain_both_ways(broken["gap"])[1][0][:2] == ("raised", LedgerIntegrityError)
    assert chain_both_ways(broken["gap"])[1][2] == at
    assert chain_both_ways(broken["kind an int"])[1][0] == ("ok", None)


# ------------------------------------------------------------------------------------ a real chain


@pytest.fixture(scope="module")
def history() -> Iterator[Any]:
    from tests.support.chain import random_history_chain

    with random_history_chain(seed=5, steps=80) as chain:
        yield chain


@needs_native
def test_real_logs_decode_and_chain_the_same(history: Any) -> None:
    from ledger.chain.events import LEDGER_TOPICS_FILTER
    from ledger.chain.rpc import RpcClient

    rpc = RpcClient(history.url)
    every_log = rpc.get_logs(history.address, history.deployment.block, history.w3.eth.block_number)
    assert assert_same_decode(every_log)[:2] == ("raised", LedgerIntegrityError)  # OwnershipTransferred & co
    logs = rpc.get_logs(history.address, history.deployment.block, history.w3.eth.block_number, LEDGER_TOPICS_FILTER)
    assert len(logs) > 50
    python = assert_same_decode(logs)
    assert python[0] == "ok"
    entries = decode_logs(logs)
    with_c, py_chain = chain_both_ways(entries, chain_id=history.deployment.chain_id, contract=history.address.lower())
    assert with_c == py_chain and py_chain[2] == len(entries)
    assert py_chain[1] == "0x" + history.escrow.functions.ledgerHead().call().hex()

    # its export, clean and with each of the audit tests' edits, replays the same both ways
    lines = export_lines(entries)
    head = py_chain[1]
    genesis = (history.deployment.chain_id, history.address)
    with_c_run, python_run, _ = replay_both_ways(b"".join(lines), expect_head=head, genesis=genesis)
    assert with_c_run == python_run and python_run[1][0]["ok"]
    kinds = {json.loads(line)["kind"] for line in lines[1:-1]}
    assert {2, 3} <= kinds
    for name, edited in _edits(lines).items():
        with_c_run, python_run, _ = replay_both_ways(b"".join(edited), expect_head=head, genesis=genesis)
        assert with_c_run == python_run, name


# ----------------------------------------------------------------------------- batch rows

U256_EDGES = [0, 1, 7, 2**63 - 1, 2**63, 2**64 - 1, 2**64, 10**30, 2**256 - 1]


def batch_entries() -> list[LedgerEntry]:
    """Entries of every shape entry_rows meets: kinds as IntEnum and as int, blocks either side of
    the final block, amounts across the uint256 range, a block time and none."""
    entries = []
    for i, amount in enumerate(U256_EDGES * 2):
        kind = Kind.PLEDGED if i % 3 else int(Kind.UNPLEDGED)
        entries.append(LedgerEntry(
            seq=i + 1, kind=kind, campaign_id=i % 4 + 1, account="0x" + f"{i:02x}" * 20, amount=amount,
            detail="0x" + f"{i:02x}" * 32, head="0x" + f"{i + 100:02x}" * 32, block_number=90 + i,
            block_hash="0x" + f"{i + 50:02x}" * 32, tx_hash="0x" + f"{i + 60:02x}" * 32, log_index=i % 5,
            block_timestamp=None if i % 4 == 0 else 1_700_000_000 + i,
        ))
    return entries


@needs_native
@pytest.mark.parametrize("to_u256", ["sqlite", "postgresql"])
def test_entry_rows_are_the_same_both_ways(to_u256: str) -> None:
    from ledger.db.store import entry_rows
    from ledger.db.types import to_sqlite_u256

    encode = to_sqlite_u256 if to_u256 == "sqlite" else int
    entries = batch_entries()
    with native_path(True):
        fast = entry_rows(entries, 100, encode)
    with native_path(False):
        reference = entry_rows(entries, 100, encode)
    assert native.entry_rows(entries, 100, [r[-1] for r in reference], LedgerEntry, encode is to_sqlite_u256) == fast
    assert fast == reference
    assert [[type(v) for v in row] for row in fast] == [[type(v) for v in row] for row in reference]
    assert {row[12] for row in fast} == {True, False}  # blocks either side of the final block


@needs_native
@pytest.mark.parametrize("amount", [-1, 2**256, None, "12"], ids=["negative", "too-wide", "none", "str"])
def test_entry_rows_leave_what_they_do_not_take_to_python(amount: Any) -> None:
    from ledger.db.store import entry_rows
    from ledger.db.types import to_sqlite_u256

    entries = batch_entries()
    entries[3] = entries[3]._replace(amount=amount)
    assert native.entry_rows(entries, 100, [""] * len(entries), LedgerEntry, True) is None
    with native_path(True):
        fast = outcome(lambda: entry_rows(entries, 100, to_sqlite_u256))
    with native_path(False):
        reference = outcome(lambda: entry_rows(entries, 100, to_sqlite_u256))
    assert fast == reference and fast[0] == "raised"


@needs_native
def test_projection_rows_are_the_same_both_ways() -> None:
    from dataclasses import fields

    from ledger.db.store import _U256, _FastSql
    from ledger.core.records import Campaign, Position

    positions = [
        Position(campaign_id=i + 1, backer="0x" + f"{i:02x}" * 20, balance=amount, pledged_total=U256_EDGES[-1 - i],
                 unpledged_total=amount, refunded_total=0, first_seq=i, last_seq=i + 1)
        for i, amount in enumerate(U256_EDGES)
    ]
    campaign = Campaign(
        campaign_id=1, creator="0x" + "ab" * 20, token=ETH, goal=2**200, deadline=1_800_000_000,
        max_per_backer=0, keep_it_all=True, fee_bps=250, metadata_hash="0x" + "00" * 32, created_seq=1,
        created_block=5, created_timestamp=None, last_seq=9, pledged=10**18,
    )
    sql = _FastSql("sqlite")
    for records in ({p.backer: p for p in positions}.values(), [campaign]):
        names = [f.name for f in fields(next(iter(records)))]
        with native_path(True):
            fast = sql.rows(records, names)
        with native_path(False):
            reference = sql.rows(records, names)
        assert native.record_rows(records, tuple(names), tuple(n in _U256 for n in names)) == fast  # not declined
        assert fast == reference
        assert [[type(v) for v in row] for row in fast] == [[type(v) for v in row] for row in reference]


@needs_native
@pytest.mark.parametrize("balance", [-1, 2**256, None], ids=["negative", "too-wide", "none"])
def test_projection_rows_leave_what_they_do_not_take_to_python(balance: Any) -> None:
    from dataclasses import fields

    from ledger.db.store import _FastSql
    from ledger.core.records import Position

    records = [Position(campaign_id=1, backer="0x" + "01" * 20), Position(campaign_id=2, backer="0x" + "02" * 20)]
    records[1].balance = balance
    names = [f.name for f in fields(Position)]
    assert native.record_rows(records, tuple(names), tuple(n == "balance" for n in names)) is None
    sql = _FastSql("sqlite")
    with native_path(True):
        fast = outcome(lambda: sql.rows(records, names))
    with native_path(False):
        reference = outcome(lambda: sql.rows(records, names))
    assert fast == reference and fast[0] == "raised"
