"""ledger.public: the stored public JSON text of an entry. The C batch (native.entry_jsons) against
the Python reference entry_json on random entries of every kind, amount size and time; the shapes
the C code declines (None, then formatted by the reference in ledger.public.entry_jsons, which
raises where the reference raises); and the finished texts as the API schemas read them.

`python tests/ledger/test_public.py` prints the time per entry of both (a measurement, not a test)."""

from __future__ import annotations

import json
import random
import sys
from collections import namedtuple
from datetime import datetime, timezone
from typing import Any

import pytest

from api.schemas import EntryDetailPublic, EntryPublic
from ledger import native, public
from ledger.core.public import KIND_JSON, checksum, entry_json, entry_jsons, finish, iso
from ledger.core.records import ETH, Kind, LedgerEntry, TrancheTerms

needs_native = pytest.mark.skipif(not native.compiled, reason="ledger._speedups is not built")

MAX_U256 = 2**256 - 1
LAST_TIME = 253402300799  # 9999-12-31T23:59:59Z, the last second the C code formats
TIMES = [
    None, 0, 1, 59, 60, 3599, 3600, 86399, 86400,
    68169600,  # 1972-02-29 (a leap day)
    951782399, 951782400, 951868799, 951868800,  # around 2000-02-29 (a leap year though divisible by 100)
    4107456000, 4107542399, 4107542400, 4107628800,  # 2100-02-28, 03-01: 2100 is not a leap year
    1709164800,  # 2024-02-29
    1714564800, 2**31 - 1, 2**31, 2**32,
    253402214400, LAST_TIME,
]

# EIP-55's own examples
EIP55 = [
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
]


def word(rng: random.Random, digits: int = 64) -> str:
    return "0x" + f"{rng.getrandbits(4 * digits):0{digits}x}"


def random_amount(rng: random.Random) -> int:
    return rng.choice([
        0, 1, 9, 10, MAX_U256, MAX_U256 - 1, 2**64 - 1, 2**64, 2**63, 2**96 + 1, 10**18, 10**77, 10**77 - 1,
        rng.getrandbits(64), rng.getrandbits(256), rng.getrandbits(rng.randrange(1, 257)),
        rng.randrange(1, 1000) * 10**rng.randrange(0, 60),
    ])


def random_detail(rng: random.Random, kind: int, lowercase: bool = False) -> str:
    choice = rng.randrange(5)
    if choice == 0:  # a uint word (fees, tranche numbers): mostly zeros
        return "0x" + f"{rng.getrandbits(rng.randrange(0, 257)):064x}"
    if choice == 1:  # a token word: an address in the low 20 bytes
        return "0x" + "0" * 24 + word(rng, 40)[2:]
    if choice == 2:
        return "0x" + "0" * 64
    if choice == 3 and kind in (Kind.CLAIMED, Kind.FEES_WITHDRAWN) and not lowercase:  # int() and checksum() take any case
        return "0x" + word(rng)[2:].upper()
    return word(rng)


def random_entry(rng: random.Random, kinds: range = range(16), schema_safe: bool = False) -> LedgerEntry:
    """An entry of the common shape: kinds 0-15 (1-13 with schema_safe), as int or Kind member."""
    kind: int = rng.choice(kinds)
    if 1 <= kind <= 13 and rng.random() < 0.5:
        kind = Kind(kind)
    account = rng.choice([word(rng, 40), word(rng, 40), ETH, "0x" + "f" * 40, "0x" + "a" * 40, "0x" + "9" * 40])
    if schema_safe:
        ints = [rng.randrange(1, 10**9), rng.randrange(0, 10**6), rng.randrange(0, 10**8), rng.randrange(0, 500)]
    else:
        ints = [rng.choice([1, rng.randrange(1, 10**9), 2**63 - 1, -(2**63), -1, 0]) for _ in range(4)]
    timestamp = rng.choice(TIMES + [rng.randrange(LAST_TIME + 1) for _ in range(len(TIMES))])
    terms = TrancheTerms(tranche=1, fee=rng.getrandbits(64)) if kind == Kind.TRANCHE_RELEASED else None
    return LedgerEntry(
        seq=ints[0], kind=kind, campaign_id=ints[1], account=account, amount=random_amount(rng),
        detail=random_detail(rng, kind, lowercase=schema_safe), head=word(rng), block_number=ints[2], block_hash=word(rng),
        tx_hash=word(rng), log_index=ints[3], block_timestamp=timestamp, terms=terms,
    )


