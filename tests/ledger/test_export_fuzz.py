"""The offline audit never crashes on its input (issue 19): whatever the bytes of an "export",
`read_export` and `audit_export` end in a report, every malformed line a finding with its line
number. Random files fuzzed with Hypothesis (a fixed seed, no example database, bounded), and the
inputs that once broke it."""

from __future__ import annotations

import io
import json
import random

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from ledger.audit.export import FIELDS, write_export
from ledger.audit.export_reader import BadLine, read_export
from ledger.audit.offline import audit_export
from ledger.core.hashing import HashChain, entry_terms_detail
from ledger.core.records import ETH, CampaignTerms, Kind, LedgerEntry, MilestonePlanTerms, TrancheTerms

CHAIN_ID, CONTRACT = 31337, "0x" + "e5" * 20
ACCOUNT = "0x" + "a1" * 20
ZERO = "0x" + "00" * 32


def chained(count: int = 4) -> list[LedgerEntry]:
    """A valid little ledger: a campaign created (with its terms) and pledged to."""
    chain = HashChain.genesis(CHAIN_ID, CONTRACT)
    terms = CampaignTerms(ETH, 10**18, 2_000_000_000, 0, False, 250, "0x" + "42" * 32)
    entries = []
    for seq in range(1, count + 1):
        kind, amount, detail = (
            (Kind.CAMPAIGN_CREATED, terms.goal, "0x" + entry_terms_detail(terms).hex())
            if seq == 1
            else (Kind.PLEDGED, 10**17 * seq, ZERO)
        )
        draft = LedgerEntry(
            seq,
            kind,
            1,
            ACCOUNT,
            amount,
            detail,
            ZERO,
            seq,
            "0x" + "bb" * 32,
            "0x" + f"{seq:064x}",
            0,
            1_700_000_000 + seq,
            terms if seq == 1 else None,
        )
        entry = draft._replace(head=chain.expected_head(draft))
        chain.append(entry)
        entries.append(entry)
    return entries


def exported(entries: list[LedgerEntry], fmt: str = "ndjson") -> bytes:
    out = io.BytesIO()
    write_export(entries, fmt, out)
    return out.getvalue()


def audited(data: bytes, expect_head: str | None = None):  # type: ignore[no-untyped-def]
    report = audit_export(io.BytesIO(data), CHAIN_ID, CONTRACT, expect_head=expect_head)
    for finding in report.findings:  # every finding names its line, or is about the whole file
        assert finding.line is not None or finding.code in ("final_head_mismatch", "bad_line")
        assert "\n" not in finding.message
    return report


# ------------------------------------------------------------------------------------ fuzzing

# the values at the edges of what a field holds: uint256 and int64 bounds, digits that are not
# ASCII, kinds whose lines carry terms, lists where numbers go
EDGES = [
    0,
    1,
    7,
    8,
    11,
    14,
    15,
    16,
    255,
    256,
    -1,
    2**63 - 1,
    2**63,
    2**64,
    2**256 - 1,
    2**256,
    "9" * 78,
    "9" * 79,
    str(2**256),
    "0" * 78,
    "٣",
    "1_000",
    " 12",
    "",
    None,
    True,
    [],
    [2**16],
    [5000, 5000],
    "5000;5000",
    "0x" + "ab" * 32,
    "0x" + "AB" * 20,
    "0xzz",
    {"a": 1},
    1.5,
    "NaN",
]
# numbers and terms are where a line can pass the shape checks and still be wrong: picked thrice as often
NUMBERS = [
    "seq",
    "kind",
    "campaign_id",
    "amount",
    "block_number",
    "block_timestamp",
    "log_index",
    "goal",
    "deadline",
    "max_per_backer",
    "fee_bps",
    "tranche_bps",
    "voting_period",
    "tranche",
    "fee",
]
PICKS = [*FIELDS, "extra", *NUMBERS, *NUMBERS]


def dumps(value: object) -> bytes:
    """JSON as an export writes it (big integers included)."""
    return json.dumps(value, separators=(",", ":")).encode()


LINES = [json.loads(line) for line in exported(chained()).splitlines()]


def mutated(rng: random.Random) -> bytes:
    """The little export with a line or more broken: a field or two dropped or replaced by an edge
    value, a line cut short, raw bytes, or the whole file as CSV with bytes spliced in."""
    lines = [dict(line) for line in LINES]
    raw: dict[int, bytes] = {}
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        where = rng.choice([0, 0, *range(len(lines))])  # the kind-1 line, with its terms, often
        how = rng.choice(["fields"] * 8 + ["bytes", "truncate"])
        if how == "bytes":
            raw[where] = bytes(rng.randrange(256) for _ in range(rng.randrange(200))).replace(b"\n", b" ")
            continue
        for name in rng.sample(PICKS, rng.choice([1, 1, 2])):
            if rng.random() < 0.15:
                lines[where].pop(name, None)
            else:
                lines[where][name] = rng.choice(EDGES)
        if how == "truncate":
            text = dumps(lines[where])
            raw[where] = text[: rng.randrange(len(text) + 1)]
    body = b"\n".join(raw.get(i, dumps(line)) for i, line in enumerate(lines))
    body += rng.choice([b"", b"\n", b"\r\n", b"\n\n  \n"])
    if rng.random() < 0.3:  # the same rows as CSV
        body = _as_csv(body, bytes(rng.randrange(256) for _ in range(rng.randrange(4))), rng)
    return body


