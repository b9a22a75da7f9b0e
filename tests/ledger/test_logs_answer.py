"""parse_logs_answer's fused C path (native.decode_logs_answer: the logs decoded straight from the
eth_getLogs answer's bytes) against the path it replaces (orjson.loads of the whole body, then
decode_logs in C) and the pure-Python reference: the same decoded answer, entries, field types,
exceptions and messages for every body, valid or not, plain or odd."""

from __future__ import annotations

import gc
import json
import os
import random
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ContextManager
from unittest.mock import patch

import orjson
import pytest

from ledger.chain import events, native
from ledger.errors import LedgerIntegrityError
from ledger.chain.events import TOPIC_OF, TOPICS, ZERO_WORD, decode_log, parse_logs_answer
from ledger.core.records import Kind, LedgerEntry

needs_native = pytest.mark.skipif(not native.compiled, reason="ledger._speedups is not built")
REAL_BODY = "/tmp/prof/logs-body.json"  # a 76 MB answer of 100,000 logs from anvil, where it was kept
NATIVE_ARGS = (events._NATIVE_TOPICS, events._NATIVE_KINDS, ZERO_WORD, LedgerEntry)


# ------------------------------------------------------------------------------------ comparing


class Tally:
    """How many bodies the C path decoded (a tuple), declined (None) or took and raised on (a log's
    error, from decode_log through the fallback)."""

    def __init__(self) -> None:
        self.fused = self.declined = self.raised = 0


@contextmanager
def counting(tally: Tally) -> Iterator[None]:
    real = native.decode_logs_answer

    def counted(*args: Any) -> Any:
        try:
            result = real(*args)
        except Exception:
            tally.raised += 1
            raise
        if result is None:
            tally.declined += 1
        else:
            tally.fused += 1
        return result

    native.decode_logs_answer = counted
    try:
        yield
    finally:
        native.decode_logs_answer = real


def old_path() -> ContextManager[Any]:
    """orjson.loads of the whole body, then decode_logs in C: the path before decode_logs_answer."""
    return patch.object(native, "decode_logs_answer", lambda *args: None)


def pure_path() -> ContextManager[Any]:
    """The Python reference code, no ledger.native at all."""
    return patch.object(native, "available", False)


def typed(x: Any) -> Any:
    """x with the type of every value beside it (Kind vs int, None vs 0...) and dicts' key order."""
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return (type(x), tuple(typed(v) for v in x))
    if isinstance(x, dict):
        return ("dict", [(k, typed(v)) for k, v in x.items()])
    if isinstance(x, list):
        return ("list", [typed(v) for v in x])
    return (type(x), x)


def entries_of(result: tuple[Any, ...]) -> list[Any]:
    """The typed entries of an outcome ("ok", typed(answer))."""
    return dict(result[1][1])["result"][1]


def outcome(fn: Callable[[], Any]) -> tuple[Any, ...]:
    try:
        return ("ok", typed(fn()))
    except Exception as exc:  # noqa: BLE001 - the exception is the outcome compared
        return ("raised", type(exc), str(exc))


def assert_same_answer(body: Any, tally: Tally | None = None, *, pure: bool = True) -> tuple[Any, ...]:
    """parse_logs_answer(body) three ways (fused C, old C, pure Python): the same outcome."""
    tally = tally or Tally()
    with counting(tally):
        fused = outcome(lambda: parse_logs_answer(body))
    with old_path():
        before = outcome(lambda: parse_logs_answer(body))
    assert fused == before, body[:2000]
    if pure:
        with pure_path():
            assert outcome(lambda: parse_logs_answer(body)) == before, body[:2000]
    return before


# ------------------------------------------------------------------------------------ writing JSON


class Raw(str):
    """A JSON token written as is (numbers, and anything deliberately odd)."""


class Obj(list):
    """A JSON object as its (key, value) members, in order and duplicates kept."""


def space(rng: random.Random, odd: bool) -> str:
    if not odd or rng.random() < 0.6:
        return ""
    return rng.choice([" ", "\n", "\t", "\r\n", "  ", "\n\t\t", " \r"])