def sample(count: int, seed: int, **kwargs: Any) -> list[LedgerEntry]:
    rng = random.Random(seed)
    return [random_entry(rng, **kwargs) for _ in range(count)]


def common() -> LedgerEntry:
    """One entry of the common shape, to be edited into an unusual one."""
    return LedgerEntry(
        seq=7, kind=Kind.CLAIMED, campaign_id=3, account="0x" + "ab" * 20, amount=10**18,
        detail="0x" + f"{12345:064x}", head="0x" + "11" * 32, block_number=99, block_hash="0x" + "22" * 32,
        tx_hash="0x" + "33" * 32, log_index=4, block_timestamp=1714564800,
    )


# ------------------------------------------------------------------------------ the C path

@needs_native
@pytest.mark.parametrize("seed", range(4))
def test_the_c_texts_equal_the_reference_on_random_entries(seed: int) -> None:
    entries = sample(3000, seed)
    assert {int(e.kind) for e in entries} == set(range(16))
    texts = native.entry_jsons(entries, KIND_JSON)
    assert texts == [entry_json(e) for e in entries]  # none declined: all of the common shape
    assert all(type(t) is str for t in texts)


@needs_native
def test_the_c_checksums_equal_the_reference_and_eip55() -> None:
    rng = random.Random(55)
    accounts = [a.lower() for a in EIP55] + [word(rng, 40) for _ in range(600)] + [ETH, "0x" + "f" * 40]
    tokens = [word(rng, 40) for _ in range(600)] + [a.lower() for a in EIP55]
    entries = [common()._replace(kind=2, account=a) for a in accounts]
    entries += [common()._replace(kind=Kind.FEES_WITHDRAWN, detail="0x" + "0" * 24 + t[2:]) for t in tokens]
    # the same account in upper case digits in the detail: checksum() lowercases it first
    entries += [common()._replace(kind=7, detail="0x" + "F" * 24 + t[2:].upper()) for t in tokens[:50]]
    texts = native.entry_jsons(entries, KIND_JSON)
    assert texts == [entry_json(e) for e in entries]
    shown = [json.loads(t + "}") for t in texts]
    assert [s["account"] for s in shown[: len(accounts)]] == [checksum(a) for a in accounts]
    assert [s["account"] for s in shown[:4]] == EIP55
    assert [s["fee_token"] for s in shown[len(accounts):][: len(tokens)]] == [checksum(t) for t in tokens]
    assert [s["fee_token"] for s in shown[len(accounts) + len(tokens) - 4:][:4]] == EIP55