@seed(20_201)
@settings(max_examples=3000, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=2**64))
def test_no_file_crashes_the_offline_audit(case: int) -> None:
    rng = random.Random(case)
    body = mutated(rng)
    report = audited(body, expect_head=rng.choice([None, LINES[-1]["head"], ZERO]))
    assert report.entries <= len(LINES)
    list(read_export(io.BytesIO(body)))


def _as_csv(body: bytes, noise: bytes, rng: random.Random) -> bytes:
    entries = [item for _, item in read_export(io.BytesIO(body)) if not isinstance(item, BadLine)]
    text = exported(entries, "csv")
    cut = rng.randrange(len(text) + 1)
    return text[:cut] + noise + text[cut:]


# ------------------------------------------------------------------------------------ regressions


def with_first_line(**changes: object) -> bytes:
    """The little export with its first line's fields changed."""
    return b"\n".join([dumps({**LINES[0], **changes}), *(dumps(line) for line in LINES[1:])])


def test_a_clean_little_export_is_consistent() -> None:
    report = audited(exported(chained()), expect_head=LINES[-1]["head"])
    assert report.ok and report.complete_proven


def test_a_file_of_lines_none_of_which_is_an_entry_is_not_an_export() -> None:
    for body in (b'{"a": 1}\n{"b": 2}\n', b"\x89PNG\r\n\x1a\n\x00\x00", b"hello, world\nand more, lines\n"):
        report = audited(body)
        assert report.findings[0].message.startswith("not an export:"), report.findings
        assert "CSV header lacks" not in report.findings[0].message


def test_a_leading_zero_kind_without_the_campaign_fields_is_a_bad_line() -> None:
    line = {k: v for k, v in LINES[0].items() if k not in ("token", "goal", "deadline", "metadata_hash")}
    raw = dumps(line).replace(b'"kind":1', b'"kind":01')
    report = audited(raw + b"\n" + b"\n".join(dumps(x) for x in LINES[1:]))
    assert [(f.code, f.line) for f in report.findings][:1] == [("bad_line", 1)]


def test_amounts_and_ids_beyond_uint256_are_bad_lines() -> None:
    for field in ("amount", "campaign_id", "goal", "max_per_backer"):
        for value in (2**256, str(2**256), "9" * 78):
            report = audited(with_first_line(**{field: value}))
            assert [(f.code, f.line) for f in report.findings][:1] == [("bad_line", 1)], (field, value)
            assert field in report.findings[0].message


def test_a_five_million_digit_amount_is_a_bad_line() -> None:
    huge = b'{"seq":1,"amount":' + b"7" * 5_000_000 + b"}"
    for body in (huge + b"\n" + dumps(LINES[1]), _with_csv_amount(b"7" * 5_000_000)):
        report = audited(body)
        assert any(f.code == "bad_line" and f.line for f in report.findings)


def _with_csv_amount(amount: bytes) -> bytes:
    header, first, *rest = exported(chained(), "csv").split(b"\n")
    cells = first.split(b",")
    cells[FIELDS.index("amount")] = amount
    return b"\n".join([header, b",".join(cells), *rest])


def test_a_csv_with_one_invalid_utf8_byte_names_its_line() -> None:
    header, *rows = exported(chained(), "csv").split(b"\n")
    rows[2] = rows[2].replace(b"0x", b"0x\xff", 1)
    report = audited(b"\n".join([header, *rows]))
    assert [(f.code, f.line) for f in report.findings][:1] == [("bad_line", 4)]
    assert "UTF-8" in report.findings[0].message


def test_terms_of_every_kind_hold_only_digits() -> None:
    for field, value in (("goal", "٣"), ("goal", "1_000"), ("max_per_backer", " 12"), ("fee_bps", 70_000)):
        report = audited(with_first_line(**{field: value}))
        assert [(f.code, f.line) for f in report.findings][:1] == [("bad_line", 1)], (field, value)
    plan = MilestonePlanTerms((5000, 5000), 3600)
    tranche = TrancheTerms(1, 2**256)
    assert entry_terms_detail(plan) and tranche.fee  # shapes the fuzzer reaches through kinds 8 and 11