def string(s: str, rng: random.Random, escape: float) -> str:
    """s as a JSON string, each character escaped with probability `escape` (some always are)."""
    out = ['"']
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20:
            out.append(rng.choice(["\\u%04x" % ord(ch), {"\n": "\\n", "\t": "\\t"}.get(ch, "\\u%04X" % ord(ch))]))
        elif escape and rng.random() < escape:
            if ch == "/":
                out.append("\\/")
            elif ord(ch) > 0xFFFF:  # a surrogate pair
                v = ord(ch) - 0x10000
                out.append("\\u%04x\\u%04x" % (0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF)))
            else:
                out.append(rng.choice(["\\u%04x", "\\u%04X"]) % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def dump(v: Any, rng: random.Random, odd: bool, escape: float = 0.0) -> str:
    if isinstance(v, Raw):
        return str(v)
    if isinstance(v, str):
        return string(v, rng, escape)
    if v is None:
        return "null"
    if v is True or v is False:
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    sep = lambda: space(rng, odd)  # noqa: E731
    if isinstance(v, Obj):
        members = [sep() + string(k, rng, escape) + sep() + ":" + sep() + dump(x, rng, odd, escape) + sep()
                   for k, x in v]
        return "{" + (",".join(members) if members else sep()) + "}"
    if isinstance(v, list):
        items = [sep() + dump(x, rng, odd, escape) + sep() for x in v]
        return "[" + (",".join(items) if items else sep()) + "]"
    raise TypeError(v)


def hexes(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def word(value: int) -> str:
    return value.to_bytes(32, "big").hex()


# ------------------------------------------------------------------------------------ random answers

_WORDS = {Kind.PLEDGED: 3, Kind.UNPLEDGED: 3, Kind.REFUNDED: 3, Kind.CAMPAIGN_CREATED: 8, Kind.CLAIMED: 4,
          Kind.CANCELLED: 2, Kind.DISCLOSED: 3}
_KIND_WEIGHTS = [(Kind.PLEDGED, 40), (Kind.UNPLEDGED, 10), (Kind.REFUNDED, 10), (Kind.CAMPAIGN_CREATED, 6),
                 (Kind.CLAIMED, 5), (Kind.CANCELLED, 4), (Kind.DISCLOSED, 3), (None, 3)]
ODD_INTS = ["0x", "0x0", "0X1f", "0x000a", "1f", "A", " 0x1", "0x1 ", "0x1_0", "-0x1", "+0x5", "0x" + "f" * 70,
            "0x" + "0" * 70 + "1", "0xzz", "", Raw("5"), Raw("1e5"), None, Raw("true"), Obj(), []]
NUMBERS = ["0", "-0", "1e5", "-0.5", "1E+2", "2.5e-3", "123456789012345678901234567890", "1.5e300", "1e308", "1e400",
           "-1e-400", "0.000001", "1" * 80, "1e301", "12e299", "9" * 300, "18446744073709551616",
           "-9223372036854775809"]
EXTRAS = [Raw("1e5"), Raw("-0.5"), Raw("0"), True, False, None, "plain", "tab\there \"quoted\" \\ /slash",
          Obj([("a", [1, 2, Obj([("b", None)])]), ("c", Raw("-12.5e-3"))]), [[], Obj(), [Raw("3.25")]]]
NON_ASCII = ["\u00e9t\u00e9", "\U0001f600", "0x\u0661"]  # written as such or, in escaped runs, as escapes


def weighted(rng: random.Random, pairs: list[tuple[Any, int]]) -> Any:
    return rng.choices([p for p, _ in pairs], [w for _, w in pairs])[0]


def random_log(rng: random.Random) -> tuple[Obj, str]:
    """One log object, mostly a well-formed ledger event, and a note of its oddities."""
    kind = weighted(rng, _KIND_WEIGHTS)
    topic0 = TOPIC_OF[kind] if kind is not None else "0x" + hexes(rng, 64)
    campaign = rng.choice([1, 7, 2**64 + 1, 2**255 + 3, rng.randrange(2**256)])
    topics = [topic0, "0x" + word(campaign), "0x" + "00" * 12 + hexes(rng, 40)]
    n_words = _WORDS.get(kind, 3)
    amount = rng.choice([0, 1, 10**18, 2**64, 2**256 - 1, rng.randrange(2**256)])
    words = [word(amount)] + [word(rng.randrange(2**64)) for _ in range(n_words - 3)]
    if kind == Kind.CAMPAIGN_CREATED:
        topics.append("0x" + "00" * 12 + hexes(rng, 40))
        words[3] = word(rng.randrange(2))  # keep_it_all
    words += [word(rng.choice([1, 2, 2**40, 2**64 - 1, 2**64])), hexes(rng, 64)]  # seq, head
    data = "0x" + "".join(words)
    ts = rng.choice([hex(rng.randrange(2**32)), hex(rng.randrange(2**32)), "absent", None, "", "0x0", "0x00", "0X1"])
    members: dict[str, Any] = {
        "address": "0x" + hexes(rng, 40),
        "topics": topics,
        "data": data,
        "blockHash": "0x" + hexes(rng, 64),
        "blockNumber": hex(rng.randrange(2**rng.choice([8, 24, 64]))),
        "blockTimestamp": ts,
        "transactionHash": "0x" + hexes(rng, 64),
        "transactionIndex": hex(rng.randrange(50)),
        "logIndex": hex(rng.randrange(3000)),
        "removed": False,
    }
    notes = []
    if ts == "absent":
        del members["blockTimestamp"]
    for _ in range(rng.choice([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3])):
        what = rng.choice(MUTATIONS)
        try:
            what(rng, members)
        except (TypeError, KeyError, IndexError, AttributeError, ValueError):  # after an earlier mutation
            continue
        notes.append(what.__name__)
    pairs = Obj(members.items())
    if rng.random() < 0.5:
        rng.shuffle(pairs)
    if rng.random() < 0.15:  # an earlier duplicate of a member (the last one wins)
        key = rng.choice(["topics", "data", "blockNumber", "logIndex", "blockHash", "blockTimestamp", "x"])
        pairs.insert(0, (key, rng.choice(ODD_INTS + EXTRAS)))
        notes.append("dup first " + key)
    if rng.random() < 0.05:  # a later duplicate: it wins
        key = rng.choice(["topics", "data", "blockNumber", "logIndex", "transactionHash", "blockTimestamp"])
        value = members.get(key, "0x1") if rng.random() < 0.5 else rng.choice(ODD_INTS + EXTRAS)
        pairs.append((key, value))
        notes.append("dup last " + key)
    for _ in range(rng.choice([0, 0, 0, 1, 2])):
        pairs.insert(rng.randrange(len(pairs) + 1), (rng.choice(["extra", "k", "removed", ""]), rng.choice(EXTRAS)))
        notes.append("extra")
    if rng.random() < 0.015:
        pairs.insert(rng.randrange(len(pairs) + 1), (rng.choice(["text", "logIndex"]), rng.choice(NON_ASCII)))
        notes.append("non-ASCII")
    return pairs, ",".join(notes)


def topics_of(m: dict[str, Any]) -> list[Any]:
    """The topics list, if an earlier mutation left one (else TypeError: the mutation is skipped)."""
    if type(m.get("topics")) is not list:
        raise TypeError("no topics list")
    return m["topics"]


def _upper(rng: random.Random, m: dict[str, Any]) -> None:
    m["data"] = "0x" + m["data"][2:].upper()
    m["topics"] = topics_of(m)[:1] + ["0x" + t[2:].upper() for t in topics_of(m)[1:]]


def _upper_topic0(rng: random.Random, m: dict[str, Any]) -> None:
    m["topics"] = [topics_of(m)[0].upper()] + topics_of(m)[1:]


def _odd_int(rng: random.Random, m: dict[str, Any]) -> None:
    m[rng.choice(["blockNumber", "logIndex", "blockTimestamp"])] = rng.choice(ODD_INTS)


def _odd_campaign(rng: random.Random, m: dict[str, Any]) -> None:
    m["topics"] = [topics_of(m)[0], rng.choice(ODD_INTS)] + topics_of(m)[2:]


def _odd_account(rng: random.Random, m: dict[str, Any]) -> None:
    t = topics_of(m)
    m["topics"] = t[:2] + [rng.choice(["0xabc", "", t[2] + "ff", t[2][2:], Raw("7"), None])] + t[3:]


def _topic_count(rng: random.Random, m: dict[str, Any]) -> None:
    t = topics_of(m)
    m["topics"] = rng.choice([t[:2], t + [t[1]], [], t[:1], t + t])


def _topics_not_a_list(rng: random.Random, m: dict[str, Any]) -> None:
    m["topics"] = rng.choice([Raw("5"), topics_of(m)[0], Obj([("0", topics_of(m)[0])]), None])


def _data_length(rng: random.Random, m: dict[str, Any]) -> None:
    d = m["data"]
    m["data"] = rng.choice([d[:-64], d + "00" * 32, d[:-1], d + "0", "0x", ""])


def _data_not_hex(rng: random.Random, m: dict[str, Any]) -> None:
    d = m["data"]
    at = rng.randrange(len(d))
    m["data"] = rng.choice([d[:at] + rng.choice("zZ_ -g") + d[at + 1:], "zz" + d[2:], "0X" + d[2:], d[2:] + "00"])


def _data_not_a_string(rng: random.Random, m: dict[str, Any]) -> None:
    m["data"] = rng.choice([None, Raw("0"), [m["data"]], Raw("true")])


def _hashes(rng: random.Random, m: dict[str, Any]) -> None:
    m[rng.choice(["blockHash", "transactionHash"])] = rng.choice([None, Raw("1"), "", "0xAB", Obj(), "x\ty"])


def _missing(rng: random.Random, m: dict[str, Any]) -> None:
    m.pop(rng.choice(["topics", "data", "blockNumber", "blockHash", "transactionHash", "logIndex"]), None)


def _unknown_topic0(rng: random.Random, m: dict[str, Any]) -> None:
    m["topics"] = ["0x" + hexes(rng, 64)] + topics_of(m)[1:]


def _other_kind(rng: random.Random, m: dict[str, Any]) -> None:  # a kind whose shape is not this log's
    m["topics"] = [TOPIC_OF[rng.choice(list(Kind))]] + topics_of(m)[1:]


def _removed(rng: random.Random, m: dict[str, Any]) -> None:
    m["removed"] = True


MUTATIONS = [_upper, _upper_topic0, _odd_int, _odd_int, _odd_campaign, _odd_account, _topic_count,
             _topics_not_a_list, _data_length, _data_not_hex, _data_not_a_string, _hashes, _missing,
             _unknown_topic0, _other_kind, _removed]


def random_answer(rng: random.Random) -> tuple[bytes, str]:
    """One eth_getLogs answer body (mostly valid, sometimes not) and a note of how it was made."""
    odd = rng.random() < 0.5  # whitespace
    escape = 0.0 if rng.random() < 0.7 else rng.choice([0.01, 0.1, 0.5])  # escaped keys and values
    logs = [random_log(rng) for _ in range(rng.choice([0, 1, 1, 2, 3, 5, 8]))]
    result: Any = [Raw(dump(log, rng, odd, escape)) for log, _ in logs]
    notes = [note for _, note in logs if note]
    if rng.random() < 0.04:
        result.insert(rng.randrange(len(result) + 1), rng.choice([Raw("1"), "x", None, [], [Obj()], True]))
        notes.append("non-object element")
    envelope = Obj([("jsonrpc", "2.0"), ("id", rng.choice([1, 7, Raw("1e5"), "abc", None])), ("result", result)])
    if rng.random() < 0.3:
        rng.shuffle(envelope)
    roll = rng.random()
    if roll < 0.03:
        envelope.append(("error", Obj([("code", Raw("-32005")), ("message", "limit exceeded")])))
        notes.append("error member")
    elif roll < 0.06:
        envelope[:] = [(k, v) for k, v in envelope if k != "result"]
        notes.append("no result")
    elif roll < 0.09:
        envelope.append(("result", rng.choice([None, Obj(), [], result])))
        notes.append("two results")
    elif roll < 0.11:
        envelope[:] = [(k, rng.choice([None, Obj(), "x", Raw("3")]) if k == "result" else v) for k, v in envelope]
        notes.append("result not an array")
    elif roll < 0.15:
        envelope.insert(rng.randrange(len(envelope) + 1), (rng.choice(["extra", "meta"]), rng.choice(EXTRAS)))
    text = space(rng, odd) + dump(envelope, rng, odd, escape if rng.random() < 0.1 else 0.0) + space(rng, odd)
    body = text.encode()
    roll = rng.random()
    if roll < 0.04:
        body = body[: rng.randrange(len(body))]
        notes.append("truncated")
    elif roll < 0.08:
        at = rng.randrange(len(body))
        body = body[:at] + bytes([rng.randrange(256)]) + body[at + rng.choice([0, 1]):]
        notes.append("byte changed")
    elif roll < 0.10:
        body = rng.choice([b"\xef\xbb\xbf", b"x", b"[", b"", b"\x0c"]) + body
        notes.append("prefix")
    elif roll < 0.12:
        body = body + rng.choice([b"x", b"}", b",", b"\x00", b" {}"])
        notes.append("suffix")
    elif roll < 0.15:
        number = rng.choice(NUMBERS)
        body = body.replace(b'"removed":false', b'"removed":' + number.encode(), 1)
        notes.append("number " + number)
    return body, ";".join(notes) + (" escaped %.2f" % escape if escape else "")


@needs_native
def test_random_answers_decode_the_same_every_way() -> None:
    tally = Tally()
    rng = random.Random(20240611)
    results = {"ok": 0, "raised": 0}
    n = 3000
    for _ in range(n):
        body, _note = random_answer(rng)
        results[assert_same_answer(body, tally)[0]] += 1
    # the comparison is not vacuous: most answers went through the C path, both ways ended both ways
    assert tally.fused + tally.declined + tally.raised == n
    assert tally.fused > n * 0.35 and tally.declined > n * 0.1 and tally.raised > n * 0.1, vars(tally)
    assert results["ok"] > n * 0.3 and results["raised"] > n * 0.1, results


@needs_native
def test_random_answers_log_by_log() -> None:
    """Each log of the answers the C path takes: decoded in C to decode_log's entry, or handed to
    the fallback as exactly its own bytes; and body[start:end] is the result array."""
    rng = random.Random(77)
    decoded = fell_back = 0
    for _ in range(1000):
        body, _note = random_answer(rng)
        fused = native.decode_logs_answer(body, *NATIVE_ARGS, lambda raw: ("fallback", raw))
        if fused is None:
            continue
        entries, start, end = fused
        logs = orjson.loads(body)["result"]
        assert orjson.loads(body[start:end]) == logs and len(entries) == len(logs)
        for entry, log in zip(entries, logs):
            if isinstance(entry, LedgerEntry):
                assert typed(entry) == typed(decode_log(log))
                decoded += 1
            else:
                assert entry[0] == "fallback" and orjson.loads(entry[1]) == log
                assert entry[1][:1] == b"{" and entry[1][-1:] == b"}"
                fell_back += 1
    assert decoded > 500 and fell_back > 500, (decoded, fell_back)


def scanner_takes(body: bytes) -> bool:
    """Whether decode_logs_answer takes the body (a fallback that never raises: only the scan counts)."""
    return native.decode_logs_answer(body, *NATIVE_ARGS, lambda raw: None) is not None


def orjson_takes(body: bytes) -> bool:
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return True


@needs_native
def test_mutated_bytes_never_slip_past_the_scanner() -> None:
    """Bytes inserted, deleted or replaced anywhere in small answers, from JSON's own alphabet: every
    body the scanner takes, orjson takes too (the fused path's exactness rests on that), and the
    answer is the same both ways."""
    rng = random.Random(4242)
    alphabet = b'{}[]",:\\ \t\n0123456789eE+-.truefalsnulxyz/'
    taken = mutated_taken = 0
    for i in range(4000):
        base = orjson.dumps(answer([pledge_log(i, x=[1.5, None, {"a": "b\\n"}])] if i % 2 else [pledge_log(i)]))
        body = bytearray(base)
        for _ in range(rng.choice([1, 1, 2, 3])):
            at = rng.randrange(len(body) + 1)
            op = rng.random()
            if op < 0.4:
                body[at:at] = bytes([rng.choice(alphabet)])
            elif op < 0.7:
                del body[at:at + rng.choice([1, 1, 2, 5])]
            else:
                body[at:at + 1] = bytes([rng.choice(alphabet)])
        body = bytes(body)
        if scanner_takes(body):
            taken += 1
            mutated_taken += body != base
            assert orjson_takes(body), body
            if i % 4 == 0:
                assert_same_answer(body, pure=False)
    assert mutated_taken > 300, mutated_taken


@needs_native
def test_numbers_the_scanner_takes_are_numbers_orjson_takes() -> None:
    rng = random.Random(99)
    template = orjson.dumps(answer([dict(pledge_log(), x=0)]))
    taken = refused_by_orjson = 0
    for _ in range(6000):
        digits = lambda n: "".join(rng.choice("0123456789") for _ in range(n))  # noqa: E731
        length = rng.choice([0, 1, 5, 20, 64, 299, 300, 301, 400])
        number = rng.choice(["", "-"]) + rng.choice(["0", "1" + digits(length)])
        if rng.random() < 0.5:
            number += "." + digits(rng.choice([0, 1, 3, 17, 60, 400]))
        if rng.random() < 0.6:
            number += rng.choice("eE") + rng.choice(["", "+", "-"]) + str(rng.choice(
                [0, 1, 5, 99, 250, 290, 299, 300, 301, 308, 309, 320, 400, 1000, 99999, rng.randrange(500)]))
        body = template.replace(b'"x":0', b'"x":' + number.encode())
        if scanner_takes(body):
            taken += 1
            assert orjson_takes(body), number
            assert orjson.loads(body)["result"][0]["x"] == orjson.loads(number)
        elif not orjson_takes(body):
            refused_by_orjson += 1
    assert taken > 1000 and refused_by_orjson > 100, (taken, refused_by_orjson)


# ------------------------------------------------------------------------------------ chosen bodies


def pledge_log(seq: int = 5, **changes: Any) -> dict[str, Any]:
    """An anvil-shaped Pledged log dict."""
    log: dict[str, Any] = {
        "address": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
        "topics": [TOPIC_OF[Kind.PLEDGED], "0x" + word(3),
                   "0x" + "00" * 12 + "70997970c51812dc3a010c7d01b50e0d17dc79c8"],
        "data": "0x" + word(10**18) + word(seq) + "ab" * 32,
        "blockHash": "0x" + "16" * 32,
        "blockNumber": "0x2",
        "blockTimestamp": "0x6b0292fe",
        "transactionHash": "0x" + "38" * 32,
        "transactionIndex": "0x0",
        "logIndex": "0x0",
        "removed": False,
    }
    log.update(changes)
    return log


def answer(logs: list[Any], **envelope: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "result": logs, **envelope}


def chosen_bodies() -> dict[str, bytes]:
    plain = pledge_log()
    created = dict(plain, topics=[TOPIC_OF[Kind.CAMPAIGN_CREATED]] + plain["topics"][1:] + [plain["topics"][2]],
                   data="0x" + word(10**20) + word(2**40) + word(0) + word(1) + word(250) + "cd" * 32 + word(1)
                   + "ef" * 32)
    no_ts = {k: v for k, v in plain.items() if k != "blockTimestamp"}
    ganache = {k: no_ts[k] for k in ["logIndex", "transactionIndex", "transactionHash", "blockHash", "blockNumber",
                                      "address", "data", "topics", "removed"]}
    bad = dict(plain, data=plain["data"][:-64])
    bodies = {
        "anvil": orjson.dumps(answer([plain, pledge_log(6, logIndex="0x1")])),
        "empty result": orjson.dumps(answer([])),
        "300 logs (scanned without the GIL)": orjson.dumps(answer([pledge_log(i, logIndex=hex(i)) for i in range(300)]
                                                                  + [created])),
        "other kinds": orjson.dumps(answer([created, plain])),
        "ganache order, no timestamp": orjson.dumps({"id": 1, "jsonrpc": "2.0", "result": [ganache]}),
        "geth pretty": json.dumps(answer([plain, no_ts]), indent=2).encode(),
        "tabs and CRLF": json.dumps(answer([plain]), indent="\t").replace("\n", "\r\n").encode(),
        "a malformed pledge": orjson.dumps(answer([plain, bad, created])),
        "escaped key": orjson.dumps(answer([plain])).replace(b'"topics"', b'"top\\u0069cs"'),
        "escaped value": orjson.dumps(answer([plain])).replace(b'"blockHash":"0x', b'"blockHash":"\\u0030x'),
        "escaped hex in data": orjson.dumps(answer([plain])).replace(b'"data":"0x0', b'"data":"0x\\u0030'),
        "escaped key in the envelope": orjson.dumps(answer([plain])).replace(b'"result"', b'"r\\u0065sult"'),
        "escaped error key": orjson.dumps(answer([plain], err=1)).replace(b'"err"', b'"\\u0065rror"'),
        "duplicate topics, last wins": orjson.dumps(answer([plain])).replace(b'{"address"', b'{"topics":7,"address"'),
        "duplicate data, last is bad": orjson.dumps(answer([plain])).replace(b',"removed"', b',"data":"0x","removed"'),
        "error": orjson.dumps({"jsonrpc": "2.0", "id": 1, "error": {"code": -32005, "message": "too many"}}),
        "error and result": orjson.dumps(answer([plain], error=None)),
        "no result": orjson.dumps({"jsonrpc": "2.0", "id": 1}),
        "null result": orjson.dumps(answer(None)),  # type: ignore[arg-type]
        "result twice": orjson.dumps(answer([plain]))[:-1] + b',"result":[]}',
        "non-object element": orjson.dumps(answer([plain, 5])),
        "numbers": orjson.dumps(answer([dict(plain, x=[1e5, -0.5, 0, 2**63])])).replace(b"100000.0", b"1e5"),
        "number 1e400": orjson.dumps(answer([dict(plain, x=1)])).replace(b'"x":1', b'"x":1e400'),
        "number -1e-400": orjson.dumps(answer([dict(plain, x=1)])).replace(b'"x":1', b'"x":-1e-400'),
        "non-ASCII value": orjson.dumps(answer([dict(plain, x="\u00e9")])),
        "non-ASCII escaped": orjson.dumps(answer([dict(plain, x="x")])).replace(b'"x":"x"', b'"x":"\\u00e9"'),
        "surrogate pair": orjson.dumps(answer([dict(plain, x="x")])).replace(b'"x":"x"', b'"x":"\\ud83d\\ude00"'),
        "lone surrogate": orjson.dumps(answer([dict(plain, x="x")])).replace(b'"x":"x"', b'"x":"\\ud83d"'),
        "control character": orjson.dumps(answer([dict(plain, x="x")])).replace(b'"x":"x"', b'"x":"\x01"'),
        "invalid UTF-8": orjson.dumps(answer([dict(plain, x="x")])).replace(b'"x":"x"', b'"x":"\xff"'),
        "deep 60": orjson.dumps(answer([dict(plain, x=1)])).replace(b'"x":1', b'"x":' + b"[" * 60 + b"]" * 60),
        "deep 70": orjson.dumps(answer([dict(plain, x=1)])).replace(b'"x":1', b'"x":' + b"[" * 70 + b"]" * 70),
        "deep 2000": orjson.dumps(answer([dict(plain, x=1)])).replace(b'"x":1', b'"x":' + b"[" * 2000 + b"]" * 2000),
        "truncated": orjson.dumps(answer([plain]))[:-2],
        "trailing garbage": orjson.dumps(answer([plain])) + b"x",
        "trailing comma": orjson.dumps(answer([plain]))[:-2] + b",]}",
        "top-level array": orjson.dumps([answer([plain])]),
        "empty body": b"",
        "whitespace body": b" \n",
        "not JSON": b"<html>502 Bad Gateway</html>",
        "BOM": b"\xef\xbb\xbf" + orjson.dumps(answer([plain])),
        "form feed": b"\x0c" + orjson.dumps(answer([plain])),
        "NaN": orjson.dumps(answer([dict(plain, x=1)])).replace(b'"x":1', b'"x":NaN'),
        "leading zero": orjson.dumps(answer([dict(plain, x=1)])).replace(b'"x":1', b'"x":01'),
        "bad escape": orjson.dumps(answer([dict(plain, x="x")])).replace(b'"x":"x"', b'"x":"\\x"'),
    }
    return bodies


@needs_native
@pytest.mark.parametrize("name", list(chosen_bodies()))
def test_chosen_bodies_decode_the_same_every_way(name: str) -> None:
    body = chosen_bodies()[name]
    assert_same_answer(body)
    assert_same_answer(bytearray(body))
    assert_same_answer(body.decode("latin-1"))


@needs_native
def test_what_the_c_path_takes_and_declines() -> None:
    bodies = chosen_bodies()

    def fused(name: str) -> Any:
        return native.decode_logs_answer(bodies[name], *NATIVE_ARGS, events._decode_log_json)

    for name in ["anvil", "empty result", "300 logs (scanned without the GIL)", "ganache order, no timestamp", "geth pretty", "tabs and CRLF", "escaped key",
                 "escaped value", "duplicate topics, last wins", "numbers", "non-ASCII escaped", "deep 60"]:
        assert fused(name) is not None, name
    for name in ["error", "error and result", "escaped error key", "escaped key in the envelope", "no result",
                 "null result", "result twice", "non-object element", "number 1e400", "number -1e-400",
                 "non-ASCII value", "surrogate pair", "lone surrogate", "control character", "invalid UTF-8",
                 "deep 70", "deep 2000", "truncated", "trailing garbage", "trailing comma", "top-level array",
                 "empty body", "whitespace body", "not JSON", "BOM", "form feed", "NaN", "leading zero", "bad escape"]:
        assert fused(name) is None, name
    with pytest.raises(LedgerIntegrityError, match="has 3 topics and 3 data words"):
        fused("a malformed pledge")


@needs_native
def test_a_plain_anvil_answer_is_decoded_without_the_fallback() -> None:
    body = chosen_bodies()["anvil"]
    calls: list[bytes] = []
    entries, start, end = native.decode_logs_answer(body, *NATIVE_ARGS, lambda raw: calls.append(raw))
    assert calls == [] and len(entries) == 2
    assert entries == [decode_log(log) for log in orjson.loads(body)["result"]]
    assert body[start:end] == orjson.dumps(orjson.loads(body)["result"])
    # a CampaignCreated log (not decoded in C) is handed over as its own bytes, in its place
    other = chosen_bodies()["other kinds"]
    entries, _, _ = native.decode_logs_answer(other, *NATIVE_ARGS, lambda raw: calls.append(raw) or "fallback")
    assert entries[0] == "fallback" and entries[1].kind == Kind.PLEDGED
    assert calls == [orjson.dumps(orjson.loads(other)["result"][0])]


@needs_native
def test_the_fallback_raises_in_order_and_nothing_leaks() -> None:
    plain = pledge_log()
    bad = dict(plain, topics=["0x" + "12" * 32] + plain["topics"][1:])
    body = orjson.dumps(answer([plain, bad, plain, dict(bad, data="0x")]))
    with pytest.raises(LedgerIntegrityError, match="is not a ledger event") as raised:
        parse_logs_answer(body)
    with old_path(), pytest.raises(LedgerIntegrityError) as before:
        parse_logs_answer(body)
    assert str(raised.value) == str(before.value)

    def boom(raw: bytes) -> Any:
        raise KeyError(raw[:8])

    args = [*NATIVE_ARGS, boom]
    kept = [body, boom, *NATIVE_ARGS[0], *NATIVE_ARGS[1], ZERO_WORD, LedgerEntry]
    good = chosen_bodies()["anvil"]
    counts = [sys.getrefcount(o) for o in kept]
    for _ in range(3):
        with pytest.raises(KeyError):
            native.decode_logs_answer(body, *args)
        assert native.decode_logs_answer(b'{"error":1}', *args) is None
        assert len(native.decode_logs_answer(good, *args)[0]) == 2
    assert [sys.getrefcount(o) for o in kept] == counts
    gc.collect()
    tracemalloc.start()
    try:
        for _ in range(300):
            with pytest.raises(KeyError):
                native.decode_logs_answer(body, *args)
            native.decode_logs_answer(good, *args)
            native.decode_logs_answer(good[:-3], *args)
        gc.collect()
        first = tracemalloc.get_traced_memory()[0]
        for _ in range(3000):
            with pytest.raises(KeyError):
                native.decode_logs_answer(body, *args)
            native.decode_logs_answer(good, *args)
            native.decode_logs_answer(good[:-3], *args)
        gc.collect()
        assert tracemalloc.get_traced_memory()[0] - first < 64 * 1024
    finally:
        tracemalloc.stop()


@needs_native
def test_bad_arguments_are_refused() -> None:
    body = chosen_bodies()["anvil"]
    with pytest.raises(TypeError):
        native.decode_logs_answer(12, *NATIVE_ARGS, decode_log)
    with pytest.raises(ValueError, match="three topics"):
        native.decode_logs_answer(body, NATIVE_ARGS[0][:2], *NATIVE_ARGS[1:], decode_log)
    with pytest.raises(TypeError, match="NamedTuple"):
        native.decode_logs_answer(body, *NATIVE_ARGS[:3], dict, decode_log)
    span = native.decode_logs_answer(memoryview(body), *NATIVE_ARGS, decode_log)[1:]
    assert span == (body.index(b"["), len(body) - 1)
    assert set(TOPICS[t] for t in NATIVE_ARGS[0]) == {Kind.PLEDGED, Kind.UNPLEDGED, Kind.REFUNDED}


# ------------------------------------------------------------------------------------ real answers


@pytest.fixture(scope="module")
def history() -> Iterator[Any]:
    from tests.support.chain import random_history_chain

    with random_history_chain(seed=8, steps=40) as chain:
        yield chain


@needs_native
def test_a_real_anvil_answer_goes_through_the_c_path(history: Any) -> None:
    import requests

    from ledger.chain.events import LEDGER_TOPICS_FILTER

    query = {"address": history.address, "fromBlock": hex(history.deployment.block), "toBlock": "latest",
             "topics": LEDGER_TOPICS_FILTER}
    request = {"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs", "params": [query]}
    body = requests.post(history.url, json=request, timeout=30).content
    logs = orjson.loads(body)["result"]
    calls: list[bytes] = []

    def fallback(raw: bytes) -> Any:
        calls.append(raw)
        return events._decode_log_json(raw)

    fused = native.decode_logs_answer(body, *NATIVE_ARGS, fallback)
    assert fused is not None
    native_logs = [log for log in logs if log["topics"][0] in events._NATIVE_TOPICS]
    assert len(native_logs) > 20 and len(calls) == len(logs) - len(native_logs)  # only the other kinds
    assert [orjson.loads(raw) for raw in calls] == [log for log in logs if log not in native_logs]
    python = assert_same_answer(body)
    assert python[0] == "ok" and len(entries_of(python)) == len(logs)

    every = {"jsonrpc": "2.0", "id": 2, "method": "eth_getLogs", "params": [dict(query, topics=[])]}
    body = requests.post(history.url, json=every, timeout=30).content
    assert assert_same_answer(body)[:2] == ("raised", LedgerIntegrityError)  # OwnershipTransferred & co


@needs_native
@pytest.mark.skipif(not os.path.exists(REAL_BODY), reason=f"{REAL_BODY} (a 76 MB anvil answer) is not here")
def test_a_large_real_answer_decodes_the_same() -> None:
    with open(REAL_BODY, "rb") as f:
        body = f.read()
    tally = Tally()
    assert len(body) > 65536
    result = assert_same_answer(body, tally)
    assert tally.fused == 1 and result[0] == "ok"
    assert len(entries_of(result)) == 100_000