@needs_native
def test_the_c_times_equal_iso_and_utc() -> None:
    rng = random.Random(8601)
    times = [t for t in TIMES if t is not None] + [rng.randrange(LAST_TIME + 1) for _ in range(3000)]
    entries = [common()._replace(block_timestamp=t) for t in times]
    texts = native.entry_jsons(entries, KIND_JSON)
    assert texts == [entry_json(e) for e in entries]
    shown = [json.loads(t + "}")["block_time"] for t in texts]
    assert shown == [iso(t) for t in times]
    utc = [datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") for t in times[:40]]
    assert shown[:40] == utc
    assert dict(zip(times, shown))[951782400] == "2000-02-29T00:00:00Z"
    assert dict(zip(times, shown))[4107542399] == "2100-02-28T23:59:59Z"
    assert dict(zip(times, shown))[4107542400] == "2100-03-01T00:00:00Z"
    assert dict(zip(times, shown))[LAST_TIME] == "9999-12-31T23:59:59Z"
    none = native.entry_jsons([common()._replace(block_timestamp=None)], KIND_JSON)[0]
    assert '"block_time":null,' in none and none == entry_json(common()._replace(block_timestamp=None))


@needs_native
def test_the_c_numbers_are_exact() -> None:
    amounts = [0, 1, 2**32 - 1, 2**32, 2**64 - 1, 2**64, 10**19, 10**19 - 1, 10**27, 2**128 - 1, 10**76,
               10**77 - 1, MAX_U256, MAX_U256 - 10**40]
    fees = [0, 1, 2**64, 10**30 + 7, MAX_U256]
    ints = [0, 1, -1, 9, 10, 99, 100, 2**31, 2**63 - 1, -(2**63)]
    entries = [common()._replace(kind=2, amount=a) for a in amounts]
    entries += [common()._replace(detail="0x" + f"{fee:064x}") for fee in fees]
    entries += [common()._replace(seq=i, campaign_id=i, block_number=i, log_index=i) for i in ints]
    entries += [common()._replace(kind=k) for k in (0, -1, 14, 15, 2**63 - 1, -(2**63), True)]
    texts = native.entry_jsons(entries, KIND_JSON)
    assert texts == [entry_json(e) for e in entries]
    assert [json.loads(t + "}")["amount"] for t in texts[: len(amounts)]] == [str(a) for a in amounts]
    assert [json.loads(t + "}")["fee"] for t in texts[len(amounts):][: len(fees)]] == [str(f) for f in fees]


@needs_native
def test_copied_strings_of_any_length() -> None:
    """detail, head, block_hash and tx_hash are copied as they are, of whatever length."""
    rng = random.Random(66)
    strings = ["", "x", "0x", "a" * 15, "b" * 16, "c" * 17, "d" * 31, "e" * 32, "f" * 33, "0x" + "1" * 64, "g" * 500]
    strings += ["".join(chr(rng.randrange(32, 127)) for _ in range(rng.randrange(0, 300))).replace('"', "'")
                .replace("\\", "/") for _ in range(200)]
    entries = [
        common()._replace(kind=2, detail=rng.choice(strings), head=rng.choice(strings),
                          block_hash=rng.choice(strings), tx_hash=rng.choice(strings))
        for _ in range(1000)
    ]
    assert native.entry_jsons(entries, KIND_JSON) == [entry_json(e) for e in entries]


@needs_native
def test_kind_names_come_from_the_table_given() -> None:
    entries = [common()._replace(kind=k) for k in (0, 1, 2, 3, 5, 14, -3)]
    names = ("nothing", "one", 'two"')  # a name that would break the JSON: those entries are declined
    texts = native.entry_jsons(entries, names)
    assert [t and json.loads(t + "}")["kind_name"] for t in texts] == [
        "nothing", "one", None, "nothing", "nothing", "nothing", "nothing",
    ]
    assert native.entry_jsons(entries, ()) == [None] * len(entries)  # no index 0: entry_json would raise


# ------------------------------------------------------------------------------ declined shapes

OtherEntry = namedtuple("OtherEntry", LedgerEntry._fields)  # noqa: PYI024 - the same fields under another class: formatted as well


# the fields by name, but `kind` first: entry_json reads them by name
SwappedEntry = namedtuple("SwappedEntry", ("kind", "seq", *LedgerEntry._fields[2:12]))  # noqa: PYI024


class RenamedEntry(LedgerEntry):  # a subclass whose `seq` is not item 0: entry_json reads the property
    __slots__ = ()

    @property
    def seq(self) -> int:  # type: ignore[override]
        return 42


def declined_but_formatted() -> list[LedgerEntry]:
    """Entries the C code leaves to the reference, which formats them."""
    e = common()
    return [
        e._replace(block_timestamp=-1),  # before 1970
        e._replace(block_timestamp=LAST_TIME + 1),  # year 10000
        e._replace(block_timestamp=2**40),
        e._replace(block_timestamp=True),  # f"{...}" of a bool is not that of an int
        e._replace(amount=-1),
        e._replace(amount=2**256),
        e._replace(amount=2**300),
        e._replace(amount=True),
        e._replace(account="0x" + "AB" * 20),  # upper case
        e._replace(account="0x" + "ab" * 19 + "a"),  # 41 characters (checksum() pads it with a NUL)
        e._replace(account="0X" + "ab" * 20),
        e._replace(account="0x" + "ab" * 19 + "ag"),
        e._replace(kind=2, detail='0x"quoted"'),  # would not be valid JSON: the reference writes it anyway
        e._replace(kind=2, detail="0x\\"),
        e._replace(kind=2, detail="d" * 15 + '"'),
        e._replace(kind=2, detail="d" * 200 + "\\" + "d" * 10),
        e._replace(kind=2, head="0x" + "a" * 63 + '"'),  # the last of 66 characters
        e._replace(kind=2, block_hash="c" * 20 + "\\" + "c" * 45),
        e._replace(kind=2, tx_hash='"' + "b" * 65),
        e._replace(kind=2, head="0x" + "é" * 64),  # not ASCII
        e._replace(kind=Kind.FEES_WITHDRAWN, detail="0x" + "ab" * 20),  # not a 32-byte word
        e._replace(kind=Kind.CLAIMED, detail="0xabc"),
        e._replace(kind=Kind.CLAIMED, detail="0X" + "0" * 64),
        e._replace(kind=Kind.CLAIMED, detail="0x" + "1" * 66),
        e._replace(seq=2**63),
        e._replace(seq=-(2**63) - 1),
        e._replace(seq=True),
        e._replace(campaign_id=Kind.PLEDGED),  # an int subclass outside `kind`
        e._replace(block_number=2**64),
        e._replace(log_index=False),
        e._replace(kind=2**63),
        RenamedEntry(*e),
        SwappedEntry(e.kind, e.seq, *e[2:12]),  # type: ignore[list-item]
    ]


def raising() -> list[tuple[LedgerEntry | tuple[Any, ...], type[Exception]]]:
    """Entries the C code declines and the reference raises on."""
    e = common()
    return [
        (e._replace(block_timestamp=2**70), OverflowError),  # beyond time_t
        (e._replace(account="0x" + "ab" * 21), OverflowError),  # 44 characters: checksum() has no room
        (e._replace(kind=Kind.CLAIMED, detail='0x"' + "0" * 63), ValueError),  # int(detail, 16)
        (e._replace(kind=Kind.CLAIMED, detail="0x" + "g" * 64), ValueError),
        (tuple(e), AttributeError),  # a plain tuple: no field names
        (e._replace(block_timestamp=1.5), TypeError),
    ]


@needs_native
def test_unusual_shapes_are_declined_and_formatted_by_the_reference() -> None:
    entries = declined_but_formatted()
    assert native.entry_jsons(entries, KIND_JSON) == [None] * len(entries)
    reference = [entry_json(e) for e in entries]
    assert entry_jsons(entries) == reference
    renamed = next(i for i, e in enumerate(entries) if type(e) is RenamedEntry)
    assert json.loads(reference[renamed] + "}")["seq"] == 42  # the property, not item 0
    # among entries of the common shape, in the same batch
    mixed = sample(200, 9)
    mixed[5:5] = entries
    texts = native.entry_jsons(mixed, KIND_JSON)
    assert [i for i, t in enumerate(texts) if t is None] == list(range(5, 5 + len(entries)))
    assert entry_jsons(mixed) == [entry_json(e) for e in mixed]


@needs_native
@pytest.mark.parametrize("case", range(len(raising())))
def test_declined_entries_raise_as_the_reference_does(case: int) -> None:
    entry, error = raising()[case]
    assert native.entry_jsons([common(), entry], KIND_JSON) == [entry_json(common()), None]
    with pytest.raises(error):
        entry_json(entry)  # type: ignore[arg-type]
    with pytest.raises(error):
        entry_jsons([common(), entry])  # type: ignore[list-item]


@needs_native
def test_other_named_tuples_with_the_same_fields_are_formatted() -> None:
    entries = [OtherEntry(*e) for e in sample(50, 10)]
    assert native.entry_jsons(entries, KIND_JSON) == [entry_json(e) for e in entries]  # type: ignore[arg-type]


@needs_native
def test_classes_are_checked_again_when_they_change() -> None:
    Changing = namedtuple("Changing", LedgerEntry._fields[:12])  # noqa: PYI024 - a class of its own, changed below

    entries = [Changing(*e[:12]) for e in sample(20, 16)]
    assert native.entry_jsons(entries, KIND_JSON) == [entry_json(e) for e in entries]  # type: ignore[arg-type]
    Changing.seq = property(lambda self: 42)  # type: ignore[assignment,method-assign]
    assert native.entry_jsons(entries, KIND_JSON) == [None] * len(entries)
    assert {json.loads(entry_json(e) + "}")["seq"] for e in entries} == {42}  # type: ignore[arg-type]
    # classes taking turns in one batch
    mixed: list[Any] = [x for pair in zip(sample(30, 17), [OtherEntry(*e) for e in sample(30, 18)]) for x in pair]
    mixed += [Changing(*e[:12]) for e in sample(5, 21)]
    texts = native.entry_jsons(mixed, KIND_JSON)
    assert texts[:60] == [entry_json(e) for e in mixed[:60]] and texts[60:] == [None] * 5


@needs_native
def test_bad_arguments_raise_type_error() -> None:
    entries = sample(3, 11)
    with pytest.raises(TypeError):
        native.entry_jsons(tuple(entries), KIND_JSON)
    with pytest.raises(TypeError):
        native.entry_jsons(entries, list(KIND_JSON))
    with pytest.raises(TypeError):
        native.entry_jsons(entries, ("unknown", b"campaign_created"))
    with pytest.raises(TypeError):
        native.entry_jsons(entries)
    assert native.entry_jsons([], KIND_JSON) == []
    assert native.entry_jsons([None, 5, "x", (1, 2)], KIND_JSON) == [None] * 4


@needs_native
def test_no_reference_is_leaked_or_lost() -> None:
    entries = sample(300, 12) + declined_but_formatted() + [r[0] for r in raising()]  # type: ignore[misc]
    entries += [OtherEntry(*e) for e in sample(10, 19)] + sample(10, 20)  # the C code's class cache changes
    # the entries, their strings and big ints (not the small ints and singletons the loop shares)
    objects = {id(o): o for e in entries for o in e if type(o) is str or (type(o) is int and not -5 <= o <= 256)}
    objects |= {id(e): e for e in entries} | {id(n): n for n in KIND_JSON}
    descriptors = [vars(LedgerEntry)[name] for name in LedgerEntry._fields]  # checked by the C code
    objects |= {id(o): o for o in [LedgerEntry, OtherEntry, RenamedEntry, SwappedEntry, *descriptors]}
    native.entry_jsons(entries, KIND_JSON)  # the C code keeps the last class it checked
    before = {i: sys.getrefcount(o) for i, o in objects.items()}
    for _ in range(20):
        texts = native.entry_jsons(entries, KIND_JSON)
        # the list's reference and getrefcount's argument: nothing else holds the new texts
        assert {sys.getrefcount(texts[i]) for i in range(len(texts)) if texts[i] is not None} == {2}
        del texts
        with pytest.raises(TypeError):
            native.entry_jsons(entries, ("unknown", 1))
    assert {i: sys.getrefcount(o) for i, o in objects.items()} == before


# ------------------------------------------------------------------------------ both paths

@pytest.mark.parametrize("available", [False, True])
def test_entry_jsons_equals_the_reference_either_way(monkeypatch: pytest.MonkeyPatch, available: bool) -> None:
    if available and not native.compiled:
        pytest.skip("ledger._speedups is not built")
    monkeypatch.setattr(native, "available", available)
    entries = sample(1500, 13) + declined_but_formatted()
    random.Random(14).shuffle(entries)
    assert entry_jsons(entries) == [entry_json(e) for e in entries]
    assert entry_jsons([]) == []


# ------------------------------------------------------------------------------ the API's view

@pytest.mark.parametrize("available", [False, True])
def test_the_finished_texts_validate_as_the_api_schemas(monkeypatch: pytest.MonkeyPatch, available: bool) -> None:
    if available and not native.compiled:
        pytest.skip("ledger._speedups is not built")
    monkeypatch.setattr(native, "available", available)
    entries = sample(1500, 15, kinds=range(1, 14), schema_safe=True)
    for entry, stored in zip(entries, entry_jsons(entries)):
        for final in (True, False):
            text = finish(stored, final)
            parsed = json.loads(text)
            model = EntryPublic.model_validate_json(text)
            assert model.model_dump(mode="json") == parsed
            assert parsed["final"] is final
            assert parsed["seq"] == entry.seq and parsed["kind"] == int(entry.kind)
            assert parsed["kind_name"] == Kind(entry.kind).name.lower()
            assert parsed["account"] == checksum(entry.account) and parsed["amount"] == str(entry.amount)
            assert parsed["fee"] == (str(int(entry.detail, 16)) if entry.kind == Kind.CLAIMED else None)
            assert parsed["fee_token"] == (checksum(entry.token) if entry.kind == Kind.FEES_WITHDRAWN else None)
            assert parsed["block_time"] == iso(entry.block_timestamp)
            detail = finish(stored, final, previous_head=entry.head)
            detailed = EntryDetailPublic.model_validate_json(detail)
            assert detailed.model_dump(mode="json") == json.loads(detail) == {**parsed, "previous_head": entry.head}


# ------------------------------------------------------------------------------ measurement

def typical_entries(count: int, seed: int) -> list[LedgerEntry]:
    """A backfill's worth of entries as a chain has them: seq and blocks in order, a few thousand
    accounts, wei amounts, mostly pledges; unlike sample(), which favours the extremes."""
    rng = random.Random(seed)
    accounts = [word(rng, 40) for _ in range(5000)]
    kinds = [Kind.PLEDGED] * 12 + [Kind.UNPLEDGED] * 2 + [Kind.REFUNDED] * 2 + list(Kind)
    entries = []
    for seq in range(1, count + 1):
        kind = rng.choice(kinds)
        if kind in (Kind.PLEDGED, Kind.UNPLEDGED, Kind.REFUNDED):
            detail = "0x" + "0" * 64
        elif kind == Kind.FEES_WITHDRAWN:
            detail = "0x" + "0" * 24 + rng.choice(accounts)[2:]
        elif kind == Kind.CLAIMED:
            detail = "0x" + f"{rng.randrange(10**20):064x}"
        else:
            detail = word(rng)
        block = 19_000_000 + seq // 4
        entries.append(LedgerEntry(
            seq=seq, kind=kind, campaign_id=rng.randrange(1, 2000), account=rng.choice(accounts),
            amount=rng.randrange(10**15, 10**22), detail=detail, head=word(rng), block_number=block,
            block_hash=word(rng), tx_hash=word(rng), log_index=rng.randrange(200),
            block_timestamp=1_700_000_000 + 12 * (block - 19_000_000),
        ))
    return entries


def measure(count: int = 100_000, runs: int = 7) -> None:
    """Time native.entry_jsons and the reference over `count` entries, of sample() and of
    typical_entries() (the best and the median of a few runs; the reference with a cold checksum
    cache, as on a backfill of new accounts)."""
    import statistics
    from time import perf_counter

    for name, entries in [("random", sample(count, 2024)), ("typical", typical_entries(count, 2024))]:
        seconds: dict[str, list[float]] = {"C": [], "Python": []}
        for _ in range(runs):
            if native.compiled:
                start = perf_counter()
                texts = native.entry_jsons(entries, KIND_JSON)
                seconds["C"].append(perf_counter() - start)
                del texts
            public.checksum.cache_clear()
            start = perf_counter()
            texts = [entry_json(e) for e in entries]
            seconds["Python"].append(perf_counter() - start)
            del texts
        for path, times in seconds.items():
            if times:
                print(f"{name:>8} entries, {path:>6}: best {min(times) / count * 1e6:.3f} us/entry, "
                      f"median {statistics.median(times) / count * 1e6:.3f} ({count} entries, {runs} runs)")


if __name__ == "__main__":
    measure()
