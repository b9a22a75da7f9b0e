"""ledger.core.public: an entry's public text, serialized by its public schema (EntryText) when the
indexer stores it and finished with `final` by the API: the exact published format, EIP-55
checksums, ISO times, exact amounts, what the API schemas read back, and a field that tries to
break out of its string."""

from __future__ import annotations

import json
import random
from datetime import datetime, timezone
from typing import Any

import pytest
from pydantic import TypeAdapter

from ledger.core.public import (
    EntryDetailPublic,
    EntryPublic,
    checksum,
    finish,
    iso,
    stored_text,
    stored_texts,
)
from ledger.core.records import ETH, Kind, LedgerEntry, TrancheTerms

MAX_U256 = 2**256 - 1
LAST_TIME = 253402300799  # 9999-12-31T23:59:59Z
TIMES = [
    None,
    0,
    1,
    59,
    60,
    3599,
    3600,
    86399,
    86400,
    68169600,  # 1972-02-29 (a leap day)
    951782399,
    951782400,
    951868799,
    951868800,  # around 2000-02-29 (a leap year though divisible by 100)
    4107456000,
    4107542399,
    4107542400,
    4107628800,  # 2100-02-28, 03-01: 2100 is not a leap year
    1709164800,  # 2024-02-29
    1714564800,
    2**31 - 1,
    2**31,
    2**32,
    253402214400,
    LAST_TIME,
]
# EIP-55's own examples
EIP55 = [
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
]
PUBLIC = TypeAdapter(EntryPublic)
DETAIL = TypeAdapter(EntryDetailPublic)


def word(rng: random.Random, digits: int = 64) -> str:
    return "0x" + f"{rng.getrandbits(4 * digits):0{digits}x}"


def random_entry(rng: random.Random) -> LedgerEntry:
    """An entry of any of the 13 kinds, with amounts and times at the edges."""
    kind = Kind(rng.randrange(1, 14))
    amount = rng.choice(
        [0, 1, MAX_U256, 2**64, 10**18, rng.getrandbits(256), rng.getrandbits(rng.randrange(1, 257))]
    )
    if kind == Kind.FEES_WITHDRAWN:
        detail = "0x" + "0" * 24 + word(rng, 40)[2:]
    elif kind == Kind.CLAIMED:
        detail = "0x" + f"{rng.getrandbits(rng.randrange(0, 257)):064x}"
    else:
        detail = word(rng)
    return LedgerEntry(
        seq=rng.randrange(1, 10**9),
        kind=kind,
        campaign_id=rng.randrange(0, 10**6),
        account=rng.choice([word(rng, 40), ETH, "0x" + "f" * 40]),
        amount=amount,
        detail=detail,
        head=word(rng),
        block_number=rng.randrange(0, 10**8),
        block_hash=word(rng),
        tx_hash=word(rng),
        log_index=rng.randrange(500),
        block_timestamp=rng.choice(TIMES + [rng.randrange(LAST_TIME + 1)]),
        terms=TrancheTerms(tranche=1, fee=rng.getrandbits(64)) if kind == Kind.TRANCHE_RELEASED else None,
    )


def common(**changes: Any) -> LedgerEntry:
    entry = LedgerEntry(
        seq=7,
        kind=Kind.CLAIMED,
        campaign_id=3,
        account="0x" + "ab" * 20,
        amount=10**18,
        detail="0x" + f"{12345:064x}",
        head="0x" + "11" * 32,
        block_number=99,
        block_hash="0x" + "22" * 32,
        tx_hash="0x" + "33" * 32,
        log_index=4,
        block_timestamp=1714564800,
    )
    return entry._replace(**changes)


def test_the_stored_text_is_the_published_format() -> None:
    """Byte for byte what the indexer has always stored (existing databases stay valid): the
    object without `final` and its closing brace, keys in this order, no spaces."""
    assert stored_text(common()) == (
        '{"seq":7,"kind":5,"kind_name":"claimed","campaign_id":3,'
        '"account":"0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB","amount":"1000000000000000000",'
        '"detail":"0x0000000000000000000000000000000000000000000000000000000000003039","fee":"12345",'
        '"fee_token":null,"head":"0x1111111111111111111111111111111111111111111111111111111111111111",'
        '"block_number":99,"block_hash":"0x2222222222222222222222222222222222222222222222222222222222222222",'
        '"block_time":"2024-05-01T12:00:00Z",'
        '"tx_hash":"0x3333333333333333333333333333333333333333333333333333333333333333","log_index":4'
    )
    assert finish(stored_text(common()), True).endswith(',"log_index":4,"final":true}')


def test_checksums_are_eip55() -> None:
    entries = [common(kind=Kind.PLEDGED, account=a.lower()) for a in EIP55]
    entries += [common(kind=Kind.FEES_WITHDRAWN, detail="0x" + "0" * 24 + a[2:].lower()) for a in EIP55]
    shown = [json.loads(finish(t, True)) for t in stored_texts(entries)]
    assert [s["account"] for s in shown[:4]] == EIP55
    assert [s["fee_token"] for s in shown[4:]] == EIP55
    assert all(checksum(a.upper().replace("0X", "0x")) == a for a in EIP55)


def test_times_are_iso_8601_utc() -> None:
    rng = random.Random(8601)
    times = [t for t in TIMES if t is not None] + [rng.randrange(LAST_TIME + 1) for _ in range(2000)]
    shown = [json.loads(finish(stored_text(common(block_timestamp=t)), True))["block_time"] for t in times]
    assert shown == [datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") for t in times]
    assert dict(zip(times, shown))[4107542400] == "2100-03-01T00:00:00Z"
    assert json.loads(finish(stored_text(common(block_timestamp=None)), True))["block_time"] is None
    assert iso(LAST_TIME) == "9999-12-31T23:59:59Z"


def test_amounts_and_fees_are_exact() -> None:
    for amount in (0, 1, 2**64, 10**77 - 1, MAX_U256):
        assert json.loads(finish(stored_text(common(kind=Kind.PLEDGED, amount=amount)), True))[
            "amount"
        ] == str(amount)
    fee = MAX_U256 - 10**40
    assert json.loads(finish(stored_text(common(detail="0x" + f"{fee:064x}")), False))["fee"] == str(fee)


@pytest.mark.parametrize("seed", range(3))
def test_the_finished_texts_validate_as_the_api_schemas(seed: int) -> None:
    rng = random.Random(seed)
    entries = [random_entry(rng) for _ in range(1000)]
    for entry, stored in zip(entries, stored_texts(entries)):
        assert stored == stored_text(entry)
        for final in (True, False):
            text = finish(stored, final)
            parsed = json.loads(text)
            assert PUBLIC.validate_json(text) == parsed
            assert (
                parsed["final"] is final and parsed["seq"] == entry.seq and parsed["kind"] == int(entry.kind)
            )
            assert parsed["kind_name"] == Kind(entry.kind).name.lower()
            assert parsed["account"] == checksum(entry.account) and parsed["amount"] == str(entry.amount)
            assert parsed["fee"] == (str(int(entry.detail, 16)) if entry.kind == Kind.CLAIMED else None)
            assert parsed["fee_token"] == (
                checksum(entry.token) if entry.kind == Kind.FEES_WITHDRAWN else None
            )
            assert parsed["block_time"] == iso(entry.block_timestamp)
            detail = finish(stored, final, previous_head=entry.head)
            assert (
                DETAIL.validate_json(detail) == json.loads(detail) == {**parsed, "previous_head": entry.head}
            )


def test_a_field_that_tries_to_leave_its_string_stays_in_it() -> None:
    """A node once sent a block hash that closes its string and adds members (an amount of 999,999
    ETH, markup): serialized by the schema, it stays one string value and the amount stays the
    entry's. (The indexer refuses such a hash before storing; this is the serializer's half.)"""
    hostile = "0x" + "16" * 32 + '","amount":"999999000000000000000000","x":"<img src=x onerror=alert(1)>'
    text = finish(stored_text(common(kind=Kind.PLEDGED, amount=840000000000000000, block_hash=hostile)), True)
    parsed = json.loads(text)
    assert parsed["amount"] == "840000000000000000"
    assert parsed["block_hash"] == hostile
    assert list(parsed) == list(json.loads(finish(stored_text(common()), True)))
